//! Creating and rotating signing keys. A key is RSA-2048 (RS256), named by its RFC 7638
//! thumbprint, and stored sealed under the data directory's key-encryption key. Rotation adds
//! the new key and retires the old one in one transaction; the retired key stays published
//! until every token it can have signed has expired (the longest lifetime wif issues, plus
//! clock skew), so nothing it signed stops verifying.

use std::collections::HashSet;
use std::sync::Arc;

use wif_core::directory::DirectoryData;
use wif_core::time::UnixTime;
use wif_jose::SigningKey;
use wif_store::crypto::KeyEncryptionKey;
use wif_store::model::{KeyOwner, SigningKeyRecord, Write};

use crate::error::{CliError, CliResult};

/// How long a retired key stays published: the longest token lifetime wif issues (48 h for
/// service-account tokens; access tokens are capped below it) plus 5 minutes of skew.
pub const RETIRED_KEY_PUBLISH_SECS: i64 = 48 * 3600 + 300;

/// Generates a key (off the async runtime: RSA generation takes a while) and seals it.
pub async fn new_key_record(
    owner: KeyOwner,
    kek: &Arc<KeyEncryptionKey>,
    now: UnixTime,
) -> CliResult<SigningKeyRecord> {
    let key = tokio::task::spawn_blocking(SigningKey::generate_rsa2048)
        .await
        .map_err(|e| CliError::msg(format!("key generation task failed: {e}")))??;
    Ok(SigningKeyRecord::seal(&key, owner, now, kek)?)
}

/// Writes that give every tenant and cluster in `data` a signing key if it has none.
pub async fn missing_key_writes(
    data: &DirectoryData,
    existing: &[SigningKeyRecord],
    kek: &Arc<KeyEncryptionKey>,
    now: UnixTime,
) -> CliResult<Vec<Write>> {
    let have: HashSet<String> = existing.iter().map(|k| k.owner.to_string()).collect();
    let owners = data
        .tenants
        .iter()
        .map(|t| KeyOwner::Tenant(t.id))
        .chain(data.clusters.iter().map(|c| KeyOwner::Cluster(c.guid)));
    let mut writes = Vec::new();
    for owner in owners {
        if !have.contains(&owner.to_string()) {
            writes.push(Write::PutSigningKey(new_key_record(owner, kek, now).await?));
        }
    }
    Ok(writes)
}

/// The writes of one rotation: the new key, and every still-signing key of the owner retired.
pub async fn rotation_writes(
    owner: KeyOwner,
    existing: &[SigningKeyRecord],
    kek: &Arc<KeyEncryptionKey>,
    now: UnixTime,
) -> CliResult<(SigningKeyRecord, Vec<Write>)> {
    let new = new_key_record(owner, kek, now).await?;
    let mut writes = vec![Write::PutSigningKey(new.clone())];
    for k in existing
        .iter()
        .filter(|k| k.owner == owner && k.retired_at.is_none())
    {
        writes.push(Write::RetireSigningKey {
            kid: k.kid.clone(),
            retired_at: now,
            publish_until: now.plus_secs(RETIRED_KEY_PUBLISH_SECS),
        });
    }
    Ok((new, writes))
}
