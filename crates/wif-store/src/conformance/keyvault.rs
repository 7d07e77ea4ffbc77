//! Key Vault secrets and the Key Vault audit log.

use std::collections::BTreeMap;

use uuid::Uuid;
use wif_core::UnixTime;
use wif_core::ids::{SecretName, VaultName};

use super::{assert_conflict, assert_not_found};
use crate::keyvault::{Deletion, KvAuditQuery, KvAuditRecord, SecretVersion, StoredSecret};
use crate::store::Store;

fn vault() -> VaultName {
    VaultName::parse("kv-one").unwrap()
}

fn name(s: &str) -> SecretName {
    SecretName::parse(s).unwrap()
}

/// Version `n` created at `t`, with opaque "sealed" bytes.
pub fn secret_version(n: u8, t: i64) -> SecretVersion {
    SecretVersion {
        version: format!("{n:032x}"),
        sealed_value: vec![n, 1, 2, 3],
        content_type: Some("text/plain".to_owned()),
        tags: BTreeMap::from([("n".to_owned(), n.to_string())]),
        enabled: true,
        not_before: None,
        expires: Some(UnixTime::from_secs(t + 3600)),
        created: UnixTime::from_secs(t),
        updated: UnixTime::from_secs(t),
    }
}

/// Versions accumulate in order under the first casing of the name; updates change attributes
/// only; nothing bumps the directory revision.
pub async fn kv_versions_round_trip(store: &dyn Store) {
    let before = store.revision().await.unwrap();
    let v1 = secret_version(1, 100);
    let v2 = secret_version(2, 200);
    store
        .kv_add_version(&vault(), &name("Db-Password"), &v1)
        .await
        .unwrap();
    store
        .kv_add_version(&vault(), &name("db-password"), &v2)
        .await
        .unwrap();
    let s = store
        .kv_secret(&vault(), &name("DB-PASSWORD"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.name.as_str(), "Db-Password");
    assert_eq!(s.versions, vec![v1.clone(), v2.clone()]);
    assert_eq!(s.latest(), Some(&v2));
    assert!(s.version(&v1.version.to_uppercase()).is_some());

    let mut changed = v1.clone();
    changed.enabled = false;
    changed.tags.clear();
    changed.updated = UnixTime::from_secs(300);
    changed.sealed_value = vec![9, 9];
    store
        .kv_update_version(&vault(), &name("db-password"), &changed)
        .await
        .unwrap();
    let s = store
        .kv_secret(&vault(), &name("db-password"))
        .await
        .unwrap()
        .unwrap();
    assert!(!s.versions[0].enabled);
    assert_eq!(
        s.versions[0].sealed_value, v1.sealed_value,
        "values never change"
    );
    let mut absent = v1;
    absent.version = "f".repeat(32);
    assert_not_found(
        store
            .kv_update_version(&vault(), &name("db-password"), &absent)
            .await,
    );

    store
        .kv_add_version(&vault(), &name("api-key"), &v2)
        .await
        .unwrap();
    let all = store.kv_secrets(&vault()).await.unwrap();
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["api-key", "Db-Password"]);
    assert!(
        store
            .kv_secrets(&VaultName::parse("kv-two").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.revision().await.unwrap(), before);
}

/// Soft delete blocks new versions; recover brings the secret back; purge removes it; a
/// restore refuses an existing name; due purges happen by date.
pub async fn kv_soft_delete_recover_purge_restore(store: &dyn Store) {
    let n = name("db");
    store
        .kv_add_version(&vault(), &n, &secret_version(1, 100))
        .await
        .unwrap();
    let deletion = Deletion {
        deleted_at: UnixTime::from_secs(1000),
        scheduled_purge: UnixTime::from_secs(2000),
    };
    store
        .kv_set_deletion(&vault(), &n, Some(deletion))
        .await
        .unwrap();
    assert_conflict(
        store
            .kv_add_version(&vault(), &n, &secret_version(2, 200))
            .await,
        "deleted but recoverable",
    );
    let s = store.kv_secret(&vault(), &n).await.unwrap().unwrap();
    assert_eq!(s.deleted, Some(deletion));
    store.kv_set_deletion(&vault(), &n, None).await.unwrap();
    store
        .kv_add_version(&vault(), &n, &secret_version(2, 200))
        .await
        .unwrap();

    let backup: StoredSecret = store.kv_secret(&vault(), &n).await.unwrap().unwrap();
    assert_conflict(store.kv_restore(&backup).await, "already exists");
    store.kv_purge(&vault(), &n).await.unwrap();
    assert!(store.kv_secret(&vault(), &n).await.unwrap().is_none());
    assert_not_found(store.kv_purge(&vault(), &n).await);
    assert_not_found(store.kv_set_deletion(&vault(), &n, None).await);
    store.kv_restore(&backup).await.unwrap();
    assert_eq!(store.kv_secret(&vault(), &n).await.unwrap(), Some(backup));

    store
        .kv_set_deletion(&vault(), &n, Some(deletion))
        .await
        .unwrap();
    assert_eq!(
        store.kv_purge_due(UnixTime::from_secs(1999)).await.unwrap(),
        0
    );
    assert_eq!(
        store.kv_purge_due(UnixTime::from_secs(2000)).await.unwrap(),
        1
    );
    assert!(store.kv_secret(&vault(), &n).await.unwrap().is_none());
}

/// The audit log: appended idempotently, filtered, newest first.
pub async fn kv_audit_filters(store: &dyn Store) {
    let record = |n: u128, t: i64, vault: &str, allowed: bool| KvAuditRecord {
        id: Uuid::from_u128(n),
        time: UnixTime::from_secs(t),
        vault: vault.to_owned(),
        operation: "SecretGet".to_owned(),
        caller_app: Some("app".to_owned()),
        caller_oid: Some("oid".to_owned()),
        action: Some("Microsoft.KeyVault/vaults/secrets/getSecret/action".to_owned()),
        resource: Some("/subscriptions/x/secrets/db".to_owned()),
        allowed,
        assignment: allowed.then(|| "a1".to_owned()),
        reason: (!allowed).then(|| "DeniedWithNoValidRBAC".to_owned()),
        status: if allowed { 200 } else { 403 },
        request_id: format!("r{n}"),
    };
    let records = [
        record(1, 10, "kv-one", true),
        record(2, 20, "kv-one", false),
        record(3, 30, "kv-two", true),
    ];
    store.append_kv_audit(&records).await.unwrap();
    store.append_kv_audit(&records[..1]).await.unwrap();
    let all = store.kv_audit(&KvAuditQuery::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.time.as_secs()).collect::<Vec<_>>(),
        [30, 20, 10]
    );
    assert_eq!(all[2], records[0]);
    let q = KvAuditQuery {
        vault: Some("KV-ONE".to_owned()),
        denied_only: true,
        ..Default::default()
    };
    assert_eq!(store.kv_audit(&q).await.unwrap(), vec![records[1].clone()]);
    let q = KvAuditQuery {
        since: Some(UnixTime::from_secs(20)),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(store.kv_audit(&q).await.unwrap(), vec![records[2].clone()]);
}
