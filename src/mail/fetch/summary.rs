//! What one run did, as the caller prints it (text or JSON).

use serde::Serialize;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Messages written to the Maildir.
    pub new: usize,
    /// Messages found already in the Maildir (an interrupted run, or a resync).
    pub already_local: usize,
    /// Messages deleted from the server.
    pub deleted: usize,
    /// Messages on the server after the run.
    pub on_server: usize,
    /// Whether UIDVALIDITY changed since the last run.
    pub resynced: bool,
    /// Bytes read and written on the connection (after TLS decryption, before
    /// decompression): what COMPRESS saves shows here.
    pub wire_bytes: u64,
    /// The protocol bytes uncompressed; equal to `wire_bytes` without COMPRESS.
    pub uncompressed_bytes: u64,
    /// Whether IMAP COMPRESS=DEFLATE was in use.
    pub compressed: bool,
    /// Maildir files stored as received because `--exec` failed on them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exec_failed: Vec<ExecFailure>,
    /// Messages not fetched because the server lists them as larger than
    /// the maximum message size (they stay on the server, even with --delete).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub too_large: Vec<TooLarge>,
}

/// A message left on the server because it is larger than the maximum
/// message size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TooLarge {
    /// IMAP UID or POP3 UIDL.
    pub key: String,
    /// Its size as the server listed it.
    pub size: u64,
}

/// A message `--exec` failed on: stored unchanged under `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecFailure {
    pub file: String,
    pub reason: String,
}
