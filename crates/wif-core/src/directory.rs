//! The directory: tenants, regions, clusters (issuers), managed identities and their federated
//! identity credentials, as records and as the immutable, indexed [`Directory`] snapshot the
//! data plane reads on every request. The snapshot is rebuilt from the store on each change
//! and swapped atomically (see `wif_store::snapshot`); nothing here does I/O.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

pub use crate::apps::{Application, KeyCredential, PasswordCredential};
use crate::ids::{
    Audience, ClientId, ClusterGuid, ClusterName, CredentialName, IdentityName, Issuer, Namespace,
    PrincipalId, RegionName, ResourceGroupName, ServiceAccountName, StorageAccountName, Subject,
    SubscriptionId, TenantDomain, TenantId, TenantRef, VaultName,
};
use crate::rbac::{Authorizer, RoleAssignment, RoleDefinition, Scope, built_in_roles};
use crate::time::UnixTime;

/// A Microsoft Entra tenant (directory).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant id (`tid`).
    pub id: TenantId,
    /// The tenant's primary verified domain.
    pub domain: TenantDomain,
    /// Display name.
    pub display_name: String,
    /// When the tenant was created (`xms_tcdt` in tokens).
    pub created_at: UnixTime,
}

/// An Azure subscription, owned by one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Subscription id.
    pub id: SubscriptionId,
    /// The tenant it trusts.
    pub tenant: TenantId,
    /// Display name.
    pub display_name: String,
}

/// A region that hosts clusters (and later vaults and nodes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Region name, such as `eastus`.
    pub name: RegionName,
}

/// A Kubernetes cluster with its own OIDC issuer, like an AKS cluster with the OIDC issuer
/// enabled. The issuer URL is fixed when the cluster is created (as AKS fixes it when the
/// issuer is enabled), because every federated credential that trusts it names it exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Cluster name.
    pub name: ClusterName,
    /// The GUID in the issuer path.
    pub guid: ClusterGuid,
    /// Owning tenant.
    pub tenant: TenantId,
    /// Subscription of the cluster resource.
    pub subscription: SubscriptionId,
    /// Resource group of the cluster resource.
    pub resource_group: ResourceGroupName,
    /// Region.
    pub region: RegionName,
    /// The issuer URL, exactly as it appears in `iss` (trailing slash included).
    pub issuer: Issuer,
    /// `oidcIssuerProfile.enabled`: only an enabled issuer is served and trusted. As on AKS, it
    /// cannot be switched off again once on.
    #[serde(default = "enabled")]
    pub oidc_issuer_enabled: bool,
    /// `securityProfile.workloadIdentity.enabled` (the webhook's switch on AKS).
    #[serde(default = "enabled")]
    pub workload_identity_enabled: bool,
    /// When the cluster was created.
    pub created_at: UnixTime,
}

fn enabled() -> bool {
    true
}

impl Cluster {
    /// The ARM resource id of the managed cluster.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.ContainerService/managedClusters/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

/// A resource group: the container ARM requires for every resource below a subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGroup {
    /// Subscription.
    pub subscription: SubscriptionId,
    /// Name (compared case-insensitively, casing kept).
    pub name: ResourceGroupName,
    /// Location of the group's metadata.
    pub location: RegionName,
    /// ARM tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: UnixTime,
}

impl ResourceGroup {
    /// `/subscriptions/<sub>/resourceGroups/<name>`.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription, self.name
        )
    }
}

/// A storage account (the management resource; the blob data plane comes later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageAccount {
    /// Name, globally unique.
    pub name: StorageAccountName,
    /// Owning tenant.
    pub tenant: TenantId,
    /// Subscription.
    pub subscription: SubscriptionId,
    /// Resource group.
    pub resource_group: ResourceGroupName,
    /// Location.
    pub location: RegionName,
    /// `kind`, such as `StorageV2`.
    pub kind: String,
    /// `sku.name`, such as `Standard_LRS`.
    pub sku: String,
    /// ARM tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: UnixTime,
}

