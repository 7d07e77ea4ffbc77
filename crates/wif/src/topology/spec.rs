//! The topology file's format (`apiVersion: wif/v1`), as serde structs that reject unknown
//! fields and parse every identifier through its wif-core type. See `docs/topology.md`.

use std::collections::BTreeMap;

use serde::Deserialize;
use wif_core::ids::{
    Audience, ClientId, ClusterName, CredentialName, IdentityName, Issuer, Namespace, PrincipalId,
    RegionName, ResourceGroupName, SecretName, ServiceAccountName, Subject, SubscriptionId,
    TenantDomain, TenantId, VaultName,
};

/// The file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologyFile {
    /// `wif/v1`
    #[serde(default)]
    pub api_version: Option<String>,
    /// Tenants.
    #[serde(default)]
    pub tenants: Vec<TenantSpec>,
    /// Regions.
    #[serde(default)]
    pub regions: Vec<RegionSpec>,
    /// Clusters.
    #[serde(default)]
    pub clusters: Vec<ClusterSpec>,
    /// Managed identities.
    #[serde(default)]
    pub identities: Vec<IdentitySpec>,
    /// Key vaults and their secrets.
    #[serde(default)]
    pub vaults: Vec<VaultSpec>,
    /// Role assignments.
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignmentSpec>,
}

/// A tenant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantSpec {
    /// Handle used by the rest of the file; also the display name.
    pub name: String,
    /// Tenant id; generated once when omitted.
    #[serde(default)]
    pub id: Option<TenantId>,
    /// Primary domain; `<name>.onmicrosoft.com` when omitted.
    #[serde(default)]
    pub domain: Option<TenantDomain>,
    /// Subscriptions; one named after the tenant when omitted.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionSpec>,
}

/// A subscription.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SubscriptionSpec {
    /// Subscription id; generated once when omitted.
    #[serde(default)]
    pub id: Option<SubscriptionId>,
    /// Display name.
    pub name: String,
}

/// A region.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// Region name.
    pub name: RegionName,
}

/// A cluster with an OIDC issuer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    /// Cluster name.
    pub name: ClusterName,
    /// Tenant handle, id or domain.
    pub tenant: String,
    /// Region (must be declared under `regions`).
    pub region: RegionName,
    /// Subscription name or id; the tenant's first when omitted.
    #[serde(default)]
    pub subscription: Option<String>,
    /// Resource group.
    pub resource_group: ResourceGroupName,
    /// Kubernetes service accounts of the cluster.
    #[serde(default)]
    pub service_accounts: Vec<ServiceAccountSpec>,
}

/// A Kubernetes service account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceAccountSpec {
    /// Namespace.
    pub namespace: Namespace,
    /// Name.
    pub name: ServiceAccountName,
    /// A managed identity declared in this file or the store: shorthand for the
    /// `azure.workload.identity/client-id` annotation with its client id.
    #[serde(default)]
    pub identity: Option<IdentityName>,
    /// Annotations, such as `azure.workload.identity/client-id`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A key vault (Azure RBAC authorization).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultSpec {
    /// Vault name (globally unique, 3–24 characters).
    pub name: VaultName,
    /// Tenant handle, id or domain.
    pub tenant: String,
    /// Subscription name or id; the tenant's first when omitted.
    #[serde(default)]
    pub subscription: Option<String>,
    /// Resource group.
    pub resource_group: ResourceGroupName,
    /// Region; the first region when omitted.
    #[serde(default)]
    pub location: Option<RegionName>,
    /// Soft-delete retention in days (7–90, default 90).
    #[serde(default)]
    pub soft_delete_retention_in_days: Option<u16>,
    /// Purge protection (cannot be switched off once on).
    #[serde(default)]
    pub enable_purge_protection: Option<bool>,
    /// Secrets created when absent (an existing secret is left as it is).
    #[serde(default)]
    pub secrets: Vec<SecretSpec>,
}

/// A secret to create in a vault.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretSpec {
    /// Secret name.
    pub name: SecretName,
    /// Inline value (for demos; prefer `valueFrom`).
    #[serde(default)]
    pub value: Option<String>,
    /// Where the value comes from.
    #[serde(default)]
    pub value_from: Option<ValueFrom>,
    /// Content type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A secret value's source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValueFrom {
    /// A file, read as is (relative to the topology file's directory).
    #[serde(default)]
    pub file: Option<String>,
    /// An environment variable of the `wif up` process.
    #[serde(default)]
    pub env: Option<String>,
}

/// A role assignment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleAssignmentSpec {
    /// Role name (`Key Vault Secrets User`) or role definition GUID.
    pub role: String,
    /// A managed identity (by name) holding the role.
    #[serde(default)]
    pub identity: Option<IdentityName>,
    /// Or the principal's object id.
    #[serde(default)]
    pub principal_id: Option<PrincipalId>,
    /// An explicit ARM scope (`/subscriptions/…`).
    #[serde(default)]
    pub scope: Option<String>,
    /// Or a vault declared in this file or the store…
    #[serde(default)]
    pub vault: Option<VaultName>,
    /// …optionally narrowed to one of its secrets.
    #[serde(default)]
    pub secret: Option<SecretName>,
}

/// A user-assigned managed identity.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdentitySpec {
    /// Identity name.
    pub name: IdentityName,
    /// Tenant handle, id or domain.
    pub tenant: String,
    /// Subscription name or id; the tenant's first when omitted.
    #[serde(default)]
    pub subscription: Option<String>,
    /// Resource group.
    pub resource_group: ResourceGroupName,
    /// Location; the first region when omitted.
    #[serde(default)]
    pub location: Option<RegionName>,
    /// Client id; generated once when omitted.
    #[serde(default)]
    pub client_id: Option<ClientId>,
    /// Principal id; generated once when omitted.
    #[serde(default)]
    pub principal_id: Option<PrincipalId>,
    /// Federated identity credentials.
    #[serde(default)]
    pub federated_credentials: Vec<CredentialSpec>,
}

/// A federated identity credential.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CredentialSpec {
    /// Credential name.
    pub name: CredentialName,
    /// A cluster declared in this file or the store: shorthand for its issuer URL.
    #[serde(default)]
    pub cluster: Option<String>,
    /// The issuer URL, exactly as in `iss` (use this for issuers wif does not host).
    #[serde(default)]
    pub issuer: Option<Issuer>,
    /// The subject.
    pub subject: Subject,
    /// Exactly one audience; `api://AzureADTokenExchange` when omitted.
    #[serde(default)]
    pub audiences: Option<Vec<Audience>>,
}
