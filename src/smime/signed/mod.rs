//! CMS `SignedData` (RFC 5652 §5) as S/MIME uses it (RFC 8551 §2–3): sign
//! with an RSA, ECDSA or Ed25519 key, and verify signed messages from
//! sealpost and from other clients.
//!
//! # Signing
//!
//! [`sign`] produces a DER `ContentInfo` holding a `SignedData` with the
//! content *encapsulated* (the `application/pkcs7-mime; smime-type=signed-data`
//! form): one `SignerInfo` identified by issuer and serial number, signed
//! attributes contentType, signingTime, messageDigest and smimeCapabilities,
//! and a signature the key decides ([`SignatureScheme::for_key`]):
//! RSASSA-PKCS1-v1_5 or RSASSA-PSS (RFC 4056: SHA-256, MGF1-SHA-256, 32-byte
//! salt) with SHA-256; ECDSA with the curve's own hash (RFC 5753 §7.2,
//! RFC 8551 §2.2: P-256/SHA-256, P-384/SHA-384); Ed25519 with SHA-512 as the
//! message digest and the pure signature over the signed attributes
//! (RFC 8419 §3). The digest algorithm and the signature's hash are always
//! the same one: OpenSSL verifies with the digestAlgorithm's hash. Only the
//! signer's certificate and the chain the caller passes are carried: nobody
//! else's.
//!
//! # Verifying
//!
//! [`verify`] reads an encapsulated message (DER or BER), [`verify_detached`]
//! the signature part of a `multipart/signed` message together with the
//! canonical bytes of the first part. Both check the message digest, the
//! contentType attribute and the signature (over the signed attributes as
//! they were *transmitted*, re-tagged as a SET, or over the content when there
//! are none), accept PKCS#1 v1.5 and PSS with SHA-1/256/384/512, ECDSA on
//! P-256 and P-384 with SHA-256/384/512 (named `ecdsa-with-SHAx`, or
//! `id-ecPublicKey` as some clients write it) and Ed25519, and report the
//! signer's certificate, signing time and advertised capabilities.
//!
//! A verified signature proves that the holder of the key in the reported
//! certificate signed the content; it says nothing about whether that
//! certificate is trustworthy or belongs to the person it names. Trust is the
//! caller's business.
//!
//! # The parts
//!
//! The algorithms, capabilities and reports shared by both directions are
//! here; signing is in `sign.rs`, verifying in `verify.rs` (the message)
//! and `verify_key.rs` (the signature, with the signer's public key).

mod sign;
mod verify;
mod verify_key;

pub use sign::{sign, sign_digest, Signer};
pub use verify::{unverified_content, verify, verify_detached, verify_with_certs};
pub use verify_key::SignatureAlgorithm;

use std::fmt;

use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512};
use const_oid::ObjectIdentifier;
use der::Sequence;
use sha2::digest::DynDigest;
use spki::AlgorithmIdentifierOwned;

use crate::error::{fail, fail_hint, printable, Exit};
use crate::smime::certs::{format_time, CertInfo, UnixTime};
use crate::smime::identity::{
    ID_AES128_CBC, ID_AES128_GCM, ID_AES256_CBC, ID_AES256_GCM, ID_RSAES_OAEP,
};
use crate::smime::privkey::{Curve, KeyKind};

/// How [`sign`] signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 with SHA-256: what every S/MIME client reads.
    Pkcs1v15Sha256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 4056).
    PssSha256,
    /// ECDSA with the curve's own hash: P-256/SHA-256, P-384/SHA-384
    /// (aws-lc signs P-384 only with SHA-384).
    Ecdsa(Curve),
    /// Ed25519, pure, over the signed attributes; SHA-512 message digest
    /// (RFC 8419 §3.1).
    Ed25519,
}

impl SignatureScheme {
    /// The scheme a key of `kind` signs with; `pss` asks for RSASSA-PSS,
    /// which only RSA keys have.
    pub fn for_key(kind: KeyKind, pss: bool) -> anyhow::Result<Self> {
        match (kind, pss) {
            (KeyKind::Rsa, false) => Ok(Self::Pkcs1v15Sha256),
            (KeyKind::Rsa, true) => Ok(Self::PssSha256),
            (other @ (KeyKind::Ec(_) | KeyKind::Ed25519), true) => Err(fail_hint(
                Exit::Usage,
                format!(
                    "--pss applies to RSA keys only; the signing key is a {} key",
                    other.name()
                ),
                "leave out --pss: this key signs with its own algorithm",
            )),
            (KeyKind::Ec(curve), false) => Ok(Self::Ecdsa(curve)),
            (KeyKind::Ed25519, false) => Ok(Self::Ed25519),
            (KeyKind::X25519, _) => Err(fail(
                Exit::NoUser,
                "an X25519 key cannot sign (it is for key agreement only)",
            )),
        }
    }

    /// The message digest algorithm: also the hash inside the signature.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Self::Pkcs1v15Sha256 | Self::PssSha256 | Self::Ecdsa(Curve::P256) => {
                DigestAlgorithm::Sha256
            }
            Self::Ecdsa(Curve::P384) => DigestAlgorithm::Sha384,
            Self::Ed25519 => DigestAlgorithm::Sha512,
        }
    }

    /// The kind of key that makes this signature.
    fn key_kind(self) -> KeyKind {
        match self {
            Self::Pkcs1v15Sha256 | Self::PssSha256 => KeyKind::Rsa,
            Self::Ecdsa(curve) => KeyKind::Ec(curve),
            Self::Ed25519 => KeyKind::Ed25519,
        }
    }
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

    pub(crate) fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => ID_SHA_1,
            Self::Sha256 => ID_SHA_256,
            Self::Sha384 => ID_SHA_384,
            Self::Sha512 => ID_SHA_512,
        }
    }

    /// A hasher to feed piece by piece (a content streamed past).
    pub fn hasher(self) -> Box<dyn DynDigest + Send> {
        match self {
            Self::Sha1 => Box::new(sha1::Sha1::default()),
            Self::Sha256 => Box::new(sha2::Sha256::default()),
            Self::Sha384 => Box::new(sha2::Sha384::default()),
            Self::Sha512 => Box::new(sha2::Sha512::default()),
        }
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finalize().into_vec()
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
    pub algorithm: SignatureAlgorithm,
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
        SignerReport {
            who,
            fingerprint: v.signer.fingerprint.chars().take(16).collect(),
            algorithm: v.algorithm.with_digest(v.digest),
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
pub(crate) mod tests;
