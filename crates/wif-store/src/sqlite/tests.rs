//! SQLite-specific behaviour: files, migrations, several processes on one file. The
//! backend-independent behaviour is in the conformance suite (`tests/it/sqlite.rs`).

use std::sync::Arc;

use uuid::Uuid;
use wif_core::directory::Region;
use wif_core::ids::RegionName;

use super::*;

fn region(name: &str) -> Write {
    Write::PutRegion(Region {
        name: RegionName::parse(name).unwrap(),
    })
}

async fn tables(store: &SqliteStore) -> Vec<String> {
    sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("name"))
        .collect()
}

#[tokio::test]
async fn migrates_a_new_file_from_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("dir").join("wif.db");
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.exists());
    assert_eq!(store.path(), Some(path.as_path()));
    assert_eq!(
        store.schema_version().await.unwrap(),
        SqliteStore::latest_schema_version()
    );
    let names = tables(&store).await;
    for table in [
        "schema_migrations",
        "revision",
        "tenants",
        "subscriptions",
        "regions",
        "clusters",
        "identities",
        "credentials",
        "signing_keys",
        "sign_ins",
    ] {
        assert!(
            names.iter().any(|n| n == table),
            "missing {table} in {names:?}"
        );
    }
    assert_eq!(store.revision().await.unwrap(), 0);
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn reopening_keeps_data_and_does_not_migrate_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wif.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.apply(&[region("eastus")]).await.unwrap();
    store.close().await;
    drop(store);

    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.revision().await.unwrap(), 1);
    assert_eq!(store.load_directory().await.unwrap().regions.len(), 1);
    let applied: i64 = sqlx::query("SELECT COUNT(*) FROM schema_migrations")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied, i64::try_from(MIGRATIONS.len()).unwrap());
}

#[tokio::test]
async fn refuses_a_database_with_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wif.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let future = SqliteStore::latest_schema_version() + 1;
    sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)")
        .bind(future)
        .execute(&store.pool)
        .await
        .unwrap();
    store.close().await;
    drop(store);

    match SqliteStore::open(&path).await {
        Err(StoreError::Migration(message)) => {
            assert!(message.contains("upgrade wif"), "{message}");
            assert!(message.contains(&future.to_string()), "{message}");
        }
        other => panic!("expected a migration error, got {other:?}"),
    }
}

#[tokio::test]
async fn two_handles_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wif.db");
    // Two "processes": separate pools, separate connections, one file.
    let (a, b) = tokio::join!(SqliteStore::open(&path), SqliteStore::open(&path));
    let (a, b) = (a.unwrap(), b.unwrap());
    a.apply(&[region("eastus")]).await.unwrap();
    assert_eq!(b.revision().await.unwrap(), 1);
    assert_eq!(b.load_directory().await.unwrap().regions.len(), 1);
    b.apply(&[region("westus")]).await.unwrap();
    assert_eq!(a.revision().await.unwrap(), 2);
    assert_eq!(a.load_directory().await.unwrap().regions.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_applies_from_two_handles_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wif.db");
    let a: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let per_handle = 20;
    let mut tasks = Vec::new();
    for i in 0..per_handle {
        for (label, store) in [("a", &a), ("b", &b)] {
            let store = Arc::clone(store);
            let name = format!("r{label}{i}");
            tasks.push(tokio::spawn(async move {
                store
                    .apply(&[region(&name), region(&format!("{name}x"))])
                    .await
            }));
        }
    }
    let mut revisions = Vec::new();
    for task in tasks {
        revisions.push(task.await.unwrap().unwrap());
    }
    revisions.sort_unstable();
    let expected: Vec<u64> = (1..=2 * per_handle).collect();
    assert_eq!(revisions, expected, "each apply got its own revision");
    assert_eq!(a.revision().await.unwrap(), 2 * per_handle);
    let regions = b.load_directory().await.unwrap().regions;
    assert_eq!(regions.len(), usize::try_from(4 * per_handle).unwrap());
}

#[tokio::test]
async fn corrupt_row_names_table_column_and_value() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    sqlx::query(
        "INSERT INTO tenants (id, domain, display_name, created_at)
         VALUES ('00000000-0000-0000-0000-000000000001', 't.example', 'T', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO clusters (guid, name, tenant, subscription, resource_group, region, issuer,
             created_at)
         VALUES ('00000000-0000-0000-0000-000000000002', 'aks',
             '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000003',
             'rg', 'eastus', 'http://not-https.example/', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    match store.load_directory().await {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains("clusters.issuer"), "{message}");
            assert!(message.contains("http://not-https.example/"), "{message}");
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn in_memory_store_keeps_its_data() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    assert_eq!(store.path(), None);
    store.apply(&[region("eastus")]).await.unwrap();
    store.apply(&[region("westus")]).await.unwrap();
    assert_eq!(store.load_directory().await.unwrap().regions.len(), 2);
    assert_eq!(
        format!("{store:?}"),
        r#"SqliteStore { location: ":memory:", .. }"#
    );
}

#[tokio::test]
async fn closed_store_is_unavailable() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store.close().await;
    assert!(matches!(
        store.revision().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(
        store
            .apply(&[region("eastus")])
            .await
            .unwrap_err()
            .is_unavailable()
    );
}

#[tokio::test]
async fn unopenable_path_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the database file should be.
    let path = dir.path().join("wif.db");
    std::fs::create_dir(&path).unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("wif.db"), "{err}");
}

#[tokio::test]
async fn sign_in_ids_are_stored_as_lower_case_text() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let id = Uuid::from_u128(0xABCDEF);
    let record = SignInRecord {
        result_code: u32::MAX,
        ..SignInRecord::arriving((id, id, id), wif_core::UnixTime::from_secs(5), "T", "C")
    };
    store
        .append_sign_ins(std::slice::from_ref(&record))
        .await
        .unwrap();
    let text: String = sqlx::query("SELECT id FROM sign_ins")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(text, "00000000-0000-0000-0000-000000abcdef");
    let back = store.sign_ins(&SignInQuery::default()).await.unwrap();
    assert_eq!(back, vec![record]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_of_a_new_file_all_succeed() {
    // Several processes starting at once race to create, switch to WAL and migrate one file.
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wif.db");
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                tokio::spawn(async move { SqliteStore::open(&path).await })
            })
            .collect();
        for opener in openers {
            let store = opener.await.unwrap().unwrap();
            assert_eq!(
                store.schema_version().await.unwrap(),
                SqliteStore::latest_schema_version()
            );
        }
    }
}
