//! Trust anchors (`anchors/`, `cert trust`) and CRLs (`crls/`, `cert crl
//! import`) kept in the keystore, and everything a signer's (or a
//! recipient's) path is judged with gathered in one place ([`TrustSources`]).

use std::fs;

use anyhow::Context as _;

use super::{list_files, read_cert_dir, store_cert, Keystore};
use crate::error::{fail, Exit};
use crate::smime::certs::{CertInfo, UnixTime};
use crate::smime::trust::{Anchor, AnchorSource, CrlInfo, PathInputs};
use crate::store::fsutil::{self, PUBLIC_FILE};

pub(super) const ANCHORS_DIR: &str = "anchors";
pub(super) const CRLS_DIR: &str = "crls";

/// More CRL bytes than this are not read from the keystore (a CRL of a
/// large CA is a few MB).
const MAX_CRL_BYTES: u64 = 16 << 20;

/// What a signer is judged with: anchors, the certificates the user
/// accepted, further intermediates, and CRLs.
#[derive(Debug, Clone, Default)]
pub struct TrustSources {
    pub anchors: Vec<Anchor>,
    pub explicit: Vec<CertInfo>,
    pub intermediates: Vec<CertInfo>,
    pub crls: Vec<Vec<u8>>,
}

impl TrustSources {
    /// The inputs for [`crate::smime::trust::judge`] at `time`.
    pub fn inputs(&self, time: UnixTime) -> PathInputs<'_> {
        PathInputs {
            anchors: &self.anchors,
            explicit: &self.explicit,
            intermediates: &self.intermediates,
            crls: &self.crls,
            time,
        }
    }
}

/// The operating system's CA certificates (those that parse), as anchors.
pub fn system_anchors() -> Vec<Anchor> {
    rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .filter_map(|der| CertInfo::from_der(der.as_ref()).ok())
        .map(|cert| Anchor {
            cert,
            source: AnchorSource::System,
        })
        .collect()
}

impl Keystore {
    /// The trust anchors the user added with `cert trust`.
    pub fn anchors(&self) -> anyhow::Result<Vec<CertInfo>> {
        read_cert_dir(&self.root.join(ANCHORS_DIR))
    }

    /// Adds trust anchors; returns each with whether it is new.
    pub fn add_anchors(&self, certs: &[CertInfo]) -> anyhow::Result<Vec<(CertInfo, bool)>> {
        let dir = self.root.join(ANCHORS_DIR);
        fsutil::private_dir(&dir, "keystore")?;
        let mut out = Vec::new();
        for cert in certs {
            out.push((cert.clone(), store_cert(&dir, cert)?));
        }
        Ok(out)
    }

    /// Removes trust anchors by fingerprint (at least 8 hex digits) or by an
    /// address they name.
    pub fn remove_anchors(&self, selector: &str) -> anyhow::Result<Vec<CertInfo>> {
        let matching = super::correspondents::select(self.anchors()?, selector)?;
        for cert in &matching {
            fsutil::durable_remove(&super::cert_file(&self.root.join(ANCHORS_DIR), cert))?;
        }
        Ok(matching)
    }

    /// Keeps a CRL (already parsed); returns whether it is new.
    pub fn add_crl(&self, crl: &CrlInfo) -> anyhow::Result<bool> {
        let dir = self.root.join(CRLS_DIR);
        fsutil::private_dir(&dir, "keystore")?;
        let path = dir.join(format!("{}.crl", crl.fingerprint));
        let new = !path.exists();
        if new {
            fsutil::atomic_write(&path, &crl.der, PUBLIC_FILE)?;
        }
        Ok(new)
    }

    /// The CRLs imported with `cert crl import` (DER).
    pub fn crls(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for path in list_files(&self.root.join(CRLS_DIR), ".crl")? {
            let len = fs::metadata(&path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .len();
            if len > MAX_CRL_BYTES {
                return Err(fail(
                    Exit::DataErr,
                    format!("keystore file {} is too large for a CRL", path.display()),
                ));
            }
            out.push(fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?);
        }
        Ok(out)
    }

    /// What recipients' certificates are judged with (see
    /// [`crate::smime::trust::RecipientRules`]): nothing when no path is
    /// asked for (`paths`) and the keystore holds no CRL, as nothing can
    /// then be revoked (the system store is not read for nothing); else
    /// as [`Self::trust_sources`].
    pub fn recipient_trust_sources(
        &self,
        extra: Vec<CertInfo>,
        system: bool,
        paths: bool,
    ) -> anyhow::Result<TrustSources> {
        if !paths && list_files(&self.root.join(CRLS_DIR), ".crl")?.is_empty() {
            return Ok(TrustSources::default());
        }
        self.trust_sources(extra, system)
    }

    /// What a signer is judged with: the keystore's anchors, `extra`
    /// anchors (`--trust-anchor`), the system's when `system`; own and
    /// accepted certificates as trusted one by one; accepted certificates
    /// and the CA certificates kept with validated ones as intermediates;
    /// the keystore's CRLs.
    pub fn trust_sources(
        &self,
        extra: Vec<CertInfo>,
        system: bool,
    ) -> anyhow::Result<TrustSources> {
        let mut anchors: Vec<Anchor> = self
            .anchors()?
            .into_iter()
            .map(|cert| Anchor {
                cert,
                source: AnchorSource::Keystore,
            })
            .collect();
        anchors.extend(extra.into_iter().map(|cert| Anchor {
            cert,
            source: AnchorSource::CommandLine,
        }));
        if system {
            anchors.extend(system_anchors());
        }
        let accepted = self.certificates()?;
        let mut explicit: Vec<CertInfo> = self.identities()?.into_iter().map(|i| i.cert).collect();
        explicit.extend(accepted.iter().cloned());
        let mut intermediates = accepted;
        intermediates.extend(self.validated_chains()?);
        Ok(TrustSources {
            anchors,
            explicit,
            intermediates,
            crls: self.crls()?,
        })
    }
}
