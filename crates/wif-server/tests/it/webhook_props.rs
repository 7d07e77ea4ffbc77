//! Properties of the webhook over generated pods: every patch applies cleanly with the
//! `json-patch` crate (and the same as the crate's own applier), never removes anything, and
//! mutating the patched pod again changes nothing; arbitrary bytes never panic the handler.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use wif_server::webhook::accounts::StaticServiceAccounts;
use wif_server::webhook::admission::{Metrics, WebhookState, router};
use wif_server::webhook::mutate::{
    CustomEndpoint, CustomEndpointFlags, MutationConfig, apply_patch, mutate,
};

fn config(native: bool) -> MutationConfig {
    MutationConfig {
        tenant_id: "T".into(),
        authority_host: "https://login.microsoftonline.com/".into(),
        audience: "api://AzureADTokenExchange".into(),
        proxy_image: "p".into(),
        proxy_init_image: "pi".into(),
        native_sidecars: native,
        log_level: "info".into(),
        custom_endpoint: CustomEndpoint::new(&CustomEndpointFlags {
            suffix: "ib",
            audience: "api://other",
            token_proxy: "https://tp",
            ca_configmap: "cm",
            ..Default::default()
        })
        .unwrap(),
    }
}

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn env_entry() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_AUTHORITY_HOST",
            "OTHER",
        ]),
        prop::option::of("[a-z0-9-]{0,8}"),
    )
        .prop_map(|(n, v)| match v {
            Some(v) => json!({"name": n, "value": v}),
            None => json!({"name": n, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}),
        })
}

fn container() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["app", "side", "azwi-proxy", "azwi-proxy-init", "busybox1"]),
        prop::option::of(prop::collection::vec(env_entry(), 0..4)),
        prop::option::of(prop::collection::vec(
            prop::sample::select(vec![
                json!({"name": "data", "mountPath": "/data"}),
                json!({"name": "azure-workload-identity-reserved-a94beddb35177ade9c5d04f292b481", "mountPath": "/x"}),
            ]),
            0..2,
        )),
        any::<bool>(),
    )
        .prop_map(|(name, env, mounts, future)| {
            let mut c = json!({"name": name, "image": "img"});
            if let Some(e) = env {
                c["env"] = json!(e);
            }
            if let Some(m) = mounts {
                c["volumeMounts"] = json!(m);
            }
            if future {
                c["futureField"] = json!({"kept": true});
            }
            c
        })
}

fn annotations() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop::sample::select(vec![
            "azure.workload.identity/service-account-token-expiration",
            "azure.workload.identity/skip-containers",
            "azure.workload.identity/inject-proxy-sidecar",
            "azure.workload.identity/proxy-sidecar-port",
            "azure.workload.identity/use-ib",
        ]),
        prop::sample::select(vec![
            "", "true", "3600", "86400", "100", "x", "8080", "app;side", "-1",
        ]),
        0..4,
    )
    .prop_map(|m| json!(m))
}

fn pod() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop::sample::select(vec!["quick-start", "web-1", ""])),
        prop::option::of(prop::sample::select(vec!["nginx-", "job-"])),
        annotations(),
        prop::option::of(prop::collection::vec(container(), 0..3)),
        prop::collection::vec(container(), 0..3),
        prop::option::of(prop::collection::vec(
            prop::sample::select(vec![
                json!({"name": "data", "emptyDir": {}}),
                json!({"name": "azure-workload-identity-reserved-a94beddb35177ade9c5d04f292b481", "emptyDir": {}}),
            ]),
            0..2,
        )),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(name, gen_name, ann, init, containers, volumes, host)| {
            let mut meta = json!({"annotations": ann});
            if let Some(n) = name {
                meta["name"] = json!(n);
            }
            if let Some(g) = gen_name {
                meta["generateName"] = json!(g);
            }
            let mut spec = json!({"containers": containers});
            if let Some(i) = init {
                spec["initContainers"] = json!(i);
            }
            if let Some(v) = volumes {
                spec["volumes"] = json!(v);
            }
            if let Some(h) = host {
                spec["hostNetwork"] = json!(h);
            }
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
        })
}

fn account() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        prop::sample::select(vec![
            "azure.workload.identity/client-id".to_owned(),
            "azure.workload.identity/tenant-id".to_owned(),
            "azure.workload.identity/service-account-token-expiration".to_owned(),
        ]),
        prop::sample::select(vec![
            "".to_owned(),
            "C".to_owned(),
            "7200".to_owned(),
            "0".to_owned(),
        ]),
        0..3,
    )
}

#[test]
fn patches_apply_cleanly_add_only_and_reach_a_fixed_point() {
    runner()
        .run(&(pod(), account(), any::<bool>()), |(p, sa, native)| {
            let cfg = config(native);
            let Ok(m) = mutate(&p, "workload", "default", &sa, &cfg) else {
                return Ok(());
            };
            prop_assert!(
                m.patch
                    .iter()
                    .all(|op| op["op"] == "add" || op["op"] == "replace")
            );
            let patch: json_patch::Patch = serde_json::from_value(json!(m.patch)).unwrap();
            let mut by_crate = p.clone();
            json_patch::patch(&mut by_crate, &patch)
                .map_err(|e| TestCaseError::fail(format!("json-patch rejects it: {e}")))?;
            let mut by_us = p.clone();
            apply_patch(&mut by_us, &m.patch).unwrap();
            prop_assert_eq!(&by_crate, &by_us);
            // Reinvocation (the API server's IfNeeded) changes nothing more.
            let again = mutate(&by_crate, "workload", "default", &sa, &cfg).map_err(|d| {
                TestCaseError::fail(format!("the patched pod is denied: {}", d.message))
            })?;
            prop_assert!(again.patch.is_empty(), "second patch: {:?}", again.patch);
            // Every mutated container has exactly one mount at the reserved path.
            for list in ["initContainers", "containers"] {
                for c in by_crate["spec"][list].as_array().into_iter().flatten() {
                    let at_path = c["volumeMounts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|m| m["mountPath"] == "/var/run/secrets/azure/wi")
                        .count();
                    prop_assert!(at_path <= 1, "duplicate mounts in {c}");
                }
            }
            Ok(())
        })
        .unwrap();
}

use proptest::test_runner::TestCaseError;

#[test]
fn arbitrary_bodies_never_panic_the_handler() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let st = WebhookState {
        config: Arc::new(config(false)),
        accounts: Arc::new(StaticServiceAccounts::default()),
        metrics: Arc::new(Metrics::default()),
    };
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256).prop_map(Body::from),
        pod().prop_map(|p| Body::from(
            json!({"apiVersion": "admission.k8s.io/v1", "request": {"uid": 1, "object": p}})
                .to_string()
        )),
        any::<String>()
            .prop_map(|s| Body::from(json!({"request": {"object": {"spec": s}}}).to_string())),
    ];
    runner()
        .run(
            &(
                body,
                prop::sample::select(vec!["/mutate-v1-pod", "/warn-v1-pod"]),
            ),
            |(b, path)| {
                let req = Request::builder().method("POST").uri(path).body(b).unwrap();
                let status = rt
                    .block_on(router(st.clone()).oneshot(req))
                    .unwrap()
                    .status();
                prop_assert!(status.as_u16() == 200 || status.as_u16() == 400, "{status}");
                Ok(())
            },
        )
        .unwrap();
}
