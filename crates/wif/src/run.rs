//! `wif run`: a process as if it were a pod the azure-workload-identity webhook had mutated.
//!
//! It mints the projected service-account token kubelet would write, keeps it fresh the way
//! kubelet does (when it is older than 80 % of its lifetime or than 24 h), sets exactly the
//! variables the webhook injects plus CA trust for the SDKs, forwards signals to the child and
//! exits with the child's status. See `docs/run.md`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use wif_core::directory::{Cluster, ServiceAccount};
use wif_core::ids::{Namespace, ServiceAccountName};
use wif_core::random::new_uuid;
use wif_core::time::{UnixTime, parse_duration};
use wif_core::{Clock, SystemClock};
use wif_server::issuer::mint::{
    MAX_EXPIRATION, MIN_DRILL_EXPIRATION, ServiceAccountTokenRequest, mint_service_account_token,
};
use wif_server::pki;
use wif_server::rand::OsRandom;
use wif_store::model::KeyOwner;
use wif_store::snapshot::Snapshot;

use crate::cli::RunArgs;
use crate::commands::{ca_env, find_cluster, snapshot};
use crate::datadir::DataDir;
use crate::error::{CliError, CliResult};

/// The audience the webhook's projected token carries.
pub const TOKEN_AUDIENCE: &str = "api://AzureADTokenExchange";
/// The file name the webhook mounts the token as.
pub const TOKEN_FILE: &str = "azure-identity-token";
/// The webhook's token lifetime bounds and default, in seconds.
pub const EXPIRATION_BOUNDS: (u64, u64) = (3600, 86_400);
/// The webhook's default token lifetime.
pub const DEFAULT_EXPIRATION: u64 = 3600;
/// Kubelet refreshes a token older than this, whatever its lifetime.
pub const MAX_TOKEN_AGE: Duration = Duration::from_secs(24 * 3600);

/// When kubelet refreshes a token issued at `issued` with `lifetime`: at 80 % of its lifetime,
/// or after 24 h, whichever comes first.
pub fn refresh_at(issued: UnixTime, lifetime: Duration) -> UnixTime {
    let eighty = lifetime.mul_f64(0.8);
    issued.plus(eighty.min(MAX_TOKEN_AGE))
}

/// The token lifetime for a service account: `--token-expiration`, else the
/// `azure.workload.identity/service-account-token-expiration` annotation (3600–86400 s, as the
/// webhook checks it), else 3600 s.
pub fn token_lifetime(sa: &ServiceAccount, flag: Option<&str>) -> CliResult<(Duration, bool)> {
    if let Some(flag) = flag {
        let d = parse_duration(flag)?;
        if d < MIN_DRILL_EXPIRATION || d > MAX_EXPIRATION {
            return Err(CliError::msg(format!(
                "--token-expiration {flag} is out of range: use 10s to 48h (below 1h only for expiry drills)"
            )));
        }
        return Ok((d, d.as_secs() < 600));
    }
    match sa.token_expiration_annotation() {
        None => Ok((Duration::from_secs(DEFAULT_EXPIRATION), false)),
        Some(v) => {
            let secs: i64 = v.parse().map_err(|_| {
                CliError::msg(format!(
                    "service account {}/{}: annotation azure.workload.identity/service-account-token-expiration is '{v}', not a number of seconds",
                    sa.namespace, sa.name
                ))
            })?;
            let (lo, hi) = EXPIRATION_BOUNDS;
            match u64::try_from(secs) {
                Ok(s) if (lo..=hi).contains(&s) => Ok((Duration::from_secs(s), false)),
                _ => Err(CliError::msg(format!(
                    "service account {}/{}: token expiration {secs} not valid. Expected value to be between {lo} and {hi}",
                    sa.namespace, sa.name
                ))),
            }
        }
    }
}

