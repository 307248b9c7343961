//! CMS `SignedData` (RFC 5652 §5) as S/MIME uses it (RFC 8551 §2–3): sign
//! with an RSA key, and verify signed messages from sealpost and from other
//! clients.
//!
//! # Signing
//!
//! [`sign`] produces a DER `ContentInfo` holding a `SignedData` with the
//! content *encapsulated* (the `application/pkcs7-mime; smime-type=signed-data`
//! form): SHA-256, one `SignerInfo` identified by issuer and serial number,
//! signed attributes contentType, signingTime, messageDigest and
//! smimeCapabilities, and RSASSA-PKCS1-v1_5 or RSASSA-PSS (RFC 4056:
//! SHA-256, MGF1-SHA-256, 32-byte salt). Only the signer's certificate and the
//! chain the caller passes are carried: nobody else's.
//!
//! # Verifying
//!
//! [`verify`] reads an encapsulated message (DER or BER), [`verify_detached`]
//! the signature part of a `multipart/signed` message together with the
//! canonical bytes of the first part. Both check the message digest, the
//! contentType attribute and the signature (over the signed attributes as
//! they were *transmitted*, re-tagged as a SET, or over the content when there
//! are none), accept PKCS#1 v1.5 and PSS with SHA-1/256/384/512, and report
//! the signer's certificate, signing time and advertised capabilities.
//!
//! A verified signature proves that the holder of the key in the reported
//! certificate signed the content; it says nothing about whether that
//! certificate is trustworthy or belongs to the person it names. Trust is the
//! caller's business.
//!
//! # The parts
//!
//! The algorithms, capabilities and reports shared by both directions are
//! here; signing is in `sign.rs`, verifying in `verify.rs`.

mod sign;
mod verify;

pub use sign::{sign, sign_digest, Signer};
pub use verify::{unverified_content, verify, verify_detached, verify_with_certs};

use std::fmt;

use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512};
use const_oid::ObjectIdentifier;
use der::Sequence;
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;

use crate::error::printable;
use crate::smime::certs::{format_time, CertInfo, UnixTime};
use crate::smime::identity::{
    ID_AES128_CBC, ID_AES128_GCM, ID_AES256_CBC, ID_AES256_GCM, ID_RSAES_OAEP,
};

/// How [`sign`] signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 with SHA-256: what every S/MIME client reads.
    Pkcs1v15Sha256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 4056).
    PssSha256,
}

/// RSA signature padding, as found in a verified message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Padding {
    Pkcs1v15,
    Pss,
}

/// Message digest algorithms accepted when verifying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// Accepted from foreign signers only; see [`DigestAlgorithm::is_weak`].
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            ID_SHA_1 => Some(Self::Sha1),
            ID_SHA_256 => Some(Self::Sha256),
            ID_SHA_384 => Some(Self::Sha384),
            ID_SHA_512 => Some(Self::Sha512),
            _ => None,
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// SHA-1 signatures can be forged with chosen-prefix collisions: a
    /// caller should warn about them.
    pub fn is_weak(self) -> bool {
        self == Self::Sha1
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }
}

/// The SMIMECapabilities a signer advertised (RFC 8551 §2.5.2): which
/// algorithms it can read, strongest preferred first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Every capability OID, in the signer's order of preference.
    pub algorithms: Vec<ObjectIdentifier>,
    pub aes256_gcm: bool,
    pub aes128_gcm: bool,
    pub aes256_cbc: bool,
    pub aes128_cbc: bool,
    /// RSAES-OAEP key transport.
    pub rsa_oaep: bool,
}

impl Capabilities {
    /// Classifies a capability list (parameters are ignored).
    pub fn from_algorithms(list: &[AlgorithmIdentifierOwned]) -> Capabilities {
        let algorithms: Vec<ObjectIdentifier> = list.iter().map(|a| a.oid).collect();
        let has = |oid| algorithms.contains(&oid);
        Capabilities {
            aes256_gcm: has(ID_AES256_GCM),
            aes128_gcm: has(ID_AES128_GCM),
            aes256_cbc: has(ID_AES256_CBC),
            aes128_cbc: has(ID_AES128_CBC),
            rsa_oaep: has(ID_RSAES_OAEP),
            algorithms,
        }
    }

