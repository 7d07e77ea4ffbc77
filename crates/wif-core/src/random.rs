//! Randomness as a parameter: GUIDs, `jti`/`uti` values and key material come from an injected
//! source, so tests can seed it and production uses the OS generator (through aws-lc-rs).

use std::fmt;

use uuid::Uuid;

/// A source of random bytes.
pub trait RandomSource: Send + Sync + fmt::Debug {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// A new random (version 4) GUID.
pub fn new_uuid(rng: &dyn RandomSource) -> Uuid {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A random base64url token of `n` bytes (Entra's `uti` is 16 bytes, 22 characters).
pub fn new_token_id(rng: &dyn RandomSource, n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rng.fill(&mut bytes);
    base64url(&bytes)
}

/// Unpadded base64url, enough for ids; wif-jose has the general codec.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = (n >> (18 - 6 * i)) & 0x3f;
            if let Some(c) = ALPHABET.get(idx as usize) {
                out.push(char::from(*c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Zeros;
    impl RandomSource for Zeros {
        fn fill(&self, dest: &mut [u8]) {
            dest.fill(0xab);
        }
    }

    #[test]
    fn uuid_is_v4() {
        let id = new_uuid(&Zeros);
        assert_eq!(id.get_version_num(), 4);
    }

    #[test]
    fn token_id_is_base64url() {
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
        assert_eq!(new_token_id(&Zeros, 16).len(), 22);
    }
}
