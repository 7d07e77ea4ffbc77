//! Verification of the access tokens wif's own token service issued, for the resources wif
//! serves (Key Vault, ARM, Graph): signature by the tenant's key from the snapshot, audience,
//! issuer (any authority wif answers as, v1 or v2 form) and time. Each service turns a
//! [`BearerFailure`] into its own error format.

use axum::http::{HeaderMap, header};
use serde_json::Value;
use wif_core::UnixTime;
use wif_core::ids::TenantId;
use wif_jose::UnverifiedJwt;
use wif_store::model::KeyOwner;
use wif_store::snapshot::Snapshot;

use crate::state::AppState;

/// Clock skew tolerated on `nbf`/`exp` (Entra's and the resources' five minutes).
const SKEW_SECS: i64 = 300;

/// The verified caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// `appid` (v1) or `azp` (v2).
    pub app: String,
    /// `oid`: the RBAC principal.
    pub oid: String,
    /// `iss`.
    pub iss: String,
    /// `tid`.
    pub tenant: TenantId,
}

/// What was wrong with a bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a JWT, or no usable `tid`.
    Malformed,
    /// The tenant is unknown or has no keys.
    UnknownTenant,
    /// The signature does not verify.
    Signature,
    /// `aud` is not one this resource accepts.
    Audience,
    /// `iss` is not one of wif's.
    Issuer,
    /// `exp` has passed.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
}

/// A refused bearer token: the kind and a message saying what to fix.
#[derive(Clone, Debug)]
pub struct BearerFailure {
    /// The kind.
    pub kind: FailureKind,
    /// The message.
    pub message: String,
}

fn fail(kind: FailureKind, message: impl Into<String>) -> BearerFailure {
    BearerFailure {
        kind,
        message: message.into(),
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
}

/// Verifies the request's bearer token. `tenant` pins the tenant whose keys must have signed it
/// (a vault's tenant); `None` takes it from the token's `tid`. `audiences` are compared
/// case-insensitively and without a trailing slash.
pub fn verify(
    st: &AppState,
    snap: &Snapshot,
    headers: &HeaderMap,
    tenant: Option<TenantId>,
    audiences: &[String],
    now: UnixTime,
) -> Result<Caller, BearerFailure> {
    let token = bearer_token(headers).ok_or_else(|| {
        fail(
            FailureKind::Missing,
            "The request is missing a Bearer token in its Authorization header.",
        )
    })?;
    let jwt = UnverifiedJwt::parse(token).map_err(|e| {
        fail(
            FailureKind::Malformed,
            format!("The access token is malformed: {e}."),
        )
    })?;
    let tenant = match tenant {
        Some(t) => t,
        None => jwt
            .unverified_claims()
            .get("tid")
            .and_then(Value::as_str)
            .and_then(|t| TenantId::parse(t).ok())
            .ok_or_else(|| {
                fail(
                    FailureKind::Malformed,
                    "The access token has no valid 'tid' claim.",
                )
            })?,
    };
    let keys = snap
        .keys_of(&KeyOwner::Tenant(tenant))
        .map(|k| k.key_set_at(now))
        .ok_or_else(|| {
            fail(
                FailureKind::UnknownTenant,
                format!("Tenant {tenant} is unknown or has no token-signing keys."),
            )
        })?;
    let verified = jwt.verify(&keys).map_err(|e| {
        fail(
            FailureKind::Signature,
            format!(
                "The access token's signature does not verify with the keys of tenant {tenant} \
                 ({e}); request a token from that tenant."
            ),
        )
    })?;
    let claims = verified.claims();
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();

    let aud = text("aud");
    if !audiences.iter().any(|a| {
        a.trim_end_matches('/')
            .eq_ignore_ascii_case(aud.trim_end_matches('/'))
    }) {
        return Err(fail(
            FailureKind::Audience,
            format!(
                "Invalid audience. Expected {}, found: {aud}.",
                audiences.first().map(String::as_str).unwrap_or_default()
            ),
        ));
    }
    let iss = text("iss");
    let issuers: Vec<String> = st
        .names
        .authorities
        .iter()
        .flat_map(|a| [a.tenant_v1_issuer(&tenant), a.tenant_v2_issuer(&tenant)])
        .collect();
    if !issuers.iter().any(|i| i == iss) {
        return Err(fail(
            FailureKind::Issuer,
            format!(
                "Invalid issuer. Expected one of {}, found {iss}.",
                issuers.join(", ")
            ),
        ));
    }
    let num = |name: &str| claims.get(name).and_then(Value::as_i64);
    let now = now.as_secs();
    if num("exp").is_none_or(|exp| now > exp + SKEW_SECS) {
        return Err(fail(
            FailureKind::Expired,
            "The access token has expired; request a new one.",
        ));
    }
    if num("nbf").is_some_and(|nbf| nbf > now + SKEW_SECS) {
        return Err(fail(
            FailureKind::NotYetValid,
            "The access token is not yet valid.",
        ));
    }
    let app = match text("appid") {
        "" => text("azp"),
        a => a,
    };
    Ok(Caller {
        app: app.to_owned(),
        oid: text("oid").to_owned(),
        iss: iss.to_owned(),
        tenant,
    })
}
