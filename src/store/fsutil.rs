//! Durable, atomic file writes, and the one place sealpost creates or opens
//! files for writing and checks who else can reach them.
//!
//! Every file sealpost keeps is written to a temporary name in the same
//! directory, fsynced, renamed over the target and the directory fsynced, so
//! a crash leaves either the old file or the new one, never half of either.
//!
//! A local user who can plant a symbolic link (or a FIFO, or a file of their
//! own) where sealpost is about to write must not get sealpost to write
//! through it. So no file is opened for writing by plain name:
//!
//! - new files are created with `O_CREAT|O_EXCL|O_NOFOLLOW`
//!   ([`create_exclusive`], [`create_replacing`], [`AtomicFile`]): an
//!   existing entry of any kind, a dangling link included, is refused rather
//!   than followed;
//! - files kept open across runs (journals, locks) are opened with
//!   `O_NOFOLLOW|O_NONBLOCK` and must turn out to be regular files owned by
//!   this user ([`open_state_file`]);
//! - the directories that hold them (keystore, Maildir, outbox) must belong
//!   to this user (or root) and be writable by nobody else
//!   ([`private_dir`]), since whoever can write a directory can replace any
//!   name in it. Directories sealpost creates are 0700.
//!
//! Unsafe filesystem state is [`Exit::NoPerm`], with a hint naming the fix.

use std::fs::{self, File, OpenOptions};
use std::io::BufWriter;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
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

/// Creates `dir` as [`create_private_dir`] does, then refuses it unless it
/// is safe to keep files in: see [`check_private_dir`]. `what` names it in
/// the error ("keystore", "Maildir", …).
pub fn private_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    create_private_dir(dir)?;
    check_private_dir(dir, what)
}

/// The effective user id of this process.
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether only this user (or root, who can do anything anyway) can change
/// what `meta` describes: a regular file owned by this user or root that
/// neither group nor others may write (the group bits also carry the mask
/// of any POSIX ACL entry). For files read twice, where a change between the
/// reads by someone else must be caught.
pub fn only_owner_writes(meta: &fs::Metadata) -> bool {
    let owner = meta.uid();
    meta.is_file() && (owner == current_uid() || owner == 0) && meta.mode() & 0o022 == 0
}

/// Refuses a directory that someone other than this user could write into
/// (group- or world-writable, or owned by another user): such a user could
/// plant or swap any file in it. A directory owned by root is accepted, as
/// root can do all of that anyway.
pub fn check_private_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    let meta = fs::metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if !meta.is_dir() {
        return Err(fail(
            Exit::CantCreate,
            format!("{what} {} is not a directory", dir.display()),
        ));
    }
    let uid = current_uid();
    if meta.uid() != uid && meta.uid() != 0 {
        return Err(fail_hint(
            Exit::NoPerm,
            format!(
                "{what} {} belongs to another user (uid {}, you are uid {uid}); refusing to use it",
                dir.display(),
                meta.uid()
            ),
            "use a directory of your own",
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(fail_hint(
            Exit::NoPerm,
            format!(
                "{what} {} is writable by others (mode {:04o}); refusing to use it",
                dir.display(),
                mode
            ),
            format!("restrict it with: chmod go-w '{}'", dir.display()),
        ));
    }
    Ok(())
}

/// Refuses a secret file that group or others can read or write. `what`
/// names it in the error ("private key file", "group store").
pub fn check_private_file(path: &Path, what: &str) -> anyhow::Result<()> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(fail_hint(
            Exit::NoPerm,
            format!(
                "{what} {} is accessible by others (mode {:04o}); refusing to use it",
                path.display(),
                mode
            ),
            format!("restrict it with: chmod 600 '{}'", path.display()),
        ));
    }
    Ok(())
}

/// The error for a name where sealpost expected its own regular file.
fn not_our_file(path: &Path, what: &str) -> anyhow::Error {
    fail_hint(
        Exit::NoPerm,
        format!("{} {what}; refusing to use it", path.display()),
        format!(
            "sealpost did not put it there: check who did, then remove it: rm '{}'",
            path.display()
        ),
    )
}

