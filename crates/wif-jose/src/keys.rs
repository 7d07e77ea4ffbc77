//! Verification keys, parsed once from JWKs and kept parsed. Parsing an RSA key costs about as
//! much as verifying with it, so a JWKS is turned into a [`KeySet`] when it is fetched or loaded,
//! and every token after that only does the signature arithmetic.
//!
//! Which keys are usable follows RFC 7517/7518 and what Entra accepts: RSA of 2048 to 8192 bits
//! (RFC 7518 §3.3), EC on P-256, `use` absent or `sig`, and `alg` absent or a signature algorithm
//! of the key's own family. A JWKS may mix in encryption keys or keys wif cannot use; those are
//! skipped, not errors, so one odd key does not take an issuer's other keys down with it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};

use crate::jwk::required;
use crate::{Algorithm, Jwk, Jwks, KeyError, VerifyError, b64, thumbprint};

/// Smallest RSA modulus accepted (RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used").
const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus the crypto library verifies with.
const RSA_MAX_BITS: usize = 8192;
/// Keys read from one JWKS at most; Entra publishes fewer than ten. The fetcher limits the body
/// size too; this bounds the parsing work a hostile issuer can cause.
pub const MAX_JWKS_KEYS: usize = 100;

/// A public key ready to verify signatures, parsed once.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    declared_alg: Option<Algorithm>,
    material: Material,
}

#[derive(Clone)]
enum Material {
    /// The same RSA key parsed for each padding; aws-lc-rs fixes the padding at parse time.
    Rsa {
        pkcs1: ParsedPublicKey,
        pss: ParsedPublicKey,
        bits: usize,
    },
    P256(ParsedPublicKey),
}

impl VerifyingKey {
    /// Parses the public key in a JWK, refusing keys that are not for signatures (`use` other
    /// than `sig`), of another type or curve, RSA outside 2048..=8192 bits, or whose `alg` is not
    /// a signature algorithm of their family.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        match jwk.key_use.as_deref() {
            None | Some("sig") => {}
            Some(other) => {
                return Err(KeyError::NotForSignatures {
                    key_use: other.to_owned(),
                });
            }
        }
        let (material, kty) = match jwk.kty.as_str() {
            "RSA" => (parse_rsa(jwk)?, "RSA"),
            "EC" => (parse_p256(jwk)?, "EC"),
            other => return Err(KeyError::UnsupportedKeyType(other.to_owned())),
        };
        let declared_alg = match jwk.alg.as_deref() {
            None => None,
            Some(alg) => match Algorithm::parse(alg) {
                Some(parsed) if parsed.key_type() == kty => Some(parsed),
                _ => {
                    return Err(KeyError::UnsupportedAlgorithm {
                        alg: alg.to_owned(),
                        kty,
                    });
                }
            },
        };
        Ok(Self {
            kid: jwk.kid.clone(),
            declared_alg,
            material,
        })
    }

    /// The JWK's `kid`, if it had one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JWK key type: `RSA` or `EC`.
    pub fn key_type(&self) -> &'static str {
        match self.material {
            Material::Rsa { .. } => "RSA",
            Material::P256(_) => "EC",
        }
    }

    /// The algorithm the JWK declared with `alg`, if any; then only that one is accepted.
    pub fn declared_algorithm(&self) -> Option<Algorithm> {
        self.declared_alg
    }

    /// Whether this key can verify `alg` signatures: RSA keys verify RS256 and PS256, P-256
    /// keys ES256, and a key that declared an `alg` only that algorithm.
    pub fn supports(&self, alg: Algorithm) -> bool {
        alg.key_type() == self.key_type() && self.declared_alg.is_none_or(|d| d == alg)
    }

    /// Verifies `signature` over `message` with `alg`.
    pub fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        let mismatch = VerifyError::KeyAlgorithmMismatch {
            alg,
            kty: self.key_type(),
        };
        if !self.supports(alg) {
            return Err(mismatch);
        }
        let parsed = match (&self.material, alg) {
            (Material::Rsa { pkcs1, .. }, Algorithm::Rs256) => pkcs1,
            (Material::Rsa { pss, .. }, Algorithm::Ps256) => pss,
            (Material::P256(key), Algorithm::Es256) => key,
            _ => return Err(mismatch),
        };
        parsed
            .verify_sig(message, signature)
            .map_err(|_| VerifyError::InvalidSignature)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("VerifyingKey");
        d.field("kty", &self.key_type()).field("kid", &self.kid);
        match &self.material {
            Material::Rsa { bits, .. } => d.field("bits", bits),
            Material::P256(_) => d.field("crv", &"P-256"),
        };
        d.field("alg", &self.declared_alg).finish()
    }
}

