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
//!   learned/                     certificates learned from signed mail and not
//!                                accepted, created on first use, 0700
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
//!
//! # Trust in certificates
//!
//! sealpost does not validate certificate paths yet, so anyone can make a
//! certificate naming any address and sign mail with it. What the user put
//! into the keystore themselves (own identities, `cert import`, `cert accept`)
//! is *accepted*; only accepted certificates are ever used to encrypt. A
//! certificate met in a good signature is only *learned*: kept apart in
//! `learned/`, shown by `cert list`, never used to encrypt until the user
//! accepts it, and only when no other certificate names any of its addresses
//! (see [`Keystore::learn_signer`]). So a forger who signs as someone the user
//! already knows can neither add a certificate for that address nor change
//! which certificate `encrypt` picks for it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rsa::RsaPrivateKey;

use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::{self, CertInfo, Support, UnixTime};
use crate::smime::privkey;
use crate::store::fsutil::{self, PRIVATE_FILE, PUBLIC_FILE};

const CONFIG_FILE: &str = "config.toml";
const CAPABILITIES_FILE: &str = "capabilities.toml";
const IDENTITIES_DIR: &str = "identities";
const CERTS_DIR: &str = "certs";
const LEARNED_DIR: &str = "learned";
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

    /// Correspondents' certificates the user accepted: the only ones, with
    /// own identities, that `encrypt` uses.
    pub fn certificates(&self) -> anyhow::Result<Vec<CertInfo>> {
        read_cert_dir(&self.root.join(CERTS_DIR))
    }

    /// Certificates learned from signed mail and not accepted.
    pub fn learned_certificates(&self) -> anyhow::Result<Vec<CertInfo>> {
        read_cert_dir(&self.root.join(LEARNED_DIR))
    }

    /// Accepts certificates (the user imports them); returns each with
    /// whether it was not accepted before. A learned copy is promoted.
    pub fn import_certificates(&self, certs: &[CertInfo]) -> anyhow::Result<Vec<(CertInfo, bool)>> {
        let dir = self.root.join(CERTS_DIR);
        let mut out = Vec::new();
        for cert in certs {
            let path = dir.join(format!("{}.pem", cert.fingerprint));
            let new = !path.exists();
            if new {
                fsutil::atomic_write(&path, cert.to_pem().as_bytes(), PUBLIC_FILE)?;
            }
            // Accepted first, then no longer learned: a crash between the two
            // leaves it in both places, which reads as accepted.
            let learned = self.learned_path(cert);
            if learned.exists() {
                fsutil::durable_remove(&learned)?;
            }
            out.push((cert.clone(), new));
        }
        Ok(out)
    }

    /// Accepts learned certificates chosen by address or fingerprint prefix
    /// (`cert accept`). An address must select exactly one and have no
    /// accepted certificate yet, so that the user accepts the certificate
    /// whose fingerprint they checked, never a second one by mistake.
    pub fn accept_learned(&self, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
        let chosen = select(self.learned_certificates()?, selector).map_err(|e| {
            let accepted = self.select_certificates(selector).unwrap_or_default();
            match accepted.first() {
                Some(c) => fail(
                    Exit::NoUser,
                    format!(
                        "{selector} is already accepted ({}), nothing learned to accept",
                        &c.fingerprint[..16]
                    ),
                ),
                None => e,
            }
        })?;
        // By address, only for an address nobody vouched for yet: a forger's
        // certificate learned before the real one was imported must not be
        // accepted beside it by a user who meant "alice".
        let accepted = if selector.contains('@') {
            self.certificates_for(selector)?
        } else {
            Vec::new()
        };
        if let Some(existing) = accepted.first() {
            return Err(fail_hint(
                Exit::Usage,
                format!(
                    "{selector} already has an accepted certificate ({}); the learned one ({}) would be a second",
                    &existing.fingerprint[..16],
                    &chosen[0].fingerprint[..16]
                ),
                "if its holder confirms it, accept it by its full fingerprint: sealpost cert accept FINGERPRINT",
            ));
        }
        if selector.contains('@') && chosen.len() > 1 {
            let fingerprints: Vec<&str> = chosen.iter().map(|c| &c.fingerprint[..16]).collect();
            return Err(fail_hint(
                Exit::Usage,
                format!(
                    "{selector} has {} learned certificates ({})",
                    chosen.len(),
                    fingerprints.join(", ")
                ),
                "accept one by its fingerprint: sealpost cert accept FINGERPRINT",
            ));
        }
        self.import_certificates(&chosen)?;
        Ok(chosen)
    }

    /// Removes correspondents' certificates, accepted or learned, chosen by
    /// address or by fingerprint (a prefix of at least 8 hex digits). Own
    /// identities are never removed this way.
    pub fn remove_certificates(&self, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
        let mut all = self.certificates()?;
        all.extend(self.learned_certificates()?);
        let matching = select(all, selector)?;
        for cert in &matching {
            for path in [
                self.root
                    .join(CERTS_DIR)
                    .join(format!("{}.pem", cert.fingerprint)),
                self.learned_path(cert),
            ] {
                if path.exists() {
                    fsutil::durable_remove(&path)?;
                }
            }
        }
        Ok(matching)
    }

    /// Accepted correspondents' certificates for an address or fingerprint prefix.
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

    /// Every accepted certificate that names `addr`: correspondents' and own.
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

    /// The certificates to encrypt to `addr` at `now`: accepted ones only
    /// (see [`certs::select_for_encryption`]); when none is and a learned
    /// one names the address, the error names the command that accepts it.
    pub fn encryption_certificates(
        &self,
        addr: &str,
        now: UnixTime,
    ) -> anyhow::Result<Vec<CertInfo>> {
        let candidates = self.certificates_for(addr)?;
        choose_accepted(addr, &candidates, || self.learned_for(addr), now)
    }

    /// Learned certificates naming `addr`, for an error's hint: unreadable
    /// ones are left out rather than hiding the error being explained.
    fn learned_for(&self, addr: &str) -> Vec<CertInfo> {
        let mut learned = self.learned_certificates().unwrap_or_default();
        learned.retain(|c| c.matches_address(addr));
        learned
    }

    /// Where `cert` is kept while it is learned and not accepted.
    fn learned_path(&self, cert: &CertInfo) -> PathBuf {
        self.root
            .join(LEARNED_DIR)
            .join(format!("{}.pem", cert.fingerprint))
    }

    /// How far the user vouched for a signer's certificate, and which other
    /// certificates the keystore holds for the addresses it names. Reads only.
    pub fn assess_signer(&self, signer: &CertInfo) -> anyhow::Result<SignerTrust> {
        let own: Vec<CertInfo> = self.identities()?.into_iter().map(|i| i.cert).collect();
        let accepted = self.certificates()?;
        let learned = self.learned_certificates()?;
        let is_in = |set: &[CertInfo]| set.iter().any(|c| c.fingerprint == signer.fingerprint);
        let standing = if is_in(&own) {
            Standing::Own
        } else if is_in(&accepted) {
            Standing::Accepted
        } else if is_in(&learned) {
            Standing::Learned
        } else {
            Standing::Unknown
        };
        let mut others = Vec::new();
        for addr in &signer.emails {
            for other in own.iter().chain(&accepted).chain(&learned) {
                let entry = (addr.clone(), other.fingerprint.clone());
                if other.fingerprint != signer.fingerprint
                    && other.matches_address(addr)
                    && !others.contains(&entry)
                {
                    others.push(entry);
                }
            }
        }
        Ok(SignerTrust {
            standing,
            others,
            learned_now: false,
        })
    }

    /// What `decrypt` learns from a good signature by `signer`:
    ///
    /// - a certificate nobody vouched for is kept in `learned/` (not used to
    ///   encrypt) only when no certificate at all (own, accepted or learned)
    ///   names any of its addresses: learning never adds a second
    ///   certificate for an address, so a forger cannot sit beside the real
    ///   one, nor crowd it out;
    /// - the algorithms the signer advertised (`capabilities`) are recorded
    ///   only for an accepted certificate: they change how `encrypt` writes
    ///   to it, and only the user decides whom `encrypt` writes to.
    pub fn learn_signer(
        &self,
        signer: &CertInfo,
        capabilities: &[const_oid::ObjectIdentifier],
        now: UnixTime,
    ) -> anyhow::Result<SignerTrust> {
        let mut trust = self.assess_signer(signer)?;
        match trust.standing {
            Standing::Accepted if !capabilities.is_empty() => {
                let support = Support::from_capabilities(capabilities);
                self.record_support(&signer.fingerprint, support, "signed mail", now)?;
            }
            Standing::Unknown if trust.others.is_empty() && !signer.emails.is_empty() => {
                fsutil::private_dir(&self.root.join(LEARNED_DIR), "keystore")?;
                fsutil::atomic_write(
                    &self.learned_path(signer),
                    signer.to_pem().as_bytes(),
                    PUBLIC_FILE,
                )?;
                trust.standing = Standing::Learned;
                trust.learned_now = true;
            }
            _ => {}
        }
        Ok(trust)
    }
}

