//! The failures of this crate, one enum per operation, in domain words. Each variant says what
//! is wrong with the token or key and carries what a caller needs to report it; none carries a
//! wire code (the STS and issuer modules map these to AADSTS codes in one place each).

use std::fmt;

use crate::Algorithm;

/// Text that is not unpadded base64url (RFC 7515 §2, "Base64url Encoding").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum B64Error {
    /// A character outside the URL-safe alphabet: `+`, `/`, `=`, whitespace and the like.
    #[error("invalid base64url character at offset {offset}")]
    InvalidCharacter {
        /// Byte offset of the character.
        offset: usize,
    },
    /// A length no unpadded encoding produces (one more than a multiple of four).
    #[error("invalid base64url length {len}")]
    InvalidLength {
        /// The length of the text.
        len: usize,
    },
    /// The last character has bits set that no encoder would set (a non-canonical encoding,
    /// which would let two different strings decode to the same bytes).
    #[error("non-canonical base64url: trailing bits set at offset {offset}")]
    NonCanonical {
        /// Byte offset of the last character.
        offset: usize,
    },
}

/// A key that cannot be created, loaded, exported or used for signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The crypto library could not generate a key.
    #[error("key generation failed")]
    Generate,
    /// The DER is not an RSA or P-256 PKCS#8 private key that the crypto library accepts.
    #[error("not an RSA or EC P-256 PKCS#8 private key ({reason})")]
    Pkcs8Rejected {
        /// The crypto library's reason for the RSA attempt.
        reason: &'static str,
    },
    /// The private key could not be serialised.
    #[error("the private key could not be exported as PKCS#8")]
    Export,
    /// A JWK lacks a member its key type requires (RFC 7518 §6).
    #[error("the {kty} JWK has no '{member}' member")]
    MissingMember {
        /// The key type.
        kty: &'static str,
        /// The missing member.
        member: &'static str,
    },
    /// A JWK member is not base64url.
    #[error("the JWK member '{member}' is not base64url: {source}")]
    BadMember {
        /// The member.
        member: &'static str,
        /// Why it failed to decode.
        #[source]
        source: B64Error,
    },
    /// A `kty` other than `RSA` or `EC`.
    #[error("unsupported JWK key type '{0}'; expected RSA or EC")]
    UnsupportedKeyType(String),
    /// An EC curve other than P-256.
    #[error("unsupported EC curve '{0}'; expected P-256")]
    UnsupportedCurve(String),
    /// An RSA modulus shorter than 2048 bits (RFC 7518 §3.3 requires at least 2048).
    #[error("the RSA key is {bits} bits; at least 2048 are required")]
    RsaKeyTooSmall {
        /// The modulus length in bits.
        bits: usize,
    },
    /// An RSA modulus longer than 8192 bits, beyond what the crypto library verifies.
    #[error("the RSA key is {bits} bits; at most 8192 are supported")]
    RsaKeyTooLarge {
        /// The modulus length in bits.
        bits: usize,
    },
    /// The JWK says it is not for signatures (`use` other than `sig`).
    #[error("the JWK is for '{key_use}', not signatures")]
    NotForSignatures {
        /// The JWK's `use`.
        key_use: String,
    },
    /// The JWK names an `alg` that is not a signature algorithm wif accepts for its key type.
    #[error(
        "the JWK's algorithm '{alg}' is not usable with a {kty} key; expected RS256, PS256 or ES256"
    )]
    UnsupportedAlgorithm {
        /// The JWK's `alg`.
        alg: String,
        /// The JWK's key type.
        kty: &'static str,
    },
    /// The numbers do not form a valid public key (for example, a point not on the curve).
    #[error("the JWK is not a valid {kty} public key ({reason})")]
    InvalidPublicKey {
        /// The key type.
        kty: &'static str,
        /// The crypto library's reason.
        reason: &'static str,
    },
}