/// Big-endian integer bytes without leading zeros. RFC 7518 §6.3.1.1 forbids leading zeros in
/// `n`, but some publishers add one (a DER habit) and Entra accepts them, so we do too.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn decode_member(
    value: Option<&str>,
    kty: &'static str,
    member: &'static str,
) -> Result<Vec<u8>, KeyError> {
    b64::decode(required(value, kty, member)?)
        .map_err(|source| KeyError::BadMember { member, source })
}

fn parse_rsa(jwk: &Jwk) -> Result<Material, KeyError> {
    let n_raw = decode_member(jwk.n.as_deref(), "RSA", "n")?;
    let e_raw = decode_member(jwk.e.as_deref(), "RSA", "e")?;
    let n = strip_leading_zeros(&n_raw);
    let e = strip_leading_zeros(&e_raw);
    let Some(first) = n.first() else {
        return Err(KeyError::InvalidPublicKey {
            kty: "RSA",
            reason: "the modulus is zero",
        });
    };
    let top_bits = usize::try_from(u8::BITS - first.leading_zeros()).unwrap_or(8);
    let bits = n
        .len()
        .saturating_sub(1)
        .saturating_mul(8)
        .saturating_add(top_bits);
    if bits < RSA_MIN_BITS {
        return Err(KeyError::RsaKeyTooSmall { bits });
    }
    if bits > RSA_MAX_BITS {
        return Err(KeyError::RsaKeyTooLarge { bits });
    }
    if e.is_empty() {
        return Err(KeyError::InvalidPublicKey {
            kty: "RSA",
            reason: "the exponent is zero",
        });
    }
    let components = RsaPublicKeyComponents { n, e };
    let rejected = |r: aws_lc_rs::error::KeyRejected| KeyError::InvalidPublicKey {
        kty: "RSA",
        reason: r.description_(),
    };
    let pkcs1 = components
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .map_err(rejected)?;
    let pss = components
        .to_parsed_public_key(&signature::RSA_PSS_2048_8192_SHA256)
        .map_err(rejected)?;
    Ok(Material::Rsa { pkcs1, pss, bits })
}

fn parse_p256(jwk: &Jwk) -> Result<Material, KeyError> {
    let crv = required(jwk.crv.as_deref(), "EC", "crv")?;
    if crv != "P-256" {
        return Err(KeyError::UnsupportedCurve(crv.to_owned()));
    }
    let x = decode_member(jwk.x.as_deref(), "EC", "x")?;
    let y = decode_member(jwk.y.as_deref(), "EC", "y")?;
    // RFC 7518 §6.2.1.2: each coordinate is exactly the curve's field size, 32 bytes for P-256.
    if x.len() != 32 || y.len() != 32 {
        return Err(KeyError::InvalidPublicKey {
            kty: "EC",
            reason: "P-256 coordinates must be 32 bytes each",
        });
    }
    // The uncompressed SEC 1 point, 0x04 || x || y; parsing checks that it is on the curve.
    let mut point = Vec::with_capacity(65);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
        .map(Material::P256)
        .map_err(|r| KeyError::InvalidPublicKey {
            kty: "EC",
            reason: r.description_(),
        })
}