    /// Whether the signer reads AES-GCM (AuthEnvelopedData) at all.
    pub fn aes_gcm(&self) -> bool {
        self.aes256_gcm || self.aes128_gcm
    }
}

/// What [`verify`] or [`verify_detached`] established about a message whose
/// signature verified.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signed content: the encapsulated bytes, or for a detached
    /// signature a copy of the bytes the caller passed.
    pub content: Vec<u8>,
    /// Whether the content came from the caller (multipart/signed).
    pub detached: bool,
    /// The certificate whose key made the signature (not checked for trust).
    pub signer: CertInfo,
    /// Every certificate the message carried that could be parsed, the
    /// signer's included.
    pub certificates: Vec<CertInfo>,
    /// The CRLs the message carried (DER, not checked here): for judging
    /// the signer's revocation status (`crate::smime::trust`).
    pub crls: Vec<Vec<u8>>,
    /// The signingTime attribute, if any (the signer's claim, not proof).
    pub signing_time: Option<UnixTime>,
    /// The signer's SMIMECapabilities attribute, if it sent one.
    pub capabilities: Option<Capabilities>,
    pub padding: Padding,
    pub digest: DigestAlgorithm,
}

impl Verified {
    /// One line for the user, e.g. `signature by alice@example.org
    /// (certificate 3f2a… not verified, RSA-PSS/SHA-256) made 2025-01-01
    /// 12:00:00 UTC`. The certificate is not verified here: whoever made it
    /// chose the address it names, so the line says so. A caller that knows
    /// the user vouched for the certificate describes it itself.
    pub fn report(&self) -> String {
        SignerReport::from(self).to_string()
    }
}

/// A printable one-line description of a verified signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerReport {
    /// The signer's addresses, or its subject when it names none.
    pub who: String,
    /// The first 16 hex digits of the certificate's SHA-256 fingerprint.
    pub fingerprint: String,
    pub algorithm: String,
    pub signing_time: Option<UnixTime>,
    pub weak_digest: bool,
}

impl From<&Verified> for SignerReport {
    fn from(v: &Verified) -> SignerReport {
        let who = if v.signer.emails.is_empty() {
            v.signer.subject.clone()
        } else {
            v.signer.emails.join(", ")
        };
        let padding = match v.padding {
            Padding::Pkcs1v15 => "RSA",
            Padding::Pss => "RSA-PSS",
        };
        SignerReport {
            who,
            fingerprint: v.signer.fingerprint.chars().take(16).collect(),
            algorithm: format!("{padding}/{}", v.digest.name()),
            signing_time: v.signing_time,
            weak_digest: v.digest.is_weak(),
        }
    }
}

impl fmt::Display for SignerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "signature by {} (certificate {} not verified, {})",
            printable(&self.who),
            self.fingerprint,
            self.algorithm
        )?;
        if let Some(t) = self.signing_time {
            write!(f, " made {}", format_time(t))?;
        }
        if self.weak_digest {
            f.write_str(" [weak digest]")?;
        }
        Ok(())
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1), with the salt length as a full INTEGER
/// (the `pkcs1` crate's `u8` cannot hold OpenSSL's maximum-length salts).
/// Also read for certificates signed with PSS (`crate::smime::trust`).
#[derive(Clone, Debug, Default, Eq, PartialEq, Sequence)]
pub(crate) struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_len: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

/// Salt length sealpost uses for PSS (RFC 4056 / RFC 8551: the hash length).
const PSS_SALT_LEN: u32 = 32;
/// Larger salts cannot fit any RSA key sealpost reads (at most 16384 bits).
const MAX_PSS_SALT_LEN: u32 = 2048;

#[cfg(test)]
mod tests;
