//! The Key Vault data plane over HTTP: the challenge, token checks, RBAC per secret, every
//! secret operation and its errors, in Key Vault's wire format (`sdk-wire.md` §2, §7.2).

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use uuid::Uuid;
use wif_core::directory::Vault;
use wif_core::ids::{PrincipalId, RegionName, ResourceGroupName, VaultName};
use wif_core::rbac::{RoleAssignment, Scope, builtin};
use wif_store::keyvault::KvAuditQuery;
use wif_store::model::Write;
use wif_testkit::fixture::{EXTERNAL_KEY, TENANT_KEY};

use crate::harness::{Harness, Reply, decode_segment, sign_rs256_raw};

const HOST: &str = "kv-test.vault.localhost:8443";
const ORIGIN: &str = "https://kv-test.vault.localhost:8443";
const API: &str = "api-version=7.6";

struct Kv {
    h: Harness,
    token: String,
    vault: Vault,
}

impl Kv {
    /// The fixture plus vault `kv-test` on which the fixture identity is "Key Vault Secrets
    /// Officer", and an access token for it from the token service.
    async fn new() -> Self {
        Self::with(false).await
    }

    async fn with(purge_protection: bool) -> Self {
        let h = Harness::new().await;
        let vault = Vault {
            name: VaultName::parse("kv-test").unwrap(),
            tenant: h.fixture.tenant.id,
            subscription: h.fixture.identity.subscription,
            resource_group: ResourceGroupName::parse("rg-kv").unwrap(),
            location: RegionName::parse("westeurope").unwrap(),
            retention_days: 7,
            purge_protection,
            created_at: h.now(),
            enable_rbac_authorization: true,
            tags: Default::default(),
        };
        let assignment = RoleAssignment {
            id: Uuid::from_u128(0xa1),
            principal_id: h.fixture.identity.principal_id,
            role_definition_id: builtin::KEY_VAULT_SECRETS_OFFICER,
            scope: vault.scope(),
            meta: Default::default(),
        };
        h.fixture
            .store
            .apply(&[
                Write::PutVault(vault.clone()),
                Write::PutRoleAssignment(assignment),
            ])
            .await
            .unwrap();
        h.rebuild_snapshot().await;
        let reply = h.call(&h.v2_valid()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let token = reply.json()["access_token"].as_str().unwrap().to_owned();
        Self { h, token, vault }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{path}{sep}{API}"))
            .header("host", HOST);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.h.send(req.body(body).unwrap()).await
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.send(method, path, Some(&self.token), body).await
    }

    async fn set(&self, name: &str, value: &str) -> Value {
        let r = self
            .call(
                "PUT",
                &format!("/secrets/{name}"),
                Some(json!({"value": value})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    /// An access token with these claims changed, signed with test key `key`.
    fn forged(&self, key: usize, change: impl FnOnce(&mut Value)) -> String {
        let header = decode_segment(&self.token, 0);
        let mut claims = decode_segment(&self.token, 1);
        change(&mut claims);
        sign_rs256_raw(key, &header, &claims)
    }
}

fn error(r: &Reply) -> (String, String, Option<String>) {
    let v = r.json();
    (
        v["error"]["code"].as_str().unwrap_or_default().to_owned(),
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        v["error"]["innererror"]["code"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn an_anonymous_request_gets_the_challenge_before_its_body_is_read() {
    let kv = Kv::new().await;
    let tid = kv.h.tid();
    for (method, body) in [("GET", None), ("PUT", Some(json!("not even an object")))] {
        let r = kv.send(method, "/secrets/db/", None, body).await;
        assert_eq!(r.status, 401, "{method}");
        assert_eq!(
            r.header("www-authenticate"),
            Some(format!("Bearer authorization=\"https://wif.test:8443/{tid}\", resource=\"https://vault.localhost:8443\"").as_str())
        );
        assert_eq!(
            r.json(),
            json!({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}})
        );
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(r.header("x-ms-keyvault-region"), Some("westeurope"));
        assert!(r.header("x-ms-request-id").is_some());
    }
}

#[tokio::test]
async fn tokens_are_checked_for_signature_audience_issuer_and_time() {
    let kv = Kv::new().await;
    let cases = [
        (
            kv.forged(TENANT_KEY, |c| {
                c["aud"] = json!("https://management.azure.com")
            }),
            "AKV10022: Invalid audience",
        ),
        (
            kv.forged(TENANT_KEY, |c| {
                c["iss"] = json!("https://sts.windows.net/0f0f0f0f-0000-4000-8000-00000000f0f0/")
            }),
            "AKV10032: Invalid issuer",
        ),
        (
            kv.forged(TENANT_KEY, |c| c["exp"] = json!(1_700_000_000)),
            "expired",
        ),
        (kv.forged(EXTERNAL_KEY, |_| {}), "signature does not verify"),
        ("not.a.jwt".to_owned(), "malformed"),
    ];
    for (token, needle) in cases {
        let r = kv.send("GET", "/secrets/db/", Some(&token), None).await;
        assert_eq!(r.status, 401, "{needle}: {}", r.text());
        let (code, message, _) = error(&r);
        assert_eq!(code, "Unauthorized");
        assert!(message.contains(needle), "{needle}: {message}");
        assert!(
            r.header("www-authenticate").is_some(),
            "{needle}: a bad token gets the challenge again"
        );
    }
    // The local resource (with and without its port) is an accepted audience too.
    for aud in [
        "https://vault.localhost:8443",
        "https://vault.localhost/",
        "https://vault.azure.net/",
    ] {
        let token = kv.forged(TENANT_KEY, |c| c["aud"] = json!(aud));
        let r = kv.send("GET", "/secrets", Some(&token), None).await;
        assert_eq!(r.status, 200, "{aud}: {}", r.text());
    }
}

#[tokio::test]
async fn set_get_versions_update_list() {
    let kv = Kv::new().await;
    let first = kv.set("Db-Password", "hunter2").await;
    let id1 = first["id"].as_str().unwrap().to_owned();
    assert!(
        id1.starts_with(&format!("{ORIGIN}/secrets/Db-Password/")),
        "{id1}"
    );
    assert_eq!(first["value"], "hunter2");
    assert_eq!(first["attributes"]["enabled"], true);
    assert_eq!(
        first["attributes"]["recoveryLevel"],
        "CustomizedRecoverable+Purgeable"
    );
    assert_eq!(first["attributes"]["recoverableDays"], 7);
    assert!(first["attributes"]["created"].is_i64());

    kv.h.clock.advance(10);
    let r = kv
        .call("PUT", "/secrets/db-password", Some(json!({"value": "hunter3", "contentType": "text/plain", "tags": {"team": "payments"}, "attributes": {"exp": 1_900_000_000}})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let second = r.json();
    assert!(
        second["id"]
            .as_str()
            .unwrap()
            .contains("/secrets/Db-Password/"),
        "the first casing stays"
    );
    assert_eq!(second["attributes"]["exp"], 1_900_000_000);

    // Latest with a trailing slash (Python, JS, Rust), and a given version.
    let latest = kv.call("GET", "/secrets/DB-PASSWORD/", None).await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.json()["value"], "hunter3");
    assert_eq!(latest.json()["tags"], json!({"team": "payments"}));
    let version = id1.rsplit('/').next().unwrap();
    let old = kv
        .call("GET", &format!("/secrets/db-password/{version}"), None)
        .await;
    assert_eq!(old.json()["value"], "hunter2");
    let missing = kv
        .call(
            "GET",
            &format!("/secrets/db-password/{}", "0".repeat(32)),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(error(&missing).0, "SecretNotFound");

    let versions = kv
        .call("GET", "/secrets/db-password/versions", None)
        .await
        .json();
    assert_eq!(versions["value"].as_array().unwrap().len(), 2);
    assert!(
        versions["value"][0].get("value").is_none(),
        "lists never carry values"
    );

    // Update attributes of the latest version; the value cannot change this way.
    let r = kv
        .call(
            "PATCH",
            "/secrets/db-password/",
            Some(json!({"contentType": "application/x-pem", "attributes": {"enabled": false}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json().get("value").is_none());
    assert_eq!(r.json()["attributes"]["enabled"], false);
    let disabled = kv.call("GET", "/secrets/db-password/", None).await;
    assert_eq!(disabled.status, 403);
    assert_eq!(
        error(&disabled),
        (
            "Forbidden".into(),
            "Operation get is not allowed on a disabled secret.".into(),
            Some("SecretDisabled".into())
        )
    );
    let r = kv
        .call(
            "PATCH",
            "/secrets/db-password/",
            Some(json!({"value": "x"})),
        )
        .await;
    assert_eq!(r.status, 400);

    // Paging: at most 25 per page; nextLink on the request's origin with a skip token.
    for i in 0..3 {
        kv.set(&format!("s{i}"), "v").await;
    }
    let page = kv.call("GET", "/secrets?maxresults=2", None).await.json();
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    assert_eq!(
        page["value"][0]["id"],
        format!("{ORIGIN}/secrets/Db-Password"),
        "items have no version"
    );
    let next = page["nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{ORIGIN}/secrets?api-version=7.6&$skiptoken=")),
        "{next}"
    );
    let path = next
        .trim_start_matches(ORIGIN)
        .replace("api-version=7.6&", "");
    let page2 = kv.call("GET", &path, None).await.json();
    assert_eq!(page2["value"].as_array().unwrap().len(), 2);
    assert!(page2["nextLink"].is_null(), "{page2}");
    let r = kv.call("GET", "/secrets?maxresults=26", None).await;
    assert_eq!(r.status, 400);
    assert_eq!(error(&r).0, "BadParameter");
}

#[tokio::test]
async fn expired_and_not_yet_valid_secrets_are_not_readable() {
    let kv = Kv::new().await;
    let now = kv.h.now().as_secs();
    let r = kv
        .call(
            "PUT",
            "/secrets/later",
            Some(json!({"value": "v", "attributes": {"nbf": now + 60}})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = kv
        .call(
            "PUT",
            "/secrets/soon-gone",
            Some(json!({"value": "v", "attributes": {"exp": now + 60}})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(kv.call("GET", "/secrets/later/", None).await.status, 403);
    assert_eq!(
        kv.call("GET", "/secrets/soon-gone/", None).await.status,
        200
    );
    kv.h.clock.advance(61);
    assert_eq!(kv.call("GET", "/secrets/later/", None).await.status, 200);
    let r = kv.call("GET", "/secrets/soon-gone/", None).await;
    assert_eq!(r.status, 403);
    assert!(error(&r).1.contains("expired secret"));
}

#[tokio::test]
async fn soft_delete_recover_purge() {
    let kv = Kv::new().await;
    kv.set("db", "hunter2").await;
    let r = kv.call("DELETE", "/secrets/db", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let deleted = r.json();
    assert_eq!(deleted["recoveryId"], format!("{ORIGIN}/deletedsecrets/db"));
    let now = kv.h.now().as_secs();
    assert_eq!(deleted["deletedDate"], now);
    assert_eq!(deleted["scheduledPurgeDate"], now + 7 * 86_400);
    assert!(deleted.get("value").is_none());

    assert_eq!(kv.call("GET", "/secrets/db/", None).await.status, 404);
    let r = kv
        .call("PUT", "/secrets/db", Some(json!({"value": "again"})))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        error(&r).2.as_deref(),
        Some("ObjectIsDeletedButRecoverable")
    );
    assert_eq!(kv.call("GET", "/deletedsecrets/db", None).await.status, 200);
    let list = kv.call("GET", "/deletedsecrets", None).await.json();
    assert_eq!(
        list["value"][0]["recoveryId"],
        format!("{ORIGIN}/deletedsecrets/db")
    );
    assert!(
        kv.call("GET", "/secrets", None).await.json()["value"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let r = kv.call("POST", "/deletedsecrets/db/recover", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        kv.call("GET", "/secrets/db/", None).await.json()["value"],
        "hunter2"
    );
    let r = kv.call("GET", "/deletedsecrets/db", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(error(&r).1, "Deleted Secret not found: db");

    kv.call("DELETE", "/secrets/db", None).await;
    let r = kv.call("DELETE", "/deletedsecrets/db", None).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(kv.call("GET", "/deletedsecrets/db", None).await.status, 404);
    kv.set("db", "a new life").await;

    // Past the retention a deleted secret is gone by itself.
    kv.call("DELETE", "/secrets/db", None).await;
    kv.h.clock.advance(7 * 86_400);
    let later = kv.h.now().as_secs();
    let fresh = kv.forged(TENANT_KEY, |c| c["exp"] = json!(later + 3600));
    let r = kv
        .send("GET", "/deletedsecrets/db", Some(&fresh), None)
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
}

#[tokio::test]
async fn purge_protection_keeps_deleted_secrets_until_their_date() {
    let kv = Kv::with(true).await;
    kv.set("db", "v").await;
    kv.call("DELETE", "/secrets/db", None).await;
    let r = kv.call("DELETE", "/deletedsecrets/db", None).await;
    assert_eq!(r.status, 403);
    assert_eq!(error(&r).2.as_deref(), Some("PurgeProtectionEnabled"));
    assert_eq!(kv.call("GET", "/secrets/db/", None).await.status, 404);
    let recovered = kv.call("GET", "/deletedsecrets", None).await.json();
    assert_eq!(
        recovered["value"][0]["attributes"]["recoveryLevel"],
        "CustomizedRecoverable"
    );
}

#[tokio::test]
async fn backup_and_restore() {
    let kv = Kv::new().await;
    kv.set("db", "one").await;
    kv.set("db", "two").await;
    let blob = kv.call("POST", "/secrets/db/backup", None).await.json();
    let value = blob["value"].as_str().unwrap().to_owned();
    let decoded = wif_jose::b64::decode(&value).unwrap();
    assert!(
        !String::from_utf8_lossy(&decoded).contains("one"),
        "backups are encrypted"
    );
    let r = kv
        .call("POST", "/secrets/restore", Some(json!({"value": value})))
        .await;
    assert_eq!(r.status, 409, "the name exists: {}", r.text());
    kv.call("DELETE", "/secrets/db", None).await;
    kv.call("DELETE", "/deletedsecrets/db", None).await;
    let r = kv
        .call("POST", "/secrets/restore", Some(json!({"value": value})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        kv.call("GET", "/secrets/db/", None).await.json()["value"],
        "two"
    );
    let versions = kv.call("GET", "/secrets/db/versions", None).await.json();
    assert_eq!(versions["value"].as_array().unwrap().len(), 2);
    let r = kv
        .call("POST", "/secrets/restore", Some(json!({"value": "AAAA"})))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn rbac_decides_per_secret_and_denials_match_key_vault() {
    let kv = Kv::new().await;
    kv.set("db", "v").await;
    kv.set("other", "v").await;
    let stranger = "00000000-0000-0000-0000-00000000abcd";
    let token = kv.forged(TENANT_KEY, |c| c["oid"] = json!(stranger));
    let r = kv.send("GET", "/secrets/db/", Some(&token), None).await;
    assert_eq!(r.status, 403);
    let (code, message, inner) = error(&r);
    assert_eq!(
        (code.as_str(), inner.as_deref()),
        ("Forbidden", Some("ForbiddenByRbac"))
    );
    let sub = kv.vault.subscription;
    let expected_resource = format!(
        "'/subscriptions/{sub}/resourcegroups/rg-kv/providers/microsoft.keyvault/vaults/kv-test/secrets/db'"
    );
    for needle in [
        "Caller is not authorized to perform action on resource.\r\n".to_owned(),
        format!("Caller: appid={};oid={stranger};iss=https://wif.test:8443/{}/\r\n", kv.h.client_id(), kv.h.tid()),
        "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n".to_owned(),
        format!("Resource: {expected_resource}\r\n"),
        "Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: kv-test;location=westeurope\r\n".to_owned(),
    ] {
        assert!(message.contains(&needle), "{needle:?} not in {message:?}");
    }
    // An assignment on one secret allows that secret only.
    let one = RoleAssignment {
        id: Uuid::from_u128(0xb2),
        principal_id: PrincipalId::parse(stranger).unwrap(),
        role_definition_id: builtin::KEY_VAULT_SECRETS_USER,
        scope: Scope::parse(&format!("{}/secrets/db", kv.vault.resource_id())).unwrap(),
        meta: Default::default(),
    };
    kv.h.fixture
        .store
        .apply(&[Write::PutRoleAssignment(one)])
        .await
        .unwrap();
    kv.h.rebuild_snapshot().await;
    assert_eq!(
        kv.send("GET", "/secrets/db/", Some(&token), None)
            .await
            .status,
        200
    );
    assert_eq!(
        kv.send("GET", "/secrets/other/", Some(&token), None)
            .await
            .status,
        403
    );
    // Secrets User cannot list (readMetadata is at the vault scope) nor write.
    assert_eq!(
        kv.send("GET", "/secrets", Some(&token), None).await.status,
        403
    );
    let r = kv
        .send(
            "PUT",
            "/secrets/db",
            Some(&token),
            Some(json!({"value": "x"})),
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(error(&r).1.contains("setSecret/action"));
}

#[tokio::test]
async fn bad_requests_get_key_vault_errors() {
    let kv = Kv::new().await;
    // No api-version.
    let req = Request::get("/secrets")
        .header("host", HOST)
        .header("authorization", format!("Bearer {}", kv.token));
    let r = kv.h.send(req.body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, 400);
    assert!(error(&r).1.contains("api-version"));
    // The JS SDK's percent-encoded key works; an unknown version does not.
    for (query, status) in [
        ("api%2Dversion=2025-07-01", 200),
        ("api-version=2016-10-01", 400),
    ] {
        let req = Request::get(format!("/secrets?{query}"))
            .header("host", HOST)
            .header("authorization", format!("Bearer {}", kv.token));
        assert_eq!(
            kv.h.send(req.body(Body::empty()).unwrap()).await.status,
            status,
            "{query}"
        );
    }
    let r = kv
        .call("PUT", "/secrets/bad_name", Some(json!({"value": "v"})))
        .await;
    assert_eq!(
        (r.status.as_u16(), error(&r).0.as_str()),
        (400, "BadParameter")
    );
    let r = kv
        .call("PUT", "/secrets/db", Some(json!({"contentType": "x"})))
        .await;
    assert_eq!(r.status, 400, "no value");
    let r = kv
        .call(
            "PUT",
            "/secrets/db",
            Some(json!({"value": "x".repeat(25 * 1024 + 1)})),
        )
        .await;
    assert_eq!(r.status, 400, "too large");
    let r = kv.call("GET", "/keys/k", None).await;
    assert_eq!(r.status, 404);
    // A vault that does not exist.
    let req = Request::get(format!("/secrets?{API}")).header("host", "nope.vault.localhost:8443");
    let r = kv.h.send(req.body(Body::empty()).unwrap()).await;
    assert_eq!(
        (r.status.as_u16(), error(&r).0.as_str()),
        (404, "VaultNotFound")
    );
    // Other hosts still reach the token service.
    assert_eq!(
        kv.h.get(&format!(
            "/{}/v2.0/.well-known/openid-configuration",
            kv.h.tid()
        ))
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn every_call_is_audited_without_values() {
    let kv = Kv::new().await;
    kv.set("db", "hunter2").await;
    kv.send("GET", "/secrets/db/", None, None).await;
    let store = kv.h.fixture.store.clone();
    let sub = kv.vault.subscription;
    let mut records = Vec::new();
    for _ in 0..100 {
        records = store.kv_audit(&KvAuditQuery::default()).await.unwrap();
        if records.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(records.len(), 2, "{records:?}");
    let denied = &records[0];
    assert!(!denied.allowed);
    assert_eq!(denied.status, 401);
    assert_eq!(denied.reason.as_deref(), Some("AKV10000"));
    let set = &records[1];
    assert!(set.allowed);
    assert_eq!(set.operation, "SecretSet");
    assert_eq!(
        set.assignment.as_deref(),
        Some("00000000-0000-0000-0000-0000000000a1")
    );
    assert_eq!(set.resource.as_deref(), Some(format!("/subscriptions/{sub}/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-test/secrets/db").as_str()));
    assert!(!format!("{records:?}").contains("hunter2"));
}

#[tokio::test]
async fn a_vault_without_the_rbac_model_denies_every_operation() {
    let kv = Kv::new().await;
    kv.set("s1", "v").await;
    let vault = Vault {
        enable_rbac_authorization: false,
        ..kv.vault.clone()
    };
    kv.h.fixture
        .store
        .apply(&[Write::PutVault(vault)])
        .await
        .unwrap();
    kv.h.rebuild_snapshot().await;
    let r = kv.call("GET", "/secrets/s1/", None).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let (code, message, inner) = error(&r);
    assert_eq!(
        (code.as_str(), inner.as_deref()),
        ("Forbidden", Some("AccessDenied"))
    );
    assert!(
        message.contains("does not have secrets get permission on key vault 'kv-test"),
        "{message}"
    );
    assert!(message.contains("enableRbacAuthorization"), "{message}");
}
