//! Key Vault authentication (the bearer challenge, token verification against the vault
//! tenant's keys) and authorization (Azure RBAC on the secret's scope).

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;
use wif_core::ids::PrincipalId;
use wif_core::rbac::{Decision, Operation, Scope};
use wif_jose::UnverifiedJwt;
use wif_store::model::KeyOwner;

use super::Ctx;
use super::wire::KvError;
use crate::state::AppState;

/// Clock skew tolerated on `nbf`/`exp` (Entra's and Key Vault's five minutes).
const SKEW_SECS: i64 = 300;

/// The verified caller of a request.
#[derive(Debug)]
pub struct Caller {
    /// `appid` (v1) or `azp` (v2).
    pub app: String,
    /// `oid`: the RBAC principal.
    pub oid: String,
    /// `iss`.
    pub iss: String,
}

/// `WWW-Authenticate: Bearer authorization="<authority>/<tenant>", resource="<resource>"`.
///
/// The SDKs take the tenant from `authorization` (Python and JS; it must be exactly
/// `https://host/<tenant>`) and the scope from `resource` + `/.default`. The authority is the one
/// wif answers as for this vault suffix: `https://login.microsoftonline.com` for
/// `vault.azure.net`, the canonical local authority otherwise. (Real Key Vault names
/// `login.windows.net`, which the SDKs do not contact: they only read the tenant from it.)
pub fn challenge(st: &AppState, ctx: &Ctx) -> String {
    let authority = if ctx.suffix.suffix == "vault.azure.net" {
        st.names
            .authorities
            .iter()
            .find(|a| a.origin() == "https://login.microsoftonline.com")
            .unwrap_or(&st.authority)
    } else {
        &st.authority
    };
    format!(
        "Bearer authorization=\"{}/{}\", resource=\"{}\"",
        authority.origin(),
        ctx.vault.tenant,
        ctx.suffix.resource()
    )
}

fn unauthorized(st: &AppState, ctx: &Ctx, message: String) -> KvError {
    let mut e = KvError::new(StatusCode::UNAUTHORIZED, "Unauthorized", message);
    e.challenge = Some(challenge(st, ctx));
    e
}

/// The audiences a token for this vault may carry.
fn accepted_audiences(ctx: &Ctx) -> Vec<String> {
    let resource = ctx.suffix.resource();
    let without_port = format!("https://{}", ctx.suffix.suffix);
    vec![resource, without_port, "https://vault.azure.net".to_owned()]
}

/// Verifies the bearer token: signature by the vault tenant's key, audience, issuer and time.
pub fn authenticate(st: &AppState, ctx: &Ctx, headers: &HeaderMap) -> Result<Caller, KvError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(unauthorized(
            st,
            ctx,
            "AKV10000: Request is missing a Bearer or PoP token.".to_owned(),
        ));
    };
    let jwt = UnverifiedJwt::parse(token)
        .map_err(|e| unauthorized(st, ctx, format!("The access token is malformed: {e}.")))?;
    let tenant = ctx.vault.tenant;
    let keys = ctx
        .snap
        .keys_of(&KeyOwner::Tenant(tenant))
        .map(|k| k.key_set_at(ctx.now))
        .ok_or_else(|| {
            unauthorized(
                st,
                ctx,
                format!("Tenant {tenant} has no token-signing keys."),
            )
        })?;
    let verified = jwt.verify(&keys).map_err(|e| {
        unauthorized(
            st,
            ctx,
            format!(
                "The access token's signature does not verify with the keys of tenant {tenant} ({e}); request a token from that tenant."
            ),
        )
    })?;
    let claims = verified.claims();
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();

    let aud = text("aud");
    let accepted = accepted_audiences(ctx);
    if !accepted
        .iter()
        .any(|a| a.eq_ignore_ascii_case(aud.trim_end_matches('/')))
    {
        return Err(unauthorized(
            st,
            ctx,
            format!(
                "AKV10022: Invalid audience. Expected {}, found: {aud}.",
                ctx.suffix.resource()
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
        return Err(unauthorized(
            st,
            ctx,
            format!(
                "AKV10032: Invalid issuer. Expected one of {}, found {iss}.",
                issuers.join(", ")
            ),
        ));
    }
    let num = |name: &str| claims.get(name).and_then(Value::as_i64);
    let now = ctx.now.as_secs();
    if num("exp").is_none_or(|exp| now > exp + SKEW_SECS) {
        return Err(unauthorized(
            st,
            ctx,
            "The access token has expired; request a new one.".to_owned(),
        ));
    }
    if num("nbf").is_some_and(|nbf| nbf > now + SKEW_SECS) {
        return Err(unauthorized(
            st,
            ctx,
            "The access token is not yet valid.".to_owned(),
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
    })
}

/// The RBAC scope of a secret, or of the vault for `None`.
pub fn scope_of(ctx: &Ctx, secret: Option<&str>) -> String {
    match secret {
        Some(name) => format!("{}/secrets/{name}", ctx.vault.resource_id()),
        None => ctx.vault.resource_id(),
    }
}

/// Checks `action` for the caller at `resource`; a denial is Key Vault's `ForbiddenByRbac`.
pub fn authorize(
    ctx: &Ctx,
    caller: &Caller,
    action: &str,
    resource: &str,
) -> Result<Decision, KvError> {
    let scope = Scope::parse(resource).map_err(|e| {
        KvError::bad_parameter(format!("The request URI names an invalid resource: {e}"))
    })?;
    let decision = match PrincipalId::parse(&caller.oid) {
        Ok(principal) => {
            ctx.snap
                .directory
                .authorizer()
                .check(&principal, Operation::DataAction(action), &scope)
        }
        Err(_) => Decision::Denied {
            reason: wif_core::rbac::DenyReason::NoValidRbac,
        },
    };
    match &decision {
        Decision::Allowed { .. } => Ok(decision),
        Decision::Denied { reason } => Err(KvError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid={};oid={};iss={}\r\nAction: '{action}'\r\nResource: '{}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: '{}' \r\nVault: {};location={}\r\n",
                caller.app,
                caller.oid,
                caller.iss,
                resource.to_lowercase(),
                reason.as_str(),
                ctx.vault.name,
                ctx.vault.location,
            ),
        )
        .inner("ForbiddenByRbac")),
    }
}
