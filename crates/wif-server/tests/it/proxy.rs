//! The IMDS proxy over HTTP against a mocked token service: IMDS's request rules and answer
//! shape, the App Service protocol, per-resource caching and refresh, errors passed through.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use wif_core::time::UnixTime;
use wif_server::proxy::{ProxyConfig, ProxyState, router};
use wif_testkit::TestClock;

#[derive(Clone, Default)]
struct Sts {
    calls: Arc<AtomicUsize>,
    last_form: Arc<std::sync::Mutex<String>>,
}

async fn sts_token(State(s): State<Sts>, body: String) -> axum::response::Response {
    s.calls.fetch_add(1, Ordering::SeqCst);
    *s.last_form.lock().unwrap() = body.clone();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    if form["client_id"] == "stranger" {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_request",
                "error_description": "AADSTS700213: No matching federated identity record found for presented assertion subject",
                "error_codes": [700213]})),
        )
            .into_response();
    }
    let n = s.calls.load(Ordering::SeqCst);
    axum::Json(
        json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
                      "access_token": format!("token-{n}-{}", form["scope"])}),
    )
    .into_response()
}

struct Fixture {
    sts: Sts,
    clock: Arc<TestClock>,
    state: ProxyState,
    _dir: tempfile::TempDir,
}

async fn fixture(token_file_exists: bool) -> Fixture {
    let sts = Sts::default();
    let app = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(sts_token))
        .route(
            "/metadata/instance",
            get(|| async { axum::Json(json!({"compute": {"location": "eastus"}})) }),
        )
        .with_state(sts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    if token_file_exists {
        std::fs::write(&token_file, "the.projected.token\n").unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let clock = Arc::new(TestClock::at(UnixTime::from_secs(1_800_000_000)));
    let state = ProxyState::new(
        ProxyConfig {
            default_client_id: "default-client".into(),
            tenant_id: "tenant-1".into(),
            token_file,
            authority_host: format!("http://{addr}/"),
            identity_header: Some("s3cret".into()),
            imds_upstream: Some(format!("http://{addr}")),
        },
        http,
        clock.clone(),
    );
    Fixture {
        sts,
        clock,
        state,
        _dir: dir,
    }
}

async fn get_json(st: &ProxyState, uri: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = Request::builder().method("GET").uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = router(st.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes))),
    )
}

const MD: &[(&str, &str)] = &[("Metadata", "true")];
const VAULT: &str =
    "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net";

#[tokio::test]
async fn imds_requests_follow_imds_rules() {
    let f = fixture(true).await;
    let (s, v) = get_json(&f.state, VAULT, &[]).await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (400, Some("Required metadata header not specified"))
    );
    let (s, v) = get_json(
        &f.state,
        "/metadata/identity/oauth2/token?api-version=2018-02-01",
        MD,
    )
    .await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (400, Some("Required query variable 'resource' is missing"))
    );
    let (s, v) = get_json(
        &f.state,
        VAULT,
        &[("Metadata", "true"), ("X-Forwarded-For", "10.0.0.1")],
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = get_json(&f.state, &format!("{VAULT}&mi_res_id=/subscriptions/x"), MD).await;
    assert!(
        s == 400
            && v["error_description"]
                .as_str()
                .unwrap()
                .contains("pass client_id"),
        "{v}"
    );
    assert_eq!(f.sts.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn tokens_come_in_imds_shape_and_are_cached_per_resource_until_refresh() {
    let f = fixture(true).await;
    let (s, v) = get_json(&f.state, VAULT, MD).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["access_token"],
        "token-1-https://vault.azure.net/.default"
    );
    assert_eq!(v["client_id"], "default-client");
    assert_eq!(v["expires_in"], "3600");
    assert_eq!(v["expires_on"], "1800003600");
    assert_eq!(v["resource"], "https://vault.azure.net");
    assert_eq!(v["token_type"], "Bearer");
    let form = f.sts.last_form.lock().unwrap().clone();
    assert!(
        form.contains("client_assertion=the.projected.token&")
            || form.ends_with("client_assertion=the.projected.token"),
        "{form}"
    );
    assert!(form.contains("grant_type=client_credentials"), "{form}");

    // Trailing slash, upper-case Metadata segment: the same cached token.
    f.clock.advance(600);
    let (_, again) = get_json(
        &f.state,
        &VAULT
            .replace("/metadata/", "/Metadata/")
            .replace("token?", "token/?"),
        MD,
    )
    .await;
    assert_eq!(again["access_token"], v["access_token"]);
    assert_eq!(again["expires_in"], "3000");
    assert_eq!(f.state.exchanges(), 1);

    // Another resource, another client: separate entries.
    let (_, arm) = get_json(
        &f.state,
        "/metadata/identity/oauth2/token?resource=https://management.azure.com/",
        MD,
    )
    .await;
    assert_eq!(
        arm["access_token"],
        "token-2-https://management.azure.com//.default"
    );
    let (_, other) = get_json(&f.state, &format!("{VAULT}&client_id=other-client"), MD).await;
    assert_eq!(other["client_id"], "other-client");
    assert_eq!(f.state.exchanges(), 3);

    // Within the last five minutes of its life a token is exchanged again.
    f.clock.advance(3600 - 600 - 299);
    let (_, renewed) = get_json(&f.state, VAULT, MD).await;
    assert_ne!(renewed["access_token"], v["access_token"]);
    assert_eq!(f.state.exchanges(), 4);
}

#[tokio::test]
async fn refusals_and_missing_tokens_are_reported_in_imds_errors() {
    let f = fixture(true).await;
    let (s, v) = get_json(&f.state, &format!("{VAULT}&client_id=stranger"), MD).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "invalid_request");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700213"),
        "{v}"
    );

    let f = fixture(false).await;
    let (s, v) = get_json(&f.state, VAULT, MD).await;
    assert_eq!(s, 500);
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("cannot read the projected service account token"),
        "{v}"
    );
}

#[tokio::test]
async fn the_app_service_protocol_needs_its_header() {
    let f = fixture(true).await;
    let uri = "/msi/token?api-version=2019-08-01&resource=https://vault.azure.net";
    let (s, _) = get_json(&f.state, uri, &[]).await;
    assert_eq!(s, 401);
    let (s, _) = get_json(&f.state, uri, &[("X-IDENTITY-HEADER", "wrong")]).await;
    assert_eq!(s, 401);
    let (s, v) = get_json(
        &f.state,
        &uri.replace("2019-08-01", "2017-09-01"),
        &[("X-IDENTITY-HEADER", "s3cret")],
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = get_json(&f.state, uri, &[("X-IDENTITY-HEADER", "s3cret")]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["expires_on"], "1800003600");
    assert_eq!(v["client_id"], "default-client");
    assert_eq!(v["token_type"], "Bearer");
}

#[tokio::test]
async fn other_metadata_paths_are_forwarded_and_readyz_answers() {
    let f = fixture(true).await;
    let (s, v) = get_json(&f.state, "/metadata/instance?api-version=2021-02-01", MD).await;
    assert_eq!((s, &v["compute"]["location"]), (200, &json!("eastus")));
    let (s, v) = get_json(&f.state, "/readyz", &[]).await;
    assert_eq!((s, v), (200, json!("ok")));
}
