//! The copies bound for the outbox: queued in batches, each once however
//! often the MTA retries the same message.

use crate::error::{fail, Exit};
use crate::mail::outbox::{Entry, Outbox};
use crate::smime::bsmtp::Transaction;
use crate::smime::encrypt::{EnvelopeOutput, EnvelopeSummary};

use super::copy_key;

/// Copies queued in the outbox this many at a time (bounded memory).
const QUEUE_BATCH: usize = 64;

/// Queues each copy in the outbox (fsynced), once: a copy already queued by
/// an earlier run on the same message is not queued again.
pub struct OutboxQueue {
    outbox: Outbox,
    account: String,
    /// The input message: with the member, it names each copy.
    input_hash: String,
    current: Option<(String, Transaction)>,
    batch: Vec<(String, Transaction)>,
    /// Entries queued by this run.
    pub queued: Vec<Entry>,
    /// Copies an earlier run had queued.
    pub already: usize,
    pub count: usize,
    pub bytes: u64,
}

impl OutboxQueue {
    pub fn new(outbox: Outbox, account: &str, message: &[u8]) -> OutboxQueue {
        use sha2::Digest;
        OutboxQueue {
            outbox,
            account: account.to_string(),
            input_hash: hex::encode(sha2::Sha256::digest(message)),
            current: None,
            batch: Vec::new(),
            queued: Vec::new(),
            already: 0,
            count: 0,
            bytes: 0,
        }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Queues what is still batched.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let (new, skipped) =
            self.outbox
                .enqueue_once(&self.account, &self.batch, crate::smime::certs::now())?;
        self.queued.extend(new);
        self.already += skipped;
        self.batch.clear();
        Ok(())
    }
}

impl EnvelopeOutput for OutboxQueue {
    fn begin(&mut self, _index: usize, env: &EnvelopeSummary) -> anyhow::Result<()> {
        self.current = Some((
            copy_key(self.input_hash.as_bytes(), &env.rcpt_to.join(",")),
            Transaction {
                mail_from: env.mail_from.clone(),
                rcpt_to: env.rcpt_to.clone(),
                data: Vec::new(),
            },
        ));
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match &mut self.current {
            Some((_, t)) => {
                t.data.extend_from_slice(data);
                Ok(())
            }
            None => Err(fail(Exit::Software, "write outside a copy")),
        }
    }

    fn end(&mut self) -> anyhow::Result<()> {
        let (key, t) = self
            .current
            .take()
            .ok_or_else(|| fail(Exit::Software, "end outside a copy"))?;
        self.count += 1;
        self.bytes += t.data.len() as u64;
        self.batch.push((key, t));
        if self.batch.len() >= QUEUE_BATCH {
            self.flush()?;
        }
        Ok(())
    }
}
