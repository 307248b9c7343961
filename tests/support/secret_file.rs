//! Shared by the test binaries (included with `#[path]`): a passphrase or
//! password file written as a user should keep it.

/// Writes `text` to `path`, readable by its owner only (sealpost warns
/// about a secret file that others can read).
pub fn write_secret(path: &std::path::Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap();
}