impl StorageAccount {
    /// The ARM resource id.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

/// A user-assigned managed identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedIdentity {
    /// Identity name.
    pub name: IdentityName,
    /// Owning tenant.
    pub tenant: TenantId,
    /// Subscription.
    pub subscription: SubscriptionId,
    /// Resource group.
    pub resource_group: ResourceGroupName,
    /// Location.
    pub location: RegionName,
    /// Application (client) id: what workloads send as `client_id`.
    pub client_id: ClientId,
    /// Service principal object id: `oid`/`sub` of issued tokens and the RBAC principal.
    pub principal_id: PrincipalId,
    /// ARM tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: UnixTime,
}

impl ManagedIdentity {
    /// The ARM resource id, in the casing Entra puts in `xms_mirid`.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

/// A federated identity credential on a managed identity: the identity trusts tokens whose
/// (`iss`, `sub`, `aud`) equal these values exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedIdentityCredential {
    /// The identity (by client id) this credential belongs to.
    pub identity: ClientId,
    /// Credential name, unique per identity.
    pub name: CredentialName,
    /// Trusted issuer.
    pub issuer: Issuer,
    /// Trusted subject.
    pub subject: Subject,
    /// Trusted audiences (Entra requires exactly one).
    pub audiences: Vec<Audience>,
}

/// The most federated credentials one identity may hold (Entra's limit).
pub const MAX_FEDERATED_CREDENTIALS: usize = 20;

/// A Kubernetes service account, as far as token minting needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountRef {
    /// Namespace.
    pub namespace: Namespace,
    /// Name.
    pub name: ServiceAccountName,
}

/// The service-account annotation naming the managed identity's client id (azure-workload-identity).
pub const ANNOTATION_CLIENT_ID: &str = "azure.workload.identity/client-id";
/// The service-account annotation naming the tenant (defaults to the cluster's tenant).
pub const ANNOTATION_TENANT_ID: &str = "azure.workload.identity/tenant-id";
/// The service-account annotation giving the projected token's lifetime in seconds.
pub const ANNOTATION_TOKEN_EXPIRATION: &str =
    "azure.workload.identity/service-account-token-expiration";

/// A Kubernetes service account in a cluster, with the annotations azure-workload-identity reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccount {
    /// The cluster (by the GUID in its issuer URL).
    pub cluster: ClusterGuid,
    /// Namespace.
    pub namespace: Namespace,
    /// Name.
    pub name: ServiceAccountName,
    /// `metadata.uid`, carried in minted tokens' `kubernetes.io.serviceaccount.uid`.
    pub uid: uuid::Uuid,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: UnixTime,
}

impl ServiceAccount {
    /// The `azure.workload.identity/client-id` annotation, if present and non-empty.
    pub fn client_id_annotation(&self) -> Option<&str> {
        self.annotation(ANNOTATION_CLIENT_ID)
    }

    /// The `azure.workload.identity/tenant-id` annotation, if present and non-empty.
    pub fn tenant_id_annotation(&self) -> Option<&str> {
        self.annotation(ANNOTATION_TENANT_ID)
    }

    /// The `azure.workload.identity/service-account-token-expiration` annotation, if present.
    pub fn token_expiration_annotation(&self) -> Option<&str> {
        self.annotation(ANNOTATION_TOKEN_EXPIRATION)
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// `system:serviceaccount:<namespace>:<name>`, the `sub` of its tokens.
    pub fn subject(&self) -> Subject {
        Subject::for_service_account(&self.namespace, &self.name)
    }
}

/// Default soft-delete retention of a vault, in days (Key Vault's default and maximum).
pub const DEFAULT_RETENTION_DAYS: u16 = 90;

/// A Key Vault (RBAC authorization model; access policies are not modelled).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vault {
    /// Vault name: the first label of its host name, globally unique.
    pub name: VaultName,
    /// The tenant whose tokens it accepts.
    pub tenant: TenantId,
    /// Subscription.
    pub subscription: SubscriptionId,
    /// Resource group.
    pub resource_group: ResourceGroupName,
    /// Region.
    pub location: RegionName,
    /// Soft-delete retention, 7 to 90 days.
    pub retention_days: u16,
    /// Purge protection: a deleted secret cannot be purged before its scheduled purge date.
    pub purge_protection: bool,
    /// `enableRbacAuthorization`: wif implements only the RBAC model, so a vault without it
    /// denies every data-plane request (access policies are not modelled).
    #[serde(default = "enabled")]
    pub enable_rbac_authorization: bool,
    /// ARM tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: UnixTime,
}

