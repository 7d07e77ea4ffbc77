//! JSON Web Keys and key sets as they travel on the wire (RFC 7517 §4–5), and RFC 7638
//! thumbprints. These are plain data: nothing here is trusted or parsed into a crypto key;
//! [`crate::VerifyingKey::from_jwk`] does that once per key. Unknown members are ignored on
//! input (RFC 7517 §4: "Additional members can be present ... if not understood ... MUST be
//! ignored"), so Entra's `issuer` and `cloud_instance_name` members pass through harmlessly.

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

use crate::{KeyError, b64};

/// A JSON Web Key (public members only; wif never publishes or accepts private members).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA` or `EC`.
    pub kty: String,
    /// Key id; wif's own are RFC 7638 thumbprints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use: `sig` or `enc`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// The algorithm the key is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// RSA modulus, base64url big-endian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url big-endian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC curve name (`P-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// X.509 SHA-1 thumbprint; Entra publishes it equal to `kid` and puts it in v1 token headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    /// X.509 certificate chain (standard base64 DER); carried, never used to verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
}

impl Jwk {
    /// An RSA public key from base64url `n` and `e`, with no other members set.
    pub fn rsa(n: String, e: String) -> Self {
        Self {
            kty: "RSA".to_owned(),
            kid: None,
            key_use: None,
            alg: None,
            n: Some(n),
            e: Some(e),
            crv: None,
            x: None,
            y: None,
            x5t: None,
            x5c: None,
        }
    }

    /// A P-256 public key from base64url `x` and `y`, with no other members set.
    pub fn p256(x: String, y: String) -> Self {
        Self {
            kty: "EC".to_owned(),
            kid: None,
            key_use: None,
            alg: None,
            n: None,
            e: None,
            crv: Some("P-256".to_owned()),
            x: Some(x),
            y: Some(y),
            x5t: None,
            x5c: None,
        }
    }
}

/// A JWK Set (RFC 7517 §5): what `jwks_uri` serves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys, in the publisher's order.
    pub keys: Vec<Jwk>,
}

/// The RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order with no
/// whitespace (RSA: `e`, `kty`, `n`; EC: `crv`, `kty`, `x`, `y`), base64url-encoded. Member
/// values are used exactly as they appear in the JWK (§3.3).
pub fn thumbprint(jwk: &Jwk) -> Result<String, KeyError> {
    let canonical = match jwk.kty.as_str() {
        "RSA" => {
            let e = required(jwk.e.as_deref(), "RSA", "e")?;
            let n = required(jwk.n.as_deref(), "RSA", "n")?;
            format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                json_string(e),
                json_string(n)
            )
        }
        "EC" => {
            let crv = required(jwk.crv.as_deref(), "EC", "crv")?;
            let x = required(jwk.x.as_deref(), "EC", "x")?;
            let y = required(jwk.y.as_deref(), "EC", "y")?;
            format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                json_string(crv),
                json_string(x),
                json_string(y)
            )
        }
        other => return Err(KeyError::UnsupportedKeyType(other.to_owned())),
    };
    Ok(b64::encode(
        digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref(),
    ))
}

pub(crate) fn required<'a>(
    value: Option<&'a str>,
    kty: &'static str,
    member: &'static str,
) -> Result<&'a str, KeyError> {
    value.ok_or(KeyError::MissingMember { kty, member })
}

/// `s` as a JSON string literal, quotes and escapes included.
pub(crate) fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rfc7638_example;

    #[test]
    fn rfc7638_example_thumbprint() {
        assert_eq!(
            thumbprint(&rfc7638_example()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn thumbprint_ignores_optional_members() {
        let mut jwk = rfc7638_example();
        jwk.kid = None;
        jwk.alg = None;
        jwk.x5t = Some("whatever".to_owned());
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn thumbprint_needs_required_members() {
        let mut jwk = rfc7638_example();
        jwk.e = None;
        assert_eq!(
            thumbprint(&jwk),
            Err(KeyError::MissingMember {
                kty: "RSA",
                member: "e"
            })
        );
        jwk.kty = "oct".to_owned();
        assert!(matches!(
            thumbprint(&jwk),
            Err(KeyError::UnsupportedKeyType(_))
        ));
    }

    #[test]
    fn jwk_ignores_unknown_members_and_skips_absent_ones() {
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"RSA","use":"sig","kid":"k","x5t":"k","n":"AQAB","e":"AQAB","issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","cloud_instance_name":"microsoftonline.com"}"#,
        )
        .unwrap();
        assert_eq!(jwk.key_use.as_deref(), Some("sig"));
        assert_eq!(
            serde_json::to_string(&jwk).unwrap(),
            r#"{"kty":"RSA","kid":"k","use":"sig","n":"AQAB","e":"AQAB","x5t":"k"}"#
        );
    }
}
