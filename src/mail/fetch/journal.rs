//! The journal, `.sealpost-fetch` in the Maildir: one JSON object per line,
//! each line appended with an fsync once what it records is durable; a torn
//! last line (crash mid-write) is ignored. [`Journal::compact`] rewrites it
//! atomically as the current [`State`].

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::error::{fail, Exit};
use crate::store::fsutil::{self, PRIVATE_FILE};

pub(super) const JOURNAL: &str = ".sealpost-fetch";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "t", rename_all = "lowercase")]
pub(super) enum Line {
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

    pub(super) fn append(&mut self, line: Line) -> anyhow::Result<()> {
        self.append_all(vec![line])
    }

    /// Appends lines with one write and one fsync.
    pub(super) fn append_all(&mut self, lines: Vec<Line>) -> anyhow::Result<()> {
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
