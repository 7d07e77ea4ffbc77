//! Keys shared by this crate's unit tests. RSA generation costs ~100 ms, so each key is made once
//! per test binary and shared.

use std::sync::OnceLock;

use crate::{Jwk, Jwks, KeySet, SigningKey};

/// An RSA 2048 key.
pub(crate) fn rsa_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_rsa2048().unwrap())
}

/// A second, unrelated RSA 2048 key.
pub(crate) fn rsa_key2() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_rsa2048().unwrap())
}

/// An EC P-256 key.
pub(crate) fn ec_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_p256().unwrap())
}

/// A key set holding the public keys of `keys`.
pub(crate) fn key_set(keys: &[&SigningKey]) -> KeySet {
    KeySet::from_jwks(&jwks(keys))
}

/// A JWKS holding the public keys of `keys`.
pub(crate) fn jwks(keys: &[&SigningKey]) -> Jwks {
    Jwks {
        keys: keys.iter().map(|k| k.public_jwk()).collect(),
    }
}

/// The RSA key of RFC 7638 §3.1 (also RFC 7517 Appendix A.1).
pub(crate) fn rfc7638_example() -> Jwk {
    serde_json::from_value(serde_json::json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    }))
    .unwrap()
}
