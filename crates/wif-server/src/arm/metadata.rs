//! The cloud metadata document (`az cloud register`, Terraform's `metadata_host`, Pulumi),
//! subscriptions, tenants and provider registrations.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use wif_core::directory::Subscription;
use wif_core::ids::{PrincipalId, SubscriptionId};
use wif_core::rbac::Scope;

use super::wire::{ArmError, list};
use super::{Ctx, reply};
use crate::state::AppState;

/// The name of the cloud wif describes.
pub const CLOUD_NAME: &str = "WifLocal";

/// `GET /metadata/endpoints`: the object form (`api-version=2022-09-01` and later), or the
/// array form for `2019-05-01` and earlier (what `ARM_CLOUD_METADATA_URL` expects).
pub async fn endpoints(State(st): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let version = query
        .as_deref()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let doc = document(&st);
    if !version.is_empty() && version.as_str() < "2022-09-01" {
        return reply(StatusCode::OK, Value::Array(vec![doc]));
    }
    reply(StatusCode::OK, doc)
}

/// The document for the canonical authority.
pub fn document(st: &AppState) -> Value {
    let origin = st
        .names
        .authorities
        .first()
        .unwrap_or(&st.authority)
        .origin()
        .to_owned();
    let vault_dns = st
        .names
        .vault_suffixes
        .first()
        .map(|s| {
            if s.port == 443 {
                s.suffix.clone()
            } else {
                format!("{}:{}", s.suffix, s.port)
            }
        })
        .unwrap_or_default();
    json!({
        "name": CLOUD_NAME,
        "portal": format!("{origin}/"),
        "resourceManager": format!("{origin}/"),
        "authentication": {
            "loginEndpoint": origin,
            "audiences": super::ARM_AUDIENCES,
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "microsoftGraphResourceId": format!("{origin}/graph/"),
        "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/",
        "media": format!("{origin}/"),
        "gallery": format!("{origin}/"),
        "batch": "https://batch.core.windows.net/",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "vmImageAliasDoc": "",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "suffixes": {
            "keyVaultDns": vault_dns,
            "storage": "core.windows.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
        },
    })
}

/// Whether the caller holds any role assignment at, above or below `scope`.
fn has_any_role_near(ctx: &Ctx, scope: &Scope) -> bool {
    let Ok(me) = PrincipalId::parse(&ctx.caller.oid) else {
        return false;
    };
    ctx.snap
        .directory
        .data()
        .role_assignments
        .iter()
        .any(|a| a.principal_id == me && (a.scope.is_within(scope) || scope.is_within(&a.scope)))
}

fn subscription_json(ctx: &Ctx, s: &Subscription) -> Value {
    let tenant = ctx.snap.directory.tenant_by_id(&s.tenant);
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.id.to_string(),
        "tenantId": s.tenant.to_string(),
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
        "tags": {},
        "homeTenantDisplayName": tenant.map(|t| t.display_name.clone()),
    })
}

/// The subscriptions the caller can see: its own tenant's, where it holds some role.
fn visible(ctx: &Ctx) -> Vec<&Subscription> {
    ctx.snap
        .directory
        .data()
        .subscriptions
        .iter()
        .filter(|s| s.tenant == ctx.caller.tenant)
        .filter(|s| {
            Scope::parse(&format!("/subscriptions/{}", s.id))
                .is_ok_and(|scope| has_any_role_near(ctx, &scope))
        })
        .collect()
}

/// `GET /subscriptions`.
pub fn subscriptions(ctx: &Ctx) -> Result<Response, ArmError> {
    get_only(ctx)?;
    let items: Vec<Value> = visible(ctx)
        .iter()
        .map(|s| subscription_json(ctx, s))
        .collect();
    let n = items.len();
    let mut body = list(items);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("count".into(), json!({"type": "Total", "value": n}));
    }
    Ok(reply(StatusCode::OK, body))
}

/// The subscription `id` if the caller can see it; ARM's `SubscriptionNotFound` otherwise.
pub fn subscription_of<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a Subscription, ArmError> {
    let parsed = SubscriptionId::parse(id).map_err(|_| {
        ArmError::bad_request(
            "InvalidSubscriptionId",
            format!("The provided subscription identifier '{id}' is malformed or invalid."),
        )
    })?;
    visible(ctx)
        .into_iter()
        .find(|s| s.id == parsed)
        .ok_or_else(|| ArmError::subscription_not_found(id))
}

/// `GET /subscriptions/{id}`.
pub fn subscription(ctx: &Ctx, id: &str) -> Result<Response, ArmError> {
    get_only(ctx)?;
    let s = subscription_of(ctx, id)?;
    Ok(reply(StatusCode::OK, subscription_json(ctx, s)))
}

/// `GET /tenants`: the caller's tenant.
pub fn tenants(ctx: &Ctx) -> Result<Response, ArmError> {
    get_only(ctx)?;
    let items: Vec<Value> = ctx
        .snap
        .directory
        .tenant_by_id(&ctx.caller.tenant)
        .into_iter()
        .map(|t| {
            json!({
                "id": format!("/tenants/{}", t.id),
                "tenantId": t.id.to_string(),
                "tenantCategory": "Home",
                "displayName": t.display_name,
                "defaultDomain": t.domain.as_str(),
                "domains": [t.domain.as_str()],
                "tenantType": "AAD",
            })
        })
        .collect();
    Ok(reply(StatusCode::OK, list(items)))
}

/// `GET /subscriptions/{id}/providers/{ns}` and `POST …/register`: every provider wif serves
/// is registered (and `MissingSubscriptionRegistration` is never answered).
pub fn provider(ctx: &Ctx, sub: &str, ns: &str) -> Result<Response, ArmError> {
    let s = subscription_of(ctx, sub)?;
    let known = super::resources::NAMESPACES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(ns))
        .ok_or_else(|| {
            ArmError::new(
                StatusCode::NOT_FOUND,
                "InvalidResourceNamespace",
                format!("The resource namespace '{ns}' is invalid."),
            )
        })?;
    Ok(reply(
        StatusCode::OK,
        json!({
            "id": format!("/subscriptions/{}/providers/{known}", s.id),
            "namespace": known,
            "registrationState": "Registered",
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [],
        }),
    ))
}

fn get_only(ctx: &Ctx) -> Result<(), ArmError> {
    if ctx.method == axum::http::Method::GET {
        Ok(())
    } else {
        Err(method_not_allowed(ctx))
    }
}

/// 405 in ARM's shape.
pub fn method_not_allowed(ctx: &Ctx) -> ArmError {
    ArmError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!(
            "The requested resource does not support http method '{}'.",
            ctx.method
        ),
    )
}
