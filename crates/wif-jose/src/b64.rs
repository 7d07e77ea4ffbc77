//! Unpadded base64url, the only encoding JOSE uses (RFC 7515 §2, "Base64url Encoding"). Decoding
//! is strict: padding, whitespace, the standard alphabet's `+` and `/`, and non-canonical final
//! characters are all refused, so one token has exactly one spelling and a signature cannot be
//! replayed under a second one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::B64Error;

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`, saving an allocation when
/// building a token.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Decodes unpadded base64url, refusing anything an encoder would not have produced.
pub fn decode(text: &str) -> Result<Vec<u8>, B64Error> {
    URL_SAFE_NO_PAD.decode(text).map_err(|e| match e {
        base64::DecodeError::InvalidByte(offset, _) => B64Error::InvalidCharacter { offset },
        // Only reachable with padding configured; padding here is an invalid byte.
        base64::DecodeError::InvalidPadding => B64Error::InvalidCharacter {
            offset: text.find('=').unwrap_or(text.len()),
        },
        base64::DecodeError::InvalidLength(_) => B64Error::InvalidLength { len: text.len() },
        base64::DecodeError::InvalidLastSymbol(offset, _) => B64Error::NonCanonical { offset },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_rfc4648_vectors_without_padding() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "Zg");
        assert_eq!(encode(b"fo"), "Zm8");
        assert_eq!(encode(b"foo"), "Zm9v");
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn rejects_padding_whitespace_and_standard_alphabet() {
        assert!(matches!(
            decode("Zg=="),
            Err(B64Error::InvalidCharacter { offset: 2 })
        ));
        assert!(matches!(
            decode("Zm9v "),
            Err(B64Error::InvalidCharacter { .. })
        ));
        assert!(matches!(
            decode("Zm\n9v"),
            Err(B64Error::InvalidCharacter { .. })
        ));
        assert!(matches!(
            decode("+/8"),
            Err(B64Error::InvalidCharacter { offset: 0 })
        ));
        assert!(matches!(
            decode("Zm9vY"),
            Err(B64Error::InvalidLength { len: 5 })
        ));
    }

    #[test]
    fn rejects_non_canonical_trailing_bits() {
        // "Zh" decodes to "f" only if the low bits are ignored; "Zg" is the canonical form.
        assert!(matches!(decode("Zh"), Err(B64Error::NonCanonical { .. })));
        assert_eq!(decode("Zg").unwrap(), b"f");
    }

    proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            prop_assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }

        #[test]
        fn decode_never_panics(text in "\\PC{0,64}") {
            let _ = decode(&text);
        }
    }
}
