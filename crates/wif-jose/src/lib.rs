//! wif-jose: JWS, JWT, JWK and JWKS for wif, on aws-lc-rs alone.
//!
//! Everything a token passes through between the wire and a decision lives here: strict parsing
//! ([`UnverifiedJwt`]), signature verification against keys parsed once ([`KeySet`],
//! [`VerifyingKey`]), signing with a key parsed once ([`SigningKey`]), RFC 7638 key ids
//! ([`thumbprint`]) and the cache of other issuers' keys ([`JwksCache`]).
//!
//! Why not a general JWT crate: measured on our hardware, `jsonwebtoken` re-parses the private
//! key on every signature and was 2.8 times slower; aws-lc-rs with a cached `RsaKeyPair` signs
//! RS256 in about 240 µs and verifies with a cached parsed public key in about 15 µs. It is also
//! the crypto backend rustls, rcgen and reqwest already use here, so there is one in the binary.
//! And the rules Entra applies (a closed algorithm list, no embedded keys, RFC 7638 kids) are
//! easier to see in a few hundred lines than to configure into a general crate.
//!
//! The type-state: [`UnverifiedJwt::parse`] → [`UnverifiedJwt::verify`] → [`VerifiedJwt`], the
//! only type that hands claims to decisions.
//!
//! ```
//! use wif_jose::{Jwks, KeySet, SigningKey, UnverifiedJwt};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = SigningKey::generate_p256()?;
//! let token = key.sign_jwt(&serde_json::json!({"iss": "https://issuer.example", "sub": "s"}), &[])?;
//! let keys = KeySet::from_jwks(&Jwks { keys: vec![key.public_jwk()] });
//! let jwt = UnverifiedJwt::parse(&token)?.verify(&keys)?;
//! assert_eq!(jwt.claims()["sub"], "s");
//! # Ok(())
//! # }
//! ```

pub mod b64;
pub mod cache;
pub mod x509;

mod alg;
mod error;
mod jwk;
mod jwt;
mod keys;
mod signing;
#[cfg(test)]
mod testutil;

pub use alg::Algorithm;
pub use cache::{CacheError, CachePolicy, FetchError, FetchedJwks, JwksCache, JwksFetcher};
pub use error::{B64Error, JwtPart, KeyError, ParseError, SignError, VerifyError};
pub use jwk::{Jwk, Jwks, thumbprint};
pub use jwt::{Header, MAX_TOKEN_LEN, UnverifiedJwt, VerifiedJwt};
pub use keys::{KeySet, MAX_JWKS_KEYS, VerifyingKey};
pub use signing::SigningKey;
