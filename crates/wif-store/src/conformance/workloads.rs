//! Service accounts, key vaults, custom roles and role assignments: round trips and the
//! integrity rules `apply` enforces for them.

use std::collections::BTreeMap;

use wif_core::UnixTime;
use wif_core::directory::{DEFAULT_RETENTION_DAYS, ServiceAccount, Tenant, Vault};
use wif_core::ids::{
    ClusterGuid, Namespace, PrincipalId, RegionName, ResourceGroupName, ServiceAccountName,
    SubscriptionId, VaultName,
};
use wif_core::rbac::{Permission, RoleAssignment, RoleDefinition, Scope, builtin};

use super::{assert_conflict, assert_not_found, cluster, guid, seed, tenant};
use crate::model::Write;
use crate::store::Store;

/// Service account `name` in namespace `ns` of `cluster`, with the workload-identity
/// client-id annotation.
pub fn service_account(cluster: ClusterGuid, ns: &str, name: &str, uid: u128) -> ServiceAccount {
    ServiceAccount {
        cluster,
        namespace: Namespace::parse(ns).unwrap(),
        name: ServiceAccountName::parse(name).unwrap(),
        uid: guid(0x6000 + uid),
        annotations: BTreeMap::from([(
            "azure.workload.identity/client-id".to_owned(),
            guid(0x3001).to_string(),
        )]),
        created_at: UnixTime::from_secs(1_700_000_300),
    }
}

/// Vault `name` of `tenant` in `rg-kv`.
pub fn vault(name: &str, tenant: &Tenant) -> Vault {
    Vault {
        name: VaultName::parse(name).unwrap(),
        tenant: tenant.id,
        subscription: SubscriptionId::from_uuid(guid(0x2000)),
        resource_group: ResourceGroupName::parse("rg-kv").unwrap(),
        location: RegionName::parse("eastus").unwrap(),
        retention_days: DEFAULT_RETENTION_DAYS,
        purge_protection: false,
        created_at: UnixTime::from_secs(1_700_000_400),
        enable_rbac_authorization: true,
        tags: Default::default(),
    }
}

/// Assignment `n` of `role` to principal `principal` at `scope`.
pub fn role_assignment(n: u128, principal: u128, role: uuid::Uuid, scope: &str) -> RoleAssignment {
    RoleAssignment {
        id: guid(0x7000 + n),
        principal_id: PrincipalId::from_uuid(guid(0x5000 + principal)),
        role_definition_id: role,
        scope: Scope::parse(scope).unwrap(),
        meta: Default::default(),
    }
}

/// A custom role `name` with GUID `n`, allowing reads of secrets.
pub fn custom_role(n: u128, name: &str) -> RoleDefinition {
    RoleDefinition {
        id: guid(0x8000 + n),
        description: String::new(),
        name: name.to_owned(),
        is_custom: true,
        permissions: vec![Permission {
            data_actions: vec!["Microsoft.KeyVault/vaults/secrets/getSecret/action".to_owned()],
            ..Permission::default()
        }],
        assignable_scopes: vec![
            Scope::parse("/subscriptions/00000000-0000-0000-0000-000000002000").unwrap(),
        ],
    }
}

const VAULT_SCOPE: &str = "/subscriptions/00000000-0000-0000-0000-000000002000/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-one";

/// Every new kind of row comes back as written, in creation order, and bumps the revision.
pub async fn workload_rows_round_trip(store: &dyn Store) {
    let (t, _) = seed(store).await;
    let c = cluster(1, &t);
    let sa1 = service_account(c.guid, "default", "workload", 1);
    let mut sa2 = service_account(c.guid, "team-payments", "api", 2);
    sa2.annotations.insert(
        "azure.workload.identity/service-account-token-expiration".to_owned(),
        "3600".to_owned(),
    );
    let v = vault("kv-one", &t);
    let role = custom_role(1, "Secret Peeker");
    let a1 = role_assignment(1, 1, builtin::KEY_VAULT_SECRETS_USER, VAULT_SCOPE);
    let a2 = role_assignment(2, 1, role.id, &format!("{VAULT_SCOPE}/secrets/db"));
    let before = store.revision().await.unwrap();
    store
        .apply(&[
            Write::PutCluster(c),
            Write::PutServiceAccount(sa1.clone()),
            Write::PutServiceAccount(sa2.clone()),
            Write::PutVault(v.clone()),
            Write::PutRoleDefinition(role.clone()),
            Write::PutRoleAssignment(a1.clone()),
            Write::PutRoleAssignment(a2.clone()),
        ])
        .await
        .unwrap();
    let data = store.load_directory().await.unwrap();
    assert_eq!(data.revision, before + 1);
    assert_eq!(data.service_accounts, vec![sa1, sa2]);
    assert_eq!(data.vaults, vec![v]);
    assert_eq!(data.role_definitions, vec![role]);
    assert_eq!(data.role_assignments, vec![a1, a2]);
}

