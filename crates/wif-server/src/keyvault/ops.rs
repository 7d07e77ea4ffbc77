//! The operations: route by method and path, authenticate, authorize with the operation's data
//! action, then act on the store. Returns the response or a Key Vault error, and the reason a
//! refusal gets in the audit log.

use std::collections::BTreeMap;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wif_core::ids::SecretName;
use wif_core::rbac::Decision;
use wif_core::time::UnixTime;
use wif_jose::b64;
use wif_store::keyvault::{
    Deletion, KvAuditRecord, SecretVersion, StoredSecret, open_value, seal_value,
};
use wif_store::store::StoreError;

use super::auth;
use super::wire::{KvError, MAX_PAGE, bundle, json_body, with_deletion};
use super::{Ctx, KeyVaultState, body_json, has_body};
use crate::state::AppState;

const SECRETS: &str = "Microsoft.KeyVault/vaults/secrets";
/// Key Vault's largest secret value.
const MAX_VALUE_BYTES: usize = 25 * 1024;
/// Key Vault allows at most 15 tags.
const MAX_TAGS: usize = 15;

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Op {
    List,
    Restore,
    Set(String),
    Get(String, Option<String>),
    Update(String, Option<String>),
    Delete(String),
    Versions(String),
    Backup(String),
    ListDeleted,
    GetDeleted(String),
    Purge(String),
    Recover(String),
}

impl Op {
    fn parse(method: &Method, path: &str) -> Option<Op> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let m = method.clone();
        let name = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Some(match (m, segs.as_slice()) {
            (Method::GET, ["secrets"] | ["secrets", ""]) => Op::List,
            (Method::POST, ["secrets", "restore"]) => Op::Restore,
            (Method::PUT, ["secrets", n] | ["secrets", n, ""]) => Op::Set(name(n)?),
            (Method::DELETE, ["secrets", n] | ["secrets", n, ""]) => Op::Delete(name(n)?),
            (Method::GET, ["secrets", n] | ["secrets", n, ""]) => Op::Get(name(n)?, None),
            (Method::PATCH, ["secrets", n] | ["secrets", n, ""]) => Op::Update(name(n)?, None),
            (Method::GET, ["secrets", n, "versions"] | ["secrets", n, "versions", ""]) => {
                Op::Versions(name(n)?)
            }
            (Method::POST, ["secrets", n, "backup"]) => Op::Backup(name(n)?),
            (Method::GET, ["secrets", n, v] | ["secrets", n, v, ""]) => Op::Get(name(n)?, name(v)),
            (Method::PATCH, ["secrets", n, v] | ["secrets", n, v, ""]) => {
                Op::Update(name(n)?, name(v))
            }
            (Method::GET, ["deletedsecrets"] | ["deletedsecrets", ""]) => Op::ListDeleted,
            (Method::GET, ["deletedsecrets", n] | ["deletedsecrets", n, ""]) => {
                Op::GetDeleted(name(n)?)
            }
            (Method::DELETE, ["deletedsecrets", n] | ["deletedsecrets", n, ""]) => {
                Op::Purge(name(n)?)
            }
            (Method::POST, ["deletedsecrets", n, "recover"]) => Op::Recover(name(n)?),
            _ => return None,
        })
    }

    /// The audit operation name and the data action (without the `secrets/` prefix).
    fn describe(&self) -> (&'static str, &'static str) {
        match self {
            Op::List => ("SecretList", "readMetadata/action"),
            Op::Versions(_) => ("SecretListVersions", "readMetadata/action"),
            Op::Restore => ("SecretRestore", "restore/action"),
            Op::Set(_) => ("SecretSet", "setSecret/action"),
            Op::Get(..) => ("SecretGet", "getSecret/action"),
            Op::Update(..) => ("SecretUpdate", "update/action"),
            Op::Delete(_) => ("SecretDelete", "delete"),
            Op::Backup(_) => ("SecretBackup", "backup/action"),
            Op::ListDeleted => ("SecretListDeleted", "readMetadata/action"),
            Op::GetDeleted(_) => ("SecretGetDeleted", "readMetadata/action"),
            Op::Purge(_) => ("SecretPurge", "purge/action"),
            Op::Recover(_) => ("SecretRecover", "recover/action"),
        }
    }

    fn secret(&self) -> Option<&str> {
        match self {
            Op::List | Op::Restore | Op::ListDeleted => None,
            Op::Set(n)
            | Op::Get(n, _)
            | Op::Update(n, _)
            | Op::Delete(n)
            | Op::Versions(n)
            | Op::Backup(n)
            | Op::GetDeleted(n)
            | Op::Purge(n)
            | Op::Recover(n) => Some(n),
        }
    }
}

