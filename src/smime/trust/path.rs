//! Certification path validation (RFC 5280 §6) for a signer's certificate,
//! with revocation from CRLs (RFC 5280 §6.3), offline.
//!
//! NOTE: the engine is rustls-webpki, already in the tree for TLS (same
//! version, same aws-lc-rs backend, so nothing new is built). certval is
//! tested against PKITS, but its release line needs der 0.8, x509-cert 0.3
//! and a second RustCrypto generation, which issue #13 just removed; an own
//! engine would be new security code where a maintained, fuzzed one exists.
//! What webpki checks: signatures along the path, validity at the given
//! time, basicConstraints and pathLenConstraint, EKU (through
//! [`EmailProtection`]), DNS/IP name constraints, unknown critical
//! extensions, CRLs (complete, direct, issuing distribution point). What it
//! does not, and what this file adds or accepts:
//!
//! - keyUsage of CA certificates (keyCertSign): checked here on every
//!   intermediate ([`check_intermediates`]); keyUsage of the signer
//!   (digitalSignature or nonRepudiation, RFC 8550 §4.4.2): checked here;
//! - certificate policies are not processed (no policy tree), so a path that
//!   RFC 5280 rejects only for its policies is accepted;
//! - directoryName and rfc822Name name constraints: a constraint of a form
//!   webpki does not implement fails closed (the path is refused);
//! - RSA keys under 2048 bits, DSA and SHA-1 signatures are refused.
//!
//! tests/pkits.rs counts what this costs on NIST PKITS.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use der::Decode;
use pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, ExtendedKeyUsageValidator, KeyPurposeId,
    KeyPurposeIdIter, RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::Certificate;

use crate::smime::certs::{format_time, CertInfo, UnixTime};

/// Where a trust anchor comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorSource {
    /// `sealpost cert trust FILE`.
    Keystore,
    /// `--trust-anchor FILE` for one command.
    CommandLine,
    /// The operating system's CA store.
    System,
}

impl AnchorSource {
    /// The name used in `--json` output and reports.
    pub fn name(self) -> &'static str {
        match self {
            AnchorSource::Keystore => "keystore",
            AnchorSource::CommandLine => "command-line",
            AnchorSource::System => "system",
        }
    }
}

/// A certificate the user trusts to vouch for others.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub cert: CertInfo,
    pub source: AnchorSource,
}

/// What a path is validated with, besides what the message carries.
#[derive(Debug, Clone, Copy)]
pub struct PathInputs<'a> {
    pub anchors: &'a [Anchor],
    /// Certificates the user accepted one by one (own identities, `cert
    /// import`, `cert accept`): trusted as they are, without a path.
    pub explicit: &'a [CertInfo],
    /// Further certificates that may serve as intermediates (the keystore's).
    pub intermediates: &'a [CertInfo],
    /// CRLs (DER) from the keystore (`cert crl import`).
    pub crls: &'a [Vec<u8>],
    /// The time the certificates must be valid at.
    pub time: UnixTime,
}

/// Why the signer is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// A validated path to `anchor` (its subject), `length` certificates
    /// from the signer's to the anchor's, both included.
    Path {
        anchor: String,
        source: AnchorSource,
        length: usize,
    },
    /// The certificate itself is one the user accepted.
    Explicit,
}

/// Why the signer is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distrust {
    /// The path ends at a self-signed certificate that is no trust anchor.
    UnknownAnchor { root: String },
    /// No issuer of some certificate on the way is known.
    NoPath { missing_issuer: String },
    /// A certificate on the path expired before the validation time.
    Expired,
    /// A certificate on the path is not valid yet.
    NotYetValid,
    /// A CRL lists a certificate on the path.
    Revoked,
    /// keyUsage or extendedKeyUsage does not allow signing e-mail, or a
    /// CA's keyUsage does not allow certificate signing.
    KeyUsage(String),
    /// Any other reason the path is invalid.
    Invalid(String),
}

impl Distrust {
    /// The name used in `--json` output.
    pub fn name(&self) -> &'static str {
        match self {
            Distrust::UnknownAnchor { .. } => "unknown_anchor",
            Distrust::NoPath { .. } => "no_path",
            Distrust::Expired => "expired",
            Distrust::NotYetValid => "not_yet_valid",
            Distrust::Revoked => "revoked",
            Distrust::KeyUsage(_) => "key_usage",
            Distrust::Invalid(_) => "invalid_path",
        }
    }
}

