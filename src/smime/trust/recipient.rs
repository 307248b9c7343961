//! Whether `encrypt` may use a recipient's certificate (issue #14 item 7).
//! A certificate the user accepted is used unless:
//!
//! - it is expired or not valid yet (always);
//! - a CRL the keystore holds, signed by its issuer, lists it (always: with
//!   `cert crl import`, the user said to believe its issuer's CRLs), or one
//!   lists a certificate on its path to a trust anchor;
//! - with `require_path` (`--require-trusted-recipients`), it has no valid
//!   path (RFC 5280 §6) to a trust anchor, now. Being accepted is not
//!   enough then, unlike for a signer ([`super::validate`]): every
//!   certificate `encrypt` uses is own, accepted or was validated when it
//!   was learned, so the flag would ask nothing. A self-signed
//!   correspondent is trusted this way by making its certificate an
//!   anchor (`cert trust`), a path of one;
//! - with `require_revocation_check`, revocation was not checked along
//!   its whole path.
//!
//! keyUsage keyEncipherment and extendedKeyUsage emailProtection (or any, or
//! none) are what makes a certificate usable at all
//! ([`CertInfo::encryption_problems`]), with or without a path.

use std::fmt;

use super::model::{reason_name, Distrust, PathInputs, Revocation, Trust};
use super::path::{revoked_by_issuer, validate_end_entity};
use crate::error::{fail_hint, Exit};
use crate::smime::certs::{self, format_time, CertInfo, UnixTime, Unusable};

/// What is asked of a recipient's certificate besides being usable.
#[derive(Debug, Clone, Copy)]
pub struct RecipientRules<'a> {
    /// Anchors, keystore certificates and CRLs, and the time. Its
    /// `explicit` certificates do not count as trusted (see the module doc).
    pub inputs: PathInputs<'a>,
    /// A valid path to a trust anchor (`--require-trusted-recipients`).
    pub require_path: bool,
    /// Revocation checked along the whole path (`--require-revocation-check`).
    pub require_revocation_check: bool,
}

impl RecipientRules<'static> {
    /// Validity alone, at `time`: no CRL, no anchor.
    pub fn validity_only(time: UnixTime) -> Self {
        RecipientRules {
            inputs: PathInputs {
                anchors: &[],
                explicit: &[],
                intermediates: &[],
                crls: &[],
                time,
            },
            require_path: false,
            require_revocation_check: false,
        }
    }
}

impl RecipientRules<'_> {
    /// Whether anything beyond validity can be checked or is asked: without
    /// a CRL nothing can be revoked, so paths are looked for only then.
    pub fn needs_paths(&self) -> bool {
        self.require_path || self.require_revocation_check || !self.inputs.crls.is_empty()
    }
}

/// Why a recipient's certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The certificate itself: expired, not valid yet, or revoked by its issuer.
    Certificate(Distrust),
    /// Its path: revoked along it, or (when a path is required) no valid one.
    Path(Distrust),
    /// Revocation was required to be checked and was not.
    RevocationUnknown,
}

impl Refusal {
    /// The name used in `--json` output (as for a signer's verdict).
    pub fn name(&self) -> &'static str {
        match self {
            Refusal::Certificate(d) | Refusal::Path(d) => d.name(),
            Refusal::RevocationUnknown => "revocation_unknown",
        }
    }

    /// The exit status a refusal fails `encrypt` with.
    pub fn exit(&self) -> Exit {
        match self {
            Refusal::RevocationUnknown => Exit::RevocationUnknown,
            _ => Exit::Untrusted,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Certificate(Distrust::Expired(t)) => {
                write!(f, "expired on {}", format_time(*t))
            }
            Refusal::Certificate(Distrust::NotYetValid(t)) => {
                write!(f, "not valid before {}", format_time(*t))
            }
            Refusal::Certificate(Distrust::Revoked { date, reason }) => {
                write!(f, "revoked on {}", format_time(*date))?;
                match reason_name(*reason) {
                    Some(name) => write!(f, " ({name})"),
                    None => Ok(()),
                }
            }
            Refusal::Certificate(d) => write!(f, "{d}"),
            Refusal::Path(d) => write!(f, "not trusted: {d}"),
            Refusal::RevocationUnknown => f.write_str(
                "revocation status unknown (no current CRL from every issuer on a path to a trust anchor)",
            ),
        }
    }
}

