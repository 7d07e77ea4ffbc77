//! The sign-in log writer. Every token request, successful or not, becomes one record; the
//! request path only pushes it onto a bounded channel, and a background task appends batches
//! to the store, so a slow disk never slows a token exchange and memory stays bounded. When
//! the channel is full (the store is down for long), records are dropped and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wif_store::model::SignInRecord;
use wif_store::store::Store;

/// Where handlers send sign-in records.
#[derive(Clone, Debug)]
pub struct SignInSink {
    tx: mpsc::Sender<SignInRecord>,
    dropped: Arc<AtomicU64>,
}

impl SignInSink {
    /// Queues a record; never waits.
    pub fn record(&self, record: SignInRecord) {
        if self.tx.try_send(record).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(dropped = n + 1, "sign-in log queue full; records dropped");
            }
        }
    }

    /// How many records were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Most records appended in one store call.
const BATCH: usize = 256;

/// Starts the writer. It ends, after flushing, when every [`SignInSink`] clone is dropped.
pub fn spawn_writer(store: Arc<dyn Store>, capacity: usize) -> (SignInSink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<SignInRecord>(capacity);
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while rx.recv_many(&mut batch, BATCH).await > 0 {
            let mut tries = 0u32;
            loop {
                match store.append_sign_ins(&batch).await {
                    Ok(()) => break,
                    Err(err) if tries < 3 => {
                        tries += 1;
                        tracing::warn!(error = %err, tries, "appending sign-in records failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
                    }
                    Err(err) => {
                        tracing::error!(error = %err, records = batch.len(), "sign-in records lost: the store rejected them");
                        break;
                    }
                }
            }
            batch.clear();
        }
    });
    (
        SignInSink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        },
        task,
    )
}
