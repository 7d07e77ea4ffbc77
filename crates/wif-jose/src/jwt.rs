//! Compact JWS tokens carrying JWT claims, in two states. [`UnverifiedJwt`] is parsed but not
//! trusted: its claims may only route the request (whose keys to fetch). [`VerifiedJwt`] is what
//! `verify` returns once the signature checks out against keys wif chose, and it is the only
//! type that hands claims to decisions.
//!
//! The rules follow RFC 7515 §5.2 and RFC 8725 (JWT best current practices): a closed list of
//! algorithms (`none` and HMAC never), keys only from the issuer's JWKS (a token naming its own
//! key with `jwk`, `jku`, `x5u` or `x5c` is refused), no `crit` extensions, strict base64url,
//! header and claims must be JSON objects without repeated member names, and a size limit checked
//! before any decoding.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::{Algorithm, JwtPart, KeySet, ParseError, VerifyError, b64};

/// The longest token accepted, in bytes. Entra's assertions and Kubernetes' projected tokens are
/// a few kilobytes; the limit keeps hostile input cheap to refuse.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Header members through which a token would name its own verification key (RFC 7515
/// §4.1.2–4.1.6). Trusting any of them lets the signer pick the key; RFC 8725 §3.10.
const EMBEDDED_KEY_MEMBERS: [&str; 4] = ["jwk", "jku", "x5u", "x5c"];

/// The protected header members wif reads.
#[derive(Clone, Debug)]
pub struct Header {
    /// `alg` exactly as given; [`UnverifiedJwt::verify`] decides whether it is acceptable.
    pub alg: String,
    /// `kid`, which names the verification key in the issuer's JWKS.
    pub kid: Option<String>,
    /// `typ`, informational (Entra does not require `JWT`).
    pub typ: Option<String>,
    /// The first embedded key source found (`jwk`, `jku`, `x5u` or `x5c`), if any.
    pub has_embedded_key: Option<&'static str>,
    /// `x5t`: the SHA-1 thumbprint of the signing certificate (client certificate assertions).
    pub x5t: Option<String>,
    /// `x5t#S256`: the SHA-256 thumbprint of the signing certificate.
    pub x5t_s256: Option<String>,
}

impl Header {
    fn from_object(obj: &Map<String, Value>) -> Result<Self, ParseError> {
        if obj.contains_key("crit") {
            return Err(ParseError::CriticalHeader);
        }
        let alg = match obj.get("alg") {
            Some(Value::String(alg)) => alg.clone(),
            _ => return Err(ParseError::MissingAlgorithm),
        };
        Ok(Self {
            alg,
            kid: optional_string(obj, "kid")?,
            typ: optional_string(obj, "typ")?,
            x5t: optional_string(obj, "x5t")?,
            x5t_s256: optional_string(obj, "x5t#S256")?,
            has_embedded_key: EMBEDDED_KEY_MEMBERS
                .into_iter()
                .find(|m| obj.contains_key(*m)),
        })
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    member: &'static str,
) -> Result<Option<String>, ParseError> {
    match obj.get(member) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ParseError::BadHeaderMember(member)),
    }
}

/// A compact JWS, parsed but not trusted. Nothing in it is used for decisions before
/// [`verify`](Self::verify). `Debug` omits the signature, so the token cannot be rebuilt from logs.
pub struct UnverifiedJwt {
    /// `base64url(header) || '.' || base64url(claims)`, what the signature covers.
    signing_input: String,
    signature: Vec<u8>,
    header: Header,
    claims: Arc<Map<String, Value>>,
    claims_json: Arc<[u8]>,
}