impl fmt::Display for Distrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::error::printable;
        match self {
            Distrust::UnknownAnchor { root } => write!(
                f,
                "the certificate chain ends at {}, which is not a trust anchor",
                printable(root)
            ),
            Distrust::NoPath { missing_issuer } => write!(
                f,
                "no certification path: the issuer {} is unknown",
                printable(missing_issuer)
            ),
            Distrust::Expired => f.write_str("a certificate on the path has expired"),
            Distrust::NotYetValid => f.write_str("a certificate on the path is not valid yet"),
            Distrust::Revoked => f.write_str("a certificate on the path is revoked"),
            Distrust::KeyUsage(why) | Distrust::Invalid(why) => f.write_str(why),
        }
    }
}

/// Whether revocation was checked for every certificate on the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// A current CRL from each issuer was found and none lists the certificate.
    Checked,
    /// Some certificate's status is unknown (no CRL from its issuer, a
    /// stale one, or no path to check along).
    Unknown,
}

impl Revocation {
    pub fn name(self) -> &'static str {
        match self {
            Revocation::Checked => "checked",
            Revocation::Unknown => "unknown",
        }
    }
}

/// The answer of [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathOutcome {
    pub trust: Result<Trust, Distrust>,
    pub revocation: Revocation,
}

/// More certificates than this (carried, keystore) are not considered: a
/// message can carry thousands, and path building is a search.
const MAX_CANDIDATES: usize = 256;

/// Signature algorithms accepted on a path: webpki's RSA (2048 bits and
/// more, PKCS#1 v1.5 and PSS), ECDSA and Ed25519, through aws-lc-rs.
static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::ED25519,
];

/// id-kp-emailProtection and anyExtendedKeyUsage, DER contents.
const EKU_EMAIL_PROTECTION: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04];
const EKU_ANY: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// RFC 8550 §4.4.4: a certificate with extendedKeyUsage may sign e-mail
/// only when it lists emailProtection or anyExtendedKeyUsage; one without
/// the extension may. (webpki asks every certificate on the path.)
struct EmailProtection;

impl ExtendedKeyUsageValidator for EmailProtection {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let mut empty = true;
        for id in iter {
            let id = id?;
            empty = false;
            if id == KeyPurposeId::new(EKU_EMAIL_PROTECTION) || id == KeyPurposeId::new(EKU_ANY) {
                return Ok(());
            }
        }
        if empty {
            Ok(())
        } else {
            #[allow(deprecated)]
            Err(webpki::Error::RequiredEkuNotFound)
        }
    }
}

fn webpki_time(t: UnixTime) -> pki_types::UnixTime {
    pki_types::UnixTime::since_unix_epoch(Duration::from_secs(t.max(0) as u64))
}

/// Validates a path from `signer` to one of `inputs.anchors`, building it
/// from `carried` (the message's certificates) and the keystore's, and
/// checks revocation with `carried_crls` and the keystore's CRLs.
pub fn validate(
    signer: &CertInfo,
    carried: &[CertInfo],
    carried_crls: &[Vec<u8>],
    inputs: &PathInputs<'_>,
) -> PathOutcome {
    let explicit = inputs
        .explicit
        .iter()
        .any(|c| c.fingerprint == signer.fingerprint);
    let unknown = |trust| PathOutcome {
        trust,
        revocation: Revocation::Unknown,
    };
    if let Some(e) = signer_key_usage(signer) {
        return unknown(Err(e));
    }
    let path = build(signer, carried, carried_crls, inputs);
    match path {
        Ok(outcome) => outcome,
        // The user accepted this very certificate: trusted as it is, if
        // it is valid at the time (nothing else vouches for it).
        Err(_) if explicit => unknown(explicit_validity(signer, inputs.time)),
        Err(e) => unknown(Err(e)),
    }
}

/// The signer's keyUsage must allow signatures (RFC 8550 §4.4.2).
fn signer_key_usage(signer: &CertInfo) -> Option<Distrust> {
    let ku = signer.key_usage.as_ref()?;
    (!ku.digital_signature() && !ku.non_repudiation()).then(|| {
        Distrust::KeyUsage(
            "the signer's keyUsage allows neither digitalSignature nor nonRepudiation".into(),
        )
    })
}

fn explicit_validity(signer: &CertInfo, time: UnixTime) -> Result<Trust, Distrust> {
    if time > signer.not_after {
        Err(Distrust::Expired)
    } else if time < signer.not_before {
        Err(Distrust::NotYetValid)
    } else {
        Ok(Trust::Explicit)
    }
}

