//! The commands other than `up`: they work on the data directory's store directly, so they
//! work whether or not a server is running (a running server picks changes up within a second).

use std::io::Write as _;

use serde_json::json;
use wif_core::directory::Cluster;
use wif_core::ids::{Namespace, ServiceAccountName, TenantRef};
use wif_core::time::parse_duration;
use wif_core::{Clock, SystemClock};
use wif_server::issuer::mint::{ServiceAccountTokenRequest, mint_service_account_token};
use wif_server::pki;
use wif_server::rand::OsRandom;
use wif_store::model::{KeyOwner, SignInQuery};
use wif_store::snapshot::{Snapshot, SnapshotBuilder};

use crate::cli::{CaCommand, EnvArgs, KeysCommand, RotateArgs, SigninsListArgs, TokenArgs};
use crate::datadir::DataDir;
use crate::error::{CliError, CliResult};
use crate::output::render;
use crate::up::open_store;

pub(crate) async fn snapshot(data: &DataDir) -> CliResult<Snapshot> {
    let (store, kek) = open_store(data).await?;
    Ok(SnapshotBuilder::new(store, kek, Vec::new())
        .build(None)
        .await?)
}

pub(crate) fn find_cluster<'a>(snap: &'a Snapshot, name: &str) -> CliResult<&'a Cluster> {
    match snap.directory.clusters_named(name).as_slice() {
        [one] => Ok(one),
        [] => {
            let known: Vec<String> = snap
                .directory
                .data()
                .clusters
                .iter()
                .map(|c| c.name.to_string())
                .collect();
            Err(CliError::msg(format!(
                "cluster '{name}' not found; known clusters: {}",
                if known.is_empty() {
                    "(none; run `wif up` first)".to_owned()
                } else {
                    known.join(", ")
                }
            )))
        }
        many => Err(CliError::msg(format!(
            "{} clusters are named '{name}' (in tenants {}); names must be unique to use --cluster",
            many.len(),
            many.iter()
                .map(|c| c.tenant.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `wif token`
pub async fn token(data: &DataDir, args: TokenArgs) -> CliResult {
    let namespace = Namespace::parse(&args.namespace)?;
    let service_account = ServiceAccountName::parse(&args.service_account)?;
    let expiration = parse_duration(&args.expiration)?;
    let backdate = parse_duration(&args.backdate)?;
    let snap = snapshot(data).await?;
    let cluster = find_cluster(&snap, &args.cluster)?;
    let keys = snap
        .keys_of(&KeyOwner::Cluster(cluster.guid))
        .ok_or_else(|| {
            CliError::msg(format!(
                "cluster '{}' has no signing key; start `wif up` once to create it",
                cluster.name
            ))
        })?;
    let rng = OsRandom;
    let pod = args
        .pod
        .map(|name| (name, wif_core::random::new_uuid(&rng).to_string()));
    // A declared service account's own uid; otherwise one derived from its name.
    let uid = snap
        .directory
        .service_account(&cluster.guid, &namespace, &service_account)
        .map(|sa| sa.uid.to_string());
    let req = ServiceAccountTokenRequest {
        namespace,
        service_account,
        audiences: args.audiences,
        expiration,
        backdate,
        pod,
        service_account_uid: uid,
        drill: false,
    };
    let token = mint_service_account_token(cluster, &keys.active, &req, SystemClock.now(), &rng)?;
    match args.out {
        Some(path) => pki::write_atomic(&path, token.as_bytes(), 0o600)?,
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{token}")?;
        }
    }
    Ok(())
}

/// `wif keys …`
pub async fn keys(data: &DataDir, cmd: KeysCommand) -> CliResult {
    match cmd {
        KeysCommand::Rotate(args) => rotate(data, args).await,
        KeysCommand::List(output) => {
            let (store, _) = open_store(data).await?;
            let rows: Vec<_> = store
                .signing_keys()
                .await?
                .into_iter()
                .map(|k| {
                    json!({
                        "kid": k.kid.as_str(),
                        "owner": k.owner.to_string(),
                        "algorithm": k.algorithm,
                        "created": k.created_at.to_rfc3339(),
                        "retired": k.retired_at.map(|t| t.to_rfc3339()),
                        "publishUntil": k.publish_until.map(|t| t.to_rfc3339()),
                    })
                })
                .collect();
            print!("{}", render(&json!(rows), &output)?);
            Ok(())
        }
    }
}

async fn rotate(data: &DataDir, args: RotateArgs) -> CliResult {
    let (store, kek) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let directory = wif_core::directory::Directory::build(dir, &[]);
    let owner = match (&args.cluster, &args.tenant) {
        (Some(name), _) => {
            let found = directory.clusters_named(name);
            match found.as_slice() {
                [c] => KeyOwner::Cluster(c.guid),
                [] => return Err(CliError::msg(format!("cluster '{name}' not found"))),
                _ => {
                    return Err(CliError::msg(format!(
                        "several clusters are named '{name}'"
                    )));
                }
            }
        }
        (None, Some(t)) => {
            let r = TenantRef::parse(t)?;
            let tenant = directory
                .tenant(&r)
                .ok_or_else(|| CliError::msg(format!("tenant '{t}' not found")))?;
            KeyOwner::Tenant(tenant.id)
        }
        (None, None) => return Err(CliError::msg("give --cluster or --tenant")),
    };
    let now = SystemClock.now();
    let (new, writes) =
        crate::keys::rotation_writes(owner, &store.signing_keys().await?, &kek, now).await?;
    store.apply(&writes).await?;
    println!(
        "rotated {owner}: new key {} signs from now on; {} previous key(s) stay published until {}",
        new.kid,
        writes.len().saturating_sub(1),
        now.plus_secs(crate::keys::RETIRED_KEY_PUBLISH_SECS)
    );
    Ok(())
}

/// `wif signins list`
pub async fn signins(data: &DataDir, args: SigninsListArgs) -> CliResult {
    let (store, _) = open_store(data).await?;
    let since = match &args.since {
        Some(s) => Some(
            SystemClock
                .now()
                .minus_secs(i64::try_from(parse_duration(s)?.as_secs()).unwrap_or(i64::MAX)),
        ),
        None => None,
    };
    let records = store
        .sign_ins(&SignInQuery {
            since,
            failed_only: args.failed,
            identity: args.identity.clone(),
            limit: args.top,
        })
        .await?;
    let rows: Vec<_> = records
        .iter()
        .map(|r| {
            json!({
                "time": r.time.to_rfc3339(),
                "result": if r.result_code == 0 { "success".to_owned() } else { format!("AADSTS{}", r.result_code) },
                "clientId": r.client_id,
                "identity": r.identity.as_deref().and_then(|i| i.rsplit('/').next()),
                "credential": r.credential,
                "issuer": r.assertion_issuer,
                "subject": r.assertion_subject,
                "audience": r.assertion_audience,
                "resource": r.resource,
                "tenant": r.tenant,
                "error": r.error,
                "correlationId": r.correlation_id.to_string(),
                "identityId": r.identity,
            })
        })
        .collect();
    print!("{}", render(&json!(rows), &args.output)?);
    Ok(())
}

/// `wif ca path`
pub fn ca(data: &DataDir, cmd: CaCommand) -> CliResult {
    match cmd {
        CaCommand::Path => {
            let path = wif_server::pki::PkiPaths::in_data_dir(data.root()).ca_cert;
            if !path.exists() {
                return Err(CliError::msg(format!(
                    "{} does not exist yet; run `wif up` once to create the CA",
                    path.display()
                )));
            }
            println!("{}", std::fs::canonicalize(&path).unwrap_or(path).display());
            Ok(())
        }
    }
}

/// The variables that make each SDK trust wif's CA: Python (requests, aiohttp), Rust (rustls
/// native roots) and Node. Python and OpenSSL replace their trust store with the file they are
/// given, so they get a bundle of the system roots plus wif's CA.
pub fn ca_env(info: &crate::datadir::ServerInfo) -> Vec<(&'static str, String)> {
    let ca = info.ca_path.display().to_string();
    let bundle = info.ca_path.with_file_name("bundle.pem");
    let bundle = if bundle.exists() {
        bundle.display().to_string()
    } else {
        ca.clone()
    };
    vec![
        ("REQUESTS_CA_BUNDLE", bundle.clone()),
        ("SSL_CERT_FILE", bundle),
        ("NODE_EXTRA_CA_CERTS", ca),
    ]
}

/// The shell exports an SDK needs to use the server described by `info` for `tenant_id`: the
/// authority, the tenant, and CA trust for Python (requests, aiohttp), Rust and Node.
pub fn env_exports(info: &crate::datadir::ServerInfo, tenant_id: &str) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let authority = if info.azure_names {
        "https://login.microsoftonline.com/".to_owned()
    } else {
        info.authority.clone()
    };
    let mut vars = vec![
        ("AZURE_AUTHORITY_HOST", authority),
        ("AZURE_TENANT_ID", tenant_id.to_owned()),
    ];
    vars.extend(ca_env(info));
    vars.iter()
        .map(|(k, v)| format!("export {k}={}\n", q(v)))
        .collect()
}

/// `wif env`
pub fn env(data: &DataDir, args: EnvArgs) -> CliResult {
    let info = data.read_server_info().ok_or_else(|| {
        CliError::msg(format!(
            "no server has run with data directory {}; start one with `wif up`",
            data.root().display()
        ))
    })?;
    let tenant = match &args.tenant {
        None => info.tenants.first(),
        Some(t) => {
            let t = t.to_ascii_lowercase();
            info.tenants
                .iter()
                .find(|x| x.id == t || x.domain == t || x.name.eq_ignore_ascii_case(&t))
        }
    }
    .ok_or_else(|| CliError::msg("tenant not found in the running server's summary"))?;
    print!("{}", env_exports(&info, &tenant.id));
    Ok(())
}