impl UnverifiedJwt {
    /// Parses a compact JWS: at most [`MAX_TOKEN_LEN`] bytes, exactly three dot-separated parts,
    /// strict base64url, header and claims JSON objects without repeated members, header with a
    /// string `alg` and no `crit`. The signature may be empty here (as with `alg: none`);
    /// `verify` refuses it.
    pub fn parse(token: &str) -> Result<Self, ParseError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(ParseError::TooLarge {
                len: token.len(),
                max: MAX_TOKEN_LEN,
            });
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseError::NotThreeParts);
        };
        let header_json = decode_part(header_b64, JwtPart::Header)?;
        let claims_json = decode_part(claims_b64, JwtPart::Claims)?;
        let signature = b64::decode(signature_b64).map_err(|source| ParseError::BadBase64 {
            part: JwtPart::Signature,
            source,
        })?;
        let header = Header::from_object(&parse_object(&header_json, JwtPart::Header)?)?;
        let claims = parse_object(&claims_json, JwtPart::Claims)?;
        let signing_input_len = header_b64.len() + 1 + claims_b64.len();
        let signing_input = token
            .get(..signing_input_len)
            .unwrap_or_default()
            .to_owned();
        Ok(Self {
            signing_input,
            signature,
            header,
            claims: Arc::new(claims),
            claims_json: claims_json.into(),
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The unverified claims, for routing only (which issuer's keys to fetch, what to log).
    pub fn unverified_claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The unverified `iss`, if it is a string.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    /// Verifies the signature against `keys`: `alg` must be RS256, PS256 or ES256; the header
    /// must not carry its own key source; the key is the one named by `kid` (or, without `kid`,
    /// the only key when there is exactly one); the key's type must fit `alg`; and the signature
    /// must verify over the ASCII signing input.
    pub fn verify(&self, keys: &KeySet) -> Result<VerifiedJwt, VerifyError> {
        let alg = Algorithm::parse(&self.header.alg)
            .ok_or_else(|| VerifyError::UnsupportedAlgorithm(self.header.alg.clone()))?;
        if let Some(member) = self.header.has_embedded_key {
            return Err(VerifyError::EmbeddedKey(member));
        }
        let key = match &self.header.kid {
            Some(kid) => keys
                .get(kid)
                .ok_or_else(|| VerifyError::KeyNotFound { kid: kid.clone() })?,
            None => keys.only().ok_or(VerifyError::MissingKeyId)?,
        };
        key.verify(alg, self.signing_input.as_bytes(), &self.signature)?;
        Ok(VerifiedJwt {
            alg,
            header: self.header.clone(),
            claims: Arc::clone(&self.claims),
            claims_json: Arc::clone(&self.claims_json),
        })
    }
}

impl fmt::Debug for UnverifiedJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedJwt")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// A JWT whose signature verified against a key wif chose. The only type that hands claims to
/// decisions; time, issuer, subject and audience checks are the caller's (they depend on policy).
#[derive(Clone)]
pub struct VerifiedJwt {
    alg: Algorithm,
    header: Header,
    claims: Arc<Map<String, Value>>,
    claims_json: Arc<[u8]>,
}

impl VerifiedJwt {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The algorithm the signature verified with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The verified claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The verified claims deserialised into `T` (from the original bytes, not a copy of the map).
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, ParseError> {
        serde_json::from_slice(&self.claims_json).map_err(|source| ParseError::BadJson {
            part: JwtPart::Claims,
            source,
        })
    }
}

impl fmt::Debug for VerifiedJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedJwt")
            .field("alg", &self.alg)
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish()
    }
}

fn decode_part(text: &str, part: JwtPart) -> Result<Vec<u8>, ParseError> {
    if text.is_empty() {
        return Err(ParseError::EmptyPart { part });
    }
    b64::decode(text).map_err(|source| ParseError::BadBase64 { part, source })
}

/// Parses a top-level JSON object, refusing repeated member names. serde_json alone would keep
/// the last value silently, and a verifier and a logger that disagree about which value counts
/// is how parser-differential attacks start.
fn parse_object(json: &[u8], part: JwtPart) -> Result<Map<String, Value>, ParseError> {
    let top: TopLevel =
        serde_json::from_slice(json).map_err(|source| ParseError::BadJson { part, source })?;
    let TopLevel::Object(members) = top else {
        return Err(ParseError::NotAnObject { part });
    };
    let mut map = Map::new();
    for (name, value) in members {
        if map.contains_key(&name) {
            return Err(ParseError::DuplicateMember { part, member: name });
        }
        map.insert(name, value);
    }
    Ok(map)
}

/// A JSON document's top level: an object's members in order, or something else.
enum TopLevel {
    Object(Vec<(String, Value)>),
    Other,
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(entry) = map.next_entry::<String, Value>()? {
            members.push(entry);
        }
        Ok(TopLevel::Object(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopLevel::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TopLevel, E> {
        Ok(TopLevel::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<TopLevel, E> {
        Ok(TopLevel::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::Other)
    }
}

#[cfg(test)]
mod tests;
