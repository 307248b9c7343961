//! Fetching mail into a Maildir so that no interruption loses or doubles a
//! message.
//!
//! For each server message not yet fetched: download it, write it to the
//! Maildir (tmp/, fsync, rename into new/, fsync — see [`crate::mail::maildir`]),
//! and only then append "fetched" to the journal (fsynced). Messages are
//! made durable in batches of up to 64 (or 8 MiB): the files of a batch are
//! fsynced, renamed, `new/` is fsynced once, and then the batch's journal
//! lines go out with one fsync. A run killed
//! between the rename and the journal line finds the message on the next run
//! by its file name, which is derived from the server's identity for it
//! (IMAP UIDVALIDITY + UID, POP3 UIDL), and records it without a second copy.
//!
//! IMAP UIDs mean nothing once UIDVALIDITY changes: the next run fetches the
//! whole mailbox again and skips every message whose SHA-256 matches one
//! fetched before, so a resync never duplicates.
//!
//! `--delete` removes from the server only messages the journal records as
//! fetched (hence durable locally). If the connection drops before the
//! deletion is committed (POP3 QUIT, IMAP EXPUNGE), the messages stay on the
//! server, are still recorded, and the next `--delete` run removes them.
//!
//! With `--exec CMD` each new message is piped to `sh -c CMD` and the
//! command's standard output is stored instead of the message. If the command
//! fails (non-zero exit, killed, or no output at all), the message is stored
//! as received, so nothing is lost, and the run names it in
//! [`Summary::exec_failed`] (the caller then exits non-zero). Such a message
//! is recorded as fetched like any other and is not piped again by later
//! runs: run the command on the named file by hand. The journal hash is of
//! the message as received, so a UIDVALIDITY resync still recognises it.
//!
//! The journal, `.sealpost-fetch` in the Maildir, is one JSON object per
//! line; a torn last line (crash mid-write) is ignored. It is rewritten
//! compactly (atomically) at the end of each run.
//!
//! # Parts
//!
//! This file is the public surface: what a mail server must offer
//! ([`Remote`]: IMAP in `imap/`, POP3 in `pop3.rs`) and the re-exports of
//! what callers use. The rest, each file using this one and only those
//! listed after it:
//!
//! - `run.rs`: [`sync`], one run of the loop above, and the stable Maildir
//!   [`file_name`] of a server message, which lets a run find what a killed
//!   run stored.
//! - `batch.rs`: fetched messages made durable together: files fsynced and
//!   renamed, `new/` fsynced once, then the journal lines with one fsync.
//! - `exec.rs`: [`run_exec`], the `--exec` filter, bounded like a message.
//! - `journal.rs`: the journal ([`Journal`], [`State`]): what has been
//!   fetched, under which UIDVALIDITY, appended and compacted.
//! - `locking.rs`: one run per Maildir at a time ([`lock`]).
//! - `summary.rs`: what a run did ([`Summary`]), for the caller to print.
//! - `spool.rs`: where a message goes while it arrives (memory, then an
//!   unnamed file).

pub mod imap;
pub mod pop3;
pub mod spool;

mod batch;
mod exec;
mod journal;
mod locking;
mod run;
mod summary;
#[cfg(test)]
mod tests;

use std::io::Write;

pub use exec::run_exec;
pub use journal::{Journal, State};
pub use locking::{lock, FetchLock};
pub use run::{file_name, sync};
pub use summary::{ExecFailure, Summary, TooLarge};

// The default is config.toml's (`max_message_size`), so it lives in the store
// wing with the rest of the account settings.
pub use crate::store::account::DEFAULT_MAX_MESSAGE_SIZE;

/// One message on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMessage {
    /// IMAP UID (decimal) or POP3 UIDL.
    pub key: String,
    pub size: u64,
}

/// What the server holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// IMAP UIDVALIDITY; `None` for POP3.
    pub validity: Option<u32>,
    pub messages: Vec<RemoteMessage>,
}

/// A logged-in mailbox on a server.
pub trait Remote {
    fn list(&mut self) -> anyhow::Result<Listing>;
    /// Writes the message to `out` as it arrives. A message larger than
    /// `max` bytes is refused with
    /// [`Exit::DataErr`](crate::error::Exit::DataErr) as soon as that shows
    /// (the connection is then unusable).
    fn fetch(&mut self, key: &str, out: &mut dyn Write, max: u64) -> anyhow::Result<()>;
    /// Marks messages for deletion and commits the deletion.
    fn delete(&mut self, keys: &[String]) -> anyhow::Result<()>;
    /// Logs out (POP3: QUIT, which commits deletions).
    fn finish(&mut self) -> anyhow::Result<()>;
    /// Bytes read from and written to the network so far.
    fn wire_bytes(&self) -> u64 {
        0
    }
    /// The same bytes before compression (equal to `wire_bytes` without it).
    fn uncompressed_bytes(&self) -> u64 {
        self.wire_bytes()
    }
    /// Whether the connection is compressed (IMAP COMPRESS=DEFLATE).
    fn compressed(&self) -> bool {
        false
    }
}
