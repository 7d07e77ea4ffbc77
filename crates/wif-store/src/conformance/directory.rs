//! Revision, batch atomicity, round trips and upsert semantics.

use wif_core::directory::DirectoryData;
use wif_core::ids::Audience;

use super::{assert_conflict, cluster, credential, identity, region, seed, subscription, tenant};
use crate::model::Write;
use crate::store::Store;

/// A fresh store is at revision 0; each non-empty apply bumps the revision exactly once,
/// whatever the number of writes, and returns it; `load_directory` reports the same revision.
pub async fn revision_bumps_once_per_apply(store: &dyn Store) {
    assert_eq!(store.revision().await.unwrap(), 0);
    assert_eq!(store.load_directory().await.unwrap().revision, 0);
    let t = tenant(1);
    let returned = store
        .apply(&[
            Write::PutTenant(t.clone()),
            Write::PutSubscription(subscription(1, &t)),
            Write::PutRegion(region("eastus")),
        ])
        .await
        .unwrap();
    assert_eq!(returned, 1);
    assert_eq!(store.revision().await.unwrap(), 1);
    let returned = store
        .apply(&[Write::PutRegion(region("westus"))])
        .await
        .unwrap();
    assert_eq!(returned, 2);
    let data = store.load_directory().await.unwrap();
    assert_eq!(data.revision, 2);
    assert_eq!(data.regions.len(), 2);
}

/// An empty batch writes nothing, keeps the revision and returns it.
pub async fn empty_batch_changes_nothing(store: &dyn Store) {
    store.apply(&[Write::PutTenant(tenant(1))]).await.unwrap();
    assert_eq!(store.apply(&[]).await.unwrap(), 1);
    assert_eq!(store.revision().await.unwrap(), 1);
}

/// A batch whose last write breaks a rule leaves nothing applied and the revision unchanged.
pub async fn failed_batch_applies_nothing(store: &dyn Store) {
    let (t, m) = seed(store).await;
    let before = store.load_directory().await.unwrap();
    let t2 = tenant(2);
    let m2 = identity(2, &t2, "id-other", "rg-other");
    let result = store
        .apply(&[
            Write::PutTenant(t2.clone()),
            Write::PutIdentity(m2.clone()),
            Write::PutCredential(credential(&m2, "fic-1", "https://issuer.example/1/", "sub")),
            Write::PutRegion(region("eastus")),
            Write::DeleteIdentity(m.client_id),
            // Same issuer and subject as fic-1: breaks the uniqueness rule.
            Write::PutCredential(credential(&m2, "fic-2", "https://issuer.example/1/", "sub")),
        ])
        .await;
    assert_conflict(result, "Issuer and subject combination already exists");
    let after = store.load_directory().await.unwrap();
    assert_eq!(after, before);
    assert_eq!(store.revision().await.unwrap(), before.revision);
    assert!(after.tenants.iter().all(|x| x.id != t2.id));
    assert!(after.identities.iter().any(|x| x.client_id == m.client_id));
    assert_eq!(after.tenants, vec![t]);
}

/// Writes later in a batch see the rows written earlier in it (a tenant, its identity and the
/// identity's credential can be created together).
pub async fn batch_sees_its_own_earlier_writes(store: &dyn Store) {
    let t = tenant(1);
    let m = identity(1, &t, "id-app", "rg-app");
    let f = credential(&m, "fic-1", "https://issuer.example/1/", "sub");
    store
        .apply(&[
            Write::PutTenant(t.clone()),
            Write::PutIdentity(m.clone()),
            Write::PutCredential(f.clone()),
            Write::DeleteCredential {
                identity: m.client_id,
                name: f.name.clone(),
            },
            Write::PutCredential(f.clone()),
        ])
        .await
        .unwrap();
    let data = store.load_directory().await.unwrap();
    assert_eq!(data.credentials, vec![f]);
    assert_eq!(store.revision().await.unwrap(), 1);
}

