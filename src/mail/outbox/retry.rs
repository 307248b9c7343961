//! When a queued entry is tried again, and failures to connect recorded on
//! the entries that stay queued.

use super::{Entry, Outbox};

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
