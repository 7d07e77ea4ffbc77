//! The integrity rules `apply` enforces for the management API: uniqueness, limits, references
//! and deletes.

use wif_core::UnixTime;
use wif_core::directory::MAX_FEDERATED_CREDENTIALS;
use wif_core::ids::{
    Audience, ClientId, ClusterGuid, CredentialName, KeyId, RegionName, SubscriptionId,
    TenantDomain, TenantId,
};

use super::{
    assert_conflict, assert_not_found, cluster, credential, guid, identity, seed, subscription,
    tenant,
};
use crate::model::Write;
use crate::store::{Store, StoreError};

/// Identity names are unique per (subscription, resource group), both compared
/// case-insensitively as ARM does; the same name elsewhere is fine.
pub async fn identity_name_is_unique_per_resource_group(store: &dyn Store) {
    let (t, m) = seed(store).await;
    let clash = identity(2, &t, "ID-APP", "RG-App");
    assert_conflict(
        store.apply(&[Write::PutIdentity(clash)]).await,
        "already exists",
    );
    let other_group = identity(3, &t, "id-app", "rg-other");
    let mut other_subscription = identity(4, &t, "id-app", "rg-app");
    other_subscription.subscription = SubscriptionId::from_uuid(guid(0x2999));
    store
        .apply(&[
            Write::PutIdentity(other_group),
            Write::PutIdentity(other_subscription),
        ])
        .await
        .unwrap();
    // Re-putting the same identity (same client id) is an update, not a clash.
    let mut renamed_case = m.clone();
    renamed_case.name = wif_core::ids::IdentityName::parse("ID-App").unwrap();
    store
        .apply(&[Write::PutIdentity(renamed_case)])
        .await
        .unwrap();
    // Moving an identity onto another's name clashes too.
    let mut moved = identity(3, &t, "id-app", "rg-app");
    moved.client_id = ClientId::from_uuid(guid(0x3003));
    assert_conflict(
        store.apply(&[Write::PutIdentity(moved)]).await,
        "already exists",
    );
    assert_eq!(store.load_directory().await.unwrap().identities.len(), 3);
}

/// Credential names are unique per identity, case-insensitively: a put whose name differs
/// only in case replaces the existing credential. Another identity may use the same name.
pub async fn credential_name_is_unique_per_identity(store: &dyn Store) {
    let (t, m) = seed(store).await;
    let m2 = identity(2, &t, "id-two", "rg-app");
    store
        .apply(&[
            Write::PutIdentity(m2.clone()),
            Write::PutCredential(credential(&m, "fic", "https://issuer.example/1/", "a")),
            Write::PutCredential(credential(&m2, "fic", "https://issuer.example/1/", "a")),
        ])
        .await
        .unwrap();
    let replaced = credential(&m, "FIC", "https://issuer.example/1/", "b");
    store
        .apply(&[Write::PutCredential(replaced.clone())])
        .await
        .unwrap();
    let data = store.load_directory().await.unwrap();
    let mine: Vec<_> = data
        .credentials
        .iter()
        .filter(|f| f.identity == m.client_id)
        .collect();
    assert_eq!(mine, vec![&replaced]);
    assert_eq!(data.credentials.len(), 2);
}

/// (issuer, subject) is unique per identity, compared exactly; the message is Entra's.
pub async fn issuer_and_subject_are_unique_per_identity(store: &dyn Store) {
    let (t, m) = seed(store).await;
    let issuer = "https://issuer.example/1/";
    let sub = "system:serviceaccount:default:sa";
    store
        .apply(&[Write::PutCredential(credential(&m, "fic-1", issuer, sub))])
        .await
        .unwrap();
    assert_conflict(
        store
            .apply(&[Write::PutCredential(credential(&m, "fic-2", issuer, sub))])
            .await,
        "Issuer and subject combination already exists for this Managed Identity.",
    );
    let m2 = identity(2, &t, "id-two", "rg-app");
    store
        .apply(&[
            // Another identity, another subject, a subject differing in case, an issuer
            // without the trailing slash: all distinct.
            Write::PutIdentity(m2.clone()),
            Write::PutCredential(credential(&m2, "fic-1", issuer, sub)),
            Write::PutCredential(credential(
                &m,
                "fic-3",
                issuer,
                "system:serviceaccount:default:other",
            )),
            Write::PutCredential(credential(
                &m,
                "fic-4",
                issuer,
                "System:serviceaccount:default:sa",
            )),
            Write::PutCredential(credential(&m, "fic-5", "https://issuer.example/1", sub)),
            // Re-putting fic-1 with its own pair is an update.
            Write::PutCredential(credential(&m, "FIC-1", issuer, sub)),
        ])
        .await
        .unwrap();
    assert_eq!(store.load_directory().await.unwrap().credentials.len(), 5);
}

