//! Fetched messages made durable together: the batch's files are written and
//! renamed into the Maildir with one fsync of `new/`, then its journal lines
//! are appended with one fsync.

use std::io::Read;

use super::journal::{Journal, Line};
use super::spool::Spooled;
use super::summary::Summary;
use crate::mail::maildir::Maildir;

/// Fetched messages not yet durable: delivered together, then recorded
/// together, so that a thousand messages cost a few dozen directory and
/// journal fsyncs instead of two thousand. A message is recorded only after
/// the batch holding it is on disk; a run killed in between finds the files
/// by name and records them then.
#[derive(Default)]
pub(super) struct Batch {
    /// (key, hash, Maildir name, message unless it is already local).
    messages: Vec<(String, String, String, Option<Spooled>)>,
    bytes: u64,
}

/// A batch is written once it holds this many messages or bytes.
const BATCH_MESSAGES: usize = 64;
const BATCH_BYTES: u64 = 8 << 20;

impl Batch {
    pub(super) fn push(
        &mut self,
        key: String,
        hash: String,
        name: String,
        data: Option<(Spooled, u64)>,
    ) {
        let data = data.map(|(d, len)| {
            self.bytes += len;
            d
        });
        self.messages.push((key, hash, name, data));
    }

    pub(super) fn is_full(&self) -> bool {
        self.messages.len() >= BATCH_MESSAGES || self.bytes >= BATCH_BYTES
    }

    pub(super) fn commit(
        &mut self,
        maildir: &mut Maildir,
        journal: &mut Journal,
        summary: &mut Summary,
    ) -> anyhow::Result<()> {
        let mut messages = std::mem::take(&mut self.messages);
        self.bytes = 0;
        let mut to_write: Vec<(&str, &mut dyn Read)> = messages
            .iter_mut()
            .filter_map(|(_, _, name, data)| {
                data.as_mut().map(|d| (name.as_str(), d as &mut dyn Read))
            })
            .collect();
        let written = maildir.deliver_all(&mut to_write)?;
        let new = written.iter().filter(|w| **w).count();
        summary.new += new;
        summary.already_local += messages.len() - new;
        journal.append_all(
            messages
                .into_iter()
                .map(|(k, h, _, _)| Line::Got { k, h })
                .collect(),
        )
    }
}
