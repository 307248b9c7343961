//! The keystore directory.
//!
//! ```text
//! KEYSTORE/                      0700, created on first use
//!   config.toml                  settings (accounts, groups), TOML, 0600
//!   identities/                  own keys, 0700
//!     <fingerprint>.key.pem      private key, encrypted PKCS#8 (or plain if asked), 0600
//!     <fingerprint>.cert.pem     its certificate, 0644
//!   certs/                       correspondents' certificates, 0700
//!     <fingerprint>.pem          one certificate, 0644
//!   capabilities.toml            per certificate fingerprint: which algorithms its
//!                                holder reads, learned from signed mail or set by
//!                                `sealpost cert prefer`
//! ```
//!
//! `<fingerprint>` is the SHA-256 of the certificate's DER encoding in hex,
//! the same value `key list` and `cert list` print, so `openssl x509 -in` works
//! on any file and a file name identifies its certificate. Addresses are read
//! from the certificates themselves; several certificates per address and
//! several identities per address (renewals) coexist. Identities are never
//! deleted by sealpost, so that old mail stays readable.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rsa::RsaPrivateKey;

use crate::certs::{self, CertInfo, Support, UnixTime};
use crate::error::{fail, fail_hint, Exit};
use crate::fsutil::{self, PRIVATE_FILE, PUBLIC_FILE};
use crate::privkey;

const CONFIG_FILE: &str = "config.toml";
const CAPABILITIES_FILE: &str = "capabilities.toml";
const IDENTITIES_DIR: &str = "identities";
const CERTS_DIR: &str = "certs";
const DEFAULT_CONFIG: &str = "# sealpost keystore settings. Accounts and groups are added by\n\
# `sealpost account add` and `sealpost group join`; edit with care.\n";

/// A recorded [`Support`] and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SupportRecord {
    #[serde(flatten)]
    pub support: Support,
    /// "user" (from `cert prefer`) or "signed mail" (learned by `decrypt`).
    pub source: String,
    pub updated: String,
}

/// An own key pair in the keystore.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cert: CertInfo,
    pub key_path: PathBuf,
    /// Whether the key file is passphrase-protected (false after `--no-passphrase`).
    pub encrypted: bool,
}

/// A keystore rooted at a directory.
#[derive(Debug, Clone)]
pub struct Keystore {
    root: PathBuf,
}

/// Where the keystore lives when neither `--keystore` nor `SEALPOST_KEYSTORE` says.
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "sealpost").map(|d| d.data_dir().to_path_buf())
}