/// The webhook's variables for `sa` in `cluster`, in the webhook's order, then CA trust.
pub fn pod_env(
    cluster: &Cluster,
    sa: &ServiceAccount,
    token_file: &Path,
    authority: &str,
    ca: Vec<(&'static str, String)>,
) -> CliResult<Vec<(String, String)>> {
    let client_id = sa.client_id_annotation().ok_or_else(|| {
        CliError::msg(format!(
            "service account {}/{} in cluster '{}' has no azure.workload.identity/client-id annotation, so a pod using it gets no AZURE_CLIENT_ID. Add it in the topology file under the cluster's serviceAccounts, e.g.\n  - namespace: {}\n    name: {}\n    identity: <managed identity name>      # or annotations: {{azure.workload.identity/client-id: <client id>}}",
            sa.namespace, sa.name, cluster.name, sa.namespace, sa.name
        ))
    })?;
    // The webhook takes the tenant annotation when present, else its own configured tenant
    // (the cluster's).
    let tenant = sa
        .annotations
        .get(wif_core::directory::ANNOTATION_TENANT_ID)
        .cloned()
        .unwrap_or_else(|| cluster.tenant.to_string());
    let mut authority = authority.to_owned();
    if !authority.ends_with('/') {
        authority.push('/');
    }
    let mut env = vec![
        ("AZURE_CLIENT_ID".to_owned(), client_id.to_owned()),
        ("AZURE_TENANT_ID".to_owned(), tenant),
        (
            "AZURE_FEDERATED_TOKEN_FILE".to_owned(),
            token_file.display().to_string(),
        ),
        ("AZURE_AUTHORITY_HOST".to_owned(), authority),
    ];
    env.retain(|(_, v)| !v.is_empty());
    env.extend(ca.into_iter().map(|(k, v)| (k.to_owned(), v)));
    Ok(env)
}

/// A private directory for the token, removed when dropped.
struct TokenDir(PathBuf);

impl TokenDir {
    fn create() -> CliResult<Self> {
        use std::os::unix::fs::DirBuilderExt as _;
        let name = format!(
            "wif-run-{}-{}",
            std::process::id(),
            new_uuid(&OsRandom).simple()
        );
        let path = std::env::temp_dir().join(name);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| CliError::msg(format!("cannot create {}: {e}", path.display())))?;
        Ok(Self(path))
    }
}

impl Drop for TokenDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Minter {
    snap: Snapshot,
    cluster: Cluster,
    sa: ServiceAccount,
    pod: (String, String),
    lifetime: Duration,
    drill: bool,
    path: PathBuf,
}

impl Minter {
    /// Mints a token and replaces the file atomically; returns when it was issued.
    fn write(&self) -> CliResult<UnixTime> {
        let keys = self
            .snap
            .keys_of(&KeyOwner::Cluster(self.cluster.guid))
            .ok_or_else(|| {
                CliError::msg(format!(
                    "cluster '{}' has no signing key; start `wif up` once to create it",
                    self.cluster.name
                ))
            })?;
        let now = SystemClock.now();
        let req = ServiceAccountTokenRequest {
            namespace: self.sa.namespace.clone(),
            service_account: self.sa.name.clone(),
            audiences: vec![TOKEN_AUDIENCE.to_owned()],
            expiration: self.lifetime,
            backdate: Duration::ZERO,
            pod: Some(self.pod.clone()),
            service_account_uid: Some(self.sa.uid.to_string()),
            drill: self.drill,
        };
        let token = mint_service_account_token(&self.cluster, &keys.active, &req, now, &OsRandom)?;
        pki::write_atomic(&self.path, token.as_bytes(), 0o600)?;
        Ok(now)
    }
}

