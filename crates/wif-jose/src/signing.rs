//! Private signing keys, parsed once and kept parsed. Re-parsing a private key per token is what
//! made the generic JWT crates almost three times slower here (see the crate docs), so a
//! [`SigningKey`] holds the aws-lc-rs key pair, its RFC 7638 `kid`, its public JWK and the
//! constant start of its JWS header, and signing a token only serialises the claims and signs.

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use serde::Serialize;
use wif_core::ids::KeyId;

use crate::jwk::json_string;
use crate::{Algorithm, Jwk, KeyError, SignError, VerifyingKey, b64, thumbprint};

/// Header members the signer writes itself; an extra member with one of these names would make a
/// header with a duplicate name, which verifiers may read either way.
const RESERVED_HEADER: [&str; 3] = ["alg", "kid", "typ"];

/// A private key for signing JWTs. `Debug` shows only the algorithm and `kid`.
pub struct SigningKey {
    pair: Pair,
    alg: Algorithm,
    kid: KeyId,
    jwk: Jwk,
    /// `{"alg":"RS256","kid":"…","typ":"JWT"` without the closing brace, built once.
    header_prefix: String,
}

enum Pair {
    Rsa(RsaKeyPair),
    P256(EcdsaKeyPair),
}

impl SigningKey {
    /// Generates a new RSA 2048-bit key (the size Entra and AKS use). Takes around 100 ms.
    pub fn generate_rsa2048() -> Result<Self, KeyError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        Self::from_pair(Pair::Rsa(pair))
    }

    /// Generates a new EC P-256 key, which signs ES256.
    pub fn generate_p256() -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| KeyError::Generate)?;
        Self::from_pair(Pair::P256(pair))
    }

    /// Loads an unencrypted PKCS#8 private key: RSA (2048 to 8192 bits) signs RS256, EC P-256
    /// signs ES256.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        match RsaKeyPair::from_pkcs8(der) {
            Ok(pair) => Self::from_pair(Pair::Rsa(pair)),
            Err(rsa_err) => {
                match EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der) {
                    Ok(pair) => Self::from_pair(Pair::P256(pair)),
                    Err(_) => Err(KeyError::Pkcs8Rejected {
                        reason: rsa_err.description_(),
                    }),
                }
            }
        }
    }

    /// The private key as PKCS#8 DER, for the store to encrypt and keep. The bytes are secret.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Rsa(pair) => pair
                .as_der()
                .map(|der| der.as_ref().to_vec())
                .map_err(|_| KeyError::Export),
            Pair::P256(pair) => pair
                .to_pkcs8v1()
                .map(|doc| doc.as_ref().to_vec())
                .map_err(|_| KeyError::Export),
        }
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The algorithm this key signs with: RS256 for RSA, ES256 for P-256.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public key as published in a JWKS: `kty`, `kid`, `use` = `sig`, `alg` and the key
    /// numbers.
    pub fn public_jwk(&self) -> Jwk {
        self.jwk.clone()
    }

    /// A verifying key for this key's own signatures.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::from_jwk(&self.jwk)
    }

    /// Signs a compact JWS (RFC 7515 §7.1): header = `{"alg","kid","typ":"JWT"}` plus the
    /// `extra_header` members (Entra's v1 tokens also carry `x5t`, equal to `kid`), then the
    /// claims as JSON.
    pub fn sign_jwt<C: Serialize>(
        &self,
        claims: &C,
        extra_header: &[(&str, &str)],
    ) -> Result<String, SignError> {
        let claims = serde_json::to_vec(claims).map_err(SignError::Claims)?;
        if claims.first() != Some(&b'{') {
            return Err(SignError::ClaimsNotAnObject);
        }
        let mut header = self.header_prefix.clone();
        for (i, (name, value)) in extra_header.iter().enumerate() {
            let repeated = extra_header.iter().take(i).any(|(prev, _)| prev == name);
            if RESERVED_HEADER.contains(name) || repeated {
                return Err(SignError::ReservedHeader((*name).to_owned()));
            }
            header.push(',');
            header.push_str(&json_string(name));
            header.push(':');
            header.push_str(&json_string(value));
        }
        header.push('}');

        let mut token = String::with_capacity((header.len() + claims.len()) * 4 / 3 + 350);
        b64::encode_into(header.as_bytes(), &mut token);
        token.push('.');
        b64::encode_into(&claims, &mut token);
        let signature = self.sign_raw(self.alg, token.as_bytes())?;
        token.push('.');
        b64::encode_into(&signature, &mut token);
        Ok(token)
    }

    /// Signs `message` with `alg`. RSA keys can also sign PS256; only tests use that today.
    pub(crate) fn sign_raw(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, SignError> {
        // aws-lc-rs draws its own randomness for ECDSA and PSS and ignores this argument.
        let rng = SystemRandom::new();
        match (&self.pair, alg) {
            (Pair::Rsa(pair), Algorithm::Rs256 | Algorithm::Ps256) => {
                let encoding: &'static dyn signature::RsaEncoding = if alg == Algorithm::Rs256 {
                    &signature::RSA_PKCS1_SHA256
                } else {
                    &signature::RSA_PSS_SHA256
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(encoding, &rng, message, &mut sig)
                    .map_err(|_| SignError::Crypto)?;
                Ok(sig)
            }
            (Pair::P256(pair), Algorithm::Es256) => pair
                .sign(&rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| SignError::Crypto),
            _ => Err(SignError::Crypto),
        }
    }

    fn from_pair(pair: Pair) -> Result<Self, KeyError> {
        let (alg, mut jwk) = match &pair {
            Pair::Rsa(rsa) => {
                let public = rsa.public_key();
                let n = public.modulus().big_endian_without_leading_zero();
                let e = public.exponent().big_endian_without_leading_zero();
                (Algorithm::Rs256, Jwk::rsa(b64::encode(n), b64::encode(e)))
            }
            Pair::P256(ec) => {
                // The uncompressed SEC 1 point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = ec.public_key().as_ref();
                let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
                    return Err(KeyError::InvalidPublicKey {
                        kty: "EC",
                        reason: "unexpected public point encoding",
                    });
                };
                (Algorithm::Es256, Jwk::p256(b64::encode(x), b64::encode(y)))
            }
        };
        let kid = KeyId::parse(&thumbprint(&jwk)?).map_err(|_| KeyError::InvalidPublicKey {
            kty: alg.key_type(),
            reason: "the thumbprint is not a valid key id",
        })?;
        jwk.kid = Some(kid.to_string());
        jwk.key_use = Some("sig".to_owned());
        jwk.alg = Some(alg.as_str().to_owned());
        let header_prefix = format!(
            r#"{{"alg":"{}","kid":{},"typ":"JWT""#,
            alg.as_str(),
            json_string(kid.as_str())
        );
        Ok(Self {
            pair,
            alg,
            kid,
            jwk,
            header_prefix,
        })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid.as_str())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ec_key, rsa_key};

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        for key in [rsa_key(), ec_key()] {
            let jwk = key.public_jwk();
            assert_eq!(thumbprint(&jwk).unwrap(), key.kid().as_str());
            assert_eq!(jwk.kid.as_deref(), Some(key.kid().as_str()));
            assert_eq!(jwk.key_use.as_deref(), Some("sig"));
            assert_eq!(jwk.alg.as_deref(), Some(key.algorithm().as_str()));
        }
        assert_eq!(rsa_key().algorithm(), Algorithm::Rs256);
        assert_eq!(ec_key().algorithm(), Algorithm::Es256);
        let jwk = rsa_key().public_jwk();
        assert_eq!(jwk.e.as_deref(), Some("AQAB"));
        assert_eq!(b64::decode(jwk.n.as_deref().unwrap()).unwrap().len(), 256);
    }

    #[test]
    fn pkcs8_round_trip_keeps_the_kid() {
        for key in [rsa_key(), ec_key()] {
            let der = key.to_pkcs8_der().unwrap();
            let loaded = SigningKey::from_pkcs8_der(&der).unwrap();
            assert_eq!(loaded.kid(), key.kid());
            assert_eq!(loaded.algorithm(), key.algorithm());
            assert_eq!(loaded.to_pkcs8_der().unwrap(), der);
        }
    }

    #[test]
    fn rejects_garbage_pkcs8() {
        assert!(matches!(
            SigningKey::from_pkcs8_der(b"not a key"),
            Err(KeyError::Pkcs8Rejected { .. })
        ));
    }

    #[test]
    fn debug_is_redacted() {
        let text = format!("{:?}", rsa_key());
        assert!(text.contains(rsa_key().kid().as_str()));
        assert!(!text.contains(rsa_key().public_jwk().n.as_deref().unwrap()));
        assert!(text.len() < 200, "{text}");
    }

    #[test]
    fn header_has_alg_kid_typ_and_extras() {
        let kid = rsa_key().kid().to_string();
        let token = rsa_key()
            .sign_jwt(&serde_json::json!({"sub": "s"}), &[("x5t", &kid)])
            .unwrap();
        let header = token.split('.').next().unwrap();
        let header = String::from_utf8(b64::decode(header).unwrap()).unwrap();
        assert_eq!(
            header,
            format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT","x5t":"{kid}"}}"#)
        );
    }

    #[test]
    fn refuses_reserved_or_repeated_extra_headers_and_non_object_claims() {
        let claims = serde_json::json!({});
        assert!(matches!(
            rsa_key().sign_jwt(&claims, &[("alg", "none")]),
            Err(SignError::ReservedHeader(name)) if name == "alg"
        ));
        assert!(matches!(
            rsa_key().sign_jwt(&claims, &[("x5t", "a"), ("x5t", "b")]),
            Err(SignError::ReservedHeader(_))
        ));
        assert!(matches!(
            rsa_key().sign_jwt(&[1, 2], &[]),
            Err(SignError::ClaimsNotAnObject)
        ));
    }
}