impl Keystore {
    /// Opens the keystore at `root`, creating it (mode 0700) on first use.
    /// Refuses one that another user can write into.
    pub fn open(root: &Path) -> anyhow::Result<Keystore> {
        if root.exists() && !root.is_dir() {
            return Err(fail(
                Exit::Config,
                format!("keystore {} exists but is not a directory", root.display()),
            ));
        }
        for dir in [
            root.to_path_buf(),
            root.join(IDENTITIES_DIR),
            root.join(CERTS_DIR),
        ] {
            fsutil::create_private_dir(&dir).map_err(|e| {
                fail(
                    Exit::CantCreate,
                    format!("cannot create keystore: {}", crate::error::single_line(&e)),
                )
            })?;
            // Whoever can write here can swap our keys and certificates.
            fsutil::check_private_dir(&dir, "keystore")?;
        }
        let config = root.join(CONFIG_FILE);
        if !config.exists() {
            fsutil::atomic_write(&config, DEFAULT_CONFIG.as_bytes(), PRIVATE_FILE)?;
        }
        Ok(Keystore {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// Every own identity, newest certificate first.
    pub fn identities(&self) -> anyhow::Result<Vec<Identity>> {
        let dir = self.root.join(IDENTITIES_DIR);
        let mut out = Vec::new();
        for path in list_files(&dir, ".cert.pem")? {
            let cert = read_cert_file(&path)?;
            let stem = path.file_name().unwrap_or_default().to_string_lossy();
            let key_path = dir.join(stem.replace(".cert.pem", ".key.pem"));
            if !key_path.exists() {
                continue; // a certificate whose key was moved away by hand: not an identity
            }
            let key_text = fs::read_to_string(&key_path)
                .with_context(|| format!("cannot read {}", key_path.display()))?;
            out.push(Identity {
                encrypted: privkey::is_encrypted(&key_text),
                cert,
                key_path,
            });
        }
        out.sort_by_key(|i| std::cmp::Reverse(i.cert.not_before));
        Ok(out)
    }

    /// Identities whose certificate names `addr`, newest first.
    pub fn identities_for(&self, addr: &str) -> anyhow::Result<Vec<Identity>> {
        Ok(self
            .identities()?
            .into_iter()
            .filter(|i| i.cert.matches_address(addr))
            .collect())
    }

    /// The identity to act as for `addr`: the newest one currently valid.
    pub fn signing_identity(&self, addr: &str, now: UnixTime) -> anyhow::Result<Identity> {
        let all = self.identities_for(addr)?;
        if all.is_empty() {
            return Err(fail_hint(
                Exit::NoUser,
                format!("no own key for {addr}"),
                format!("create one with: sealpost key generate --email {addr}"),
            ));
        }
        all.into_iter()
            .find(|i| now >= i.cert.not_before && now <= i.cert.not_after)
            .ok_or_else(|| {
                fail_hint(
                    Exit::NoUser,
                    format!("every own key for {addr} has expired or is not yet valid"),
                    format!("create a new one with: sealpost key generate --email {addr}"),
                )
            })
    }

    /// Stores a new identity. With a passphrase the key is sealed under it, and
    /// when the keystore already holds passphrase-protected keys the passphrase
    /// must be the same one (one keystore, one passphrase).
    pub fn add_identity(
        &self,
        key: &RsaPrivateKey,
        cert: &CertInfo,
        passphrase: Option<&str>,
    ) -> anyhow::Result<Identity> {
        if !privkey::key_matches_cert(key, cert) {
            return Err(fail(
                Exit::DataErr,
                "the private key does not belong to the certificate",
            ));
        }
        if let Some(pass) = passphrase {
            self.check_keystore_passphrase(pass)?;
        }
        let dir = self.root.join(IDENTITIES_DIR);
        let key_path = dir.join(format!("{}.key.pem", cert.fingerprint));
        let cert_path = dir.join(format!("{}.cert.pem", cert.fingerprint));
        if key_path.exists() {
            return Err(fail(
                Exit::CantCreate,
                format!("identity {} is already in the keystore", cert.fingerprint),
            ));
        }
        let sealed = privkey::seal(key, passphrase)?;
        // Key first: a certificate without its key is ignored, the reverse would be an orphan secret.
        fsutil::atomic_write(&key_path, sealed.as_bytes(), PRIVATE_FILE)?;
        fsutil::atomic_write(&cert_path, cert.to_pem().as_bytes(), PUBLIC_FILE)?;
        Ok(Identity {
            cert: cert.clone(),
            key_path,
            encrypted: passphrase.is_some(),
        })
    }

    /// Fails with [`Exit::NoPerm`] when `pass` does not open the keystore's existing keys.
    pub fn check_keystore_passphrase(&self, pass: &str) -> anyhow::Result<()> {
        if let Some(existing) = self.identities()?.into_iter().find(|i| i.encrypted) {
            // An unsafe key file is its own error, not a passphrase mismatch.
            fsutil::check_private_file(&existing.key_path, "private key file")?;
            self.unlock(&existing, Some(pass)).map_err(|_| {
                fail_hint(
                    Exit::NoPerm,
                    "the passphrase does not match the keystore's existing keys",
                    "use the keystore passphrase, so that one passphrase opens every key",
                )
            })?;
        }
        Ok(())
    }

    /// Whether any identity needs a passphrase.
    pub fn needs_passphrase(&self) -> anyhow::Result<bool> {
        Ok(self.identities()?.iter().any(|i| i.encrypted))
    }

    /// Decrypts an identity's private key, refusing a key file others can read.
    pub fn unlock(
        &self,
        identity: &Identity,
        passphrase: Option<&str>,
    ) -> anyhow::Result<RsaPrivateKey> {
        fsutil::check_private_file(&identity.key_path, "private key file")?;
        let text = zeroize::Zeroizing::new(
            fs::read_to_string(&identity.key_path)
                .with_context(|| format!("cannot read {}", identity.key_path.display()))?,
        );
        let what = format!("the key of {}", identity.cert.emails.join(","));
        let key = privkey::open(&text, passphrase, &what)?;
        if !privkey::key_matches_cert(&key, &identity.cert) {
            return Err(fail(
                Exit::DataErr,
                format!(
                    "{} does not match its certificate",
                    identity.key_path.display()
                ),
            ));
        }
        Ok(key)
    }

    /// Correspondents' certificates.
    pub fn certificates(&self) -> anyhow::Result<Vec<CertInfo>> {
        list_files(&self.root.join(CERTS_DIR), ".pem")?
            .iter()
            .map(|p| read_cert_file(p))
            .collect()
    }

    /// Adds certificates; returns each with whether it was new.
    pub fn import_certificates(&self, certs: &[CertInfo]) -> anyhow::Result<Vec<(CertInfo, bool)>> {
        let dir = self.root.join(CERTS_DIR);
        let mut out = Vec::new();
        for cert in certs {
            let path = dir.join(format!("{}.pem", cert.fingerprint));
            let new = !path.exists();
            if new {
                fsutil::atomic_write(&path, cert.to_pem().as_bytes(), PUBLIC_FILE)?;
            }
            out.push((cert.clone(), new));
        }
        Ok(out)
    }

    /// Removes correspondents' certificates chosen by address or by
    /// fingerprint (a prefix of at least 8 hex digits). Own identities are
    /// never removed this way.
    pub fn remove_certificates(&self, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
        let matching = self.select_certificates(selector)?;
        for cert in &matching {
            fsutil::durable_remove(
                &self
                    .root
                    .join(CERTS_DIR)
                    .join(format!("{}.pem", cert.fingerprint)),
            )?;
        }
        Ok(matching)
    }

    /// Correspondents' certificates for an address or fingerprint prefix.
    pub fn select_certificates(&self, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
        select(self.certificates()?, selector)
    }

    /// Like [`Self::select_certificates`], own identities' certificates included.
    pub fn select_known_certificates(&self, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
        let mut all = self.certificates()?;
        for ident in self.identities()? {
            if !all.iter().any(|c| c.fingerprint == ident.cert.fingerprint) {
                all.push(ident.cert);
            }
        }
        select(all, selector)
    }

    /// Every certificate that names `addr`: correspondents' and own.
    pub fn certificates_for(&self, addr: &str) -> anyhow::Result<Vec<CertInfo>> {
        let mut out: Vec<CertInfo> = self
            .certificates()?
            .into_iter()
            .filter(|c| c.matches_address(addr))
            .collect();
        for ident in self.identities_for(addr)? {
            if !out.iter().any(|c| c.fingerprint == ident.cert.fingerprint) {
                out.push(ident.cert);
            }
        }
        Ok(out)
    }

    /// The certificates to encrypt to `addr` at `now` (see [`certs::select_for_encryption`]).
    pub fn encryption_certificates(
        &self,
        addr: &str,
        now: UnixTime,
    ) -> anyhow::Result<Vec<CertInfo>> {
        let candidates = self.certificates_for(addr)?;
        Ok(certs::select_for_encryption(addr, &candidates, now)?
            .into_iter()
            .cloned()
            .collect())
    }
}

impl Keystore {
    fn read_support_records(
        &self,
    ) -> anyhow::Result<std::collections::BTreeMap<String, SupportRecord>> {
        let path = self.root.join(CAPABILITIES_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| fail(Exit::Config, format!("{} is damaged: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn write_support_records(
        &self,
        records: &std::collections::BTreeMap<String, SupportRecord>,
    ) -> anyhow::Result<()> {
        let text = toml::to_string(records)
            .map_err(|e| fail(Exit::Software, format!("capabilities: {e}")))?;
        let text = format!(
            "# Which algorithms each certificate's holder reads, by certificate fingerprint.\n\
             # Written by `sealpost cert prefer` and by `sealpost decrypt` from signed mail.\n{text}"
        );
        fsutil::atomic_write(
            &self.root.join(CAPABILITIES_FILE),
            text.as_bytes(),
            PUBLIC_FILE,
        )
    }

    /// The recorded support for a certificate, if any.
    pub fn support_record(&self, fingerprint: &str) -> anyhow::Result<Option<SupportRecord>> {
        Ok(self.read_support_records()?.remove(fingerprint))
    }

    /// Records what a certificate's holder reads. A user's choice is not
    /// overwritten by what is learned from mail.
    pub fn record_support(
        &self,
        fingerprint: &str,
        support: Support,
        source: &str,
        now: UnixTime,
    ) -> anyhow::Result<bool> {
        let mut records = self.read_support_records()?;
        if source != "user" && records.get(fingerprint).is_some_and(|r| r.source == "user") {
            return Ok(false);
        }
        let record = SupportRecord {
            support,
            source: source.to_string(),
            updated: certs::format_time(now),
        };
        if records.get(fingerprint).map(|r| r.support) == Some(support) && source != "user" {
            return Ok(false);
        }
        records.insert(fingerprint.to_string(), record);
        self.write_support_records(&records)?;
        Ok(true)
    }

    /// Forgets what was recorded for a certificate.
    pub fn forget_support(&self, fingerprint: &str) -> anyhow::Result<bool> {
        let mut records = self.read_support_records()?;
        let had = records.remove(fingerprint).is_some();
        if had {
            self.write_support_records(&records)?;
        }
        Ok(had)
    }

    /// What `encrypt` may assume about a certificate's holder: the recorded
    /// support if any, else what the certificate itself advertises, else
    /// nothing beyond AES-CBC and PKCS#1 v1.5.
    pub fn support_for(&self, cert: &CertInfo) -> anyhow::Result<Support> {
        if let Some(record) = self.support_record(&cert.fingerprint)? {
            return Ok(record.support);
        }
        Ok(Support::from_capabilities(&cert.advertised_capabilities))
    }
}

/// Every certificate the keystore knows, by address, with what each holder
/// reads: loaded once, so encrypting to a thousand recipients reads the
/// keystore once rather than once per recipient.
pub struct CertIndex {
    by_address: std::collections::HashMap<String, Vec<CertInfo>>,
    support: std::collections::BTreeMap<String, SupportRecord>,
}

impl CertIndex {
    /// The certificates to encrypt to `addr` at `now` (see [`certs::select_for_encryption`]).
    pub fn encryption_certificates(
        &self,
        addr: &str,
        now: UnixTime,
    ) -> anyhow::Result<Vec<CertInfo>> {
        let candidates = self
            .by_address
            .get(&certs::normalize_address(addr))
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(certs::select_for_encryption(addr, candidates, now)?
            .into_iter()
            .cloned()
            .collect())
    }

    /// Like [`Keystore::support_for`].
    pub fn support_for(&self, cert: &CertInfo) -> Support {
        self.support
            .get(&cert.fingerprint)
            .map(|r| r.support)
            .unwrap_or_else(|| Support::from_capabilities(&cert.advertised_capabilities))
    }
}

impl Keystore {
    /// Loads a [`CertIndex`] of correspondents' and own certificates.
    pub fn certificate_index(&self) -> anyhow::Result<CertIndex> {
        let mut by_address: std::collections::HashMap<String, Vec<CertInfo>> = Default::default();
        let mut seen = std::collections::HashSet::new();
        let own = self.identities()?.into_iter().map(|i| i.cert);
        for cert in self.certificates()?.into_iter().chain(own) {
            if !seen.insert(cert.fingerprint.clone()) {
                continue;
            }
            for email in &cert.emails {
                by_address
                    .entry(email.clone())
                    .or_default()
                    .push(cert.clone());
            }
        }
        Ok(CertIndex {
            by_address,
            support: self.read_support_records()?,
        })
    }
}

/// Certificates among `all` for an address or a fingerprint prefix.
fn select(all: Vec<CertInfo>, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
    let matching: Vec<CertInfo> = if selector.contains('@') {
        all.into_iter()
            .filter(|c| c.matches_address(selector))
            .collect()
    } else {
        let prefix = selector.to_ascii_lowercase().replace(':', "");
        if prefix.len() < 8 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(fail(
                Exit::Usage,
                format!(
                    "'{selector}' is neither an address nor a fingerprint (at least 8 hex digits)"
                ),
            ));
        }
        all.into_iter()
            .filter(|c| c.fingerprint.starts_with(&prefix))
            .collect()
    };
    if matching.is_empty() {
        return Err(fail(
            Exit::NoUser,
            format!("no certificate matches {selector}"),
        ));
    }
    Ok(matching)
}

fn read_cert_file(path: &Path) -> anyhow::Result<CertInfo> {
    let data = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    certs::parse_bundle(&data)
        .and_then(|mut v| {
            v.drain(..)
                .next()
                .ok_or_else(|| fail(Exit::DataErr, "empty"))
        })
        .map_err(|e| {
            fail(
                Exit::DataErr,
                format!(
                    "keystore file {} is damaged: {}",
                    path.display(),
                    crate::error::single_line(&e)
                ),
            )
        })
}

/// Regular files in `dir` ending in `suffix`, sorted, skipping temporaries.
fn list_files(dir: &Path, suffix: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(suffix) || !entry.path().is_file() {
            continue;
        }
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fixture(name: &str) -> (RsaPrivateKey, CertInfo) {
        let base = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let key = privkey::open(
            &fs::read_to_string(format!("{base}.key.pem")).unwrap(),
            None,
            name,
        )
        .unwrap();
        let cert = certs::parse_bundle(&fs::read(format!("{base}.cert.pem")).unwrap())
            .unwrap()
            .remove(0);
        (key, cert)
    }

    #[test]
    fn created_private_and_round_trips_identities() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ks");
        let ks = Keystore::open(&root).unwrap();
        assert_eq!(
            fs::metadata(&root).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let (key, cert) = fixture("alice");
        let ident = ks.add_identity(&key, &cert, Some("pw")).unwrap();
        assert!(ident.encrypted);
        assert_eq!(
            fs::metadata(&ident.key_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let found = ks.identities_for("alice@example.org").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(ks.unlock(&found[0], Some("pw")).unwrap(), key);
        // A second identity must use the same passphrase.
        let (bob_key, bob_cert) = fixture("bob");
        let err = ks
            .add_identity(&bob_key, &bob_cert, Some("other"))
            .unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
        // A world-readable key file is refused.
        fs::set_permissions(&ident.key_path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = ks.unlock(&found[0], Some("pw")).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
    }

    #[test]
    fn certificates_import_select_remove() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::open(dir.path()).unwrap();
        let (_, bob) = fixture("bob");
        let (_, carol) = fixture("carol");
        let added = ks
            .import_certificates(&[bob.clone(), carol.clone()])
            .unwrap();
        assert!(added.iter().all(|(_, new)| *new));
        assert!(!ks.import_certificates(std::slice::from_ref(&bob)).unwrap()[0].1);
        assert_eq!(
            ks.encryption_certificates("bob@example.org", certs::now())
                .unwrap()
                .len(),
            1
        );
        let removed = ks.remove_certificates(&carol.fingerprint[..12]).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(ks.certificates().unwrap().len(), 1);
        let index = ks.certificate_index().unwrap();
        assert_eq!(
            index
                .encryption_certificates("bob@EXAMPLE.org", certs::now())
                .unwrap()
                .len(),
            1
        );
        assert!(index
            .encryption_certificates("zed@example.org", certs::now())
            .is_err());
        assert_eq!(index.support_for(&bob), Support::default());
        ks.record_support(&bob.fingerprint, Support::MODERN, "user", certs::now())
            .unwrap();
        assert_eq!(
            ks.certificate_index().unwrap().support_for(&bob),
            Support::MODERN
        );
        assert!(ks.remove_certificates("nobody@example.org").is_err());
        assert!(ks.remove_certificates("abc").is_err());
    }
}