impl Vault {
    /// The ARM resource id: `/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>`.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            self.subscription, self.resource_group, self.name
        )
    }

    /// The vault as an RBAC scope.
    pub fn scope(&self) -> Scope {
        // Every part was validated when the record was built, so the id always parses; fall
        // back to the subscription rather than panic should that ever change.
        Scope::parse(&self.resource_id()).unwrap_or_else(|_| {
            Scope::parse(&format!("/subscriptions/{}", self.subscription))
                .unwrap_or_else(|_| Scope::root())
        })
    }
}

/// A service principal: a managed identity's or an app registration's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal<'a> {
    /// A user-assigned managed identity.
    Identity(&'a ManagedIdentity),
    /// An app registration.
    Application(&'a Application),
}

impl Principal<'_> {
    /// The `appId` (client id).
    pub fn app_id(&self) -> ClientId {
        match self {
            Self::Identity(m) => m.client_id,
            Self::Application(a) => a.app_id,
        }
    }

    /// The display name.
    pub fn display_name(&self) -> &str {
        match self {
            Self::Identity(m) => m.name.as_str(),
            Self::Application(a) => &a.display_name,
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> TenantId {
        match self {
            Self::Identity(m) => m.tenant,
            Self::Application(a) => a.tenant,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum PrincipalIndex {
    Identity(usize),
    Application(usize),
}

/// Every directory row, as loaded from the store at one revision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryData {
    /// The store revision these rows were read at.
    pub revision: u64,
    /// Tenants.
    pub tenants: Vec<Tenant>,
    /// Subscriptions.
    pub subscriptions: Vec<Subscription>,
    /// Regions.
    pub regions: Vec<Region>,
    /// Clusters.
    pub clusters: Vec<Cluster>,
    /// Managed identities.
    pub identities: Vec<ManagedIdentity>,
    /// Federated identity credentials.
    pub credentials: Vec<FederatedIdentityCredential>,
    /// Kubernetes service accounts of the clusters.
    pub service_accounts: Vec<ServiceAccount>,
    /// Key vaults.
    pub vaults: Vec<Vault>,
    /// Custom role definitions (the built-in roles are always present and not stored).
    pub role_definitions: Vec<RoleDefinition>,
    /// Role assignments.
    pub role_assignments: Vec<RoleAssignment>,
    /// Resource groups.
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroup>,
    /// App registrations with their service principals and credentials.
    #[serde(default)]
    pub applications: Vec<Application>,
    /// Storage accounts.
    #[serde(default)]
    pub storage_accounts: Vec<StorageAccount>,
}

/// A resource that lives in a subscription's resource group under a name, as ARM addresses it.
trait GroupScoped {
    fn scope(&self) -> (&SubscriptionId, &str, &str);
}

macro_rules! group_scoped {
    ($($t:ty),*) => {$(
        impl GroupScoped for $t {
            fn scope(&self) -> (&SubscriptionId, &str, &str) {
                (&self.subscription, self.resource_group.as_str(), self.name.as_str())
            }
        }
    )*};
}
group_scoped!(ManagedIdentity, Cluster, Vault, StorageAccount);

/// ARM resolves group and resource names case-insensitively.
fn in_group<'a, T: GroupScoped>(
    items: &'a [T],
    subscription: &SubscriptionId,
    group: &str,
) -> impl Iterator<Item = &'a T> {
    items.iter().filter(move |r| {
        let (s, g, _) = r.scope();
        s == subscription && g.eq_ignore_ascii_case(group)
    })
}

fn named_in_group<'a, T: GroupScoped>(
    items: &'a [T],
    subscription: &SubscriptionId,
    group: &str,
    name: &str,
) -> Option<&'a T> {
    in_group(items, subscription, group).find(|r| r.scope().2.eq_ignore_ascii_case(name))
}

impl DirectoryData {
    /// The managed identity `name` in `subscription`/`group` (names compared as ARM does).
    pub fn identity_in(
        &self,
        subscription: &SubscriptionId,
        group: &str,
        name: &str,
    ) -> Option<&ManagedIdentity> {
        named_in_group(&self.identities, subscription, group, name)
    }

