//! The management API over HTTP: metadata, authentication, RBAC, and every resource kind with
//! ARM's status codes and error codes (`arm-surface.md` §2, §6).

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use uuid::Uuid;
use wif_core::directory::Application;
use wif_core::ids::{ClientId, PrincipalId};
use wif_core::rbac::{RoleAssignment, Scope, builtin};
use wif_store::activity::ActivityQuery;
use wif_store::model::Write;

use crate::harness::{Call, Harness, JWT_BEARER, Reply, assert_entra_error, decode_segment};

const ARM_SCOPE: &str = "https://management.core.windows.net//.default";
const KV_USER: &str = "4633458b-17de-408a-b874-0445c86b69e6";

struct Arm {
    h: Harness,
    token: String,
    sub: String,
}

impl Arm {
    /// The fixture identity as Owner of the subscription, with an ARM token.
    async fn new() -> Self {
        Self::with_role(builtin::OWNER, None).await
    }

    /// The fixture identity holding `role` at `scope` (default: the subscription).
    async fn with_role(role: Uuid, scope: Option<&str>) -> Self {
        let h = Harness::new().await;
        let sub = h.fixture.identity.subscription.to_string();
        let scope = scope
            .map(str::to_owned)
            .unwrap_or_else(|| format!("/subscriptions/{sub}"));
        h.fixture
            .store
            .apply(&[Write::PutRoleAssignment(RoleAssignment {
                id: Uuid::from_u128(0xa0),
                principal_id: h.fixture.identity.principal_id,
                role_definition_id: role,
                scope: Scope::parse(&scope).unwrap(),
                meta: Default::default(),
            })])
            .await
            .unwrap();
        h.rebuild_snapshot().await;
        let reply = h.call(&h.v2_valid().set("scope", ARM_SCOPE)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let token = reply.json()["access_token"].as_str().unwrap().to_owned();
        Self { h, token, sub }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
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

    /// `method path?api-version=2024-11-30` with the Owner token.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.send(
            method,
            &format!("{path}{sep}api-version=2024-11-30"),
            Some(&self.token),
            body,
        )
        .await
    }

    fn rg(&self, name: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{name}", self.sub)
    }

    fn identity_path(&self, rg: &str, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
            self.rg(rg)
        )
    }

    async fn group(&self, name: &str) {
        let r = self
            .call(
                "PUT",
                &self.rg(name),
                Some(json!({"location": "westeurope"})),
            )
            .await;
        assert!(r.status == 201 || r.status == 200, "{}", r.text());
    }
}

fn error_code(r: &Reply) -> String {
    r.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn metadata_endpoints_in_both_forms() {
    let a = Arm::new().await;
    let r = a.h.get("/metadata/endpoints?api-version=2022-09-01").await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["resourceManager"], "https://wif.test:8443/");
    assert_eq!(
        doc["authentication"]["loginEndpoint"],
        "https://wif.test:8443"
    );
    assert_eq!(
        doc["authentication"]["audiences"][0],
        "https://management.core.windows.net/"
    );
    assert_eq!(
        doc["microsoftGraphResourceId"],
        "https://wif.test:8443/graph/"
    );
    assert_eq!(doc["suffixes"]["keyVaultDns"], "vault.localhost:8443");
    // `az cloud register` keeps the endpoint's trailing slash.
    let r = a.h.get("//metadata/endpoints?api-version=2022-09-01").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), doc);
    let r = a.h.get("/metadata/endpoints?api-version=2019-05-01").await;
    assert_eq!(
        r.json()[0],
        doc,
        "the array form for ARM_CLOUD_METADATA_URL"
    );
}

