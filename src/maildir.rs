//! Writing messages into a Maildir durably.
//!
//! A message is written to `tmp/NAME`, fsynced, renamed to `new/NAME` and
//! the `new/` directory fsynced: after [`Maildir::deliver`] returns the
//! message survives a crash. Names are chosen by the caller and must be
//! stable for a given server message, so that delivering again after an
//! interruption finds the first copy ([`Maildir::contains`]) instead of
//! making a second one. A name never contains `/` or `:`; a mail reader
//! that moves a message to `cur/` appends `:2,FLAGS`, which is ignored when
//! looking names up.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::error::{fail, Exit};
use crate::fsutil;

/// A Maildir directory (tmp/, new/, cur/).
#[derive(Debug)]
pub struct Maildir {
    root: PathBuf,
    names: HashSet<String>,
}

impl Maildir {
    /// Opens a Maildir, creating it (0700) if needed, and reads the names it holds.
    pub fn open(root: &Path) -> anyhow::Result<Maildir> {
        for sub in ["", "tmp", "new", "cur"] {
            fsutil::create_private_dir(&root.join(sub)).map_err(|e| {
                fail(
                    Exit::CantCreate,
                    format!("cannot create Maildir: {}", crate::error::single_line(&e)),
                )
            })?;
        }
        let mut names = HashSet::new();
        for sub in ["new", "cur"] {
            let dir = root.join(sub);
            for e in fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
                let name = e?.file_name().to_string_lossy().into_owned();
                let base = name.split(':').next().unwrap_or_default().to_string();
                names.insert(base);
            }
        }
        Ok(Maildir {
            root: root.to_path_buf(),
            names,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether a message of this name is in new/ or cur/.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Number of messages in new/ and cur/ when opened, plus those delivered since.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Writes `data` as `new/NAME`, durably. Does nothing when the name is
    /// already there (a previous run delivered it and was interrupted before
    /// recording it). Returns whether a file was written.
    pub fn deliver(&mut self, name: &str, data: &[u8]) -> anyhow::Result<bool> {
        if name.is_empty() || name.contains(['/', ':']) || name.starts_with('.') {
            return Err(fail(Exit::Software, format!("bad Maildir name {name:?}")));
        }
        if self.contains(name) {
            return Ok(false);
        }
        let tmp = self.root.join("tmp").join(name);
        let new = self.root.join("new").join(name);
        let result = (|| -> std::io::Result<()> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &new)?;
            fsutil::sync_dir(&self.root.join("new"))
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(fail(
                Exit::IoErr,
                format!("cannot write {}: {e}", new.display()),
            ));
        }
        self.names.insert(name.to_string());
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_once_and_sees_messages_moved_to_cur() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("md");
        let mut md = Maildir::open(&root).unwrap();
        assert!(md.deliver("a.1", b"one").unwrap());
        assert!(!md.deliver("a.1", b"one again").unwrap());
        assert_eq!(fs::read(root.join("new/a.1")).unwrap(), b"one");
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        // A reader moves it to cur/ with flags; a new run still knows it.
        fs::rename(root.join("new/a.1"), root.join("cur/a.1:2,S")).unwrap();
        let mut md = Maildir::open(&root).unwrap();
        assert!(md.contains("a.1"));
        assert!(!md.deliver("a.1", b"x").unwrap());
        assert_eq!(md.len(), 1);
        assert!(md.deliver("a/b", b"x").is_err());
    }
}