    /// The cluster `name` in `subscription`/`group`.
    pub fn cluster_in(
        &self,
        subscription: &SubscriptionId,
        group: &str,
        name: &str,
    ) -> Option<&Cluster> {
        named_in_group(&self.clusters, subscription, group, name)
    }

    /// The key vault `name` in `subscription`/`group`.
    pub fn vault_in(
        &self,
        subscription: &SubscriptionId,
        group: &str,
        name: &str,
    ) -> Option<&Vault> {
        named_in_group(&self.vaults, subscription, group, name)
    }

    /// The storage account `name` in `subscription`/`group`.
    pub fn storage_in(
        &self,
        subscription: &SubscriptionId,
        group: &str,
        name: &str,
    ) -> Option<&StorageAccount> {
        named_in_group(&self.storage_accounts, subscription, group, name)
    }

    /// Every key vault in `subscription`/`group` (deleting the group takes their secrets).
    pub fn vaults_in_group<'a>(
        &'a self,
        subscription: &'a SubscriptionId,
        group: &'a str,
    ) -> impl Iterator<Item = &'a Vault> + 'a {
        in_group(&self.vaults, subscription, group)
    }
}

/// Resources (token audiences) every tenant knows, as Entra's first-party service principals
/// are present in every tenant. Compared by [`crate::ids::Resource::key`].
pub const WELL_KNOWN_RESOURCES: &[&str] = &[
    "https://vault.azure.net",
    "https://management.azure.com",
    "https://management.core.windows.net",
    "https://storage.azure.com",
    "https://graph.microsoft.com",
    "https://database.windows.net",
    "https://servicebus.azure.net",
    "https://eventhubs.azure.net",
    "https://cognitiveservices.azure.com",
    "https://ossrdbms-aad.database.windows.net",
    "https://monitor.azure.com",
];

/// The immutable, indexed directory the data plane reads. Lookups are hash-map reads, so a
/// token exchange costs the same whatever the directory's size.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    revision: u64,
    data: DirectoryData,
    tenant_by_id: HashMap<TenantId, usize>,
    tenant_by_domain: HashMap<TenantDomain, usize>,
    identity_by_client: HashMap<ClientId, usize>,
    credentials_by_identity: HashMap<ClientId, Vec<usize>>,
    cluster_by_issuer: HashMap<String, usize>,
    cluster_by_guid: HashMap<ClusterGuid, usize>,
    service_account_by_name: HashMap<(ClusterGuid, Namespace, ServiceAccountName), usize>,
    vault_by_name: HashMap<VaultName, usize>,
    application_by_app: HashMap<ClientId, usize>,
    principals: HashMap<PrincipalId, PrincipalIndex>,
    authorizer: Authorizer,
    resources: HashSet<String>,
}

impl Directory {
    /// Indexes the rows. `extra_resources` are resource keys this deployment serves besides
    /// the well-known ones (for example the local vault resource `https://vault.localhost:8443`).
    pub fn build(data: DirectoryData, extra_resources: &[String]) -> Self {
        let mut d = Directory {
            revision: data.revision,
            ..Default::default()
        };
        for (i, t) in data.tenants.iter().enumerate() {
            d.tenant_by_id.insert(t.id, i);
            d.tenant_by_domain.insert(t.domain.clone(), i);
        }
        for (i, m) in data.identities.iter().enumerate() {
            d.identity_by_client.insert(m.client_id, i);
        }
        for (i, c) in data.credentials.iter().enumerate() {
            d.credentials_by_identity
                .entry(c.identity)
                .or_default()
                .push(i);
        }
        for (i, c) in data.clusters.iter().enumerate() {
            if c.oidc_issuer_enabled {
                d.cluster_by_issuer.insert(c.issuer.as_str().to_owned(), i);
            }
            d.cluster_by_guid.insert(c.guid, i);
        }
        for (i, m) in data.identities.iter().enumerate() {
            d.principals
                .insert(m.principal_id, PrincipalIndex::Identity(i));
        }
        for (i, a) in data.applications.iter().enumerate() {
            d.application_by_app.insert(a.app_id, i);
            d.principals
                .insert(a.principal_id, PrincipalIndex::Application(i));
        }
        for (i, sa) in data.service_accounts.iter().enumerate() {
            d.service_account_by_name
                .insert((sa.cluster, sa.namespace.clone(), sa.name.clone()), i);
        }
        for (i, v) in data.vaults.iter().enumerate() {
            d.vault_by_name.insert(v.name.clone(), i);
        }
        d.authorizer = Authorizer::new(
            built_in_roles()
                .into_iter()
                .chain(data.role_definitions.iter().cloned()),
            data.role_assignments.iter().cloned(),
        );
        d.resources = WELL_KNOWN_RESOURCES
            .iter()
            .map(|r| r.trim_end_matches('/').to_ascii_lowercase())
            .chain(
                extra_resources
                    .iter()
                    .map(|r| r.trim_end_matches('/').to_ascii_lowercase()),
            )
            .collect();
        d.data = data;
        d
    }

