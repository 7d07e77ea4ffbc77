//! The IMDS proxy (`wif proxy`, the `azwi-proxy` sidecar): applications written for
//! `ManagedIdentityCredential` ask `GET /metadata/identity/oauth2/token?resource=…` with
//! `Metadata: true`, and the proxy exchanges the pod's projected service-account token for an
//! access token (the workload identity flow) and answers in IMDS's shape. It also speaks App
//! Service's protocol (`IDENTITY_ENDPOINT` + `X-IDENTITY-HEADER`, api-version 2019-08-01).
//! Tokens are cached per (client id, resource) and exchanged again before they expire; the
//! token file is re-read for every exchange, since kubelet rotates it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use wif_core::time::{Clock, UnixTime};

/// The proxy's settings (upstream reads them from the webhook-injected environment).
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// `AZURE_CLIENT_ID`: used when a request names no `client_id`.
    pub default_client_id: String,
    /// `AZURE_TENANT_ID`.
    pub tenant_id: String,
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub token_file: PathBuf,
    /// `AZURE_AUTHORITY_HOST`, with a trailing slash.
    pub authority_host: String,
    /// App Service protocol: the `X-IDENTITY-HEADER` value callers must send (`None`: off).
    pub identity_header: Option<String>,
    /// Where other `/metadata/…` requests are forwarded (the node's real IMDS), if anywhere.
    pub imds_upstream: Option<String>,
}