/// A service account needs its cluster, its own uid, and is removed with its cluster.
pub async fn service_account_rules(store: &dyn Store) {
    let (t, _) = seed(store).await;
    let c = cluster(1, &t);
    let orphan = service_account(ClusterGuid::from_uuid(guid(0x4999)), "default", "sa", 1);
    assert_not_found(store.apply(&[Write::PutServiceAccount(orphan)]).await);
    store
        .apply(&[
            Write::PutCluster(c.clone()),
            Write::PutServiceAccount(service_account(c.guid, "default", "one", 1)),
        ])
        .await
        .unwrap();
    let same_uid = service_account(c.guid, "default", "two", 1);
    assert_conflict(
        store.apply(&[Write::PutServiceAccount(same_uid)]).await,
        "already used",
    );
    // Re-putting the same account updates it in place.
    let mut updated = service_account(c.guid, "default", "one", 1);
    updated.annotations.clear();
    store
        .apply(&[Write::PutServiceAccount(updated.clone())])
        .await
        .unwrap();
    assert_eq!(
        store.load_directory().await.unwrap().service_accounts,
        vec![updated]
    );
    assert_not_found(
        store
            .apply(&[Write::DeleteServiceAccount {
                cluster: c.guid,
                namespace: Namespace::parse("default").unwrap(),
                name: ServiceAccountName::parse("absent").unwrap(),
            }])
            .await,
    );
    store.apply(&[Write::DeleteCluster(c.guid)]).await.unwrap();
    assert!(
        store
            .load_directory()
            .await
            .unwrap()
            .service_accounts
            .is_empty()
    );
}

/// Vault names are global, retention is 7–90 days, purge protection cannot be switched off,
/// and a tenant with vaults cannot be deleted.
pub async fn vault_rules(store: &dyn Store) {
    let (t, _) = seed(store).await;
    let mut short = vault("kv-short", &t);
    short.retention_days = 6;
    assert_conflict(store.apply(&[Write::PutVault(short)]).await, "7 to 90");
    let orphan = vault("kv-orphan", &tenant(9));
    assert_not_found(store.apply(&[Write::PutVault(orphan)]).await);

    let mut protected = vault("kv-one", &t);
    protected.purge_protection = true;
    store
        .apply(&[Write::PutVault(protected.clone())])
        .await
        .unwrap();
    let mut elsewhere = vault("KV-ONE", &t);
    elsewhere.subscription = SubscriptionId::from_uuid(guid(0x2999));
    assert_conflict(
        store.apply(&[Write::PutVault(elsewhere)]).await,
        "globally unique",
    );
    let mut unprotect = protected.clone();
    unprotect.purge_protection = false;
    store.apply(&[Write::PutVault(unprotect)]).await.unwrap();
    assert!(store.load_directory().await.unwrap().vaults[0].purge_protection);

    assert_conflict(
        store.apply(&[Write::DeleteTenant(t.id)]).await,
        "key vault(s)",
    );
    store
        .apply(&[Write::DeleteVault(protected.name.clone())])
        .await
        .unwrap();
    assert_not_found(store.apply(&[Write::DeleteVault(protected.name)]).await);
}

/// An assignment needs an existing role, is unique per (principal, role, scope) whatever the
/// scope's casing, and keeps its role from being deleted.
pub async fn role_assignment_rules(store: &dyn Store) {
    seed(store).await;
    let unknown = role_assignment(1, 1, guid(0xdead), VAULT_SCOPE);
    assert_not_found(store.apply(&[Write::PutRoleAssignment(unknown)]).await);

    let role = custom_role(1, "Secret Peeker");
    let a = role_assignment(1, 1, role.id, VAULT_SCOPE);
    store
        .apply(&[
            Write::PutRoleDefinition(role.clone()),
            Write::PutRoleAssignment(a.clone()),
        ])
        .await
        .unwrap();
    let twin = role_assignment(
        2,
        1,
        role.id,
        &VAULT_SCOPE
            .to_uppercase()
            .replace("SUBSCRIPTIONS", "subscriptions"),
    );
    assert_conflict(
        store.apply(&[Write::PutRoleAssignment(twin)]).await,
        "already exists",
    );
    assert_conflict(
        store.apply(&[Write::DeleteRoleDefinition(role.id)]).await,
        "used by 1 role assignment",
    );
    // The same principal may hold another role at the same scope.
    store
        .apply(&[Write::PutRoleAssignment(role_assignment(
            3,
            1,
            builtin::READER,
            VAULT_SCOPE,
        ))])
        .await
        .unwrap();
    store
        .apply(&[
            Write::DeleteRoleAssignment(a.id),
            Write::DeleteRoleDefinition(role.id),
        ])
        .await
        .unwrap();
    assert_not_found(store.apply(&[Write::DeleteRoleAssignment(a.id)]).await);
    assert_not_found(store.apply(&[Write::DeleteRoleDefinition(role.id)]).await);
}

/// Custom role names are unique case-insensitively and may not shadow a built-in role.
pub async fn role_definition_rules(store: &dyn Store) {
    seed(store).await;
    let mut shadow = custom_role(1, "key vault secrets user");
    assert_conflict(
        store
            .apply(&[Write::PutRoleDefinition(shadow.clone())])
            .await,
        "built-in role",
    );
    shadow.name = "Peeker".to_owned();
    shadow.id = builtin::OWNER;
    assert_conflict(
        store.apply(&[Write::PutRoleDefinition(shadow)]).await,
        "built-in role",
    );
    store
        .apply(&[Write::PutRoleDefinition(custom_role(1, "Peeker"))])
        .await
        .unwrap();
    assert_conflict(
        store
            .apply(&[Write::PutRoleDefinition(custom_role(2, "PEEKER"))])
            .await,
        "already exists",
    );
    // Renaming the same role is an update.
    store
        .apply(&[Write::PutRoleDefinition(custom_role(1, "Peeker v2"))])
        .await
        .unwrap();
    let data = store.load_directory().await.unwrap();
    assert_eq!(data.role_definitions.len(), 1);
    assert_eq!(data.role_definitions[0].name, "Peeker v2");
}
