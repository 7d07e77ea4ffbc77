//! Successful exchanges on both token endpoints: the exact success bodies the SDKs parse
//! (`sdk-wire.md` §7.1) and the access token's claims (§6.5), verified against the tenant's own
//! published keys.

use serde_json::{Map, Value};
use wif_jose::{Jwks, KeySet, UnverifiedJwt};

use crate::harness::{Harness, Reply, assert_entra_error, decode_segment};

/// The claims of `token`, verified against the JWKS the server publishes for `tenant`.
pub async fn verified_claims(h: &Harness, tenant: &str, token: &str) -> Map<String, Value> {
    let reply = h.get(&format!("/{tenant}/discovery/v2.0/keys")).await;
    assert_eq!(reply.status, 200);
    let jwks: Jwks = serde_json::from_value(reply.json()).unwrap();
    let keys = KeySet::from_jwks(&jwks);
    let jwt = UnverifiedJwt::parse(token).unwrap();
    jwt.verify(&keys)
        .unwrap_or_else(|e| panic!("access token does not verify: {e}"))
        .claims()
        .clone()
}

fn access_token(reply: &Reply) -> String {
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn v2_success_body_is_exactly_the_four_fields() {
    let h = Harness::new().await;
    let reply = h.call(&h.v2_valid()).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(reply.header("retry-after").is_none());
    let body = reply.json();
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["access_token", "expires_in", "ext_expires_in", "token_type"]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].is_u64(), "{body}");
    assert!(body["ext_expires_in"].is_u64(), "{body}");
    assert_eq!(body["expires_in"], 86_400);
    // Entra's response headers: request id, echoed client request id, no caching.
    assert!(reply.header("x-ms-request-id").is_some());
    assert!(reply.header("client-request-id").is_some());
    assert_eq!(reply.header("cache-control"), Some("no-store, no-cache"));
}

#[tokio::test]
async fn v2_access_token_has_entra_managed_identity_claims() {
    let h = Harness::new().await;
    let reply = h.call(&h.v2_valid()).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let token = access_token(&reply);
    let claims = verified_claims(&h, &h.tid(), &token).await;
    let now = h.now().as_secs();
    let identity = &h.fixture.identity;
    let principal = identity.principal_id.to_string();
    assert_eq!(claims["aud"], "https://vault.azure.net");
    assert_eq!(claims["iss"], format!("https://wif.test:8443/{}/", h.tid()));
    assert_eq!(claims["tid"], h.tid());
    assert_eq!(claims["oid"], principal);
    assert_eq!(claims["sub"], principal);
    assert_eq!(claims["appid"], identity.client_id.to_string());
    assert_eq!(claims["appidacr"], "2");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["xms_mirid"], identity.resource_id());
    assert_eq!(claims["iat"], now - 300);
    assert_eq!(claims["nbf"], now - 300);
    assert_eq!(claims["exp"], now + 24 * 3600);

    let header = decode_segment(&token, 0);
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string(), "{header}");
    assert_eq!(header["kid"], header["x5t"], "{header}");
}

#[tokio::test]
async fn tenant_addressed_by_domain_issues_the_same_token() {
    let h = Harness::new().await;
    let call = h.v2_valid();
    let call = crate::harness::Call {
        path: "/contoso.onmicrosoft.com/oauth2/v2.0/token".into(),
        ..call
    };
    let reply = h.call(&call).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let claims = verified_claims(&h, "contoso.onmicrosoft.com", &access_token(&reply)).await;
    assert_eq!(claims["tid"], h.tid());
    assert_eq!(claims["iss"], format!("https://wif.test:8443/{}/", h.tid()));
}

#[tokio::test]
async fn tenant_segment_is_case_insensitive() {
    let h = Harness::new().await;
    for segment in [
        h.tid().to_uppercase(),
        format!("%7B{}%7D", h.tid()),
        "Contoso.OnMicrosoft.com".to_owned(),
    ] {
        let call = crate::harness::Call {
            path: format!("/{segment}/oauth2/v2.0/token"),
            ..h.v2_valid()
        };
        let reply = h.call(&call).await;
        assert_eq!(reply.status, 200, "{segment}: {}", reply.json());
        let claims = verified_claims(&h, &h.tid(), &access_token(&reply)).await;
        assert_eq!(claims["tid"], h.tid(), "{segment}");
    }
}

