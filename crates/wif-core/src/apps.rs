//! App registrations: an application object, its service principal in the home tenant, and the
//! credentials a confidential client authenticates with — client secrets (kept only as salted
//! hashes; the value is shown once, when it is created), certificates (public keys only) and
//! federated identity credentials (so an app can federate like a managed identity).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::directory::FederatedIdentityCredential;
use crate::ids::{ClientId, PrincipalId, TenantId};
use crate::time::UnixTime;

/// The most client secrets, certificates or federated credentials one application may hold.
pub const MAX_APP_CREDENTIALS: usize = 20;

/// An app registration together with its service principal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// `appId`: the client id the app signs in with.
    pub app_id: ClientId,
    /// Object id of the application object (Graph `/applications/{id}`).
    pub object_id: Uuid,
    /// Object id of its service principal (Graph `/servicePrincipals/{id}`): the `oid` of its
    /// tokens and the RBAC principal.
    pub principal_id: PrincipalId,
    /// Home tenant.
    pub tenant: TenantId,
    /// Display name.
    pub display_name: String,
    /// Client secrets (`passwordCredentials`).
    #[serde(default)]
    pub secrets: Vec<PasswordCredential>,
    /// Certificates (`keyCredentials`).
    #[serde(default)]
    pub certificates: Vec<KeyCredential>,
    /// Federated identity credentials (`identity` is this app's `app_id`).
    #[serde(default)]
    pub federated_credentials: Vec<FederatedIdentityCredential>,
    /// When it was created.
    pub created_at: UnixTime,
}

impl Application {
    /// The client secret with `key_id`, if any.
    pub fn secret(&self, key_id: &Uuid) -> Option<&PasswordCredential> {
        self.secrets.iter().find(|s| s.key_id == *key_id)
    }
}

/// A client secret as stored: a hint, the validity window and a salted SHA-256 of the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordCredential {
    /// `keyId`.
    pub key_id: Uuid,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `hint`: the first three characters of the value, as Entra shows them.
    pub hint: String,
    /// Random salt, base64url.
    pub salt: String,
    /// SHA-256 of salt ‖ value, base64url.
    pub hash: String,
    /// `startDateTime`.
    pub start: UnixTime,
    /// `endDateTime`: after it the secret is refused with AADSTS7000222.
    pub end: UnixTime,
}

/// A certificate as stored: its public key and thumbprints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCredential {
    /// `keyId`.
    pub key_id: Uuid,
    /// `displayName` (the certificate's subject).
    pub display_name: Option<String>,
    /// SHA-1 thumbprint of the DER certificate, base64url (`x5t` of client assertions).
    pub x5t: String,
    /// SHA-256 thumbprint, base64url (`x5t#S256`).
    pub x5t_s256: String,
    /// The public key as a JWK (JSON).
    pub public_jwk: String,
    /// The DER certificate, base64 (Graph `keyCredentials[].key`).
    pub certificate: String,
    /// `startDateTime` (the certificate's notBefore).
    pub start: UnixTime,
    /// `endDateTime` (notAfter).
    pub end: UnixTime,
}