/// An identity holds at most 20 federated credentials; updating one of them still works.
pub async fn at_most_twenty_credentials_per_identity(store: &dyn Store) {
    let (_, m) = seed(store).await;
    let writes: Vec<Write> = (0..MAX_FEDERATED_CREDENTIALS)
        .map(|i| {
            Write::PutCredential(credential(
                &m,
                &format!("fic-{i}"),
                "https://issuer.example/1/",
                &format!("sub-{i}"),
            ))
        })
        .collect();
    store.apply(&writes).await.unwrap();
    let extra = credential(&m, "fic-extra", "https://issuer.example/1/", "sub-extra");
    assert_conflict(
        store.apply(&[Write::PutCredential(extra)]).await,
        &MAX_FEDERATED_CREDENTIALS.to_string(),
    );
    let update = credential(&m, "fic-0", "https://issuer.example/1/", "sub-new");
    store.apply(&[Write::PutCredential(update)]).await.unwrap();
    // Freeing a slot makes room again.
    store
        .apply(&[
            Write::DeleteCredential {
                identity: m.client_id,
                name: CredentialName::parse("fic-1").unwrap(),
            },
            Write::PutCredential(credential(
                &m,
                "fic-extra",
                "https://issuer.example/1/",
                "x",
            )),
        ])
        .await
        .unwrap();
    let count = store.load_directory().await.unwrap().credentials.len();
    assert_eq!(count, MAX_FEDERATED_CREDENTIALS);
}

/// Entra requires exactly one audience per federated credential.
pub async fn credential_needs_exactly_one_audience(store: &dyn Store) {
    let (_, m) = seed(store).await;
    let mut none = credential(&m, "fic-none", "https://issuer.example/1/", "a");
    none.audiences.clear();
    assert_conflict(
        store.apply(&[Write::PutCredential(none)]).await,
        "exactly one audience",
    );
    let mut two = credential(&m, "fic-two", "https://issuer.example/1/", "a");
    two.audiences.push(Audience::parse("api://other").unwrap());
    assert_conflict(
        store.apply(&[Write::PutCredential(two)]).await,
        "exactly one audience",
    );
    assert!(store.load_directory().await.unwrap().credentials.is_empty());
}

/// No two clusters share an issuer URL; a cluster may be re-put with its own.
pub async fn cluster_issuer_is_unique(store: &dyn Store) {
    let (t, _) = seed(store).await;
    let c1 = cluster(1, &t);
    store.apply(&[Write::PutCluster(c1.clone())]).await.unwrap();
    let mut c2 = cluster(2, &t);
    c2.issuer = c1.issuer.clone();
    assert_conflict(
        store.apply(&[Write::PutCluster(c2)]).await,
        c1.issuer.as_str(),
    );
    store.apply(&[Write::PutCluster(c1)]).await.unwrap();
}

/// No two tenants share a domain (a domain names one tenant in token requests).
pub async fn tenant_domain_is_unique(store: &dyn Store) {
    let t1 = tenant(1);
    store.apply(&[Write::PutTenant(t1.clone())]).await.unwrap();
    let mut t2 = tenant(2);
    t2.domain = TenantDomain::parse("T1.example").unwrap();
    assert_conflict(store.apply(&[Write::PutTenant(t2)]).await, "t1.example");
}

/// Subscriptions, clusters and identities need their tenant; credentials need their identity.
pub async fn references_must_exist(store: &dyn Store) {
    let (t, _) = seed(store).await;
    let ghost = tenant(9);
    assert_not_found(
        store
            .apply(&[Write::PutSubscription(subscription(9, &ghost))])
            .await,
    );
    assert_not_found(store.apply(&[Write::PutCluster(cluster(9, &ghost))]).await);
    assert_not_found(
        store
            .apply(&[Write::PutIdentity(identity(9, &ghost, "id-ghost", "rg"))])
            .await,
    );
    let orphan = identity(8, &t, "id-orphan", "rg");
    assert_not_found(
        store
            .apply(&[Write::PutCredential(credential(
                &orphan,
                "fic",
                "https://i.example/",
                "s",
            ))])
            .await,
    );
    assert_eq!(store.revision().await.unwrap(), 1);
}

