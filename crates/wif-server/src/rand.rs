//! The production random source: the operating system's generator through aws-lc-rs.

use wif_core::RandomSource;

/// Random bytes from the OS (aws-lc-rs `SystemRandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        // aws-lc's generator only fails if the OS cannot supply entropy at all, in which case
        // no key, nonce or id could be produced safely: stopping is the only safe answer.
        #[expect(
            clippy::expect_used,
            reason = "no safe way to continue without entropy"
        )]
        aws_lc_rs::rand::fill(dest).expect("the OS random generator failed");
    }
}
