//! How far the user vouched for a signer's certificate ([`Standing`]), and
//! learning a signer's certificate from signed mail without accepting it.

use super::{Keystore, LEARNED_DIR};
use crate::smime::certs::{CertInfo, Support, UnixTime};
use crate::store::fsutil::{self, PUBLIC_FILE};

impl Keystore {
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
