//! Key Vault's wire format: the JSON bodies (SecretBundle, SecretItem, DeletedSecretBundle) and
//! the error body `{"error":{"code","message","innererror"}}` with the headers real Key Vault
//! sends.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use wif_core::directory::{DEFAULT_RETENTION_DAYS, Vault};
use wif_core::ids::SecretName;
use wif_store::keyvault::{Deletion, SecretVersion};

/// The api-versions wif accepts (every one the current SDKs send).
pub const API_VERSIONS: &[&str] = &[
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6",
    "2025-07-01",
    "2026-04-01",
];

/// Real Key Vault's default and largest page.
pub const MAX_PAGE: usize = 25;

/// A Key Vault error: status, code, message, optional inner code, optional challenge.
#[derive(Debug)]
pub struct KvError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
    /// `error.innererror.code`.
    pub inner: Option<&'static str>,
    /// A `WWW-Authenticate` value to send (401s).
    pub challenge: Option<String>,
}

impl KvError {
    /// An error without inner code or challenge.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            inner: None,
            challenge: None,
        }
    }

    /// 400 BadParameter.
    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadParameter", message)
    }

    /// 404 SecretNotFound for a live secret (Key Vault's text).
    pub fn secret_not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "SecretNotFound",
            format!(
                "A secret with (name/id) {what} was not found in this key vault. If you recently \
                 deleted this secret you may be able to recover it using the correct recovery \
                 command. For help resolving this issue, please see \
                 https://go.microsoft.com/fwlink/?linkid=2125182"
            ),
        )
    }

    /// 404 SecretNotFound for a deleted secret.
    pub fn deleted_not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "SecretNotFound",
            format!("Deleted Secret not found: {name}"),
        )
    }

    /// With an inner error code.
    pub fn inner(mut self, code: &'static str) -> Self {
        self.inner = Some(code);
        self
    }

    /// The reason text for the audit log.
    pub fn reason(&self) -> String {
        match self.inner {
            Some(inner) => inner.to_owned(),
            None => self
                .message
                .split(':')
                .next()
                .filter(|p| p.starts_with("AKV"))
                .unwrap_or(self.code)
                .to_owned(),
        }
    }

    /// The response (without the common headers, which the caller adds).
    pub fn into_response_body(self) -> Response {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(inner) = self.inner {
            error.insert("innererror".into(), json!({ "code": inner }));
        }
        let mut resp = (self.status, json_body(&json!({ "error": error }))).into_response();
        if let Some(c) = self.challenge
            && let Ok(v) = HeaderValue::from_str(&c)
        {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

/// A JSON body with Key Vault's content type.
pub fn json_body(v: &Value) -> impl IntoResponse + use<> {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        v.to_string(),
    )
}

/// `attributes.recoveryLevel` for a vault's soft-delete settings.
pub fn recovery_level(vault: &Vault) -> &'static str {
    match (
        vault.retention_days < DEFAULT_RETENTION_DAYS,
        vault.purge_protection,
    ) {
        (false, false) => "Recoverable+Purgeable",
        (false, true) => "Recoverable",
        (true, false) => "CustomizedRecoverable+Purgeable",
        (true, true) => "CustomizedRecoverable",
    }
}

/// The `attributes` object of a version.
pub fn attributes(vault: &Vault, v: &SecretVersion) -> Value {
    let mut a = Map::new();
    a.insert("enabled".into(), json!(v.enabled));
    if let Some(nbf) = v.not_before {
        a.insert("nbf".into(), json!(nbf.as_secs()));
    }
    if let Some(exp) = v.expires {
        a.insert("exp".into(), json!(exp.as_secs()));
    }
    a.insert("created".into(), json!(v.created.as_secs()));
    a.insert("updated".into(), json!(v.updated.as_secs()));
    a.insert("recoveryLevel".into(), json!(recovery_level(vault)));
    a.insert("recoverableDays".into(), json!(vault.retention_days));
    Value::Object(a)
}

/// A SecretBundle (`value` only when given) or, with `versioned = false`, a SecretItem.
pub fn bundle(
    origin: &str,
    vault: &Vault,
    name: &SecretName,
    v: &SecretVersion,
    value: Option<&str>,
    versioned: bool,
) -> Map<String, Value> {
    let mut b = Map::new();
    if let Some(value) = value {
        b.insert("value".into(), json!(value));
    }
    let id = if versioned {
        format!("{origin}/secrets/{name}/{}", v.version)
    } else {
        format!("{origin}/secrets/{name}")
    };
    b.insert("id".into(), json!(id));
    if let Some(ct) = &v.content_type {
        b.insert("contentType".into(), json!(ct));
    }
    b.insert("attributes".into(), attributes(vault, v));
    b.insert("tags".into(), json!(v.tags));
    b
}

/// Adds the deleted-secret fields to a bundle or item.
pub fn with_deletion(
    mut b: Map<String, Value>,
    origin: &str,
    name: &SecretName,
    d: &Deletion,
) -> Value {
    b.insert(
        "recoveryId".into(),
        json!(format!("{origin}/deletedsecrets/{name}")),
    );
    b.insert("deletedDate".into(), json!(d.deleted_at.as_secs()));
    b.insert(
        "scheduledPurgeDate".into(),
        json!(d.scheduled_purge.as_secs()),
    );
    Value::Object(b)
}
