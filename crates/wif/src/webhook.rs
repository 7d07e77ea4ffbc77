//! `wif webhook`: the admission webhook over HTTPS (certificate files re-read when they change),
//! with health and metrics on their own plain-HTTP ports as upstream has them, and service
//! accounts from the cluster (a watch) or from manifests.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use serde_json::json;
use wif_core::time::parse_duration;
use wif_server::pki;
use wif_server::tls::{self, ReloadingCert};
use wif_server::webhook::accounts::{
    KubeServiceAccounts, StaticServiceAccounts, supports_native_sidecars,
};
use wif_server::webhook::admission::{Metrics, ServiceAccounts, WebhookState, router};
use wif_server::webhook::mutate::{
    CustomEndpoint, CustomEndpointFlags, MutationConfig, authority_for_environment,
};

use crate::cli::{MutationArgs, WebhookArgs};
use crate::error::{CliError, CliResult};

/// The mutation settings from the shared flags.
pub fn mutation_config(
    args: &MutationArgs,
    native_sidecars: bool,
    log_level: &str,
) -> CliResult<MutationConfig> {
    let authority_host = match &args.authority_host {
        Some(h) => h.clone(),
        None => {
            let stack = std::env::var("AZURE_ENVIRONMENT_FILEPATH").ok();
            authority_for_environment(&args.azure_environment, stack.as_deref())
                .map_err(CliError::msg)?
        }
    };
    let custom_endpoint = CustomEndpoint::new(&CustomEndpointFlags {
        suffix: &args.custom_token_endpoint_annotation_suffix,
        audience: &args.custom_token_endpoint_audience,
        token_proxy: &args.azure_kubernetes_token_proxy,
        sni_name: &args.azure_kubernetes_sni_name,
        ca_data: &args.azure_kubernetes_ca_data,
        ca_configmap: &args.azure_kubernetes_ca_configmap_name,
        ctb_signer: &args.azure_kubernetes_ca_ctb_signer_name,
        ctb_label_selector: &args.azure_kubernetes_ca_ctb_label_selector,
    })
    .map_err(CliError::msg)?;
    Ok(MutationConfig {
        tenant_id: args.tenant_id.clone().unwrap_or_default(),
        authority_host,
        audience: args.audience.clone(),
        proxy_image: args.proxy_image.clone(),
        proxy_init_image: args.proxy_init_image.clone(),
        native_sidecars,
        log_level: log_level.to_owned(),
        custom_endpoint,
    })
}

async fn bind(addr: SocketAddr, what: &str) -> CliResult<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        CliError::msg(format!(
            "cannot listen on {addr} for {what}: {e}; pick another address with the flag"
        ))
    })
}

/// `wif webhook`
pub async fn webhook(args: WebhookArgs) -> CliResult {
    if args.mutation.tenant_id.as_deref().is_none_or(str::is_empty) {
        return Err(CliError::msg(
            "AZURE_TENANT_ID is required: set it (or --tenant-id) to the tenant injected for service accounts without the tenant-id annotation",
        ));
    }
    let allow_tls12 = match args.tls_min_version.as_str() {
        "1.2" => true,
        "1.3" => false,
        other => {
            return Err(CliError::msg(format!(
                "invalid TLS version {other:?}. Must be one of: 1.2, 1.3 (TLS 1.0 and 1.1 are not offered)"
            )));
        }
    };
    // Bad settings fail before anything is loaded or bound.
    let mut config = mutation_config(
        &args.mutation,
        args.mutation.native_sidecars,
        &args.log_level,
    )?;
    let interval = parse_duration(&args.cert_check_interval)?;
    let cert = ReloadingCert::load(
        args.webhook_cert_dir.join("tls.crt"),
        args.webhook_cert_dir.join("tls.key"),
    )
    .map_err(|e| {
        CliError::msg(format!(
            "{e}; mount the webhook's certificate Secret (tls.crt, tls.key) at --webhook-cert-dir"
        ))
    })?;
    let tls_config = cert
        .server_config(allow_tls12)
        .map_err(|e| CliError::msg(e.to_string()))?;
    let _cert_watch = cert.watch(interval.max(std::time::Duration::from_secs(1)));

    let (accounts, native, _watch): (Arc<dyn ServiceAccounts>, bool, _) = if args
        .service_account_file
        .is_empty()
    {
        let client = kube::Client::try_default().await.map_err(|e| {
                CliError::msg(format!(
                    "cannot reach the Kubernetes API server ({e}); run in a pod with a service account, \
                     or pass --service-account-file to run without a cluster"
                ))
            })?;
        let native = if args.mutation.native_sidecars {
            true
        } else {
            match client.apiserver_version().await {
                Ok(v) => supports_native_sidecars(&v.major, &v.minor),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the API server version; the proxy is injected as a regular container");
                    false
                }
            }
        };
        let (cache, task) = KubeServiceAccounts::start(client);
        tracing::info!("waiting for the service-account cache to fill");
        if !cache.ready().await {
            return Err(CliError::msg(
                "the service-account watch stopped before the cache filled",
            ));
        }
        tracing::info!(accounts = cache.cached(), "service-account cache ready");
        (Arc::new(cache), native, Some(task))
    } else {
        let map =
            crate::inject::service_accounts_from_files(&args.service_account_file, "default")?;
        (
            Arc::new(StaticServiceAccounts(map)),
            args.mutation.native_sidecars,
            None,
        )
    };
    let state = WebhookState {
        config: Arc::new({
            config.native_sidecars = native;
            config
        }),
        accounts,
        metrics: Arc::new(Metrics::default()),
    };
    let main = bind(args.listen, "the webhook").await?;
    let health = bind(args.health_addr, "health probes").await?;
    let metrics = bind(args.metrics_addr, "metrics").await?;
    let addrs = (
        main.local_addr()?,
        health.local_addr()?,
        metrics.local_addr()?,
    );
    let health_app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }));
    let metrics_state = Arc::clone(&state.metrics);
    let metrics_app = Router::new().route(
        "/metrics",
        get(move || {
            let m = Arc::clone(&metrics_state);
            async move {
                (
                    [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    m.render(),
                )
            }
        }),
    );
    let shutdown = crate::up::shutdown_signal();
    if let Some(ready) = &args.ready_file {
        let info = json!({"listen": addrs.0.to_string(), "health": addrs.1.to_string(),
                          "metrics": addrs.2.to_string(), "nativeSidecars": native});
        pki::write_atomic(Path::new(ready), &serde_json::to_vec_pretty(&info)?, 0o644)?;
    }
    tracing::info!(listen = %addrs.0, health = %addrs.1, metrics = %addrs.2, "webhook serving");
    let (down_tx, down_rx) = tokio::sync::watch::channel(false);
    let signal_task = tokio::spawn(async move {
        shutdown.await;
        let _ = down_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|d| *d).await;
    };
    let plain = |l: tokio::net::TcpListener, app: Router, rx| async move {
        let _ = axum::serve(l, app)
            .with_graceful_shutdown(stopped(rx))
            .await;
    };
    tokio::join!(
        tls::serve(main, tls_config, router(state), stopped(down_rx.clone())),
        plain(health, health_app, down_rx.clone()),
        plain(metrics, metrics_app, down_rx),
    );
    signal_task.abort();
    Ok(())
}