fn build(
    signer: &CertInfo,
    carried: &[CertInfo],
    carried_crls: &[Vec<u8>],
    inputs: &PathInputs<'_>,
) -> Result<PathOutcome, Distrust> {
    let signer_der = CertificateDer::from(signer.der.as_slice());
    let ee = EndEntityCert::try_from(&signer_der)
        .map_err(|e| Distrust::Invalid(format!("the signer's certificate: {}", reason(&e))))?;
    let anchors: Vec<(webpki_anchor::Owned, &Anchor)> = inputs
        .anchors
        .iter()
        .filter_map(|a| webpki_anchor::from(&a.cert.der).map(|t| (t, a)))
        .collect();
    let trust_anchors: Vec<pki_types::TrustAnchor<'_>> =
        anchors.iter().map(|(t, _)| t.borrow()).collect();
    let intermediates: Vec<CertificateDer<'_>> = carried
        .iter()
        .chain(inputs.intermediates)
        .filter(|c| c.fingerprint != signer.fingerprint)
        .take(MAX_CANDIDATES)
        .map(|c| CertificateDer::from(c.der.as_slice()))
        .collect();
    let crls: Vec<CertRevocationList<'_>> = carried_crls
        .iter()
        .chain(inputs.crls)
        .filter_map(|der| webpki::BorrowedCertRevocationList::from_der(der).ok())
        .map(CertRevocationList::from)
        .collect();
    let crl_refs: Vec<&CertRevocationList<'_>> = crls.iter().collect();
    let time = webpki_time(inputs.time);
    let ca_problem = RefCell::new(None);
    let check = |path: &webpki::VerifiedPath<'_>| check_intermediates(path, &ca_problem);

    let run = |policy: Option<(UnknownStatusPolicy, ExpirationPolicy)>| {
        let revocation = match policy {
            Some((status, expiration)) => Some(
                RevocationOptionsBuilder::new(&crl_refs)
                    .map_err(|_| webpki::Error::UnknownRevocationStatus)?
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(status)
                    .with_expiration_policy(expiration)
                    .build(),
            ),
            None => None,
        };
        ee.verify_for_usage(
            ALGORITHMS,
            &trust_anchors,
            &intermediates,
            time,
            EmailProtection,
            revocation,
            Some(&check),
        )
        .map(|p| {
            let anchor = p.anchor();
            let found = anchors
                .iter()
                .find(|(t, _)| t.borrow().subject == anchor.subject)
                .map(|(_, a)| a);
            Trust::Path {
                anchor: found.map_or_else(String::new, |a| a.cert.subject.clone()),
                source: found.map_or(AnchorSource::CommandLine, |a| a.source),
                length: p.intermediate_certificates().count() + 2,
            }
        })
    };

    let strict = Some((UnknownStatusPolicy::Deny, ExpirationPolicy::Enforce));
    let lenient = Some((UnknownStatusPolicy::Allow, ExpirationPolicy::Ignore));
    let result = if crl_refs.is_empty() {
        run(None).map(|t| (t, Revocation::Unknown))
    } else {
        match run(strict) {
            Ok(t) => Ok((t, Revocation::Checked)),
            Err(webpki::Error::UnknownRevocationStatus | webpki::Error::CrlExpired { .. }) => {
                run(lenient).map(|t| (t, Revocation::Unknown))
            }
            Err(e) => Err(e),
        }
    };
    match result {
        Ok((trust, revocation)) => Ok(PathOutcome {
            trust: Ok(trust),
            revocation,
        }),
        Err(e) => Err(ca_problem
            .borrow_mut()
            .take()
            .unwrap_or_else(|| distrust(&e, signer, carried, inputs))),
    }
}

/// webpki does not check a CA's keyUsage: every intermediate with the
/// extension must allow keyCertSign (RFC 5280 §6.1.4 (n)).
fn check_intermediates(
    path: &webpki::VerifiedPath<'_>,
    problem: &RefCell<Option<Distrust>>,
) -> Result<(), webpki::Error> {
    for cert in path.intermediate_certificates() {
        let der = cert.der();
        let Ok(parsed) = Certificate::from_der(der.as_ref()) else {
            continue;
        };
        if let Ok(Some((_, ku))) = parsed.tbs_certificate.get::<KeyUsage>() {
            if !ku.key_cert_sign() {
                *problem.borrow_mut() = Some(Distrust::KeyUsage(format!(
                    "the keyUsage of CA {} does not allow certificate signing",
                    parsed.tbs_certificate.subject
                )));
                return Err(webpki::Error::CaUsedAsEndEntity);
            }
        }
    }
    *problem.borrow_mut() = None;
    Ok(())
}

