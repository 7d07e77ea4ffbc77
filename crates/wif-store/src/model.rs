//! The records wif-store keeps besides the directory rows of `wif_core::directory`: signing
//! keys (sealed at rest, see [`crate::crypto`]), the sign-in log, and [`Write`], one change to
//! the directory as the management API and `wif up` express it. A batch of writes is applied
//! all-or-nothing by [`crate::Store::apply`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wif_core::UnixTime;
use wif_core::directory::{
    Application, Cluster, FederatedIdentityCredential, ManagedIdentity, Region, ResourceGroup,
    ServiceAccount, StorageAccount, Subscription, Tenant, Vault,
};
use wif_core::ids::{
    ClientId, ClusterGuid, CredentialName, KeyId, Namespace, RegionName, ResourceGroupName,
    ServiceAccountName, StorageAccountName, SubscriptionId, TenantId, VaultName,
};
use wif_core::rbac::{RoleAssignment, RoleDefinition};

/// Who signs with a key: a cluster's service-account issuer, or a tenant's STS.
///
/// Printed (and serialised) as `cluster:<guid>` or `tenant:<guid>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KeyOwner {
    /// The OIDC issuer of a cluster (signs service-account tokens).
    Cluster(ClusterGuid),
    /// The STS of a tenant (signs access tokens).
    Tenant(TenantId),
}

impl KeyOwner {
    /// `cluster` or `tenant`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Cluster(_) => "cluster",
            Self::Tenant(_) => "tenant",
        }
    }
}

impl fmt::Display for KeyOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cluster(guid) => write!(f, "cluster:{guid}"),
            Self::Tenant(id) => write!(f, "tenant:{id}"),
        }
    }
}

/// A key owner that is not `cluster:<guid>` or `tenant:<guid>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key owner '{0}': expected cluster:<guid> or tenant:<guid>")]
pub struct InvalidKeyOwner(pub String);

impl FromStr for KeyOwner {
    type Err = InvalidKeyOwner;

    fn from_str(s: &str) -> Result<Self, InvalidKeyOwner> {
        match s.split_once(':') {
            Some(("cluster", guid)) => Ok(Self::Cluster(
                ClusterGuid::parse(guid).map_err(|_| InvalidKeyOwner(s.to_owned()))?,
            )),
            Some(("tenant", id)) => Ok(Self::Tenant(
                TenantId::parse(id).map_err(|_| InvalidKeyOwner(s.to_owned()))?,
            )),
            _ => Err(InvalidKeyOwner(s.to_owned())),
        }
    }
}

impl TryFrom<String> for KeyOwner {
    type Error = InvalidKeyOwner;

    fn try_from(s: String) -> Result<Self, InvalidKeyOwner> {
        s.parse()
    }
}

impl From<KeyOwner> for String {
    fn from(owner: KeyOwner) -> String {
        owner.to_string()
    }
}

/// A signing key as stored. The private half is sealed with the key-encryption key
/// ([`crate::crypto::KeyEncryptionKey::seal`], with the kid as associated data), so a copy of
/// the database alone cannot sign.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    /// Key id (an RFC 7638 thumbprint for wif's own keys).
    pub kid: KeyId,
    /// Who signs with it.
    pub owner: KeyOwner,
    /// JWS algorithm, such as `RS256`.
    pub algorithm: String,
    /// The public JWK as JSON, published in the owner's JWKS.
    pub public_jwk: String,
    /// AES-256-GCM sealed PKCS#8 private key (see [`crate::crypto`]).
    pub sealed_private_key: Vec<u8>,
    /// When the key was created.
    pub created_at: UnixTime,
    /// When the key stopped signing; `None` while it may sign.
    pub retired_at: Option<UnixTime>,
    /// After this instant the key is dropped from the JWKS; `None` publishes it indefinitely.
    pub publish_until: Option<UnixTime>,
}

impl SigningKeyRecord {
    /// Whether the key has stopped signing.
    pub fn is_retired(&self) -> bool {
        self.retired_at.is_some()
    }
}

