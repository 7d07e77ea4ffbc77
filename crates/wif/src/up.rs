//! `wif up`: one process serving the cluster issuers and the token service on the embedded
//! store. Order matters: the topology is parsed and planned before anything is written; the
//! listener is bound before issuers are minted (port 0 picks the port that goes into them);
//! the server summary is written only once the server can answer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use wif_core::directory::{Directory, DirectoryData, ResourceGroup};
use wif_core::time::UnixTime;
use wif_core::time::parse_duration;
use wif_core::{Clock, RandomSource, SystemClock};
use wif_jose::{CachePolicy, JwksCache};
use wif_server::arm::ManagementState;
use wif_server::keyvault::{self, KeyVaultState};
use wif_server::oidc_fetch::HttpsJwksFetcher;
use wif_server::pki::{self, PkiPaths};
use wif_server::rand::OsRandom;
use wif_server::state::{AppState, Authority, HostNames, StsPolicy};
use wif_server::{app, signin, tls};
use wif_store::crypto::KeyEncryptionKey;
use wif_store::model::Write;
use wif_store::snapshot::{SnapshotBuilder, SnapshotHandle};
use wif_store::sqlite::SqliteStore;
use wif_store::store::Store;

use crate::cli::UpArgs;
use crate::datadir::{ClusterInfo, DataDir, IdentityInfo, ServerInfo, TenantInfo, VaultInfo};
use crate::error::{CliError, CliResult};
use crate::{keys, topology};

const DEMO: &str = include_str!("demo.yaml");

/// Shortest and longest access-token lifetimes accepted for `--token-lifetime`.
const TOKEN_LIFETIME_RANGE: (u64, u64) = (300, 48 * 3600);

