//! Key Vault secrets as stored: versions with sealed values, the soft-delete state of a secret,
//! and the data-plane audit log. Values are sealed by the caller with the key-encryption key
//! ([`seal_value`] / [`open_value`]); the store only ever sees sealed bytes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wif_core::UnixTime;
use wif_core::ids::{SecretName, VaultName};

use crate::crypto::{KekError, KeyEncryptionKey};

/// One version of a secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretVersion {
    /// 32 lower-case hex digits.
    pub version: String,
    /// The value, sealed with the key-encryption key (see [`seal_value`]).
    pub sealed_value: Vec<u8>,
    /// `contentType`.
    pub content_type: Option<String>,
    /// `tags`.
    pub tags: BTreeMap<String, String>,
    /// `attributes.enabled`.
    pub enabled: bool,
    /// `attributes.nbf`.
    pub not_before: Option<UnixTime>,
    /// `attributes.exp`.
    pub expires: Option<UnixTime>,
    /// `attributes.created`.
    pub created: UnixTime,
    /// `attributes.updated`.
    pub updated: UnixTime,
}

impl fmt::Debug for SecretVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretVersion")
            .field("version", &self.version)
            .field(
                "sealed_value",
                &format_args!("<{} sealed bytes>", self.sealed_value.len()),
            )
            .field("content_type", &self.content_type)
            .field("enabled", &self.enabled)
            .field("not_before", &self.not_before)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// A secret with all its versions, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSecret {
    /// The vault.
    pub vault: VaultName,
    /// The name, in the casing of its first version.
    pub name: SecretName,
    /// When it was soft-deleted, and when it will be purged; `None` while it is live.
    pub deleted: Option<Deletion>,
    /// Versions, oldest first (the last is the current one).
    pub versions: Vec<SecretVersion>,
}

impl StoredSecret {
    /// The current (newest) version.
    pub fn latest(&self) -> Option<&SecretVersion> {
        self.versions.last()
    }

    /// A version by id (case-insensitive, as Key Vault compares them).
    pub fn version(&self, id: &str) -> Option<&SecretVersion> {
        self.versions
            .iter()
            .find(|v| v.version.eq_ignore_ascii_case(id))
    }
}

/// The soft-delete state of a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    /// `deletedDate`.
    pub deleted_at: UnixTime,
    /// `scheduledPurgeDate`.
    pub scheduled_purge: UnixTime,
}

/// The associated data a secret value is sealed with: it binds the sealed bytes to their
/// vault, name and version, so a row copied elsewhere does not open.
fn value_aad(vault: &VaultName, name: &SecretName, version: &str) -> Vec<u8> {
    format!(
        "wif-kv-secret:{vault}/{}/{}",
        name.as_str().to_ascii_lowercase(),
        version.to_ascii_lowercase()
    )
    .into_bytes()
}

/// Seals a secret value for storage.
pub fn seal_value(
    kek: &KeyEncryptionKey,
    vault: &VaultName,
    name: &SecretName,
    version: &str,
    value: &str,
) -> Result<Vec<u8>, KekError> {
    kek.seal(value.as_bytes(), &value_aad(vault, name, version))
}

/// Opens a stored secret value.
pub fn open_value(
    kek: &KeyEncryptionKey,
    vault: &VaultName,
    name: &SecretName,
    version: &str,
    sealed: &[u8],
) -> Result<String, KekError> {
    let bytes = kek.open(sealed, &value_aad(vault, name, version))?;
    String::from_utf8(bytes).map_err(|_| KekError::Open)
}

/// One Key Vault data-plane call, as the audit log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvAuditRecord {
    /// Record id.
    pub id: Uuid,
    /// When.
    pub time: UnixTime,
    /// The vault.
    pub vault: String,
    /// The operation, such as `SecretGet`.
    pub operation: String,
    /// The caller's application (client) id, when a token was presented and verified.
    pub caller_app: Option<String>,
    /// The caller's object id.
    pub caller_oid: Option<String>,
    /// The data action checked.
    pub action: Option<String>,
    /// The resource scope checked.
    pub resource: Option<String>,
    /// Whether the call was allowed.
    pub allowed: bool,
    /// The role assignment that allowed it.
    pub assignment: Option<String>,
    /// Why it was refused (`DeniedWithNoValidRBAC`, `AKV10022`, …).
    pub reason: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// `x-ms-request-id`.
    pub request_id: String,
}

/// Which audit records to list; results are newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvAuditQuery {
    /// Only this vault.
    pub vault: Option<String>,
    /// Only records at or after this time.
    pub since: Option<UnixTime>,
    /// Only refused calls.
    pub denied_only: bool,
    /// At most this many; 0 means no limit.
    pub limit: usize,
}

/// Removes every secret of a vault that no longer exists (its deleted ones included), so a new
/// vault of the same name starts empty: wif keeps no deleted vaults.
pub async fn purge_vault(
    store: &dyn crate::Store,
    vault: &VaultName,
) -> Result<(), crate::StoreError> {
    for secret in store.kv_secrets(vault).await? {
        store.kv_purge(vault, &secret.name).await?;
    }
    Ok(())
}
