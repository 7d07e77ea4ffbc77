//! Snapshot building and the watcher. The watcher tests run on real time with a short poll
//! interval and wait for a condition with a bounded number of tries (the SQLite driver works on
//! its own threads, which a paused tokio clock would race with its pool timeouts).

use crate::keyvault::{Deletion, KvAuditQuery, KvAuditRecord, SecretVersion, StoredSecret};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use wif_core::ids::{SecretName, VaultName};

use async_trait::async_trait;
use uuid::Uuid;
use wif_core::directory::{DirectoryData, Region, Tenant};
use wif_core::ids::{ClusterGuid, RegionName, TenantDomain, TenantId};

use super::*;
use crate::model::{SignInQuery, SignInRecord, Write};
use crate::sqlite::SqliteStore;

/// A store that can be switched to fail every call, counting revision polls.
#[derive(Debug)]
struct FlakyStore {
    inner: SqliteStore,
    failing: AtomicBool,
    polls: AtomicUsize,
    loads: AtomicUsize,
}

impl FlakyStore {
    async fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: SqliteStore::open_in_memory().await.unwrap(),
            failing: AtomicBool::new(false),
            polls: AtomicUsize::new(0),
            loads: AtomicUsize::new(0),
        })
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("switched off by the test".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for FlakyStore {
    async fn revision(&self) -> Result<u64, StoreError> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.revision().await
    }
    async fn load_directory(&self) -> Result<DirectoryData, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.load_directory().await
    }
    async fn apply(&self, writes: &[Write]) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.apply(writes).await
    }
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.check()?;
        self.inner.signing_keys().await
    }
    async fn append_sign_ins(&self, records: &[SignInRecord]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.append_sign_ins(records).await
    }
    async fn sign_ins(&self, query: &SignInQuery) -> Result<Vec<SignInRecord>, StoreError> {
        self.check()?;
        self.inner.sign_ins(query).await
    }
    async fn kv_secret(
        &self,
        vault: &VaultName,
        name: &SecretName,
    ) -> Result<Option<StoredSecret>, StoreError> {
        self.check()?;
        self.inner.kv_secret(vault, name).await
    }
    async fn kv_secrets(&self, vault: &VaultName) -> Result<Vec<StoredSecret>, StoreError> {
        self.check()?;
        self.inner.kv_secrets(vault).await
    }
    async fn kv_add_version(
        &self,
        vault: &VaultName,
        name: &SecretName,
        version: &SecretVersion,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.kv_add_version(vault, name, version).await
    }
    async fn kv_update_version(
        &self,
        vault: &VaultName,
        name: &SecretName,
        version: &SecretVersion,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.kv_update_version(vault, name, version).await
    }
    async fn kv_set_deletion(
        &self,
        vault: &VaultName,
        name: &SecretName,
        deletion: Option<Deletion>,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.kv_set_deletion(vault, name, deletion).await
    }
    async fn kv_purge(&self, vault: &VaultName, name: &SecretName) -> Result<(), StoreError> {
        self.check()?;
        self.inner.kv_purge(vault, name).await
    }
    async fn kv_restore(&self, secret: &StoredSecret) -> Result<(), StoreError> {
        self.check()?;
        self.inner.kv_restore(secret).await
    }
    async fn kv_purge_due(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.kv_purge_due(now).await
    }
    async fn append_kv_audit(&self, records: &[KvAuditRecord]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.append_kv_audit(records).await
    }
    async fn kv_audit(&self, query: &KvAuditQuery) -> Result<Vec<KvAuditRecord>, StoreError> {
        self.check()?;
        self.inner.kv_audit(query).await
    }

    async fn append_activity(
        &self,
        records: &[crate::activity::ActivityRecord],
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.append_activity(records).await
    }

    async fn activity(
        &self,
        query: &crate::activity::ActivityQuery,
    ) -> Result<Vec<crate::activity::ActivityRecord>, StoreError> {
        self.check()?;
        self.inner.activity(query).await
    }
}

fn kek() -> Arc<KeyEncryptionKey> {
    Arc::new(KeyEncryptionKey::from_bytes([5; 32]))
}

fn tenant_owner() -> KeyOwner {
    KeyOwner::Tenant(TenantId::from_uuid(Uuid::from_u128(1)))
}

fn cluster_owner() -> KeyOwner {
    KeyOwner::Cluster(ClusterGuid::from_uuid(Uuid::from_u128(2)))
}

