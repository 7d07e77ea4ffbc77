//! Resource groups, app registrations, storage accounts and the activity log: round trips and
//! the integrity rules `apply` enforces for them.

use std::collections::BTreeMap;

use wif_core::UnixTime;
use wif_core::directory::{Application, PasswordCredential, ResourceGroup, StorageAccount, Tenant};
use wif_core::ids::{
    ClientId, PrincipalId, RegionName, ResourceGroupName, StorageAccountName, SubscriptionId,
};
use wif_core::rbac::builtin;

use super::{
    assert_conflict, assert_not_found, cluster, credential, guid, identity, role_assignment, seed,
    service_account, vault,
};
use crate::activity::{ActivityQuery, ActivityRecord};
use crate::model::Write;
use crate::store::Store;

/// Resource group `name` in the seed subscription.
pub fn resource_group(name: &str) -> ResourceGroup {
    ResourceGroup {
        subscription: SubscriptionId::from_uuid(guid(0x2000)),
        name: ResourceGroupName::parse(name).unwrap(),
        location: RegionName::parse("eastus").unwrap(),
        tags: BTreeMap::from([("env".to_owned(), "test".to_owned())]),
        created_at: UnixTime::from_secs(1_700_000_050),
    }
}

/// App registration `n` of `tenant` with one client secret.
pub fn application(n: u128, tenant: &Tenant) -> Application {
    Application {
        app_id: ClientId::from_uuid(guid(0xc000 + n)),
        object_id: guid(0xd000 + n),
        principal_id: PrincipalId::from_uuid(guid(0xe000 + n)),
        tenant: tenant.id,
        display_name: format!("app {n}"),
        secrets: vec![PasswordCredential {
            key_id: guid(0xf000 + n),
            display_name: Some("ci".to_owned()),
            hint: "abc".to_owned(),
            salt: "c2FsdA".to_owned(),
            hash: "aGFzaA".to_owned(),
            start: UnixTime::from_secs(1_700_000_000),
            end: UnixTime::from_secs(1_800_000_000),
        }],
        certificates: vec![],
        federated_credentials: vec![],
        created_at: UnixTime::from_secs(1_700_000_060),
    }
}

fn storage(name: &str, tenant: &Tenant, sub: u128) -> StorageAccount {
    StorageAccount {
        name: StorageAccountName::parse(name).unwrap(),
        tenant: tenant.id,
        subscription: SubscriptionId::from_uuid(guid(0x2000 + sub)),
        resource_group: ResourceGroupName::parse("rg-app").unwrap(),
        location: RegionName::parse("eastus").unwrap(),
        kind: "StorageV2".to_owned(),
        sku: "Standard_LRS".to_owned(),
        tags: BTreeMap::new(),
        created_at: UnixTime::from_secs(1_700_000_070),
    }
}

/// Resource groups, applications and storage accounts survive a round trip unchanged.
pub async fn management_rows_round_trip(store: &dyn Store) {
    let (t, _) = seed(store).await;
    let g = resource_group("rg-App");
    let a = application(1, &t);
    let s = storage("stapp", &t, 0);
    store
        .apply(&[
            Write::PutResourceGroup(g.clone()),
            Write::PutApplication(a.clone()),
            Write::PutStorageAccount(s.clone()),
        ])
        .await
        .unwrap();
    let d = store.load_directory().await.unwrap();
    assert_eq!(d.resource_groups, vec![g.clone()]);
    assert_eq!(d.applications, vec![a]);
    assert_eq!(d.storage_accounts, vec![s]);
    // The group name is case-insensitive: another casing replaces the row.
    let mut upper = g;
    upper.name = ResourceGroupName::parse("RG-APP").unwrap();
    store
        .apply(&[Write::PutResourceGroup(upper.clone())])
        .await
        .unwrap();
    assert_eq!(
        store.load_directory().await.unwrap().resource_groups,
        vec![upper]
    );
}