/// Opens the store and the key-encryption key of a data directory.
pub async fn open_store(data: &DataDir) -> CliResult<(Arc<dyn Store>, Arc<KeyEncryptionKey>)> {
    data.create()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&data.database()).await?);
    let kek = Arc::new(KeyEncryptionKey::load_or_create(&data.kek())?);
    Ok((store, kek))
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(data: &DataDir, args: UpArgs) -> CliResult {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let rng: Arc<dyn RandomSource> = Arc::new(OsRandom);

    // Everything the user gave us is checked before anything is written.
    let file = match &args.file {
        Some(p) => Some((topology::load(p)?, p.display().to_string())),
        None => None,
    };
    let token_lifetime = parse_duration(&args.token_lifetime)?;
    if !(TOKEN_LIFETIME_RANGE.0..=TOKEN_LIFETIME_RANGE.1).contains(&token_lifetime.as_secs()) {
        return Err(CliError::msg("--token-lifetime must be between 5m and 48h"));
    }
    let mut extra_roots = Vec::new();
    for path in &args.trust_ca {
        extra_roots.push(std::fs::read_to_string(path).map_err(|e| {
            CliError::msg(format!("cannot read --trust-ca {}: {e}", path.display()))
        })?);
    }

    // A ready file left by an earlier run must not look like this run's readiness.
    for stale in [Some(data.server_info()), args.ready_file.clone()]
        .into_iter()
        .flatten()
    {
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CliError::msg(format!(
                    "cannot remove stale {}: {e}",
                    stale.display()
                )));
            }
        }
    }

    let (store, kek) = open_store(data).await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::msg(format!("cannot listen on {}: {e}", args.listen)))?;
    let port = listener.local_addr()?.port();
    let authority = Authority::new(&args.host, port);
    let now = clock.now();

    // Apply the topology (or the demo, on an empty store) in one transaction.
    let current = store.load_directory().await?;
    let source = match file {
        Some(((topo, text), name)) => Some((topo, text, name)),
        None if current.tenants.is_empty() => Some((
            topology::parse(DEMO, "demo.yaml")?,
            DEMO.to_owned(),
            "demo.yaml".to_owned(),
        )),
        None => None,
    };
    let mut writes = Vec::new();
    let mut changes = Vec::new();
    let mut seeds = Vec::new();
    let mut planned = current.clone();
    if let Some((topo, text, name)) = source {
        let ctx = topology::PlanContext {
            authority: &authority,
            rng: rng.as_ref(),
            now,
        };
        let plan = topology::plan(&topo, &text, &name, &current, &ctx)?;
        planned = plan.result;
        writes = plan.writes;
        changes = plan.changes;
        seeds = plan.secrets;
    }
    writes
        .extend(keys::missing_key_writes(&planned, &store.signing_keys().await?, &kek, now).await?);
    writes.extend(
        implied_resource_groups(&planned, now)
            .into_iter()
            .map(Write::PutResourceGroup),
    );
    let admin = crate::apps::bootstrap_admin(&planned, rng.as_ref(), now).map(|(w, login)| {
        writes.extend(w);
        login
    });
    if !writes.is_empty() {
        store.apply(&writes).await?;
        for c in &changes {
            tracing::info!(change = %c, "topology applied");
        }
    }
    for c in crate::secrets::seed_secrets(store.as_ref(), &kek, rng.as_ref(), now, &seeds).await? {
        tracing::info!(change = %c, "topology applied");
    }
    warn_on_moved_issuers(&planned, &authority);

    // TLS: the local CA and a fresh leaf for every served name.
    let pki_paths = PkiPaths::in_data_dir(data.root());
    let mut hosts = vec![
        args.host.clone(),
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
        // Every vault under the local suffix (`<vault>.vault.localhost`), present or future.
        "*.vault.localhost".into(),
    ];
    if args.azure_names {
        for name in AZURE_CERT_NAMES {
            hosts.push((*name).to_owned());
        }
    }
    hosts.extend(args.extra_hosts.iter().cloned());
    hosts.dedup();
    let identity = pki::ensure(&pki_paths, &hosts, now)?;
    let tls_config = tls::server_config(&identity)?;
    write_bundle(data, &pki_paths.ca_cert)?;

    // The snapshot, and the watcher that keeps it current.
    let mut names = HostNames::local(authority.clone(), port);
    let azure_listener = if args.azure_names {
        names = names.with_azure_names();
        Some(TcpListener::bind(args.azure_listen).await.map_err(|e| {
            CliError::msg(format!(
                "cannot listen on {} for the Azure names: {e} (port 443 needs root or CAP_NET_BIND_SERVICE; choose another with --azure-listen)",
                args.azure_listen
            ))
        })?)
    } else {
        None
    };
    let azure_addr = match &azure_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let builder = SnapshotBuilder::new(store.clone(), kek.clone(), served_resources(&names));
    let management_builder = Arc::new(SnapshotBuilder::new(
        store.clone(),
        kek.clone(),
        served_resources(&names),
    ));
    let handle = SnapshotHandle::new(builder.build(None).await?);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = builder.spawn_watcher(
        handle.clone(),
        Duration::from_secs(1),
        stopped(stop_rx.clone()),
    );
    let (signins, signin_task) = signin::spawn_writer(store.clone(), 10_000);
    let (kv_audit, kv_audit_task) = keyvault::spawn_audit_writer(store.clone(), 10_000);
    let (activity, activity_task) = signin::spawn_activity_writer(store.clone(), 10_000);
    let purger = spawn_purger(store.clone(), clock.clone(), stopped(stop_rx));

    extra_roots.push(std::fs::read_to_string(&pki_paths.ca_cert)?);
    let fetcher = HttpsJwksFetcher::new(&extra_roots)?;
    let state = AppState {
        snapshot: handle.clone(),
        clock,
        rng,
        authority: authority.clone(),
        names,
        jwks: Arc::new(JwksCache::new(Arc::new(fetcher), CachePolicy::default())),
        signins,
        policy: StsPolicy {
            token_lifetime,
            ..StsPolicy::default()
        },
        keyvault: Some(KeyVaultState {
            store: store.clone(),
            kek: kek.clone(),
            audit: kv_audit,
        }),
        management: Some(ManagementState::new(
            store.clone(),
            management_builder,
            kek.clone(),
            activity,
        )),
    };
    let router = app::router(state);

    let mut info = server_info(
        &authority,
        port,
        &pki_paths.ca_cert,
        &handle.load().directory,
    );
    info.azure_names = args.azure_names;
    info.azure_address = azure_addr.map(|a| a.to_string());
    for v in &mut info.vaults {
        if args.azure_names {
            v.azure_url = Some(format!("https://{}.vault.azure.net/", v.name));
        }
    }
    let info_json = serde_json::to_vec_pretty(&info)?;
    let shutdown = shutdown_signal();
    pki::write_atomic(&data.server_info(), &info_json, 0o644)?;
    if let Some(ready) = &args.ready_file {
        pki::write_atomic(ready, &info_json, 0o644)?;
    }
    print_summary(&info, data);
    if let Some(login) = &admin {
        print_admin(login, &info);
    }

    let (down_tx, down_rx) = tokio::sync::watch::channel(false);
    let signal_task = tokio::spawn(async move {
        shutdown.await;
        let _ = down_tx.send(true);
    });
    match azure_listener {
        Some(azure) => {
            tokio::join!(
                tls::serve(
                    listener,
                    tls_config.clone(),
                    router.clone(),
                    stopped(down_rx.clone())
                ),
                tls::serve(azure, tls_config, router, stopped(down_rx)),
            );
        }
        None => tls::serve(listener, tls_config, router, stopped(down_rx)).await,
    }
    signal_task.abort();
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = watcher.await;
    let _ = purger.await;
    // Every sink clone is gone once the connections are; the writer then flushes and ends.
    if tokio::time::timeout(Duration::from_secs(10), signin_task)
        .await
        .is_err()
    {
        tracing::warn!("the sign-in log writer did not finish flushing within 10 s");
    }
    for (task, what) in [
        (kv_audit_task, "Key Vault audit"),
        (activity_task, "activity log"),
    ] {
        if tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .is_err()
        {
            tracing::warn!("the {what} writer did not finish flushing within 10 s");
        }
    }
    Ok(())
}

