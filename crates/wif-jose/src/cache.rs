//! A cache of other issuers' signing keys, as Entra keeps one for every federated issuer: keys are
//! fetched by OIDC discovery on first use, kept for the publisher's `max-age` (clamped to a
//! policy range), refetched when a token names a `kid` the cached set lacks (issuers rotate keys
//! by publishing the new one first), and served stale for a while when the issuer is down, so a
//! brief outage at the issuer does not stop token exchange.
//!
//! The HTTP lives behind [`JwksFetcher`] (the server implements it with reqwest), so this module
//! has no network code and its tests inject `now` and never sleep.
//!
//! Concurrency: each issuer has a `tokio::sync::Mutex` held only around its fetch, so concurrent
//! callers on a cold or expired entry share one fetch (single flight). Cache state sits behind
//! `std::sync::Mutex`es that are never held across an `.await`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use wif_core::UnixTime;

use crate::{Jwks, KeySet};

/// Issuers remembered at most; past this the least recently used is forgotten.
pub const MAX_ISSUERS: usize = 1024;

/// What a fetch returns: the key set and how long the publisher said to keep it.
#[derive(Clone, Debug)]
pub struct FetchedJwks {
    /// The key set served at `jwks_uri`.
    pub jwks: Jwks,
    /// `max-age` from the JWKS response's `Cache-Control`, if there was one.
    pub max_age: Option<Duration>,
}

/// Why a fetch failed, worded for the person who runs the issuer (it reaches the AADSTS
/// description).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// Fetches an issuer's keys. The server implements this over HTTPS.
#[async_trait::async_trait]
pub trait JwksFetcher: Send + Sync + fmt::Debug {
    /// Fetches `<issuer>/.well-known/openid-configuration`, then its `jwks_uri`. `max_age` comes
    /// from the JWKS response's `Cache-Control` if present.
    async fn fetch(&self, issuer: &str) -> Result<FetchedJwks, FetchError>;
}

/// How long keys are kept and how often an issuer may be asked again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachePolicy {
    /// Shortest time keys are kept, whatever the publisher's `max-age` (60 s).
    pub min_ttl: Duration,
    /// Time keys are kept when the publisher gives no `max-age` (5 minutes).
    pub default_ttl: Duration,
    /// Longest time keys are kept, whatever the publisher's `max-age` (24 hours).
    pub max_ttl: Duration,
    /// How long past expiry stale keys are still served when refetching fails (6 hours).
    pub max_stale: Duration,
    /// Least time between refetches caused by an unknown `kid` (30 s), so tokens with made-up
    /// kids cannot turn wif into a request amplifier against the issuer.
    pub unknown_kid_min_interval: Duration,
    /// How long a failed fetch is remembered before the issuer is asked again (10 s).
    pub negative_ttl: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            min_ttl: Duration::from_secs(60),
            default_ttl: Duration::from_secs(5 * 60),
            max_ttl: Duration::from_secs(24 * 3600),
            max_stale: Duration::from_secs(6 * 3600),
            unknown_kid_min_interval: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(10),
        }
    }
}

/// Why no keys could be returned.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CacheError {
    /// The issuer's keys could not be fetched and no usable stale copy exists.
    #[error("the signing keys of issuer '{issuer}' could not be retrieved: {reason}")]
    Unavailable {
        /// The issuer asked for.
        issuer: String,
        /// Why the last fetch failed.
        reason: String,
    },
    /// The issuer's current keys do not include the `kid`, even after a refetch.
    #[error("no signing key with kid '{kid}' was found")]
    KeyNotFound {
        /// The `kid` asked for.
        kid: String,
    },
}

/// Issuer keys by issuer, fetched on demand. See the module docs.
pub struct JwksCache {
    fetcher: Arc<dyn JwksFetcher>,
    policy: CachePolicy,
    max_issuers: usize,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    fetches: AtomicU64,
    /// A logical clock for least-recently-used eviction.
    tick: AtomicU64,
}

/// One issuer's entry.
struct Slot {
    /// Held (across the fetch's `.await`) by the one caller fetching; the others wait on it.
    fetch_lock: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    last_used: AtomicU64,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    /// When `keys` stop being fresh.
    expires_at: Option<UnixTime>,
    /// When the issuer was last asked, successfully or not.
    last_fetch: Option<UnixTime>,
    /// When and why the last fetch failed, cleared by a success.
    failure: Option<(UnixTime, String)>,
}

impl Slot {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state is plain data updated in one assignment; a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn contains(keys: &KeySet, kid: Option<&str>) -> bool {
    kid.is_none_or(|kid| keys.get(kid).is_some())
}

impl JwksCache {
    /// An empty cache fetching through `fetcher`.
    pub fn new(fetcher: Arc<dyn JwksFetcher>, policy: CachePolicy) -> Self {
        Self {
            fetcher,
            policy,
            max_issuers: MAX_ISSUERS,
            slots: Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
            tick: AtomicU64::new(0),
        }
    }

    /// The same cache remembering at most `max_issuers` issuers (at least one).
    pub fn with_max_issuers(mut self, max_issuers: usize) -> Self {
        self.max_issuers = max_issuers.max(1);
        self
    }

