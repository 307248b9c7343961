//! The durable outbox: every envelope is on disk, fsynced, before the first
//! byte goes to a server, and leaves the queue only after the server took it.
//!
//! ```text
//! KEYSTORE/outbox/                0700
//!   .lock                         held (flock) by the process that is sending
//!   queue/<id>.msg                the message, as it will go after DATA
//!   queue/<id>.json               its envelope and state (pending recipients,
//!                                 attempts, next retry, last error)
//!   sent/<id>.json                the record of a sent envelope: which
//!                                 recipients the server accepted or refused
//!   failed/<id>.json, <id>.msg    refused for good (5xx), with the server's reply
//! ```
//!
//! An entry is queued by writing `.msg` and then `.json` (each atomically:
//! temporary file, fsync, rename, directory fsync); a `.msg` without its
//! `.json` was never queued and is ignored.
//!
//! # The window
//!
//! When DATA gets its 250, the server has the message; sealpost must record
//! that before anything can make it send the message again. The record is
//! prepared before DATA: once the server accepted a recipient, the entry's
//! state after success (`sent/<id>.json`, or `queue/<id>.json` with only
//! deferred recipients left) is written and fsynced under a hidden name.
//! After the 250 the commit is a single `rename(2)` into place, followed by
//! an fsync of the directory. So the window in which a message the server
//! took can be sent again is one rename against a killed process, and one
//! directory fsync against a power failure. On the network side the window
//! opens with the final `.`: a connection lost, or sealpost killed, while
//! the server stores the message and before its reply arrives leaves the
//! entry queued, and it is sent again. No SMTP client can close that part
//! (RFC 1047). An entry present in both `sent/` and
//! `queue/` (killed between the record and the removal of the queue files)
//! counts as sent and its queue files are removed; hidden prepared records
//! left by a killed process are removed when the next one takes the lock.
//!
//! # Pruning
//!
//! Records in `sent/` would pile up forever; [`Outbox::prune`] removes those
//! older than a retention time. A sent record is what makes a queue entry
//! left behind by a killed process count as sent, so a record is pruned
//! only under the lock (no delivery is between its commit and its cleanup)
//! and only once no file of its id is left in `queue/`: with nothing left
//! to send, removing the record cannot make anything be sent again.
//!
//! # Parts
//!
//! Each part is an `impl Outbox` block (or the types it needs) for one
//! concern. The parts reach each other only through this module (its
//! re-exports and `pub(super)` methods), never by importing a sibling.
//!
//! - this file: [`Outbox`] itself, opening the spool and where a file of an
//!   entry in a given state lives.
//! - `entry.rs`: an entry ([`Entry`], [`State`], [`Refusal`]) and its files
//!   on disk: writing the state, reading a state directory, the message,
//!   removing an entry's files.
//! - `lock.rs`: the sending lock ([`Lock`]) and, once it is held, the removal
//!   of records a killed process prepared.
//! - `queue.rs`: queueing envelopes, and queueing keyed ones at most once.
//! - `listing.rs`: what is in the outbox: queued and failed entries (cleaning
//!   out entries already sent), sent records, entries due, dropping one.
//! - `deliver.rs`: a delivery run and "the window" above: the record
//!   prepared before DATA and committed by one rename after its 250
//!   ([`Report`] says what happened to each entry).
//! - `retry.rs`: when a queued entry is tried again ([`backoff_secs`]) and
//!   failures to connect.
//! - `prune.rs`: removing old sent records (see "Pruning").

mod deliver;
mod entry;
mod listing;
mod lock;
mod prune;
mod queue;
mod retry;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use crate::error::{fail, Exit};
use crate::store::fsutil;

pub use deliver::Report;
pub use entry::{Entry, Refusal, State};
pub use lock::Lock;
pub use retry::backoff_secs;

// Retention durations are written in config.toml, so they are parsed in the
// store wing; re-exported here, where `--keep-sent` and `outbox prune` read them.
pub use crate::store::account::{parse_duration, DEFAULT_KEEP_SENT};

/// The outbox spool directory.
#[derive(Debug, Clone)]
pub struct Outbox {
    root: PathBuf,
}

impl Outbox {
    /// Opens (creating, 0700) the outbox under `root`.
    pub fn open(root: &Path) -> anyhow::Result<Outbox> {
        for sub in ["", "queue", "sent", "failed"] {
            let dir = root.join(sub);
            fsutil::create_private_dir(&dir).map_err(|e| {
                fail(
                    Exit::CantCreate,
                    format!(
                        "cannot create the outbox: {}",
                        crate::error::single_line(&e)
                    ),
                )
            })?;
            // Whoever can write here can queue mail in our name.
            fsutil::check_private_dir(&dir, "outbox")?;
        }
        Ok(Outbox {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, state: State, id: &str, ext: &str) -> PathBuf {
        let dir = match state {
            State::Queued => "queue",
            State::Sent => "sent",
            State::Failed => "failed",
        };
        self.root.join(dir).join(format!("{id}.{ext}"))
    }
}
