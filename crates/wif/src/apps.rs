//! App registrations (confidential clients) from the command line, shaped like
//! `az ad sp create-for-rbac` / `az ad sp credential reset`, and the bootstrap administrator
//! `wif up` creates so that nothing in the management API is open without a token.

use serde_json::{Value, json};
use wif_core::apps::{KeyCredential, PasswordCredential};
use wif_core::directory::{Application, DirectoryData};
use wif_core::ids::{ClientId, PrincipalId, TenantId};
use wif_core::random::{RandomSource, new_uuid};
use wif_core::rbac::{RoleAssignment, Scope, builtin};
use wif_core::time::UnixTime;
use wif_server::rand::OsRandom;
use wif_store::model::Write;
use wif_store::secrets::new_secret;

use crate::cli::{AppCommand, AppCreateArgs, AppCredentialResetArgs, AppDeleteArgs, AppListArgs};
use crate::datadir::DataDir;
use crate::error::{CliError, CliResult};
use crate::output::render;
use crate::up::open_store;

/// The bootstrap administrator's display name.
pub const ADMIN_NAME: &str = "wif-admin";

/// How long a new client secret lives unless asked otherwise (Entra's portal default is 180
/// days; `az ad sp create-for-rbac` gives a year).
const DEFAULT_SECRET_YEARS: i64 = 1;

/// `wif app …`
pub async fn app(data: &DataDir, cmd: AppCommand) -> CliResult {
    match cmd {
        AppCommand::Create(args) => create(data, args).await,
        AppCommand::List(args) => list(data, args).await,
        AppCommand::Delete(args) => delete(data, args).await,
        AppCommand::Credential(crate::cli::AppCredentialCommand::Reset(args)) => {
            reset(data, args).await
        }
    }
}

/// A fresh application (and its service principal) of `tenant`.
pub fn new_application(
    rng: &dyn RandomSource,
    tenant: TenantId,
    name: &str,
    now: UnixTime,
) -> Application {
    Application {
        app_id: ClientId::from_uuid(new_uuid(rng)),
        object_id: new_uuid(rng),
        principal_id: PrincipalId::from_uuid(new_uuid(rng)),
        tenant,
        display_name: name.to_owned(),
        secrets: Vec::new(),
        certificates: Vec::new(),
        federated_credentials: Vec::new(),
        created_at: now,
    }
}

fn secret_for(
    rng: &dyn RandomSource,
    now: UnixTime,
    years: i64,
    name: Option<String>,
) -> (String, PasswordCredential) {
    new_secret(
        rng,
        new_uuid(rng),
        name,
        now,
        now.plus_secs(years.saturating_mul(365 * 86_400)),
    )
}

/// What `wif up` prints about the bootstrap administrator it created.
#[derive(Debug)]
pub struct AdminLogin {
    /// The app id.
    pub app_id: ClientId,
    /// The tenant.
    pub tenant: TenantId,
    /// The secret, shown once.
    pub secret: String,
}

/// The writes that create the bootstrap administrator — an app registration with one client
/// secret, Owner on every subscription of the first tenant — unless it exists already.
pub fn bootstrap_admin(
    current: &DirectoryData,
    rng: &dyn RandomSource,
    now: UnixTime,
) -> Option<(Vec<Write>, AdminLogin)> {
    let tenant = current.tenants.first()?.id;
    if current
        .applications
        .iter()
        .any(|a| a.tenant == tenant && a.display_name == ADMIN_NAME)
    {
        return None;
    }
    let mut app = new_application(rng, tenant, ADMIN_NAME, now);
    let (secret, record) = secret_for(rng, now, DEFAULT_SECRET_YEARS, Some("bootstrap".to_owned()));
    app.secrets.push(record);
    let mut writes = vec![Write::PutApplication(app.clone())];
    for s in current.subscriptions.iter().filter(|s| s.tenant == tenant) {
        if let Ok(scope) = Scope::parse(&format!("/subscriptions/{}", s.id)) {
            writes.push(Write::PutRoleAssignment(RoleAssignment {
                id: new_uuid(rng),
                principal_id: app.principal_id,
                role_definition_id: builtin::OWNER,
                scope,
                meta: Default::default(),
            }));
        }
    }
    Some((
        writes,
        AdminLogin {
            app_id: app.app_id,
            tenant,
            secret,
        },
    ))
}