#[derive(Clone, Debug)]
struct Cached {
    token: String,
    expires_on: UnixTime,
    refresh_at: UnixTime,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// The proxy's state.
#[derive(Clone)]
pub struct ProxyState {
    config: Arc<ProxyConfig>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: Arc<Mutex<HashMap<(String, String), Slot>>>,
    exchanges: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for ProxyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProxyState {
    /// A proxy using `http` for the token exchange (and forwarding).
    pub fn new(config: ProxyConfig, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        Self {
            config: Arc::new(config),
            http,
            clock,
            cache: Arc::default(),
            exchanges: Arc::default(),
        }
    }

    /// How many token exchanges the proxy has made (cache misses and refreshes).
    pub fn exchanges(&self) -> u64 {
        self.exchanges.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The proxy's routes: the IMDS token path (its `metadata` segment case-insensitive, with or
/// without a trailing slash, as upstream), `/msi/token` (App Service), `/readyz`, and the rest
/// forwarded to the real IMDS when one is configured.
pub fn router(state: ProxyState) -> Router {
    Router::new()
        .route("/readyz", axum::routing::any(|| async { "ok" }))
        .route("/msi/token", axum::routing::get(app_service))
        .fallback(dispatch)
        .with_state(state)
}

fn is_imds_token_path(path: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    path.get(..9)
        .is_some_and(|m| m.eq_ignore_ascii_case("/metadata"))
        && path.get(9..) == Some("/identity/oauth2/token")
}

#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    resource: Option<String>,
    client_id: Option<String>,
    object_id: Option<String>,
    msi_res_id: Option<String>,
    mi_res_id: Option<String>,
}

fn imds_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn dispatch(
    State(st): State<ProxyState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if is_imds_token_path(uri.path()) {
        let q: TokenQuery = match uri.query() {
            None => TokenQuery::default(),
            Some(q) => match serde_urlencoded_query(q) {
                Ok(q) => q,
                Err(e) => return imds_error(StatusCode::BAD_REQUEST, "invalid_request", &e),
            },
        };
        return imds_token(&st, &headers, q).await;
    }
    forward(&st, method, &uri, &headers, body).await
}

fn serde_urlencoded_query(q: &str) -> Result<TokenQuery, String> {
    let pairs: HashMap<String, String> = url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect();
    let v = serde_json::to_value(pairs).map_err(|e| e.to_string())?;
    serde_json::from_value(v).map_err(|e| format!("bad query: {e}"))
}

async fn imds_token(st: &ProxyState, headers: &HeaderMap, q: TokenQuery) -> Response {
    if headers
        .get("metadata")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.eq_ignore_ascii_case("true"))
    {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    // IMDS refuses proxied requests (SSRF protection); so does this proxy.
    if headers.contains_key("x-forwarded-for") {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Request contains X-Forwarded-For header",
        );
    }
    if q.object_id.is_some() || q.msi_res_id.is_some() || q.mi_res_id.is_some() {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "object_id, msi_res_id and mi_res_id are not supported by the workload identity proxy: \
             it can only act as the identities whose federated credentials trust this pod; pass client_id",
        );
    }
    let Some(resource) = q.resource.filter(|r| !r.is_empty()) else {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let client_id = match q.client_id.filter(|c| !c.is_empty()) {
        Some(c) => c,
        None if !st.config.default_client_id.is_empty() => st.config.default_client_id.clone(),
        None => {
            return imds_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The client_id parameter or AZURE_CLIENT_ID environment variable must be set",
            );
        }
    };
    match token(st, &client_id, &resource).await {
        Ok(c) => {
            let now = st.clock.now();
            let left = c.expires_on.secs_since(now).max(0).to_string();
            axum::Json(json!({
                "access_token": c.token,
                "client_id": client_id,
                "expires_in": left,
                "expires_on": c.expires_on.as_secs().to_string(),
                "ext_expires_in": left,
                "not_before": now.as_secs().to_string(),
                "resource": resource,
                "token_type": "Bearer",
            }))
            .into_response()
        }
        Err(e) => e.into_imds(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct AppServiceQuery {
    resource: Option<String>,
    #[serde(rename = "api-version")]
    api_version: Option<String>,
    client_id: Option<String>,
    principal_id: Option<String>,
    mi_res_id: Option<String>,
}

async fn app_service(
    State(st): State<ProxyState>,
    headers: HeaderMap,
    Query(q): Query<AppServiceQuery>,
) -> Response {
    let bad = |status: StatusCode, message: &str| {
        (
            status,
            axum::Json(json!({"statusCode": status.as_u16(), "message": message})),
        )
            .into_response()
    };
    let Some(expected) = &st.config.identity_header else {
        return bad(
            StatusCode::NOT_FOUND,
            "the App Service protocol is off: start wif proxy with --identity-header",
        );
    };
    let given = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    if given.is_none_or(|g| !constant_time_eq(g.as_bytes(), expected.as_bytes())) {
        return bad(
            StatusCode::UNAUTHORIZED,
            "X-IDENTITY-HEADER is missing or wrong: send the IDENTITY_HEADER value",
        );
    }
    if q.api_version.as_deref() != Some("2019-08-01") {
        return bad(
            StatusCode::BAD_REQUEST,
            "api-version must be 2019-08-01 (the App Service managed identity protocol)",
        );
    }
    if q.principal_id.is_some() || q.mi_res_id.is_some() {
        return bad(
            StatusCode::BAD_REQUEST,
            "principal_id and mi_res_id are not supported by the workload identity proxy; pass client_id",
        );
    }
    let Some(resource) = q.resource.filter(|r| !r.is_empty()) else {
        return bad(
            StatusCode::BAD_REQUEST,
            "the resource parameter is required",
        );
    };
    let client_id = q
        .client_id
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| st.config.default_client_id.clone());
    if client_id.is_empty() {
        return bad(
            StatusCode::BAD_REQUEST,
            "The client_id parameter or AZURE_CLIENT_ID environment variable must be set",
        );
    }
    match token(&st, &client_id, &resource).await {
        Ok(c) => axum::Json(json!({
            "access_token": c.token,
            "expires_on": c.expires_on.as_secs().to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }))
        .into_response(),
        Err(e) => e.into_app_service(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why no token could be had.
#[derive(Debug)]
enum ExchangeError {
    /// The projected token file could not be read.
    TokenFile(String),
    /// The token service could not be reached.
    Unreachable(String),
    /// The token service refused: its status and error body.
    Refused(u16, Value),
}

impl ExchangeError {
    fn describe(&self) -> (StatusCode, String, String) {
        match self {
            Self::TokenFile(m) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "unknown_error".into(),
                m.clone(),
            ),
            Self::Unreachable(m) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "unknown_error".into(),
                m.clone(),
            ),
            Self::Refused(status, body) => (
                StatusCode::from_u16(*status)
                    .ok()
                    .filter(|s| s.is_client_error())
                    .unwrap_or(StatusCode::BAD_REQUEST),
                body.get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("invalid_request")
                    .to_owned(),
                body.get("error_description")
                    .and_then(Value::as_str)
                    .unwrap_or("the token service refused the exchange")
                    .to_owned(),
            ),
        }
    }

    fn into_imds(self) -> Response {
        let (status, error, description) = self.describe();
        imds_error(status, &error, &description)
    }

    fn into_app_service(self) -> Response {
        let (status, error, description) = self.describe();
        (
            status,
            axum::Json(json!({"statusCode": status.as_u16(), "message": format!("{error}: {description}")})),
        )
            .into_response()
    }
}

/// The scope for an IMDS `resource`, as upstream builds it.
pub fn scope_for(resource: &str) -> String {
    if resource.ends_with("/.default") {
        resource.to_owned()
    } else {
        format!("{resource}/.default")
    }
}

async fn token(st: &ProxyState, client_id: &str, resource: &str) -> Result<Cached, ExchangeError> {
    let slot: Slot = {
        let Ok(mut cache) = st.cache.lock() else {
            return Err(ExchangeError::Unreachable("token cache poisoned".into()));
        };
        Arc::clone(
            cache
                .entry((client_id.to_owned(), resource.to_owned()))
                .or_default(),
        )
    };
    // One exchange per (client, resource) at a time; waiters get its result.
    let mut held = slot.lock().await;
    let now = st.clock.now();
    if let Some(c) = held.as_ref()
        && now < c.refresh_at
    {
        return Ok(c.clone());
    }
    let fresh = exchange(st, client_id, resource).await?;
    *held = Some(fresh.clone());
    Ok(fresh)
}

async fn exchange(
    st: &ProxyState,
    client_id: &str,
    resource: &str,
) -> Result<Cached, ExchangeError> {
    let assertion = tokio::fs::read_to_string(&st.config.token_file)
        .await
        .map_err(|e| {
            ExchangeError::TokenFile(format!(
                "cannot read the projected service account token {}: {e}; is the pod's workload identity volume mounted?",
                st.config.token_file.display()
            ))
        })?;
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        st.config.authority_host.trim_end_matches('/'),
        st.config.tenant_id
    );
    let form = [
        ("client_id", client_id),
        ("scope", &scope_for(resource)),
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.trim()),
    ];
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    st.exchanges
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let resp = st
        .http
        .post(&url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| ExchangeError::Unreachable(format!("POST {url}: {e}")))?;
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.map_err(|e| {
        ExchangeError::Unreachable(format!("POST {url}: the answer is not JSON: {e}"))
    })?;
    if status != 200 {
        return Err(ExchangeError::Refused(status, v));
    }
    let (Some(token), Some(expires_in)) = (
        v.get("access_token").and_then(Value::as_str),
        v.get("expires_in").and_then(|e| {
            e.as_i64()
                .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
        }),
    ) else {
        return Err(ExchangeError::Unreachable(format!(
            "POST {url}: the answer has no access_token or expires_in"
        )));
    };
    let now = st.clock.now();
    // Exchange again when a fifth of the lifetime is left (at most 5 minutes before expiry),
    // so a caller never gets a token about to lapse.
    let margin = (expires_in / 5).min(300);
    Ok(Cached {
        token: token.to_owned(),
        expires_on: now.plus_secs(expires_in),
        refresh_at: now.plus_secs(expires_in - margin),
    })
}

async fn forward(
    st: &ProxyState,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(upstream) = &st.config.imds_upstream else {
        return imds_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "only /metadata/identity/oauth2/token is served (no --imds-upstream to forward the rest to)",
        );
    };
    let target = format!(
        "{}{}",
        upstream.trim_end_matches('/'),
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut req = st.http.request(method, &target).body(body);
    for (k, v) in headers {
        if k != header::HOST {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(resp) => {
            let mut out = Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                out = out.header(k, v);
            }
            let bytes = resp.bytes().await.unwrap_or_default();
            out.body(Body::from(bytes))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_paths_as_upstream_routes_them() {
        assert!(is_imds_token_path("/metadata/identity/oauth2/token"));
        assert!(is_imds_token_path("/metadata/identity/oauth2/token/"));
        assert!(is_imds_token_path("/Metadata/identity/oauth2/token/"));
        assert!(!is_imds_token_path("/metadata/Identity/oauth2/token"));
        assert!(!is_imds_token_path("/metadata/instance"));
        assert!(!is_imds_token_path("/"));
    }

    #[test]
    fn scopes_follow_upstream() {
        assert_eq!(
            scope_for("https://vault.azure.net"),
            "https://vault.azure.net/.default"
        );
        assert_eq!(
            scope_for("https://vault.azure.net/.default"),
            "https://vault.azure.net/.default"
        );
    }
}
