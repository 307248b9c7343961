//! How far the user vouched for a signer's certificate ([`Standing`]), and
//! what the keystore learns from a good signature ([`Keystore::learn_signer`]):
//! a certificate with a lasting certification path becomes usable
//! (`validated/`), any other one is only kept aside (`learned/`).

use super::{list_files, read_bundle_file, Keystore, LEARNED_DIR, VALIDATED_DIR};
use crate::smime::certs::{CertInfo, Support, UnixTime};
use crate::smime::trust::{validate, AnchorSource, Distrust, Status, Trust, Verdict};
use crate::store::fsutil::{self, PUBLIC_FILE};

/// At most this many CA certificates a message carried are kept with a
/// validated certificate (a path rarely has more than two intermediates).
const MAX_KEPT_CHAIN: usize = 8;

/// What a signature's verdict vouches for, as far as learning from it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vouched {
    /// A BAD signature: nothing is learned from it.
    Nothing,
    /// A good signature, not backed by a lasting path: the signer is not
    /// trusted, its certificate does not name the sender, it is trusted
    /// only as a certificate the user accepted, or only through a
    /// `--trust-anchor` given for this one command.
    Signature,
    /// A good signature, trusted through a certification path to an anchor
    /// of the keystore (`cert trust`) or of the system, by a certificate
    /// that names the sender (or there is no sender to compare with).
    Path,
}

impl Vouched {
    /// What `verdict` vouches for.
    pub fn of(verdict: &Verdict) -> Vouched {
        match (verdict.status, verdict.trust()) {
            (Status::BadSignature, _) => Vouched::Nothing,
            // An anchor given for one command vouches for that command only:
            // what outlives it must rest on anchors that outlive it too.
            (Status::Trusted, Some(Trust::Path { source, .. }))
                if *source != AnchorSource::CommandLine =>
            {
                Vouched::Path
            }
            _ => Vouched::Signature,
        }
    }
}

impl Keystore {
    /// How far the user vouched for a signer's certificate, and which other
    /// certificates the keystore holds for the addresses it names. Reads only.
    pub fn assess_signer(&self, signer: &CertInfo) -> anyhow::Result<SignerTrust> {
        let own: Vec<CertInfo> = self.identities()?.into_iter().map(|i| i.cert).collect();
        let accepted = self.certificates()?;
        let validated = self.validated_certificates()?;
        let learned = self.learned_certificates()?;
        let is_in = |set: &[CertInfo]| set.iter().any(|c| c.fingerprint == signer.fingerprint);
        let standing = if is_in(&own) {
            Standing::Own
        } else if is_in(&accepted) {
            Standing::Accepted
        } else if is_in(&validated) {
            Standing::Validated
        } else if is_in(&learned) {
            Standing::Learned
        } else {
            Standing::Unknown
        };
        let usable = own.iter().chain(&accepted).chain(&validated);
        Ok(SignerTrust {
            standing,
            others: others(signer, usable.clone().chain(&learned)),
            held_back_by: Vec::new(),
            usable_others: others(signer, usable),
            learned_now: false,
            capabilities_recorded: false,
        })
    }

    /// What `decrypt` and `verify` learn from a signature by `signer`
    /// whose verdict `vouched` for what it did; `carried` are the
    /// certificates the message carried:
    ///
    /// - nothing from a BAD signature;
    /// - a certificate trusted through a lasting path ([`Vouched::Path`])
    ///   becomes *validated*: used to encrypt, like an accepted one, but only
    ///   when encrypt can use it (key usage, validity) and no other own,
    ///   accepted or validated certificate names any of its addresses. The
    ///   CA certificates the message carried are kept with it, so that its
    ///   path can be built again later from the anchor alone. Otherwise it is kept in `learned/` as any other
    ///   (`held_back_by` names the ones in the way): replacing a
    ///   correspondent's certificate is the user's explicit choice;
    /// - any other certificate nobody vouched for is kept in `learned/`
    ///   (never used to encrypt until `cert accept`) only when no certificate
    ///   at all (own, accepted, validated or learned) names any of its
    ///   addresses: so a forger can neither sit beside the real one nor
    ///   crowd it out;
    /// - the algorithms the signer advertised (`capabilities`) are recorded
    ///   for an accepted certificate and for one validated by this verdict:
    ///   they change how `encrypt` writes to it, so only a signer whose
    ///   certificate `encrypt` may use can announce them.
    pub fn learn_signer(
        &self,
        signer: &CertInfo,
        carried: &[CertInfo],
        capabilities: &[const_oid::ObjectIdentifier],
        vouched: Vouched,
        now: UnixTime,
    ) -> anyhow::Result<SignerTrust> {
        let mut trust = self.assess_signer(signer)?;
        if vouched == Vouched::Nothing || signer.emails.is_empty() {
            return Ok(trust);
        }
        // A certificate encrypt could not use (signing only, as in
        // dual-key setups) is not made usable: it would only stand in the
        // way of the correspondent's encryption certificate.
        let by_path = vouched == Vouched::Path
            && signer
                .encryption_problems(&signer.emails[0], now)
                .is_empty();
        match trust.standing {
            Standing::Own | Standing::Accepted => {}
            Standing::Validated if by_path => {}
            Standing::Validated => return Ok(trust),
            Standing::Learned | Standing::Unknown if by_path && trust.usable_others.is_empty() => {
                self.keep_validated(signer, carried)?;
                // Validated first, then no longer learned: a crash between
                // the two leaves it in both places, which reads as validated.
                let learned = self.learned_path(signer);
                if learned.exists() {
                    fsutil::durable_remove(&learned)?;
                }
                trust.standing = Standing::Validated;
                trust.learned_now = true;
            }
            Standing::Learned | Standing::Unknown => {
                if by_path {
                    // Own certificates are never replaced this way: the
                    // report names only what `cert remove` can remove.
                    let own: Vec<String> = self
                        .identities()?
                        .into_iter()
                        .map(|i| i.cert.fingerprint)
                        .collect();
                    trust.held_back_by = trust.usable_others.clone();
                    trust.held_back_by.retain(|(_, fp)| !own.contains(fp));
                }
                // A path-trusted certificate is kept aside even beside
                // another one, so that `cert accept FINGERPRINT` can replace
                // it; any other only for an address nobody else claims.
                if trust.standing == Standing::Unknown && (by_path || trust.others.is_empty()) {
                    self.keep(signer, LEARNED_DIR)?;
                    trust.standing = Standing::Learned;
                    trust.learned_now = true;
                }
                return Ok(trust);
            }
        }
        if !capabilities.is_empty() && trust.standing != Standing::Own {
            let support = Support::from_capabilities(capabilities);
            trust.capabilities_recorded =
                self.record_support(&signer.fingerprint, support, "signed mail", now)?;
        }
        Ok(trust)
    }

