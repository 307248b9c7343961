//! Queueing: each envelope's message and state are on disk, fsynced, before
//! [`Outbox::enqueue`] returns. A keyed entry's id ends in a tag of its key,
//! so that [`Outbox::enqueue_once`] can tell a key it has seen before.

use std::fs;

use anyhow::Context as _;

use super::{Entry, Outbox, State};
use crate::smime::bsmtp::Transaction;
use crate::store::fsutil::{self, PRIVATE_FILE};

/// Hex digits of a key's hash in a keyed entry's id (`…-k<hex>`).
const KEY_TAG_LEN: usize = 24;

/// `k` and the first [`KEY_TAG_LEN`] hex digits of SHA-256 of `key`.
fn key_tag(key: &str) -> String {
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    format!("k{}", &hash[..KEY_TAG_LEN])
}

impl Outbox {
    /// Queues transactions for `account`: each message and its state are on
    /// disk, fsynced, when this returns.
    pub fn enqueue(
        &self,
        account: &str,
        transactions: &[Transaction],
        now: i64,
    ) -> anyhow::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for (n, t) in transactions.iter().enumerate() {
            let id = format!("{now:011}-{n:04}-{:08x}", rand::random::<u32>());
            out.push(self.enqueue_one(account, id, t, now)?);
        }
        Ok(out)
    }

    /// Like [`Self::enqueue`], but each transaction comes with a key that
    /// names it (say, a hash of the message and its recipient), and one
    /// whose key this outbox has seen before, queued, sent or failed, is
    /// skipped. Running the same input twice, as an MTA does when it
    /// retries a pipe delivery that was cut short, then queues nothing
    /// twice. Returns the new entries and how many were skipped.
    pub fn enqueue_once(
        &self,
        account: &str,
        keyed: &[(String, Transaction)],
        now: i64,
    ) -> anyhow::Result<(Vec<Entry>, usize)> {
        let seen = self.known_keys()?;
        let mut out = Vec::new();
        let mut skipped = 0;
        for (key, t) in keyed {
            let tag = key_tag(key);
            if seen.contains(&tag) || out.iter().any(|e: &Entry| e.id.ends_with(&tag)) {
                skipped += 1;
                continue;
            }
            out.push(self.enqueue_one(account, format!("{now:011}-{tag}"), t, now)?);
        }
        Ok((out, skipped))
    }

    /// The key tags of every keyed entry in any state.
    fn known_keys(&self) -> anyhow::Result<std::collections::HashSet<String>> {
        let mut seen = std::collections::HashSet::new();
        for state in [State::Queued, State::Sent, State::Failed] {
            let dir = self.path(state, "x", "json");
            let dir = dir.parent().unwrap_or(&self.root);
            let entries = match fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
            };
            for e in entries {
                let name = e?.file_name().to_string_lossy().into_owned();
                if let Some(at) = name.find("-k") {
                    let tag: String = name[at + 1..].chars().take(KEY_TAG_LEN + 1).collect();
                    if tag.len() == KEY_TAG_LEN + 1 {
                        seen.insert(tag);
                    }
                }
            }
        }
        Ok(seen)
    }

    fn enqueue_one(
        &self,
        account: &str,
        id: String,
        t: &Transaction,
        now: i64,
    ) -> anyhow::Result<Entry> {
        let entry = Entry {
            id: id.clone(),
            state: State::Queued,
            account: account.to_string(),
            mail_from: t.mail_from.clone(),
            recipients: t.rcpt_to.clone(),
            pending: t.rcpt_to.clone(),
            delivered: Vec::new(),
            refused: Vec::new(),
            size: t.data.len() as u64,
            queued_at: now,
            next_attempt: now,
            attempts: 0,
            last_error: None,
            server_reply: None,
            server: None,
            sent_at: None,
        };
        fsutil::atomic_write(&self.path(State::Queued, &id, "msg"), &t.data, PRIVATE_FILE)?;
        self.write_state(&entry)?;
        Ok(entry)
    }
}
