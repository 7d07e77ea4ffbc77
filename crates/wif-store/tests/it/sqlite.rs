//! The conformance suite against a fresh SQLite file per test (a real file, so WAL and the
//! file-backed pool are what is exercised, not the in-memory variant).

use std::ops::Deref;

use tempfile::TempDir;
use wif_store::SqliteStore;

/// A store on a file in a temporary directory that lives as long as the fixture.
pub struct SqliteFixture {
    store: SqliteStore,
    _dir: TempDir,
}

impl Deref for SqliteFixture {
    type Target = SqliteStore;

    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

/// A new, empty store for one conformance test.
#[expect(
    clippy::expect_used,
    reason = "a fixture that cannot be built should fail the test"
)]
pub async fn fresh_store() -> SqliteFixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("wif.db"))
        .await
        .expect("open a new SQLite store");
    SqliteFixture { store, _dir: dir }
}

wif_store::store_conformance_tests!(fresh_store);
