//! The sending lock: one process at a time sends from an outbox. Taking it
//! also removes the records a process killed before its DATA completed had
//! prepared (see "The window" in the module above).

use std::fs;

use super::Outbox;
use crate::error::{fail, Exit};
use crate::store::fsutil;

/// Held while a process sends from the outbox; released on drop.
pub struct Lock {
    _file: fs::File,
}

impl Outbox {
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
}
