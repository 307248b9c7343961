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

pub mod imap;
pub mod pop3;
pub mod spool;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::error::{fail, Exit};
use crate::mail::maildir::Maildir;
use crate::store::fsutil::{self, PRIVATE_FILE};
use spool::{Spool, Spooled};

const JOURNAL: &str = ".sealpost-fetch";
const LOCK: &str = ".sealpost-fetch.lock";

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
    /// `max` bytes is refused with [`Exit::DataErr`] as soon as that shows
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "t", rename_all = "lowercase")]
enum Line {
    /// The IMAP UIDVALIDITY the following keys belong to.
    Validity { v: Option<u32> },
    /// A message now durable in the Maildir.
    Got { k: String, h: String },
    /// A message deleted from the server (no longer listed).
    Gone { k: String },
}

/// What has been fetched from one mailbox.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct State {
    pub validity: Option<u32>,
    /// Server key → SHA-256 (hex) of the message, for keys of `validity`.
    pub fetched: BTreeMap<String, String>,
    /// Hashes of messages fetched under an earlier UIDVALIDITY.
    pub old_hashes: HashSet<String>,
}

impl State {
    fn apply(&mut self, line: Line) {
        match line {
            Line::Validity { v } => {
                if v != self.validity {
                    self.old_hashes
                        .extend(std::mem::take(&mut self.fetched).into_values());
                    self.validity = v;
                }
            }
            Line::Got { k, h } => {
                self.fetched.insert(k, h);
            }
            Line::Gone { k } => {
                // Its content stays known: a server that renumbers its
                // messages (new UIDs, with or without a new UIDVALIDITY)
                // must not make a message already on disk count as new.
                if let Some(h) = self.fetched.remove(&k) {
                    self.old_hashes.insert(h);
                }
            }
        }
    }
}

/// The journal of one Maildir, open for appending.
pub struct Journal {
    path: PathBuf,
    file: fs::File,
    pub state: State,
}

impl Journal {
    /// Reads the journal in `maildir`, creating an empty one if none
    /// (never through a link: see [`fsutil::open_state_file`]).
    pub fn open(maildir: &Path) -> anyhow::Result<Journal> {
        use std::io::Read as _;
        let path = maildir.join(JOURNAL);
        let mut state = State::default();
        // Opened (or created) once, without following a link, and read
        // from the start: the handle we append to is the file we read.
        let mut file =
            fsutil::open_state_file(&path, fs::OpenOptions::new().read(true).append(true))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        let last = lines.len().saturating_sub(1);
        for (i, l) in lines.iter().enumerate() {
            if l.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Line>(l) {
                Ok(line) => state.apply(line),
                // A torn last line: the write it belongs to never completed.
                Err(_) if i == last => {}
                Err(e) => {
                    return Err(fail(
                        Exit::DataErr,
                        format!("{} line {} is damaged: {e}", path.display(), i + 1),
                    ))
                }
            }
        }
        let mut journal = Journal { file, path, state };
        // Start from a compact, well-formed file (drops a torn last line).
        journal.compact()?;
        Ok(journal)
    }

    fn append_handle(path: &Path) -> anyhow::Result<fs::File> {
        fsutil::open_state_file(path, fs::OpenOptions::new().append(true))
    }

    fn append(&mut self, line: Line) -> anyhow::Result<()> {
        self.append_all(vec![line])
    }

