//! One fetch per Maildir at a time: two runs interleaving their journal
//! lines could record a message neither made durable.

use std::fs;
use std::path::Path;

use crate::error::{fail, Exit};
use crate::store::fsutil;

pub(super) const LOCK: &str = ".sealpost-fetch.lock";

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
        // flock(2) (LOCK_EX | LOCK_NB) on Unix: released when the file closes.
        if file.try_lock().is_ok() {
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
