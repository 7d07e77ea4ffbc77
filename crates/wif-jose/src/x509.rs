//! Just enough X.509 to register a certificate credential: the public key (RSA or P-256) as a
//! JWK, the validity window, and the `x5t` / `x5t#S256` thumbprints client assertions name it by.
//! The certificate's own signature and chain are not checked — Entra does not check them either:
//! an app's certificate credential is a public key the app registered, nothing more.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};

use crate::b64;
use crate::jwk::Jwk;

/// What a certificate credential needs from a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateKey {
    /// The subject public key.
    pub jwk: Jwk,
    /// SHA-1 thumbprint of the DER certificate, base64url.
    pub x5t: String,
    /// SHA-256 thumbprint, base64url.
    pub x5t_s256: String,
    /// `notBefore`, seconds since the epoch.
    pub not_before: i64,
    /// `notAfter`, seconds since the epoch.
    pub not_after: i64,
}

/// Why a certificate was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a usable X.509 certificate: {0}")]
pub struct X509Error(&'static str);

const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// One DER element: its tag and content, and what follows it.
fn element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), X509Error> {
    let bad = X509Error("truncated or malformed DER");
    let (&tag, rest) = input.split_first().ok_or(bad.clone())?;
    let (&first, rest) = rest.split_first().ok_or(bad.clone())?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(bad);
        }
        let bytes = rest.get(..n).ok_or(bad.clone())?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest.get(n..).ok_or(bad.clone())?)
    };
    let content = rest.get(..len).ok_or(bad.clone())?;
    let after = rest.get(len..).ok_or(bad)?;
    Ok((tag, content, after))
}

fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), X509Error> {
    let (t, content, rest) = element(input)?;
    if t != tag {
        return Err(X509Error(what));
    }
    Ok((content, rest))
}

/// Reads a DER certificate.
pub fn certificate_key(der: &[u8]) -> Result<CertificateKey, X509Error> {
    let (cert, _) = expect(der, 0x30, "the certificate is not a SEQUENCE")?;
    let (tbs, _) = expect(cert, 0x30, "tbsCertificate is not a SEQUENCE")?;
    let mut rest = tbs;
    // [0] EXPLICIT version, optional.
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    let (_, rest) = expect(rest, 0x02, "no serial number")?;
    let (_, rest) = expect(rest, 0x30, "no signature algorithm")?;
    let (_, rest) = expect(rest, 0x30, "no issuer")?;
    let (validity, rest) = expect(rest, 0x30, "no validity")?;
    let (_, rest) = expect(rest, 0x30, "no subject")?;
    let (spki, _) = expect(rest, 0x30, "no subject public key info")?;

    let (nb_tag, nb, after) = element(validity)?;
    let (na_tag, na, _) = element(after)?;
    let not_before = time_of(nb_tag, nb)?;
    let not_after = time_of(na_tag, na)?;

    let (algorithm, rest) = expect(spki, 0x30, "no key algorithm")?;
    let (bits, _) = expect(rest, 0x03, "no public key")?;
    let (&unused, key) = bits.split_first().ok_or(X509Error("empty public key"))?;
    if unused != 0 {
        return Err(X509Error("public key has unused bits"));
    }
    let (oid, params) = expect(algorithm, 0x06, "no key algorithm OID")?;
    let jwk = if oid == RSA_OID {
        let (seq, _) = expect(key, 0x30, "RSA key is not a SEQUENCE")?;
        let (n, rest) = expect(seq, 0x02, "no RSA modulus")?;
        let (e, _) = expect(rest, 0x02, "no RSA exponent")?;
        Jwk::rsa(b64::encode(strip_zeros(n)), b64::encode(strip_zeros(e)))
    } else if oid == EC_OID {
        let (curve, _) = expect(params, 0x06, "no EC curve")?;
        if curve != P256_OID {
            return Err(X509Error("only P-256 EC keys are supported"));
        }
        match key.split_first() {
            Some((4, xy)) if xy.len() == 64 => {
                let (x, y) = xy.split_at(32);
                Jwk::p256(b64::encode(x), b64::encode(y))
            }
            _ => return Err(X509Error("EC point is not an uncompressed P-256 point")),
        }
    } else {
        return Err(X509Error("only RSA and P-256 keys are supported"));
    };
    Ok(CertificateKey {
        jwk,
        x5t: b64::encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, der).as_ref()),
        x5t_s256: b64::encode(digest(&SHA256, der).as_ref()),
        not_before,
        not_after,
    })
}

fn strip_zeros(int: &[u8]) -> &[u8] {
    let start = int
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(int.len().saturating_sub(1));
    int.get(start..).unwrap_or(int)
}

/// UTCTime (`YYMMDDHHMMSSZ`, 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time_of(tag: u8, text: &[u8]) -> Result<i64, X509Error> {
    let bad = X509Error("validity time is not YY(YY)MMDDHHMMSSZ");
    let s = std::str::from_utf8(text).map_err(|_| bad.clone())?;
    let digits = s.strip_suffix('Z').ok_or(bad.clone())?;
    let (year, rest) = match tag {
        0x17 if digits.len() == 12 => {
            let yy: i64 = digits
                .get(..2)
                .and_then(|v| v.parse().ok())
                .ok_or(bad.clone())?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                digits.get(2..).unwrap_or_default(),
            )
        }
        0x18 if digits.len() == 14 => (
            digits
                .get(..4)
                .and_then(|v| v.parse().ok())
                .ok_or(bad.clone())?,
            digits.get(4..).unwrap_or_default(),
        ),
        _ => return Err(bad),
    };
    let field = |i: usize| -> Result<i64, X509Error> {
        rest.get(i..i + 2)
            .and_then(|v| v.parse().ok())
            .ok_or(bad.clone())
    };
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad);
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(time_of(0x17, b"491231235959Z").unwrap(), 2_524_607_999);
        assert_eq!(time_of(0x18, b"20000301000000Z").unwrap(), 11_017 * 86_400);
        assert!(time_of(0x17, b"4912312359Z").is_err());
        assert!(time_of(0x18, b"20001301000000Z").is_err());
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x30\x03\x30\x01\x00",
            b"\x02\x01\x00",
        ] {
            assert!(certificate_key(bad).is_err());
        }
    }
}