fn find_app<'a>(dir: &'a DirectoryData, text: &str) -> CliResult<&'a Application> {
    let t = text.trim();
    dir.applications
        .iter()
        .find(|a| {
            a.app_id.to_string() == t.to_ascii_lowercase()
                || a.object_id.to_string() == t.to_ascii_lowercase()
                || a.display_name == t
        })
        .ok_or_else(|| {
            CliError::msg(format!(
                "no app registration with app id, object id or display name '{t}' (see `wif app list`)"
            ))
        })
}

fn app_json(a: &Application) -> Value {
    json!({
        "appId": a.app_id.to_string(),
        "id": a.object_id.to_string(),
        "servicePrincipalId": a.principal_id.to_string(),
        "displayName": a.display_name,
        "tenant": a.tenant.to_string(),
        "passwordCredentials": a.secrets.iter().map(|s| json!({
            "keyId": s.key_id.to_string(),
            "displayName": s.display_name,
            "hint": s.hint,
            "startDateTime": s.start.to_rfc3339(),
            "endDateTime": s.end.to_rfc3339(),
        })).collect::<Vec<_>>(),
        "federatedIdentityCredentials": a.federated_credentials.len(),
    })
}

async fn create(data: &DataDir, args: AppCreateArgs) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let tenant =
        match &args.tenant {
            Some(t) => crate::roles::tenant_of(&dir, t)?,
            None => dir.tenants.first().map(|t| t.id).ok_or_else(|| {
                CliError::msg("the directory has no tenant yet; run `wif up` first")
            })?,
        };
    let now = wif_core::Clock::now(&wif_core::SystemClock);
    let rng = OsRandom;
    let mut app = new_application(&rng, tenant, &args.display_name, now);
    let (secret, record) = secret_for(&rng, now, args.years, None);
    app.secrets.push(record);
    let mut writes = vec![Write::PutApplication(app.clone())];
    if let Some(role) = &args.role {
        let role = crate::roles::find_role(&dir, role)?;
        for scope in &args.scopes {
            let scope = Scope::parse(scope)
                .map_err(|e| CliError::msg(format!("--scopes '{scope}': {e}")))?;
            writes.push(Write::PutRoleAssignment(RoleAssignment {
                id: new_uuid(&rng),
                principal_id: app.principal_id,
                role_definition_id: role.id,
                scope,
                meta: Default::default(),
            }));
        }
    } else if !args.scopes.is_empty() {
        return Err(CliError::msg("--scopes needs --role"));
    }
    store.apply(&writes).await?;
    let out = json!({
        "appId": app.app_id.to_string(),
        "displayName": app.display_name,
        "password": secret,
        "tenant": tenant.to_string(),
    });
    print!("{}", render(&out, &args.output)?);
    Ok(())
}

async fn list(data: &DataDir, args: AppListArgs) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let rows: Vec<Value> = dir.applications.iter().map(app_json).collect();
    print!("{}", render(&json!(rows), &args.output)?);
    Ok(())
}

async fn delete(data: &DataDir, args: AppDeleteArgs) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let app = find_app(&dir, &args.id)?;
    store.apply(&[Write::DeleteApplication(app.app_id)]).await?;
    Ok(())
}

/// A certificate credential from a DER certificate.
fn key_credential(der: &[u8], name: Option<String>) -> CliResult<KeyCredential> {
    let k = wif_jose::x509::certificate_key(der).map_err(|e| CliError::msg(e.to_string()))?;
    Ok(KeyCredential {
        key_id: new_uuid(&OsRandom),
        display_name: name,
        x5t: k.x5t,
        x5t_s256: k.x5t_s256,
        public_jwk: serde_json::to_string(&k.jwk)?,
        certificate: base64_std(der),
        start: UnixTime::from_secs(k.not_before),
        end: UnixTime::from_secs(k.not_after),
    })
}

/// Graph's `keyCredentials[].key` is standard base64.
fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A certificate file, PEM or DER.
fn read_certificate(path: &std::path::Path) -> CliResult<Vec<u8>> {
    use rustls_pki_types::pem::PemObject as _;
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::msg(format!("cannot read --cert {}: {e}", path.display())))?;
    if bytes.starts_with(b"-----") {
        return rustls_pki_types::CertificateDer::from_pem_slice(&bytes)
            .map(|c| c.as_ref().to_vec())
            .map_err(|e| {
                CliError::msg(format!(
                    "--cert {}: no PEM certificate: {e}",
                    path.display()
                ))
            });
    }
    Ok(bytes)
}

