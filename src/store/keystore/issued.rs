//! Certificates a CA issued for an own key (`key import-cert`), and the
//! chain an own certificate is exported with (`key export --p12`).
//!
//! An issued certificate becomes an identity of its own beside the ones
//! the key already had: `identities/<new fingerprint>.key.pem` is a copy of
//! the existing (still sealed) key file, `<new fingerprint>.cert.pem` the
//! new certificate. So nothing is unlocked to install it, and the old
//! certificates stay and keep old mail readable.
//!
//! The identity used for an address is the first of [`current_first`]: the
//! newest by notBefore, except that a certificate a CA issued for a key
//! ranks above that key's self-signed certificates whatever its notBefore.
//! CAs back-date (by an hour, a day), so the self-signed certificate made
//! minutes before the request would otherwise stay in use; a later renewal
//! by the CA is newer again, and a new key is newer than both. The CA certificates that came with it are kept where `key import`
//! keeps a PKCS#12 file's chain (`certs/`): intermediates for building
//! paths, never trust anchors (that takes `cert trust`).
//!
//! May use: its parent `keystore`, `crate::smime::certs`, `crate::error`.

use std::fs;

use anyhow::Context as _;
use der::Encode;

use super::{Identity, Keystore, IDENTITIES_DIR};
use crate::error::{fail_hint, Exit};
use crate::smime::certs::CertInfo;
use crate::store::fsutil::{self, PRIVATE_FILE, PUBLIC_FILE};

/// The most CA certificates an exported chain holds (a path longer than
/// this is not a chain any importer builds).
const MAX_CHAIN: usize = 8;

/// What [`Keystore::install_certificate`] did.
pub struct Installed {
    pub identity: Identity,
    /// False when the keystore already held this very certificate.
    pub new: bool,
}

/// The DER SubjectPublicKeyInfo of a certificate: what an issued
/// certificate and an own key's earlier certificate have in common,
/// whatever the key's algorithm.
fn spki_der(cert: &CertInfo) -> Option<Vec<u8>> {
    cert.cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .ok()
}

/// `idents` in the order the keystore uses them, current first (see the
/// module documentation). Stable: equals keep their (file name) order.
pub(super) fn current_first(idents: Vec<Identity>) -> Vec<Identity> {
    let self_signed =
        |c: &CertInfo| c.cert.tbs_certificate.issuer == c.cert.tbs_certificate.subject;
    let keys: Vec<Option<Vec<u8>>> = idents.iter().map(|i| spki_der(&i.cert)).collect();
    let rank = |n: usize| {
        let cert = &idents[n].cert;
        if !self_signed(cert) || keys[n].is_none() {
            return cert.not_before;
        }
        // Just below the oldest CA-issued certificate of the same key.
        idents
            .iter()
            .zip(&keys)
            .filter(|(other, key)| !self_signed(&other.cert) && **key == keys[n])
            .map(|(other, _)| other.cert.not_before.saturating_sub(1))
            .fold(cert.not_before, i64::min)
    };
    let ranks: Vec<i64> = (0..idents.len()).map(rank).collect();
    let mut ranked: Vec<(i64, Identity)> = ranks.into_iter().zip(idents).collect();
    ranked.sort_by_key(|(rank, _)| std::cmp::Reverse(*rank));
    ranked.into_iter().map(|(_, ident)| ident).collect()
}

/// The own identity with the public key `cert` carries.
fn owner_of<'i>(idents: &'i [Identity], cert: &CertInfo) -> Option<&'i Identity> {
    let wanted = spki_der(cert)?;
    idents
        .iter()
        .find(|i| spki_der(&i.cert).as_ref() == Some(&wanted))
}

/// The error for a certificate that belongs to no own key.
pub fn not_for_own_key(cert: &CertInfo) -> anyhow::Error {
    fail_hint(
        Exit::NoUser,
        format!(
            "the certificate {} ({}) is for no key in this keystore",
            cert.emails.join(", "),
            &cert.fingerprint[..16]
        ),
        "install it in the keystore whose `sealpost key csr` it answers",
    )
}

impl Keystore {
    /// Whether `cert` carries the public key of an own key.
    pub fn is_for_own_key(&self, cert: &CertInfo) -> anyhow::Result<bool> {
        Ok(owner_of(&self.identities()?, cert).is_some())
    }

    /// Installs `cert` on the own key whose public key it carries (see the
    /// module documentation). A certificate for no own key is
    /// [`Exit::NoUser`]; one naming an address that is not a mailbox is
    /// refused as [`CertInfo::check_addresses`] says.
    pub fn install_certificate(&self, cert: &CertInfo) -> anyhow::Result<Installed> {
        cert.check_addresses()?;
        let idents = self.identities()?;
        let owner = owner_of(&idents, cert).ok_or_else(|| not_for_own_key(cert))?;
        if let Some(same) = idents
            .iter()
            .find(|i| i.cert.fingerprint == cert.fingerprint)
        {
            return Ok(Installed {
                identity: same.clone(),
                new: false,
            });
        }
        fsutil::check_private_file(&owner.key_path, "private key file")?;
        let sealed = zeroize::Zeroizing::new(
            fs::read(&owner.key_path)
                .with_context(|| format!("cannot read {}", owner.key_path.display()))?,
        );
        let dir = self.root.join(IDENTITIES_DIR);
        let key_path = dir.join(format!("{}.key.pem", cert.fingerprint));
        // Key first, as in `add_identity`: a certificate without its key is
        // ignored, the reverse would be an orphan secret.
        fsutil::atomic_write(&key_path, &sealed, PRIVATE_FILE)?;
        fsutil::atomic_write(
            &dir.join(format!("{}.cert.pem", cert.fingerprint)),
            cert.to_pem().as_bytes(),
            PUBLIC_FILE,
        )?;
        Ok(Installed {
            identity: Identity {
                cert: cert.clone(),
                key_path,
                encrypted: owner.encrypted,
            },
            new: true,
        })
    }

    /// The CA certificates above `cert` that the keystore holds (accepted,
    /// kept with validated certificates, or anchors), issuer first, matched
    /// by name, up to a self-issued one; for exporting `cert` with its chain.
    pub fn chain_for(&self, cert: &CertInfo) -> anyhow::Result<Vec<CertInfo>> {
        let mut pool = self.certificates()?;
        pool.extend(self.validated_chains()?);
        pool.extend(self.anchors()?);
        pool.retain(CertInfo::is_ca);
        let mut chain: Vec<CertInfo> = Vec::new();
        let mut current = cert.clone();
        while chain.len() < MAX_CHAIN {
            let tbs = &current.cert.tbs_certificate;
            if tbs.issuer == tbs.subject {
                break;
            }
            let seen = |c: &CertInfo| {
                c.fingerprint == cert.fingerprint
                    || chain.iter().any(|k| k.fingerprint == c.fingerprint)
            };
            let Some(issuer) = pool
                .iter()
                .find(|c| c.cert.tbs_certificate.subject == tbs.issuer && !seen(c))
                .cloned()
            else {
                break;
            };
            chain.push(issuer.clone());
            current = issuer;
        }
        Ok(chain)
    }
}
