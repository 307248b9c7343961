//! Correspondents' certificates: accepted (`certs/`), validated from mail
//! (`validated/`) and learned from mail (`learned/`), importing, accepting,
//! removing and selecting them, and
//! choosing the ones to encrypt to, one address at a time or through a
//! [`CertIndex`] loaded once.

use std::path::PathBuf;

use super::capabilities::SupportRecord;
use super::{
    cert_file, list_files, read_bundle_file, read_cert_dir, store_cert, Keystore, CERTS_DIR,
    LEARNED_DIR, VALIDATED_DIR,
};
use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::{self, CertInfo, Support};
use crate::smime::trust::{self, RecipientRules};
use crate::store::fsutil;

impl Keystore {
    /// Correspondents' certificates the user accepted: with own identities
    /// and validated certificates, the ones `encrypt` uses.
    pub fn certificates(&self) -> anyhow::Result<Vec<CertInfo>> {
        read_cert_dir(&self.root.join(CERTS_DIR))
    }

    /// Certificates learned from mail signed under a certification path to
    /// a keystore or system anchor ([`Keystore::learn_signer`]): used to
    /// encrypt, though the user did not accept them one by one.
    pub fn validated_certificates(&self) -> anyhow::Result<Vec<CertInfo>> {
        read_cert_dir(&self.root.join(VALIDATED_DIR))
    }

    /// The CA certificates kept with validated certificates (the rest of
    /// the paths they were validated through): intermediates for building
    /// paths, trusted for nothing by themselves.
    pub fn validated_chains(&self) -> anyhow::Result<Vec<CertInfo>> {
        let mut out = Vec::new();
        for path in list_files(&self.root.join(VALIDATED_DIR), ".pem")? {
            out.extend(read_bundle_file(&path)?.into_iter().skip(1));
        }
        Ok(out)
    }

    /// Certificates learned from signed mail and not accepted.
    pub fn learned_certificates(&self) -> anyhow::Result<Vec<CertInfo>> {
        read_cert_dir(&self.root.join(LEARNED_DIR))
    }