/// Creates a new file with exactly `mode`, refusing any existing entry at
/// `path`: `O_EXCL` fails on a symbolic link too, dangling or not, so a
/// planted link is never followed. (`O_NOFOLLOW` says the same in case a
/// platform treats `O_EXCL` differently.)
pub fn create_exclusive(path: &Path, mode: u32) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    // The umask may have taken bits away; the caller asked for these. (An
    // fstat is cheaper than a chmod, which dirties the inode every time.)
    if file.metadata()?.permissions().mode() & 0o7777 != mode {
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(file)
}

/// Creates a file afresh at a name a previous run may have left behind
/// (a Maildir `tmp/` name, a prepared outbox record): whatever is there is
/// unlinked first (a link is removed, never its target), then the file is
/// made with [`create_exclusive`]. Something planted again in between makes
/// this fail; it is never written through.
pub fn create_replacing(path: &Path, mode: u32) -> std::io::Result<File> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    create_exclusive(path, mode)
}

/// Opens a file sealpost keeps across runs (a journal, a lock), creating it
/// with mode 0600 when missing. `access` says how (read, write, append).
/// A symbolic link at `path` is not followed, a FIFO does not block the
/// open, and anything but a regular file owned by this user is refused.
pub fn open_state_file(path: &Path, access: &mut OpenOptions) -> anyhow::Result<File> {
    let file = access
        .create(true)
        .mode(PRIVATE_FILE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => not_our_file(path, "is a symbolic link"),
            Some(libc::ENXIO) => not_our_file(path, "is not a regular file"),
            _ => fail(
                Exit::CantCreate,
                format!("cannot open {}: {e}", path.display()),
            ),
        })?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.file_type().is_file() {
        return Err(not_our_file(path, "is not a regular file"));
    }
    if meta.uid() != current_uid() {
        return Err(not_our_file(
            path,
            &format!("belongs to another user (uid {})", meta.uid()),
        ));
    }
    // O_NONBLOCK was only for the open; ordinary blocking I/O from here on.
    // SAFETY: fcntl on a descriptor we own, with flags it returned.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
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
            ".{}.tmp-{}-{:032x}",
            name.to_string_lossy(),
            std::process::id(),
            rand::random::<u128>()
        ));
        // The name is unpredictable (128 random bits) and created with
        // O_EXCL: a link planted at it is refused, never followed.
        let file = create_exclusive(&tmp, mode).map_err(|e| {
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

/// A name that becomes a file name (an account's, a group's): letters,
/// digits, `-`, `_` and `.`, 1 to 64 characters, not starting with a dot, so
/// that it can name neither a path elsewhere nor a hidden file. `what` names
/// the kind of name in the error (usage, 64).
pub fn check_name_for_file(what: &str, name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(fail(
            Exit::Usage,
            format!(
                "invalid {what} name {name:?}: use letters, digits, '-', '_' and '.' (at most 64)"
            ),
        ))
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
        check_private_file(&path, "private key file").unwrap();
    }

    #[test]
    fn world_readable_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        atomic_write(&path, b"k", 0o644).unwrap();
        let err = check_private_file(&path, "private key file").unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
        assert!(err.to_string().contains("0644"), "{err}");
    }

    fn is_root() -> bool {
        current_uid() == 0
    }

    fn chown(path: &Path, uid: u32) {
        let c = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
            .unwrap();
        // SAFETY: a valid C string; -1 keeps the group.
        assert_eq!(unsafe { libc::chown(c.as_ptr(), uid, u32::MAX) }, 0);
    }

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
            .unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn state_files_refuse_links_fifos_and_other_owners() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        let write = || {
            let mut o = OpenOptions::new();
            o.write(true);
            o
        };
        // A dangling link: following it would create the victim.
        let link = dir.path().join("journal");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = open_state_file(&link, &mut write()).unwrap_err();
        let (exit, hint) = crate::error::classify(&err);
        assert_eq!(exit, Exit::NoPerm);
        assert!(hint.unwrap().contains("rm '"), "{hint:?}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(!victim.exists());
        // A link to an existing file: refused, the file untouched.
        fs::write(&victim, b"precious").unwrap();
        let err = open_state_file(&link, write().append(true)).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        // A FIFO neither blocks the open nor is taken for a file.
        let fifo = dir.path().join("lock");
        mkfifo(&fifo);
        let err = open_state_file(&fifo, &mut write()).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
        assert!(err.to_string().contains("not a regular file"), "{err}");
        // A regular file is created 0600, and opened again.
        let ok = dir.path().join("ok");
        open_state_file(&ok, &mut write()).unwrap();
        assert_eq!(
            fs::metadata(&ok).unwrap().permissions().mode() & 0o777,
            0o600
        );
        open_state_file(&ok, OpenOptions::new().read(true).append(true)).unwrap();
        // One that another user owns is not ours to write (root can plant it).
        if is_root() {
            chown(&ok, 65534);
            let err = open_state_file(&ok, &mut write()).unwrap_err();
            assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
            assert!(err.to_string().contains("another user"), "{err}");
        }
    }

    #[test]
    fn exclusive_creation_never_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let link = dir.path().join("name");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(create_exclusive(&link, PRIVATE_FILE).is_err());
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(create_exclusive(&dangling, PRIVATE_FILE).is_err());
        assert!(!dir.path().join("nowhere").exists());
        // Replacing removes the link itself and makes a file of our own.
        let mut f = create_replacing(&link, PRIVATE_FILE).unwrap();
        f.write_all(b"ours").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_file());
        assert_eq!(fs::read(&link).unwrap(), b"ours");
        assert_eq!(
            fs::metadata(&link).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn atomic_file_replaces_a_planted_link_and_its_temp_name_is_unguessable() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let out = dir.path().join("out.eml");
        std::os::unix::fs::symlink(&victim, &out).unwrap();
        let first = AtomicFile::create(&out, PUBLIC_FILE).unwrap();
        let second = AtomicFile::create(&out, PUBLIC_FILE).unwrap();
        for tmp in [&first.tmp, &second.tmp] {
            let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
            let random = name.rsplit('-').next().unwrap();
            assert!(random.len() >= 32, "{name}: fewer than 128 random bits");
            assert!(fs::symlink_metadata(tmp).unwrap().file_type().is_file());
        }
        assert_ne!(first.tmp, second.tmp);
        drop(second);
        let mut first = first;
        first.write(b"ours").unwrap();
        first.commit().unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(fs::symlink_metadata(&out).unwrap().file_type().is_file());
        assert_eq!(fs::read(&out).unwrap(), b"ours");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn private_dirs_are_0700_and_others_writable_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        private_dir(&nested, "keystore").unwrap();
        for d in [dir.path().join("a"), nested.clone()] {
            assert_eq!(
                fs::metadata(&d).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        for mode in [0o777, 0o770, 0o720, 0o702, 0o1777] {
            fs::set_permissions(&nested, fs::Permissions::from_mode(mode)).unwrap();
            let err = private_dir(&nested, "keystore").unwrap_err();
            let (exit, hint) = crate::error::classify(&err);
            assert_eq!(exit, Exit::NoPerm, "{mode:o}");
            assert!(hint.unwrap().contains("chmod go-w"), "{hint:?}");
            assert!(err.to_string().starts_with("keystore "), "{err}");
        }
        // Readable by others is not the danger here; writable is.
        fs::set_permissions(&nested, fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&nested, "keystore").unwrap();
        if is_root() {
            chown(&nested, 65534);
            let err = private_dir(&nested, "Maildir").unwrap_err();
            assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
            assert!(err.to_string().contains("another user"), "{err}");
        }
        let file = dir.path().join("file");
        fs::write(&file, b"").unwrap();
        assert!(check_private_dir(&file, "keystore").is_err());
    }
}
