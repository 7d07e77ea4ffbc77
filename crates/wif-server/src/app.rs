//! Composition of the routers and the layers around them, in one place and in this order
//! (outermost first): request id → trace span → timeout → body limit → concurrency limit →
//! Key Vault host dispatch.

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

/// Largest request body accepted (a token request is about 2 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest a request may take (a remote JWKS fetch is bounded at 5 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Most requests served at once; beyond it requests queue.
pub const MAX_CONCURRENT: usize = 4096;

/// The whole HTTP surface of a wif node. A request is answered as the authority its host
/// names (see [`crate::state::HostNames`]): each extra authority (such as
/// `login.microsoftonline.com`) gets the same routes over a state whose canonical authority is
/// that one, so its discovery documents and issuers name it.
pub fn router(state: AppState) -> Router {
    let extra: Vec<Router> = state
        .names
        .authorities
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                Router::new()
            } else {
                routes(AppState {
                    authority: a.clone(),
                    ..state.clone()
                })
            }
        })
        .collect();
    let extra = std::sync::Arc::new(extra);
    let request_id = HeaderName::from_static("x-request-id");
    let inner = routes(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state,
            move |st: axum::extract::State<AppState>,
                  req: axum::extract::Request,
                  next: axum::middleware::Next| {
                let extra = extra.clone();
                async move {
                    use tower::ServiceExt as _;
                    match crate::keyvault::target(&st, &req) {
                        crate::keyvault::HostTarget::Vault(name, suffix, port) => {
                            crate::keyvault::serve(&st, req, &name, &suffix, port).await
                        }
                        crate::keyvault::HostTarget::Authority(i) => match extra.get(i) {
                            Some(r) => match r.clone().oneshot(req).await {
                                Ok(resp) => resp,
                                Err(never) => match never {},
                            },
                            None => next.run(req).await,
                        },
                        crate::keyvault::HostTarget::Canonical => next.run(req).await,
                    }
                }
            },
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(MAX_CONCURRENT))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                tracing::info_span!("http", method = %req.method(), route = %route)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
    // Before routing: `az cloud register` asks for `<resourceManager>/metadata/endpoints`
    // with the endpoint's trailing slash kept, so the path starts with `//`.
    Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .map_request(collapse_leading_slashes)
            .service(inner),
    )
}

/// `//a/b` → `/a/b` (only the leading run of slashes; the rest of the path is left alone).
fn collapse_leading_slashes(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    if path.starts_with("//") {
        let fixed = format!("/{}", path.trim_start_matches('/'));
        let pq = match req.uri().query() {
            Some(q) => format!("{fixed}?{q}"),
            None => fixed,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(p) = pq.parse() {
            parts.path_and_query = Some(p);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// The issuer and token-service routes over one state.
fn routes(state: AppState) -> Router {
    Router::new()
        .merge(crate::sts::router())
        .merge(crate::arm::router())
        .merge(crate::graph::router())
        .merge(crate::issuer::router())
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .with_state(state)
}
