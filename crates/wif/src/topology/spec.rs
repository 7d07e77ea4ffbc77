//! The topology file's format (`apiVersion: wif/v1`), as serde structs that reject unknown
//! fields and parse every identifier through its wif-core type. See `docs/topology.md`.

use serde::Deserialize;
use wif_core::ids::{
    Audience, ClientId, ClusterName, CredentialName, IdentityName, Issuer, PrincipalId, RegionName,
    ResourceGroupName, Subject, SubscriptionId, TenantDomain, TenantId,
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
