//! Durable, atomic file writes and permission checks.
//!
//! Every file sealpost keeps is written to a temporary name in the same
//! directory, fsynced, renamed over the target and the directory fsynced, so
//! a crash leaves either the old file or the new one, never half of either.

use std::fs::{self, File};
use std::io::BufWriter;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::error::{fail, fail_hint, Exit};

/// Mode for files holding secrets.
pub const PRIVATE_FILE: u32 = 0o600;
/// Mode for ordinary files in the keystore (certificates, config).
pub const PUBLIC_FILE: u32 = 0o644;

/// Writes `data` to `path` atomically with the given permission bits.
pub fn atomic_write(path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut file = AtomicFile::create(path, mode)?;
    file.write(data)?;
    file.commit()
}

/// Fsyncs a directory so that a rename or unlink in it is durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes a file and makes the removal durable.
pub fn durable_remove(path: &Path) -> anyhow::Result<()> {
    fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir).with_context(|| format!("cannot sync {}", dir.display()))?;
    }
    Ok(())
}

/// Creates `dir` (and missing parents) with mode 0700 for the directories it creates.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

/// Refuses a secret file that group or others can read or write.
pub fn check_private_file(path: &Path) -> anyhow::Result<()> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(fail_hint(
            Exit::NoPerm,
            format!(
                "private key file {} is accessible by others (mode {:04o}); refusing to use it",
                path.display(),
                mode
            ),
            format!("restrict it with: chmod 600 '{}'", path.display()),
        ));
    }
    Ok(())
}

/// A file written under a temporary name and renamed into place by
/// [`commit`](Self::commit); removed if dropped before that.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(path: &Path, mode: u32) -> anyhow::Result<AtomicFile> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path.file_name().ok_or_else(|| {
            fail(
                Exit::CantCreate,
                format!("{} is not a file path", path.display()),
            )
        })?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}-{:08x}",
            name.to_string_lossy(),
            std::process::id(),
            rand::random::<u32>()
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .and_then(|f| {
                f.set_permissions(std::fs::Permissions::from_mode(mode))?;
                Ok(f)
            })
            .map_err(|e| {
                fail(
                    Exit::CantCreate,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    fn err(&self, e: std::io::Error) -> anyhow::Error {
        fail(
            Exit::IoErr,
            format!("cannot write {}: {e}", self.path.display()),
        )
    }

    pub fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        let Some(f) = self.file.as_mut() else {
            return Err(fail(Exit::Software, "write after commit"));
        };
        f.write_all(data).map_err(|e| self.err(e))
    }

    pub fn commit(mut self) -> anyhow::Result<()> {
        let Some(f) = self.file.take() else {
            return Ok(());
        };
        let file = f.into_inner().map_err(|e| self.err(e.into_error()))?;
        file.sync_all().map_err(|e| self.err(e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(|e| self.err(e))?;
        let dir = self.path.parent().filter(|p| !p.as_os_str().is_empty());
        sync_dir(dir.unwrap_or(Path::new("."))).map_err(|e| self.err(e))?;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        atomic_write(&path, b"one", PRIVATE_FILE).unwrap();
        atomic_write(&path, b"two", PRIVATE_FILE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // No temporary files left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        check_private_file(&path).unwrap();
    }

    #[test]
    fn world_readable_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        atomic_write(&path, b"k", 0o644).unwrap();
        let err = check_private_file(&path).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
        assert!(err.to_string().contains("0644"), "{err}");
    }
}
