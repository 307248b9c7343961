//! One fetch run: list, forget what the server dropped, fetch what is new
//! (through `--exec` if asked) in batches, delete what is durable if asked,
//! and compact the journal (see the module documentation above).

use std::collections::HashSet;
use std::path::Path;

use super::batch::Batch;
use super::exec::run_exec;
use super::journal::{Journal, Line};
use super::locking::lock;
use super::spool::Spool;
use super::summary::{ExecFailure, Summary, TooLarge};
use super::{Remote, RemoteMessage};
use crate::error::{fail, Exit};
use crate::mail::maildir::Maildir;

/// The Maildir file name of a server message: stable across runs.
pub fn file_name(account: &str, validity: Option<u32>, key: &str) -> String {
    let scope = match validity {
        Some(v) => format!("i{v}"),
        None => "p".to_string(),
    };
    let safe: String = if key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        key.to_string()
    } else {
        hex::encode(key.as_bytes())
    };
    let account: String = account.replace(['/', ':', '.'], "_");
    format!("sealpost.{account}.{scope}.{safe}")
}

/// Brings `maildir` up to date with `remote`; see the module documentation.
/// `progress` is called after each message with (done, total).
/// A message listed as larger than `max_message_size` bytes is not fetched
/// (see [`Summary::too_large`]); one that turns out larger while it arrives
/// ends the run with [`Exit::DataErr`]. Either way at most
/// [`spool::SPILL`](super::spool::SPILL) bytes of a message are held in
/// memory.
pub fn sync(
    account: &str,
    remote: &mut dyn Remote,
    maildir_path: &Path,
    delete: bool,
    exec: Option<&str>,
    max_message_size: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<Summary> {
    let _lock = lock(maildir_path)?;
    let mut maildir = Maildir::open(maildir_path)?;
    let mut journal = Journal::open(maildir_path)?;
    let listing = remote.list()?;
    let mut summary = Summary::default();
    if listing.validity != journal.state.validity {
        summary.resynced = journal.state.validity.is_some() || !journal.state.fetched.is_empty();
        journal.append(Line::Validity {
            v: listing.validity,
        })?;
    }
    // Forget keys the server no longer has: they never come back.
    let listed: HashSet<&str> = listing.messages.iter().map(|m| m.key.as_str()).collect();
    let gone: Vec<String> = journal
        .state
        .fetched
        .keys()
        .filter(|k| !listed.contains(k.as_str()))
        .cloned()
        .collect();
    for k in gone {
        journal.append(Line::Gone { k })?;
    }
    let (todo, too_large): (Vec<&RemoteMessage>, Vec<&RemoteMessage>) = listing
        .messages
        .iter()
        .filter(|m| !journal.state.fetched.contains_key(&m.key))
        .partition(|m| m.size <= max_message_size);
    summary.too_large = too_large
        .into_iter()
        .map(|m| TooLarge {
            key: m.key.clone(),
            size: m.size,
        })
        .collect();
    let total = todo.len();
    let mut current: HashSet<String> = journal.state.fetched.values().cloned().collect();
    let mut batch = Batch::default();
    let spill_dir = maildir.root().join("tmp");
    for (i, m) in todo.into_iter().enumerate() {
        let mut spool = Spool::new(&spill_dir);
        if let Err(e) = remote.fetch(&m.key, &mut spool, max_message_size) {
            // Keep what already arrived: the next run need not fetch it again.
            batch.commit(&mut maildir, &mut journal, &mut summary)?;
            return Err(e);
        }
        let len = spool.len();
        let (mut data, hash) = spool
            .finish()
            .map_err(|e| fail(Exit::IoErr, format!("cannot store a fetched message: {e}")))?;
        let name = file_name(account, listing.validity, &m.key);
        // Fetched before under an earlier UIDVALIDITY: already local.
        let known = journal.state.old_hashes.contains(&hash)
            || current.contains(&hash)
            || maildir.contains(&name);
        let stored = match exec {
            Some(cmd) if !known => {
                let mut out = Spool::new(&spill_dir);
                let piped = run_exec(cmd, &mut data, &mut out, max_message_size).and_then(|()| {
                    let n = out.len();
                    Ok((out.finish()?.0, n))
                });
                match piped {
                    Ok(output) => output,
                    Err(e) => {
                        summary.exec_failed.push(ExecFailure {
                            file: name.clone(),
                            reason: crate::error::single_line(&e),
                        });
                        data.rewind().map_err(|e| {
                            fail(Exit::IoErr, format!("cannot reread a fetched message: {e}"))
                        })?;
                        (data, len)
                    }
                }
            }
            _ => (data, len),
        };
        current.insert(hash.clone());
        batch.push(m.key.clone(), hash, name, (!known).then_some(stored));
        if batch.is_full() {
            batch.commit(&mut maildir, &mut journal, &mut summary)?;
            progress(i + 1, total);
        }
    }
    batch.commit(&mut maildir, &mut journal, &mut summary)?;
    progress(total, total);
    summary.on_server = listing.messages.len();
    if delete {
        let keys: Vec<String> = listing
            .messages
            .iter()
            .filter(|m| journal.state.fetched.contains_key(&m.key))
            .map(|m| m.key.clone())
            .collect();
        if !keys.is_empty() {
            remote.delete(&keys)?;
            summary.deleted = keys.len();
            summary.on_server -= keys.len();
        }
    }
    remote.finish()?;
    summary.wire_bytes = remote.wire_bytes();
    summary.uncompressed_bytes = remote.uncompressed_bytes();
    summary.compressed = remote.compressed();
    if summary.deleted > 0 {
        // Deleted keys are gone for good once the server committed the deletion.
        let keys: Vec<String> = journal.state.fetched.keys().cloned().collect();
        for k in keys.into_iter().filter(|k| listed.contains(k.as_str())) {
            journal.append(Line::Gone { k })?;
        }
    }
    journal.compact()?;
    Ok(summary)
}