#[tokio::test]
async fn authentication_and_api_version_errors() {
    let a = Arm::new().await;
    let path = format!("/subscriptions/{}?api-version=2022-12-01", a.sub);
    let r = a.send("GET", &path, None, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_code(&r), "AuthenticationFailed");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer authorization_uri=")
    );
    // A vault token is not an ARM token.
    let vault = a.h.call(&a.h.v2_valid()).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = a.send("GET", &path, Some(&vault), None).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_code(&r), "InvalidAuthenticationTokenAudience");
    let r = a.send("GET", &path, Some("not-a-jwt"), None).await;
    assert_eq!(error_code(&r), "InvalidAuthenticationToken");
    let r = a
        .send(
            "GET",
            &format!("/subscriptions/{}", a.sub),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(error_code(&r), "MissingApiVersionParameter");
    let r = a
        .send(
            "GET",
            &format!("/subscriptions/{}?api-version=latest", a.sub),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(error_code(&r), "InvalidApiVersionParameter");
    assert!(r.header("x-ms-request-id").is_some());
    assert!(r.header("x-ms-correlation-request-id").is_some());
    let r = a.call("GET", "/subscriptions/x/nothing/here", None).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn subscriptions_and_tenants_follow_role_assignments() {
    let a = Arm::new().await;
    let r = a.call("GET", "/subscriptions", None).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["value"][0]["subscriptionId"], a.sub);
    assert_eq!(v["value"][0]["tenantId"], a.h.tid());
    assert_eq!(v["value"][0]["state"], "Enabled");
    assert_eq!(v["count"]["value"], 1);
    let r = a.call("GET", "/tenants", None).await;
    assert_eq!(r.json()["value"][0]["tenantId"], a.h.tid());
    // Provider registration: what Terraform and azure-mgmt-core do before their first write.
    let p = format!(
        "/subscriptions/{}/providers/microsoft.managedidentity",
        a.sub
    );
    let r = a.call("GET", &p, None).await;
    assert_eq!(r.json()["registrationState"], "Registered");
    assert_eq!(r.json()["namespace"], "Microsoft.ManagedIdentity");
    assert_eq!(
        a.call("POST", &format!("{p}/register"), None).await.status,
        200
    );
    let r = a
        .call(
            "GET",
            &format!("/subscriptions/{}/providers/Microsoft.Nope", a.sub),
            None,
        )
        .await;
    assert_eq!(error_code(&r), "InvalidResourceNamespace");
    // Without any role the subscription is invisible.
    a.h.fixture
        .store
        .apply(&[Write::DeleteRoleAssignment(Uuid::from_u128(0xa0))])
        .await
        .unwrap();
    a.h.rebuild_snapshot().await;
    let r = a.call("GET", "/subscriptions", None).await;
    assert_eq!(r.json()["value"], json!([]));
    let r = a
        .call("GET", &format!("/subscriptions/{}", a.sub), None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(error_code(&r), "SubscriptionNotFound");
}

#[tokio::test]
async fn resource_groups_crud_and_long_running_delete() {
    let a = Arm::new().await;
    let path = a.rg("rg-One");
    let r = a
        .call(
            "PUT",
            &path,
            Some(json!({"location": "West Europe", "tags": {"env": "dev"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let g = r.json();
    assert_eq!(g["id"], path);
    assert_eq!(g["location"], "westeurope");
    assert_eq!(g["properties"]["provisioningState"], "Succeeded");
    let r = a
        .call("PUT", &path, Some(json!({"location": "westeurope"})))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["tags"]["env"],
        "dev",
        "tags are kept when not given"
    );
    let lower = format!("/subscriptions/{}/resourcegroups/RG-ONE", a.sub);
    let r = a.call("GET", &lower, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["name"], "rg-One");
    assert_eq!(a.call("HEAD", &lower, None).await.status, 204);
    let r = a
        .call("PUT", &path, Some(json!({"location": "eastus"})))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(error_code(&r), "InvalidResourceGroupLocation");
    let r = a.call("PUT", &a.rg("rg-two"), Some(json!({}))).await;
    assert_eq!(error_code(&r), "LocationRequired");
    let r = a
        .call(
            "GET",
            &format!("/subscriptions/{}/resourcegroups", a.sub),
            None,
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);

    a.call(
        "PUT",
        &a.identity_path("rg-One", "id-in-group"),
        Some(json!({"location": "westeurope"})),
    )
    .await;
    let r = a.call("DELETE", &path, None).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("location").unwrap().to_owned();
    assert!(
        location.starts_with("https://wif.test:8443/subscriptions/"),
        "{location}"
    );
    let poll = location.trim_start_matches("https://wif.test:8443");
    let r = a.send("GET", poll, Some(&a.token), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = a.call("GET", &path, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(error_code(&r), "ResourceGroupNotFound");
    let r = a
        .call("GET", &a.identity_path("rg-One", "id-in-group"), None)
        .await;
    assert_eq!(
        error_code(&r),
        "ResourceGroupNotFound",
        "the group's resources went with it"
    );
    assert_eq!(a.call("DELETE", &path, None).await.status, 404);
}

#[tokio::test]
async fn managed_identities_crud() {
    let a = Arm::new().await;
    a.group("rg-id").await;
    let path = a.identity_path("rg-id", "id1");
    let r = a
        .call(
            "PUT",
            &path,
            Some(json!({"location": "westeurope", "tags": {"a": "b"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let m = r.json();
    assert_eq!(
        m["id"],
        format!(
            "/subscriptions/{}/resourcegroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
            a.sub
        )
    );
    assert_eq!(
        m["type"],
        "Microsoft.ManagedIdentity/userAssignedIdentities"
    );
    assert_eq!(m["properties"]["tenantId"], a.h.tid());
    let client = m["properties"]["clientId"].as_str().unwrap().to_owned();
    assert!(ClientId::parse(&client).is_ok());
    assert!(PrincipalId::parse(m["properties"]["principalId"].as_str().unwrap()).is_ok());
    // Again: the same identity (same ids), 200.
    let r = a
        .call("PUT", &path, Some(json!({"location": "westeurope"})))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["properties"]["clientId"], client);
    let r = a
        .call(
            "PATCH",
            &path
                .to_uppercase()
                .replace("/SUBSCRIPTIONS/", "/subscriptions/"),
            Some(json!({"tags": {"c": "d"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["tags"], json!({"c": "d"}));
    let r = a
        .call(
            "GET",
            &format!(
                "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                a.rg("rg-id")
            ),
            None,
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);
    let r = a
        .call(
            "GET",
            &format!(
                "/subscriptions/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                a.sub
            ),
            None,
        )
        .await;
    assert!(
        r.json()["value"].as_array().unwrap().len() >= 3,
        "the fixture's two and id1"
    );

    let r = a
        .call(
            "PUT",
            &a.identity_path("rg-id", "x"),
            Some(json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(error_code(&r), "InvalidResourceName");
    let r = a
        .call("PUT", &a.identity_path("rg-id", "id2"), Some(json!({})))
        .await;
    assert_eq!(error_code(&r), "LocationRequired");
    let r = a
        .call(
            "PUT",
            &a.identity_path("rg-id", "id2"),
            Some(json!({"location": 5, "tags": "x"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = a
        .call(
            "PUT",
            &a.identity_path("rg-none", "id2"),
            Some(json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(error_code(&r), "ResourceGroupNotFound");
    let r = a
        .send(
            "PUT",
            &format!("{path}?api-version=2024-11-30"),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "an empty body updates nothing");
    let r = a.call("GET", &a.identity_path("rg-id", "nope"), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(error_code(&r), "ResourceNotFound");
    assert_eq!(a.call("DELETE", &path, None).await.status, 200);
    assert_eq!(a.call("DELETE", &path, None).await.status, 204);
    let r = a
        .call(
            "PUT",
            &format!("{}/providers/Microsoft.Nope/things/x", a.rg("rg-id")),
            Some(json!({})),
        )
        .await;
    assert_eq!(error_code(&r), "InvalidResourceNamespace");
    let r = a
        .call(
            "PUT",
            &format!(
                "{}/providers/Microsoft.KeyVault/managedHSMs/x",
                a.rg("rg-id")
            ),
            Some(json!({})),
        )
        .await;
    assert_eq!(error_code(&r), "InvalidResourceType");
}

fn fic_body(issuer: &str, subject: &str) -> Value {
    json!({"properties": {"issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}})
}

#[tokio::test]
async fn federated_credentials_rules_and_the_exchange_they_enable() {
    let a = Arm::new().await;
    a.group("rg-fic").await;
    let id_path = a.identity_path("rg-fic", "id-fic");
    let r = a
        .call("PUT", &id_path, Some(json!({"location": "eastus"})))
        .await;
    let client = r.json()["properties"]["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    let issuer = a.h.issuer();
    let fics = format!("{id_path}/federatedIdentityCredentials");
    let r = a
        .call(
            "PUT",
            &format!("{fics}/fic1"),
            Some(fic_body(&issuer, "system:serviceaccount:default:app")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let f = r.json();
    assert_eq!(
        f["type"],
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
    );
    assert_eq!(f["properties"]["issuer"], issuer);
    assert_eq!(
        f["properties"]["audiences"],
        json!(["api://AzureADTokenExchange"])
    );
    let r = a
        .call(
            "PUT",
            &format!("{fics}/fic1"),
            Some(fic_body(&issuer, "system:serviceaccount:default:app")),
        )
        .await;
    assert_eq!(r.status, 200, "the same PUT again is fine");

    // The new credential is live for the token service at once.
    let assertion =
        a.h.minted("default", "app", a.h.now(), std::time::Duration::ZERO);
    let r =
        a.h.call(&a.h.v2(&assertion).set("client_id", client.as_str()))
            .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let expect = |r: &Reply, status: u16, text: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        assert!(r.text().contains(text), "{} lacks {text}", r.text());
    };
    let r = a
        .call("PUT", &format!("{fics}/-bad"), Some(fic_body(&issuer, "s")))
        .await;
    expect(
        &r,
        400,
        "Federated Identity Credential name '-bad' is invalid.",
    );
    let r = a
        .call(
            "PUT",
            &format!("{fics}/fic2"),
            Some(json!({"properties": {}})),
        )
        .await;
    expect(&r, 400, "empty properties");
    let mut two = fic_body(&issuer, "s2");
    two["properties"]["audiences"] = json!(["a", "b"]);
    let r = a.call("PUT", &format!("{fics}/fic2"), Some(two)).await;
    expect(&r, 400, "exactly 1 audience");
    let r = a
        .call(
            "PUT",
            &format!("{fics}/fic2"),
            Some(fic_body("http://insecure/", "s2")),
        )
        .await;
    expect(&r, 400, "https");
    let r = a
        .call(
            "PUT",
            &format!("{fics}/fic2"),
            Some(fic_body(&issuer, "system:serviceaccount:default:app")),
        )
        .await;
    expect(
        &r,
        400,
        "Issuer and subject combination already exists for this Managed Identity.",
    );
    let r = a
        .call(
            "PUT",
            &format!(
                "{}/federatedIdentityCredentials/f",
                a.identity_path("rg-fic", "nobody")
            ),
            Some(fic_body(&issuer, "s")),
        )
        .await;
    expect(&r, 404, "The parent user-assigned identity does not exist.");
    for i in 2..=20 {
        let r = a
            .call(
                "PUT",
                &format!("{fics}/fic{i}"),
                Some(fic_body(&issuer, &format!("s{i}"))),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = a
        .call(
            "PUT",
            &format!("{fics}/fic21"),
            Some(fic_body(&issuer, "s21")),
        )
        .await;
    expect(&r, 400, "maximum of 20");
    let r = a.call("GET", &format!("{fics}?$top=8"), None).await;
    let page = r.json();
    assert_eq!(page["value"].as_array().unwrap().len(), 8);
    let next = page["nextLink"].as_str().unwrap();
    assert!(next.contains("$skiptoken=8"), "{next}");
    let r = a
        .send(
            "GET",
            next.trim_start_matches("https://wif.test:8443"),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(r.json()["value"][0]["name"], "fic9");
    let r = a.call("GET", &format!("{fics}/FIC1"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        a.call("DELETE", &format!("{fics}/fic1"), None).await.status,
        200
    );
    assert_eq!(
        a.call("DELETE", &format!("{fics}/fic1"), None).await.status,
        204
    );
}

#[tokio::test]
async fn role_definitions_filter_and_custom_roles() {
    let a = Arm::new().await;
    let scope = a.rg("rg-x");
    let r = a
        .call(
            "GET",
            &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20eq%20%27Key%20Vault%20Secrets%20User%27"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json()["value"].clone();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(
        v[0]["id"],
        format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{KV_USER}",
            a.sub
        )
    );
    assert_eq!(v[0]["properties"]["type"], "BuiltInRole");
    assert_eq!(
        v[0]["properties"]["permissions"][0]["dataActions"][0],
        "Microsoft.KeyVault/vaults/secrets/getSecret/action"
    );
    let r = a
        .call(
            "GET",
            &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions?$filter=bogus"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    let r = a
        .call(
            "GET",
            &format!("/providers/Microsoft.Authorization/roleDefinitions/{KV_USER}"),
            None,
        )
        .await;
    assert_eq!(r.json()["properties"]["roleName"], "Key Vault Secrets User");
    let missing = Uuid::from_u128(0xdead);
    let r = a
        .call(
            "GET",
            &format!("/providers/Microsoft.Authorization/roleDefinitions/{missing}"),
            None,
        )
        .await;
    assert_eq!(error_code(&r), "RoleDefinitionDoesNotExist");

    let custom = Uuid::from_u128(0xc0570);
    let path = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{custom}",
        a.sub
    );
    let body = json!({"properties": {"roleName": "Secret Peeker", "type": "CustomRole",
        "permissions": [{"dataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"]}],
        "assignableScopes": [format!("/subscriptions/{}", a.sub)]}});
    let r = a.call("PUT", &path, Some(body.clone())).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = a.call("GET", &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions?$filter=type%20eq%20%27CustomRole%27"), None).await;
    assert_eq!(
        r.json()["value"][0]["properties"]["roleName"],
        "Secret Peeker"
    );
    let mut root = body.clone();
    root["properties"]["assignableScopes"] = json!(["/"]);
    let r = a.call("PUT", &path, Some(root)).await;
    assert_eq!(error_code(&r), "InvalidRoleDefinition");
    assert_eq!(a.call("DELETE", &path, None).await.status, 200);
    assert_eq!(a.call("DELETE", &path, None).await.status, 204);
}

#[tokio::test]
async fn role_assignments_rules_filters_and_effect() {
    let a = Arm::new().await;
    let scope = a.rg("rg-ra");
    let principal = a.h.fixture.bare_identity.principal_id.to_string();
    let name = Uuid::from_u128(0xbeef);
    let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
    let body = |role: &str, p: &str| {
        json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", a.sub),
            "principalId": p, "principalType": "ServicePrincipal"}})
    };
    let r = a.call("PUT", &path, Some(body(KV_USER, &principal))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["name"], name.to_string());
    assert_eq!(v["properties"]["scope"], scope);
    assert_eq!(v["properties"]["principalType"], "ServicePrincipal");
    assert!(
        v["properties"]["roleDefinitionId"]
            .as_str()
            .unwrap()
            .ends_with(KV_USER)
    );
    let r = a.call("PUT", &path, Some(body(KV_USER, &principal))).await;
    assert_eq!(r.status, 200, "the same PUT is idempotent");
    let other = format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{}",
        Uuid::from_u128(0xf00d)
    );
    let r = a.call("PUT", &other, Some(body(KV_USER, &principal))).await;
    assert_eq!(r.status, 409);
    assert_eq!(error_code(&r), "RoleAssignmentExists");
    let r = a
        .call(
            "PUT",
            &path,
            Some(body("acdd72a7-3385-48ef-bd42-f606fba81ae7", &principal)),
        )
        .await;
    assert_eq!(error_code(&r), "RoleAssignmentUpdateNotPermitted");
    let r = a
        .call(
            "PUT",
            &other,
            Some(body(KV_USER, &Uuid::from_u128(9).to_string())),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(error_code(&r), "PrincipalNotFound");
    let foreign = a.h.foreign_identity.principal_id.to_string();
    let r = a.call("PUT", &other, Some(body(KV_USER, &foreign))).await;
    assert_eq!(
        error_code(&r),
        "PrincipalNotFound",
        "another tenant's principal"
    );
    let r = a
        .call(
            "PUT",
            &other,
            Some(body(&Uuid::from_u128(9).to_string(), &principal)),
        )
        .await;
    assert_eq!(error_code(&r), "RoleDefinitionDoesNotExist");
    let mut user = body(KV_USER, &principal);
    user["properties"]["principalType"] = json!("User");
    let r = a.call("PUT", &other, Some(user)).await;
    assert_eq!(error_code(&r), "UnmatchedPrincipalType");
    let r = a
        .call(
            "PUT",
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/not-a-guid"),
            Some(body(KV_USER, &principal)),
        )
        .await;
    assert_eq!(error_code(&r), "InvalidRoleAssignmentId");

    let list = |filter: &str| {
        format!("{scope}/providers/Microsoft.Authorization/roleAssignments?$filter={filter}")
    };
    let names = |r: &Reply| -> Vec<String> {
        r.json()["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = a.call("GET", &list("atScope()"), None).await;
    let at = names(&r);
    assert!(
        at.contains(&name.to_string()) && at.contains(&Uuid::from_u128(0xa0).to_string()),
        "{at:?}"
    );
    let r = a
        .call(
            "GET",
            &list(&format!("principalId%20eq%20%27{principal}%27")),
            None,
        )
        .await;
    assert_eq!(names(&r), vec![name.to_string()]);
    let vault_scope = format!("{scope}/providers/Microsoft.KeyVault/vaults/kv1");
    let r = a
        .call(
            "GET",
            &format!(
                "{vault_scope}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()"
            ),
            None,
        )
        .await;
    assert!(
        names(&r).contains(&name.to_string()),
        "inherited from the group"
    );

    assert_eq!(a.call("DELETE", &path, None).await.status, 200);
    assert_eq!(a.call("DELETE", &path, None).await.status, 204);
    assert_eq!(a.call("GET", &path, None).await.status, 404);
}

#[tokio::test]
async fn rbac_is_enforced_on_management_calls() {
    let h_sub = {
        let a = Arm::new().await;
        a.sub.clone()
    };
    let scope = format!("/subscriptions/{h_sub}/resourceGroups/rg-read");
    let a = Arm::with_role(builtin::READER, Some(&format!("/subscriptions/{h_sub}"))).await;
    // Readers read, but cannot write.
    let r = a
        .call(
            "GET",
            &format!("/subscriptions/{}/resourcegroups", a.sub),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let r = a
        .call("PUT", &scope, Some(json!({"location": "westeurope"})))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(error_code(&r), "AuthorizationFailed");
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        msg.contains("Microsoft.Resources/subscriptions/resourceGroups/write"),
        "{msg}"
    );
    assert!(
        msg.contains(&a.h.fixture.identity.principal_id.to_string()),
        "{msg}"
    );
    // The denial is in the activity log.
    let denied = |log: &[wif_store::activity::ActivityRecord]| {
        log.iter().any(|r| {
            r.status == 403
                && r.operation.ends_with("resourceGroups/write")
                && r.error.as_deref() == Some("AuthorizationFailed")
        })
    };
    // The log is written in the background: poll, bounded.
    let mut log = Vec::new();
    for _ in 0..100 {
        log =
            a.h.fixture
                .store
                .activity(&ActivityQuery::default())
                .await
                .unwrap();
        if denied(&log) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(denied(&log), "{log:?}");
}

#[tokio::test]
async fn managed_clusters_issuer_and_workload_identity() {
    let a = Arm::new().await;
    a.group("rg-aks").await;
    let fixture_cluster = format!(
        "{}/providers/Microsoft.ContainerService/managedClusters/aks-eastus",
        a.rg("rg-aks")
    );
    let r = a.call("GET", &fixture_cluster, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["properties"]["oidcIssuerProfile"]["issuerURL"],
        a.h.issuer()
    );

    let path = format!(
        "{}/providers/Microsoft.ContainerService/managedClusters/aks2",
        a.rg("rg-aks")
    );
    let r = a.call("PUT", &path, Some(json!({"location": "westeurope", "properties": {"securityProfile": {"workloadIdentity": {"enabled": true}}}}))).await;
    assert_eq!(r.status, 400, "workload identity needs the issuer");
    let r = a
        .call(
            "PUT",
            &path,
            Some(json!({"location": "westeurope", "properties": {"dnsPrefix": "aks2"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["properties"]["oidcIssuerProfile"],
        json!({"enabled": false})
    );
    // Until the issuer is enabled, nothing is served at its address.
    let dormant = {
        let d = a.h.fixture.store.load_directory().await.unwrap();
        let c = d
            .clusters
            .iter()
            .find(|c| c.name.as_str() == "aks2")
            .unwrap();
        c.issuer
            .as_str()
            .trim_start_matches("https://wif.test:8443")
            .to_owned()
            + ".well-known/openid-configuration"
    };
    assert_eq!(
        a.h.get(&dormant).await.status,
        404,
        "a disabled issuer is not served"
    );
    let r = a.call("PUT", &path, Some(json!({"location": "westeurope", "properties": {
        "oidcIssuerProfile": {"enabled": true}, "securityProfile": {"workloadIdentity": {"enabled": true}}}}))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let issuer = r.json()["properties"]["oidcIssuerProfile"]["issuerURL"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        issuer.starts_with("https://wif.test:8443/westeurope/") && issuer.ends_with('/'),
        "{issuer}"
    );
    // The issuer is served at once, with its own key.
    let discovery = issuer
        .trim_start_matches("https://wif.test:8443")
        .to_owned()
        + ".well-known/openid-configuration";
    let r = a.h.get(&discovery).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["issuer"], issuer);
    let r = a.call("PUT", &path, Some(json!({"location": "westeurope", "properties": {"oidcIssuerProfile": {"enabled": false}}}))).await;
    assert_eq!(r.status, 400);
    assert_eq!(a.call("DELETE", &path, None).await.status, 200);
    assert_eq!(a.call("GET", &path, None).await.status, 404);
}

#[tokio::test]
async fn vaults_and_storage_accounts() {
    let a = Arm::new().await;
    a.group("rg-data").await;
    let vault = format!(
        "{}/providers/Microsoft.KeyVault/vaults/kv-arm",
        a.rg("rg-data")
    );
    let r = a.call("PUT", &vault, Some(json!({"location": "westeurope", "properties": {
        "tenantId": a.h.tid(), "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": true,
        "enablePurgeProtection": true}}))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["properties"]["vaultUri"],
        "https://kv-arm.vault.localhost:8443/"
    );
    assert_eq!(v["properties"]["softDeleteRetentionInDays"], 90);
    let r = a
        .call(
            "PUT",
            &vault,
            Some(json!({"properties": {"enablePurgeProtection": false}})),
        )
        .await;
    assert_eq!(r.status, 400, "purge protection is irreversible");
    a.group("rg-other").await;
    let r = a
        .call(
            "PUT",
            &format!(
                "{}/providers/Microsoft.KeyVault/vaults/KV-ARM",
                a.rg("rg-other")
            ),
            Some(json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(error_code(&r), "VaultAlreadyExists");
    let r = a
        .call(
            "PUT",
            &format!("{}/providers/Microsoft.KeyVault/vaults/-x", a.rg("rg-data")),
            Some(json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(error_code(&r), "VaultNameNotValid");
    assert_eq!(a.call("DELETE", &vault, None).await.status, 200);

    // A group's delete takes its vaults' secrets too: a new vault of the same name starts empty.
    a.group("rg-gone").await;
    let gone = format!(
        "{}/providers/Microsoft.KeyVault/vaults/kv-gone",
        a.rg("rg-gone")
    );
    let r = a
        .call("PUT", &gone, Some(json!({"location": "westeurope"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let name = wif_core::ids::VaultName::parse("kv-gone").unwrap();
    let secret = wif_core::ids::SecretName::parse("s1").unwrap();
    let version = wif_store::keyvault::SecretVersion {
        version: "0".repeat(32),
        sealed_value: vec![1, 2, 3],
        content_type: None,
        tags: Default::default(),
        enabled: true,
        not_before: None,
        expires: None,
        created: a.h.now(),
        updated: a.h.now(),
    };
    a.h.fixture
        .store
        .kv_add_version(&name, &secret, &version)
        .await
        .unwrap();
    assert_eq!(a.call("DELETE", &a.rg("rg-gone"), None).await.status, 202);
    assert!(
        a.h.fixture
            .store
            .kv_secrets(&name)
            .await
            .unwrap()
            .is_empty()
    );

    let st = format!(
        "{}/providers/Microsoft.Storage/storageAccounts/stwif1",
        a.rg("rg-data")
    );
    let r = a.call("PUT", &st, Some(json!({"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["properties"]["primaryEndpoints"]["blob"],
        "https://stwif1.blob.core.windows.net/"
    );
    let r = a
        .call(
            "PUT",
            &format!(
                "{}/providers/Microsoft.Storage/storageAccounts/stwif1",
                a.rg("rg-other")
            ),
            Some(json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(error_code(&r), "StorageAccountAlreadyTaken");
    let r = a
        .call(
            "PUT",
            &format!(
                "{}/providers/Microsoft.Storage/storageAccounts/Bad_Name",
                a.rg("rg-data")
            ),
            Some(json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(error_code(&r), "AccountNameInvalid");
    assert_eq!(
        a.call("GET", &st, None).await.json()["sku"]["tier"],
        "Standard"
    );
}

/// An app registration of the fixture tenant without credentials.
fn app(h: &Harness) -> Application {
    Application {
        app_id: ClientId::from_uuid(Uuid::from_u128(0xa99)),
        object_id: Uuid::from_u128(0xa9a),
        principal_id: PrincipalId::from_uuid(Uuid::from_u128(0xa9b)),
        tenant: h.fixture.tenant.id,
        display_name: "ci".into(),
        secrets: vec![],
        certificates: vec![],
        federated_credentials: vec![],
        created_at: h.now(),
    }
}

#[tokio::test]
async fn client_secrets_at_the_token_service() {
    let h = Harness::new().await;
    let rng = wif_testkit::SeededRandom::new(5);
    let now = h.now();
    let (value, live) = wif_store::secrets::new_secret(
        &rng,
        Uuid::from_u128(1),
        None,
        now.minus_secs(60),
        now.plus_secs(3600),
    );
    let (old_value, expired) = wif_store::secrets::new_secret(
        &rng,
        Uuid::from_u128(2),
        None,
        now.minus_secs(7200),
        now.minus_secs(60),
    );
    let mut application = app(&h);
    application.secrets = vec![live, expired];
    h.fixture
        .store
        .apply(&[Write::PutApplication(application.clone())])
        .await
        .unwrap();
    h.rebuild_snapshot().await;
    let call = |secret: &str, client: &str| {
        Call::to(h.v2_path())
            .set("grant_type", "client_credentials")
            .set("client_id", client)
            .set("scope", ARM_SCOPE)
            .set("client_secret", secret)
    };
    let app_id = application.app_id.to_string();
    let r = h.call(&call(&value, &app_id)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let claims = decode_segment(r.json()["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["appid"], app_id);
    assert_eq!(claims["oid"], application.principal_id.to_string());
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["aud"], "https://management.core.windows.net/");
    assert!(claims.get("xms_mirid").is_none());
    assert_entra_error(&h.call(&call("wrong", &app_id)).await, 401, 7000215);
    assert_entra_error(&h.call(&call(&old_value, &app_id)).await, 401, 7000222);
    // A managed identity has no secrets.
    assert_entra_error(&h.call(&call(&value, &h.client_id())).await, 401, 7000215);
    // A secret is not an assertion type.
    let r = h
        .call(&call(&value, &app_id).set("client_assertion_type", JWT_BEARER))
        .await;
    assert_eq!(
        r.status, 200,
        "a stray assertion type is ignored with a secret"
    );
}

/// A self-signed certificate (RSA) and its key, as `az ad sp create-for-rbac --create-cert` makes.
fn certificate(not_after_year: i32) -> (Vec<u8>, wif_jose::SigningKey) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after_year, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let signer = wif_jose::SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap();
    (cert.der().to_vec(), signer)
}

fn key_credential(der: &[u8], n: u128) -> wif_core::apps::KeyCredential {
    let k = wif_jose::x509::certificate_key(der).unwrap();
    wif_core::apps::KeyCredential {
        key_id: Uuid::from_u128(n),
        display_name: Some("CN=ci".into()),
        x5t: k.x5t,
        x5t_s256: k.x5t_s256,
        public_jwk: serde_json::to_string(&k.jwk).unwrap(),
        certificate: String::new(),
        start: wif_core::UnixTime::from_secs(k.not_before),
        end: wif_core::UnixTime::from_secs(k.not_after),
    }
}

#[tokio::test]
async fn certificate_assertions_at_the_token_service() {
    let h = Harness::new().await;
    let (der, signer) = certificate(2099);
    let (old_der, old_signer) = certificate(2021);
    let (_, stranger) = certificate(2099);
    let mut application = app(&h);
    application.certificates = vec![key_credential(&der, 1), key_credential(&old_der, 2)];
    h.fixture
        .store
        .apply(&[Write::PutApplication(application.clone())])
        .await
        .unwrap();
    h.rebuild_snapshot().await;
    let app_id = application.app_id.to_string();
    let cert = wif_jose::x509::certificate_key(&der).unwrap();
    let now = h.now().as_secs();
    let assertion = |signer: &wif_jose::SigningKey, thumb: (&str, &str), aud: &str| {
        let claims = json!({"iss": app_id, "sub": app_id, "aud": aud, "jti": "j1",
                            "nbf": now, "iat": now, "exp": now + 600});
        signer.sign_jwt(&claims, &[thumb]).unwrap()
    };
    let endpoint = format!("https://wif.test:8443{}", h.v2_path());
    let call = |a: String| {
        Call::to(h.v2_path())
            .set("grant_type", "client_credentials")
            .set("client_id", app_id.as_str())
            .set("scope", ARM_SCOPE)
            .set("client_assertion_type", JWT_BEARER)
            .set("client_assertion", a)
    };
    for thumb in [
        ("x5t#S256", cert.x5t_s256.as_str()),
        ("x5t", cert.x5t.as_str()),
    ] {
        let r = h.call(&call(assertion(&signer, thumb, &endpoint))).await;
        assert_eq!(r.status, 200, "{thumb:?}: {}", r.text());
        let claims = decode_segment(r.json()["access_token"].as_str().unwrap(), 1);
        assert_eq!(claims["appid"], app_id);
        assert_eq!(claims["appidacr"], "2");
    }
    // Signed by another key under the registered thumbprint.
    let r = h
        .call(&call(assertion(
            &stranger,
            ("x5t#S256", cert.x5t_s256.as_str()),
            &endpoint,
        )))
        .await;
    assert_entra_error(&r, 401, 700027);
    // A thumbprint nobody registered; an expired certificate.
    let r = h
        .call(&call(assertion(&signer, ("x5t#S256", "bm9wZQ"), &endpoint)))
        .await;
    assert!(
        assert_entra_error(&r, 401, 700027)["error_description"]
            .as_str()
            .unwrap()
            .contains("not registered")
    );
    let old = wif_jose::x509::certificate_key(&old_der).unwrap();
    let r = h
        .call(&call(assertion(
            &old_signer,
            ("x5t#S256", old.x5t_s256.as_str()),
            &endpoint,
        )))
        .await;
    assert_entra_error(&r, 401, 700027);
    // The audience must be this tenant's token endpoint.
    let r = h
        .call(&call(assertion(
            &signer,
            ("x5t#S256", cert.x5t_s256.as_str()),
            "https://elsewhere/token",
        )))
        .await;
    assert_entra_error(&r, 400, 50027);
}
