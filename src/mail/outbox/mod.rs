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

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::error::{fail, Exit};
use crate::mail::smtp::{ConnectionLost, RcptReply, SendOutcome, Transport};
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

/// Where an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Queued,
    Sent,
    Failed,
}

/// A recipient the server refused, with its reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub recipient: String,
    pub reply: String,
}

/// One envelope in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub state: State,
    pub account: String,
    pub mail_from: String,
    /// Every recipient of the envelope as it was queued.
    pub recipients: Vec<String>,
    /// Recipients still to be sent to.
    pub pending: Vec<String>,
    /// Recipients the server accepted (DATA answered 250): never sent again.
    pub delivered: Vec<String>,
    /// Recipients refused for good.
    pub refused: Vec<Refusal>,
    /// Size of the message in bytes.
    pub size: u64,
    /// Unix times.
    pub queued_at: i64,
    pub next_attempt: i64,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The server's final reply (for sent and failed entries).
    pub server_reply: Option<String>,
    /// Which server took or refused it.
    pub server: Option<String>,
    /// Unix time the last recipients were accepted (sent entries; records
    /// older than this field have none, and their file time is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
}

/// The outbox spool directory.
#[derive(Debug, Clone)]
pub struct Outbox {
    root: PathBuf,
}

/// Held while a process sends from the outbox; released on drop.
pub struct Lock {
    _file: fs::File,
}

/// What happened to each entry in one delivery run.
#[derive(Debug, Default)]
pub struct Report {
    /// Entries whose every recipient was accepted or refused (none left).
    pub sent: Vec<Entry>,
    /// Entries still queued (temporary failures, deferred recipients, or
    /// not tried because the connection was lost).
    pub queued: Vec<Entry>,
    /// Entries refused for good.
    pub failed: Vec<Entry>,
    /// Why the run stopped early, if it did.
    pub connection_lost: Option<String>,
}

impl Report {
    /// Recipients refused for good, over all entries, with the reply.
    pub fn refusals(&self) -> Vec<&Refusal> {
        self.sent
            .iter()
            .chain(&self.failed)
            .chain(&self.queued)
            .flat_map(|e| &e.refused)
            .collect()
    }
}

/// The entry as it will be once DATA got 250, given the RCPT replies.
fn after_success(entry: &Entry, rcpt: &[(String, RcptReply)], now: i64) -> Entry {
    let mut after = entry.clone();
    let mut deferred = Vec::new();
    let mut last_deferral = None;
    for (r, outcome) in rcpt {
        match outcome {
            RcptReply::Accepted => after.delivered.push(r.clone()),
            RcptReply::Refused(why) => after.refused.push(Refusal {
                recipient: r.clone(),
                reply: why.clone(),
            }),
            RcptReply::Deferred(why) => {
                last_deferral = Some(why.clone());
                deferred.push(r.clone());
            }
        }
    }
    after.pending = deferred;
    if after.pending.is_empty() {
        after.state = State::Sent;
        after.sent_at = Some(now);
    } else {
        after.attempts += 1;
        after.last_error = last_deferral;
        after.next_attempt = now + backoff_secs(after.attempts);
    }
    after
}

// Retention durations are written in config.toml, so they are parsed in the
// store wing; re-exported here, where `--keep-sent` and `outbox prune` read them.
pub use crate::store::account::{parse_duration, DEFAULT_KEEP_SENT};

