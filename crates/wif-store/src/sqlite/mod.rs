//! The embedded SQLite backend: one file in the data directory, WAL journal, forward-only
//! migrations. With the PostgreSQL backend (later) this is the only place with SQL.
//!
//! Several processes may open the same file at once (a running `wif up` and a CLI command).
//! WAL lets readers proceed while one writer writes; every write transaction starts with
//! `BEGIN IMMEDIATE`, which takes the write lock up front, so concurrent writers wait for it
//! (up to the 5 s busy timeout) instead of failing halfway with `SQLITE_BUSY`.

mod apply;
mod keyvault;
mod rows;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use wif_core::directory::DirectoryData;

use wif_core::UnixTime;
use wif_core::ids::{SecretName, VaultName};

use crate::activity::{ActivityQuery, ActivityRecord};
use crate::keyvault::{Deletion, KvAuditQuery, KvAuditRecord, SecretVersion, StoredSecret};
use crate::model::{SignInQuery, SignInRecord, SigningKeyRecord, Write};
use crate::store::{Store, StoreError};

/// How long a connection waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per pool. SQLite has one writer at a time; the others serve reads.
const POOL_SIZE: u32 = 4;

/// How long a caller waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The embedded migrations, in order. Forward-only: a released file is never edited; a schema
/// change is a new file with the next number.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_workloads.sql"),
    ),
    (3, include_str!("../../migrations/sqlite/0003_keyvault.sql")),
    (
        4,
        include_str!("../../migrations/sqlite/0004_management.sql"),
    ),
];

/// A [`Store`] on an SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    location: Location,
}

#[derive(Clone)]
enum Location {
    File(PathBuf),
    Memory,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Memory => f.write_str(":memory:"),
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location.to_string())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file (and its directory) if missing, and
    /// migrates it to the schema this binary knows. Refuses a database whose schema is newer.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                StoreError::Unavailable(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let location = Location::File(path.to_owned());
        let pool = connect_with_retry(
            SqlitePoolOptions::new()
                .max_connections(POOL_SIZE)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .test_before_acquire(false),
            options,
            &location,
        )
        .await?;
        let store = Self { pool, location };
        store.migrate().await?;
        Ok(store)
    }

    /// A private in-memory database (tests). One connection holds it, so it lives as long as
    /// the store.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(":memory:")
            .map_err(|e| StoreError::Unavailable(format!("in-memory database: {e}")))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let location = Location::Memory;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| open_error(&location, &e))?;
        let store = Self { pool, location };
        store.migrate().await?;
        Ok(store)
    }

    /// The database file, or `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        match &self.location {
            Location::File(path) => Some(path),
            Location::Memory => None,
        }
    }

    /// Closes every connection; later calls fail with [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The newest schema version this binary knows.
    pub fn latest_schema_version() -> i64 {
        MIGRATIONS.last().map_or(0, |(v, _)| *v)
    }

    /// The schema version recorded in the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("reading the schema version", &e))?;
        row.try_get::<i64, _>("v")
            .map_err(|e| db_error("reading the schema version", &e))
    }

    /// Applies the migrations the database lacks, each recorded in `schema_migrations`, all
    /// in one write transaction so two processes opening a new file do not both migrate.
    async fn migrate(&self) -> Result<(), StoreError> {
        let fail = |e: sqlx::Error| match db_error("migrating", &e) {
            StoreError::Unavailable(m) => StoreError::Unavailable(m),
            other => StoreError::Migration(format!("{} ({other})", self.location)),
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 applied_at INTEGER NOT NULL
             )",
        )
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        let current: i64 =
            sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.try_get("v"))
                .map_err(fail)?;
        let latest = Self::latest_schema_version();
        if current > latest {
            return Err(StoreError::Migration(format!(
                "the database {} has schema version {current}, newer than the {latest} this wif \
                 knows; upgrade wif to a version that supports it",
                self.location
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(|e| {
                StoreError::Migration(format!(
                    "migration {version:04} failed on {}: {e}",
                    self.location
                ))
            })?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, unixepoch())",
            )
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            tracing::info!(version, database = %self.location, "applied store migration");
        }
        tx.commit().await.map_err(fail)
    }

    /// Starts a write transaction, taking SQLite's write lock at once (`BEGIN IMMEDIATE`).
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| db_error("starting a write transaction", &e))
    }
}