/// A JWT that could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The claims could not be serialised.
    #[error("the claims could not be serialised to JSON: {0}")]
    Claims(#[source] serde_json::Error),
    /// The claims serialise to JSON that is not an object (RFC 7519 §7.2 step 10).
    #[error("the claims must serialise to a JSON object")]
    ClaimsNotAnObject,
    /// An extra header member would repeat one the signer sets itself.
    #[error("the header member '{0}' is set by the signer and cannot be given again")]
    ReservedHeader(String),
    /// The crypto library failed to sign.
    #[error("the signing operation failed")]
    Crypto,
}

/// Which of the three parts of a compact JWS (RFC 7515 §7.1) a parse error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwtPart {
    /// The protected header.
    Header,
    /// The payload (the JWT claims set).
    Claims,
    /// The signature.
    Signature,
}

impl fmt::Display for JwtPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Claims => "claims",
            Self::Signature => "signature",
        })
    }
}

/// A token that is not a well-formed compact JWS carrying a JWT.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Longer than the limit, refused before any decoding.
    #[error("the token is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// The token length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not exactly three dot-separated parts (a JWE has five; an unsigned JWT is still three).
    #[error("the token is not a compact JWS of three dot-separated parts")]
    NotThreeParts,
    /// A part that must not be empty is empty.
    #[error("the token's {part} is empty")]
    EmptyPart {
        /// Which part.
        part: JwtPart,
    },
    /// A part is not unpadded base64url.
    #[error("the token's {part} is not base64url: {source}")]
    BadBase64 {
        /// Which part.
        part: JwtPart,
        /// The decoding failure.
        #[source]
        source: B64Error,
    },
    /// A part is not valid JSON (or, for [`crate::VerifiedJwt::claims_as`], not the expected
    /// shape).
    #[error("the token's {part} is not valid JSON: {source}")]
    BadJson {
        /// Which part.
        part: JwtPart,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A part is JSON but not an object.
    #[error("the token's {part} is not a JSON object")]
    NotAnObject {
        /// Which part.
        part: JwtPart,
    },
    /// A member name appears twice (RFC 7515 §5.2 lets us reject rather than pick one, and
    /// picking one is how parser-differential attacks work).
    #[error("the token's {part} has the member '{member}' more than once")]
    DuplicateMember {
        /// Which part.
        part: JwtPart,
        /// The repeated name.
        member: String,
    },
    /// The header has no `alg`, or it is not a string (RFC 7515 §4.1.1).
    #[error("the token header has no 'alg' string")]
    MissingAlgorithm,
    /// A header member has the wrong JSON type.
    #[error("the token header member '{0}' must be a string")]
    BadHeaderMember(&'static str),
    /// The header has `crit`: it names extensions that must be understood, and wif implements
    /// none (RFC 7515 §4.1.11).
    #[error("the token header has a 'crit' member; no critical extensions are supported")]
    CriticalHeader,
}

/// A parsed token whose signature cannot be accepted against the keys given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// `alg` is not RS256, PS256 or ES256 (this includes `none` and the HMAC family, which would
    /// let a public key act as a shared secret).
    #[error("the signing algorithm '{0}' is not supported; use RS256, PS256 or ES256")]
    UnsupportedAlgorithm(String),
    /// The header names its own key source; keys come only from the issuer's JWKS.
    #[error(
        "the token header carries its own key source '{0}'; keys come only from the issuer's JWKS"
    )]
    EmbeddedKey(&'static str),
    /// No `kid` and the issuer has more than one key (or none).
    #[error("the token header has no 'kid' and the issuer does not have exactly one key")]
    MissingKeyId,
    /// No key with the token's `kid`.
    #[error("no signing key with kid '{kid}' was found")]
    KeyNotFound {
        /// The token's `kid`.
        kid: String,
    },
    /// The key's type (or its declared `alg`) does not fit the token's `alg`.
    #[error("the {kty} key is not usable for {alg}")]
    KeyAlgorithmMismatch {
        /// The token's algorithm.
        alg: Algorithm,
        /// The key's type.
        kty: &'static str,
    },
    /// The signature does not verify.
    #[error("the token signature is invalid")]
    InvalidSignature,
}