/// `wif run`; returns the exit code to exit with.
pub async fn run(data: &DataDir, args: RunArgs) -> CliResult<u8> {
    let Some((ns, name)) = args.service_account.split_once('/') else {
        return Err(CliError::msg(format!(
            "--service-account '{}' must be NAMESPACE/NAME, e.g. default/workload",
            args.service_account
        )));
    };
    let namespace = Namespace::parse(ns)?;
    let sa_name = ServiceAccountName::parse(name)?;
    let info = data.read_server_info().ok_or_else(|| {
        CliError::msg(format!(
            "no wif server is running with data directory {}; start one with `wif up` first (the workload needs its token service)",
            data.root().display()
        ))
    })?;
    let snap = snapshot(data).await?;
    let cluster = find_cluster(&snap, &args.cluster)?.clone();
    let sa = snap
        .directory
        .service_account(&cluster.guid, &namespace, &sa_name)
        .cloned()
        .ok_or_else(|| {
            let known: Vec<String> = snap
                .directory
                .data()
                .service_accounts
                .iter()
                .filter(|s| s.cluster == cluster.guid)
                .map(|s| format!("{}/{}", s.namespace, s.name))
                .collect();
            CliError::msg(format!(
                "service account {namespace}/{sa_name} does not exist in cluster '{}' (it has: {}); declare it in the topology file under the cluster's serviceAccounts",
                cluster.name,
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ))
        })?;
    let (lifetime, drill) = token_lifetime(&sa, args.token_expiration.as_deref())?;
    let dir = TokenDir::create()?;
    let token_path = dir.0.join(TOKEN_FILE);
    let authority = if info.azure_names {
        "https://login.microsoftonline.com/".to_owned()
    } else {
        info.authority.clone()
    };
    let env = pod_env(&cluster, &sa, &token_path, &authority, ca_env(&info))?;
    let pod_name = args.pod.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            sa.name,
            &new_uuid(&OsRandom).simple().to_string()[..5]
        )
    });
    let minter = Minter {
        snap,
        cluster,
        sa,
        pod: (pod_name, new_uuid(&OsRandom).to_string()),
        lifetime,
        drill,
        path: token_path,
    };
    let mut issued = minter.write()?;

    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| CliError::msg("give the command to run after `--`"))?;
    let mut child = tokio::process::Command::new(program)
        .args(rest)
        .envs(env)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| CliError::msg(format!("cannot start '{program}': {e}")))?;
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw);

    use rustix::process::{Signal, kill_process};
    use tokio::signal::unix::{SignalKind, signal};
    let kinds = [
        (SignalKind::interrupt(), Signal::INT),
        (SignalKind::terminate(), Signal::TERM),
        (SignalKind::hangup(), Signal::HUP),
        (SignalKind::quit(), Signal::QUIT),
        (SignalKind::user_defined1(), Signal::USR1),
        (SignalKind::user_defined2(), Signal::USR2),
    ];
    let (sig_tx, mut sig_rx) = tokio::sync::mpsc::unbounded_channel::<Signal>();
    for (kind, number) in kinds {
        let mut stream = signal(kind)?;
        let tx = sig_tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(number).is_err() {
                    break;
                }
            }
        });
    }
    let mut failures = 0u32;
    let status = loop {
        let due = refresh_at(issued, lifetime);
        let wait = Duration::from_secs(
            u64::try_from((due.as_secs() - SystemClock.now().as_secs()).max(1)).unwrap_or(1),
        );
        tokio::select! {
            status = child.wait() => break status?,
            Some(sig) = sig_rx.recv() => {
                if let Some(pid) = pid
                    && let Err(e) = kill_process(pid, sig)
                {
                    tracing::warn!(error = %e, "forwarding a signal to the child failed");
                }
            }
            () = tokio::time::sleep(wait) => {
                match minter.write() {
                    Ok(t) => {
                        issued = t;
                        failures = 0;
                        tracing::debug!("projected token refreshed");
                    }
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %e, failures, "refreshing the projected token failed; retrying");
                        tokio::time::sleep(Duration::from_secs(u64::from(failures.min(30)))).await;
                    }
                }
            }
        }
    };
    drop(dir);
    use std::os::unix::process::ExitStatusExt as _;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(255),
        _ => 1,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use uuid::Uuid;
    use wif_core::ids::{ClusterGuid, ClusterName, Issuer, RegionName, ResourceGroupName};
    use wif_core::ids::{SubscriptionId, TenantId};

    use super::*;

    fn sa(annotations: &[(&str, &str)]) -> ServiceAccount {
        ServiceAccount {
            cluster: ClusterGuid::from_uuid(Uuid::from_u128(1)),
            namespace: Namespace::parse("default").unwrap(),
            name: ServiceAccountName::parse("workload").unwrap(),
            uid: Uuid::from_u128(2),
            annotations: annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            created_at: UnixTime::from_secs(0),
        }
    }

    fn cluster() -> Cluster {
        Cluster {
            name: ClusterName::parse("aks").unwrap(),
            guid: ClusterGuid::from_uuid(Uuid::from_u128(1)),
            tenant: TenantId::from_uuid(Uuid::from_u128(3)),
            subscription: SubscriptionId::from_uuid(Uuid::from_u128(4)),
            resource_group: ResourceGroupName::parse("rg").unwrap(),
            region: RegionName::parse("eastus").unwrap(),
            issuer: Issuer::parse("https://issuer.example/").unwrap(),
            created_at: UnixTime::from_secs(0),
            oidc_issuer_enabled: true,
            workload_identity_enabled: true,
        }
    }

    #[test]
    fn refresh_at_eighty_percent_or_a_day() {
        let t = UnixTime::from_secs(1000);
        assert_eq!(
            refresh_at(t, Duration::from_secs(3600)).as_secs(),
            1000 + 2880
        );
        assert_eq!(refresh_at(t, Duration::from_secs(15)).as_secs(), 1000 + 12);
        assert_eq!(
            refresh_at(t, Duration::from_secs(48 * 3600)).as_secs(),
            1000 + 24 * 3600
        );
    }

    #[test]
    fn lifetimes_follow_the_webhook() {
        let expiration = "azure.workload.identity/service-account-token-expiration";
        assert_eq!(
            token_lifetime(&sa(&[]), None).unwrap(),
            (Duration::from_secs(3600), false)
        );
        assert_eq!(
            token_lifetime(&sa(&[(expiration, "86400")]), None)
                .unwrap()
                .0,
            Duration::from_secs(86_400)
        );
        let e = token_lifetime(&sa(&[(expiration, "60")]), None).unwrap_err();
        assert!(
            e.to_string()
                .contains("not valid. Expected value to be between 3600 and 86400"),
            "{e}"
        );
        assert!(token_lifetime(&sa(&[(expiration, "soon")]), None).is_err());
        assert_eq!(
            token_lifetime(&sa(&[]), Some("15s")).unwrap(),
            (Duration::from_secs(15), true)
        );
        assert!(token_lifetime(&sa(&[]), Some("5s")).is_err());
    }

    #[test]
    fn env_is_the_webhooks() {
        let client = "11111111-2222-3333-4444-555555555555";
        let path = Path::new("/tmp/x/azure-identity-token");
        let env = pod_env(
            &cluster(),
            &sa(&[("azure.workload.identity/client-id", client)]),
            path,
            "https://localhost:8443",
            vec![("SSL_CERT_FILE", "/ca".to_owned())],
        )
        .unwrap();
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "AZURE_CLIENT_ID",
                "AZURE_TENANT_ID",
                "AZURE_FEDERATED_TOKEN_FILE",
                "AZURE_AUTHORITY_HOST",
                "SSL_CERT_FILE"
            ]
        );
        assert_eq!(
            env[1].1, "00000000-0000-0000-0000-000000000003",
            "the cluster's tenant"
        );
        assert_eq!(
            env[3].1, "https://localhost:8443/",
            "with the webhook's trailing slash"
        );
        let tenant = "99999999-0000-0000-0000-000000000000";
        let env = pod_env(
            &cluster(),
            &sa(&[
                ("azure.workload.identity/client-id", client),
                ("azure.workload.identity/tenant-id", tenant),
            ]),
            path,
            "https://login.microsoftonline.com/",
            vec![],
        )
        .unwrap();
        assert_eq!(env[1].1, tenant);
        let e = pod_env(&cluster(), &sa(&[]), path, "https://x", vec![]).unwrap_err();
        assert!(
            e.to_string().contains("azure.workload.identity/client-id"),
            "{e}"
        );
    }
}
