//! The audit writer: one thread commits audit rows in batches (group
//! commit), and every request waits until its own row is durable before its
//! answer is sent. So a key is never released without its audit record on
//! disk, and under load many rows share one fsync.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread;

use super::store::{AuditRecord, Store};
use crate::error::{classify, fail, Exit};

/// Most rows in one transaction.
const MAX_BATCH: usize = 512;

/// Why a batch was not committed: the message, and whether the store was
/// unreachable ([`Exit::TempFail`]: the server answers 503, not 500).
type Failed = (String, bool);

/// A row and where to say whether it was committed (or why not).
type Job = (AuditRecord, SyncSender<Result<(), Failed>>);

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

    /// Appends `row` and waits until it is committed; the error says why
    /// it could not be (a store error names the store and the database
    /// error, and keeps its class).
    pub fn record(&self, row: AuditRecord) -> anyhow::Result<()> {
        let stopped = || ("the audit writer has stopped".to_string(), false);
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let outcome = match self.tx.send((row, done_tx)) {
            Ok(()) => done_rx.recv().unwrap_or_else(|_| Err(stopped())),
            Err(_) => Err(stopped()),
        };
        outcome.map_err(|(message, unavailable)| {
            let exit = if unavailable {
                Exit::TempFail
            } else {
                Exit::IoErr
            };
            fail(exit, message)
        })
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
        let outcome = store
            .append_audit(&rows)
            .map_err(|e| (format!("{e:#}"), classify(&e).0 == Exit::TempFail));
        for done in waiters.drain(..) {
            let _ = done.send(outcome.clone());
        }
        rows.clear();
    }
}