/// A self-signed RSA certificate for `name`, valid for `years`: (DER, PEM of certificate + key).
fn self_signed(name: &str, now: UnixTime, years: i64) -> CliResult<(Vec<u8>, String)> {
    let fail = |e: rcgen::Error| CliError::msg(format!("cannot make a certificate: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(fail)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let start = now.as_secs();
    let end = start.saturating_add(years.saturating_mul(365 * 86_400));
    params.not_before = time_of(start)?;
    params.not_after = time_of(end)?;
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok((
        cert.der().to_vec(),
        format!("{}{}", cert.pem(), key.serialize_pem()),
    ))
}

fn time_of(secs: i64) -> CliResult<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| CliError::msg(format!("certificate validity out of range: {e}")))
}

async fn reset(data: &DataDir, args: AppCredentialResetArgs) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let mut app = find_app(&dir, &args.id)?.clone();
    let now = wif_core::Clock::now(&wif_core::SystemClock);
    if args.cert.is_some() || args.create_cert {
        let (der, file) = match &args.cert {
            Some(path) => (read_certificate(path)?, None),
            None => {
                let (der, pem) = self_signed(&app.display_name, now, args.years)?;
                let path = args
                    .cert_file
                    .clone()
                    .unwrap_or_else(|| std::path::PathBuf::from(format!("{}.pem", app.app_id)));
                wif_server::pki::write_atomic(&path, pem.as_bytes(), 0o600)?;
                (der, Some(path))
            }
        };
        let credential = key_credential(&der, args.display_name.clone())?;
        if !args.append {
            app.certificates.clear();
        }
        app.certificates.push(credential.clone());
        store.apply(&[Write::PutApplication(app.clone())]).await?;
        let out = json!({
            "appId": app.app_id.to_string(),
            "fileWithCertAndPrivateKey": file.map(|p| p.display().to_string()),
            "password": null,
            "thumbprint": credential.x5t,
            "tenant": app.tenant.to_string(),
        });
        print!("{}", render(&out, &args.output)?);
        return Ok(());
    }
    let (secret, record) = secret_for(&OsRandom, now, args.years, args.display_name.clone());
    if !args.append {
        app.secrets.clear();
    }
    app.secrets.push(record);
    store.apply(&[Write::PutApplication(app.clone())]).await?;
    let out = json!({
        "appId": app.app_id.to_string(),
        "password": secret,
        "tenant": app.tenant.to_string(),
    });
    print!("{}", render(&out, &args.output)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;
    use wif_core::directory::{Subscription, Tenant};
    use wif_core::ids::{SubscriptionId, TenantDomain};

    #[test]
    fn bootstrap_admin_is_created_once_as_owner() {
        let tenant = Tenant {
            id: TenantId::from_uuid(Uuid::from_u128(1)),
            domain: TenantDomain::parse("t.example").unwrap(),
            display_name: "t".into(),
            created_at: UnixTime::from_secs(0),
        };
        let mut dir = DirectoryData {
            subscriptions: vec![Subscription {
                id: SubscriptionId::from_uuid(Uuid::from_u128(2)),
                tenant: tenant.id,
                display_name: "s".into(),
            }],
            tenants: vec![tenant],
            ..Default::default()
        };
        let (writes, login) = bootstrap_admin(&dir, &OsRandom, UnixTime::from_secs(10)).unwrap();
        assert_eq!(writes.len(), 2);
        let Write::PutApplication(app) = &writes[0] else {
            panic!("{writes:?}")
        };
        assert_eq!(app.app_id, login.app_id);
        assert!(wif_store::secrets::matches(&app.secrets[0], &login.secret));
        let Write::PutRoleAssignment(owner) = &writes[1] else {
            panic!("{writes:?}")
        };
        assert_eq!(owner.role_definition_id, builtin::OWNER);
        assert_eq!(owner.principal_id, app.principal_id);
        dir.applications.push(app.clone());
        assert!(bootstrap_admin(&dir, &OsRandom, UnixTime::from_secs(10)).is_none());
    }
}
