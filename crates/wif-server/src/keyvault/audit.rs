//! The Key Vault audit-log writer: handlers push records onto a bounded channel; a background
//! task appends them to the store in batches (like the sign-in log), so a slow disk never slows
//! a secret read. Records never hold a secret value or a token.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wif_store::keyvault::KvAuditRecord;
use wif_store::store::Store;

/// Where handlers send audit records.
#[derive(Clone, Debug)]
pub struct AuditSink {
    tx: mpsc::Sender<KvAuditRecord>,
}

impl AuditSink {
    /// Queues a record; never waits (a full queue drops it with a warning).
    pub fn record(&self, record: KvAuditRecord) {
        if self.tx.try_send(record).is_err() {
            tracing::warn!("Key Vault audit queue full; a record was dropped");
        }
    }
}

/// Starts the writer; it flushes and ends when every [`AuditSink`] clone is dropped.
pub fn spawn_writer(store: Arc<dyn Store>, capacity: usize) -> (AuditSink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<KvAuditRecord>(capacity);
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(256);
        while rx.recv_many(&mut batch, 256).await > 0 {
            for tries in 1..=3u64 {
                match store.append_kv_audit(&batch).await {
                    Ok(()) => break,
                    Err(err) if tries < 3 => {
                        tracing::warn!(error = %err, tries, "appending Key Vault audit records failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                    }
                    Err(err) => {
                        tracing::error!(error = %err, records = batch.len(), "Key Vault audit records lost");
                    }
                }
            }
            batch.clear();
        }
    });
    (AuditSink { tx }, task)
}
