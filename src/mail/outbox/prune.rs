//! Pruning sent records (see "Pruning" in the module above): only under the
//! lock, and only once nothing of the entry is left in the queue.

use std::fs;

use super::{Lock, Outbox, State};
use crate::store::fsutil;

impl Outbox {
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
}
