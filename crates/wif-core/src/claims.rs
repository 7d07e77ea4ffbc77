//! The claims wif mints: Kubernetes projected service-account tokens (what kubelet asks the
//! API server's `TokenRequest` for) and Entra-shaped v1.0 access tokens for managed identities.

use serde::{Deserialize, Serialize};

/// Claims of a projected service-account token, as a Kubernetes API server issues them
/// (`pkg/serviceaccount/claims.go`): `aud` is always an array, and the `kubernetes.io` object
/// binds the token to its namespace, service account and (for projected tokens) pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountClaims {
    /// Audiences (`api://AzureADTokenExchange` for workload identity).
    pub aud: Vec<String>,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// The cluster's issuer URL.
    pub iss: String,
    /// Unique token id.
    pub jti: String,
    /// Not before (equal to `iat`).
    pub nbf: i64,
    /// `system:serviceaccount:<namespace>:<name>`.
    pub sub: String,
    /// Kubernetes bindings.
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaims,
}

/// The `kubernetes.io` claim object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesClaims {
    /// Namespace.
    pub namespace: String,
    /// The node the pod runs on (present for projected tokens on recent Kubernetes).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub node: Option<ObjectRef>,
    /// The pod the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pod: Option<ObjectRef>,
    /// The service account.
    pub serviceaccount: ObjectRef,
}

/// A name and uid pair, as Kubernetes binds tokens to objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Object name.
    pub name: String,
    /// Object uid.
    pub uid: String,
}

/// Claims of a v1.0 app-only access token as Entra issues it for a managed identity (see
/// `../shared/spec/sdk-wire.md` §6.5): `appid` is the client id, `oid` and `sub` the principal
/// id, `xms_mirid` the identity's ARM id, `iss` `https://sts.windows.net/<tid>/` in Azure and
/// the wif STS's own v1 issuer here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The resource.
    pub aud: String,
    /// The token service's v1 issuer.
    pub iss: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Opaque Entra-internal value; wif sends a random one so parsers that expect it cope.
    pub aio: String,
    /// The client id.
    pub appid: String,
    /// `2`: the client authenticated with a certificate or assertion.
    pub appidacr: String,
    /// Identity provider: the tenant's v1 issuer.
    pub idp: String,
    /// `app`: an app-only token.
    pub idtyp: String,
    /// Principal (object) id.
    pub oid: String,
    /// Opaque refresh hint.
    pub rh: String,
    /// Principal (object) id.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Unique token id.
    pub uti: String,
    /// `1.0`.
    pub ver: String,
    /// The managed identity's ARM resource id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub xms_mirid: Option<String>,
    /// Tenant creation time.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub xms_tcdt: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_claims_use_kubernetes_names() {
        let c = ServiceAccountClaims {
            aud: vec!["api://AzureADTokenExchange".into()],
            exp: 2,
            iat: 1,
            iss: "https://i/".into(),
            jti: "j".into(),
            nbf: 1,
            sub: "system:serviceaccount:ns:sa".into(),
            kubernetes: KubernetesClaims {
                namespace: "ns".into(),
                node: None,
                pod: Some(ObjectRef {
                    name: "p".into(),
                    uid: "u".into(),
                }),
                serviceaccount: ObjectRef {
                    name: "sa".into(),
                    uid: "v".into(),
                },
            },
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["kubernetes.io"]["pod"]["name"], "p");
        assert!(v["kubernetes.io"].get("node").is_none());
        assert!(v["aud"].is_array());
    }
}