/// Whether the user vouched for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The certificate of one of the user's own identities.
    Own,
    /// Imported with `cert import` or promoted with `cert accept`.
    Accepted,
    /// Learned from signed mail and not accepted: never used to encrypt.
    Learned,
    /// Not in the keystore.
    Unknown,
}

impl Standing {
    /// The name used in `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            Standing::Own => "own",
            Standing::Accepted => "accepted",
            Standing::Learned => "learned",
            Standing::Unknown => "unknown",
        }
    }
}

/// What the keystore says about a signer's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerTrust {
    pub standing: Standing,
    /// (address, fingerprint) of every other certificate in the keystore
    /// that names one of the signer's addresses. For a signer that is not
    /// verified, each is a sign that someone may be impersonating.
    pub others: Vec<(String, String)>,
    /// Whether [`Keystore::learn_signer`] stored the certificate just now.
    pub learned_now: bool,
}

impl SignerTrust {
    /// Whether the user vouched for the certificate (own or accepted). A
    /// good signature by an unverified certificate proves only that its key
    /// signed, not who holds the key.
    pub fn verified(&self) -> bool {
        matches!(self.standing, Standing::Own | Standing::Accepted)
    }
}

/// The accepted `candidates` to encrypt to `addr`; when none is usable and
/// a learned certificate names the address (`learned`, asked only then),
/// the error says so and names the command that accepts it.
fn choose_accepted(
    addr: &str,
    candidates: &[CertInfo],
    learned: impl FnOnce() -> Vec<CertInfo>,
    now: UnixTime,
) -> anyhow::Result<Vec<CertInfo>> {
    match certs::select_for_encryption(addr, candidates, now) {
        Ok(chosen) => Ok(chosen.into_iter().cloned().collect()),
        Err(e) => {
            let learned = learned();
            match learned.first() {
                None => Err(e),
                Some(first) => Err(unaccepted_hint(addr, first, learned.len())),
            }
        }
    }
}

