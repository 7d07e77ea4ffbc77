//! The token service's discovery surface as MSAL reads it (`sdk-wire.md` §7.1): tenant OIDC
//! documents (v2 and v1), the tenant and `common` key sets, and instance discovery.

use wif_jose::Jwks;
use wif_testkit::fixture::TENANT_KEY;
use wif_testkit::rsa_key;

use crate::harness::{HOST_PORT, Harness, assert_entra_error};

const ORIGIN: &str = "https://wif.test:8443";

#[tokio::test]
async fn v2_openid_configuration_points_at_this_origin() {
    let h = Harness::new().await;
    let tid = h.tid();
    for segment in [tid.clone(), "contoso.onmicrosoft.com".to_owned()] {
        let reply = h
            .get(&format!("/{segment}/v2.0/.well-known/openid-configuration"))
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        let doc = reply.json();
        assert_eq!(doc["issuer"], format!("{ORIGIN}/{tid}/v2.0"), "{doc}");
        assert_eq!(
            doc["token_endpoint"],
            format!("{ORIGIN}/{tid}/oauth2/v2.0/token")
        );
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{ORIGIN}/{tid}/oauth2/v2.0/authorize")
        );
        assert_eq!(
            doc["jwks_uri"],
            format!("{ORIGIN}/{tid}/discovery/v2.0/keys")
        );
        assert_eq!(
            doc["device_authorization_endpoint"],
            format!("{ORIGIN}/{tid}/oauth2/v2.0/devicecode")
        );
        assert_eq!(
            doc["end_session_endpoint"],
            format!("{ORIGIN}/{tid}/oauth2/v2.0/logout")
        );
    }
}

#[tokio::test]
async fn v1_openid_configuration_has_the_v1_issuer() {
    let h = Harness::new().await;
    let tid = h.tid();
    let reply = h
        .get("/contoso.onmicrosoft.com/.well-known/openid-configuration")
        .await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert_eq!(doc["issuer"], format!("{ORIGIN}/{tid}/"));
    assert_eq!(
        doc["token_endpoint"],
        format!("{ORIGIN}/{tid}/oauth2/token")
    );
    assert_eq!(doc["jwks_uri"], format!("{ORIGIN}/{tid}/discovery/keys"));
}

#[tokio::test]
async fn discovery_for_unknown_tenant_is_aadsts90002() {
    let h = Harness::new().await;
    for path in [
        "/00000000-0000-4000-8000-000000000bad/v2.0/.well-known/openid-configuration",
        "/nobody.onmicrosoft.com/v2.0/.well-known/openid-configuration",
        "/not_a_tenant!/v2.0/.well-known/openid-configuration",
        "/00000000-0000-4000-8000-000000000bad/.well-known/openid-configuration",
        "/00000000-0000-4000-8000-000000000bad/discovery/v2.0/keys",
    ] {
        let reply = h.get(path).await;
        let body = assert_entra_error(&reply, 400, 90002);
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("Tenant '"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn instance_discovery_vouches_for_this_host() {
    let h = Harness::new().await;
    let tid = h.tid();
    let reply = h
        .get(&format!(
            "/common/discovery/instance?authorization_endpoint=https://wif.test:8443/{tid}/oauth2/v2.0/authorize&api-version=1.1"
        ))
        .await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert_eq!(doc["api-version"], "1.1");
    assert_eq!(
        doc["tenant_discovery_endpoint"],
        format!("{ORIGIN}/{tid}/v2.0/.well-known/openid-configuration")
    );
    let metadata = &doc["metadata"][0];
    assert_eq!(metadata["preferred_network"], HOST_PORT);
    assert_eq!(metadata["preferred_cache"], HOST_PORT);
    let aliases: Vec<&str> = metadata["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(aliases.contains(&HOST_PORT), "{doc}");
}

#[tokio::test]
async fn tenant_and_common_key_sets_publish_the_tenant_key() {
    let h = Harness::new().await;
    let kid = rsa_key(TENANT_KEY).kid().as_str().to_owned();
    for path in [
        format!("/{}/discovery/v2.0/keys", h.tid()),
        format!("/{}/discovery/keys", h.tid()),
        "/contoso.onmicrosoft.com/discovery/v2.0/keys".to_owned(),
        "/common/discovery/v2.0/keys".to_owned(),
        "/organizations/discovery/v2.0/keys".to_owned(),
    ] {
        let reply = h.get(&path).await;
        assert_eq!(reply.status, 200, "{path}");
        let jwks: Jwks = serde_json::from_value(reply.json()).unwrap();
        let key = jwks
            .keys
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid.as_str()))
            .unwrap_or_else(|| panic!("{path} lacks the tenant key: {jwks:?}"));
        assert_eq!(key.x5t.as_deref(), Some(kid.as_str()), "{path}");
        assert_eq!(key.kty, "RSA");
        // The cluster key is not a tenant token-signing key.
        let cluster_kid = rsa_key(0).kid().as_str().to_owned();
        assert!(
            jwks.keys
                .iter()
                .all(|k| k.kid.as_deref() != Some(cluster_kid.as_str())),
            "{path} publishes the cluster key"
        );
    }
}

#[tokio::test]
async fn discovery_tenant_with_invalid_utf8_is_aadsts90002() {
    // `sts/routes.rs`: openid_configuration_v2/v1 and keys take a bare `Path<String>`.
    let h = Harness::new().await;
    for path in [
        "/%FF/v2.0/.well-known/openid-configuration",
        "/%FF/.well-known/openid-configuration",
        "/%FF/discovery/v2.0/keys",
    ] {
        assert_entra_error(&h.get(path).await, 400, 90002);
    }
}
