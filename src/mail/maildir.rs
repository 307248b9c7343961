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
//!
//! Names are predictable (they come from the server's ids), so a file in
//! `tmp/` is created with [`fsutil::create_replacing`]: a link planted at
//! the name is removed, never written through. A Maildir that another user
//! can write into is refused ([`fsutil::check_private_dir`]), and only
//! regular files in `new/` and `cur/` count as delivered, so a planted link
//! cannot make a message look fetched (and be deleted from the server).

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::error::{fail, Exit};
use crate::store::fsutil;

/// A Maildir directory (tmp/, new/, cur/).
#[derive(Debug)]
pub struct Maildir {
    root: PathBuf,
    names: HashSet<String>,
}

impl Maildir {
    /// Opens a Maildir, creating it (0700) if needed, and reads the names it
    /// holds. Refuses one that another user can write into.
    pub fn open(root: &Path) -> anyhow::Result<Maildir> {
        for sub in ["", "tmp", "new", "cur"] {
            let dir = root.join(sub);
            fsutil::create_private_dir(&dir).map_err(|e| {
                fail(
                    Exit::CantCreate,
                    format!("cannot create Maildir: {}", crate::error::single_line(&e)),
                )
            })?;
            fsutil::check_private_dir(&dir, "Maildir")?;
        }
        let mut names = HashSet::new();
        for sub in ["new", "cur"] {
            let dir = root.join(sub);
            for e in fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
                let e = e?;
                // A link or anything else that is not a message does not
                // stand for one: delivery replaces it.
                if !e.file_type()?.is_file() {
                    continue;
                }
                let name = e.file_name().to_string_lossy().into_owned();
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
        let mut data = data;
        Ok(self.deliver_all(&mut [(name, &mut data as &mut dyn Read)])?[0])
    }

    /// Delivers several messages as [`Self::deliver`] does one, durable
    /// together when this returns: all are written to `tmp/`, then fsynced
    /// (after the first fsync has committed the file system's journal the
    /// others find little left to write), renamed into `new/`, and `new/`
    /// is fsynced once. Returns for each whether a file was written. Each
    /// message is read from its reader as it is written, so a large one is
    /// never held in memory.
    pub fn deliver_all(
        &mut self,
        batch: &mut [(&str, &mut dyn Read)],
    ) -> anyhow::Result<Vec<bool>> {
        let mut written = Vec::with_capacity(batch.len());
        let mut pending: Vec<(&str, fs::File)> = Vec::new();
        let mut in_batch = HashSet::new();
        let cleanup = |pending: &[(&str, fs::File)], root: &Path| {
            for (name, _) in pending {
                let _ = fs::remove_file(root.join("tmp").join(name));
            }
        };
        for (name, data) in batch.iter_mut().map(|(n, d)| (*n, d)) {
            if name.is_empty() || name.contains(['/', ':']) || name.starts_with('.') {
                cleanup(&pending, &self.root);
                return Err(fail(Exit::Software, format!("bad Maildir name {name:?}")));
            }
            if self.contains(name) || !in_batch.insert(name) {
                written.push(false);
                continue;
            }
            let tmp = self.root.join("tmp").join(name);
            let opened = fsutil::create_replacing(&tmp, fsutil::PRIVATE_FILE)
                .and_then(|mut f| std::io::copy(data, &mut f).map(|_| f));
            match opened {
                Ok(f) => pending.push((name, f)),
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    cleanup(&pending, &self.root);
                    return Err(self.write_error(name, e));
                }
            }
            written.push(true);
        }
        for (name, f) in &pending {
            if let Err(e) = f.sync_all() {
                cleanup(&pending, &self.root);
                return Err(self.write_error(name, e));
            }
        }
        for (i, (name, _)) in pending.iter().enumerate() {
            let tmp = self.root.join("tmp").join(name);
            if let Err(e) = fs::rename(&tmp, self.root.join("new").join(name)) {
                cleanup(&pending[i..], &self.root);
                return Err(self.write_error(name, e));
            }
        }
        if let Some((name, _)) = pending.first() {
            fsutil::sync_dir(&self.root.join("new")).map_err(|e| self.write_error(name, e))?;
        }
        for (name, _) in &pending {
            self.names.insert(name.to_string());
        }
        Ok(written)
    }

