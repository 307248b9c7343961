//! One verdict per signature: the signature, the signer's path and
//! revocation, and whether the certificate names the sender.

use super::model::{Distrust, PathInputs, PathOutcome, Revocation, Trust};
use super::path::validate;
use crate::smime::certs::CertInfo;
use crate::smime::decrypt::SignatureOutcome;

/// Whether the signer's certificate names the sender (RFC 8550 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderMatch {
    /// The From address is among the certificate's e-mail addresses.
    Matches,
    /// It is not: the certificate speaks for someone else.
    Mismatch { from: String },
    /// There is no From to compare with (bare CMS, detached content).
    NoSender,
}

impl SenderMatch {
    pub fn name(&self) -> &'static str {
        match self {
            SenderMatch::Matches => "matches",
            SenderMatch::Mismatch { .. } => "mismatch",
            SenderMatch::NoSender => "no_sender",
        }
    }
}

/// What a caller acts on, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// The content is not what was signed, or the signature cannot be checked.
    BadSignature,
    /// The signature is good, but nothing the user trusts vouches for the
    /// signer's certificate.
    Untrusted,
    /// Good and trusted, but the certificate does not name the sender.
    SenderMismatch,
    /// Good, trusted, and the certificate names the sender (or there is no sender).
    Trusted,
}

impl Status {
    /// The name used in `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            Status::BadSignature => "bad_signature",
            Status::Untrusted => "untrusted",
            Status::SenderMismatch => "sender_mismatch",
            Status::Trusted => "trusted",
        }
    }
}

/// Everything known about one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// Why the signature is bad; `None` when it verified.
    pub signature_error: Option<String>,
    /// The signer's path; `None` for a bad signature (nothing to vouch for).
    pub path: Option<PathOutcome>,
    pub sender: SenderMatch,
    /// The URLs of fetched CRLs that settled revocation (checked, or
    /// revoked). This wing fetches nothing: the caller that fetched them
    /// (`--online`, in the mail wing) fills this in; empty otherwise.
    pub fetched_crls: Vec<String>,
}

impl Verdict {
    /// Whether revocation was checked along the whole path.
    pub fn revocation(&self) -> Revocation {
        self.path
            .as_ref()
            .map_or(Revocation::Unknown, |p| p.revocation)
    }

    /// How the signer is trusted, if it is.
    pub fn trust(&self) -> Option<&Trust> {
        self.path.as_ref().and_then(|p| p.trust.as_ref().ok())
    }

    /// Why the signer is not trusted, if it is not.
    pub fn distrust(&self) -> Option<&Distrust> {
        self.path.as_ref().and_then(|p| p.trust.as_ref().err())
    }

    /// One line for the user saying what the status rests on.
    pub fn explain(&self) -> String {
        use crate::error::printable;
        match self.status {
            Status::BadSignature => format!(
                "BAD signature: {}",
                self.signature_error.as_deref().unwrap_or("not verified")
            ),
            Status::Untrusted => format!(
                "good signature, but the signer is NOT trusted: {}",
                self.distrust()
                    .map_or_else(|| "no path".to_string(), ToString::to_string)
            ),
            Status::SenderMismatch => match &self.sender {
                SenderMatch::Mismatch { from } => format!(
                    "good signature by a trusted certificate that does NOT name the sender {}",
                    printable(from)
                ),
                _ => "good signature; sender not compared".into(),
            },
            Status::Trusted => match self.trust() {
                Some(Trust::Path { anchor, source, .. }) => format!(
                    "good signature, trusted (path to {} anchor {}; revocation {}{})",
                    source.name(),
                    printable(anchor),
                    self.revocation().name(),
                    if self.fetched_crls.is_empty() {
                        ""
                    } else {
                        ", with a fetched CRL"
                    }
                ),
                _ => "good signature, trusted (a certificate you accepted)".into(),
            },
        }
    }
}

/// Judges one signature: `signature` is the outcome of checking it,
/// `signer` the certificate whose key made it, `carried` and `crls` what
/// the message carried, `from` the sender's address when there is one.
pub fn judge(
    signer: Option<&CertInfo>,
    signature: Result<(), &str>,
    carried: &[CertInfo],
    crls: &[Vec<u8>],
    from: Option<&str>,
    inputs: &PathInputs<'_>,
) -> Verdict {
    let sender = match (signer, from) {
        (Some(cert), Some(from)) if cert.matches_address(from) => SenderMatch::Matches,
        (Some(_), Some(from)) => SenderMatch::Mismatch {
            from: from.to_string(),
        },
        _ => SenderMatch::NoSender,
    };
    let (signer, signature_error) = match (signer, signature) {
        (Some(signer), Ok(())) => (signer, None),
        (_, Err(why)) => {
            return Verdict {
                status: Status::BadSignature,
                signature_error: Some(why.to_string()),
                path: None,
                sender,
                fetched_crls: Vec::new(),
            }
        }
        (None, Ok(())) => {
            return Verdict {
                status: Status::BadSignature,
                signature_error: Some("no signer certificate".into()),
                path: None,
                sender,
                fetched_crls: Vec::new(),
            }
        }
    };
    let path = validate(signer, carried, crls, inputs);
    let status = if path.trust.is_err() {
        Status::Untrusted
    } else if matches!(sender, SenderMatch::Mismatch { .. }) {
        Status::SenderMismatch
    } else {
        Status::Trusted
    };
    Verdict {
        status,
        signature_error,
        path: Some(path),
        sender,
        fetched_crls: Vec::new(),
    }
}

/// [`judge`] of a signature as opening a message found it.
pub fn judge_outcome(
    outcome: &SignatureOutcome,
    from: Option<&str>,
    inputs: &PathInputs<'_>,
) -> Verdict {
    judge(
        outcome.signer.as_ref(),
        outcome.result.as_ref().map(|_| ()).map_err(String::as_str),
        &outcome.certificates,
        &outcome.crls,
        from,
        inputs,
    )
}

/// [`unsettled_crl_urls`](super::unsettled_crl_urls) of a signature as
/// opening a message found it; none for a bad signature.
pub fn outcome_crl_urls(outcome: &SignatureOutcome, inputs: &PathInputs<'_>) -> Vec<String> {
    match (&outcome.signer, &outcome.result) {
        (Some(signer), Ok(_)) => {
            super::path::unsettled_crl_urls(signer, &outcome.certificates, &outcome.crls, inputs)
        }
        _ => Vec::new(),
    }
}
