//! The keystore directory.
//!
//! ```text
//! KEYSTORE/                      0700, created on first use
//!   config.toml                  settings (accounts, groups), TOML, 0600
//!   identities/                  own keys, 0700
//!     <fingerprint>.key.pem      private key, encrypted PKCS#8 (or plain if asked), 0600
//!     <fingerprint>.cert.pem     its certificate, 0644
//!   certs/                       correspondents' certificates the user accepted
//!                                (`cert import`, `cert accept`), 0700
//!     <fingerprint>.pem          one certificate, 0644
//!   validated/                   correspondents' certificates learned from mail
//!                                signed under a certification path to a trust
//!                                anchor, created on first use, 0700
//!     <fingerprint>.pem          the certificate, then the CA certificates its
//!                                message carried (for building paths), 0644
//!   learned/                     certificates learned from signed mail and not
//!                                accepted, created on first use, 0700
//!     <fingerprint>.pem          one certificate, 0644
//!   anchors/                     trust anchors the user added (`cert trust`),
//!                                created on first use, 0700
//!     <fingerprint>.pem          one certificate, 0644
//!   crls/                        CRLs the user imported (`cert crl import`),
//!                                created on first use, 0700
//!     <sha256 of the DER>.crl    one CRL, DER, 0644
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
//!
//! # Trust in certificates
//!
//! Anyone can make a certificate naming any address and sign mail with it.
//! A signer is trusted when its certificate has a certification path to a
//! trust anchor (`anchors/`, `--trust-anchor`, the system's CA store;
//! `crate::smime::trust`) or is one the user accepted; encrypting does not
//! validate paths yet. What the user put into the keystore themselves (own
//! identities, `cert import`, `cert accept`) is *accepted*. A certificate
//! met in a good signature trusted through a path to a keystore or system
//! anchor, by a certificate naming the sender, is *validated*: kept in
//! `validated/`, used to encrypt like an accepted one, but only when no own,
//! accepted or validated certificate names any of its addresses already. Any
//! other certificate met in a good signature is only *learned*: kept apart
//! in `learned/`, shown by `cert list`, never used to encrypt until the user
//! accepts it, and only when no other certificate names any of its addresses
//! (see [`Keystore::learn_signer`]). So a forger who signs as someone the
//! user already knows can neither add a certificate for that address nor
//! change which certificate `encrypt` picks for it, and a CA the user trusts
//! can introduce a new correspondent but not replace a known one.
//!
//! # The parts
//!
//! The directory, own identities and reading certificate files are here;
//! correspondents' certificates and choosing them for encryption are in
//! `correspondents.rs`, the trust in a signer in `trust.rs`, and the recorded
//! capabilities (`capabilities.toml`) in `capabilities.rs`, trust anchors
//! and CRLs in `anchors.rs`, certificates a CA issued for an own key in
//! `issued.rs`.

mod anchors;
mod capabilities;
mod correspondents;
mod issued;
mod trust;

pub use anchors::{system_anchors, TrustSources};

pub use capabilities::SupportRecord;
pub use correspondents::CertIndex;
pub use issued::{not_for_own_key, Installed};
pub use trust::{SignerTrust, Standing, Vouched};

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::{self, CertInfo, UnixTime};
use crate::smime::privkey::{self, PrivateKey};
use crate::store::fsutil::{self, PRIVATE_FILE, PUBLIC_FILE};

const CONFIG_FILE: &str = "config.toml";
const CAPABILITIES_FILE: &str = "capabilities.toml";
const IDENTITIES_DIR: &str = "identities";
const CERTS_DIR: &str = "certs";
const LEARNED_DIR: &str = "learned";
const VALIDATED_DIR: &str = "validated";
const DEFAULT_CONFIG: &str = "# sealpost keystore settings. Accounts and groups are added by\n\
# `sealpost account add` and `sealpost group join`; edit with care.\n";

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

    /// Every own identity, newest certificate first (a CA-issued one before
    /// the self-signed ones of its key: see `issued.rs`).
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
        Ok(issued::current_first(out))
    }

    /// Identities whose certificate names `addr`, newest first.
    pub fn identities_for(&self, addr: &str) -> anyhow::Result<Vec<Identity>> {
        Ok(self
            .identities()?
            .into_iter()
            .filter(|i| i.cert.matches_address(addr))
            .collect())
    }

    /// The identity to sign as for `addr`: the newest one currently valid
    /// whose key can sign (an X25519 key beside an Ed25519 one cannot).
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
            .filter(|i| i.cert.key_kind.as_ref().is_ok_and(|k| k.can_sign()))
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
        key: &PrivateKey,
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
    ) -> anyhow::Result<PrivateKey> {
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
}

/// Where `cert` is kept in `dir` (`certs/`, `learned/`, `validated/`,
/// `anchors/`): `dir/<fingerprint>.pem`.
fn cert_file(dir: &Path, cert: &CertInfo) -> PathBuf {
    dir.join(format!("{}.pem", cert.fingerprint))
}

/// Writes `cert` as [`cert_file`] in `dir` unless it is there; returns
/// whether it was new.
fn store_cert(dir: &Path, cert: &CertInfo) -> anyhow::Result<bool> {
    let path = cert_file(dir, cert);
    let new = !path.exists();
    if new {
        fsutil::atomic_write(&path, cert.to_pem().as_bytes(), PUBLIC_FILE)?;
    }
    Ok(new)
}

/// Every certificate file in `dir` (none when it does not exist).
fn read_cert_dir(dir: &Path) -> anyhow::Result<Vec<CertInfo>> {
    list_files(dir, ".pem")?
        .iter()
        .map(|p| read_cert_file(p))
        .collect()
}

fn read_cert_file(path: &Path) -> anyhow::Result<CertInfo> {
    Ok(read_bundle_file(path)?.remove(0))
}

/// Every certificate in a keystore file, at least one: the first is the
/// one the file is named after.
fn read_bundle_file(path: &Path) -> anyhow::Result<Vec<CertInfo>> {
    let data = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    certs::parse_bundle(&data)
        .and_then(|v| match v.is_empty() {
            true => Err(fail(Exit::DataErr, "empty")),
            false => Ok(v),
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
mod tests;
