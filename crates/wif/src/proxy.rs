//! `wif proxy`: the IMDS proxy sidecar, configured by the variables the webhook injects.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wif_core::time::SystemClock;
use wif_server::oidc_fetch::client_tls;
use wif_server::pki;
use wif_server::proxy::{ProxyConfig, ProxyState, router};

use crate::cli::ProxyArgs;
use crate::error::{CliError, CliResult};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// Upstream's `--probe`: GET /readyz, retried (7 tries, 1 s apart) only on a non-200 answer;
/// a refused connection fails at once.
async fn probe(port: u16) -> CliResult {
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(client_tls(&[]).map_err(|e| CliError::msg(e.to_string()))?)
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| CliError::msg(e.to_string()))?;
    for attempt in 0..7 {
        let resp = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .map_err(|e| CliError::msg(format!("failed to probe proxy: {e}")))?;
        if resp.status() == 200 {
            return Ok(());
        }
        if attempt < 6 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Err(CliError::msg("failed to probe proxy"))
}

/// `wif proxy`
pub async fn proxy(args: ProxyArgs) -> CliResult {
    if args.probe {
        return probe(args.proxy_port).await;
    }
    let tenant_id = env("AZURE_TENANT_ID");
    if tenant_id.is_empty() {
        return Err(CliError::msg(
            "setup: failed to create proxy: AZURE_TENANT_ID not set (the webhook injects it; under `wif run` it is set for you)",
        ));
    }
    let token_file = env("AZURE_FEDERATED_TOKEN_FILE");
    if token_file.is_empty() {
        return Err(CliError::msg(
            "setup: failed to create proxy: AZURE_FEDERATED_TOKEN_FILE not set; label the pod azure.workload.identity/use: \"true\"",
        ));
    }
    let authority = match env("AZURE_AUTHORITY_HOST") {
        a if a.is_empty() => "https://login.microsoftonline.com/".to_owned(),
        a => a,
    };
    let mut extra = Vec::new();
    for f in &args.ca_file {
        extra.push(
            std::fs::read_to_string(f)
                .map_err(|e| CliError::msg(format!("cannot read {}: {e}", f.display())))?,
        );
    }
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(client_tls(&extra).map_err(|e| CliError::msg(e.to_string()))?)
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("wif-proxy/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CliError::msg(e.to_string()))?;
    let config = ProxyConfig {
        default_client_id: env("AZURE_CLIENT_ID"),
        tenant_id,
        token_file: token_file.into(),
        authority_host: authority,
        identity_header: args.identity_header.filter(|h| !h.is_empty()),
        imds_upstream: Some(args.imds_upstream).filter(|u| u != "none" && !u.is_empty()),
    };
    let state = ProxyState::new(config, http, Arc::new(SystemClock));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.proxy_port))
        .await
        .map_err(|e| {
            CliError::msg(format!(
                "cannot listen on 127.0.0.1:{}: {e}; pick another --proxy-port",
                args.proxy_port
            ))
        })?;
    let addr = listener.local_addr()?;
    let shutdown = crate::up::shutdown_signal();
    if let Some(ready) = &args.ready_file {
        pki::write_atomic(
            ready,
            &serde_json::to_vec(&json!({"listen": addr.to_string()}))?,
            0o644,
        )?;
    }
    tracing::info!(listen = %addr, "proxy serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
