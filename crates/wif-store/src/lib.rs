//! wif-store: wif's persistence (ARCHITECTURE §3, "State").
//!
//! - [`Store`] is the one persistence interface, held as `Arc<dyn Store>`. It returns domain
//!   types from `wif_core` and [`StoreError`]; no backend type appears in its signatures.
//! - [`sqlite`] is the embedded backend: one WAL-mode file, forward-only migrations, safe to
//!   open from several processes at once.
//! - [`crypto`] seals signing keys at rest with a key-encryption key kept outside the database.
//! - [`snapshot`] turns the store into the immutable [`snapshot::Snapshot`] the data plane
//!   reads, and keeps it fresh by polling the revision; when the store is unreachable the last
//!   snapshot keeps serving (static stability).
//! - `conformance` (feature `conformance`) is the backend-independent behaviour suite that
//!   every backend's integration tests run.

pub mod activity;
pub mod crypto;
pub mod keys;
pub mod keyvault;
pub mod model;
pub mod secrets;
pub mod snapshot;
pub mod sqlite;
pub mod store;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use crypto::{KekError, KeyEncryptionKey};
pub use keys::KeyRecordError;
pub use model::{KeyOwner, SignInQuery, SignInRecord, SigningKeyRecord, Write};
pub use snapshot::{OwnerKeys, PublishedKey, Snapshot, SnapshotBuilder, SnapshotHandle};
pub use sqlite::SqliteStore;
pub use store::{Store, StoreError};
