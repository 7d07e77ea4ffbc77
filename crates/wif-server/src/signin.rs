//! The log writers: the sign-in log (every token request, successful or not) and the Key Vault
//! audit log (every data-plane call). The request path only pushes a record onto a bounded
//! channel; a background task appends batches to the store, so a slow disk never slows a
//! request and memory stays bounded. When the channel is full (the store is down for long),
//! records are dropped and counted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wif_store::keyvault::KvAuditRecord;
use wif_store::model::SignInRecord;
use wif_store::store::{Store, StoreError};

/// Where handlers send records of one log.
#[derive(Debug)]
pub struct LogSink<T> {
    tx: mpsc::Sender<T>,
    dropped: Arc<AtomicU64>,
    what: &'static str,
}

impl<T> Clone for LogSink<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            dropped: self.dropped.clone(),
            what: self.what,
        }
    }
}

impl<T> LogSink<T> {
    /// Queues a record; never waits.
    pub fn record(&self, record: T) {
        if self.tx.try_send(record).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(
                    log = self.what,
                    dropped = n + 1,
                    "log queue full; records dropped"
                );
            }
        }
    }

    /// How many records were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The sign-in log's sink.
pub type SignInSink = LogSink<SignInRecord>;
/// The Key Vault audit log's sink.
pub type AuditSink = LogSink<KvAuditRecord>;

/// The activity log's sink (management writes).
pub type ActivitySink = LogSink<wif_store::activity::ActivityRecord>;

/// Most records appended in one store call.
const BATCH: usize = 256;

type Appended<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

fn append_sign_ins<'a>(store: &'a dyn Store, batch: &'a [SignInRecord]) -> Appended<'a> {
    store.append_sign_ins(batch)
}

fn append_activity<'a>(
    store: &'a dyn Store,
    batch: &'a [wif_store::activity::ActivityRecord],
) -> Appended<'a> {
    store.append_activity(batch)
}

fn append_kv_audit<'a>(store: &'a dyn Store, batch: &'a [KvAuditRecord]) -> Appended<'a> {
    store.append_kv_audit(batch)
}

/// Starts the sign-in log writer. It ends, after flushing, when every sink clone is dropped.
pub fn spawn_writer(store: Arc<dyn Store>, capacity: usize) -> (SignInSink, JoinHandle<()>) {
    spawn(store, capacity, "sign-in", append_sign_ins)
}

/// Starts the Key Vault audit writer. It ends, after flushing, when every sink clone is dropped.
pub fn spawn_audit_writer(store: Arc<dyn Store>, capacity: usize) -> (AuditSink, JoinHandle<()>) {
    spawn(store, capacity, "Key Vault audit", append_kv_audit)
}

/// Starts the activity-log writer. It ends, after flushing, when every sink clone is dropped.
pub fn spawn_activity_writer(
    store: Arc<dyn Store>,
    capacity: usize,
) -> (ActivitySink, JoinHandle<()>) {
    spawn(store, capacity, "activity", append_activity)
}

fn spawn<T: Send + Sync + 'static>(
    store: Arc<dyn Store>,
    capacity: usize,
    what: &'static str,
    append: for<'a> fn(&'a dyn Store, &'a [T]) -> Appended<'a>,
) -> (LogSink<T>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<T>(capacity);
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while rx.recv_many(&mut batch, BATCH).await > 0 {
            let mut tries = 0u32;
            loop {
                match append(store.as_ref(), &batch).await {
                    Ok(()) => break,
                    Err(err) if tries < 3 => {
                        tries += 1;
                        tracing::warn!(log = what, error = %err, tries, "appending log records failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
                    }
                    Err(err) => {
                        tracing::error!(log = what, error = %err, records = batch.len(), "log records lost: the store rejected them");
                        break;
                    }
                }
            }
            batch.clear();
        }
    });
    (
        LogSink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            what,
        },
        task,
    )
}