/// Deleting a resource group deletes every resource in it and the role assignments at or below
/// its scope, and nothing else.
pub async fn deleting_resource_group_deletes_its_resources(store: &dyn Store) {
    let (t, m) = seed(store).await;
    let other = identity(2, &t, "id-other", "rg-other");
    let c = {
        let mut c = cluster(1, &t);
        c.resource_group = ResourceGroupName::parse("RG-app").unwrap();
        c
    };
    let mut v = vault("kv-app", &t);
    v.resource_group = ResourceGroupName::parse("rg-app").unwrap();
    let sub = SubscriptionId::from_uuid(guid(0x2000));
    let rg_scope = format!("/subscriptions/{sub}/resourceGroups/rg-app");
    store
        .apply(&[
            Write::PutResourceGroup(resource_group("rg-app")),
            Write::PutResourceGroup(resource_group("rg-other")),
            Write::PutIdentity(other.clone()),
            Write::PutCredential(credential(&m, "fic", "https://issuer.example/1/", "s")),
            Write::PutCluster(c.clone()),
            Write::PutServiceAccount(service_account(c.guid, "default", "sa", 1)),
            Write::PutVault(v),
            Write::PutStorageAccount(storage("stapp", &t, 0)),
            Write::PutRoleAssignment(role_assignment(1, 1, builtin::READER, &rg_scope)),
            Write::PutRoleAssignment(role_assignment(
                2,
                1,
                builtin::READER,
                &format!("{rg_scope}/providers/Microsoft.KeyVault/vaults/kv-app"),
            )),
            Write::PutRoleAssignment(role_assignment(
                3,
                1,
                builtin::READER,
                &format!("/subscriptions/{sub}/resourceGroups/rg-app2"),
            )),
        ])
        .await
        .unwrap();
    store
        .apply(&[Write::DeleteResourceGroup {
            subscription: sub,
            name: ResourceGroupName::parse("RG-APP").unwrap(),
        }])
        .await
        .unwrap();
    let d = store.load_directory().await.unwrap();
    assert_eq!(d.identities, vec![other]);
    assert!(d.credentials.is_empty());
    assert!(d.clusters.is_empty());
    assert!(d.service_accounts.is_empty());
    assert!(d.vaults.is_empty());
    assert!(d.storage_accounts.is_empty());
    assert_eq!(d.resource_groups.len(), 1);
    let left: Vec<_> = d.role_assignments.iter().map(|a| a.id).collect();
    assert_eq!(left, vec![guid(0x7003)], "rg-app2 is not inside rg-app");
    assert_not_found(
        store
            .apply(&[Write::DeleteResourceGroup {
                subscription: sub,
                name: ResourceGroupName::parse("rg-app").unwrap(),
            }])
            .await,
    );
}

/// A resource group needs its subscription; app ids are not managed identities' client ids;
/// storage account names are global; applications hold at most 20 of each credential.
pub async fn management_rules(store: &dyn Store) {
    let (t, m) = seed(store).await;
    let mut g = resource_group("rg");
    g.subscription = SubscriptionId::from_uuid(guid(0x2999));
    assert_not_found(store.apply(&[Write::PutResourceGroup(g)]).await);

    let mut a = application(1, &t);
    a.app_id = m.client_id;
    assert_conflict(
        store.apply(&[Write::PutApplication(a)]).await,
        "client id of managed identity",
    );

    let mut a = application(2, &t);
    let secret = a.secrets[0].clone();
    a.secrets = (0..21)
        .map(|i| {
            let mut s = secret.clone();
            s.key_id = guid(0xf100 + i);
            s
        })
        .collect();
    assert_conflict(store.apply(&[Write::PutApplication(a)]).await, "at most 20");

    let mut a = application(3, &t);
    let fic = credential(&m, "fic", "https://issuer.example/1/", "s");
    a.federated_credentials = vec![
        wif_core::directory::FederatedIdentityCredential {
            identity: a.app_id,
            ..fic.clone()
        },
        wif_core::directory::FederatedIdentityCredential {
            identity: a.app_id,
            name: wif_core::ids::CredentialName::parse("fic2").unwrap(),
            ..fic
        },
    ];
    assert_conflict(
        store.apply(&[Write::PutApplication(a)]).await,
        "Issuer and subject combination already exists",
    );

    store
        .apply(&[Write::PutStorageAccount(storage("stapp", &t, 0))])
        .await
        .unwrap();
    store
        .apply(&[Write::PutSubscription(super::subscription(1, &t))])
        .await
        .unwrap();
    assert_conflict(
        store
            .apply(&[Write::PutStorageAccount(storage("stapp", &t, 1))])
            .await,
        "globally unique",
    );
    assert_not_found(
        store
            .apply(&[Write::DeleteApplication(ClientId::from_uuid(guid(0xc0ff)))])
            .await,
    );
}

fn activity(n: u128, time: i64, status: u16) -> ActivityRecord {
    ActivityRecord {
        id: guid(0x8800 + n),
        time: UnixTime::from_secs(time),
        caller: Some(guid(0x5001).to_string()),
        caller_app: Some(guid(0x3001).to_string()),
        operation: "Microsoft.ManagedIdentity/userAssignedIdentities/write".to_owned(),
        resource: "/subscriptions/s/resourceGroups/rg".to_owned(),
        status,
        error: (status >= 400).then(|| "AuthorizationFailed".to_owned()),
        correlation_id: guid(0x8900 + n),
    }
}

/// Activity records are listed newest first, filtered, limited, and appended once.
pub async fn activity_log_filters(store: &dyn Store) {
    let rev = store.revision().await.unwrap();
    let records = [
        activity(1, 100, 200),
        activity(2, 200, 403),
        activity(3, 300, 201),
    ];
    store.append_activity(&records).await.unwrap();
    store.append_activity(&records[..1]).await.unwrap();
    assert_eq!(
        store.revision().await.unwrap(),
        rev,
        "logs are not directory state"
    );
    let all = store.activity(&ActivityQuery::default()).await.unwrap();
    let ids: Vec<_> = all.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![guid(0x8803), guid(0x8802), guid(0x8801)]);
    let failed = store
        .activity(&ActivityQuery {
            failed_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed, vec![records[1].clone()]);
    let recent = store
        .activity(&ActivityQuery {
            since: Some(UnixTime::from_secs(200)),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(recent, vec![records[2].clone()]);
}
