//! The cluster issuer routes as a Kubernetes API server serves service-account issuer discovery
//! (KEP-1393): `<issuer>.well-known/openid-configuration` and `<issuer>openid/v1/jwks`, and a
//! Kubernetes `Status` 404 for any path that names no cluster.

use wif_jose::{Jwks, thumbprint};
use wif_testkit::fixture::CLUSTER_KEY;
use wif_testkit::rsa_key;

use crate::harness::Harness;

/// The path part of the cluster issuer (`/eastus/<tid>/<guid>/`).
fn issuer_path(h: &Harness) -> String {
    h.issuer()
        .strip_prefix("https://wif.test:8443")
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn openid_configuration_matches_kubernetes() {
    let h = Harness::new().await;
    let issuer = h.issuer();
    assert!(issuer.ends_with('/'));
    let reply = h
        .get(&format!(
            "{}.well-known/openid-configuration",
            issuer_path(&h)
        ))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("public, max-age=3600"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let doc = reply.json();
    assert_eq!(
        doc["issuer"], issuer,
        "the issuer must be the stored string"
    );
    assert_eq!(doc["jwks_uri"], format!("{issuer}openid/v1/jwks"));
    assert_eq!(
        doc["response_types_supported"],
        serde_json::json!(["id_token"])
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
}

#[tokio::test]
async fn jwks_publishes_the_cluster_key_under_its_thumbprint() {
    let h = Harness::new().await;
    let reply = h.get(&format!("{}openid/v1/jwks", issuer_path(&h))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/jwk-set+json")
    );
    assert_eq!(reply.header("cache-control"), Some("public, max-age=3600"));
    let jwks: Jwks = serde_json::from_value(reply.json()).unwrap();
    assert_eq!(jwks.keys.len(), 1, "{jwks:?}");
    let key = &jwks.keys[0];
    let expected = rsa_key(CLUSTER_KEY).public_jwk();
    assert_eq!(key.n, expected.n);
    assert_eq!(key.e, expected.e);
    assert_eq!(key.kid.as_deref(), Some(thumbprint(key).unwrap().as_str()));
    assert_eq!(
        key.kid.as_deref(),
        Some(rsa_key(CLUSTER_KEY).kid().as_str())
    );
    assert_eq!(key.key_use.as_deref(), Some("sig"));
    assert_eq!(key.alg.as_deref(), Some("RS256"));
}

#[tokio::test]
async fn unknown_issuer_paths_are_kubernetes_404s() {
    let h = Harness::new().await;
    let tid = h.tid();
    let guid = h.fixture.cluster.guid.to_string();
    let paths = [
        format!("/westeurope/{tid}/{guid}/"),
        format!("/eastus/00000000-0000-4000-8000-000000000bad/{guid}/"),
        format!("/eastus/{tid}/00000000-0000-4000-8000-0000000000c2/"),
        format!("/eastus/{tid}/not-a-guid/"),
        format!("/EASTUS/{tid}/{guid}/"),
    ];
    for prefix in &paths {
        for suffix in [".well-known/openid-configuration", "openid/v1/jwks"] {
            let path = format!("{prefix}{suffix}");
            let reply = h.get(&path).await;
            assert_eq!(reply.status, 404, "{path}");
            let body = reply.json();
            assert_eq!(body["kind"], "Status", "{path}");
            assert_eq!(body["apiVersion"], "v1");
            assert_eq!(body["status"], "Failure");
            assert_eq!(body["reason"], "NotFound");
            assert_eq!(body["code"], 404);
        }
    }
}

#[tokio::test]
async fn issuer_path_with_invalid_utf8_is_a_kubernetes_404() {
    // `issuer/mod.rs`: `IssuerPath = Path<(String, String, String)>` rejects before
    // `find_cluster` can answer with `not_found()`.
    let h = Harness::new().await;
    for path in [
        "/eastus/%FF/x/openid/v1/jwks",
        "/%FF/t/c/.well-known/openid-configuration",
    ] {
        let reply = h.get(path).await;
        assert_eq!(
            reply.status,
            404,
            "{path}: {:?}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["kind"], "Status");
    }
}