#[tokio::test]
async fn scope_with_double_slash_gives_audience_with_trailing_slash() {
    let h = Harness::new().await;
    let call = h
        .v2_valid()
        .set("scope", "https://management.azure.com//.default");
    let reply = h.call(&call).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let claims = verified_claims(&h, &h.tid(), &access_token(&reply)).await;
    assert_eq!(claims["aud"], "https://management.azure.com/");
}

#[tokio::test]
async fn msal_oidc_scopes_next_to_the_resource_scope_are_ignored() {
    let h = Harness::new().await;
    let call = h.v2_valid().set(
        "scope",
        "https://vault.azure.net/.default openid profile offline_access",
    );
    let reply = h.call(&call).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
}

#[tokio::test]
async fn unknown_form_fields_and_query_string_are_ignored() {
    let h = Harness::new().await;
    let mut call = h
        .v2_valid()
        .set(
            "claims",
            r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#,
        )
        .set("client_info", "1")
        .set("x-client-SKU", "MSAL.Python")
        .set("x-client-Ver", "1.31.0")
        .set("x-client-OS", "linux")
        .set("x-ms-lib-capability", "retry-after, h429")
        .set("x-client-current-telemetry", "4|730,2|")
        .set("x-client-last-telemetry", "4|0|||")
        .set("client-request-id", "2a9d4f56-0a7c-4d1e-8f7e-6e5d4c3b2a19");
    call.path = format!(
        "{}?client-request-id=9e7b1b66-4d4b-4f55-a3c1-0d1e2f3a4b5c",
        call.path
    );
    let reply = h.call(&call).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
}

#[tokio::test]
async fn content_type_without_charset_is_accepted() {
    let h = Harness::new().await;
    let call = h.v2_valid();
    let req = axum::http::Request::post(&call.path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(call.body()))
        .unwrap();
    let reply = h.send(req).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
}

#[tokio::test]
async fn client_request_id_in_query_becomes_the_correlation_id_of_an_error() {
    let h = Harness::new().await;
    let id = "9e7b1b66-4d4b-4f55-a3c1-0d1e2f3a4b5c";
    let mut call = h.v2_valid().set("client_id", "not-a-guid");
    call.path = format!("{}?client-request-id={id}", call.path);
    let reply = h.call(&call).await;
    let body = assert_entra_error(&reply, 400, 700016);
    assert_eq!(body["correlation_id"], id);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(&format!("Correlation ID: {id}"))
    );
    assert_eq!(reply.header("client-request-id"), Some(id));
}

#[tokio::test]
async fn client_request_id_header_becomes_the_correlation_id_of_an_error() {
    let h = Harness::new().await;
    let id = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5";
    let call = h
        .v2_valid()
        .without("client_assertion")
        .header("client-request-id", id);
    let body = assert_entra_error(&h.call(&call).await, 401, 7000216);
    assert_eq!(body["correlation_id"], id);
}

#[tokio::test]
async fn v1_success_body_has_string_numbers_and_resource() {
    let h = Harness::new().await;
    let call = h
        .v2_valid()
        .without("scope")
        .set("resource", "https://vault.azure.net");
    let call = crate::harness::Call {
        path: format!("/{}/oauth2/token", h.tid()),
        ..call
    };
    let reply = h.call(&call).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = reply.json();
    let now = h.now().as_secs();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], "86400");
    assert_eq!(body["ext_expires_in"], "86400");
    assert_eq!(body["expires_on"], (now + 86_400).to_string());
    assert_eq!(body["not_before"], (now - 300).to_string());
    assert_eq!(body["resource"], "https://vault.azure.net");
    for (name, value) in body.as_object().unwrap() {
        assert!(value.is_string(), "{name} is not a string: {body}");
    }
    let claims = verified_claims(&h, &h.tid(), body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["aud"], "https://vault.azure.net");
    assert_eq!(claims["exp"], now + 86_400);
}

#[tokio::test]
async fn cluster_issuer_exchange_never_calls_the_fetcher() {
    let h = Harness::new().await;
    let reply = h.call(&h.v2_valid()).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    assert_eq!(h.fetcher.calls(), 0);
}