/// Every kind of directory row comes back exactly as written, in creation order.
pub async fn directory_round_trips_every_row(store: &dyn Store) {
    let t1 = tenant(1);
    let t2 = tenant(2);
    let s1 = subscription(1, &t1);
    let s2 = subscription(2, &t2);
    let c1 = cluster(1, &t1);
    let c2 = cluster(2, &t2);
    let m1 = identity(1, &t1, "id-Zeta", "RG-Mixed.Case(1)");
    let m2 = identity(2, &t2, "id-alpha", "rg");
    let mut f1 = credential(
        &m1,
        "Fic-One",
        "https://issuer.example/1/",
        "system:sa:Ns:Name",
    );
    f1.audiences = vec![Audience::parse("api://Custom-Audience").unwrap()];
    let f2 = credential(&m2, "fic-two", "https://issuer.example/2", "other");
    let f3 = credential(
        &m1,
        "fic-three",
        "https://issuer.example/1",
        "system:sa:Ns:Name",
    );
    store
        .apply(&[
            Write::PutTenant(t2.clone()),
            Write::PutTenant(t1.clone()),
            Write::PutSubscription(s2.clone()),
            Write::PutSubscription(s1.clone()),
            Write::PutRegion(region("westeurope")),
            Write::PutRegion(region("eastus")),
            Write::PutCluster(c2.clone()),
            Write::PutCluster(c1.clone()),
            Write::PutIdentity(m1.clone()),
            Write::PutIdentity(m2.clone()),
            Write::PutCredential(f1.clone()),
            Write::PutCredential(f2.clone()),
            Write::PutCredential(f3.clone()),
        ])
        .await
        .unwrap();
    let data = store.load_directory().await.unwrap();
    let expected = DirectoryData {
        revision: 1,
        tenants: vec![t2, t1],
        subscriptions: vec![s2, s1],
        regions: vec![region("westeurope"), region("eastus")],
        clusters: vec![c2, c1],
        identities: vec![m1, m2],
        credentials: vec![f1, f2, f3],
        ..Default::default()
    };
    assert_eq!(data, expected);
}

/// `Put*` replaces the row with the same key in place: it keeps its position in creation
/// order, and a credential is keyed by its name case-insensitively.
pub async fn upserts_keep_creation_order(store: &dyn Store) {
    let t1 = tenant(1);
    let t2 = tenant(2);
    let m1 = identity(1, &t1, "id-one", "rg");
    let m2 = identity(2, &t1, "id-two", "rg");
    let f1 = credential(&m1, "fic-a", "https://issuer.example/1/", "a");
    let f2 = credential(&m1, "fic-b", "https://issuer.example/1/", "b");
    store
        .apply(&[
            Write::PutTenant(t1.clone()),
            Write::PutTenant(t2.clone()),
            Write::PutCluster(cluster(1, &t1)),
            Write::PutCluster(cluster(2, &t1)),
            Write::PutIdentity(m1.clone()),
            Write::PutIdentity(m2.clone()),
            Write::PutCredential(f1.clone()),
            Write::PutCredential(f2.clone()),
        ])
        .await
        .unwrap();

    let mut t1b = t1.clone();
    t1b.display_name = "Renamed".to_owned();
    let mut c1b = cluster(1, &t1);
    c1b.tenant = t2.id;
    let mut m1b = m1.clone();
    m1b.name = wif_core::ids::IdentityName::parse("id-one-renamed").unwrap();
    let f1b = credential(&m1, "FIC-A", "https://issuer.example/1/", "a2");
    store
        .apply(&[
            Write::PutTenant(t1b.clone()),
            Write::PutCluster(c1b.clone()),
            Write::PutIdentity(m1b.clone()),
            Write::PutCredential(f1b.clone()),
            Write::PutRegion(region("eastus")),
            Write::PutRegion(region("eastus")),
        ])
        .await
        .unwrap();
    let data = store.load_directory().await.unwrap();
    assert_eq!(data.tenants, vec![t1b, t2]);
    assert_eq!(data.clusters, vec![c1b, cluster(2, &t1)]);
    assert_eq!(data.identities, vec![m1b, m2]);
    assert_eq!(data.credentials, vec![f1b, f2]);
    assert_eq!(data.regions, vec![region("eastus")]);
}