/// Runs one request. The second value is the audit reason of a refusal.
pub(super) async fn run(
    st: &AppState,
    ctx: &Ctx,
    req: Request,
    audit: &mut KvAuditRecord,
) -> (Result<Response, KvError>, Option<String>) {
    let op = Op::parse(req.method(), req.uri().path());
    if let Some(op) = &op {
        audit.operation = op.describe().0.to_owned();
    }
    // Authentication comes first, before the body is looked at.
    let caller = match auth::authenticate(st, ctx, req.headers()) {
        Ok(c) => c,
        Err(e) => {
            let reason = e.reason();
            return (Err(e), Some(reason));
        }
    };
    audit.caller_app = Some(caller.app.clone());
    audit.caller_oid = Some(caller.oid.clone());
    let Some(op) = op else {
        let e = KvError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!(
                "{} {} is not a Key Vault secrets operation.",
                req.method(),
                req.uri().path()
            ),
        );
        return (Err(e), Some("NotFound".into()));
    };
    let (operation, action) = op.describe();
    audit.operation = operation.to_owned();
    let name = match op.secret().map(SecretName::parse).transpose() {
        Ok(n) => n,
        Err(_) => {
            let e = KvError::bad_parameter(format!(
                "The request URI contains an invalid name: {}",
                op.secret().unwrap_or_default()
            ));
            return (Err(e), Some("BadParameter".into()));
        }
    };
    let action = format!("{SECRETS}/{action}");
    let resource = auth::scope_of(ctx, name.as_ref().map(SecretName::as_str));
    audit.action = Some(action.clone());
    audit.resource = Some(resource.clone());
    match auth::authorize(ctx, &caller, &action, &resource) {
        Ok(Decision::Allowed { assignment_id, .. }) => {
            audit.assignment = Some(assignment_id.to_string());
        }
        Ok(Decision::Denied { .. }) => {}
        Err(e) => {
            let reason = e.reason();
            audit.reason = Some("DeniedWithNoValidRBAC".into());
            return (Err(e), Some(reason));
        }
    }
    let Some(kv) = &st.keyvault else {
        let e = KvError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "This wif node does not serve Key Vault data.",
        );
        return (Err(e), Some("ServiceUnavailable".into()));
    };
    let list = ListQuery::parse(req.uri().query());
    let body = if has_body(req.method()) && !matches!(op, Op::Backup(_) | Op::Recover(_)) {
        match body_json(req).await {
            Ok(v) => Some(v),
            Err(e) => return (Err(e), Some("BadParameter".into())),
        }
    } else {
        None
    };
    let ops = Ops {
        ctx,
        kv,
        rng: st.rng.as_ref(),
    };
    let result = match (op, name) {
        (Op::List, _) => ops.list(&list, false).await,
        (Op::ListDeleted, _) => ops.list(&list, true).await,
        (Op::Restore, _) => ops.restore(body).await,
        (Op::Set(_), Some(n)) => ops.set(&n, body).await,
        (Op::Get(_, v), Some(n)) => ops.get(&n, v.as_deref()).await,
        (Op::Update(_, v), Some(n)) => ops.update(&n, v.as_deref(), body).await,
        (Op::Delete(_), Some(n)) => ops.delete(&n).await,
        (Op::Versions(_), Some(n)) => ops.versions(&n, &list).await,
        (Op::Backup(_), Some(n)) => ops.backup(&n).await,
        (Op::GetDeleted(_), Some(n)) => ops.get_deleted(&n).await,
        (Op::Purge(_), Some(n)) => ops.purge(&n).await,
        (Op::Recover(_), Some(n)) => ops.recover(&n).await,
        _ => Err(KvError::bad_parameter("The request URI names no secret.")),
    };
    let reason = result.as_ref().err().map(KvError::reason);
    (result, reason)
}

