//! A small directory every server test and benchmark starts from: one tenant, one cluster
//! issuer, an identity trusting the cluster's `default/workload` service account and an
//! external issuer, and an identity with no federated credentials. Keys are the committed
//! test keys, so building it costs no RSA generation.

use std::sync::Arc;

use uuid::Uuid;
use wif_core::directory::{
    Cluster, FederatedIdentityCredential, ManagedIdentity, Region, Subscription, Tenant,
};
use wif_core::ids::{
    Audience, ClientId, ClusterGuid, ClusterName, CredentialName, IdentityName, Issuer,
    PrincipalId, RegionName, ResourceGroupName, Subject, SubscriptionId, TenantDomain, TenantId,
};
use wif_core::time::UnixTime;
use wif_store::crypto::KeyEncryptionKey;
use wif_store::model::{KeyOwner, SigningKeyRecord, Write};
use wif_store::snapshot::{Snapshot, SnapshotBuilder};
use wif_store::sqlite::SqliteStore;
use wif_store::store::{Store, StoreError};

use crate::rsa_key;

/// The public origin of the fixture.
pub const ORIGIN: &str = "https://wif.test:8443";
/// An issuer wif does not host (its keys come through a fetcher; key 2 signs for it).
pub const EXTERNAL_ISSUER: &str = "https://external.test/";
/// The subject the external credential trusts.
pub const EXTERNAL_SUBJECT: &str = "repo:contoso/app:ref:refs/heads/main";
/// The subject the cluster credential trusts.
pub const SUBJECT: &str = "system:serviceaccount:default:workload";
/// Index of the cluster issuer's key among the test keys.
pub const CLUSTER_KEY: usize = 0;
/// Index of the tenant's token-signing key.
pub const TENANT_KEY: usize = 1;
/// Index of the external issuer's key.
pub const EXTERNAL_KEY: usize = 2;

/// The fixture's objects and its store.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// An in-memory store holding everything below.
    pub store: Arc<dyn Store>,
    /// The key-encryption key the keys are sealed with.
    pub kek: Arc<KeyEncryptionKey>,
    /// The tenant.
    pub tenant: Tenant,
    /// The cluster (issuer `https://wif.test:8443/eastus/<tid>/<guid>/`).
    pub cluster: Cluster,
    /// The identity with federated credentials.
    pub identity: ManagedIdentity,
    /// An identity with none.
    pub bare_identity: ManagedIdentity,
}

impl Fixture {
    /// Builds the store contents.
    pub async fn new(now: UnixTime) -> Result<Self, StoreError> {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().await?);
        let kek = Arc::new(KeyEncryptionKey::from_bytes([7u8; 32]));
        let tenant_id = TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").map_err(corrupt)?;
        let sub = SubscriptionId::from_uuid(Uuid::from_u128(0x5b));
        let tenant = Tenant {
            id: tenant_id,
            domain: TenantDomain::parse("contoso.onmicrosoft.com").map_err(corrupt)?,
            display_name: "contoso".into(),
            created_at: UnixTime::from_secs(1_589_910_443),
        };
        let region = RegionName::parse("eastus").map_err(corrupt)?;
        let guid = ClusterGuid::from_uuid(Uuid::from_u128(0xc1));
        let cluster = Cluster {
            name: ClusterName::parse("aks-eastus").map_err(corrupt)?,
            guid,
            tenant: tenant_id,
            subscription: sub,
            resource_group: ResourceGroupName::parse("rg-aks").map_err(corrupt)?,
            region: region.clone(),
            issuer: Issuer::parse(&format!("{ORIGIN}/eastus/{tenant_id}/{guid}/"))
                .map_err(corrupt)?,
            created_at: now,
            oidc_issuer_enabled: true,
            workload_identity_enabled: true,
        };
        let identity = identity_named("id-workload", 0x1d, tenant_id, sub, &region, now)?;
        let bare_identity = identity_named("id-bare", 0x2d, tenant_id, sub, &region, now)?;
        let fic = |name: &str,
                   issuer: &str,
                   subject: &str|
         -> Result<FederatedIdentityCredential, StoreError> {
            Ok(FederatedIdentityCredential {
                identity: identity.client_id,
                name: CredentialName::parse(name).map_err(corrupt)?,
                issuer: Issuer::parse(issuer).map_err(corrupt)?,
                subject: Subject::parse(subject).map_err(corrupt)?,
                audiences: vec![Audience::token_exchange()],
            })
        };
        let writes = vec![
            Write::PutTenant(tenant.clone()),
            Write::PutSubscription(Subscription {
                id: sub,
                tenant: tenant_id,
                display_name: "dev".into(),
            }),
            Write::PutRegion(Region {
                name: region.clone(),
            }),
            Write::PutCluster(cluster.clone()),
            Write::PutIdentity(identity.clone()),
            Write::PutIdentity(bare_identity.clone()),
            Write::PutCredential(fic("fic-aks", cluster.issuer.as_str(), SUBJECT)?),
            Write::PutCredential(fic("fic-external", EXTERNAL_ISSUER, EXTERNAL_SUBJECT)?),
            Write::PutSigningKey(sealed(CLUSTER_KEY, KeyOwner::Cluster(guid), now, &kek)?),
            Write::PutSigningKey(sealed(TENANT_KEY, KeyOwner::Tenant(tenant_id), now, &kek)?),
        ];
        store.apply(&writes).await?;
        Ok(Self {
            store,
            kek,
            tenant,
            cluster,
            identity,
            bare_identity,
        })
    }

    /// A snapshot of the store, as the server builds it.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        SnapshotBuilder::new(self.store.clone(), self.kek.clone(), Vec::new())
            .build(None)
            .await
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn sealed(
    n: usize,
    owner: KeyOwner,
    now: UnixTime,
    kek: &KeyEncryptionKey,
) -> Result<SigningKeyRecord, StoreError> {
    SigningKeyRecord::seal(&rsa_key(n), owner, now, kek).map_err(corrupt)
}

fn identity_named(
    name: &str,
    n: u128,
    tenant: TenantId,
    subscription: SubscriptionId,
    region: &RegionName,
    now: UnixTime,
) -> Result<ManagedIdentity, StoreError> {
    Ok(ManagedIdentity {
        name: IdentityName::parse(name).map_err(corrupt)?,
        tenant,
        subscription,
        resource_group: ResourceGroupName::parse("rg-identity").map_err(corrupt)?,
        location: region.clone(),
        client_id: ClientId::from_uuid(Uuid::from_u128(0xc11e_0000 + n)),
        principal_id: PrincipalId::from_uuid(Uuid::from_u128(0x0b1d_0000 + n)),
        created_at: now,
        tags: Default::default(),
    })
}