/// Judges one certificate that is usable for encryption: how it is
/// trusted (`None`: not asked and not known), or why it is refused.
pub fn check_recipient(
    cert: &CertInfo,
    rules: &RecipientRules<'_>,
) -> Result<Option<Trust>, Refusal> {
    let time = rules.inputs.time;
    if time > cert.not_after {
        return Err(Refusal::Certificate(Distrust::Expired(cert.not_after)));
    }
    if time < cert.not_before {
        return Err(Refusal::Certificate(Distrust::NotYetValid(cert.not_before)));
    }
    if !rules.needs_paths() {
        return Ok(None);
    }
    if let Some(revoked) = revoked_by_issuer(cert, &rules.inputs) {
        return Err(Refusal::Certificate(revoked));
    }
    let inputs = PathInputs {
        explicit: &[],
        ..rules.inputs
    };
    let outcome = validate_end_entity(cert, &[], &[], &inputs);
    match outcome.trust {
        Err(e @ Distrust::Revoked { .. }) => Err(Refusal::Path(e)),
        Err(e) if rules.require_path => Err(Refusal::Path(e)),
        Err(_) if rules.require_revocation_check => Err(Refusal::RevocationUnknown),
        Err(_) => Ok(None),
        Ok(_) if rules.require_revocation_check && outcome.revocation == Revocation::Unknown => {
            Err(Refusal::RevocationUnknown)
        }
        Ok(trust) => Ok(Some(trust)),
    }
}

/// The certificates `encrypt` may use for `addr` among `candidates` (the
/// accepted and own ones): those usable for encryption
/// ([`certs::select_for_encryption`]) that [`check_recipient`] does not
/// refuse. When none is left and some were refused, the error names the
/// address and each refused certificate with its reason (exit 79, or 81
/// when revocation is only unknown); otherwise it is
/// [`certs::select_for_encryption`]'s (exit 67).
pub fn select_recipients<'c>(
    addr: &str,
    candidates: &'c [CertInfo],
    rules: &RecipientRules<'_>,
) -> anyhow::Result<Vec<&'c CertInfo>> {
    let mut usable = Vec::new();
    let mut refused = Vec::new();
    for cert in candidates {
        let problems = cert.encryption_problems(addr, rules.inputs.time);
        // Only its validity is wrong: refused with a reason here, not
        // "unusable" as a certificate that cannot encrypt at all is.
        let timing = |p: &Unusable| matches!(p, Unusable::Expired(_) | Unusable::NotYetValid(_));
        if !problems.iter().all(timing) {
            continue;
        }
        match check_recipient(cert, rules) {
            Ok(_) => usable.push(cert),
            Err(refusal) => refused.push((cert, refusal)),
        }
    }
    if !usable.is_empty() {
        return Ok(usable);
    }
    let Some((_, first)) = refused.first() else {
        return certs::select_for_encryption(addr, candidates, rules.inputs.time);
    };
    let exit = if refused.iter().any(|(_, r)| r.exit() == Exit::Untrusted) {
        Exit::Untrusted
    } else {
        Exit::RevocationUnknown
    };
    let reasons: Vec<String> = refused
        .iter()
        .map(|(c, r)| format!("certificate {} {r}", &c.fingerprint[..16]))
        .collect();
    let hint = match first {
        Refusal::Certificate(_) => format!(
            "ask {addr} for a current certificate and `sealpost cert import` it; --skip-unknown leaves them out"
        ),
        Refusal::Path(_) => "if you trust the issuer, add its CA certificate with `sealpost cert trust FILE` \
             (or --trust-anchor FILE); for a self-signed correspondent, `sealpost cert trust` its certificate"
            .to_string(),
        Refusal::RevocationUnknown => {
            "import the issuer's current CRL with `sealpost cert crl import FILE`".to_string()
        }
    };
    Err(fail_hint(
        exit,
        format!(
            "{} refused: {}",
            crate::error::printable(addr),
            reasons.join("; ")
        ),
        hint,
    ))
}