    /// The store revision this snapshot reflects.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// All rows.
    pub fn data(&self) -> &DirectoryData {
        &self.data
    }

    /// A tenant by id or domain.
    pub fn tenant(&self, r: &TenantRef) -> Option<&Tenant> {
        let i = match r {
            TenantRef::Id(id) => self.tenant_by_id.get(id),
            TenantRef::Domain(d) => self.tenant_by_domain.get(d),
        }?;
        self.data.tenants.get(*i)
    }

    /// A managed identity by client id.
    pub fn identity(&self, client: &ClientId) -> Option<&ManagedIdentity> {
        self.identity_by_client
            .get(client)
            .and_then(|i| self.data.identities.get(*i))
    }

    /// The federated credentials of an identity or an application, in creation order.
    pub fn credentials(&self, client: &ClientId) -> Vec<&FederatedIdentityCredential> {
        if let Some(app) = self.application(client) {
            return app.federated_credentials.iter().collect();
        }
        self.credentials_by_identity
            .get(client)
            .map(|ix| {
                ix.iter()
                    .filter_map(|i| self.data.credentials.get(*i))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An app registration by `appId`.
    pub fn application(&self, app_id: &ClientId) -> Option<&Application> {
        self.application_by_app
            .get(app_id)
            .and_then(|i| self.data.applications.get(*i))
    }

    /// The service principal with object id `id`: a managed identity's or an application's.
    pub fn principal(&self, id: &PrincipalId) -> Option<Principal<'_>> {
        match self.principals.get(id)? {
            PrincipalIndex::Identity(i) => self.data.identities.get(*i).map(Principal::Identity),
            PrincipalIndex::Application(i) => {
                self.data.applications.get(*i).map(Principal::Application)
            }
        }
    }

    /// A resource group (name compared case-insensitively, as ARM does).
    pub fn resource_group(
        &self,
        subscription: &SubscriptionId,
        name: &str,
    ) -> Option<&ResourceGroup> {
        self.data
            .resource_groups
            .iter()
            .find(|g| g.subscription == *subscription && g.name.as_str().eq_ignore_ascii_case(name))
    }

    /// A subscription by id.
    pub fn subscription(&self, id: &SubscriptionId) -> Option<&Subscription> {
        self.data.subscriptions.iter().find(|s| s.id == *id)
    }

    /// The cluster whose issuer is exactly `issuer`, if wif hosts it.
    pub fn cluster_by_issuer(&self, issuer: &str) -> Option<&Cluster> {
        self.cluster_by_issuer
            .get(issuer)
            .and_then(|i| self.data.clusters.get(*i))
    }

    /// A cluster by the GUID in its issuer path.
    pub fn cluster(&self, guid: &ClusterGuid) -> Option<&Cluster> {
        self.cluster_by_guid
            .get(guid)
            .and_then(|i| self.data.clusters.get(*i))
    }

    /// A tenant by id.
    pub fn tenant_by_id(&self, id: &TenantId) -> Option<&Tenant> {
        self.tenant_by_id
            .get(id)
            .and_then(|i| self.data.tenants.get(*i))
    }

    /// Clusters named `name` (case-insensitive, as ARM compares names).
    pub fn clusters_named(&self, name: &str) -> Vec<&Cluster> {
        self.data
            .clusters
            .iter()
            .filter(|c| c.name.as_str().eq_ignore_ascii_case(name))
            .collect()
    }

    /// Managed identities named `name` (case-insensitive).
    pub fn identities_named(&self, name: &str) -> Vec<&ManagedIdentity> {
        self.data
            .identities
            .iter()
            .filter(|m| m.name.as_str().eq_ignore_ascii_case(name))
            .collect()
    }

    /// A service account of a cluster.
    pub fn service_account(
        &self,
        cluster: &ClusterGuid,
        namespace: &Namespace,
        name: &ServiceAccountName,
    ) -> Option<&ServiceAccount> {
        self.service_account_by_name
            .get(&(*cluster, namespace.clone(), name.clone()))
            .and_then(|i| self.data.service_accounts.get(*i))
    }

    /// A vault by name.
    pub fn vault(&self, name: &VaultName) -> Option<&Vault> {
        self.vault_by_name
            .get(name)
            .and_then(|i| self.data.vaults.get(*i))
    }

    /// The RBAC authorizer over the built-in roles, the custom roles and every assignment.
    pub fn authorizer(&self) -> &Authorizer {
        &self.authorizer
    }

    /// A role definition (built-in or custom) by GUID.
    pub fn role_definition(&self, id: &uuid::Uuid) -> Option<RoleDefinition> {
        built_in_roles()
            .into_iter()
            .chain(self.data.role_definitions.iter().cloned())
            .find(|r| r.id == *id)
    }

    /// Whether `resource_key` (see [`crate::ids::Resource::key`]) names a resource this
    /// deployment issues tokens for.
    pub fn is_known_resource(&self, resource_key: &str) -> bool {
        self.resources.contains(resource_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn sample() -> DirectoryData {
        let tenant = TenantId::from_uuid(Uuid::from_u128(1));
        let client = ClientId::from_uuid(Uuid::from_u128(2));
        DirectoryData {
            revision: 7,
            tenants: vec![Tenant {
                id: tenant,
                domain: TenantDomain::parse("contoso.example").unwrap(),
                display_name: "Contoso".into(),
                created_at: UnixTime::from_secs(1),
            }],
            identities: vec![ManagedIdentity {
                name: IdentityName::parse("app-id").unwrap(),
                tenant,
                subscription: SubscriptionId::from_uuid(Uuid::from_u128(3)),
                resource_group: ResourceGroupName::parse("rg-App").unwrap(),
                location: RegionName::parse("eastus").unwrap(),
                client_id: client,
                principal_id: PrincipalId::from_uuid(Uuid::from_u128(4)),
                created_at: UnixTime::from_secs(1),
                tags: Default::default(),
            }],
            credentials: vec![FederatedIdentityCredential {
                identity: client,
                name: CredentialName::parse("fic").unwrap(),
                issuer: Issuer::parse("https://issuer.example/").unwrap(),
                subject: Subject::parse("system:serviceaccount:default:sa").unwrap(),
                audiences: vec![Audience::token_exchange()],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn lookups_by_id_domain_and_client() {
        let d = Directory::build(sample(), &[]);
        assert_eq!(d.revision(), 7);
        let by_domain = TenantRef::parse("CONTOSO.example").unwrap();
        assert!(d.tenant(&by_domain).is_some());
        let client = ClientId::from_uuid(Uuid::from_u128(2));
        assert_eq!(d.identity(&client).unwrap().name.as_str(), "app-id");
        assert_eq!(d.credentials(&client).len(), 1);
        assert!(
            d.credentials(&ClientId::from_uuid(Uuid::from_u128(9)))
                .is_empty()
        );
    }

    #[test]
    fn resource_id_uses_entra_casing() {
        let d = sample();
        assert_eq!(
            d.identities[0].resource_id(),
            "/subscriptions/00000000-0000-0000-0000-000000000003/resourcegroups/rg-App/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id"
        );
    }

    #[test]
    fn known_resources_ignore_case_and_slash() {
        let d = Directory::build(sample(), &["https://vault.localhost:8443/".into()]);
        assert!(d.is_known_resource("https://vault.azure.net"));
        assert!(d.is_known_resource("https://vault.localhost:8443"));
        assert!(!d.is_known_resource("https://unknown.example"));
    }
}
