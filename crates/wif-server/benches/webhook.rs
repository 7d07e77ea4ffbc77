//! Benchmarks of one admission: the mutation alone, and a whole AdmissionReview through the
//! webhook's router (parse, service-account lookup, mutate, encode the patch), no TLS. The HTTP
//! load with p99 over TLS is `scripts/bench.sh --webhook` (see `BENCHMARKS.md`).
//!
//! Run: `cargo bench -p wif-server --bench webhook`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tower::ServiceExt;
use wif_server::webhook::accounts::StaticServiceAccounts;
use wif_server::webhook::admission::{Metrics, WebhookState, router};
use wif_server::webhook::mutate::{MutationConfig, mutate};

// The binary's allocator, so the numbers are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn config() -> MutationConfig {
    MutationConfig {
        tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
        authority_host: "https://login.microsoftonline.com/".into(),
        audience: "api://AzureADTokenExchange".into(),
        proxy_image: "ghcr.io/wif/proxy:0.1.0".into(),
        proxy_init_image: "ghcr.io/wif/proxy-init:0.1.0".into(),
        native_sidecars: true,
        log_level: "info".into(),
        custom_endpoint: None,
    }
}

/// A Deployment-made pod as the API server sends it: generateName, two containers, an init
/// container, the usual defaulted fields.
fn pod(proxy: bool) -> Value {
    let mut annotations = json!({"kubectl.kubernetes.io/restartedAt": "2026-11-23T10:00:00Z"});
    if proxy {
        annotations["azure.workload.identity/inject-proxy-sidecar"] = json!("true");
    }
    json!({"apiVersion": "v1", "kind": "Pod",
      "metadata": {"generateName": "shop-7d9f8b6c5d-", "namespace": "shop",
                   "labels": {"app": "shop", "azure.workload.identity/use": "true", "pod-template-hash": "7d9f8b6c5d"},
                   "annotations": annotations,
                   "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-7d9f8b6c5d",
                                        "uid": "0b1f0c9e-1111-4111-8111-111111111111", "controller": true, "blockOwnerDeletion": true}]},
      "spec": {"serviceAccountName": "shop", "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
               "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler",
               "initContainers": [{"name": "migrate", "image": "shop:1.4", "command": ["/migrate"],
                                   "resources": {}, "terminationMessagePath": "/dev/termination-log"}],
               "containers": [
                 {"name": "web", "image": "shop:1.4", "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                  "env": [{"name": "PORT", "value": "8080"}], "resources": {"requests": {"cpu": "100m"}},
                  "volumeMounts": [{"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]},
                 {"name": "metrics", "image": "exporter:2", "resources": {}}],
               "volumes": [{"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
                   {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                   {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}]}})
}

fn accounts() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "azure.workload.identity/client-id".to_owned(),
        "11111111-1111-4111-8111-111111111111".to_owned(),
    )])
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let sa = accounts();
    let plain = pod(false);
    let proxied = pod(true);
    c.bench_function("webhook/mutate_deployment_pod", |b| {
        b.iter(|| mutate(&plain, "shop", "shop", &sa, &cfg).unwrap());
    });
    c.bench_function("webhook/mutate_with_proxy_sidecar", |b| {
        b.iter(|| mutate(&proxied, "shop", "shop", &sa, &cfg).unwrap());
    });
    let state = WebhookState {
        config: Arc::new(cfg.clone()),
        accounts: Arc::new(StaticServiceAccounts(BTreeMap::from([(
            ("shop".to_owned(), "shop".to_owned()),
            sa.clone(),
        )]))),
        metrics: Arc::new(Metrics::default()),
    };
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "namespace": "shop", "operation": "CREATE",
                    "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
                    "object": plain}})
    .to_string();
    let app = router(state);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    c.bench_function("webhook/admission_review_router", |b| {
        b.iter(|| {
            let req = Request::builder()
                .method("POST")
                .uri("/mutate-v1-pod")
                .header("content-type", "application/json")
                .body(Body::from(body.clone()))
                .unwrap();
            let resp = rt.block_on(app.clone().oneshot(req)).unwrap();
            assert_eq!(resp.status(), 200);
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