/// Verification keys by `kid`, usually one issuer's JWKS.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<VerifyingKey>>,
}

impl KeySet {
    /// Parses every usable signature key in `jwks`. Keys wif cannot use (encryption keys,
    /// unsupported types or curves, small RSA, malformed members) are skipped with a debug log.
    /// A key without `kid` is filed under its RFC 7638 thumbprint, so a single kid-less key can
    /// still verify kid-less tokens. When two keys share a `kid`, the first wins: a publisher
    /// appending a key must not be able to shadow the one tokens were signed with.
    pub fn from_jwks(jwks: &Jwks) -> Self {
        let mut set = Self::default();
        if jwks.keys.len() > MAX_JWKS_KEYS {
            tracing::warn!(
                keys = jwks.keys.len(),
                max = MAX_JWKS_KEYS,
                "JWKS has too many keys; reading only the first ones"
            );
        }
        for jwk in jwks.keys.iter().take(MAX_JWKS_KEYS) {
            let key = match VerifyingKey::from_jwk(jwk) {
                Ok(key) => key,
                Err(error) => {
                    tracing::debug!(kid = jwk.kid.as_deref(), %error, "skipping unusable JWK");
                    continue;
                }
            };
            let kid = match &jwk.kid {
                Some(kid) => kid.clone(),
                None => match thumbprint(jwk) {
                    Ok(tp) => tp,
                    Err(_) => continue,
                },
            };
            set.keys.entry(kid).or_insert_with(|| Arc::new(key));
        }
        set
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid).map(Arc::as_ref)
    }

    /// The only key, when there is exactly one (RFC 7515 makes `kid` optional).
    pub fn only(&self) -> Option<&VerifyingKey> {
        if self.keys.len() == 1 {
            self.keys.values().next().map(Arc::as_ref)
        } else {
            None
        }
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds a key under `kid`, replacing any key already there.
    pub fn insert(&mut self, kid: String, key: VerifyingKey) {
        self.keys.insert(kid, Arc::new(key));
    }

    /// The key ids, in no particular order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ec_key, rfc7638_example, rsa_key, rsa_key2};

    #[test]
    fn parses_rfc7638_example_and_own_keys() {
        let key = VerifyingKey::from_jwk(&rfc7638_example()).unwrap();
        assert_eq!(key.key_type(), "RSA");
        assert_eq!(key.declared_algorithm(), Some(Algorithm::Rs256));
        assert!(key.supports(Algorithm::Rs256));
        assert!(!key.supports(Algorithm::Ps256), "declared alg is binding");
        assert!(!key.supports(Algorithm::Es256));

        let own = VerifyingKey::from_jwk(&rsa_key().public_jwk()).unwrap();
        assert!(own.supports(Algorithm::Rs256));
        let ec = VerifyingKey::from_jwk(&ec_key().public_jwk()).unwrap();
        assert_eq!(ec.key_type(), "EC");
        assert!(ec.supports(Algorithm::Es256));
        assert!(!ec.supports(Algorithm::Rs256));
    }

    #[test]
    fn undeclared_rsa_key_verifies_both_paddings() {
        let mut jwk = rsa_key().public_jwk();
        jwk.alg = None;
        let key = VerifyingKey::from_jwk(&jwk).unwrap();
        assert!(key.supports(Algorithm::Rs256));
        assert!(key.supports(Algorithm::Ps256));
    }

    #[test]
    fn rejects_unusable_jwks() {
        let mut enc = rsa_key().public_jwk();
        enc.key_use = Some("enc".to_owned());
        assert!(matches!(
            VerifyingKey::from_jwk(&enc),
            Err(KeyError::NotForSignatures { .. })
        ));

        let small = Jwk::rsa(b64::encode(&[0xc3; 128]), "AQAB".to_owned());
        assert_eq!(
            VerifyingKey::from_jwk(&small).unwrap_err(),
            KeyError::RsaKeyTooSmall { bits: 1024 }
        );

        let mut wrong_alg = rsa_key().public_jwk();
        wrong_alg.alg = Some("ES256".to_owned());
        assert!(matches!(
            VerifyingKey::from_jwk(&wrong_alg),
            Err(KeyError::UnsupportedAlgorithm { .. })
        ));
        wrong_alg.alg = Some("RSA-OAEP".to_owned());
        assert!(matches!(
            VerifyingKey::from_jwk(&wrong_alg),
            Err(KeyError::UnsupportedAlgorithm { .. })
        ));

        let mut p384 = ec_key().public_jwk();
        p384.crv = Some("P-384".to_owned());
        assert_eq!(
            VerifyingKey::from_jwk(&p384).unwrap_err(),
            KeyError::UnsupportedCurve("P-384".to_owned())
        );

        let off_curve = Jwk::p256(b64::encode(&[1; 32]), b64::encode(&[2; 32]));
        assert!(matches!(
            VerifyingKey::from_jwk(&off_curve),
            Err(KeyError::InvalidPublicKey { kty: "EC", .. })
        ));

        let mut oct = rsa_key().public_jwk();
        oct.kty = "oct".to_owned();
        assert!(matches!(
            VerifyingKey::from_jwk(&oct),
            Err(KeyError::UnsupportedKeyType(_))
        ));

        let mut bad_n = rsa_key().public_jwk();
        bad_n.n = Some("not base64!".to_owned());
        assert!(matches!(
            VerifyingKey::from_jwk(&bad_n),
            Err(KeyError::BadMember { member: "n", .. })
        ));
    }

    #[test]
    fn accepts_a_leading_zero_in_the_modulus() {
        let mut jwk = rsa_key().public_jwk();
        let mut n = b64::decode(jwk.n.as_deref().unwrap()).unwrap();
        n.insert(0, 0);
        jwk.n = Some(b64::encode(&n));
        assert!(VerifyingKey::from_jwk(&jwk).is_ok());
    }

    #[test]
    fn key_set_skips_enc_and_small_keys() {
        let mut enc = rsa_key2().public_jwk();
        enc.key_use = Some("enc".to_owned());
        let mut small = Jwk::rsa(b64::encode(&[0xc3; 128]), "AQAB".to_owned());
        small.kid = Some("small".to_owned());
        let mut unknown = ec_key().public_jwk();
        unknown.kty = "OKP".to_owned();
        unknown.kid = Some("okp".to_owned());
        let jwks = Jwks {
            keys: vec![
                rsa_key().public_jwk(),
                enc,
                small,
                unknown,
                ec_key().public_jwk(),
            ],
        };
        let set = KeySet::from_jwks(&jwks);
        assert_eq!(set.len(), 2);
        assert!(set.get(rsa_key().kid().as_str()).is_some());
        assert!(set.get(ec_key().kid().as_str()).is_some());
        assert!(set.get(rsa_key2().kid().as_str()).is_none());
        assert!(set.get("small").is_none());
        assert!(set.only().is_none());
    }

    #[test]
    fn key_set_files_kidless_key_under_thumbprint_and_keeps_first_duplicate() {
        let mut kidless = rsa_key().public_jwk();
        kidless.kid = None;
        let mut dup = rsa_key2().public_jwk();
        dup.kid = Some(rsa_key().kid().to_string());
        let set = KeySet::from_jwks(&Jwks {
            keys: vec![kidless, dup],
        });
        assert_eq!(set.len(), 1);
        // The thumbprint equals wif's kid, so the first (kid-less) key is the one kept.
        let only = set.only().unwrap();
        assert_eq!(only.kid(), None);
    }

    #[test]
    fn empty_and_insert() {
        let mut set = KeySet::default();
        assert!(set.is_empty());
        let key = VerifyingKey::from_jwk(&rsa_key().public_jwk()).unwrap();
        set.insert("a".to_owned(), key);
        assert_eq!(set.len(), 1);
        assert_eq!(set.kids().collect::<Vec<_>>(), ["a"]);
    }
}
