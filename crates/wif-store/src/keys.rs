//! Between a parsed [`wif_jose::SigningKey`] and the [`SigningKeyRecord`] the store keeps: the
//! private key leaves memory only as PKCS#8 sealed under the key-encryption key, with the kid
//! as associated data (so a sealed key copied onto another row does not open).

use wif_core::UnixTime;
use wif_jose::{Jwk, KeyError, SigningKey};

use crate::crypto::{KekError, KeyEncryptionKey};
use crate::model::{KeyOwner, SigningKeyRecord};

/// Why a signing key could not be sealed into a record, or a record opened into a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyRecordError {
    /// The private key could not be exported or parsed.
    #[error("signing key {kid}: {source}")]
    Key {
        /// The key id.
        kid: String,
        /// The key error.
        #[source]
        source: KeyError,
    },
    /// Sealing or unsealing failed (a wrong key-encryption key shows up here).
    #[error("signing key {kid}: {source}")]
    Sealed {
        /// The key id.
        kid: String,
        /// The sealing error.
        #[source]
        source: KekError,
    },
    /// The stored public JWK is not valid JSON for a JWK.
    #[error("signing key {kid}: the public JWK does not parse: {source}")]
    PublicJwk {
        /// The key id.
        kid: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The unsealed private key's thumbprint is not the record's kid.
    #[error("signing key {kid}: the private key's thumbprint is {actual}, not the stored kid")]
    KidMismatch {
        /// The record's kid.
        kid: String,
        /// The key's own kid.
        actual: String,
    },
}

impl SigningKeyRecord {
    /// A new, active record for `key`, its private half sealed under `kek`.
    pub fn seal(
        key: &SigningKey,
        owner: KeyOwner,
        created_at: UnixTime,
        kek: &KeyEncryptionKey,
    ) -> Result<Self, KeyRecordError> {
        let kid = key.kid().clone();
        let der = key.to_pkcs8_der().map_err(|source| KeyRecordError::Key {
            kid: kid.to_string(),
            source,
        })?;
        let sealed =
            kek.seal(&der, kid.as_str().as_bytes())
                .map_err(|source| KeyRecordError::Sealed {
                    kid: kid.to_string(),
                    source,
                })?;
        let public_jwk = serde_json::to_string(&key.public_jwk()).map_err(|source| {
            KeyRecordError::PublicJwk {
                kid: kid.to_string(),
                source,
            }
        })?;
        Ok(Self {
            kid,
            owner,
            algorithm: key.algorithm().as_str().to_owned(),
            public_jwk,
            sealed_private_key: sealed,
            created_at,
            retired_at: None,
            publish_until: None,
        })
    }

    /// Opens the sealed private key with `kek` and parses it, checking that it is the key the
    /// record names.
    pub fn unseal(&self, kek: &KeyEncryptionKey) -> Result<SigningKey, KeyRecordError> {
        let kid = self.kid.as_str();
        let der = kek
            .open(&self.sealed_private_key, kid.as_bytes())
            .map_err(|source| KeyRecordError::Sealed {
                kid: kid.to_owned(),
                source,
            })?;
        let key = SigningKey::from_pkcs8_der(&der).map_err(|source| KeyRecordError::Key {
            kid: kid.to_owned(),
            source,
        })?;
        if key.kid() != &self.kid {
            return Err(KeyRecordError::KidMismatch {
                kid: kid.to_owned(),
                actual: key.kid().to_string(),
            });
        }
        Ok(key)
    }

    /// The stored public JWK, parsed.
    pub fn jwk(&self) -> Result<Jwk, KeyRecordError> {
        serde_json::from_str(&self.public_jwk).map_err(|source| KeyRecordError::PublicJwk {
            kid: self.kid.to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;
    use wif_core::ids::{KeyId, TenantId};

    use super::*;

    fn owner() -> KeyOwner {
        KeyOwner::Tenant(TenantId::from_uuid(Uuid::from_u128(1)))
    }

    #[test]
    fn seal_then_unseal_gives_the_same_key() {
        let kek = KeyEncryptionKey::from_bytes([3; 32]);
        let key = SigningKey::generate_p256().unwrap();
        let record = SigningKeyRecord::seal(&key, owner(), UnixTime::from_secs(10), &kek).unwrap();
        assert_eq!(&record.kid, key.kid());
        assert_eq!(record.algorithm, "ES256");
        assert_eq!(record.jwk().unwrap(), key.public_jwk());
        assert!(!record.is_retired());
        let back = record.unseal(&kek).unwrap();
        assert_eq!(back.kid(), key.kid());
        assert_eq!(back.to_pkcs8_der().unwrap(), key.to_pkcs8_der().unwrap());
    }

    #[test]
    fn unseal_refuses_wrong_kek_and_moved_rows() {
        let kek = KeyEncryptionKey::from_bytes([3; 32]);
        let key = SigningKey::generate_p256().unwrap();
        let record = SigningKeyRecord::seal(&key, owner(), UnixTime::from_secs(10), &kek).unwrap();
        let wrong = KeyEncryptionKey::from_bytes([4; 32]);
        assert!(matches!(
            record.unseal(&wrong),
            Err(KeyRecordError::Sealed { .. })
        ));
        let mut moved = record.clone();
        moved.kid = KeyId::parse("another-kid").unwrap();
        assert!(matches!(
            moved.unseal(&kek),
            Err(KeyRecordError::Sealed { .. })
        ));
    }
}