    /// Appends lines with one write and one fsync.
    fn append_all(&mut self, lines: Vec<Line>) -> anyhow::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut text = Vec::new();
        for line in &lines {
            text.extend(serde_json::to_vec(line)?);
            text.push(b'\n');
        }
        self.file
            .write_all(&text)
            .and_then(|_| self.file.sync_data())
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        for line in lines {
            self.state.apply(line);
        }
        Ok(())
    }

    /// Rewrites the journal as the current state, atomically.
    pub fn compact(&mut self) -> anyhow::Result<()> {
        let mut text = Vec::new();
        for line in self.lines() {
            text.extend(serde_json::to_vec(&line)?);
            text.push(b'\n');
        }
        fsutil::atomic_write(&self.path, &text, PRIVATE_FILE)?;
        self.file = Self::append_handle(&self.path)?;
        Ok(())
    }

    fn lines(&self) -> Vec<Line> {
        let mut out = Vec::new();
        if !self.state.old_hashes.is_empty() {
            // Old hashes survive as the keys of a past validity.
            out.push(Line::Validity { v: Some(0) });
            let mut hashes: Vec<&String> = self.state.old_hashes.iter().collect();
            hashes.sort();
            for (i, h) in hashes.into_iter().enumerate() {
                out.push(Line::Got {
                    k: format!("old-{i}"),
                    h: h.clone(),
                });
            }
        }
        out.push(Line::Validity {
            v: self.state.validity,
        });
        for (k, h) in &self.state.fetched {
            out.push(Line::Got {
                k: k.clone(),
                h: h.clone(),
            });
        }
        out
    }
}

/// An exclusive lock on a Maildir's fetch state, so two runs never interleave.
pub struct FetchLock {
    _file: fs::File,
}

pub fn lock(maildir: &Path) -> anyhow::Result<FetchLock> {
    fsutil::private_dir(maildir, "Maildir")?;
    let path = maildir.join(LOCK);
    let file = fsutil::open_state_file(&path, fs::OpenOptions::new().write(true))?;
    // A lock can outlive its holder by a moment: a child that another thread
    // of this process forks (`--exec`) shares the descriptor until it execs.
    // So wait briefly before concluding another sealpost holds it.
    for attempt in 0..50 {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(FetchLock { _file: file });
        }
        if attempt < 49 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    Err(fail(
        Exit::TempFail,
        format!("another sealpost is fetching into {}", maildir.display()),
    ))
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Messages written to the Maildir.
    pub new: usize,
    /// Messages found already in the Maildir (an interrupted run, or a resync).
    pub already_local: usize,
    /// Messages deleted from the server.
    pub deleted: usize,
    /// Messages on the server after the run.
    pub on_server: usize,
    /// Whether UIDVALIDITY changed since the last run.
    pub resynced: bool,
    /// Bytes read and written on the connection (after TLS decryption, before
    /// decompression): what COMPRESS saves shows here.
    pub wire_bytes: u64,
    /// The protocol bytes uncompressed; equal to `wire_bytes` without COMPRESS.
    pub uncompressed_bytes: u64,
    /// Whether IMAP COMPRESS=DEFLATE was in use.
    pub compressed: bool,
    /// Maildir files stored as received because `--exec` failed on them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exec_failed: Vec<ExecFailure>,
    /// Messages not fetched because the server lists them as larger than
    /// the maximum message size (they stay on the server, even with --delete).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub too_large: Vec<TooLarge>,
}

/// A message left on the server because it is larger than the maximum
/// message size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TooLarge {
    /// IMAP UID or POP3 UIDL.
    pub key: String,
    /// Its size as the server listed it.
    pub size: u64,
}

/// A message `--exec` failed on: stored unchanged under `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecFailure {
    pub file: String,
    pub reason: String,
}

/// Pipes `input` to `sh -c cmd` and writes the command's standard output to
/// `out`; a non-zero exit, a signal, empty output, or more than `max` bytes
/// of output is an error. The command's standard error goes to ours.
pub fn run_exec(
    cmd: &str,
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    max: u64,
) -> anyhow::Result<()> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run sh -c {cmd:?}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let copied = std::thread::scope(|scope| {
        // Written from another thread so a command that writes before it has
        // read everything cannot deadlock; a command that stops reading
        // early (broken pipe) is judged by its exit status.
        scope.spawn(move || {
            let _ = std::io::copy(input, &mut stdin);
        });
        // One byte more than allowed tells an overlong output from a full one.
        let copied = std::io::copy(&mut stdout.take(max.saturating_add(1)), out);
        if matches!(copied, Ok(n) if n > max) {
            // Stop it rather than wait for output nobody reads.
            let _ = child.kill();
        }
        copied
    });
    let status = child.wait().context("waiting for the --exec command")?;
    let copied = copied.context("reading the --exec command's output")?;
    if copied > max {
        anyhow::bail!("`{cmd}` wrote more than the maximum message size of {max} bytes");
    }
    if !status.success() {
        anyhow::bail!("`{cmd}` failed ({status})");
    }
    if copied == 0 {
        anyhow::bail!("`{cmd}` wrote nothing");
    }
    Ok(())
}

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

