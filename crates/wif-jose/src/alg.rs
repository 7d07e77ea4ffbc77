//! The JWS algorithms wif accepts (RFC 7518 §3.1). The list is closed on purpose: `none` and the
//! HMAC family are refused because with them a public key, or no key, verifies anything, and
//! Entra accepts RS256, PS256 and ES256 for federated assertions.

use std::fmt;

/// A JWS signature algorithm wif signs or verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (what Entra, AKS and wif's issuer sign with).
    Rs256,
    /// RSASSA-PSS with SHA-256 and a 32-byte salt.
    Ps256,
    /// ECDSA on P-256 with SHA-256, signature as the 64-byte `r || s` (RFC 7518 §3.4).
    Es256,
}

impl Algorithm {
    /// The `alg` header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
        }
    }

    /// Parses an `alg` value; names compare exactly and case-sensitively (RFC 7515 §4.1.1), so
    /// `rs256` is not RS256.
    pub fn parse(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// The JWK `kty` whose keys make this algorithm's signatures.
    pub const fn key_type(self) -> &'static str {
        match self {
            Self::Rs256 | Self::Ps256 => "RSA",
            Self::Es256 => "EC",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_is_case_sensitive() {
        for alg in [Algorithm::Rs256, Algorithm::Ps256, Algorithm::Es256] {
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
        }
        for bad in ["none", "HS256", "rs256", "RS384", "EdDSA", ""] {
            assert_eq!(Algorithm::parse(bad), None, "{bad}");
        }
    }
}
