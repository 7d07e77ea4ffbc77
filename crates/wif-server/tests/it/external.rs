//! Assertions from an issuer wif does not host: keys come through the [`JwksFetcher`]
//! (`oidc_fetch.rs` in production, [`crate::harness::FakeFetcher`] here), and only for issuers a
//! federated credential names (`sts/exchange.rs`: the trust check comes before any fetch).
//!
//! [`JwksFetcher`]: wif_jose::JwksFetcher

use serde_json::json;
use wif_testkit::fixture::{EXTERNAL_ISSUER, EXTERNAL_KEY};
use wif_testkit::rsa_key;

use crate::harness::{Harness, assert_entra_error, unsigned_jws};

fn external_assertion(h: &Harness) -> String {
    rsa_key(EXTERNAL_KEY)
        .sign_jwt(&h.external_claims(), &[])
        .unwrap()
}

#[tokio::test]
async fn external_issuer_exchanges_through_the_fetcher() {
    let h = Harness::new().await;
    let reply = h.call(&h.v2(&external_assertion(&h))).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    assert_eq!(h.fetcher.calls(), 1);
    assert_eq!(h.fetcher.asked(), [EXTERNAL_ISSUER]);
    // The keys are cached: a second exchange does not fetch again.
    let reply = h.call(&h.v2(&external_assertion(&h))).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    assert_eq!(h.fetcher.calls(), 1);
}

#[tokio::test]
async fn unreachable_issuer_keys_are_aadsts90061() {
    let h = Harness::new().await;
    h.fetcher.set_failing(true);
    let reply = h.call(&h.v2(&external_assertion(&h))).await;
    let body = assert_entra_error(&reply, 400, 90061);
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("Request to External OIDC endpoint failed."),
        "{description}"
    );
    assert!(description.contains(EXTERNAL_ISSUER), "{description}");
    assert_eq!(h.fetcher.calls(), 1);
}

#[tokio::test]
async fn unknown_kid_at_external_issuer_is_aadsts700027() {
    let h = Harness::new().await;
    // Key 3 is not in the external issuer's JWKS; the token names key 3's kid.
    let assertion = rsa_key(3).sign_jwt(&h.external_claims(), &[]).unwrap();
    let body = assert_entra_error(&h.call(&h.v2(&assertion)).await, 401, 700027);
    let kid = rsa_key(3).kid().as_str().to_owned();
    assert!(
        body["error_description"].as_str().unwrap().contains(&kid),
        "{body}"
    );
    assert_eq!(h.fetcher.calls(), 1);
}

#[tokio::test]
async fn external_subject_mismatch_is_aadsts700213_after_verification() {
    let h = Harness::new().await;
    let mut claims = h.external_claims();
    claims["sub"] = json!("repo:contoso/app:ref:refs/heads/dev");
    let assertion = rsa_key(EXTERNAL_KEY).sign_jwt(&claims, &[]).unwrap();
    assert_entra_error(&h.call(&h.v2(&assertion)).await, 401, 700213);
    assert_eq!(h.fetcher.calls(), 1);
}

#[tokio::test]
async fn untrusted_issuer_is_never_fetched() {
    let h = Harness::new().await;
    for issuer in [
        "https://evil.test/",
        "https://external.test",
        "https://169.254.169.254/metadata/",
        "https://EXTERNAL.test/",
    ] {
        let mut claims = h.external_claims();
        claims["iss"] = json!(issuer);
        let assertion = rsa_key(EXTERNAL_KEY).sign_jwt(&claims, &[]).unwrap();
        assert_entra_error(&h.call(&h.v2(&assertion)).await, 401, 700211);
    }
    assert_eq!(h.fetcher.calls(), 0, "fetched {:?}", h.fetcher.asked());
}

#[tokio::test]
async fn alg_none_for_a_trusted_external_issuer_is_never_fetched() {
    let h = Harness::new().await;
    for header in [
        json!({"alg": "none"}),
        json!({"alg": "HS256", "kid": rsa_key(EXTERNAL_KEY).kid().as_str()}),
        json!({"alg": "RS256", "jku": "https://evil.test/keys"}),
    ] {
        let assertion = unsigned_jws(&header, &h.external_claims(), b"sig");
        assert_entra_error(&h.call(&h.v2(&assertion)).await, 400, 50027);
    }
    assert_eq!(h.fetcher.calls(), 0, "fetched {:?}", h.fetcher.asked());
}

#[tokio::test]
async fn fetch_failure_then_recovery_after_the_negative_cache() {
    let h = Harness::new().await;
    h.fetcher.set_failing(true);
    assert_entra_error(&h.call(&h.v2(&external_assertion(&h))).await, 400, 90061);
    h.fetcher.set_failing(false);
    // Within the 10 s negative cache the issuer is not asked again.
    h.clock.advance(5);
    assert_entra_error(&h.call(&h.v2(&external_assertion(&h))).await, 400, 90061);
    assert_eq!(h.fetcher.calls(), 1);
    // After it, the next request fetches and succeeds.
    h.clock.advance(10);
    let reply = h.call(&h.v2(&external_assertion(&h))).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    assert_eq!(h.fetcher.calls(), 2);
}
