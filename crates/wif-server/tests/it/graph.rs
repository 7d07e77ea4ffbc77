//! The Microsoft Graph subset over HTTP: the lookups `az role assignment create --assignee`
//! makes, app registrations with secrets and federated credentials, and Graph's error bodies.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use uuid::Uuid;
use wif_core::rbac::{RoleAssignment, Scope, builtin};
use wif_store::model::Write;

use crate::harness::{Call, Harness, Reply, decode_segment};

const GRAPH_SCOPE: &str = "https://wif.test:8443/graph/.default";

/// The fixture identity with a Graph token, Owner of the subscription when `owner`.
async fn graph(owner: bool) -> (Harness, String) {
    let h = Harness::new().await;
    if owner {
        let sub = h.fixture.identity.subscription;
        h.fixture
            .store
            .apply(&[Write::PutRoleAssignment(RoleAssignment {
                id: Uuid::from_u128(0xa0),
                principal_id: h.fixture.identity.principal_id,
                role_definition_id: builtin::OWNER,
                scope: Scope::parse(&format!("/subscriptions/{sub}")).unwrap(),
                meta: Default::default(),
            })])
            .await
            .unwrap();
        h.rebuild_snapshot().await;
    }
    let r = h.call(&h.v2_valid().set("scope", GRAPH_SCOPE)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    (h, token)
}

async fn send(h: &Harness, token: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    h.send(req.body(body).unwrap()).await
}

#[tokio::test]
async fn service_principal_lookups_as_the_az_cli_makes_them() {
    let (h, token) = graph(false).await;
    let client = h.client_id();
    let principal = h.fixture.identity.principal_id.to_string();
    let path = format!(
        "/graph/v1.0/servicePrincipals?$filter=servicePrincipalNames%2Fany%28c%3Ac%20eq%20%27{client}%27%29"
    );
    let r = send(&h, &token, "GET", &path, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["value"][0]["id"], principal);
    assert_eq!(v["value"][0]["appId"], client);
    assert_eq!(v["value"][0]["servicePrincipalType"], "ManagedIdentity");
    // Both prefixes, and appId eq.
    let r = send(
        &h,
        &token,
        "GET",
        &format!("/v1.0/servicePrincipals?$filter=appId%20eq%20%27{client}%27"),
        None,
    )
    .await;
    assert_eq!(r.json()["value"][0]["id"], principal);
    // An object id is not a service principal name (as in real Graph).
    let r = send(&h, &token, "GET", &path.replace(&client, &principal), None).await;
    assert_eq!(r.json()["value"], json!([]));
    let r = send(
        &h,
        &token,
        "GET",
        "/v1.0/servicePrincipals?$filter=startswith(displayName,'x')",
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Unsupported")
    );

    let r = send(
        &h,
        &token,
        "POST",
        "/graph/v1.0/directoryObjects/getByIds",
        Some(json!({
        "ids": [principal, Uuid::from_u128(5).to_string()],
        "types": ["user", "group", "servicePrincipal", "directoryObjectPartnerReference"]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["value"][0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
    let r = send(
        &h,
        &token,
        "GET",
        &format!("/v1.0/servicePrincipals/{principal}"),
        None,
    )
    .await;
    assert_eq!(r.json()["displayName"], "id-workload");
    let r = send(
        &h,
        &token,
        "GET",
        &format!("/v1.0/servicePrincipals/{}", Uuid::from_u128(5)),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "Request_ResourceNotFound");
    assert!(r.json()["error"]["innerError"]["request-id"].is_string());

    // Another tenant's service principal does not exist for this caller.
    let foreign = h.foreign_identity.principal_id.to_string();
    let r = send(
        &h,
        &token,
        "GET",
        &format!("/v1.0/servicePrincipals/{foreign}"),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let foreign_app = h.foreign_identity.client_id.to_string();
    let r = send(
        &h,
        &token,
        "GET",
        &format!("/v1.0/servicePrincipals(appId='{foreign_app}')"),
        None,
    )
    .await;
    assert_eq!(r.status, 404);

    let r = send(&h, "nope", "GET", "/v1.0/servicePrincipals", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "InvalidAuthenticationToken");
    // A token for ARM is not a token for Graph.
    let arm = h
        .call(
            &h.v2_valid()
                .set("scope", "https://management.azure.com/.default"),
        )
        .await;
    let arm = arm.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        send(&h, &arm, "GET", "/v1.0/servicePrincipals", None)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn applications_secrets_and_federated_credentials() {
    let (h, token) = graph(true).await;
    let r = send(
        &h,
        &token,
        "POST",
        "/v1.0/applications",
        Some(json!({"displayName": "ci"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let app = r.json();
    let (id, app_id) = (
        app["id"].as_str().unwrap().to_owned(),
        app["appId"].as_str().unwrap().to_owned(),
    );
    let r = send(
        &h,
        &token,
        "POST",
        &format!("/v1.0/applications/{id}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "ci secret"}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let secret = r.json()["secretText"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["hint"], secret[..3]);
    let listed = send(
        &h,
        &token,
        "GET",
        &format!("/v1.0/applications(appId='{app_id}')"),
        None,
    )
    .await;
    assert_eq!(
        listed.json()["passwordCredentials"][0]["secretText"],
        Value::Null,
        "shown once"
    );

    // The new secret signs in at once.
    let call = Call::to(h.v2_path())
        .set("grant_type", "client_credentials")
        .set("client_id", app_id.as_str())
        .set("client_secret", secret.as_str())
        .set("scope", "https://management.azure.com/.default");
    let r = h.call(&call).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let claims = decode_segment(r.json()["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["appid"], app_id);

    // A federated credential on the app lets a workload sign in as it.
    let fics = format!("/v1.0/applications/{id}/federatedIdentityCredentials");
    let r = send(&h, &token, "POST", &fics, Some(json!({"name": "gh-main", "issuer": h.issuer(),
        "subject": "system:serviceaccount:default:workload", "audiences": ["api://AzureADTokenExchange"]}))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let fic_id = r.json()["id"].as_str().unwrap().to_owned();
    let r = h
        .call(&h.v2_valid().set("client_id", app_id.as_str()))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &h,
        &token,
        "POST",
        &fics,
        Some(json!({"name": "two", "issuer": h.issuer(),
        "subject": "s", "audiences": ["a", "b"]})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        send(&h, &token, "GET", &format!("{fics}/{fic_id}"), None)
            .await
            .json()["name"],
        "gh-main"
    );
    assert_eq!(
        send(&h, &token, "DELETE", &format!("{fics}/gh-main"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        send(&h, &token, "GET", &fics, None).await.json()["value"],
        json!([])
    );

    let key = listed.json()["passwordCredentials"][0]["keyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = send(
        &h,
        &token,
        "POST",
        &format!("/v1.0/applications/{id}/removePassword"),
        Some(json!({"keyId": key})),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        send(
            &h,
            &token,
            "DELETE",
            &format!("/v1.0/applications/{id}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        send(&h, &token, "GET", &format!("/v1.0/applications/{id}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn writes_need_a_role() {
    let (h, token) = graph(false).await;
    let r = send(
        &h,
        &token,
        "POST",
        "/v1.0/applications",
        Some(json!({"displayName": "ci"})),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        send(&h, &token, "GET", "/v1.0/applications", None)
            .await
            .json()["value"],
        json!([])
    );
}
