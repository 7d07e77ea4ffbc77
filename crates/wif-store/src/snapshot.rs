//! The directory snapshot: what the data plane (sts, issuer, keyvault, webhook, proxy) reads on
//! every request instead of the store (ARCHITECTURE §3). A [`Snapshot`] is immutable; the
//! [`SnapshotBuilder`] makes a new one from the store, and its watcher swaps it into the
//! [`SnapshotHandle`] whenever the store's revision changes.
//!
//! Static stability: when the store cannot be read, the watcher keeps the snapshot it has, so
//! tokens keep being issued from the last known directory and keys; only management writes
//! fail. It warns once when the outage starts and logs when the store is back.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use wif_core::UnixTime;
use wif_core::directory::Directory;
use wif_jose::{Jwk, Jwks, KeySet, SigningKey};

use crate::crypto::KeyEncryptionKey;
use crate::model::{KeyOwner, SigningKeyRecord};
use crate::store::{Store, StoreError};

/// One owner's keys: the one it signs with, and every key it publishes.
#[derive(Clone, Debug)]
pub struct OwnerKeys {
    /// The key to sign with: the newest non-retired key (or, if every key is retired, the
    /// newest one, so the owner can still sign while a new key is being made).
    pub active: Arc<SigningKey>,
    /// Every key of the owner with its publication deadline, newest first.
    pub all: Vec<PublishedKey>,
    /// Every key of `all`, parsed once when the snapshot is built, so verifying a token costs
    /// no key parsing on the request path.
    verifier: Arc<KeySet>,
}

/// A public key as published in an owner's JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedKey {
    /// The public JWK.
    pub jwk: Jwk,
    /// After this instant the key leaves the JWKS; `None` keeps it published.
    pub publish_until: Option<UnixTime>,
}

impl PublishedKey {
    /// Whether the key is still published at `now`.
    pub fn is_published_at(&self, now: UnixTime) -> bool {
        self.publish_until.is_none_or(|until| until > now)
    }
}

impl OwnerKeys {
    /// The JWKS to serve at `now`: keys whose publication has not ended, newest first.
    pub fn jwks_at(&self, now: UnixTime) -> Jwks {
        Jwks {
            keys: self
                .all
                .iter()
                .filter(|k| k.is_published_at(now))
                .map(|k| k.jwk.clone())
                .collect(),
        }
    }

    /// The keys of an owner, parsed once.
    pub fn new(active: Arc<SigningKey>, all: Vec<PublishedKey>) -> Self {
        let verifier = Arc::new(KeySet::from_jwks(&Jwks {
            keys: all.iter().map(|k| k.jwk.clone()).collect(),
        }));
        Self {
            active,
            all,
            verifier,
        }
    }

    /// The keys that verify this owner's tokens at `now` (the same keys as [`Self::jwks_at`]).
    /// Usually the set parsed at build time; only when a retired key's publication has ended
    /// since the build is a smaller set parsed.
    pub fn key_set_at(&self, now: UnixTime) -> Arc<KeySet> {
        if self.all.iter().all(|k| k.is_published_at(now)) {
            Arc::clone(&self.verifier)
        } else {
            Arc::new(KeySet::from_jwks(&self.jwks_at(now)))
        }
    }
}

/// An immutable view of the directory and the signing keys at one store revision.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The indexed directory.
    pub directory: Directory,
    /// Signing keys by owner; an owner without keys is absent.
    pub keys: HashMap<KeyOwner, OwnerKeys>,
}

impl Snapshot {
    /// An empty snapshot at revision 0 (before the first build).
    pub fn empty() -> Self {
        Self::default()
    }

    /// The keys of `owner`, if it has any.
    pub fn keys_of(&self, owner: &KeyOwner) -> Option<&OwnerKeys> {
        self.keys.get(owner)
    }

    /// The store revision this snapshot reflects.
    pub fn revision(&self) -> u64 {
        self.directory.revision()
    }
}

/// The current snapshot, shared by every service. Cloning shares it; readers never block.
#[derive(Clone, Debug)]
pub struct SnapshotHandle {
    current: Arc<ArcSwap<Snapshot>>,
}

impl SnapshotHandle {
    /// A handle holding `initial`.
    pub fn new(initial: Snapshot) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(initial)),
        }
    }

    /// The current snapshot. Hold the `Arc` for one request so the request sees one revision.
    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Replaces the current snapshot.
    pub fn store(&self, snapshot: Snapshot) {
        self.current.store(Arc::new(snapshot));
    }

    /// Replaces the current snapshot with a shared one, unless the current one is newer (a
    /// watcher and a management write may race; the higher revision wins).
    pub fn store_arc(&self, snapshot: Arc<Snapshot>) {
        self.current.rcu(|current| {
            if current.revision() > snapshot.revision() {
                Arc::clone(current)
            } else {
                Arc::clone(&snapshot)
            }
        });
    }
}

/// Builds snapshots from a store, unsealing signing keys with the key-encryption key.
#[derive(Debug)]
pub struct SnapshotBuilder {
    store: Arc<dyn Store>,
    kek: Arc<KeyEncryptionKey>,
    extra_resources: Vec<String>,
}