/// Connects a pool, retrying briefly when a concurrent opener holds the lock that switching a
/// new file to WAL needs (that switch cannot wait on the busy timeout).
async fn connect_with_retry(
    pool_options: SqlitePoolOptions,
    options: SqliteConnectOptions,
    location: &Location,
) -> Result<SqlitePool, StoreError> {
    const ATTEMPTS: u32 = 50;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match pool_options.clone().connect_with(options.clone()).await {
            Ok(pool) => return Ok(pool),
            Err(e) if attempt < ATTEMPTS && is_busy(&e) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(open_error(location, &e)),
        }
    }
}

fn open_error(location: &Location, e: &sqlx::Error) -> StoreError {
    match db_error("opening", e) {
        StoreError::Unavailable(m) => {
            StoreError::Unavailable(format!("cannot open database {location}: {m}"))
        }
        other => other,
    }
}

/// SQLite primary result codes (the low byte of an extended code).
mod code {
    pub const BUSY: i64 = 5;
    pub const LOCKED: i64 = 6;
    pub const CORRUPT: i64 = 11;
    pub const CONSTRAINT: i64 = 19;
    pub const NOTADB: i64 = 26;
}

fn primary_code(e: &sqlx::Error) -> Option<i64> {
    let code = e.as_database_error()?.code()?;
    code.parse::<i64>().ok().map(|c| c & 0xff)
}

fn is_busy(e: &sqlx::Error) -> bool {
    matches!(primary_code(e), Some(code::BUSY | code::LOCKED))
}

