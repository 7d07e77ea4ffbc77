//! Client secrets of app registrations: generated once, shown once, kept only as a salted
//! SHA-256. A secret is 40 random characters (about 238 bits), so one hash round is enough —
//! the hash protects against reading a secret out of a database copy, not against guessing.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use uuid::Uuid;
use wif_core::UnixTime;
use wif_core::apps::PasswordCredential;
use wif_core::random::RandomSource;

/// Characters of a generated secret (Entra's secrets use letters, digits, `~`, `.`, `_`, `-`).
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";

/// The letters and digits of [`ALPHABET`].
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of a generated secret.
pub const SECRET_LEN: usize = 40;

fn hash(salt: &str, secret: &str) -> String {
    let mut input = Vec::with_capacity(salt.len() + secret.len());
    input.extend_from_slice(salt.as_bytes());
    input.extend_from_slice(secret.as_bytes());
    wif_jose::b64::encode(digest(&SHA256, &input).as_ref())
}

/// A new secret: its value (to show once) and the record to store.
pub fn new_secret(
    rng: &dyn RandomSource,
    key_id: Uuid,
    display_name: Option<String>,
    start: UnixTime,
    end: UnixTime,
) -> (String, PasswordCredential) {
    let mut bytes = [0u8; SECRET_LEN];
    rng.fill(&mut bytes);
    // The first character is a letter or digit, so no command line mistakes the secret for an
    // option (`az login -p -x…`).
    let value: String = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let alphabet = if i == 0 { ALPHANUMERIC } else { ALPHABET };
            let k = usize::from(*b) % alphabet.len();
            alphabet.get(k).copied().map_or('A', char::from)
        })
        .collect();
    let mut salt = [0u8; 16];
    rng.fill(&mut salt);
    let salt = wif_jose::b64::encode(&salt);
    let record = PasswordCredential {
        key_id,
        display_name,
        hint: value.chars().take(3).collect(),
        hash: hash(&salt, &value),
        salt,
        start,
        end,
    };
    (value, record)
}

/// Whether `presented` is the value of `record` (constant time in the hash comparison).
pub fn matches(record: &PasswordCredential, presented: &str) -> bool {
    let h = hash(&record.salt, presented);
    verify_slices_are_equal(h.as_bytes(), record.hash.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Counting(std::sync::atomic::AtomicU8);
    impl RandomSource for Counting {
        fn fill(&self, buf: &mut [u8]) {
            for b in buf {
                *b = self.0.fetch_add(7, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    #[test]
    fn secrets_verify_and_are_not_stored() {
        let rng = Counting(std::sync::atomic::AtomicU8::new(3));
        let (value, record) = new_secret(
            &rng,
            Uuid::from_u128(1),
            Some("ci".into()),
            UnixTime::from_secs(0),
            UnixTime::from_secs(100),
        );
        assert_eq!(value.len(), SECRET_LEN);
        assert!(value.bytes().all(|b| ALPHABET.contains(&b)));
        assert!(value.starts_with(|c: char| c.is_ascii_alphanumeric()));
        assert_eq!(record.hint, value.get(..3).unwrap());
        assert!(matches(&record, &value));
        assert!(!matches(&record, "wrong"));
        assert!(!matches(&record, &value[..39]));
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains(&value), "the value is never stored");
        let (other, _) = new_secret(
            &rng,
            Uuid::from_u128(2),
            None,
            UnixTime::from_secs(0),
            UnixTime::from_secs(1),
        );
        assert_ne!(value, other);
    }
}
