//! What is in the outbox: queued and failed entries, sent records, the
//! entries due for sending, and dropping one by id.

use super::{Entry, Outbox, State};
use crate::error::{fail, Exit};

impl Outbox {
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
}
