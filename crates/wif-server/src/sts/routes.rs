//! Token-service handlers: parse, call [`super::exchange`], write the wire format. Paths are
//! Entra's, at the root of the authority origin (the Rust SDK drops any path prefix).

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;
use wif_core::aadsts::Aadsts;
use wif_core::exchange::ExchangeError;
use wif_core::ids::TenantRef;
use wif_core::random::new_uuid;
use wif_jose::Jwks;
use wif_store::model::KeyOwner;

use super::error::StsError;
use super::exchange::{Endpoint, exchange, new_log};
use super::model::{TokenForm, TokenResponse, TokenResponseV1};
use crate::state::AppState;

/// The token-service routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token_v2).fallback(token_method_not_allowed),
        )
        .route(
            "/{tenant}/oauth2/token",
            post(token_v1).fallback(token_method_not_allowed),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(openid_configuration_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/{tenant}/discovery/keys", get(keys))
        .route("/{tenant}/discovery/instance", get(instance_discovery))
}

/// The tenant path segment as decoded, or as sent when it does not decode to UTF-8 (it is
/// then no tenant, and the answer is Entra's "tenant not found", not a plain-text 400).
fn tenant_segment(path: Result<Path<String>, PathRejection>, uri: &Uri) -> String {
    match path {
        Ok(Path(t)) => t,
        Err(_) => uri
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

async fn token_v2(
    st: State<AppState>,
    OriginalUri(uri): OriginalUri,
    tenant: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    query: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let tenant = tenant_segment(tenant, &uri);
    token(st, tenant, headers, query, body, Endpoint::V2).await
}

async fn token_v1(
    st: State<AppState>,
    OriginalUri(uri): OriginalUri,
    tenant: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    query: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let tenant = tenant_segment(tenant, &uri);
    token(st, tenant, headers, query, body, Endpoint::V1).await
}

/// Entra answers any method but POST on a token endpoint with AADSTS900561 (and OPTIONS, for
/// CORS preflight, with success).
async fn token_method_not_allowed(State(st): State<AppState>, method: Method) -> Response {
    if method == Method::OPTIONS {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
        return resp;
    }
    let id = new_uuid(st.rng.as_ref());
    StsError {
        error: ExchangeError::MethodNotAllowed(method.to_string()),
        trace_id: id,
        correlation_id: id,
        now: st.clock.now(),
        origin: st.authority.origin().to_owned(),
    }
    .into_response()
}

/// The client's request id, echoed as Entra's correlation id: MSAL's `client-request-id`
/// (header, query or body), else azure-core's `x-ms-client-request-id`, else a new GUID.
fn correlation_id(
    st: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    form: &TokenForm,
) -> Uuid {
    let from_query = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "client-request-id")
            .map(|(_, v)| v.into_owned())
    });
    [
        headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        from_query,
        form.client_request_id.clone(),
        headers
            .get("x-ms-client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| Uuid::parse_str(&v).ok())
    .unwrap_or_else(|| new_uuid(st.rng.as_ref()))
}

async fn token(
    State(st): State<AppState>,
    tenant: String,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
    endpoint: Endpoint,
) -> Response {
    let now = st.clock.now();
    let trace_id = new_uuid(st.rng.as_ref());
    let (form, body_error) = match body {
        Ok(bytes) => (TokenForm::parse(&bytes), None),
        Err(rejection) => (
            TokenForm::default(),
            Some(ExchangeError::InvalidRequestBody(rejection.body_text())),
        ),
    };
    let correlation_id = correlation_id(&st, &headers, query.as_deref(), &form);
    let snap = st.snapshot.load();
    let mut log = new_log(&st, now, &tenant, &form, correlation_id, trace_id);
    let result = match body_error {
        Some(e) => Err(e),
        None => exchange(&st, &snap, &tenant, &form, endpoint, now, &mut log).await,
    };
    match result {
        Ok(issued) => {
            tracing::info!(
                %trace_id, %correlation_id, tenant = %tenant, client_id = %log.client_id,
                iss = log.assertion_issuer.as_deref().unwrap_or(""),
                sub = log.assertion_subject.as_deref().unwrap_or(""),
                credential = log.credential.as_deref().unwrap_or(""),
                resource = %issued.resource, "token issued"
            );
            st.signins.record(log);
            let mut resp = match endpoint {
                Endpoint::V2 => axum::Json(TokenResponse {
                    token_type: "Bearer",
                    expires_in: issued.expires_in,
                    ext_expires_in: issued.expires_in,
                    access_token: issued.access_token,
                })
                .into_response(),
                Endpoint::V1 => axum::Json(TokenResponseV1 {
                    token_type: "Bearer",
                    expires_in: issued.expires_in.to_string(),
                    ext_expires_in: issued.expires_in.to_string(),
                    expires_on: issued.expires_on.as_secs().to_string(),
                    not_before: issued.not_before.as_secs().to_string(),
                    resource: issued.resource,
                    access_token: issued.access_token,
                })
                .into_response(),
            };
            entra_headers(resp.headers_mut(), trace_id, correlation_id);
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            resp
        }
        Err(error) => {
            let a = Aadsts::from(&error);
            log.result_code = a.code;
            log.error = Some(format!("{}: {error}", a.error.as_str()));
            tracing::info!(
                %trace_id, %correlation_id, tenant = %tenant, client_id = %log.client_id,
                code = a.code, iss = log.assertion_issuer.as_deref().unwrap_or(""),
                sub = log.assertion_subject.as_deref().unwrap_or(""),
                reason = %error, "token request failed"
            );
            st.signins.record(log);
            StsError {
                error,
                trace_id,
                correlation_id,
                now,
                origin: st.authority.origin().to_owned(),
            }
            .into_response()
        }
    }
}

/// Entra's response headers: request id, echoed client request id, and no caching.
pub(crate) fn entra_headers(h: &mut HeaderMap, trace_id: Uuid, correlation_id: Uuid) {
    if let Ok(v) = HeaderValue::from_str(&trace_id.to_string()) {
        h.insert("x-ms-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&correlation_id.to_string()) {
        h.insert("client-request-id", v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Answers an unknown tenant in discovery the way Entra does: 400 with AADSTS90002.
fn tenant_error(st: &AppState, tenant: &str) -> Response {
    let now = st.clock.now();
    let id = new_uuid(st.rng.as_ref());
    StsError {
        error: ExchangeError::TenantNotFound(tenant.to_owned()),
        trace_id: id,
        correlation_id: id,
        now,
        origin: st.authority.origin().to_owned(),
    }
    .into_response()
}

fn resolve_tenant(st: &AppState, segment: &str) -> Option<wif_core::ids::TenantId> {
    let r = TenantRef::parse(segment).ok()?;
    st.snapshot.load().directory.tenant(&r).map(|t| t.id)
}

async fn openid_configuration_v2(
    State(st): State<AppState>,
    OriginalUri(uri): OriginalUri,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    let tenant = tenant_segment(tenant, &uri);
    let Some(tid) = resolve_tenant(&st, &tenant) else {
        return tenant_error(&st, &tenant);
    };
    let o = st.authority.origin();
    json_response(json!({
        "token_endpoint": format!("{o}/{tid}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{o}/{tid}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": st.authority.tenant_v2_issuer(&tid),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{o}/{tid}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{o}/{tid}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{o}/{tid}/oauth2/v2.0/logout"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "azp"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    }))
}

async fn openid_configuration_v1(
    State(st): State<AppState>,
    OriginalUri(uri): OriginalUri,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    let tenant = tenant_segment(tenant, &uri);
    let Some(tid) = resolve_tenant(&st, &tenant) else {
        return tenant_error(&st, &tenant);
    };
    let o = st.authority.origin();
    json_response(json!({
        "token_endpoint": format!("{o}/{tid}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{o}/{tid}/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": st.authority.tenant_v1_issuer(&tid),
        "authorization_endpoint": format!("{o}/{tid}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{o}/{tid}/oauth2/devicecode"),
        "end_session_endpoint": format!("{o}/{tid}/oauth2/logout"),
        "cloud_instance_name": "microsoftonline.com",
    }))
}

/// Token-signing keys. For a tenant, its keys; for `common` and `organizations`, every
/// tenant's (Entra publishes one key set for all tenants).
async fn keys(
    State(st): State<AppState>,
    OriginalUri(uri): OriginalUri,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    let tenant = tenant_segment(tenant, &uri);
    let now = st.clock.now();
    let snap = st.snapshot.load();
    let mut jwks = Jwks::default();
    if matches!(tenant.as_str(), "common" | "organizations" | "consumers") {
        for t in &snap.directory.data().tenants {
            if let Some(k) = snap.keys_of(&KeyOwner::Tenant(t.id)) {
                jwks.keys.extend(k.jwks_at(now).keys);
            }
        }
    } else {
        let Some(tid) = resolve_tenant(&st, &tenant) else {
            return tenant_error(&st, &tenant);
        };
        if let Some(k) = snap.keys_of(&KeyOwner::Tenant(tid)) {
            jwks = k.jwks_at(now);
        }
    }
    // Entra's v1 tokens carry `x5t` = `kid`; publish it so validators keyed on x5t work.
    for k in &mut jwks.keys {
        if k.x5t.is_none() {
            k.x5t.clone_from(&k.kid);
        }
    }
    match serde_json::to_value(&jwks) {
        Ok(v) => json_response(v),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// MSAL's instance discovery. wif vouches for itself: the metadata lists its own host as the
/// only alias, and the tenant discovery endpoint points back at wif.
async fn instance_discovery(State(st): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let endpoint = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "authorization_endpoint")
            .map(|(_, v)| v.into_owned())
    });
    let tenant = endpoint
        .as_deref()
        .and_then(|e| url::Url::parse(e).ok())
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next().map(str::to_owned))
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "common".to_owned());
    let host = st.authority.host_port();
    json_response(json!({
        "tenant_discovery_endpoint": format!("{}/{tenant}/v2.0/.well-known/openid-configuration", st.authority.origin()),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": host,
            "preferred_cache": host,
            "aliases": [host],
        }],
    }))
}

fn json_response(v: Value) -> Response {
    let mut resp = axum::Json(v).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400, private"),
    );
    resp
}
