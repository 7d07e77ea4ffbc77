//! wif-core: the domain of Workload Identity Federation, with no I/O and no async.
//!
//! Everything on the trust chain (see `docs/architecture.md`) that can be decided by a pure
//! function lives here: the identifier newtypes that parse raw wire text once
//! ([`ids`]), the directory records ([`directory`]), federated-credential matching ([`fic`]),
//! the token-exchange failure catalogue and its AADSTS mapping ([`exchange`], [`aadsts`]),
//! the claims wif mints ([`claims`]), and the injected [`Clock`] and [`RandomSource`].

pub mod aadsts;
pub mod apps;
pub mod claims;
pub mod directory;
pub mod exchange;
pub mod fic;
pub mod ids;
pub mod random;
pub mod rbac;
pub mod time;

pub use random::RandomSource;
pub use time::{Clock, SystemClock, UnixTime};
