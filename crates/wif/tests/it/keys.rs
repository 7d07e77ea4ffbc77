//! `wif keys rotate` against a running server: the new key is served after the store change is
//! picked up, the retired key stays published (so everything it signed keeps verifying), and
//! new tokens carry the new key's `kid`.

use serde_json::Value;

use crate::harness::{
    CLUSTER, IDENTITY, TENANT_DOMAIN, TENANT_ID, TOPOLOGY, Workspace, exchange, get_json, kid,
    kids, now, str_at, verify_with, wait_for_key_count,
};

/// How long a retired key stays published: 48 h plus 5 minutes of skew.
const PUBLISH_SECS: i64 = 48 * 3600 + 300;

fn rfc3339_secs(text: &str) -> i64 {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {text}"))
        .unix_timestamp()
}

#[tokio::test]
async fn keys_rotate_keeps_old_tokens_valid() {
    let ws = Workspace::new();
    let topology = ws.write("topology.yaml", TOPOLOGY);
    let mut server = ws.up(Some(&topology));
    let client = server.client();
    let authority = server.authority().to_owned();
    let client_id = server.client_id(IDENTITY);
    let jwks_url = format!("{}openid/v1/jwks", server.issuer(CLUSTER));
    let tenant_keys_url = format!("{authority}/{TENANT_ID}/discovery/v2.0/keys");

    let old_token = ws.mint(CLUSTER, "workload", &[]);
    let old_kid = kid(&old_token);
    assert_eq!(
        kids(&get_json(&client, &jwks_url).await),
        [old_kid.as_str()]
    );
    let (status, body) = exchange(&client, &authority, TENANT_ID, &client_id, &old_token).await;
    assert_eq!(status, 200, "{body}");
    let old_access = str_at(&body, "access_token").to_owned();
    let old_tenant_kid = kid(&old_access);
    assert_eq!(
        kids(&get_json(&client, &tenant_keys_url).await),
        [old_tenant_kid.as_str()]
    );

    // Cluster key.
    let run = ws.wif(["keys", "rotate", "--cluster", CLUSTER]).success();
    let rotated_by = now();
    assert!(run.stdout.contains("rotated"), "{run}");
    let jwks = wait_for_key_count(&client, &jwks_url, 2).await;
    assert!(kids(&jwks).contains(&old_kid), "{jwks}");
    verify_with(&old_token, &jwks).expect("the old token verifies against the new JWKS");
    let (status, body) = exchange(&client, &authority, TENANT_ID, &client_id, &old_token).await;
    assert_eq!(
        status, 200,
        "a token signed before rotation still exchanges: {body}"
    );

    let new_token = ws.mint(CLUSTER, "workload", &[]);
    let new_kid = kid(&new_token);
    assert_ne!(new_kid, old_kid, "new tokens are signed with the new key");
    assert!(kids(&jwks).contains(&new_kid), "{jwks}");
    let (status, body) = exchange(&client, &authority, TENANT_ID, &client_id, &new_token).await;
    assert_eq!(status, 200, "{body}");

    let run = ws.wif(["keys", "list", "-o", "json"]).success();
    let rows: Vec<Value> =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run}"));
    let row = |kid: &str| -> &Value {
        rows.iter()
            .find(|k| k["kid"] == kid)
            .unwrap_or_else(|| panic!("keys list lacks {kid}: {run}"))
    };
    let retired = row(&old_kid);
    let retired_at = rfc3339_secs(str_at(retired, "retired"));
    let publish_until = rfc3339_secs(str_at(retired, "publishUntil"));
    assert_eq!(publish_until - retired_at, PUBLISH_SECS, "{retired}");
    let ahead = publish_until - rotated_by;
    assert!(
        (48 * 3600..=PUBLISH_SECS).contains(&ahead),
        "publishUntil is {ahead} s ahead, not ~48 h: {retired}"
    );
    let active = row(&new_kid);
    assert!(
        active["retired"].is_null() && active["publishUntil"].is_null(),
        "{active}"
    );

    // Tenant key: access tokens issued before the rotation still verify against the tenant's
    // published keys after it; new ones carry the new kid.
    let run = ws
        .wif(["keys", "rotate", "--tenant", TENANT_DOMAIN])
        .success();
    assert!(run.stdout.contains("rotated"), "{run}");
    let tenant_jwks = wait_for_key_count(&client, &tenant_keys_url, 2).await;
    assert!(
        kids(&tenant_jwks).contains(&old_tenant_kid),
        "{tenant_jwks}"
    );
    verify_with(&old_access, &tenant_jwks).expect("an access token from before rotation verifies");
    let (status, body) = exchange(&client, &authority, TENANT_ID, &client_id, &new_token).await;
    assert_eq!(status, 200, "{body}");
    let new_access = str_at(&body, "access_token");
    assert_ne!(
        kid(new_access),
        old_tenant_kid,
        "signed with the new tenant key"
    );
    verify_with(new_access, &tenant_jwks).expect("a new access token verifies");

    server.stop_cleanly();
}