    fn write_error(&self, name: &str, e: std::io::Error) -> anyhow::Error {
        fail(
            Exit::IoErr,
            format!(
                "cannot write {}: {e}",
                self.root.join("new").join(name).display()
            ),
        )
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

    #[test]
    fn batches_deliver_each_name_once_and_leave_nothing_in_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("md");
        let mut md = Maildir::open(&root).unwrap();
        md.deliver("old", b"0").unwrap();
        let got = md
            .deliver_all(&mut [
                ("a", &mut &b"1"[..]),
                ("old", &mut &b"x"[..]),
                ("b", &mut &b"2"[..]),
                ("a", &mut &b"y"[..]),
            ])
            .unwrap();
        assert_eq!(got, [true, false, true, false]);
        assert_eq!(fs::read(root.join("new/a")).unwrap(), b"1");
        assert_eq!(fs::read(root.join("new/old")).unwrap(), b"0");
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        assert_eq!(md.len(), 3);
        // A bad name fails the batch before anything is renamed.
        assert!(md
            .deliver_all(&mut [("c", &mut &b"3"[..]), ("d/e", &mut &b"4"[..])])
            .is_err());
        assert!(!root.join("new/c").exists());
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
    }

    /// Issue 11 item 5: names are predictable, so a local attacker planted
    /// `tmp/NAME` as a link and fetch wrote the server's message through it.
    #[test]
    fn a_link_planted_in_tmp_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("md");
        let mut md = Maildir::open(&root).unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, root.join("tmp/sealpost.a.i1.1")).unwrap();
        let nowhere = dir.path().join("nowhere");
        std::os::unix::fs::symlink(&nowhere, root.join("tmp/sealpost.a.i1.2")).unwrap();
        let got = md
            .deliver_all(&mut [
                ("sealpost.a.i1.1", &mut &b"from server"[..]),
                ("sealpost.a.i1.2", &mut &b"two"[..]),
            ])
            .unwrap();
        assert_eq!(got, [true, true]);
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!nowhere.exists());
        for (name, data) in [
            ("sealpost.a.i1.1", "from server"),
            ("sealpost.a.i1.2", "two"),
        ] {
            let delivered = root.join("new").join(name);
            assert!(fs::symlink_metadata(&delivered)
                .unwrap()
                .file_type()
                .is_file());
            assert_eq!(fs::read(&delivered).unwrap(), data.as_bytes());
        }
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
    }

    /// A link in new/ must not pass for a delivered message: fetch would
    /// record it as fetched and `--delete` would remove it from the server.
    #[test]
    fn a_link_in_new_does_not_count_as_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("md");
        Maildir::open(&root).unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, root.join("new/sealpost.a.i1.1")).unwrap();
        let mut md = Maildir::open(&root).unwrap();
        assert!(!md.contains("sealpost.a.i1.1"));
        assert!(md.deliver("sealpost.a.i1.1", b"mail").unwrap());
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(root.join("new/sealpost.a.i1.1")).unwrap(), b"mail");
    }

    #[test]
    fn a_maildir_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("md");
        Maildir::open(&root).unwrap();
        for sub in ["", "tmp", "new", "cur"] {
            let d = root.join(sub);
            fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
            let err = Maildir::open(&root).unwrap_err();
            let (exit, hint) = crate::error::classify(&err);
            assert_eq!(exit, Exit::NoPerm, "{sub}");
            assert!(err.to_string().contains("writable by others"), "{err}");
            assert!(hint.unwrap().contains("chmod go-w"), "{hint:?}");
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
        }
        Maildir::open(&root).unwrap();
    }
}