/// The error for an address whose only certificates were learned from
/// mail. The accept command is in the message itself, which survives when
/// `encrypt` gathers the errors of several recipients into one line.
fn unaccepted_hint(addr: &str, learned: &CertInfo, count: usize) -> anyhow::Error {
    let more = if count > 1 {
        format!(" (and {} more)", count - 1)
    } else {
        String::new()
    };
    fail_hint(
        Exit::NoUser,
        format!(
            "no accepted certificate for {addr}: certificate {}{more} was learned from signed mail and is not verified; to use it: sealpost cert accept {}",
            &learned.fingerprint[..16],
            learned.fingerprint
        ),
        format!(
            "compare the fingerprint with {addr} by another channel before accepting: anyone can sign as any address"
        ),
    )
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
    /// Accepted and own certificates.
    by_address: std::collections::HashMap<String, Vec<CertInfo>>,
    /// Learned ones, read only when an address has no accepted one, to say
    /// which command would accept one: so that a keystore with many learned
    /// certificates costs nothing when every recipient is known.
    learned: std::cell::OnceCell<std::collections::HashMap<String, Vec<CertInfo>>>,
    keystore: Keystore,
    support: std::collections::BTreeMap<String, SupportRecord>,
}

impl CertIndex {
    /// The certificates to encrypt to `addr` at `now` (see [`certs::select_for_encryption`]).
    pub fn encryption_certificates(
        &self,
        addr: &str,
        now: UnixTime,
    ) -> anyhow::Result<Vec<CertInfo>> {
        let key = certs::normalize_address(addr);
        let candidates = self
            .by_address
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let learned = || {
            self.learned
                .get_or_init(|| {
                    index_by_address(self.keystore.learned_certificates().unwrap_or_default())
                })
                .get(&key)
                .cloned()
                .unwrap_or_default()
        };
        choose_accepted(addr, candidates, learned, now)
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
    /// Loads a [`CertIndex`] of correspondents' accepted and own certificates.
    pub fn certificate_index(&self) -> anyhow::Result<CertIndex> {
        let own = self.identities()?.into_iter().map(|i| i.cert);
        Ok(CertIndex {
            by_address: index_by_address(self.certificates()?.into_iter().chain(own)),
            learned: Default::default(),
            keystore: self.clone(),
            support: self.read_support_records()?,
        })
    }
}

/// Certificates by each address they name, each certificate once.
fn index_by_address(
    certs: impl IntoIterator<Item = CertInfo>,
) -> std::collections::HashMap<String, Vec<CertInfo>> {
    let mut by_address: std::collections::HashMap<String, Vec<CertInfo>> = Default::default();
    let mut seen = std::collections::HashSet::new();
    for cert in certs {
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
    by_address
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

/// Every certificate file in `dir` (none when it does not exist).
fn read_cert_dir(dir: &Path) -> anyhow::Result<Vec<CertInfo>> {
    list_files(dir, ".pem")?
        .iter()
        .map(|p| read_cert_file(p))
        .collect()
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
    fn learning_from_mail_neither_accepts_nor_records_capabilities() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::open(dir.path()).unwrap();
        let (alice_key, alice) = fixture("alice");
        let (_, bob) = fixture("bob");
        let (_, carol) = fixture("carol");
        ks.add_identity(&alice_key, &alice, None).unwrap();
        ks.import_certificates(std::slice::from_ref(&bob)).unwrap();
        let modern = [
            crate::smime::identity::ID_AES256_GCM,
            crate::smime::identity::ID_RSAES_OAEP,
        ];
        let now = certs::now();

        // Own and accepted certificates are verified; only an accepted one
        // takes capabilities from mail.
        let own = ks.learn_signer(&alice, &modern, now).unwrap();
        assert_eq!((own.standing, own.verified()), (Standing::Own, true));
        assert!(ks.support_record(&alice.fingerprint).unwrap().is_none());
        let known = ks.learn_signer(&bob, &modern, now).unwrap();
        assert_eq!(
            (known.standing, known.verified()),
            (Standing::Accepted, true)
        );
        assert_eq!(ks.support_for(&bob).unwrap(), Support::MODERN);

        // A new correspondent is learned, not verified, not for encryption.
        let new = ks.learn_signer(&carol, &modern, now).unwrap();
        assert_eq!(new.standing, Standing::Learned);
        assert!(new.learned_now && !new.verified() && new.others.is_empty());
        assert!(ks.support_record(&carol.fingerprint).unwrap().is_none());
        assert_eq!(ks.learned_certificates().unwrap().len(), 1);
        assert!(ks.certificates_for("carol@example.org").unwrap().is_empty());
        for err in [
            ks.encryption_certificates("carol@example.org", now)
                .unwrap_err(),
            ks.certificate_index()
                .unwrap()
                .encryption_certificates("carol@example.org", now)
                .unwrap_err(),
        ] {
            assert_eq!(crate::error::classify(&err).0, Exit::NoUser);
            let text = crate::error::single_line(&err);
            assert!(
                text.contains(&format!("sealpost cert accept {}", carol.fingerprint)),
                "{text}"
            );
        }
        let again = ks.learn_signer(&carol, &modern, now).unwrap();
        assert_eq!(again.standing, Standing::Learned);
        assert!(!again.learned_now);

        // Accepting promotes it: then it encrypts, and it is no longer learned.
        assert_eq!(ks.accept_learned("carol@example.org").unwrap().len(), 1);
        assert!(ks.learned_certificates().unwrap().is_empty());
        assert_eq!(
            ks.encryption_certificates("carol@example.org", now)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            ks.assess_signer(&carol).unwrap().standing,
            Standing::Accepted
        );
        let err = ks.accept_learned("carol@example.org").unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoUser);

        // `cert import` accepts a learned certificate too; `cert remove`
        // removes learned ones as well as accepted ones.
        ks.remove_certificates(&carol.fingerprint).unwrap();
        ks.learn_signer(&carol, &[], now).unwrap();
        assert!(
            ks.import_certificates(std::slice::from_ref(&carol))
                .unwrap()[0]
                .1
        );
        assert!(ks.learned_certificates().unwrap().is_empty());
        ks.remove_certificates(&carol.fingerprint).unwrap();
        ks.learn_signer(&carol, &[], now).unwrap();
        assert_eq!(
            ks.remove_certificates("carol@example.org").unwrap().len(),
            1
        );
        assert!(ks.learned_certificates().unwrap().is_empty());
        assert!(ks.certificates_for("carol@example.org").unwrap().is_empty());
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
