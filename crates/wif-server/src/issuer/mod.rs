//! Cluster OIDC issuers, as a Kubernetes API server exposes service-account issuer discovery
//! (KEP-1393) and AKS publishes it: `<issuer>.well-known/openid-configuration` and
//! `<issuer>openid/v1/jwks`, with the issuer shaped like AKS's
//! `https://<host>/<region>/<tenant-id>/<cluster-guid>/` (trailing slash included). Also mints
//! the projected service-account tokens kubelet would put in a pod ([`mint`]).

pub mod mint;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use wif_core::ids::ClusterGuid;
use wif_store::model::KeyOwner;

use crate::state::AppState;

/// Kubernetes serves discovery with a one-hour public cache lifetime.
const CACHE_CONTROL: &str = "public, max-age=3600";

/// The issuer routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/{region}/{tenant}/{cluster}/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{region}/{tenant}/{cluster}/openid/v1/jwks", get(jwks))
}

/// The three issuer path segments; a path that does not decode is simply no issuer (404).
type IssuerPath = Result<Path<(String, String, String)>, PathRejection>;

/// Finds the cluster a path names: the GUID selects it, region and tenant must agree.
fn find_cluster(
    st: &AppState,
    (region, tenant, cluster): &(String, String, String),
) -> Option<wif_core::directory::Cluster> {
    let guid = ClusterGuid::parse(cluster).ok()?;
    let snap = st.snapshot.load();
    let c = snap.directory.cluster(&guid)?;
    // A cluster whose OIDC issuer is not enabled has no discovery document (AKS serves none).
    (c.oidc_issuer_enabled && c.region.as_str() == region && c.tenant.to_string() == *tenant)
        .then(|| c.clone())
}

async fn openid_configuration(State(st): State<AppState>, path: IssuerPath) -> Response {
    let Some(cluster) = path.ok().and_then(|Path(p)| find_cluster(&st, &p)) else {
        return not_found();
    };
    let issuer = cluster.issuer.as_str();
    let body = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}openid/v1/jwks"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    with_headers(body, "application/json")
}

async fn jwks(State(st): State<AppState>, path: IssuerPath) -> Response {
    let Some(cluster) = path.ok().and_then(|Path(p)| find_cluster(&st, &p)) else {
        return not_found();
    };
    let snap = st.snapshot.load();
    let jwks = snap
        .keys_of(&KeyOwner::Cluster(cluster.guid))
        .map(|k| k.jwks_at(st.clock.now()))
        .unwrap_or_default();
    match serde_json::to_value(&jwks) {
        Ok(v) => with_headers(v, "application/jwk-set+json"),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn with_headers(body: serde_json::Value, content_type: &'static str) -> Response {
    let mut resp = axum::Json(body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    resp
}

/// A Kubernetes `Status` 404, as the API server answers for an unknown path.
fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound",
            "details": {},
            "code": 404
        })),
    )
        .into_response()
}
