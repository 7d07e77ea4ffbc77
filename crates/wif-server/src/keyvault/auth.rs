//! Key Vault authentication (the bearer challenge, token verification against the vault
//! tenant's keys) and authorization (Azure RBAC on the secret's scope).

use axum::http::{HeaderMap, StatusCode};
use wif_core::ids::PrincipalId;
use wif_core::rbac::{Decision, Operation, Scope};

use crate::bearer::FailureKind;

use super::Ctx;
use super::wire::KvError;
use crate::state::AppState;

pub use crate::bearer::Caller;

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
    let audiences = accepted_audiences(ctx);
    crate::bearer::verify(
        st,
        &ctx.snap,
        headers,
        Some(ctx.vault.tenant),
        &audiences,
        ctx.now,
    )
    .map_err(|f| {
        let message = match f.kind {
            FailureKind::Missing => {
                "AKV10000: Request is missing a Bearer or PoP token.".to_owned()
            }
            FailureKind::Audience => format!("AKV10022: {}", f.message),
            FailureKind::Issuer => format!("AKV10032: {}", f.message),
            _ => f.message,
        };
        unauthorized(st, ctx, message)
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
    if !ctx.vault.enable_rbac_authorization {
        // The access-policy model: wif keeps no access policies, so nothing is permitted.
        return Err(access_policy_denial(ctx, caller, action));
    }
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

/// Key Vault's denial under the access-policy model, naming the permission the operation needs.
fn access_policy_denial(ctx: &Ctx, caller: &Caller, action: &str) -> KvError {
    let permission = match action.rsplit('/').nth(1).unwrap_or_default() {
        "getSecret" => "get",
        "setSecret" | "update" => "set",
        "readMetadata" => "list",
        "secrets" => "delete",
        other => other,
    };
    KvError::new(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!(
            "The user, group or application 'appid={};oid={};iss={}' does not have secrets {permission} \
             permission on key vault '{};location={}'. wif implements only the Azure RBAC permission \
             model: set enableRbacAuthorization to true on the vault and assign a Key Vault role. For help \
             resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            caller.app, caller.oid, caller.iss, ctx.vault.name, ctx.vault.location
        ),
    )
    .inner("AccessDenied")
}