/// A fresh P-256 key sealed into a record (cheap to generate, unlike RSA).
fn sealed(owner: KeyOwner, created_at: i64) -> (SigningKey, SigningKeyRecord) {
    let key = SigningKey::generate_p256().unwrap();
    let record =
        SigningKeyRecord::seal(&key, owner, UnixTime::from_secs(created_at), &kek()).unwrap();
    (key, record)
}

fn put_region(name: &str) -> Write {
    Write::PutRegion(Region {
        name: RegionName::parse(name).unwrap(),
    })
}

/// Waits (bounded) until `condition` holds.
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..2_000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn build_groups_keys_by_owner_newest_first() {
    let store = FlakyStore::new().await;
    let (_, old) = sealed(tenant_owner(), 1_000);
    let (new_key, new) = sealed(tenant_owner(), 2_000);
    let (cluster_key, cluster) = sealed(cluster_owner(), 1_500);
    store
        .apply(&[
            Write::PutSigningKey(new.clone()),
            Write::PutSigningKey(old.clone()),
            Write::PutSigningKey(cluster),
            Write::RetireSigningKey {
                kid: old.kid.clone(),
                retired_at: UnixTime::from_secs(2_000),
                publish_until: UnixTime::from_secs(5_000),
            },
            Write::PutTenant(Tenant {
                id: TenantId::from_uuid(Uuid::from_u128(1)),
                domain: TenantDomain::parse("t.example").unwrap(),
                display_name: "T".into(),
                created_at: UnixTime::from_secs(1),
            }),
        ])
        .await
        .unwrap();
    let builder = SnapshotBuilder::new(store, kek(), vec!["https://vault.localhost:8443/".into()]);
    let snapshot = builder.build(None).await.unwrap();
    assert_eq!(snapshot.revision(), 1);
    assert_eq!(snapshot.directory.data().tenants.len(), 1);
    assert!(
        snapshot
            .directory
            .is_known_resource("https://vault.localhost:8443")
    );

    let tenant = snapshot.keys_of(&tenant_owner()).unwrap();
    assert_eq!(tenant.active.kid(), new_key.kid());
    let kids =
        |jwks: Jwks| -> Vec<Option<String>> { jwks.keys.into_iter().map(|k| k.kid).collect() };
    assert_eq!(
        kids(tenant.jwks_at(UnixTime::from_secs(4_999))),
        vec![Some(new.kid.to_string()), Some(old.kid.to_string())]
    );
    assert_eq!(
        kids(tenant.jwks_at(UnixTime::from_secs(5_000))),
        vec![Some(new.kid.to_string())]
    );
    assert_eq!(tenant.key_set_at(UnixTime::from_secs(4_999)).len(), 2);
    let later = tenant.key_set_at(UnixTime::from_secs(6_000));
    assert!(later.get(new.kid.as_str()).is_some() && later.get(old.kid.as_str()).is_none());

    let cluster = snapshot.keys_of(&cluster_owner()).unwrap();
    assert_eq!(cluster.active.kid(), cluster_key.kid());
    assert_eq!(cluster.all.len(), 1);
    let stranger = KeyOwner::Tenant(TenantId::from_uuid(Uuid::from_u128(99)));
    assert!(snapshot.keys_of(&stranger).is_none());
}

#[tokio::test]
async fn owner_with_only_retired_keys_signs_with_the_newest() {
    let store = FlakyStore::new().await;
    let (_, older) = sealed(tenant_owner(), 1_000);
    let (newest_key, newest) = sealed(tenant_owner(), 2_000);
    let mut writes = vec![
        Write::PutSigningKey(older.clone()),
        Write::PutSigningKey(newest.clone()),
    ];
    for record in [&older, &newest] {
        writes.push(Write::RetireSigningKey {
            kid: record.kid.clone(),
            retired_at: UnixTime::from_secs(3_000),
            publish_until: UnixTime::from_secs(4_000),
        });
    }
    store.apply(&writes).await.unwrap();
    let snapshot = SnapshotBuilder::new(store, kek(), vec![])
        .build(None)
        .await
        .unwrap();
    let keys = snapshot.keys_of(&tenant_owner()).unwrap();
    assert_eq!(keys.active.kid(), newest_key.kid());
    assert!(keys.jwks_at(UnixTime::from_secs(4_000)).keys.is_empty());
}