// Sealed bytes are not secret, but they are long and useless in a log line.
impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("owner", &self.owner)
            .field("algorithm", &self.algorithm)
            .field("public_jwk", &self.public_jwk)
            .field(
                "sealed_private_key",
                &format_args!("<{} sealed bytes>", self.sealed_private_key.len()),
            )
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .field("publish_until", &self.publish_until)
            .finish()
    }
}

/// One token request, as the sign-in log keeps it: who asked, which credential matched, and
/// the result. Presented values are kept as text, since a failed request may carry anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRecord {
    /// Log entry id (unique; appending the same id twice keeps the first).
    pub id: Uuid,
    /// When the request was decided.
    pub time: UnixTime,
    /// The tenant as presented in the path.
    pub tenant: String,
    /// The tenant it resolved to, if any.
    pub tenant_id: Option<TenantId>,
    /// `client_id` as presented.
    pub client_id: String,
    /// ARM resource id of the matched managed identity.
    pub identity: Option<String>,
    /// Name of the federated credential that matched.
    pub credential: Option<String>,
    /// `iss` of the client assertion.
    pub assertion_issuer: Option<String>,
    /// `sub` of the client assertion.
    pub assertion_subject: Option<String>,
    /// `aud` of the client assertion.
    pub assertion_audience: Option<String>,
    /// The resource the token was requested for.
    pub resource: Option<String>,
    /// `0` for success, otherwise the AADSTS code.
    pub result_code: u32,
    /// The OAuth error and a short message, on failure.
    pub error: Option<String>,
    /// Correlation id of the request.
    pub correlation_id: Uuid,
    /// Trace id of the request.
    pub trace_id: Uuid,
}

impl SignInRecord {
    /// The record of a request as it arrives, before anything about it is known: the tenant and
    /// client id as presented, and a success result until a failure is recorded.
    pub fn arriving(
        ids: (Uuid, Uuid, Uuid),
        time: UnixTime,
        tenant: &str,
        client_id: &str,
    ) -> Self {
        let (id, correlation_id, trace_id) = ids;
        Self {
            id,
            time,
            tenant: tenant.to_owned(),
            tenant_id: None,
            client_id: client_id.to_owned(),
            identity: None,
            credential: None,
            assertion_issuer: None,
            assertion_subject: None,
            assertion_audience: None,
            resource: None,
            result_code: 0,
            error: None,
            correlation_id,
            trace_id,
        }
    }

    /// Whether the request succeeded.
    pub fn is_success(&self) -> bool {
        self.result_code == 0
    }
}

/// Which sign-ins to list; results are newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInQuery {
    /// Only entries at or after this time.
    pub since: Option<UnixTime>,
    /// Only failed requests (`result_code != 0`).
    pub failed_only: bool,
    /// Only entries whose presented `client_id`, or whose matched identity's ARM id or name,
    /// equals this text case-insensitively.
    pub identity: Option<String>,
    /// At most this many entries; `0` means no limit.
    pub limit: usize,
}

