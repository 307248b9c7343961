//! Trust in a signer (RFC 8550 §3, RFC 8551 §3, RFC 5280 §6): whether a
//! mathematically good signature comes from the person its certificate
//! names. A signature is judged on three questions, answered here as pure
//! functions of the certificates, CRLs, anchors and clock the caller hands
//! in:
//!
//! 1. is there a certification path from the signer's certificate to a
//!    trust anchor the user chose (keystore anchors, `--trust-anchor`, the
//!    system store), or is the certificate itself one the user accepted
//!    (own, `cert import`)? ([`path`])
//! 2. was revocation checked, with the CRLs the message carried and those
//!    imported into the keystore? No network is used here: where a CRL
//!    could still be fetched from is answered ([`unsettled_crl_urls`]), and
//!    the mail wing fetches it when the user allows (`--online`). ([`path`])
//! 3. does the certificate name the sender (the From address)? ([`verdict`])
//!
//! The answers make one [`Verdict`] per signature, whose [`Status`] is what
//! `decrypt` and `verify` act on. The same engine judges the certificates
//! `encrypt` writes to ([`select_recipients`]: expired, revoked, and with
//! `--require-trusted-recipients` no path).
//!
//! May use: [`crate::error`], [`crate::smime::certs`] and the signatures
//! [`crate::smime::decrypt`] reports; the path engine is
//! sealpost's own (see `path.rs` for why and `pkix.rs` for what it checks).

mod crl;
mod model;
mod names;
mod path;
mod pkix;
mod policy;
mod recipient;
mod revocation;
mod verdict;

pub use crl::CrlInfo;

pub use model::{
    reason_name, Anchor, AnchorSource, Distrust, PathInputs, PathOutcome, Revocation, Trust,
};
pub use path::{unsettled_crl_urls, validate};
pub use recipient::{check_recipient, select_recipients, RecipientRules, Refusal};
pub use verdict::{judge, judge_outcome, outcome_crl_urls, SenderMatch, Status, Verdict};

#[cfg(test)]
mod tests;
