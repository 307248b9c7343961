//! What trust is judged with and what it answers: anchors and their
//! sources, the inputs of a path validation, and why a signer is or is not
//! trusted. Data only, shared by the engine's files.

use std::fmt;

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
    /// A certificate on the path expired (at the time given) before the
    /// validation time.
    Expired(UnixTime),
    /// A certificate on the path is not valid before the time given.
    NotYetValid(UnixTime),
    /// A CRL lists a certificate on the path: when it was revoked, and the
    /// CRL entry's reasonCode if it has one.
    Revoked { date: UnixTime, reason: Option<u8> },
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
            Distrust::Expired(_) => "expired",
            Distrust::NotYetValid(_) => "not_yet_valid",
            Distrust::Revoked { .. } => "revoked",
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
            Distrust::Expired(t) => write!(
                f,
                "a certificate on the path has expired (on {})",
                format_time(*t)
            ),
            Distrust::NotYetValid(t) => write!(
                f,
                "a certificate on the path is not valid yet (not before {})",
                format_time(*t)
            ),
            Distrust::Revoked { date, reason } => {
                write!(
                    f,
                    "a certificate on the path is revoked (on {}",
                    format_time(*date)
                )?;
                match reason_name(*reason) {
                    Some(name) => write!(f, ", {name})"),
                    None => f.write_str(")"),
                }
            }
            Distrust::KeyUsage(why) | Distrust::Invalid(why) => f.write_str(why),
        }
    }
}

/// The name of a CRL entry's reasonCode (RFC 5280 §5.3.1); `None` without
/// one, or for `unspecified`.
pub fn reason_name(code: Option<u8>) -> Option<&'static str> {
    Some(match code? {
        0 => return None,
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "unknown reason",
    })
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

/// The answer of [`super::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathOutcome {
    pub trust: Result<Trust, Distrust>,
    pub revocation: Revocation,
}