    /// Accepts certificates (the user imports them); returns each with
    /// whether it was not accepted before. A learned or validated copy is
    /// promoted.
    pub fn import_certificates(&self, certs: &[CertInfo]) -> anyhow::Result<Vec<(CertInfo, bool)>> {
        let dir = self.root.join(CERTS_DIR);
        let mut out = Vec::new();
        for cert in certs {
            let new = store_cert(&dir, cert)?;
            // Accepted first, then no longer learned: a crash between the two
            // leaves it in both places, which reads as accepted.
            for copy in [self.learned_path(cert), self.validated_path(cert)] {
                if copy.exists() {
                    fsutil::durable_remove(&copy)?;
                }
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
                    "{selector} already has a certificate encrypt uses ({}); the learned one ({}) would be a second",
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

    /// Removes correspondents' certificates, accepted, validated or learned, chosen by
    /// address or by fingerprint (a prefix of at least 8 hex digits). Own
    /// identities are never removed this way.
    pub fn remove_certificates(&self, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
        let mut all = self.certificates()?;
        all.extend(self.validated_certificates()?);
        all.extend(self.learned_certificates()?);
        let matching = select(all, selector)?;
        for cert in &matching {
            for path in [
                cert_file(&self.root.join(CERTS_DIR), cert),
                self.learned_path(cert),
                self.validated_path(cert),
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

    /// Like [`Self::select_certificates`], validated and own identities'
    /// certificates included.
    pub fn select_known_certificates(&self, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
        let mut all = self.certificates()?;
        all.extend(self.validated_certificates()?);
        for ident in self.identities()? {
            if !all.iter().any(|c| c.fingerprint == ident.cert.fingerprint) {
                all.push(ident.cert);
            }
        }
        select(all, selector)
    }

    /// Every certificate `encrypt` may use that names `addr`:
    /// correspondents' accepted and validated ones, and own.
    pub fn certificates_for(&self, addr: &str) -> anyhow::Result<Vec<CertInfo>> {
        let mut out: Vec<CertInfo> = self
            .usable_correspondents()?
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

    /// The certificates to encrypt to `addr`: own, accepted and validated
    /// ones only, those `rules` allow (see [`trust::select_recipients`]);
    /// when none is and a learned one names the address, the error names
    /// the command that accepts it.
    pub fn encryption_certificates(
        &self,
        addr: &str,
        rules: &RecipientRules<'_>,
    ) -> anyhow::Result<Vec<CertInfo>> {
        let candidates = self.certificates_for(addr)?;
        choose_accepted(addr, &candidates, || self.learned_for(addr), rules)
    }

    /// Learned certificates naming `addr`, for an error's hint: unreadable
    /// ones are left out rather than hiding the error being explained.
    fn learned_for(&self, addr: &str) -> Vec<CertInfo> {
        let mut learned = self.learned_certificates().unwrap_or_default();
        learned.retain(|c| c.matches_address(addr));
        learned
    }

    /// Where `cert` is kept while it is learned and not accepted.
    pub(super) fn learned_path(&self, cert: &CertInfo) -> PathBuf {
        cert_file(&self.root.join(LEARNED_DIR), cert)
    }

    /// Where `cert` is kept while it is validated and not accepted.
    fn validated_path(&self, cert: &CertInfo) -> PathBuf {
        cert_file(&self.root.join(VALIDATED_DIR), cert)
    }

    /// Correspondents' certificates `encrypt` may use: accepted, then
    /// validated (a crash may leave one in both places).
    fn usable_correspondents(&self) -> anyhow::Result<Vec<CertInfo>> {
        let mut all = self.certificates()?;
        all.extend(self.validated_certificates()?);
        Ok(all)
    }
}

/// The accepted `candidates` to encrypt to `addr`; when none is usable and
/// a learned certificate names the address (`learned`, asked only then),
/// the error says so and names the command that accepts it. A refusal
/// (an accepted certificate expired, revoked, untrusted) is kept as it is:
/// it says more than that a learned one exists.
fn choose_accepted(
    addr: &str,
    candidates: &[CertInfo],
    learned: impl FnOnce() -> Vec<CertInfo>,
    rules: &RecipientRules<'_>,
) -> anyhow::Result<Vec<CertInfo>> {
    match trust::select_recipients(addr, candidates, rules) {
        Ok(chosen) => Ok(chosen.into_iter().cloned().collect()),
        Err(e) if crate::error::classify(&e).0 != Exit::NoUser => Err(e),
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

/// Every certificate the keystore knows, by address, with what each holder
/// reads: loaded once, so encrypting to a thousand recipients reads the
/// keystore once rather than once per recipient.
pub struct CertIndex {
    /// Accepted, validated and own certificates.
    by_address: std::collections::HashMap<String, Vec<CertInfo>>,
    /// Learned ones, read only when an address has no accepted one, to say
    /// which command would accept one: so that a keystore with many learned
    /// certificates costs nothing when every recipient is known.
    learned: std::cell::OnceCell<std::collections::HashMap<String, Vec<CertInfo>>>,
    keystore: Keystore,
    support: std::collections::BTreeMap<String, SupportRecord>,
}

impl CertIndex {
    /// Like [`Keystore::encryption_certificates`].
    pub fn encryption_certificates(
        &self,
        addr: &str,
        rules: &RecipientRules<'_>,
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
        choose_accepted(addr, candidates, learned, rules)
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
    /// Loads a [`CertIndex`] of correspondents' accepted and validated
    /// certificates and own ones.
    pub fn certificate_index(&self) -> anyhow::Result<CertIndex> {
        let own = self.identities()?.into_iter().map(|i| i.cert);
        Ok(CertIndex {
            by_address: index_by_address(self.usable_correspondents()?.into_iter().chain(own)),
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
pub(super) fn select(all: Vec<CertInfo>, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
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