/// `maxresults` and `$skiptoken` of a list request.
#[derive(Debug, Default)]
struct ListQuery {
    max: Option<String>,
    skip: Option<String>,
}

impl ListQuery {
    fn parse(query: Option<&str>) -> Self {
        let mut q = ListQuery::default();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match k.as_ref() {
                "maxresults" => q.max = Some(v.into_owned()),
                "$skiptoken" => q.skip = Some(v.into_owned()),
                _ => {}
            }
        }
        q
    }

    /// The page size (1–25) and the offset to start at.
    fn page(&self) -> Result<(usize, usize), KvError> {
        let max = match &self.max {
            None => MAX_PAGE,
            Some(m) => match m.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                _ => {
                    return Err(KvError::bad_parameter(format!(
                        "Invalid value '{m}' for maxresults: it must be a number from 1 to {MAX_PAGE}."
                    )));
                }
            },
        };
        let skip = match &self.skip {
            None => 0,
            Some(t) => b64::decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("wif:").and_then(|n| n.parse::<usize>().ok()))
                .ok_or_else(|| KvError::bad_parameter("The $skiptoken is invalid."))?,
        };
        Ok((max, skip))
    }
}

/// A set or update request body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretBody {
    value: Option<String>,
    content_type: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    attributes: Option<AttributesBody>,
}

#[derive(Debug, Default, Deserialize)]
struct AttributesBody {
    enabled: Option<bool>,
    nbf: Option<i64>,
    exp: Option<i64>,
}

/// A backup blob's sealed payload: the values in plain text, re-sealed on restore.
#[derive(Debug, Serialize, Deserialize)]
struct Backup {
    format: u32,
    subscription: String,
    name: String,
    versions: Vec<BackupVersion>,
}

#[derive(Debug, Serialize, Deserialize)]
struct BackupVersion {
    version: String,
    value: String,
    content_type: Option<String>,
    tags: BTreeMap<String, String>,
    enabled: bool,
    not_before: Option<i64>,
    expires: Option<i64>,
    created: i64,
    updated: i64,
}

const BACKUP_AAD: &[u8] = b"wif-kv-backup:v1";

fn store_error(e: StoreError) -> KvError {
    match e {
        StoreError::Conflict(m) => KvError::new(StatusCode::CONFLICT, "Conflict", m),
        StoreError::NotFound(m) => KvError::new(StatusCode::NOT_FOUND, "SecretNotFound", m),
        other => {
            tracing::error!(error = %other, "Key Vault store operation failed");
            KvError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The vault's storage is unavailable; retry later.",
            )
        }
    }
}

fn parse_body(body: Option<Value>) -> Result<SecretBody, KvError> {
    match body {
        None => Ok(SecretBody::default()),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| KvError::bad_parameter(format!("The request body is invalid: {e}"))),
    }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), KvError> {
    if tags.len() > MAX_TAGS {
        return Err(KvError::bad_parameter(format!(
            "A secret can have at most {MAX_TAGS} tags; {} were given.",
            tags.len()
        )));
    }
    Ok(())
}

struct Ops<'a> {
    ctx: &'a Ctx,
    kv: &'a KeyVaultState,
    rng: &'a dyn wif_core::RandomSource,
}