/// A webpki error as a [`Distrust`].
fn distrust(
    e: &webpki::Error,
    signer: &CertInfo,
    carried: &[CertInfo],
    inputs: &PathInputs<'_>,
) -> Distrust {
    match e {
        webpki::Error::CertExpired { .. } => Distrust::Expired,
        webpki::Error::CertNotValidYet { .. } => Distrust::NotYetValid,
        webpki::Error::CertRevoked => Distrust::Revoked,
        #[allow(deprecated)]
        webpki::Error::RequiredEkuNotFound
        | webpki::Error::RequiredEkuNotFoundContext(_)
        | webpki::Error::EmptyEkuExtension => Distrust::KeyUsage(
            "an extendedKeyUsage on the path does not include emailProtection".into(),
        ),
        webpki::Error::UnknownIssuer => top_of_chain(signer, carried, inputs),
        // A self-signed certificate that no anchor vouches for: whatever
        // else is wrong with it, that is the answer (openssl's default
        // self-signed certificate says CA:TRUE).
        webpki::Error::CaUsedAsEndEntity
            if signer.cert.tbs_certificate.issuer == signer.cert.tbs_certificate.subject =>
        {
            top_of_chain(signer, carried, inputs)
        }
        other => Distrust::Invalid(reason(other)),
    }
}

/// Follows issuer names from `signer` as far as the known certificates go:
/// a self-signed end is an unknown anchor, else the issuer is missing.
fn top_of_chain(signer: &CertInfo, carried: &[CertInfo], inputs: &PathInputs<'_>) -> Distrust {
    let mut current = signer;
    for _ in 0..16 {
        let tbs = &current.cert.tbs_certificate;
        if tbs.issuer == tbs.subject {
            return Distrust::UnknownAnchor {
                root: current.subject.clone(),
            };
        }
        match carried.iter().chain(inputs.intermediates).find(|c| {
            c.cert.tbs_certificate.subject == tbs.issuer && c.fingerprint != current.fingerprint
        }) {
            Some(next) => current = next,
            None => break,
        }
    }
    Distrust::NoPath {
        missing_issuer: current.issuer.clone(),
    }
}

/// Words for the webpki errors a user may meet.
#[allow(deprecated)] // the variants without context are still returned
fn reason(e: &webpki::Error) -> String {
    use webpki::Error::*;
    match e {
        InvalidSignatureForPublicKey => "a certificate's signature on the path is invalid".into(),
        PathLenConstraintViolated => "a CA's pathLenConstraint is exceeded".into(),
        CaUsedAsEndEntity => "the signer's certificate is a CA certificate".into(),
        EndEntityUsedAsCa => "a certificate on the path is not a CA (basicConstraints)".into(),
        NameConstraintViolation => "a name on the path violates a CA's name constraints".into(),
        UnsupportedCriticalExtension => {
            "a certificate on the path has an unsupported critical extension".into()
        }
        InvalidCrlSignatureForPublicKey => "a CRL's signature is invalid".into(),
        IssuerNotCrlSigner => "a CRL's issuer may not sign CRLs (keyUsage)".into(),
        UnsupportedSignatureAlgorithm
        | UnsupportedSignatureAlgorithmContext(_)
        | UnsupportedSignatureAlgorithmForPublicKey
        | UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate on the path uses an unsupported or too weak signature algorithm \
             (RSA under 2048 bits, DSA, SHA-1)"
                .into()
        }
        CrlExpired { next_update, .. } => format!(
            "a CRL is out of date (next update {})",
            format_time(next_update.as_secs() as i64)
        ),
        other => format!("invalid certification path ({other:?})"),
    }
}

/// Trust anchors owned here: webpki's [`pki_types::TrustAnchor`] borrows
/// the certificate it was made from.
mod webpki_anchor {
    use pki_types::{CertificateDer, Der, TrustAnchor};

    pub(super) struct Owned {
        subject: Vec<u8>,
        spki: Vec<u8>,
        constraints: Option<Vec<u8>>,
    }

    impl Owned {
        pub(super) fn borrow(&self) -> TrustAnchor<'_> {
            TrustAnchor {
                subject: Der::from(self.subject.as_slice()),
                subject_public_key_info: Der::from(self.spki.as_slice()),
                name_constraints: self.constraints.as_deref().map(Der::from),
            }
        }
    }

    /// `None` for a certificate webpki cannot read as an anchor.
    pub(super) fn from(der: &[u8]) -> Option<Owned> {
        let cert = CertificateDer::from(der);
        let anchor = webpki::anchor_from_trusted_cert(&cert).ok()?;
        Some(Owned {
            subject: anchor.subject.as_ref().to_vec(),
            spki: anchor.subject_public_key_info.as_ref().to_vec(),
            constraints: anchor
                .name_constraints
                .as_ref()
                .map(|c| c.as_ref().to_vec()),
        })
    }
}
