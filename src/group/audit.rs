//! The audit writer: one thread commits audit rows in batches (group
//! commit), and every request waits until its own row is durable before its
//! answer is sent. So a key is never released without its audit record on
//! disk, and under load many rows share one fsync.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread;

use super::store::{AuditRecord, Store};

/// Most rows in one transaction.
const MAX_BATCH: usize = 512;

type Job = (AuditRecord, SyncSender<bool>);

/// A handle for submitting rows; cheap to share between threads.
pub struct AuditWriter {
    tx: Sender<Job>,
}

impl AuditWriter {
    /// Starts the writer thread on `store`.
    pub fn start(store: Arc<dyn Store>) -> std::io::Result<AuditWriter> {
        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_loop(&*store, &rx))?;
        Ok(AuditWriter { tx })
    }

    /// Appends `row` and waits until it is committed; false if it could not be.
    pub fn record(&self, row: AuditRecord) -> bool {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.tx.send((row, done_tx)).is_err() {
            return false;
        }
        done_rx.recv().unwrap_or(false)
    }
}

fn write_loop(store: &dyn Store, rx: &Receiver<Job>) {
    let mut rows = Vec::with_capacity(MAX_BATCH);
    let mut waiters = Vec::with_capacity(MAX_BATCH);
    // Blocks for the first row of a batch, then takes whatever queued up
    // while the previous commit was syncing.
    while let Ok((row, done)) = rx.recv() {
        rows.push(row);
        waiters.push(done);
        while rows.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((row, done)) => {
                    rows.push(row);
                    waiters.push(done);
                }
                Err(_) => break,
            }
        }
        let ok = store.append_audit(&rows).is_ok();
        for done in waiters.drain(..) {
            let _ = done.send(ok);
        }
        rows.clear();
    }
}