impl Ops<'_> {
    /// A bundle (or item) of this vault, with ids on the request's origin.
    fn bundle(
        &self,
        name: &SecretName,
        v: &SecretVersion,
        value: Option<&str>,
        versioned: bool,
    ) -> serde_json::Map<String, Value> {
        bundle(&self.ctx.origin, &self.ctx.vault, name, v, value, versioned)
    }

    /// The secret, with a due purge carried out first (deleted past its purge date = gone).
    async fn load(&self, name: &SecretName) -> Result<Option<StoredSecret>, KvError> {
        let vault = &self.ctx.vault.name;
        let secret = self
            .kv
            .store
            .kv_secret(vault, name)
            .await
            .map_err(store_error)?;
        match secret {
            Some(s) if s.deleted.is_some_and(|d| d.scheduled_purge <= self.ctx.now) => {
                self.kv
                    .store
                    .kv_purge(vault, name)
                    .await
                    .map_err(store_error)?;
                Ok(None)
            }
            other => Ok(other),
        }
    }

    async fn live(&self, name: &SecretName) -> Result<StoredSecret, KvError> {
        match self.load(name).await? {
            Some(s) if s.deleted.is_none() && !s.versions.is_empty() => Ok(s),
            _ => Err(KvError::secret_not_found(name.as_str())),
        }
    }

    async fn deleted(&self, name: &SecretName) -> Result<(StoredSecret, Deletion), KvError> {
        match self.load(name).await? {
            Some(s) => match s.deleted {
                Some(d) => Ok((s, d)),
                None => Err(KvError::deleted_not_found(name.as_str())),
            },
            None => Err(KvError::deleted_not_found(name.as_str())),
        }
    }

    fn open(&self, s: &StoredSecret, v: &SecretVersion) -> Result<String, KvError> {
        open_value(&self.kv.kek, &s.vault, &s.name, &v.version, &v.sealed_value).map_err(|e| {
            tracing::error!(error = %e, "a stored secret value does not open");
            KvError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "A stored secret value cannot be decrypted with this data directory's key.",
            )
        })
    }

    fn ok(v: Value) -> Result<Response, KvError> {
        Ok((StatusCode::OK, json_body(&v)).into_response())
    }

    async fn set(&self, name: &SecretName, body: Option<Value>) -> Result<Response, KvError> {
        let b = parse_body(body)?;
        let Some(value) = b.value else {
            return Err(KvError::bad_parameter(
                "The secret value is missing: the body needs a 'value'.",
            ));
        };
        if value.len() > MAX_VALUE_BYTES {
            return Err(KvError::bad_parameter(format!(
                "The secret value is {} bytes; Key Vault allows at most {MAX_VALUE_BYTES}.",
                value.len()
            )));
        }
        let tags = b.tags.unwrap_or_default();
        check_tags(&tags)?;
        let a = b.attributes.unwrap_or_default();
        let version = wif_core::random::new_uuid(self.rng).simple().to_string();
        let vault = &self.ctx.vault.name;
        // Keep the casing of the first version's name.
        let stored_name = match self.load(name).await? {
            Some(s) => s.name,
            None => name.clone(),
        };
        let sealed =
            seal_value(&self.kv.kek, vault, &stored_name, &version, &value).map_err(|e| {
                tracing::error!(error = %e, "sealing a secret value failed");
                KvError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "Sealing the secret failed.",
                )
            })?;
        let v = SecretVersion {
            version,
            sealed_value: sealed,
            content_type: b.content_type,
            tags,
            enabled: a.enabled.unwrap_or(true),
            not_before: a.nbf.map(UnixTime::from_secs),
            expires: a.exp.map(UnixTime::from_secs),
            created: self.ctx.now,
            updated: self.ctx.now,
        };
        match self.kv.store.kv_add_version(vault, &stored_name, &v).await {
            Ok(()) => {}
            Err(StoreError::Conflict(m)) => {
                return Err(KvError::new(StatusCode::CONFLICT, "Conflict", m)
                    .inner("ObjectIsDeletedButRecoverable"));
            }
            Err(e) => return Err(store_error(e)),
        }
        Self::ok(Value::Object(self.bundle(
            &stored_name,
            &v,
            Some(&value),
            true,
        )))
    }

    async fn get(&self, name: &SecretName, version: Option<&str>) -> Result<Response, KvError> {
        let s = self.live(name).await?;
        let v = match version {
            None => s.latest(),
            Some(id) => s.version(id),
        }
        .ok_or_else(|| {
            KvError::secret_not_found(&format!("{}/{}", name, version.unwrap_or_default()))
        })?;
        if !v.enabled {
            return Err(KvError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
            )
            .inner("SecretDisabled"));
        }
        if v.expires.is_some_and(|exp| self.ctx.now >= exp) {
            return Err(KvError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Operation get is not allowed on an expired secret.",
            )
            .inner("SecretDisabled"));
        }
        if v.not_before.is_some_and(|nbf| self.ctx.now < nbf) {
            return Err(KvError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Operation get is not allowed on a secret that is not yet valid.",
            )
            .inner("SecretDisabled"));
        }
        let value = self.open(&s, v)?;
        Self::ok(Value::Object(self.bundle(&s.name, v, Some(&value), true)))
    }

    async fn update(
        &self,
        name: &SecretName,
        version: Option<&str>,
        body: Option<Value>,
    ) -> Result<Response, KvError> {
        let b = parse_body(body)?;
        if b.value.is_some() {
            return Err(KvError::bad_parameter(
                "A secret's value cannot be updated; set a new version with PUT /secrets/{name}.",
            ));
        }
        let s = self.live(name).await?;
        let mut v = match version {
            None => s.latest(),
            Some(id) => s.version(id),
        }
        .ok_or_else(|| {
            KvError::secret_not_found(&format!("{}/{}", name, version.unwrap_or_default()))
        })?
        .clone();
        if let Some(ct) = b.content_type {
            v.content_type = Some(ct);
        }
        if let Some(tags) = b.tags {
            check_tags(&tags)?;
            v.tags = tags;
        }
        if let Some(a) = b.attributes {
            if let Some(e) = a.enabled {
                v.enabled = e;
            }
            if let Some(nbf) = a.nbf {
                v.not_before = Some(UnixTime::from_secs(nbf));
            }
            if let Some(exp) = a.exp {
                v.expires = Some(UnixTime::from_secs(exp));
            }
        }
        v.updated = self.ctx.now;
        self.kv
            .store
            .kv_update_version(&self.ctx.vault.name, &s.name, &v)
            .await
            .map_err(store_error)?;
        Self::ok(Value::Object(self.bundle(&s.name, &v, None, true)))
    }

    async fn delete(&self, name: &SecretName) -> Result<Response, KvError> {
        let s = self.live(name).await?;
        let days = i64::from(self.ctx.vault.retention_days);
        let d = Deletion {
            deleted_at: self.ctx.now,
            scheduled_purge: self.ctx.now.plus_secs(days * 86_400),
        };
        self.kv
            .store
            .kv_set_deletion(&self.ctx.vault.name, &s.name, Some(d))
            .await
            .map_err(store_error)?;
        let latest = s
            .latest()
            .ok_or_else(|| KvError::secret_not_found(name.as_str()))?;
        let b = self.bundle(&s.name, latest, None, true);
        Self::ok(with_deletion(b, &self.ctx.origin, &s.name, &d))
    }

    async fn get_deleted(&self, name: &SecretName) -> Result<Response, KvError> {
        let (s, d) = self.deleted(name).await?;
        let latest = s
            .latest()
            .ok_or_else(|| KvError::deleted_not_found(name.as_str()))?;
        let b = self.bundle(&s.name, latest, None, true);
        Self::ok(with_deletion(b, &self.ctx.origin, &s.name, &d))
    }

    async fn recover(&self, name: &SecretName) -> Result<Response, KvError> {
        let (s, _) = self.deleted(name).await?;
        self.kv
            .store
            .kv_set_deletion(&self.ctx.vault.name, &s.name, None)
            .await
            .map_err(store_error)?;
        let latest = s
            .latest()
            .ok_or_else(|| KvError::secret_not_found(name.as_str()))?;
        Self::ok(Value::Object(self.bundle(&s.name, latest, None, true)))
    }

    async fn purge(&self, name: &SecretName) -> Result<Response, KvError> {
        let (s, d) = self.deleted(name).await?;
        if self.ctx.vault.purge_protection && self.ctx.now < d.scheduled_purge {
            return Err(KvError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed ({}).",
                    d.scheduled_purge.to_rfc3339()
                ),
            )
            .inner("PurgeProtectionEnabled"));
        }
        self.kv
            .store
            .kv_purge(&self.ctx.vault.name, &s.name)
            .await
            .map_err(store_error)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }

    async fn list(&self, q: &ListQuery, deleted: bool) -> Result<Response, KvError> {
        let (max, skip) = q.page()?;
        let all = self
            .kv
            .store
            .kv_secrets(&self.ctx.vault.name)
            .await
            .map_err(store_error)?;
        let items: Vec<Value> = all
            .iter()
            .filter(|s| match s.deleted {
                Some(d) => deleted && d.scheduled_purge > self.ctx.now,
                None => !deleted,
            })
            .filter_map(|s| {
                let latest = s.latest()?;
                let b = self.bundle(&s.name, latest, None, false);
                Some(match (&s.deleted, deleted) {
                    (Some(d), true) => with_deletion(b, &self.ctx.origin, &s.name, d),
                    _ => Value::Object(b),
                })
            })
            .collect();
        let path = if deleted { "deletedsecrets" } else { "secrets" };
        self.page(items, max, skip, path)
    }

    async fn versions(&self, name: &SecretName, q: &ListQuery) -> Result<Response, KvError> {
        let (max, skip) = q.page()?;
        let s = self.live(name).await?;
        let items: Vec<Value> = s
            .versions
            .iter()
            .map(|v| Value::Object(self.bundle(&s.name, v, None, true)))
            .collect();
        self.page(items, max, skip, &format!("secrets/{}/versions", s.name))
    }

    fn page(
        &self,
        items: Vec<Value>,
        max: usize,
        skip: usize,
        path: &str,
    ) -> Result<Response, KvError> {
        let total = items.len();
        let page: Vec<Value> = items.into_iter().skip(skip).take(max).collect();
        let next = skip + page.len();
        let next_link = (next < total).then(|| {
            let token = b64::encode(format!("wif:{next}").as_bytes());
            format!(
                "{}/{path}?api-version={}&$skiptoken={token}&maxresults={max}",
                self.ctx.origin, self.ctx.api_version
            )
        });
        Self::ok(json!({"value": page, "nextLink": next_link}))
    }

    async fn backup(&self, name: &SecretName) -> Result<Response, KvError> {
        let s = self.live(name).await?;
        let mut versions = Vec::with_capacity(s.versions.len());
        for v in &s.versions {
            versions.push(BackupVersion {
                version: v.version.clone(),
                value: self.open(&s, v)?,
                content_type: v.content_type.clone(),
                tags: v.tags.clone(),
                enabled: v.enabled,
                not_before: v.not_before.map(UnixTime::as_secs),
                expires: v.expires.map(UnixTime::as_secs),
                created: v.created.as_secs(),
                updated: v.updated.as_secs(),
            });
        }
        let payload = Backup {
            format: 1,
            subscription: self.ctx.vault.subscription.to_string(),
            name: s.name.to_string(),
            versions,
        };
        let plain = serde_json::to_vec(&payload).map_err(|_| {
            KvError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "Serializing the backup failed.",
            )
        })?;
        let sealed = self.kv.kek.seal(&plain, BACKUP_AAD).map_err(|_| {
            KvError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "Sealing the backup failed.",
            )
        })?;
        Self::ok(json!({"value": b64::encode(&sealed)}))
    }

    async fn restore(&self, body: Option<Value>) -> Result<Response, KvError> {
        let blob = body
            .as_ref()
            .and_then(|b| b.get("value"))
            .and_then(Value::as_str)
            .ok_or_else(|| KvError::bad_parameter("The body needs the backup blob as 'value'."))?;
        let invalid = || {
            KvError::bad_parameter(
                "Backup blob is invalid or was not produced by this key vault service.",
            )
        };
        let sealed = b64::decode(blob).map_err(|_| invalid())?;
        let plain = self
            .kv
            .kek
            .open(&sealed, BACKUP_AAD)
            .map_err(|_| invalid())?;
        let backup: Backup = serde_json::from_slice(&plain).map_err(|_| invalid())?;
        if backup.subscription != self.ctx.vault.subscription.to_string() {
            return Err(KvError::bad_parameter(
                "The backup blob belongs to a vault in another subscription; it can only be restored into a vault of the same subscription.",
            ));
        }
        let name = SecretName::parse(&backup.name).map_err(|_| invalid())?;
        let vault = &self.ctx.vault.name;
        let mut versions = Vec::with_capacity(backup.versions.len());
        for v in &backup.versions {
            versions.push(SecretVersion {
                version: v.version.clone(),
                sealed_value: seal_value(&self.kv.kek, vault, &name, &v.version, &v.value)
                    .map_err(|_| invalid())?,
                content_type: v.content_type.clone(),
                tags: v.tags.clone(),
                enabled: v.enabled,
                not_before: v.not_before.map(UnixTime::from_secs),
                expires: v.expires.map(UnixTime::from_secs),
                created: UnixTime::from_secs(v.created),
                updated: UnixTime::from_secs(v.updated),
            });
        }
        // A deleted secret past its purge date does not block the name.
        self.load(&name).await?;
        let secret = StoredSecret {
            vault: vault.clone(),
            name: name.clone(),
            deleted: None,
            versions,
        };
        self.kv
            .store
            .kv_restore(&secret)
            .await
            .map_err(store_error)?;
        let latest = secret.latest().ok_or_else(invalid)?;
        Self::ok(Value::Object(self.bundle(&name, latest, None, true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_by_method_and_path() {
        let get = Method::GET;
        assert_eq!(Op::parse(&get, "/secrets"), Some(Op::List));
        assert_eq!(
            Op::parse(&get, "/secrets/db/"),
            Some(Op::Get("db".into(), None))
        );
        assert_eq!(
            Op::parse(&get, "/secrets/db"),
            Some(Op::Get("db".into(), None))
        );
        assert_eq!(
            Op::parse(&get, "/secrets/db/abc"),
            Some(Op::Get("db".into(), Some("abc".into())))
        );
        assert_eq!(
            Op::parse(&get, "/secrets/db/versions"),
            Some(Op::Versions("db".into()))
        );
        assert_eq!(
            Op::parse(&Method::PUT, "/secrets/db"),
            Some(Op::Set("db".into()))
        );
        assert_eq!(
            Op::parse(&Method::PATCH, "/secrets/db/"),
            Some(Op::Update("db".into(), None))
        );
        assert_eq!(
            Op::parse(&Method::POST, "/secrets/restore"),
            Some(Op::Restore)
        );
        assert_eq!(
            Op::parse(&Method::POST, "/secrets/db/backup"),
            Some(Op::Backup("db".into()))
        );
        assert_eq!(
            Op::parse(&Method::DELETE, "/deletedsecrets/db"),
            Some(Op::Purge("db".into()))
        );
        assert_eq!(
            Op::parse(&Method::POST, "/deletedsecrets/db/recover"),
            Some(Op::Recover("db".into()))
        );
        assert_eq!(Op::parse(&get, "/keys/k"), None);
        assert_eq!(Op::parse(&Method::PUT, "/secrets/"), None);
    }

    #[test]
    fn page_sizes() {
        let q = |m: &str| {
            ListQuery {
                max: Some(m.into()),
                skip: None,
            }
            .page()
        };
        assert_eq!(q("1").unwrap().0, 1);
        assert_eq!(q("25").unwrap().0, 25);
        assert!(q("26").unwrap_err().message.contains("1 to 25"));
        assert!(q("0").is_err());
        assert!(
            ListQuery {
                max: None,
                skip: Some("nope".into())
            }
            .page()
            .is_err()
        );
    }
}