/// One directory change. `Put*` is an upsert, keyed as noted on each variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Write {
    /// Creates or replaces a tenant, keyed by id.
    PutTenant(Tenant),
    /// Deletes a tenant that has no subscriptions, clusters or identities left.
    DeleteTenant(TenantId),
    /// Creates or replaces a subscription, keyed by id.
    PutSubscription(Subscription),
    /// Deletes a subscription.
    DeleteSubscription(SubscriptionId),
    /// Creates or replaces a region, keyed by name.
    PutRegion(Region),
    /// Deletes a region.
    DeleteRegion(RegionName),
    /// Creates or replaces a cluster, keyed by guid.
    PutCluster(Cluster),
    /// Deletes a cluster.
    DeleteCluster(ClusterGuid),
    /// Creates or replaces a managed identity, keyed by client id.
    PutIdentity(ManagedIdentity),
    /// Deletes a managed identity and its federated credentials.
    DeleteIdentity(ClientId),
    /// Creates or replaces a federated credential, keyed by (identity, lower-case name).
    PutCredential(FederatedIdentityCredential),
    /// Deletes a federated credential (name compared case-insensitively).
    DeleteCredential {
        /// The identity holding it.
        identity: ClientId,
        /// Its name.
        name: CredentialName,
    },
    /// Creates or replaces a Kubernetes service account, keyed by (cluster, namespace, name).
    PutServiceAccount(ServiceAccount),
    /// Deletes a service account.
    DeleteServiceAccount {
        /// The cluster.
        cluster: ClusterGuid,
        /// Namespace.
        namespace: Namespace,
        /// Name.
        name: ServiceAccountName,
    },
    /// Creates or replaces a key vault, keyed by name.
    PutVault(Vault),
    /// Deletes a key vault (its secrets are the Key Vault store's to remove).
    DeleteVault(VaultName),
    /// Creates or replaces a custom role definition, keyed by its GUID; role names are unique
    /// case-insensitively and may not take a built-in role's name or GUID.
    PutRoleDefinition(RoleDefinition),
    /// Deletes a custom role definition that no assignment uses.
    DeleteRoleDefinition(Uuid),
    /// Creates or replaces a role assignment, keyed by its GUID. The role must exist, and one
    /// principal holds one role at one scope once.
    PutRoleAssignment(RoleAssignment),
    /// Deletes a role assignment.
    DeleteRoleAssignment(Uuid),
    /// Creates or replaces a resource group, keyed by (subscription, case-folded name).
    PutResourceGroup(ResourceGroup),
    /// Deletes a resource group and everything in it: identities (with their credentials),
    /// clusters (with their service accounts), vaults, storage accounts, and the role
    /// assignments at or below its scope.
    DeleteResourceGroup {
        /// Subscription.
        subscription: SubscriptionId,
        /// Name (case-insensitive).
        name: ResourceGroupName,
    },
    /// Creates or replaces an app registration, keyed by app id.
    PutApplication(Application),
    /// Deletes an app registration (and its role assignments).
    DeleteApplication(ClientId),
    /// Creates or replaces a storage account, keyed by name.
    PutStorageAccount(StorageAccount),
    /// Deletes a storage account.
    DeleteStorageAccount(StorageAccountName),
    /// Creates or replaces a signing key, keyed by kid.
    PutSigningKey(SigningKeyRecord),
    /// Stops a key signing, and schedules its removal from the JWKS.
    RetireSigningKey {
        /// The key.
        kid: KeyId,
        /// When it stopped signing.
        retired_at: UnixTime,
        /// When to drop it from the JWKS.
        publish_until: UnixTime,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_owner_round_trips_through_text() {
        let guid = ClusterGuid::from_uuid(Uuid::from_u128(7));
        let owner = KeyOwner::Cluster(guid);
        assert_eq!(
            owner.to_string(),
            "cluster:00000000-0000-0000-0000-000000000007"
        );
        assert_eq!(owner.to_string().parse::<KeyOwner>().unwrap(), owner);
        let tenant = KeyOwner::Tenant(TenantId::from_uuid(Uuid::from_u128(9)));
        assert_eq!(tenant.to_string().parse::<KeyOwner>().unwrap(), tenant);
        let json = serde_json::to_string(&tenant).unwrap();
        assert_eq!(json, "\"tenant:00000000-0000-0000-0000-000000000009\"");
        assert_eq!(serde_json::from_str::<KeyOwner>(&json).unwrap(), tenant);
        for bad in [
            "",
            "cluster",
            "cluster:nope",
            "user:00000000-0000-0000-0000-000000000001",
        ] {
            assert!(bad.parse::<KeyOwner>().is_err(), "{bad}");
        }
    }

    #[test]
    fn signing_key_debug_hides_sealed_bytes() {
        let record = SigningKeyRecord {
            kid: KeyId::parse("k1").unwrap(),
            owner: KeyOwner::Tenant(TenantId::from_uuid(Uuid::from_u128(1))),
            algorithm: "RS256".into(),
            public_jwk: "{}".into(),
            sealed_private_key: vec![42; 64],
            created_at: UnixTime::from_secs(1),
            retired_at: None,
            publish_until: None,
        };
        let text = format!("{record:?}");
        assert!(text.contains("<64 sealed bytes>"), "{text}");
        assert!(!text.contains("42, 42"), "{text}");
    }
}
