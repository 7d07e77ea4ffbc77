//! Test support for wif (a dev-dependency only): a clock tests move by hand, a seeded random
//! source, and committed test-only signing keys, so no test sleeps, depends on the wall
//! clock, or spends time generating RSA keys.

pub mod fixture;

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use wif_core::time::UnixTime;
use wif_core::{Clock, RandomSource};
use wif_jose::SigningKey;

/// A clock that moves only when told.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    /// A clock stopped at `t`.
    pub fn at(t: UnixTime) -> Self {
        Self(AtomicI64::new(t.as_secs()))
    }

    /// Sets the time.
    pub fn set(&self, t: UnixTime) {
        self.0.store(t.as_secs(), Ordering::SeqCst);
    }

    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// A deterministic random source (SplitMix64), for reproducible ids in tests.
#[derive(Debug)]
pub struct SeededRandom(Mutex<u64>);

impl SeededRandom {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(seed))
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, dest: &mut [u8]) {
        let mut state = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for chunk in dest.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            for (d, s) in chunk.iter_mut().zip(z.to_le_bytes()) {
                *d = s;
            }
        }
    }
}

const RSA_KEYS: [&[u8]; 4] = [
    include_bytes!("../keys/rsa2048-0.pk8.der"),
    include_bytes!("../keys/rsa2048-1.pk8.der"),
    include_bytes!("../keys/rsa2048-2.pk8.der"),
    include_bytes!("../keys/rsa2048-3.pk8.der"),
];

/// PKCS#8 DER of test RSA-2048 key `n` (0 to 3).
pub fn rsa_key_der(n: usize) -> &'static [u8] {
    RSA_KEYS
        .get(n % RSA_KEYS.len())
        .copied()
        .unwrap_or_default()
}

/// Test RSA-2048 signing key `n` (0 to 3), parsed.
pub fn rsa_key(n: usize) -> SigningKey {
    match SigningKey::from_pkcs8_der(rsa_key_der(n)) {
        Ok(k) => k,
        Err(e) => unreachable_key(&e),
    }
}

/// PKCS#8 DER of a test EC P-256 key.
pub fn ec_key_der() -> &'static [u8] {
    include_bytes!("../keys/ec-p256-0.pk8.der")
}

#[expect(
    clippy::panic,
    reason = "the committed fixture keys are known to parse"
)]
fn unreachable_key(e: &dyn std::fmt::Display) -> ! {
    panic!("fixture key does not parse: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_moves_only_when_told() {
        let c = TestClock::at(UnixTime::from_secs(100));
        assert_eq!(c.now().as_secs(), 100);
        c.advance(5);
        assert_eq!(c.now().as_secs(), 105);
    }

    #[test]
    fn seeded_random_is_reproducible() {
        let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
        let (mut x, mut y) = ([0u8; 20], [0u8; 20]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x, [0u8; 20]);
    }

    #[test]
    fn fixture_keys_parse_with_distinct_kids() {
        assert_ne!(rsa_key(0).kid(), rsa_key(1).kid());
    }
}