/// Resource groups that resources of `data` live in but that do not exist as resources yet (a
/// topology names groups without declaring them, as Terraform's `azurerm_resource_group` is
/// often elsewhere). Each takes the location of its first resource.
fn implied_resource_groups(data: &DirectoryData, now: UnixTime) -> Vec<ResourceGroup> {
    let used = data
        .clusters
        .iter()
        .map(|c| (c.subscription, &c.resource_group, &c.region))
        .chain(
            data.identities
                .iter()
                .map(|m| (m.subscription, &m.resource_group, &m.location)),
        )
        .chain(
            data.vaults
                .iter()
                .map(|v| (v.subscription, &v.resource_group, &v.location)),
        );
    let mut out: Vec<ResourceGroup> = Vec::new();
    for (subscription, name, location) in used {
        let known = |g: &ResourceGroup| {
            g.subscription == subscription && g.name.as_str().eq_ignore_ascii_case(name.as_str())
        };
        if data.resource_groups.iter().any(known) || out.iter().any(known) {
            continue;
        }
        out.push(ResourceGroup {
            subscription,
            name: name.clone(),
            location: location.clone(),
            tags: Default::default(),
            created_at: now,
        });
    }
    out
}

/// The token audiences this node serves besides the well-known ones: each vault suffix's
/// resource and the local Graph resource (`<origin>/graph`).
fn served_resources(names: &HostNames) -> Vec<String> {
    names
        .vault_suffixes
        .iter()
        .map(|s| s.resource())
        .chain(
            names
                .authorities
                .iter()
                .map(|a| format!("{}/graph", a.origin())),
        )
        .collect()
}

/// Purges soft-deleted secrets whose retention has ended, every five minutes, until `stop`.
fn spawn_purger(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let work = async {
            let mut tick = tokio::time::interval(Duration::from_secs(300));
            loop {
                tick.tick().await;
                match store.kv_purge_due(clock.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "purged deleted secrets past retention"),
                    Err(e) => tracing::warn!(error = %e, "purging deleted secrets failed"),
                }
            }
        };
        tokio::select! {
            () = work => {}
            () = stop => {}
        }
    })
}

/// The names the certificate carries in Azure-names mode.
const AZURE_CERT_NAMES: &[&str] = &[
    "login.microsoftonline.com",
    "login.windows.net",
    "*.vault.azure.net",
    "*.blob.core.windows.net",
];

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Issuers are fixed when a cluster is created; if wif now listens elsewhere they no longer
/// point at it. Say so instead of failing mysteriously at exchange time.
fn warn_on_moved_issuers(data: &wif_core::directory::DirectoryData, authority: &Authority) {
    for c in &data.clusters {
        if !c
            .issuer
            .as_str()
            .starts_with(&format!("{}/", authority.origin()))
        {
            tracing::warn!(
                cluster = %c.name, issuer = %c.issuer, origin = authority.origin(),
                "this cluster's issuer is not served at the current address; tokens it signs still verify from the snapshot, but external verifiers will not reach its discovery document"
            );
        }
    }
}

/// A CA bundle holding the system roots plus wif's CA, for `REQUESTS_CA_BUNDLE` and
/// `SSL_CERT_FILE` (which replace, rather than extend, the system store).
fn write_bundle(data: &DataDir, ca: &Path) -> CliResult<PathBuf> {
    let mut bundle = String::new();
    for sys in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ] {
        if let Ok(text) = std::fs::read_to_string(sys) {
            bundle.push_str(&text);
            if !bundle.ends_with('\n') {
                bundle.push('\n');
            }
            break;
        }
    }
    bundle.push_str(&std::fs::read_to_string(ca)?);
    let path = data.root().join("ca").join("bundle.pem");
    pki::write_atomic(&path, bundle.as_bytes(), 0o644)?;
    Ok(path)
}

