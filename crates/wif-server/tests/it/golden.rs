//! The webhook's golden AdmissionReview suite: every `tests/golden/webhook/*.json` case is a
//! review (with the service accounts and settings it needs) and the exact expected response
//! (the patch decoded). Each allowed patch must also apply cleanly with the `json-patch` crate,
//! contain no `remove`, and leave nothing to do on a second invocation.
//!
//! `WIF_BLESS=1` rewrites the expected responses from the current behaviour (review the diff).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use wif_server::webhook::accounts::StaticServiceAccounts;
use wif_server::webhook::admission::{Metrics, WebhookState, router};
use wif_server::webhook::mutate::{CustomEndpoint, CustomEndpointFlags, MutationConfig};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/webhook")
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn state(case: &Value) -> WebhookState {
    let c = case.get("config").cloned().unwrap_or(json!({}));
    let custom = c.get("customEndpoint").map(|e| {
        CustomEndpoint::new(&CustomEndpointFlags {
            suffix: s(e, "annotationSuffix"),
            audience: s(e, "audience"),
            token_proxy: s(e, "tokenProxy"),
            sni_name: s(e, "sniName"),
            ca_data: s(e, "caData"),
            ca_configmap: s(e, "caConfigMap"),
            ctb_signer: s(e, "ctbSigner"),
            ctb_label_selector: s(e, "ctbLabelSelector"),
        })
        .unwrap()
        .unwrap()
    });
    let mut accounts = BTreeMap::new();
    for a in case["serviceAccounts"].as_array().unwrap() {
        let ann: BTreeMap<String, String> =
            serde_json::from_value(a["annotations"].clone()).unwrap();
        accounts.insert((s(a, "namespace").to_owned(), s(a, "name").to_owned()), ann);
    }
    WebhookState {
        config: Arc::new(MutationConfig {
            tenant_id: c
                .get("tenantId")
                .and_then(Value::as_str)
                .unwrap_or("44444444-4444-4444-8444-444444444444")
                .to_owned(),
            authority_host: c
                .get("authorityHost")
                .and_then(Value::as_str)
                .unwrap_or("https://login.microsoftonline.com/")
                .to_owned(),
            audience: c
                .get("audience")
                .and_then(Value::as_str)
                .unwrap_or("api://AzureADTokenExchange")
                .to_owned(),
            proxy_image: "ghcr.io/wif/proxy:test".into(),
            proxy_init_image: "ghcr.io/wif/proxy-init:test".into(),
            native_sidecars: c
                .get("nativeSidecars")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            log_level: "info".into(),
            custom_endpoint: custom,
        }),
        accounts: Arc::new(StaticServiceAccounts(accounts)),
        metrics: Arc::new(Metrics::default()),
    }
}

async fn post(st: &WebhookState, path: &str, review: &Value) -> Value {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(review.to_string()))
        .unwrap();
    let resp = router(st.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["apiVersion"], review["apiVersion"]);
    assert_eq!(v["kind"], "AdmissionReview");
    v["response"].clone()
}

/// The response with its patch decoded (and without the echoed uid).
fn readable(response: &Value) -> Value {
    let mut r = response.clone();
    let o = r.as_object_mut().unwrap();
    o.remove("uid");
    if let Some(p) = o.remove("patch") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(p.as_str().unwrap())
            .unwrap();
        o.insert("patch".into(), serde_json::from_slice(&raw).unwrap());
    }
    r
}

fn patched(object: &Value, readable: &Value) -> Result<Value, String> {
    let mut out = object.clone();
    if let Some(p) = readable.get("patch") {
        let patch: json_patch::Patch =
            serde_json::from_value(p.clone()).map_err(|e| e.to_string())?;
        json_patch::patch(&mut out, &patch).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn with_object(review: &Value, object: Value) -> Value {
    let mut r = review.clone();
    r["request"]["object"] = object;
    r
}

#[tokio::test]
async fn golden_admission_reviews() {
    let bless = std::env::var_os("WIF_BLESS").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 60, "the suite has {} cases", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let st = state(&case);
        let path = case
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("/mutate-v1-pod")
            .to_owned();
        let mut review = case["review"].clone();
        let mut actual = readable(&post(&st, &path, &review).await);
        if let Some(re) = case.get("reinvoke") {
            // The API server applies the first patch (and maybe another webhook's change),
            // then calls the webhook again: the expected response is the second one's.
            let mut object = patched(&review["request"]["object"], &actual)
                .unwrap_or_else(|e| panic!("{name}: first patch: {e}"));
            if let Some(n) = re.get("setName") {
                object["metadata"]["name"] = n.clone();
            }
            review = with_object(&review, object);
            actual = readable(&post(&st, &path, &review).await);
        }
        // Properties of every allowed mutation.
        if actual["allowed"] == true && actual.get("patch").is_some() {
            let ops = actual["patch"].as_array().unwrap();
            if ops.iter().any(|op| op["op"] == "remove") {
                failures.push(format!("{name}: the patch removes something"));
            }
            match patched(&review["request"]["object"], &actual) {
                Err(e) => failures.push(format!("{name}: the patch does not apply: {e}")),
                Ok(once) => {
                    let again = readable(&post(&st, &path, &with_object(&review, once)).await);
                    if again.get("patch").is_some() {
                        failures.push(format!(
                            "{name}: a second invocation still patches: {}",
                            again["patch"]
                        ));
                    }
                }
            }
        }
        if bless {
            case["expected"] = actual;
            std::fs::write(file, serde_json::to_string_pretty(&case).unwrap() + "\n").unwrap();
        } else if case["expected"] != actual {
            failures.push(format!(
                "{name}: expected\n{}\nactual\n{}",
                serde_json::to_string_pretty(&case["expected"]).unwrap(),
                serde_json::to_string_pretty(&actual).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