    /// Checks every validated certificate's path again, with the keystore's
    /// anchors (and the system's when `system`), its CRLs and the chain
    /// kept with it: one that no longer validates at `now` (its anchor
    /// removed, revoked, expired) goes back to `learned/`, where encrypt
    /// does not use it. Returns those, with why. For the commands that take
    /// trust away (`cert untrust`, `cert crl import`).
    pub fn recheck_validated(
        &self,
        system: bool,
        now: UnixTime,
    ) -> anyhow::Result<Vec<(CertInfo, Distrust)>> {
        let files = list_files(&self.root.join(VALIDATED_DIR), ".pem")?;
        if files.is_empty() {
            return Ok(Vec::new()); // no anchors to load
        }
        let sources = self.trust_sources(Vec::new(), system)?;
        let inputs = sources.inputs(now);
        let mut demoted = Vec::new();
        for path in files {
            let bundle = read_bundle_file(&path)?;
            let cert = &bundle[0];
            if let Err(why) = validate(cert, &bundle[1..], &[], &inputs).trust {
                // Learned first, then no longer validated: a crash between
                // the two leaves it in both places, which reads as validated
                // and is checked again next time.
                self.keep(cert, LEARNED_DIR)?;
                fsutil::durable_remove(&path)?;
                demoted.push((cert.clone(), why));
            }
        }
        Ok(demoted)
    }

    /// Writes `cert` into the keystore directory `dir` (created on first use).
    fn keep(&self, cert: &CertInfo, dir: &str) -> anyhow::Result<()> {
        self.keep_bundle(cert, &[], dir)
    }

    /// Writes a validated certificate followed by the CA certificates among
    /// `carried` (at most [`MAX_KEPT_CHAIN`]): the file's first certificate
    /// is the one it is named after, the rest only serve to build paths.
    fn keep_validated(&self, cert: &CertInfo, carried: &[CertInfo]) -> anyhow::Result<()> {
        let chain: Vec<&CertInfo> = carried
            .iter()
            .filter(|c| c.fingerprint != cert.fingerprint && c.is_ca())
            .take(MAX_KEPT_CHAIN)
            .collect();
        self.keep_bundle(cert, &chain, VALIDATED_DIR)
    }

    fn keep_bundle(&self, cert: &CertInfo, chain: &[&CertInfo], dir: &str) -> anyhow::Result<()> {
        let dir = self.root.join(dir);
        fsutil::private_dir(&dir, "keystore")?;
        let mut pem = cert.to_pem();
        for c in chain {
            pem.push_str(&c.to_pem());
        }
        fsutil::atomic_write(
            &dir.join(format!("{}.pem", cert.fingerprint)),
            pem.as_bytes(),
            PUBLIC_FILE,
        )
    }
}

/// (address, fingerprint) of every certificate among `certs` other than
/// `signer` that names one of its addresses, each once.
fn others<'a>(
    signer: &CertInfo,
    certs: impl Iterator<Item = &'a CertInfo> + Clone,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for addr in &signer.emails {
        for other in certs.clone() {
            let entry = (addr.clone(), other.fingerprint.clone());
            if other.fingerprint != signer.fingerprint
                && other.matches_address(addr)
                && !out.contains(&entry)
            {
                out.push(entry);
            }
        }
    }
    out
}

/// Whether, and how, a certificate is in the keystore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The certificate of one of the user's own identities.
    Own,
    /// Imported with `cert import` or promoted with `cert accept`.
    Accepted,
    /// Learned from a signature trusted through a certification path to a
    /// keystore or system anchor: used to encrypt, though the user did not
    /// accept it one by one.
    Validated,
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
            Standing::Validated => "validated",
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
    /// The own, accepted or validated certificates among `others`: those
    /// `encrypt` uses for the signer's addresses.
    pub usable_others: Vec<(String, String)>,
    /// For a signer trusted through a path that was nevertheless not made
    /// usable: the accepted or validated certificates already used for its
    /// addresses.
    pub held_back_by: Vec<(String, String)>,
    /// Whether [`Keystore::learn_signer`] stored the certificate just now
    /// (as `standing` says: validated or learned).
    pub learned_now: bool,
    /// Whether [`Keystore::learn_signer`] recorded new capabilities for it.
    pub capabilities_recorded: bool,
}

impl SignerTrust {
    /// Whether the user vouched for the certificate (own or accepted). A
    /// good signature by an unverified certificate proves only that its key
    /// signed, not who holds the key.
    pub fn verified(&self) -> bool {
        matches!(self.standing, Standing::Own | Standing::Accepted)
    }
}