fn server_info(authority: &Authority, port: u16, ca: &Path, dir: &Directory) -> ServerInfo {
    let d = dir.data();
    ServerInfo {
        authority: authority.origin().to_owned(),
        port,
        ca_path: std::fs::canonicalize(ca).unwrap_or_else(|_| ca.to_owned()),
        tenants: d
            .tenants
            .iter()
            .map(|t| TenantInfo {
                name: t.display_name.clone(),
                id: t.id.to_string(),
                domain: t.domain.to_string(),
            })
            .collect(),
        clusters: d
            .clusters
            .iter()
            .map(|c| ClusterInfo {
                name: c.name.to_string(),
                region: c.region.to_string(),
                tenant_id: c.tenant.to_string(),
                issuer: c.issuer.to_string(),
            })
            .collect(),
        identities: d
            .identities
            .iter()
            .map(|m| IdentityInfo {
                name: m.name.to_string(),
                tenant_id: m.tenant.to_string(),
                client_id: m.client_id.to_string(),
                principal_id: m.principal_id.to_string(),
                resource_id: m.resource_id(),
            })
            .collect(),
        azure_names: false,
        azure_address: None,
        vaults: d
            .vaults
            .iter()
            .map(|v| VaultInfo {
                name: v.name.to_string(),
                url: if port == 443 {
                    format!("https://{}.vault.localhost/", v.name)
                } else {
                    format!("https://{}.vault.localhost:{port}/", v.name)
                },
                azure_url: None,
            })
            .collect(),
    }
}

/// The bootstrap administrator's credentials, printed once (only the hash is stored).
fn print_admin(login: &crate::apps::AdminLogin, info: &ServerInfo) {
    println!(
        "\nBootstrap administrator (Owner of every subscription; the secret is shown only now):\n  \
         app id     {}\n  secret     {}\n  tenant     {}\n\nLog in with the az CLI (docs/management.md):\n  \
         az cloud register -n WifLocal --endpoint-resource-manager {}/ && az cloud set -n WifLocal\n  \
         az login --service-principal -u {} -p '<secret>' --tenant {}\n\
         A new secret any time: wif app credential reset --id {}\n",
        login.app_id,
        login.secret,
        login.tenant,
        info.authority,
        login.app_id,
        login.tenant,
        crate::apps::ADMIN_NAME,
    );
}

fn print_summary(info: &ServerInfo, data: &DataDir) {
    let mut out = String::new();
    out.push_str(&format!("wif is up (data: {})\n\n", data.root().display()));
    out.push_str(&format!("  authority  {}\n", info.authority));
    out.push_str(&format!("  CA         {}\n", info.ca_path.display()));
    for t in &info.tenants {
        out.push_str(&format!("  tenant     {} ({})\n", t.domain, t.id));
    }
    for c in &info.clusters {
        out.push_str(&format!("  cluster    {}  issuer {}\n", c.name, c.issuer));
    }
    for m in &info.identities {
        out.push_str(&format!(
            "  identity   {}  client id {}\n",
            m.name, m.client_id
        ));
    }
    for v in &info.vaults {
        out.push_str(&format!("  vault      {}  {}", v.name, v.url));
        if let Some(a) = &v.azure_url {
            out.push_str(&format!("  {a}"));
        }
        out.push('\n');
    }
    if let Some(addr) = &info.azure_address {
        out.push_str(&format!(
            "  Azure names on {addr}: login.microsoftonline.com, <vault>.vault.azure.net\n"
        ));
    }
    if !info.vaults.is_empty() || info.azure_names {
        out.push_str(
            "  host names: `sudo wif hosts --apply` maps them to this machine (see docs/host-names.md)\n",
        );
    }
    if let Some(t) = info.tenants.first() {
        out.push_str("\nSDK environment (`eval \"$(wif env)\"` prints the same):\n");
        for line in crate::commands::env_exports(info, &t.id).lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if let Some(c) = info.clusters.first() {
        out.push_str(&format!(
            "\nTry it (in another shell):\n  wif run --cluster {} --service-account default/workload -- python -c 'from azure.identity import DefaultAzureCredential as C; print(C().get_token(\"https://vault.azure.net/.default\").token[:32])'\n",
            c.name
        ));
    }
    out.push_str("\nCtrl-C stops it.\n");
    print!("{out}");
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, not when it is
/// first polled: call it before announcing readiness, so a signal sent the moment the ready file
/// appears is never met by the default action (termination without the graceful shutdown).
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(term) => {},
            () = wait(int) => {},
        }
    }
}
