//! The one persistence interface of wif. Everyone holds it as `Arc<dyn Store>`; the backends
//! ([`crate::sqlite`], later PostgreSQL) are the only places with SQL, and the conformance
//! suite (`wif_store::conformance`, feature `conformance`) states the behaviour both must have.
//!
//! The directory is versioned by one global revision: every successful [`Store::apply`] bumps
//! it exactly once, and the snapshot watcher polls [`Store::revision`] to know when to rebuild
//! (ARCHITECTURE §3, "changes since revision N"). Logs are data but not directory state, so
//! appending to them never bumps the revision.

use async_trait::async_trait;
use wif_core::UnixTime;
use wif_core::directory::DirectoryData;
use wif_core::ids::{SecretName, VaultName};

use crate::activity::{ActivityQuery, ActivityRecord};
use crate::keyvault::{Deletion, KvAuditQuery, KvAuditRecord, SecretVersion, StoredSecret};
use crate::model::{SignInQuery, SignInRecord, SigningKeyRecord, Write};

/// Persistent state: the directory, signing keys and the sign-in log.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // --- revision and directory ---

    /// The current global revision. Cheap: the snapshot watcher polls it every second.
    async fn revision(&self) -> Result<u64, StoreError>;

    /// Every directory row and the revision they were read at, in one read transaction. Rows
    /// of each kind come in creation order (an upsert keeps a row's place).
    async fn load_directory(&self) -> Result<DirectoryData, StoreError>;

    /// Applies `writes` in order, all-or-nothing, in one transaction that bumps the revision
    /// exactly once, and returns the new revision. An empty batch changes nothing and returns
    /// the current revision. The integrity rules (uniqueness, limits, references) are checked
    /// here, so a failing batch leaves the store and its revision untouched.
    async fn apply(&self, writes: &[Write]) -> Result<u64, StoreError>;

    // --- signing keys ---

    /// All signing keys of every owner, retired ones included, oldest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;

    // --- sign-in log ---

    /// Appends a batch of sign-in records (an id already logged is kept as first written).
    /// Does not bump the directory revision.
    async fn append_sign_ins(&self, records: &[SignInRecord]) -> Result<(), StoreError>;

    /// Sign-in records matching `query`, newest first.
    async fn sign_ins(&self, query: &SignInQuery) -> Result<Vec<SignInRecord>, StoreError>;

    // --- Key Vault secrets (data, not directory state: none of these bump the revision) ---

    /// A secret (live or soft-deleted) with all its versions; names compare case-insensitively.
    async fn kv_secret(
        &self,
        vault: &VaultName,
        name: &SecretName,
    ) -> Result<Option<StoredSecret>, StoreError>;

    /// Every secret of a vault, live and soft-deleted, ordered by case-folded name.
    async fn kv_secrets(&self, vault: &VaultName) -> Result<Vec<StoredSecret>, StoreError>;

    /// Adds a version (creating the secret when absent). A soft-deleted secret is a
    /// [`StoreError::Conflict`]: it must be recovered or purged first.
    async fn kv_add_version(
        &self,
        vault: &VaultName,
        name: &SecretName,
        version: &SecretVersion,
    ) -> Result<(), StoreError>;

    /// Replaces the attributes of an existing version (its value never changes).
    async fn kv_update_version(
        &self,
        vault: &VaultName,
        name: &SecretName,
        version: &SecretVersion,
    ) -> Result<(), StoreError>;

    /// Soft-deletes (`Some`) or recovers (`None`) a secret.
    async fn kv_set_deletion(
        &self,
        vault: &VaultName,
        name: &SecretName,
        deletion: Option<Deletion>,
    ) -> Result<(), StoreError>;

    /// Removes a secret and all its versions for good.
    async fn kv_purge(&self, vault: &VaultName, name: &SecretName) -> Result<(), StoreError>;

    /// Writes a whole secret from a backup; a [`StoreError::Conflict`] when the name exists.
    async fn kv_restore(&self, secret: &StoredSecret) -> Result<(), StoreError>;

    /// Purges every soft-deleted secret whose scheduled purge date is at or before `now`.
    async fn kv_purge_due(&self, now: UnixTime) -> Result<u64, StoreError>;

    /// Appends Key Vault audit records.
    async fn append_kv_audit(&self, records: &[KvAuditRecord]) -> Result<(), StoreError>;

    /// Key Vault audit records matching `query`, newest first.
    async fn kv_audit(&self, query: &KvAuditQuery) -> Result<Vec<KvAuditRecord>, StoreError>;

    /// Appends activity-log records (management writes).
    async fn append_activity(&self, records: &[ActivityRecord]) -> Result<(), StoreError>;

    /// Activity-log records matching `query`, newest first.
    async fn activity(&self, query: &ActivityQuery) -> Result<Vec<ActivityRecord>, StoreError>;
}

/// Why a store operation failed. Each variant's message says what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or limit rule would be broken; the message names the rule.
    #[error("{0}")]
    Conflict(String),
    /// The write names something that does not exist: a row to delete or retire, or the
    /// parent a new row refers to (the identity of a credential, the tenant of a cluster).
    #[error("{0}")]
    NotFound(String),
    /// The database cannot be reached, opened or locked right now. The server answers 503 to
    /// management calls and keeps serving tokens from its snapshot.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored row no longer parses (for example an issuer that fails `Issuer::parse`).
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    /// The schema cannot be migrated, or is newer than this binary.
    #[error("store migration failed: {0}")]
    Migration(String),
}

impl StoreError {
    /// Whether retrying later may succeed (the database was unavailable).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}