impl SnapshotBuilder {
    /// A builder over `store`. `extra_resources` are token audiences this deployment serves
    /// besides the well-known ones (see `Directory::build`).
    pub fn new(
        store: Arc<dyn Store>,
        kek: Arc<KeyEncryptionKey>,
        extra_resources: Vec<String>,
    ) -> Self {
        Self {
            store,
            kek,
            extra_resources,
        }
    }

    /// Loads the directory and the keys and builds a snapshot. Only each owner's active key is
    /// unsealed and parsed (the others are only published); when `previous` already holds the
    /// same active kid, its parsed key is reused, so a rebuild after an unrelated change costs
    /// no private-key parsing. A key that does not unseal (for example under the wrong
    /// key-encryption key) fails the build with [`StoreError::Corrupt`].
    pub async fn build(&self, previous: Option<&Snapshot>) -> Result<Snapshot, StoreError> {
        // The directory first: keys read afterwards are at least as new, and a change between
        // the two reads shows up as a newer revision at the next poll.
        let data = self.store.load_directory().await?;
        let records = self.store.signing_keys().await?;

        let mut by_owner: HashMap<KeyOwner, Vec<&SigningKeyRecord>> = HashMap::new();
        for record in &records {
            by_owner.entry(record.owner).or_default().push(record);
        }
        let mut keys = HashMap::with_capacity(by_owner.len());
        for (owner, mut owned) in by_owner {
            // Newest first; records of equal age keep the store's order reversed.
            owned.reverse();
            owned.sort_by_key(|r| std::cmp::Reverse(r.created_at));
            let active = self.active_key(&owner, &owned, previous)?;
            let all = owned
                .iter()
                .map(|r| {
                    Ok(PublishedKey {
                        jwk: r.jwk().map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        publish_until: r.publish_until,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            keys.insert(owner, OwnerKeys::new(active, all));
        }
        Ok(Snapshot {
            directory: Directory::build(data, &self.extra_resources),
            keys,
        })
    }

    /// The key `owner` signs with; `newest_first` is non-empty.
    fn active_key(
        &self,
        owner: &KeyOwner,
        newest_first: &[&SigningKeyRecord],
        previous: Option<&Snapshot>,
    ) -> Result<Arc<SigningKey>, StoreError> {
        let record = match newest_first.iter().find(|r| !r.is_retired()) {
            Some(record) => *record,
            None => {
                let Some(newest) = newest_first.first() else {
                    return Err(StoreError::Corrupt(format!("{owner} has no keys")));
                };
                tracing::warn!(
                    %owner, kid = %newest.kid,
                    "every signing key of this owner is retired; signing with the newest"
                );
                newest
            }
        };
        let reusable = previous
            .and_then(|p| p.keys_of(owner))
            .map(|k| &k.active)
            .filter(|k| k.kid() == &record.kid);
        if let Some(key) = reusable {
            return Ok(Arc::clone(key));
        }
        let key = record.unseal(&self.kek).map_err(|e| {
            StoreError::Corrupt(format!("{e}; is this the right key-encryption key?"))
        })?;
        Ok(Arc::new(key))
    }

    /// Polls [`Store::revision`] every `interval` and, when it differs from the current
    /// snapshot's, builds a new snapshot and swaps it into `handle`. On a store error the
    /// current snapshot stays (static stability): the first error of an outage is a warning,
    /// later ones are debug logs, and the recovery is logged. Returns when `shutdown`
    /// resolves.
    pub fn spawn_watcher(
        self,
        handle: SnapshotHandle,
        interval: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut shutdown = std::pin::pin!(shutdown);
            let mut failing_since: Option<u64> = None;
            loop {
                tokio::select! {
                    () = &mut shutdown => break,
                    _ = ticks.tick() => {}
                }
                let current = handle.load();
                match self.refresh(&current).await {
                    Ok(next) => {
                        if let Some(revision) = failing_since.take() {
                            tracing::info!(
                                serving_revision = revision,
                                "store reachable again; snapshot updates resumed"
                            );
                        }
                        if let Some(next) = next {
                            tracing::debug!(
                                from = current.revision(),
                                to = next.revision(),
                                "directory snapshot rebuilt"
                            );
                            handle.store(next);
                        }
                    }
                    Err(error) if failing_since.is_none() => {
                        failing_since = Some(current.revision());
                        tracing::warn!(
                            %error,
                            serving_revision = current.revision(),
                            "cannot refresh the directory snapshot; serving the last one"
                        );
                    }
                    Err(error) => {
                        tracing::debug!(%error, "directory snapshot still not refreshed");
                    }
                }
            }
        })
    }

    /// A new snapshot if the store's revision differs from `current`'s (a restored backup can
    /// move it backwards, which also needs a rebuild).
    async fn refresh(&self, current: &Snapshot) -> Result<Option<Snapshot>, StoreError> {
        let revision = self.store.revision().await?;
        if revision == current.revision() {
            return Ok(None);
        }
        self.build(Some(current)).await.map(Some)
    }
}