    /// The keys of `issuer`, which must contain `kid` (`None`: any keys will do). `now` is
    /// injected so tests never sleep.
    ///
    /// - A fresh entry containing `kid` is returned without fetching.
    /// - No entry or an expired one: fetch, one fetch per issuer however many callers wait.
    /// - A fresh entry without `kid`: refetch, at most once per `unknown_kid_min_interval`;
    ///   still missing is [`CacheError::KeyNotFound`].
    /// - A failed fetch: serve the stale entry if it is less than `max_stale` past expiry and
    ///   has `kid` (with a warning), else [`CacheError::Unavailable`]; for `negative_ttl` after
    ///   a failure the issuer is not asked again.
    pub async fn keys(
        &self,
        issuer: &str,
        kid: Option<&str>,
        now: UnixTime,
    ) -> Result<Arc<KeySet>, CacheError> {
        let slot = self.slot(issuer);
        if let Some(answer) = self.decide(&slot.state(), issuer, kid, now) {
            return answer;
        }
        let _fetching = slot.fetch_lock.lock().await;
        // Whoever held the lock before us may have fetched what we need.
        if let Some(answer) = self.decide(&slot.state(), issuer, kid, now) {
            return answer;
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.fetcher.fetch(issuer).await;
        self.record(&slot, issuer, kid, now, fetched)
    }

    /// How many fetches have been started, for tests and metrics.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// How many issuers are remembered.
    pub fn issuer_count(&self) -> usize {
        self.slots().len()
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<String, Arc<Slot>>> {
        // Poison-safe for the same reason as `Slot::state`: each change is one map operation.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The issuer's slot, created (evicting the least recently used if full) when missing.
    fn slot(&self, issuer: &str) -> Arc<Slot> {
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.slots();
        if let Some(slot) = slots.get(issuer) {
            slot.last_used.store(tick, Ordering::Relaxed);
            return Arc::clone(slot);
        }
        if slots.len() >= self.max_issuers {
            let oldest = slots
                .iter()
                .min_by_key(|(_, slot)| slot.last_used.load(Ordering::Relaxed))
                .map(|(name, _)| name.clone());
            if let Some(oldest) = oldest {
                slots.remove(&oldest);
            }
        }
        let slot = Arc::new(Slot {
            fetch_lock: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
            last_used: AtomicU64::new(tick),
        });
        slots.insert(issuer.to_owned(), Arc::clone(&slot));
        slot
    }

    /// The answer the cached state gives, or `None` when the issuer must be asked.
    fn decide(
        &self,
        state: &State,
        issuer: &str,
        kid: Option<&str>,
        now: UnixTime,
    ) -> Option<Result<Arc<KeySet>, CacheError>> {
        let fresh = match (&state.keys, state.expires_at) {
            (Some(keys), Some(expires_at)) if now < expires_at => Some(keys),
            _ => None,
        };
        if let Some(keys) = fresh
            && contains(keys, kid)
        {
            return Some(Ok(Arc::clone(keys)));
        }
        if let Some((failed_at, reason)) = &state.failure
            && now < failed_at.plus(self.policy.negative_ttl)
        {
            return Some(
                self.stale(state, kid, now)
                    .ok_or_else(|| CacheError::Unavailable {
                        issuer: issuer.to_owned(),
                        reason: reason.clone(),
                    }),
            );
        }
        if fresh.is_some()
            && state
                .last_fetch
                .is_some_and(|at| now < at.plus(self.policy.unknown_kid_min_interval))
        {
            return Some(Err(CacheError::KeyNotFound {
                kid: kid.unwrap_or_default().to_owned(),
            }));
        }
        None
    }

    /// Stale keys still worth serving: less than `max_stale` past expiry, and holding `kid`.
    fn stale(&self, state: &State, kid: Option<&str>, now: UnixTime) -> Option<Arc<KeySet>> {
        match (&state.keys, state.expires_at) {
            (Some(keys), Some(expires_at))
                if now < expires_at.plus(self.policy.max_stale) && contains(keys, kid) =>
            {
                Some(Arc::clone(keys))
            }
            _ => None,
        }
    }

    /// Stores the outcome of a fetch and answers the caller who made it.
    fn record(
        &self,
        slot: &Slot,
        issuer: &str,
        kid: Option<&str>,
        now: UnixTime,
        fetched: Result<FetchedJwks, FetchError>,
    ) -> Result<Arc<KeySet>, CacheError> {
        match fetched {
            Ok(fetched) => {
                let keys = Arc::new(KeySet::from_jwks(&fetched.jwks));
                let ttl = fetched.max_age.unwrap_or(self.policy.default_ttl).clamp(
                    self.policy.min_ttl,
                    self.policy.max_ttl.max(self.policy.min_ttl),
                );
                {
                    let mut state = slot.state();
                    state.keys = Some(Arc::clone(&keys));
                    state.expires_at = Some(now.plus(ttl));
                    state.last_fetch = Some(now);
                    state.failure = None;
                }
                tracing::debug!(
                    issuer,
                    keys = keys.len(),
                    ttl_secs = ttl.as_secs(),
                    "fetched JWKS"
                );
                if contains(&keys, kid) {
                    Ok(keys)
                } else {
                    Err(CacheError::KeyNotFound {
                        kid: kid.unwrap_or_default().to_owned(),
                    })
                }
            }
            Err(FetchError(reason)) => {
                let mut state = slot.state();
                state.last_fetch = Some(now);
                state.failure = Some((now, reason.clone()));
                if let Some(stale) = self.stale(&state, kid, now) {
                    tracing::warn!(issuer, error = %reason, "JWKS fetch failed; serving stale keys");
                    Ok(stale)
                } else {
                    tracing::warn!(issuer, error = %reason, "JWKS fetch failed");
                    Err(CacheError::Unavailable {
                        issuer: issuer.to_owned(),
                        reason,
                    })
                }
            }
        }
    }
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("fetcher", &self.fetcher)
            .field("policy", &self.policy)
            .field("issuers", &self.issuer_count())
            .field("fetches", &self.fetch_count())
            .finish()
    }
}

#[cfg(test)]
mod tests;
