//! The admission endpoint: AdmissionReview in, a JSON patch (or a denial) out, and metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use wif_server::webhook::admission::{Metrics, ServiceAccounts, WebhookState, router};
use wif_server::webhook::mutate::{MutationConfig, apply_patch};

#[derive(Debug, Default)]
struct Accounts(BTreeMap<(String, String), BTreeMap<String, String>>);

#[async_trait::async_trait]
impl ServiceAccounts for Accounts {
    async fn annotations(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, String> {
        Ok(self.0.get(&(ns.to_owned(), name.to_owned())).cloned())
    }
}

fn state() -> WebhookState {
    let mut accounts = Accounts::default();
    accounts.0.insert(
        ("shop".into(), "app".into()),
        BTreeMap::from([(
            "azure.workload.identity/client-id".to_owned(),
            "C".to_owned(),
        )]),
    );
    WebhookState {
        config: Arc::new(MutationConfig {
            tenant_id: "T".into(),
            authority_host: "https://login.microsoftonline.com/".into(),
            audience: "api://AzureADTokenExchange".into(),
            proxy_image: "p".into(),
            proxy_init_image: "pi".into(),
            native_sidecars: false,
            log_level: "info".into(),
            custom_endpoint: None,
        }),
        accounts: Arc::new(accounts),
        metrics: Arc::new(Metrics::default()),
    }
}

fn review(pod: &Value, version: &str) -> Value {
    json!({"apiVersion": version, "kind": "AdmissionReview",
           "request": {"uid": "u-1", "namespace": "shop", "operation": "CREATE", "object": pod}})
}

async fn send(
    st: &WebhookState,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let resp = router(st.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

#[tokio::test]
async fn a_labelled_pod_is_patched_and_a_missing_account_denied() {
    let st = state();
    let pod = json!({"metadata": {"name": "web", "labels": {"azure.workload.identity/use": "true"}},
                     "spec": {"serviceAccountName": "app", "containers": [{"name": "web"}]}});
    for version in ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] {
        let (status, v, text) =
            send(&st, "POST", "/mutate-v1-pod", Some(review(&pod, version))).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(v["apiVersion"], version);
        let r = &v["response"];
        assert_eq!(
            (r["uid"].as_str(), r["allowed"].as_bool()),
            (Some("u-1"), Some(true))
        );
        assert_eq!(r["patchType"], "JSONPatch");
        let patch: Vec<Value> = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(r["patch"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        let mut out = pod.clone();
        apply_patch(&mut out, &patch).unwrap();
        assert_eq!(
            out["spec"]["containers"][0]["env"][0],
            json!({"name": "AZURE_CLIENT_ID", "value": "C"})
        );
    }
    let mut lonely = pod.clone();
    lonely["spec"]["serviceAccountName"] = json!("nobody");
    let (_, v, _) = send(
        &st,
        "POST",
        "/mutate-v1-pod",
        Some(review(&lonely, "admission.k8s.io/v1")),
    )
    .await;
    assert_eq!(v["response"]["allowed"], false);
    assert_eq!(
        v["response"]["status"],
        json!({"code": 400, "message": "serviceaccounts \"nobody\" not found"})
    );
    let (status, _, _) = send(&st, "POST", "/mutate-v1-pod", None).await;
    assert_eq!(status, 400, "not an AdmissionReview");

    let (_, _, metrics) = send(&st, "GET", "/metrics", None).await;
    assert!(
        metrics.contains(
            "azwi_mutation_request_count{outcome=\"mutated\",service_name=\"webhook\"} 2"
        ),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("azwi_mutation_request_count{outcome=\"denied\",service_name=\"webhook\"} 1"),
        "{metrics}"
    );
    assert_eq!(send(&st, "GET", "/healthz", None).await.0, 200);
    assert_eq!(send(&st, "GET", "/readyz", None).await.0, 200);
}

/// The review parses as kube-rs's `AdmissionReview` (the k8s types controllers use), and the answer
/// is what kube-rs's own `AdmissionResponse` serializes for the same patch.
#[tokio::test]
async fn answers_match_what_kube_rs_types_serialize() {
    use kube::core::DynamicObject;
    use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
    let st = state();
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": "web", "labels": {"azure.workload.identity/use": "true"}},
                     "spec": {"serviceAccountName": "app", "containers": [{"name": "web", "image": "nginx"}]}});
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "3b8c5a5e-0000-4000-8000-000000000001", "namespace": "shop", "operation": "CREATE",
                    "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                    "requestResource": {"group": "", "version": "v1", "resource": "pods"},
                    "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
                    "object": pod, "dryRun": false}});
    let review: AdmissionReview<DynamicObject> = serde_json::from_value(body.clone()).unwrap();
    let request: AdmissionRequest<DynamicObject> = review.try_into().unwrap();
    let (status, ours, text) = send(&st, "POST", "/mutate-v1-pod", Some(body)).await;
    assert_eq!(status, 200, "{text}");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(ours["response"]["patch"].as_str().unwrap())
        .unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&raw).unwrap();
    let theirs = serde_json::to_value(
        AdmissionResponse::from(&request)
            .with_patch(patch.clone())
            .unwrap()
            .into_review(),
    )
    .unwrap();
    assert_eq!(ours["apiVersion"], theirs["apiVersion"]);
    assert_eq!(ours["kind"], theirs["kind"]);
    for key in ["uid", "allowed", "patchType"] {
        assert_eq!(
            ours["response"][key], theirs["response"][key],
            "{key}: {theirs}"
        );
    }
    // kube-rs writes the patch bytes as a JSON array (Go's decoder takes both); wif writes the
    // base64 string, as Go's encoder and upstream do. The bytes are the same.
    let theirs_bytes: Vec<u8> =
        serde_json::from_value(theirs["response"]["patch"].clone()).unwrap();
    assert_eq!(raw, theirs_bytes);
    let mut object = serde_json::to_value(request.object.unwrap()).unwrap();
    json_patch::patch(&mut object, &patch).unwrap();
    assert_eq!(
        object["spec"]["containers"][0]["env"][0],
        json!({"name": "AZURE_CLIENT_ID", "value": "C"})
    );
}
