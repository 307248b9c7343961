//! An outbox entry and its files: `<id>.json` holds the [`Entry`] (written
//! atomically), `<id>.msg` the message, in the folder of its [`State`].

use std::fs;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::Outbox;
use crate::error::{fail, Exit};
use crate::store::fsutil::{self, PRIVATE_FILE};

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

impl Outbox {
    pub(super) fn write_state(&self, entry: &Entry) -> anyhow::Result<()> {
        let mut json = serde_json::to_vec_pretty(entry)?;
        // A text file ends with a newline (cat, diff and editors expect it).
        json.push(b'\n');
        fsutil::atomic_write(
            &self.path(entry.state, &entry.id, "json"),
            &json,
            PRIVATE_FILE,
        )
    }

    pub(super) fn read_dir(&self, state: State) -> anyhow::Result<Vec<Entry>> {
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

    pub(super) fn remove_files(&self, state: State, id: &str) -> anyhow::Result<()> {
        // State first: without it the message is an ignored orphan.
        for ext in ["json", "msg"] {
            let p = self.path(state, id, ext);
            if p.exists() {
                fsutil::durable_remove(&p)?;
            }
        }
        Ok(())
    }
}
