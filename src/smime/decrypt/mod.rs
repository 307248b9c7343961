//! Opening S/MIME messages: the payload is found (MIME, PEM, or bare
//! DER/BER), every encryption and opaque-signature layer is peeled off, and
//! a multipart/signed result is verified in place. Nothing is returned
//! unless every layer succeeded, so a caller that prints only on `Ok` never
//! releases partial plaintext.
//!
//! Which private key opens an envelope is decided by [`KeySource`]; the
//! keystore implements it, and it is the seam where a group key release
//! (asking a server for the content key) plugs in when no own key matches.
//!
//! # Parts
//!
//! This file holds what every caller sees: the results ([`Opened`],
//! [`SignatureOutcome`]) and the re-exports. The rest, each file using this
//! one and only those listed after it:
//!
//! - `layers.rs`: [`open`], the whole message in memory through every layer:
//!   encryption, opaque signatures, a final multipart/signed.
//! - `stream.rs`: [`open_streaming`], one encryption layer around a final
//!   entity, too large to hold in memory: verified in a first pass before any
//!   plaintext is written in a second.
//! - `base64_reader.rs`: base64 decoded as it is read, for the streaming path.
//! - `key.rs`: the key seam: [`KeySource`], and which key opens an envelope.
//! - `parts.rs`: an encrypted message attached to or forwarded in a plain
//!   one: [`encrypted_part`] names it, [`select_part`] takes it out.
//! - `payload.rs`: where the CMS bytes are: [`cms_payload`] in memory, its
//!   streaming twin on a seekable input, and the refusal of Batch SMTP input.

mod base64_reader;
mod key;
mod layers;
mod parts;
mod payload;
mod stream;

use crate::smime::certs::CertInfo;
use crate::smime::envelope::ContentCipher;
use crate::smime::signed;

pub use key::KeySource;
pub use layers::open;
pub use parts::{encrypted_part, select_part};
pub use payload::cms_payload;
pub use stream::{open_streaming, Rereading, Streamed};

/// One signature met on the way, verified or not.
#[derive(Debug, Clone)]
pub struct SignatureOutcome {
    /// The signer, when the signature names a certificate it carries. A
    /// good signature proves only that this certificate's key signed: the
    /// certificate is not verified (anyone can make one naming any address);
    /// the keystore says whether the user vouched for it.
    pub signer: Option<CertInfo>,
    /// `Ok` when it verified; the reason otherwise.
    pub result: Result<(), String>,
    /// How it was signed, when it verified: `RSA/SHA-256`, `RSA-PSS/SHA-256`,
    /// `ECDSA P-256/SHA-256`, `Ed25519`.
    pub algorithm: Option<String>,
    pub signing_time: Option<i64>,
    /// Algorithms the signer advertised (SMIMECapabilities signed attribute).
    pub capabilities: Vec<const_oid::ObjectIdentifier>,
    /// opaque (signed-data) or detached (multipart/signed).
    pub detached: bool,
    /// The certificates and CRLs the SignedData carried, for judging the
    /// signer ([`crate::smime::trust`]); empty for a bad signature.
    pub certificates: Vec<CertInfo>,
    pub crls: Vec<Vec<u8>>,
}

impl SignatureOutcome {
    /// A signature that verified.
    pub fn good(v: signed::Verified) -> SignatureOutcome {
        SignatureOutcome {
            capabilities: v
                .capabilities
                .as_ref()
                .map(|c| c.algorithms.clone())
                .unwrap_or_default(),
            signer: Some(v.signer),
            result: Ok(()),
            algorithm: Some(v.algorithm.with_digest(v.digest)),
            signing_time: v.signing_time,
            detached: v.detached,
            certificates: v.certificates,
            crls: v.crls,
        }
    }

    /// A signature that did not verify, and why.
    pub fn bad(why: &anyhow::Error, detached: bool) -> SignatureOutcome {
        SignatureOutcome {
            signer: None,
            result: Err(crate::error::single_line(why)),
            algorithm: None,
            signing_time: None,
            capabilities: Vec::new(),
            detached,
            certificates: Vec::new(),
            crls: Vec::new(),
        }
    }
}

/// The result of [`open`].
#[derive(Debug)]
pub struct Opened {
    /// The innermost MIME entity, byte for byte.
    pub plaintext: Vec<u8>,
    /// For each encryption layer: the cipher and the own certificate that opened it.
    pub decryptions: Vec<(ContentCipher, Option<CertInfo>)>,
    pub signatures: Vec<SignatureOutcome>,
}