/// Fetched messages not yet durable: delivered together, then recorded
/// together, so that a thousand messages cost a few dozen directory and
/// journal fsyncs instead of two thousand. A message is recorded only after
/// the batch holding it is on disk; a run killed in between finds the files
/// by name and records them then.
#[derive(Default)]
struct Batch {
    /// (key, hash, Maildir name, message unless it is already local).
    messages: Vec<(String, String, String, Option<Spooled>)>,
    bytes: u64,
}

/// A batch is written once it holds this many messages or bytes.
const BATCH_MESSAGES: usize = 64;
const BATCH_BYTES: u64 = 8 << 20;

impl Batch {
    fn push(&mut self, key: String, hash: String, name: String, data: Option<(Spooled, u64)>) {
        let data = data.map(|(d, len)| {
            self.bytes += len;
            d
        });
        self.messages.push((key, hash, name, data));
    }

    fn is_full(&self) -> bool {
        self.messages.len() >= BATCH_MESSAGES || self.bytes >= BATCH_BYTES
    }

    fn commit(
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

// The default is config.toml's (`max_message_size`), so it lives in the store
// wing with the rest of the account settings.
pub use crate::store::account::DEFAULT_MAX_MESSAGE_SIZE;

/// Brings `maildir` up to date with `remote`; see the module documentation.
/// `progress` is called after each message with (done, total).
/// A message listed as larger than `max_message_size` bytes is not fetched
/// (see [`Summary::too_large`]); one that turns out larger while it arrives
/// ends the run with [`Exit::DataErr`]. Either way at most [`spool::SPILL`]
/// bytes of a message are held in memory.
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

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = DEFAULT_MAX_MESSAGE_SIZE;

    /// An in-memory server.
    struct Fake {
        validity: Option<u32>,
        messages: Vec<(String, Vec<u8>)>,
        fail_fetch_after: Option<usize>,
        fetched: usize,
        deleted: Vec<String>,
        commit_delete: bool,
    }

    impl Remote for Fake {
        fn list(&mut self) -> anyhow::Result<Listing> {
            Ok(Listing {
                validity: self.validity,
                messages: self
                    .messages
                    .iter()
                    .map(|(k, d)| RemoteMessage {
                        key: k.clone(),
                        size: d.len() as u64,
                    })
                    .collect(),
            })
        }
        fn fetch(&mut self, key: &str, out: &mut dyn Write, max: u64) -> anyhow::Result<()> {
            if Some(self.fetched) == self.fail_fetch_after {
                return Err(fail(Exit::TempFail, "connection lost"));
            }
            self.fetched += 1;
            let data = &self.messages.iter().find(|(k, _)| k == key).unwrap().1;
            if data.len() as u64 > max {
                return Err(fail(Exit::DataErr, "too large"));
            }
            out.write_all(data)?;
            Ok(())
        }
        fn delete(&mut self, keys: &[String]) -> anyhow::Result<()> {
            if !self.commit_delete {
                return Err(fail(Exit::TempFail, "connection lost before QUIT"));
            }
            self.deleted.extend(keys.iter().cloned());
            self.messages.retain(|(k, _)| !keys.contains(k));
            Ok(())
        }
        fn finish(&mut self) -> anyhow::Result<()> {
            Ok(())
        }
    }

    fn server(validity: Option<u32>, n: usize) -> Fake {
        Fake {
            validity,
            messages: (1..=n)
                .map(|i| {
                    (
                        i.to_string(),
                        format!("Subject: {i}\r\n\r\nbody {i}\r\n").into_bytes(),
                    )
                })
                .collect(),
            fail_fetch_after: None,
            fetched: 0,
            deleted: Vec::new(),
            commit_delete: true,
        }
    }

    fn count(md: &Path) -> usize {
        fs::read_dir(md.join("new")).unwrap().count()
            + fs::read_dir(md.join("cur")).unwrap().count()
    }

    #[test]
    fn interrupted_runs_resume_without_loss_or_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("md");
        let mut s = server(Some(7), 5);
        s.fail_fetch_after = Some(2);
        assert!(sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).is_err());
        assert_eq!(count(&md), 2);
        // Simulate a kill after the rename but before the journal line: remove it.
        let journal = fs::read_to_string(md.join(JOURNAL)).unwrap();
        let trimmed: Vec<&str> = journal
            .lines()
            .filter(|l| !l.contains("\"k\":\"2\""))
            .collect();
        fs::write(
            md.join(JOURNAL),
            trimmed.join("\n") + "\n{\"t\":\"got\",\"k\"",
        )
        .unwrap();
        s.fail_fetch_after = None;
        let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
        assert_eq!((sum.new, sum.already_local), (3, 1));
        assert_eq!(count(&md), 5);
        let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
        assert_eq!((sum.new, sum.already_local), (0, 0));
    }

    #[test]
    fn uidvalidity_change_resyncs_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("md");
        let mut s = server(Some(1), 3);
        sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
        // The server renumbers everything and gets one new message.
        s.validity = Some(2);
        for (k, _) in s.messages.iter_mut() {
            *k = format!("{}", k.parse::<u32>().unwrap() + 100);
        }
        s.messages
            .push(("200".into(), b"Subject: new\r\n\r\nnew\r\n".to_vec()));
        let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
        assert!(sum.resynced);
        assert_eq!((sum.new, sum.already_local), (1, 3));
        assert_eq!(count(&md), 4);
        // The old hashes survive compaction.
        s.validity = Some(3);
        let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
        assert_eq!((sum.new, sum.already_local), (0, 4));
    }

    /// Regression (seen with Dovecot whose UID list was lost while a process
    /// held the mailbox): UIDs renumbered *without* a new UIDVALIDITY, then a
    /// real UIDVALIDITY change; no message may be fetched twice.
    #[test]
    fn renumbering_without_new_uidvalidity_duplicates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("md");
        let mut s = server(Some(1), 2);
        sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
        for (k, _) in s.messages.iter_mut() {
            *k = format!("{}", k.parse::<u32>().unwrap() + 10);
        }
        s.messages
            .push(("13".into(), b"Subject: 3\r\n\r\nthree\r\n".to_vec()));
        let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
        assert_eq!((sum.new, sum.already_local), (1, 2));
        s.validity = Some(2);
        for (k, _) in s.messages.iter_mut() {
            *k = format!("{}", k.parse::<u32>().unwrap() + 10);
        }
        s.messages
            .push(("30".into(), b"Subject: 4\r\n\r\nfour\r\n".to_vec()));
        let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
        assert!(sum.resynced);
        assert_eq!((sum.new, sum.already_local), (1, 3));
        assert_eq!(count(&md), 4);
    }

    #[test]
    fn delete_only_what_is_local_and_finish_after_a_drop() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("md");
        let mut s = server(None, 3);
        s.commit_delete = false;
        assert!(sync("a", &mut s, &md, true, None, MAX, &mut |_, _| {}).is_err());
        assert_eq!(count(&md), 3);
        assert_eq!(s.messages.len(), 3, "nothing deleted before the commit");
        s.commit_delete = true;
        s.messages
            .push(("4".into(), b"Subject: 4\r\n\r\nfour\r\n".to_vec()));
        s.fail_fetch_after = Some(s.fetched);
        // Message 4 cannot be fetched: the run fails before deleting anything.
        assert!(sync("a", &mut s, &md, true, None, MAX, &mut |_, _| {}).is_err());
        assert_eq!(s.messages.len(), 4);
        s.fail_fetch_after = None;
        let sum = sync("a", &mut s, &md, true, None, MAX, &mut |_, _| {}).unwrap();
        assert_eq!((sum.new, sum.deleted, sum.on_server), (1, 4, 0));
        assert!(s.messages.is_empty());
        assert_eq!(count(&md), 4);
        assert!(Journal::open(&md).unwrap().state.fetched.is_empty());
    }

    fn contents(md: &Path) -> Vec<Vec<u8>> {
        let mut names: Vec<_> = fs::read_dir(md.join("new"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names.into_iter().map(|p| fs::read(p).unwrap()).collect()
    }

    #[test]
    fn exec_output_is_stored_and_a_failure_keeps_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("md");
        let mut s = server(Some(1), 2);
        let sum = sync(
            "a",
            &mut s,
            &md,
            false,
            Some("tr a-z A-Z"),
            MAX,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(sum.new, 2);
        assert!(sum.exec_failed.is_empty());
        assert_eq!(contents(&md)[0], b"SUBJECT: 1\r\n\r\nBODY 1\r\n");
        s.messages
            .push(("3".into(), b"Subject: 3\r\n\r\nthree\r\n".to_vec()));
        let sum = sync(
            "a",
            &mut s,
            &md,
            false,
            Some("cat >/dev/null; exit 3"),
            MAX,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(sum.new, 1);
        assert_eq!(sum.exec_failed.len(), 1);
        assert_eq!(sum.exec_failed[0].file, "sealpost.a.i1.3");
        assert!(
            sum.exec_failed[0].reason.contains("exit status: 3"),
            "{:?}",
            sum.exec_failed
        );
        assert_eq!(contents(&md)[2], b"Subject: 3\r\n\r\nthree\r\n");
        // No output counts as a failure too: nothing is stored empty.
        s.messages
            .push(("4".into(), b"Subject: 4\r\n\r\n4\r\n".to_vec()));
        let sum = sync("a", &mut s, &md, false, Some("true"), MAX, &mut |_, _| {}).unwrap();
        assert_eq!(sum.exec_failed.len(), 1);
        assert_eq!(contents(&md)[3], b"Subject: 4\r\n\r\n4\r\n");
    }

    #[test]
    fn file_names_are_stable_and_safe() {
        assert_eq!(file_name("work", Some(5), "17"), "sealpost.work.i5.17");
        assert_eq!(file_name("a.b", None, "x/y:z"), "sealpost.a_b.p.782f793a7a");
    }

    /// Issue 11 item 5: a link planted at the journal or the lock file was
    /// followed (a dangling one created its target).
    #[test]
    fn links_at_the_journal_and_the_lock_are_refused_and_not_followed() {
        for name in [JOURNAL, LOCK] {
            let dir = tempfile::tempdir().unwrap();
            let md = dir.path().join("md");
            Maildir::open(&md).unwrap();
            let victim = dir.path().join("victim");
            std::os::unix::fs::symlink(&victim, md.join(name)).unwrap();
            let mut s = server(Some(1), 2);
            let err = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap_err();
            assert_eq!(
                crate::error::classify(&err).0,
                Exit::NoPerm,
                "{name}: {err}"
            );
            assert!(!victim.exists(), "{name}: the link created its target");
            assert_eq!(count(&md), 0);
            // A link to an existing file: that file is neither read nor changed.
            fs::write(&victim, b"precious").unwrap();
            assert!(sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).is_err());
            assert_eq!(fs::read(&victim).unwrap(), b"precious");
        }
    }
}