#[tokio::test]
async fn rebuild_reuses_parsed_keys() {
    let store = FlakyStore::new().await;
    let (_, record) = sealed(tenant_owner(), 1_000);
    store.apply(&[Write::PutSigningKey(record)]).await.unwrap();
    let builder = SnapshotBuilder::new(store.clone(), kek(), vec![]);
    let first = builder.build(None).await.unwrap();
    store.apply(&[put_region("eastus")]).await.unwrap();
    let second = builder.build(Some(&first)).await.unwrap();
    assert_eq!(second.revision(), 2);
    let a = &first.keys_of(&tenant_owner()).unwrap().active;
    let b = &second.keys_of(&tenant_owner()).unwrap().active;
    assert!(Arc::ptr_eq(a, b), "the parsed key was not reused");
    // Without a previous snapshot the key is parsed again.
    let third = builder.build(None).await.unwrap();
    assert!(!Arc::ptr_eq(
        a,
        &third.keys_of(&tenant_owner()).unwrap().active
    ));
}

#[tokio::test]
async fn wrong_kek_fails_the_build_as_corrupt() {
    let store = FlakyStore::new().await;
    let (_, record) = sealed(tenant_owner(), 1_000);
    store.apply(&[Write::PutSigningKey(record)]).await.unwrap();
    let other = Arc::new(KeyEncryptionKey::from_bytes([6; 32]));
    match SnapshotBuilder::new(store, other, vec![]).build(None).await {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains("key-encryption key"), "{message}")
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn handle_swaps_snapshots() {
    let handle = SnapshotHandle::new(Snapshot::empty());
    let before = handle.load();
    assert_eq!(before.revision(), 0);
    let data = DirectoryData {
        revision: 9,
        ..Default::default()
    };
    handle.store(Snapshot {
        directory: Directory::build(data, &[]),
        keys: HashMap::new(),
    });
    assert_eq!(handle.clone().load().revision(), 9);
    assert_eq!(before.revision(), 0, "a loaded snapshot never changes");
}

#[tokio::test]
async fn watcher_picks_up_changes_and_stops_on_shutdown() {
    let store = FlakyStore::new().await;
    let builder = SnapshotBuilder::new(store.clone(), kek(), vec![]);
    let handle = SnapshotHandle::new(builder.build(None).await.unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = builder.spawn_watcher(handle.clone(), Duration::from_millis(5), async move {
        let _ = stopped.await;
    });

    let (_, record) = sealed(cluster_owner(), 1_000);
    let revision = store
        .apply(&[put_region("eastus"), Write::PutSigningKey(record)])
        .await
        .unwrap();
    wait_until("the watcher swaps in the new revision", || {
        handle.load().revision() == revision
    })
    .await;
    let snapshot = handle.load();
    assert_eq!(snapshot.directory.data().regions.len(), 1);
    assert!(snapshot.keys_of(&cluster_owner()).is_some());

    // No change, no rebuild: polls continue but loads do not.
    let loads = store.loads.load(Ordering::SeqCst);
    let polls = store.polls.load(Ordering::SeqCst);
    wait_until("a few more polls", || {
        store.polls.load(Ordering::SeqCst) >= polls + 3
    })
    .await;
    assert_eq!(store.loads.load(Ordering::SeqCst), loads);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the watcher stops on shutdown")
        .unwrap();
}

#[tokio::test]
async fn watcher_keeps_the_last_snapshot_while_the_store_fails() {
    let store = FlakyStore::new().await;
    store.apply(&[put_region("eastus")]).await.unwrap();
    let builder = SnapshotBuilder::new(store.clone(), kek(), vec![]);
    let handle = SnapshotHandle::new(builder.build(None).await.unwrap());
    let task = builder.spawn_watcher(
        handle.clone(),
        Duration::from_millis(5),
        std::future::pending(),
    );

    store.failing.store(true, Ordering::SeqCst);
    // A change the watcher cannot see while the store fails.
    store.inner.apply(&[put_region("westus")]).await.unwrap();
    let polls = store.polls.load(Ordering::SeqCst);
    wait_until("the watcher polls the failing store", || {
        store.polls.load(Ordering::SeqCst) >= polls + 5
    })
    .await;
    let kept = handle.load();
    assert_eq!(kept.revision(), 1);
    assert_eq!(kept.directory.data().regions.len(), 1);
    assert!(!task.is_finished(), "the watcher survives store errors");

    store.failing.store(false, Ordering::SeqCst);
    wait_until("the watcher recovers", || handle.load().revision() == 2).await;
    assert_eq!(handle.load().directory.data().regions.len(), 2);
    task.abort();
}