/// Maps a driver error to a [`StoreError`]. Constraint failures that reach here are ones the
/// explicit checks in [`apply`] did not foresee; they still surface as conflicts.
fn db_error(doing: &str, e: &sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => match primary_code(e) {
            Some(code::CONSTRAINT) => StoreError::Conflict(format!("{doing}: {}", db.message())),
            Some(code::CORRUPT | code::NOTADB) => {
                StoreError::Corrupt(format!("{doing}: {}", db.message()))
            }
            Some(code::BUSY | code::LOCKED) => StoreError::Unavailable(format!(
                "{doing}: the database stayed locked by another writer for more than {} s",
                BUSY_TIMEOUT.as_secs()
            )),
            _ => StoreError::Unavailable(format!("{doing}: {}", db.message())),
        },
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. } => {
            StoreError::Corrupt(format!("{doing}: {e}"))
        }
        _ => StoreError::Unavailable(format!("{doing}: {e}")),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn revision(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT value FROM revision WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("reading the revision", &e))?;
        rows::revision(&row)
    }

    async fn load_directory(&self) -> Result<DirectoryData, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| db_error("starting a read transaction", &e))?;
        let data = rows::load_directory(&mut tx).await?;
        // A read transaction commits nothing; ending it releases the WAL snapshot.
        tx.commit()
            .await
            .map_err(|e| db_error("ending a read transaction", &e))?;
        Ok(data)
    }

    async fn apply(&self, writes: &[Write]) -> Result<u64, StoreError> {
        if writes.is_empty() {
            return self.revision().await;
        }
        let mut tx = self.begin_write().await?;
        match apply::apply_all(&mut tx, writes).await {
            Ok(revision) => {
                tx.commit()
                    .await
                    .map_err(|e| db_error("committing writes", &e))?;
                Ok(revision)
            }
            Err(err) => {
                // Best effort: dropping the transaction rolls back too.
                let _ = tx.rollback().await;
                Err(err)
            }
        }
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        rows::signing_keys(&self.pool).await
    }

    async fn append_sign_ins(&self, records: &[SignInRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for record in records {
            apply::insert_sign_in(&mut tx, record).await?;
        }
        tx.commit()
            .await
            .map_err(|e| db_error("committing sign-in records", &e))
    }

    async fn sign_ins(&self, query: &SignInQuery) -> Result<Vec<SignInRecord>, StoreError> {
        rows::sign_ins(&self.pool, query).await
    }

    async fn kv_secret(
        &self,
        vault: &VaultName,
        name: &SecretName,
    ) -> Result<Option<StoredSecret>, StoreError> {
        keyvault::secret(&self.pool, vault, name).await
    }

    async fn kv_secrets(&self, vault: &VaultName) -> Result<Vec<StoredSecret>, StoreError> {
        keyvault::secrets(&self.pool, vault).await
    }

    async fn kv_add_version(
        &self,
        vault: &VaultName,
        name: &SecretName,
        version: &SecretVersion,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        keyvault::add_version(&mut tx, vault, name, version).await?;
        commit(tx, "committing a secret version").await
    }

    async fn kv_update_version(
        &self,
        vault: &VaultName,
        name: &SecretName,
        version: &SecretVersion,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        keyvault::update_version(&mut tx, vault, name, version).await?;
        commit(tx, "committing a secret update").await
    }

    async fn kv_set_deletion(
        &self,
        vault: &VaultName,
        name: &SecretName,
        deletion: Option<Deletion>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        keyvault::set_deletion(&mut tx, vault, name, deletion).await?;
        commit(tx, "committing a secret deletion").await
    }

    async fn kv_purge(&self, vault: &VaultName, name: &SecretName) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        keyvault::purge(&mut tx, vault, name).await?;
        commit(tx, "committing a purge").await
    }

    async fn kv_restore(&self, secret: &StoredSecret) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        keyvault::restore(&mut tx, secret).await?;
        commit(tx, "committing a restore").await
    }

    async fn kv_purge_due(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = keyvault::purge_due(&mut tx, now).await?;
        commit(tx, "committing purges").await?;
        Ok(n)
    }

    async fn append_kv_audit(&self, records: &[KvAuditRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for r in records {
            keyvault::insert_audit(&mut tx, r).await?;
        }
        commit(tx, "committing Key Vault audit records").await
    }

    async fn kv_audit(&self, query: &KvAuditQuery) -> Result<Vec<KvAuditRecord>, StoreError> {
        keyvault::audit(&self.pool, query).await
    }

    async fn append_activity(&self, records: &[ActivityRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for r in records {
            let body = serde_json::to_string(r)
                .map_err(|e| StoreError::Conflict(format!("activity record: {e}")))?;
            sqlx::query("INSERT OR IGNORE INTO activity_log (id, time, body) VALUES (?, ?, ?)")
                .bind(r.id.hyphenated().to_string())
                .bind(r.time.as_secs())
                .bind(body)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("appending to the activity log", &e))?;
        }
        commit(tx, "committing activity records").await
    }

    async fn activity(&self, query: &ActivityQuery) -> Result<Vec<ActivityRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT body FROM activity_log WHERE (?1 IS NULL OR time >= ?1)
             ORDER BY time DESC, seq DESC",
        )
        .bind(query.since.map(UnixTime::as_secs))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("reading the activity log", &e))?;
        let mut out = Vec::new();
        for row in &rows {
            let body: String = row
                .try_get("body")
                .map_err(|e| db_error("reading the activity log", &e))?;
            let r: ActivityRecord = serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("activity_log.body: {e}")))?;
            if query.failed_only && r.status < 400 {
                continue;
            }
            out.push(r);
            if query.limit != 0 && out.len() >= query.limit {
                break;
            }
        }
        Ok(out)
    }
}

/// Commits a write transaction (an error drops it, which rolls back).
async fn commit(tx: Transaction<'static, Sqlite>, doing: &str) -> Result<(), StoreError> {
    tx.commit().await.map_err(|e| db_error(doing, &e))
}
