//! The Key Vault secrets data plane (api-versions 7.0–7.6, 2025-07-01, 2026-04-01).
//!
//! One origin per vault: a request whose host is `<vault>.<suffix>` for a suffix in
//! [`crate::state::HostNames::vault_suffixes`] is a Key Vault request ([`target`], used by the
//! host dispatch in [`crate::app`]). Every
//! request goes, in this order: vault lookup → api-version → bearer token (401 with the
//! challenge before the body is read) → RBAC on the secret's scope with the operation's data
//! action → the operation → an audit record. See `docs/keyvault.md`.

mod auth;
mod ops;
mod wire;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use wif_core::directory::Vault;
use wif_core::ids::VaultName;
use wif_core::time::UnixTime;
use wif_store::KeyEncryptionKey;
use wif_store::keyvault::KvAuditRecord;
use wif_store::snapshot::Snapshot;
use wif_store::store::Store;

pub use crate::signin::{AuditSink, spawn_audit_writer};
pub use wire::API_VERSIONS;

use crate::state::{AppState, VaultSuffix};
use wire::KvError;

/// What the Key Vault service needs besides the snapshot: the store holding secrets, the key
/// that seals their values, and the audit log.
#[derive(Clone, Debug)]
pub struct KeyVaultState {
    /// Secrets live here (never in the snapshot).
    pub store: Arc<dyn Store>,
    /// Seals and opens secret values and backups.
    pub kek: Arc<KeyEncryptionKey>,
    /// The audit log.
    pub audit: AuditSink,
}

/// The vault a host name addresses, if it is under a served suffix: `(vault name, suffix)`.
pub fn vault_host<'a>(
    host: &str,
    suffixes: &'a [VaultSuffix],
) -> Option<(String, &'a VaultSuffix)> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    suffixes.iter().find_map(|s| {
        let label = host.strip_suffix(&s.suffix)?.strip_suffix('.')?;
        (!label.is_empty() && !label.contains('.')).then(|| (label.to_owned(), s))
    })
}

/// The request's host and port: the URI authority (HTTP/2) or the `Host` header.
fn host_port(req: &Request) -> Option<(String, Option<u16>)> {
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })?;
    let parsed: axum::http::uri::Authority = authority.parse().ok()?;
    Some((parsed.host().to_owned(), parsed.port_u16()))
}

/// What a request's host selects.
#[derive(Debug)]
pub enum HostTarget {
    /// A vault: its name, the suffix it came through, and the port.
    Vault(String, VaultSuffix, Option<u16>),
    /// One of the other authorities wif answers as (index into `names.authorities`).
    Authority(usize),
    /// The canonical authority.
    Canonical,
}

/// Classifies a request by its host.
pub fn target(st: &AppState, req: &Request) -> HostTarget {
    let Some((host, port)) = host_port(req) else {
        return HostTarget::Canonical;
    };
    if let Some((name, suffix)) = vault_host(&host, &st.names.vault_suffixes) {
        return HostTarget::Vault(name, suffix.clone(), port);
    }
    match st.names.authority_for_host(&host) {
        Some(a) => st
            .names
            .authorities
            .iter()
            .position(|x| x == a)
            .map_or(HostTarget::Canonical, HostTarget::Authority),
        None => HostTarget::Canonical,
    }
}

/// One Key Vault request, with the vault it addresses.
pub(crate) struct Ctx {
    pub snap: Arc<Snapshot>,
    pub vault: Vault,
    /// `https://<host>[:port]` as the client addressed the vault.
    pub origin: String,
    pub suffix: VaultSuffix,
    pub now: UnixTime,
    pub api_version: String,
}

