//! `wif webhook` as a process: HTTPS AdmissionReview with service accounts from a manifest,
//! the label check, health and metrics on their own ports, certificate reload, and the
//! start-up errors.

use std::ffi::OsString;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::{Workspace, https_client};

const ACCOUNTS: &str = r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: shop
  annotations:
    azure.workload.identity/client-id: 11111111-1111-4111-8111-111111111111
"#;

/// A self-signed certificate for localhost: (cert PEM, key PEM).
fn self_signed() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn review(pod: &Value) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
           "request": {"uid": "u-1", "namespace": "shop", "operation": "CREATE", "object": pod}})
}

async fn post_review(client: &reqwest::Client, url: &str, pod: &Value) -> Value {
    client
        .post(url)
        .json(&review(pod))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn args(ws: &Workspace, extra: &[&str]) -> (Vec<OsString>, std::path::PathBuf) {
    let ready = ws.path("webhook-ready.json");
    let mut a: Vec<OsString> = [
        "webhook",
        "--listen",
        "127.0.0.1:0",
        "--health-addr",
        "127.0.0.1:0",
        "--metrics-addr",
        "127.0.0.1:0",
        "--cert-check-interval",
        "1s",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    a.push("--webhook-cert-dir".into());
    a.push(ws.path("certs").into());
    a.push("--service-account-file".into());
    a.push(ws.write("accounts.yaml", ACCOUNTS).into());
    a.push("--ready-file".into());
    a.push(ready.clone().into());
    a.extend(extra.iter().map(OsString::from));
    (a, ready)
}

fn port(ready: &Value, key: &str) -> u16 {
    ready[key]
        .as_str()
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn serves_admission_reviews_over_tls_and_reloads_its_certificate() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("certs")).unwrap();
    let (cert1, key1) = self_signed();
    std::fs::write(ws.path("certs/tls.crt"), &cert1).unwrap();
    std::fs::write(ws.path("certs/tls.key"), &key1).unwrap();
    let trust1 = ws.write("trust1.pem", &cert1);
    let (a, ready) = args(&ws, &["--tenant-id", "T"]);
    let server = ws.serve(&a, &ready);
    let port_main = port(&server.ready, "listen");
    let client = https_client(&trust1, port_main);
    let url = format!("https://localhost:{port_main}");

    // A labelled pod of the annotated account is mutated.
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "quick-start", "labels": {"azure.workload.identity/use": "true"}},
        "spec": {"serviceAccountName": "app", "containers": [{"name": "app", "image": "app"}]}});
    let resp = post_review(&client, &format!("{url}/mutate-v1-pod"), &pod).await;
    assert_eq!(resp["response"]["uid"], "u-1");
    assert_eq!(resp["response"]["allowed"], true);
    let patch = base64::engine::general_purpose::STANDARD
        .decode(resp["response"]["patch"].as_str().unwrap())
        .unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    assert!(
        patch.to_string().contains("AZURE_TENANT_ID") && patch.to_string().contains("\"T\""),
        "{patch}"
    );

    // The same pod without the label: the label check warns.
    let mut unlabelled = pod.clone();
    unlabelled["metadata"]["labels"] = json!({});
    let resp = post_review(&client, &format!("{url}/warn-v1-pod"), &unlabelled).await;
    assert_eq!(resp["response"]["allowed"], true);
    let warning = resp["response"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("lacks the label azure.workload.identity/use"),
        "{warning}"
    );

    // Health and metrics on their own plain-HTTP ports.
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let plain = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let health = port(&server.ready, "health");
    let ok = plain
        .get(format!("http://127.0.0.1:{health}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let metrics = port(&server.ready, "metrics");
    let text = plain
        .get(format!("http://127.0.0.1:{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "azwi_mutation_request_count{outcome=\"mutated\",service_name=\"webhook\"} 1"
        ),
        "{text}"
    );

    // Rotate the certificate in place: new connections get the new one.
    let (cert2, key2) = self_signed();
    let trust2 = ws.write("trust2.pem", &cert2);
    std::fs::write(ws.path("certs/tls.key"), &key2).unwrap();
    std::fs::write(ws.path("certs/tls.crt"), &cert2).unwrap();
    let mut reloaded = false;
    for _ in 0..60 {
        // A fresh client each time, so each check is a new handshake.
        if https_client(&trust2, port_main)
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_ok()
        {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reloaded, "the rotated certificate was never served");
    assert!(
        https_client(&trust1, port_main)
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_err(),
        "the old certificate is no longer served"
    );
}

#[test]
fn refuses_to_start_without_a_tenant_or_a_certificate() {
    let ws = Workspace::new();
    let (a, _) = args(&ws, &[]);
    let run = ws.wif(&a).failure();
    assert!(run.stderr.contains("AZURE_TENANT_ID is required"), "{run}");

    let (a, _) = args(&ws, &["--tenant-id", "T"]);
    let run = ws.wif(&a).failure();
    assert!(
        run.stderr.contains("tls.crt") && run.stderr.contains("--webhook-cert-dir"),
        "{run}"
    );

    std::fs::create_dir_all(ws.path("certs")).unwrap();
    let (cert, key) = self_signed();
    std::fs::write(ws.path("certs/tls.crt"), cert).unwrap();
    std::fs::write(ws.path("certs/tls.key"), key).unwrap();
    let (a, _) = args(&ws, &["--tenant-id", "T", "--tls-min-version", "1.0"]);
    let run = ws.wif(&a).failure();
    assert!(run.stderr.contains("invalid TLS version"), "{run}");
    let (a, _) = args(&ws, &["--tenant-id", "T", "--azure-environment", "Mars"]);
    let run = ws.wif(&a).failure();
    assert!(
        run.stderr.contains("no cloud environment matching"),
        "{run}"
    );
}