/// A tenant that still has subscriptions, clusters or identities cannot be deleted.
pub async fn deleting_tenant_with_resources_conflicts(store: &dyn Store) {
    let (t, m) = seed(store).await;
    let c = cluster(1, &t);
    store.apply(&[Write::PutCluster(c.clone())]).await.unwrap();
    assert_conflict(store.apply(&[Write::DeleteTenant(t.id)]).await, "still has");
    store
        .apply(&[
            Write::DeleteCluster(c.guid),
            Write::DeleteIdentity(m.client_id),
        ])
        .await
        .unwrap();
    assert_conflict(
        store.apply(&[Write::DeleteTenant(t.id)]).await,
        "subscription",
    );
    store
        .apply(&[
            Write::DeleteSubscription(subscription(0, &t).id),
            Write::DeleteTenant(t.id),
        ])
        .await
        .unwrap();
    let data = store.load_directory().await.unwrap();
    assert!(data.tenants.is_empty() && data.identities.is_empty() && data.clusters.is_empty());
}

/// Deleting or retiring something absent is NotFound and changes nothing.
pub async fn deleting_absent_rows_is_not_found(store: &dyn Store) {
    let (_, m) = seed(store).await;
    let revision = store.revision().await.unwrap();
    let absent = [
        Write::DeleteTenant(TenantId::from_uuid(guid(0xdead))),
        Write::DeleteSubscription(SubscriptionId::from_uuid(guid(0xdead))),
        Write::DeleteRegion(RegionName::parse("nowhere").unwrap()),
        Write::DeleteCluster(ClusterGuid::from_uuid(guid(0xdead))),
        Write::DeleteIdentity(ClientId::from_uuid(guid(0xdead))),
        Write::DeleteCredential {
            identity: m.client_id,
            name: CredentialName::parse("absent").unwrap(),
        },
        Write::RetireSigningKey {
            kid: KeyId::parse("absent").unwrap(),
            retired_at: UnixTime::from_secs(1),
            publish_until: UnixTime::from_secs(2),
        },
    ];
    for write in absent {
        let result = store.apply(std::slice::from_ref(&write)).await;
        assert!(
            matches!(result, Err(StoreError::NotFound(_))),
            "{write:?}: {result:?}"
        );
    }
    assert_eq!(store.revision().await.unwrap(), revision);
}

/// Deleting an identity deletes its credentials; re-creating it starts with none.
pub async fn deleting_identity_deletes_its_credentials(store: &dyn Store) {
    let (t, m) = seed(store).await;
    let m2 = identity(2, &t, "id-two", "rg-app");
    let keep = credential(&m2, "fic", "https://issuer.example/1/", "a");
    store
        .apply(&[
            Write::PutIdentity(m2),
            Write::PutCredential(credential(&m, "fic-1", "https://issuer.example/1/", "a")),
            Write::PutCredential(credential(&m, "fic-2", "https://issuer.example/1/", "b")),
            Write::PutCredential(keep.clone()),
        ])
        .await
        .unwrap();
    store
        .apply(&[Write::DeleteIdentity(m.client_id)])
        .await
        .unwrap();
    let data = store.load_directory().await.unwrap();
    assert_eq!(data.credentials, vec![keep.clone()]);
    store.apply(&[Write::PutIdentity(m)]).await.unwrap();
    assert_eq!(
        store.load_directory().await.unwrap().credentials,
        vec![keep]
    );
}

/// A credential is deleted by its name in any casing, and only from its own identity.
pub async fn delete_credential_ignores_name_case(store: &dyn Store) {
    let (t, m) = seed(store).await;
    let m2 = identity(2, &t, "id-two", "rg-app");
    let other = credential(&m2, "My-Fic", "https://issuer.example/1/", "a");
    store
        .apply(&[
            Write::PutIdentity(m2),
            Write::PutCredential(credential(&m, "My-Fic", "https://issuer.example/1/", "a")),
            Write::PutCredential(other.clone()),
        ])
        .await
        .unwrap();
    store
        .apply(&[Write::DeleteCredential {
            identity: m.client_id,
            name: CredentialName::parse("mY-fIC").unwrap(),
        }])
        .await
        .unwrap();
    assert_eq!(
        store.load_directory().await.unwrap().credentials,
        vec![other]
    );
}