/// Delay before retry number `attempts` (1 = after the first failure).
pub fn backoff_secs(attempts: u32) -> i64 {
    match attempts {
        0 | 1 => 60,
        2 => 300,
        3 => 900,
        4 => 3600,
        _ => 4 * 3600,
    }
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

    /// Takes the sending lock, or fails with [`Exit::TempFail`] when another
    /// process holds it.
    pub fn lock(&self) -> anyhow::Result<Lock> {
        let path = self.root.join(".lock");
        let file = fsutil::open_state_file(&path, fs::OpenOptions::new().write(true))?;
        // flock(2) (LOCK_EX | LOCK_NB) on Unix: released when the file closes.
        if file.try_lock().is_err() {
            return Err(fail(
                Exit::TempFail,
                "another sealpost process is sending from this outbox; the messages stay queued",
            ));
        }
        // Records prepared by a process killed before its DATA completed.
        for dir in ["queue", "sent"] {
            if let Ok(entries) = fs::read_dir(self.root.join(dir)) {
                for e in entries.flatten() {
                    if e.file_name().to_string_lossy().ends_with(".json.prepared") {
                        let _ = fs::remove_file(e.path());
                    }
                }
            }
        }
        Ok(Lock { _file: file })
    }

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

    fn write_state(&self, entry: &Entry) -> anyhow::Result<()> {
        let mut json = serde_json::to_vec_pretty(entry)?;
        // A text file ends with a newline (cat, diff and editors expect it).
        json.push(b'\n');
        fsutil::atomic_write(
            &self.path(entry.state, &entry.id, "json"),
            &json,
            PRIVATE_FILE,
        )
    }

    /// Queued and failed entries, oldest first. Entries already recorded as
    /// sent are cleaned out of the queue on the way.
    pub fn list(&self) -> anyhow::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for state in [State::Queued, State::Failed] {
            for entry in self.read_dir(state)? {
                if state == State::Queued && self.path(State::Sent, &entry.id, "json").exists() {
                    self.remove_files(State::Queued, &entry.id)?;
                    continue;
                }
                out.push(entry);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Records of sent entries, oldest first.
    pub fn sent(&self) -> anyhow::Result<Vec<Entry>> {
        self.read_dir(State::Sent)
    }

    fn read_dir(&self, state: State) -> anyhow::Result<Vec<Entry>> {
        let dir = self
            .path(state, "x", "json")
            .parent()
            .unwrap()
            .to_path_buf();
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let data = fs::read(e.path())?;
            let mut entry: Entry = serde_json::from_slice(&data).map_err(|err| {
                fail(
                    Exit::DataErr,
                    format!("outbox file {} is damaged: {err}", e.path().display()),
                )
            })?;
            entry.state = state;
            out.push(entry);
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The message of a queued or failed entry.
    pub fn message(&self, entry: &Entry) -> anyhow::Result<Vec<u8>> {
        let path = self.path(entry.state, &entry.id, "msg");
        fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    }

    /// Removes a queued or failed entry by id (or unique id prefix).
    pub fn drop_entry(&self, id: &str) -> anyhow::Result<Entry> {
        let matching: Vec<Entry> = self
            .list()?
            .into_iter()
            .filter(|e| e.id.starts_with(id))
            .collect();
        match matching.len() {
            0 => Err(fail(Exit::NoInput, format!("no outbox entry {id:?}"))),
            1 => {
                let e = matching.into_iter().next().unwrap();
                self.remove_files(e.state, &e.id)?;
                Ok(e)
            }
            n => Err(fail(
                Exit::Usage,
                format!("{n} outbox entries start with {id:?}; give more of the id"),
            )),
        }
    }

    fn remove_files(&self, state: State, id: &str) -> anyhow::Result<()> {
        // State first: without it the message is an ignored orphan.
        for ext in ["json", "msg"] {
            let p = self.path(state, id, ext);
            if p.exists() {
                fsutil::durable_remove(&p)?;
            }
        }
        Ok(())
    }

    /// Queued entries of `account` due at `now` (all of them with `ignore_time`).
    pub fn due(&self, account: &str, now: i64, ignore_time: bool) -> anyhow::Result<Vec<Entry>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|e| {
                e.state == State::Queued
                    && e.account == account
                    && (ignore_time || e.next_attempt <= now)
            })
            .collect())
    }

    /// Sends `entries` over `transport`, recording each outcome durably as
    /// soon as it is known. `progress` is called after each entry. The lock
    /// must be held. Stops at a lost connection, leaving the rest queued.
    pub fn deliver(
        &self,
        _lock: &Lock,
        transport: &mut dyn Transport,
        entries: Vec<Entry>,
        now: i64,
        progress: &mut dyn FnMut(&Entry),
    ) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let server = transport.server();
        let mut rest = entries.into_iter();
        for mut entry in rest.by_ref() {
            let data = self.message(&entry)?;
            entry.server = Some(server.clone());
            // The record of success is written and fsynced before DATA,
            // under a hidden name; the server's 250 only has to be followed
            // by one rename (and a directory fsync) to make it count.
            let mut prepared: Option<(PathBuf, PathBuf, Entry)> = None;
            let outcome = {
                let before = &entry;
                let mut prepare = |rcpt: &[(String, RcptReply)]| -> Result<(), String> {
                    let after = after_success(before, rcpt, now);
                    let (tmp, target) = self.prepare(&after).map_err(|e| e.to_string())?;
                    prepared = Some((tmp, target, after));
                    Ok(())
                };
                transport.send(&entry.mail_from, &entry.pending, &data, &mut prepare)
            };
            if !matches!(outcome, Ok(SendOutcome::Accepted { .. })) {
                if let Some((tmp, _, _)) = prepared.take() {
                    let _ = fs::remove_file(tmp);
                }
            }
            match outcome {
                Ok(SendOutcome::Accepted { reply, .. }) => {
                    let (tmp, target, mut after) = prepared.take().ok_or_else(|| {
                        fail(
                            Exit::Software,
                            "the transport skipped the record of success",
                        )
                    })?;
                    // The commit point.
                    fs::rename(&tmp, &target)
                        .and_then(|_| fsutil::sync_dir(target.parent().unwrap_or(Path::new("."))))
                        .with_context(|| format!("cannot record {}", target.display()))?;
                    after.server_reply = Some(reply);
                    if after.state == State::Sent {
                        self.remove_files(State::Queued, &after.id)?;
                        report.sent.push(after.clone());
                    } else {
                        report.queued.push(after.clone());
                    }
                    entry = after;
                }
                Ok(SendOutcome::NotAccepted {
                    rcpt,
                    reply,
                    permanent,
                }) => {
                    let mut still = Vec::new();
                    for (r, outcome) in &rcpt {
                        match outcome {
                            RcptReply::Refused(why) => entry.refused.push(Refusal {
                                recipient: r.clone(),
                                reply: why.clone(),
                            }),
                            _ => still.push(r.clone()),
                        }
                    }
                    if rcpt.is_empty() {
                        still = entry.pending.clone();
                    }
                    if permanent {
                        for r in still {
                            entry.refused.push(Refusal {
                                recipient: r,
                                reply: reply.clone(),
                            });
                        }
                        entry.pending.clear();
                    } else {
                        entry.pending = still;
                    }
                    entry.server_reply = Some(reply.clone());
                    if entry.pending.is_empty() {
                        // Refused for good: move aside with the message.
                        entry.state = State::Failed;
                        fs::rename(
                            self.path(State::Queued, &entry.id, "msg"),
                            self.path(State::Failed, &entry.id, "msg"),
                        )
                        .context("cannot move a refused message aside")?;
                        self.write_state(&entry)?;
                        self.remove_files(State::Queued, &entry.id)?;
                        report.failed.push(entry.clone());
                    } else {
                        entry.attempts += 1;
                        entry.last_error = Some(reply);
                        entry.next_attempt = now + backoff_secs(entry.attempts);
                        self.write_state(&entry)?;
                        report.queued.push(entry.clone());
                    }
                }
                Err(ConnectionLost(why)) => {
                    entry.attempts += 1;
                    entry.last_error = Some(format!("connection lost: {why}"));
                    entry.next_attempt = now + backoff_secs(entry.attempts);
                    self.write_state(&entry)?;
                    report.queued.push(entry.clone());
                    report.connection_lost = Some(why);
                    progress(&entry);
                    break;
                }
            }
            progress(&entry);
        }
        let reason = report.connection_lost.clone();
        for mut entry in rest {
            if let Some(why) = &reason {
                entry.last_error = Some(format!("not tried: connection lost: {why}"));
                self.write_state(&entry)?;
            }
            report.queued.push(entry);
        }
        if report.connection_lost.is_none() {
            transport.quit();
        }
        Ok(report)
    }

    /// Writes `entry`'s state, fsynced, under a hidden name next to where it
    /// belongs; returns (hidden name, final name).
    fn prepare(&self, entry: &Entry) -> anyhow::Result<(PathBuf, PathBuf)> {
        use std::io::Write as _;
        let target = self.path(entry.state, &entry.id, "json");
        // A predictable name: created afresh, never written through a link.
        let tmp = target.with_file_name(format!(".{}.json.prepared", entry.id));
        let json = serde_json::to_vec_pretty(entry)?;
        let mut f = fsutil::create_replacing(&tmp, PRIVATE_FILE)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(&json)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok((tmp, target))
    }

    /// Removes the records of sent entries that were sent more than
    /// `older_than` seconds before `now` and have nothing left in the queue
    /// (see "Pruning" above); returns their ids. The lock must be held.
    pub fn prune(&self, _lock: &Lock, now: i64, older_than: i64) -> anyhow::Result<Vec<String>> {
        let mut pruned = Vec::new();
        for entry in self.read_dir(State::Sent)? {
            let record = self.path(State::Sent, &entry.id, "json");
            let sent_at = match entry.sent_at {
                Some(t) => t,
                None => fs::metadata(&record)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(now),
            };
            if now.saturating_sub(sent_at) < older_than {
                continue;
            }
            if ["json", "msg"]
                .iter()
                .any(|ext| self.path(State::Queued, &entry.id, ext).exists())
            {
                continue;
            }
            fsutil::durable_remove(&record)?;
            pruned.push(entry.id);
        }
        Ok(pruned)
    }

    /// Records a failure to connect on every given entry (they stay queued).
    pub fn record_failure(&self, entries: &mut [Entry], why: &str, now: i64) -> anyhow::Result<()> {
        for entry in entries {
            entry.attempts += 1;
            entry.last_error = Some(why.to_string());
            entry.next_attempt = now + backoff_secs(entry.attempts);
            self.write_state(entry)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A transport that answers from a script and records what was sent.
    struct Fake {
        script: VecDeque<Result<SendOutcome, ConnectionLost>>,
        sent: Vec<(String, Vec<String>)>,
        quit: bool,
    }

    impl Transport for Fake {
        fn send(
            &mut self,
            from: &str,
            rcpt: &[String],
            _data: &[u8],
            before_data: &mut crate::mail::smtp::BeforeData<'_>,
        ) -> Result<SendOutcome, ConnectionLost> {
            self.sent.push((from.to_string(), rcpt.to_vec()));
            let mut r = self.script.pop_front().expect("unscripted send");
            if let Ok(SendOutcome::Accepted { rcpt: got, .. }) = &mut r {
                if got.is_empty() {
                    *got = rcpt
                        .iter()
                        .map(|r| (r.clone(), RcptReply::Accepted))
                        .collect();
                }
            }
            // Like the real transport: the hook runs once a recipient is accepted.
            let replies = match &r {
                Ok(SendOutcome::Accepted { rcpt, .. })
                | Ok(SendOutcome::NotAccepted { rcpt, .. }) => rcpt.clone(),
                Err(_) => Vec::new(),
            };
            if replies.iter().any(|(_, x)| *x == RcptReply::Accepted) {
                before_data(&replies).map_err(ConnectionLost)?;
            }
            r
        }
        fn quit(&mut self) {
            self.quit = true;
        }
        fn server(&self) -> String {
            "smtps://fake:465".into()
        }
    }

    fn fake(script: Vec<Result<SendOutcome, ConnectionLost>>) -> Fake {
        Fake {
            script: script.into(),
            sent: Vec::new(),
            quit: false,
        }
    }

    fn ok() -> Result<SendOutcome, ConnectionLost> {
        Ok(SendOutcome::Accepted {
            rcpt: Vec::new(),
            reply: "250 2.0.0 Ok: queued".into(),
        })
    }

    fn tx(rcpt: &[&str]) -> Transaction {
        Transaction {
            mail_from: "alice@example.org".into(),
            rcpt_to: rcpt.iter().map(|s| s.to_string()).collect(),
            data: b"Subject: x\r\n\r\nhi\r\n".to_vec(),
        }
    }

    fn setup() -> (tempfile::TempDir, Outbox) {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(&dir.path().join("outbox")).unwrap();
        (dir, ob)
    }

    #[test]
    fn accepted_entries_leave_the_queue_and_are_recorded() {
        let (_d, ob) = setup();
        let queued = ob
            .enqueue("a", &[tx(&["b@x.org"]), tx(&["c@x.org"])], 100)
            .unwrap();
        assert_eq!(ob.list().unwrap().len(), 2);
        let lock = ob.lock().unwrap();
        let mut t = fake(vec![ok(), ok()]);
        let mut seen = 0;
        let report = ob
            .deliver(&lock, &mut t, queued, 100, &mut |_| seen += 1)
            .unwrap();
        assert_eq!((report.sent.len(), report.queued.len(), seen), (2, 0, 2));
        assert!(t.quit);
        assert!(ob.list().unwrap().is_empty());
        let sent = ob.sent().unwrap();
        assert_eq!(sent[0].delivered, vec!["b@x.org"]);
        assert_eq!(fs::read_dir(ob.root().join("queue")).unwrap().count(), 0);
    }

    #[test]
    fn partial_rcpt_sends_accepted_once_and_retries_only_deferred() {
        let (_d, ob) = setup();
        let queued = ob
            .enqueue("a", &[tx(&["ok@x.org", "no@x.org", "later@x.org"])], 100)
            .unwrap();
        let lock = ob.lock().unwrap();
        let mut t = fake(vec![Ok(SendOutcome::Accepted {
            rcpt: vec![
                ("ok@x.org".into(), RcptReply::Accepted),
                ("no@x.org".into(), RcptReply::Refused("550 no".into())),
                (
                    "later@x.org".into(),
                    RcptReply::Deferred("450 later".into()),
                ),
            ],
            reply: "250 ok".into(),
        })]);
        let report = ob.deliver(&lock, &mut t, queued, 100, &mut |_| {}).unwrap();
        assert_eq!(report.queued.len(), 1);
        assert_eq!(report.refusals().len(), 1);
        let e = &ob.list().unwrap()[0];
        assert_eq!(e.pending, vec!["later@x.org"]);
        assert_eq!(e.delivered, vec!["ok@x.org"]);
        assert_eq!(e.next_attempt, 160);
        assert_eq!(e.last_error.as_deref(), Some("450 later"));
        // Not due yet; then due, and only the deferred recipient is sent to.
        assert!(ob.due("a", 159, false).unwrap().is_empty());
        let due = ob.due("a", 160, false).unwrap();
        let mut t = fake(vec![ok()]);
        let report = ob.deliver(&lock, &mut t, due, 200, &mut |_| {}).unwrap();
        assert_eq!(t.sent[0].1, vec!["later@x.org"]);
        assert_eq!(report.sent.len(), 1);
        let rec = &ob.sent().unwrap()[0];
        assert_eq!(rec.delivered, vec!["ok@x.org", "later@x.org"]);
        assert_eq!(rec.refused[0].recipient, "no@x.org");
    }

    /// Three one-recipient entries queued at time 100.
    fn three(ob: &Outbox) -> Vec<Entry> {
        let txs = [tx(&["b@x.org"]), tx(&["c@x.org"]), tx(&["d@x.org"])];
        ob.enqueue("a", &txs, 100).unwrap()
    }

    #[test]
    fn lost_connection_keeps_everything_queued() {
        let (_d, ob) = setup();
        let queued = three(&ob);
        let lock = ob.lock().unwrap();
        let mut t = fake(vec![ok(), Err(ConnectionLost("reset".into()))]);
        let report = ob.deliver(&lock, &mut t, queued, 100, &mut |_| {}).unwrap();
        assert_eq!((report.sent.len(), report.queued.len()), (1, 2));
        assert!(!t.quit);
        let left = ob.list().unwrap();
        assert_eq!(left.len(), 2);
        assert_eq!(left[0].attempts, 1);
        assert!(left[1].last_error.as_deref().unwrap().contains("not tried"));
        // A second process cannot send while the lock is held.
        assert_eq!(
            crate::error::classify(&ob.lock().err().unwrap()).0,
            Exit::TempFail
        );
    }

    #[test]
    fn permanent_refusal_moves_aside_and_drop_removes() {
        let (_d, ob) = setup();
        let queued = ob
            .enqueue("a", &[tx(&["b@x.org"]), tx(&["c@x.org"])], 100)
            .unwrap();
        let lock = ob.lock().unwrap();
        let mut t = fake(vec![
            Ok(SendOutcome::NotAccepted {
                rcpt: vec![("b@x.org".into(), RcptReply::Accepted)],
                reply: "DATA: 554 no".into(),
                permanent: true,
            }),
            Ok(SendOutcome::NotAccepted {
                rcpt: vec![],
                reply: "MAIL FROM: 421 busy".into(),
                permanent: false,
            }),
        ]);
        let report = ob.deliver(&lock, &mut t, queued, 100, &mut |_| {}).unwrap();
        assert_eq!((report.failed.len(), report.queued.len()), (1, 1));
        let all = ob.list().unwrap();
        assert_eq!(all[0].state, State::Failed);
        assert_eq!(all[0].refused[0].reply, "DATA: 554 no");
        assert_eq!(ob.message(&all[0]).unwrap(), tx(&[]).data);
        assert_eq!(all[1].pending, vec!["c@x.org"]);
        // The record prepared for the refused DATA was removed.
        for dir in ["queue", "sent", "failed"] {
            for e in fs::read_dir(ob.root().join(dir)).unwrap() {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                assert!(!name.ends_with(".prepared"), "{name}");
            }
        }
        ob.drop_entry(&all[0].id).unwrap();
        assert!(ob.drop_entry(&all[0].id).is_err());
        assert_eq!(ob.list().unwrap().len(), 1);
    }

    #[test]
    fn prune_removes_old_records_but_never_one_still_queued() {
        let (_d, ob) = setup();
        let queued = three(&ob);
        let lock = ob.lock().unwrap();
        let mut t = fake(vec![ok(), ok()]);
        let report = ob
            .deliver(&lock, &mut t, queued[..2].to_vec(), 1000, &mut |_| {})
            .unwrap();
        assert_eq!(report.sent[0].sent_at, Some(1000));
        // A third entry recorded as sent whose queue files a killed process
        // left behind: its record is what keeps it from going out again.
        let mut left = queued[2].clone();
        left.state = State::Sent;
        left.sent_at = Some(500);
        ob.write_state(&left).unwrap();
        assert!(ob.path(State::Queued, &left.id, "msg").exists());
        // Too young: nothing goes.
        assert!(ob.prune(&lock, 1000 + 99, 100).unwrap().is_empty());
        let pruned = ob.prune(&lock, 1000 + 100, 100).unwrap();
        assert_eq!(pruned, vec![queued[0].id.clone(), queued[1].id.clone()]);
        assert_eq!(ob.sent().unwrap().len(), 1);
        // Once list() has cleaned its queue files, it may go too.
        assert!(ob.list().unwrap().is_empty());
        assert_eq!(ob.prune(&lock, 1100, 100).unwrap(), vec![left.id.clone()]);
        assert!(ob.sent().unwrap().is_empty());
        assert!(ob.list().unwrap().is_empty(), "nothing to send again");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86400);
        assert_eq!(parse_duration(" 12h").unwrap(), 43200);
        assert_eq!(parse_duration("2w").unwrap(), 14 * 86400);
        assert_eq!(parse_duration("0").unwrap(), 0);
        for bad in ["", "d", "10", "-1d", "1.5d", "3y", "99999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn killed_between_record_and_removal_counts_as_sent() {
        let (_d, ob) = setup();
        let mut e = ob.enqueue("a", &[tx(&["b@x.org"])], 100).unwrap().remove(0);
        e.state = State::Sent;
        ob.write_state(&e).unwrap();
        assert!(ob.list().unwrap().is_empty());
        assert!(!ob.path(State::Queued, &e.id, "json").exists());
    }

    /// Issue 11 item 5: the prepared record has a predictable name (the
    /// entry's id), and was written with create-and-truncate through a link.
    #[test]
    fn a_link_at_the_prepared_record_is_not_written_through() {
        let (d, ob) = setup();
        let queued = ob.enqueue("a", &[tx(&["b@x.org"])], 100).unwrap();
        let lock = ob.lock().unwrap();
        let victim = d.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let prepared = ob
            .root()
            .join("sent")
            .join(format!(".{}.json.prepared", queued[0].id));
        std::os::unix::fs::symlink(&victim, &prepared).unwrap();
        let mut t = fake(vec![ok()]);
        let report = ob.deliver(&lock, &mut t, queued, 100, &mut |_| {}).unwrap();
        assert_eq!(report.sent.len(), 1);
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(ob.sent().unwrap().len(), 1);
        assert!(!prepared.exists());
    }

    #[test]
    fn one_sender_at_a_time_and_the_lock_ends_with_its_holder() {
        let (_d, ob) = setup();
        let held = ob.lock().unwrap();
        let err = ob.lock().err().expect("two processes could send at once");
        assert_eq!(crate::error::classify(&err).0, Exit::TempFail);
        drop(held);
        ob.lock().expect("the lock outlived its holder");
    }

    #[test]
    fn a_link_at_the_lock_is_refused_and_not_followed() {
        let (d, ob) = setup();
        let victim = d.path().join("victim");
        std::os::unix::fs::symlink(&victim, ob.root().join(".lock")).unwrap();
        let err = ob.lock().err().expect("a planted lock link was followed");
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
        assert!(!victim.exists(), "the lock link created its target");
    }

    #[test]
    fn an_outbox_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, ob) = setup();
        for sub in ["", "queue", "sent", "failed"] {
            let dir = ob.root().join(sub);
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
            let err = Outbox::open(ob.root()).unwrap_err();
            assert_eq!(crate::error::classify(&err).0, Exit::NoPerm, "{sub}");
            assert!(err.to_string().contains("outbox"), "{err}");
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        }
        Outbox::open(ob.root()).unwrap();
    }
}
