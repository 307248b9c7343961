//! Group secrets a member holds, and deposits a sender made: the member's
//! and sender's own records in the keystore.
//!
//! A group secret is kept exactly as the server sent it, a key-transport
//! entry wrapping it to the member's certificate
//! (`KEYSTORE/secrets/GROUP/KEYID.der`), so at rest it is as safe as the
//! member's private key and needs no protection of its own. A deposit's
//! record (`KEYSTORE/deposits/ID.toml`) says at which group's server it is
//! and for which message, so that `sealpost revoke` finds it.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::joined::check_group_name;
use crate::error::{fail, Exit};
use crate::smime::keyref::parse_id;
use crate::store::fsutil;

fn read_dir_names(dir: &Path, suffix: &str) -> Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(fail(
                Exit::IoErr,
                format!("cannot read {}: {e}", dir.display()),
            ))
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| fail(Exit::IoErr, format!("cannot read {}: {e}", dir.display())))?
            .path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // Temp files of an interrupted write end otherwise.
        if let Some(stem) = name.strip_suffix(suffix) {
            if parse_id(stem).is_some() {
                out.push((stem.to_string(), path.clone()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Opens a held secret (an entry wrapping it to the member's certificate,
/// as the server sent it) with the member's key.
pub fn open_secret(
    entry_der: &[u8],
    cert: &x509_cert::Certificate,
    key: &rsa::RsaPrivateKey,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let entry = <cms::enveloped_data::RecipientInfo as der::Decode>::from_der(entry_der)
        .map_err(|_| fail(Exit::DataErr, "a group secret's entry is malformed"))?;
    crate::smime::envelope::unwrap_key_bytes(
        &entry,
        cert,
        key,
        crate::smime::envelope::KEK_LEN,
        &mut rand_core::OsRng,
    )
}

/// The group secrets of one keystore.
pub struct SecretStore {
    dir: PathBuf,
}

impl SecretStore {
    pub fn new(keystore_root: &Path) -> Self {
        Self {
            dir: keystore_root.join("secrets"),
        }
    }

    fn group_dir(&self, group: &str) -> Result<PathBuf> {
        check_group_name(group)?;
        Ok(self.dir.join(group))
    }

    /// Stores a secret's entry (DER) under its id; true if it was new.
    pub fn save(&self, group: &str, key_id: &str, entry_der: &[u8]) -> Result<bool> {
        if parse_id(key_id).is_none() {
            return Err(fail(
                Exit::DataErr,
                format!("the server sent a malformed secret id {key_id:?}"),
            ));
        }
        let dir = self.group_dir(group)?;
        let path = dir.join(format!("{key_id}.der"));
        if std::fs::read(&path).is_ok_and(|old| old == entry_der) {
            return Ok(false);
        }
        fsutil::private_dir(&self.dir, "keystore")?;
        fsutil::private_dir(&dir, "keystore")?;
        fsutil::atomic_write(&path, entry_der, fsutil::PRIVATE_FILE)?;
        Ok(true)
    }

    /// The entry of secret `key_id` of `group`, if held.
    pub fn get(&self, group: &str, key_id: &str) -> Result<Option<Vec<u8>>> {
        if parse_id(key_id).is_none() {
            return Ok(None);
        }
        let path = self.group_dir(group)?.join(format!("{key_id}.der"));
        match std::fs::read(&path) {
            Ok(der) => Ok(Some(der)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fail(
                Exit::IoErr,
                format!("cannot read {}: {e}", path.display()),
            )),
        }
    }

    /// The ids of the secrets held for `group`.
    pub fn ids(&self, group: &str) -> Result<Vec<String>> {
        Ok(read_dir_names(&self.group_dir(group)?, ".der")?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }
}

/// A deposit this keystore made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositNote {
    pub id: String,
    pub group: String,
    /// The message's Message-ID, without angle brackets, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub created: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// The server that took it.
    pub server: String,
}

/// The deposits one keystore made.
pub struct DepositNotes {
    dir: PathBuf,
}

impl DepositNotes {
    pub fn new(keystore_root: &Path) -> Self {
        Self {
            dir: keystore_root.join("deposits"),
        }
    }

    pub fn record(&self, note: &DepositNote) -> Result<()> {
        if parse_id(&note.id).is_none() {
            return Err(fail(Exit::DataErr, "malformed deposit id"));
        }
        let text = toml::to_string(note).map_err(|e| {
            fail(
                Exit::Software,
                format!("cannot encode a deposit record: {e}"),
            )
        })?;
        fsutil::private_dir(&self.dir, "keystore")?;
        fsutil::atomic_write(
            &self.dir.join(format!("{}.toml", note.id)),
            text.as_bytes(),
            fsutil::PRIVATE_FILE,
        )
    }

    /// Every recorded deposit, by id.
    pub fn list(&self) -> Result<Vec<DepositNote>> {
        let mut out = Vec::new();
        for (_, path) in read_dir_names(&self.dir, ".toml")? {
            let bad = |why: String| fail(Exit::Config, format!("{}: {why}", path.display()));
            let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
            out.push(toml::from_str(&text).map_err(|e| bad(e.to_string()))?);
        }
        Ok(out)
    }

    /// The deposits of a message (by Message-ID, with or without angle
    /// brackets) or the one deposit with that id.
    pub fn find(&self, selector: &str) -> Result<Vec<DepositNote>> {
        let wanted = selector
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        Ok(self
            .list()?
            .into_iter()
            .filter(|n| {
                n.id == wanted.to_ascii_lowercase() || n.message_id.as_deref() == Some(wanted)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_deposit_notes_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = SecretStore::new(dir.path());
        let id = "ab".repeat(16);
        assert!(secrets.save("list", &id, b"entry").unwrap());
        assert!(!secrets.save("list", &id, b"entry").unwrap());
        assert_eq!(secrets.get("list", &id).unwrap(), Some(b"entry".to_vec()));
        assert_eq!(secrets.get("list", &"cd".repeat(16)).unwrap(), None);
        assert_eq!(secrets.ids("list").unwrap(), vec![id.clone()]);
        assert!(secrets.save("list", "../x", b"e").is_err());
        assert!(secrets.save("../x", &id, b"e").is_err());
        let mode = std::fs::metadata(dir.path().join(format!("secrets/list/{id}.der")))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );

        let notes = DepositNotes::new(dir.path());
        let note = DepositNote {
            id: id.clone(),
            group: "list".into(),
            message_id: Some("m1@example.org".into()),
            created: 1,
            expires: None,
            server: "https://localhost:1".into(),
        };
        notes.record(&note).unwrap();
        assert_eq!(notes.find("<m1@example.org>").unwrap(), vec![note.clone()]);
        assert_eq!(notes.find(&id.to_uppercase()).unwrap(), vec![note]);
        assert!(notes.find("other@example.org").unwrap().is_empty());
    }
}
