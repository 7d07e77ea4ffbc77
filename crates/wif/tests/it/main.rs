//! Integration tests of the `wif` binary as users run it: the real executable, a real listener
//! on `127.0.0.1:0`, HTTPS trusting the data directory's CA, and the CLI reading the same store
//! (STYLE.md §7: a real listener is the least powerful test that proves these behaviours).
//!
//! Every test has its own data directory; every `wif up` it starts is stopped by a guard.
//! Waits are bounded polls on a condition (a ready file, a process exit, a JWKS size), never a
//! fixed sleep.

#[cfg(test)]
mod apply;
#[cfg(test)]
mod cli;
#[cfg(test)]
mod exchange;
#[cfg(test)]
mod harness;
#[cfg(test)]
mod inject;
#[cfg(test)]
mod keys;
#[cfg(test)]
mod resources;
#[cfg(test)]
mod roles;
#[cfg(test)]
mod run;
#[cfg(test)]
mod token;
#[cfg(test)]
mod up;
#[cfg(test)]
mod webhook;