/// Serves a Key Vault request for vault `name` under `suffix`.
pub async fn serve(
    st: &AppState,
    req: Request,
    name: &str,
    suffix: &VaultSuffix,
    port: Option<u16>,
) -> Response {
    let request_id = wif_core::random::new_uuid(st.rng.as_ref()).to_string();
    let now = st.clock.now();
    let snap = st.snapshot.load();
    let vault = VaultName::parse(name)
        .ok()
        .and_then(|n| snap.directory.vault(&n).cloned());
    let mut audit = KvAuditRecord {
        id: wif_core::random::new_uuid(st.rng.as_ref()),
        time: now,
        vault: name.to_owned(),
        operation: "Unknown".to_owned(),
        caller_app: None,
        caller_oid: None,
        action: None,
        resource: None,
        allowed: false,
        assignment: None,
        reason: None,
        status: 0,
        request_id: request_id.clone(),
    };
    let Some(vault) = vault else {
        let err = KvError::new(
            StatusCode::NOT_FOUND,
            "VaultNotFound",
            format!(
                "The vault '{name}' does not exist. Declare it under 'vaults' in the topology file \
                 (or check the name in the vault URL)."
            ),
        );
        return finish(
            st,
            err.into_response_body(),
            &request_id,
            None,
            audit,
            Some("VaultNotFound".into()),
        );
    };
    let port = port.unwrap_or(443);
    let origin = if port == 443 {
        format!("https://{name}.{}", suffix.suffix)
    } else {
        format!("https://{name}.{}:{port}", suffix.suffix)
    };
    let api_version = match api_version(req.uri().query()) {
        Ok(v) => v,
        Err(e) => {
            let reason = e.reason();
            return finish(
                st,
                e.into_response_body(),
                &request_id,
                Some(&vault),
                audit,
                Some(reason),
            );
        }
    };
    let ctx = Ctx {
        snap: snap.clone(),
        vault: vault.clone(),
        origin,
        suffix: suffix.clone(),
        now,
        api_version,
    };
    let (result, reason) = ops::run(st, &ctx, req, &mut audit).await;
    let resp = match result {
        Ok(resp) => resp,
        Err(e) => e.into_response_body(),
    };
    finish(st, resp, &request_id, Some(&vault), audit, reason)
}

/// Adds Key Vault's response headers and writes the audit record.
fn finish(
    st: &AppState,
    mut resp: Response,
    request_id: &str,
    vault: Option<&Vault>,
    mut audit: KvAuditRecord,
    reason: Option<String>,
) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-ms-request-id", v);
    }
    h.insert(
        "x-ms-keyvault-service-version",
        HeaderValue::from_static("1.9.2684.1"),
    );
    if let Some(v) = vault.and_then(|v| HeaderValue::from_str(v.location.as_str()).ok()) {
        h.insert("x-ms-keyvault-region", v);
    }
    audit.status = resp.status().as_u16();
    audit.allowed = resp.status().is_success();
    if !audit.allowed && audit.reason.is_none() {
        audit.reason = reason;
    }
    if let Some(kv) = &st.keyvault {
        kv.audit.record(audit);
    }
    resp
}

/// The `api-version` query parameter (keys percent-decoded: JS sends `api%2Dversion`).
fn api_version(query: Option<&str>) -> Result<String, KvError> {
    let version = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v.into_owned());
    match version {
        None => Err(KvError::bad_parameter(
            "The 'api-version' query parameter is missing; add ?api-version=7.6 (or another supported version).",
        )),
        Some(v) if API_VERSIONS.contains(&v.as_str()) => Ok(v),
        Some(v) => Err(KvError::bad_parameter(format!(
            "The specified version ({v}) is not recognized. Consider using the latest supported version (2026-04-01)."
        ))),
    }
}

/// Reads the body after authorization (at most 64 KiB; Key Vault's largest secret is 25 KiB).
pub(crate) async fn body_json(req: Request<Body>) -> Result<serde_json::Value, KvError> {
    let bytes = axum::body::to_bytes(req.into_body(), crate::app::MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            KvError::bad_parameter("The request body is too large or could not be read.")
        })?;
    if bytes.is_empty() {
        return Err(KvError::bad_parameter(
            "The request body is empty; a JSON object is required.",
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| KvError::bad_parameter(format!("The request body is not valid JSON: {e}")))
}

/// Whether this method carries a body we read.
pub(crate) fn has_body(m: &Method) -> bool {
    matches!(*m, Method::PUT | Method::PATCH | Method::POST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_hosts() {
        let suffixes = vec![
            VaultSuffix {
                suffix: "vault.localhost".into(),
                port: 8443,
            },
            VaultSuffix {
                suffix: "vault.azure.net".into(),
                port: 443,
            },
        ];
        assert_eq!(
            vault_host("kv-demo.vault.localhost", &suffixes).map(|v| v.0),
            Some("kv-demo".into())
        );
        assert_eq!(
            vault_host("KV-Demo.Vault.Azure.Net.", &suffixes).map(|v| (v.0, v.1.port)),
            Some(("kv-demo".into(), 443))
        );
        assert!(vault_host("vault.localhost", &suffixes).is_none());
        assert!(vault_host("a.b.vault.localhost", &suffixes).is_none());
        assert!(vault_host("localhost", &suffixes).is_none());
        assert!(vault_host("kvvault.localhost", &suffixes).is_none());
    }

    #[test]
    fn api_versions() {
        assert_eq!(
            api_version(Some("api%2Dversion=2025-07-01")).unwrap(),
            "2025-07-01"
        );
        assert_eq!(api_version(Some("x=1&api-version=7.0")).unwrap(), "7.0");
        assert!(api_version(None).unwrap_err().message.contains("missing"));
        assert!(
            api_version(Some("api-version=6.0"))
                .unwrap_err()
                .message
                .contains("(6.0)")
        );
    }
}
