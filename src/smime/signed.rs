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

use std::fmt;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{
    ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
use const_oid::db::rfc5912::{
    ID_MGF_1, ID_RSASSA_PSS, ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512, RSA_ENCRYPTION,
    SHA_1_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
    SHA_512_WITH_RSA_ENCRYPTION,
};
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Reader, Sequence, SliceReader, Tag, Tagged};
use rand_core::CryptoRngCore;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pss::Pss;
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;
use subtle::ConstantTimeEq;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;
use x509_cert::Certificate;

use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::{format_time, rsa_public_key, CertInfo, UnixTime};
use crate::smime::identity::{
    own_capabilities, ID_AES128_CBC, ID_AES128_GCM, ID_AES256_CBC, ID_AES256_GCM, ID_RSAES_OAEP,
    ID_SMIME_CAPABILITIES,
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

/// `text` with control characters escaped, so that a hostile certificate
/// cannot write to the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
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

// ---------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------

/// RSASSA-PSS-params (RFC 4055 §3.1), with the salt length as a full INTEGER
/// (the `pkcs1` crate's `u8` cannot hold OpenSSL's maximum-length salts).
#[derive(Clone, Debug, Default, Eq, PartialEq, Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
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

fn sha256_ai() -> AlgorithmIdentifierOwned {
    // RFC 5754 §2: SHA-2 digest AlgorithmIdentifiers have absent parameters.
    AlgorithmIdentifierOwned {
        oid: ID_SHA_256,
        parameters: None,
    }
}

fn signature_algorithm(scheme: SignatureScheme) -> der::Result<AlgorithmIdentifierOwned> {
    match scheme {
        // rsaEncryption, as RFC 3370 §3.2 and OpenSSL write it.
        SignatureScheme::Pkcs1v15Sha256 => Ok(AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        }),
        SignatureScheme::PssSha256 => {
            // Within RSASSA-PSS-params the hash identifiers carry NULL
            // parameters (RFC 4055 §2.1), as OpenSSL writes them.
            let sha256 = AlgorithmIdentifierOwned {
                oid: ID_SHA_256,
                parameters: Some(Any::null()),
            };
            let params = PssParams {
                hash: Some(sha256.clone()),
                mask_gen: Some(AlgorithmIdentifierOwned {
                    oid: ID_MGF_1,
                    parameters: Some(Any::encode_from(&sha256)?),
                }),
                salt_len: Some(PSS_SALT_LEN),
                trailer_field: None,
            };
            Ok(AlgorithmIdentifierOwned {
                oid: ID_RSASSA_PSS,
                parameters: Some(Any::encode_from(&params)?),
            })
        }
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// signingTime as RFC 5652 §11.3 requires: UTCTime for 1950–2049,
/// GeneralizedTime otherwise.
fn encode_signing_time(t: UnixTime) -> anyhow::Result<Any> {
    let bad = || fail(Exit::Software, format!("signing time {t} is out of range"));
    let secs = u64::try_from(t).map_err(|_| bad())?;
    let duration = std::time::Duration::from_secs(secs);
    let time = match der::asn1::UtcTime::from_unix_duration(duration) {
        Ok(utc) => Time::UtcTime(utc),
        Err(_) => Time::GeneralTime(
            der::asn1::GeneralizedTime::from_unix_duration(duration).map_err(|_| bad())?,
        ),
    };
    Any::encode_from(&time).map_err(|_| bad())
}

/// Signs `content` (opaque: the content travels inside the result) and
/// returns a DER `ContentInfo`.
///
/// `signer` must hold the public half of `key`; `chain` is any intermediate
/// certificates to carry with it (it may be empty). No other certificate is
/// included.
pub fn sign(
    content: &[u8],
    key: &RsaPrivateKey,
    signer: &CertInfo,
    chain: &[CertInfo],
    scheme: SignatureScheme,
    signing_time: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Vec<u8>> {
    let digest = sha2::Sha256::digest(content);
    let signer = Signer {
        key,
        cert: signer,
        chain,
        scheme,
        signing_time,
    };
    sign_digest(&digest, Some(content), &signer, rng)
}

/// Who signs, how and when.
pub struct Signer<'a> {
    pub key: &'a RsaPrivateKey,
    pub cert: &'a CertInfo,
    pub chain: &'a [CertInfo],
    pub scheme: SignatureScheme,
    pub signing_time: UnixTime,
}

/// Signs content whose SHA-256 `digest` the caller computed, and returns a
/// DER `ContentInfo` as [`sign`] does: with the content encapsulated when
/// given, else without it (a caller streaming a large content puts it in
/// itself: see `encrypt::sign`).
pub fn sign_digest(
    digest: &[u8],
    content: Option<&[u8]>,
    signer: &Signer<'_>,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Vec<u8>> {
    let Signer {
        key,
        cert: signer,
        chain,
        scheme,
        signing_time,
    } = *signer;
    let internal = |what: &str, e: der::Error| fail(Exit::Software, format!("{what}: {e}"));
    let public = rsa_public_key(&signer.cert)?;
    if public != key.to_public_key() {
        return Err(fail_hint(
            Exit::NoUser,
            format!(
                "the signing key does not belong to certificate {}",
                &signer.fingerprint.chars().take(16).collect::<String>()
            ),
            "sign with the key that was issued together with this certificate",
        ));
    }

    let attrs = vec![
        attribute(
            ID_CONTENT_TYPE,
            Any::encode_from(&ID_DATA).map_err(|e| internal("contentType", e))?,
        ),
        attribute(ID_SIGNING_TIME, encode_signing_time(signing_time)?),
        attribute(
            ID_MESSAGE_DIGEST,
            Any::new(Tag::OctetString, digest.to_vec())
                .map_err(|e| internal("messageDigest", e))?,
        ),
        attribute(
            ID_SMIME_CAPABILITIES,
            Any::encode_from(&own_capabilities()).map_err(|e| internal("smimeCapabilities", e))?,
        ),
    ]
    .into_iter()
    .collect::<der::Result<Vec<Attribute>>>()
    .map_err(|e| internal("signed attributes", e))?;
    // SetOfVec sorts into DER order; the signature covers the DER of the SET.
    let signed_attrs: SetOfVec<Attribute> =
        SetOfVec::try_from(attrs).map_err(|e| internal("signed attributes", e))?;
    let to_be_signed = signed_attrs
        .to_der()
        .map_err(|e| internal("signed attributes", e))?;
    let hashed = sha2::Sha256::digest(&to_be_signed);

    let signature = match scheme {
        SignatureScheme::Pkcs1v15Sha256 => {
            key.sign_with_rng(rng, Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed)
        }
        SignatureScheme::PssSha256 => key.sign_with_rng(
            rng,
            Pss::new_with_salt::<sha2::Sha256>(PSS_SALT_LEN as usize),
            &hashed,
        ),
    }
    .map_err(|e| fail(Exit::Software, format!("RSA signing failed: {e}")))?;

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.cert.tbs_certificate.issuer.clone(),
            serial_number: signer.cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256_ai(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: signature_algorithm(scheme)
            .map_err(|e| internal("signature algorithm", e))?,
        signature: OctetString::new(signature).map_err(|e| internal("signature", e))?,
        unsigned_attrs: None,
    };

    // The signer and its chain, each once.
    let mut carried: Vec<&CertInfo> = Vec::with_capacity(chain.len() + 1);
    for c in std::iter::once(signer).chain(chain) {
        if !carried.iter().any(|k| k.der == c.der) {
            carried.push(c);
        }
    }
    let certificates = CertificateSet::try_from(
        carried
            .iter()
            .map(|c| CertificateChoices::Certificate(c.cert.clone()))
            .collect::<Vec<_>>(),
    )
    .map_err(|e| internal("certificate set", e))?;

    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256_ai()])
            .map_err(|e| internal("digest algorithms", e))?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: content
                .map(|c| Any::new(Tag::OctetString, c))
                .transpose()
                .map_err(|e| internal("content", e))?,
        },
        certificates: Some(certificates),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info])
            .map_err(|e| internal("signer infos", e))?,
    };
    let info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(|e| internal("SignedData", e))?,
    };
    info.to_der().map_err(|e| internal("ContentInfo", e))
}

// ---------------------------------------------------------------------------
// Verifying
// ---------------------------------------------------------------------------

fn malformed(what: impl fmt::Display) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed signed message: {what}"))
}

fn bad_signature(what: impl fmt::Display) -> anyhow::Error {
    fail(Exit::DataErr, format!("bad signature: {what}"))
}

/// One SignerInfo: decoded, plus its signed attributes exactly as sent.
struct RawSigner {
    info: SignerInfo,
    /// The `[0] IMPLICIT` signed attributes with the tag changed to SET:
    /// the bytes the signature covers (RFC 5652 §5.4).
    signed_attrs: Option<Vec<u8>>,
}

/// The parts of a SignedData that verification needs.
struct Parsed {
    econtent_type: ObjectIdentifier,
    econtent: Option<Vec<u8>>,
    certificates: Vec<CertInfo>,
    signers: Vec<RawSigner>,
}

/// Verifies an encapsulated (opaque) signed message, DER or BER, and returns
/// its content with what is known about the signer.
///
/// Fails with [`Exit::DataErr`] when the input is malformed, the content is
/// not included (use [`verify_detached`]), or no signature verifies
/// ("bad signature: …"). With several SignerInfos, the first that verifies
/// is reported (RFC 5652 §5.6); if none does, the first one's error.
pub fn verify(der: &[u8]) -> anyhow::Result<Verified> {
    verify_with_certs(der, None, &[])
}

/// Verifies a detached signature (the `application/pkcs7-signature` part of
/// `multipart/signed`) over `content`, the canonical (CRLF) bytes of the
/// first part exactly as transmitted.
pub fn verify_detached(signed_der: &[u8], content: &[u8]) -> anyhow::Result<Verified> {
    verify_with_certs(signed_der, Some(content), &[])
}

/// [`verify`] or (with `detached` content) [`verify_detached`], also looking
/// for the signer's certificate among `known` when the message does not
/// carry it. Certificates from `known` are used to check the signature only;
/// they are not reported in [`Verified::certificates`] unless carried.
pub fn verify_with_certs(
    input: &[u8],
    detached: Option<&[u8]>,
    known: &[CertInfo],
) -> anyhow::Result<Verified> {
    let der = crate::smime::envelope::ber::to_der(input)?;
    let parsed = parse(&der)?;

    let (content, is_detached) = match (detached, parsed.econtent) {
        (Some(c), None) => (c.to_vec(), true),
        (None, Some(c)) => (c, false),
        (None, None) => {
            return Err(fail_hint(
                Exit::DataErr,
                "the signed content is not included (a detached signature)",
                "verify it together with the content it signs (multipart/signed)",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                Exit::DataErr,
                "expected a detached signature, but the message encapsulates its content",
            ))
        }
    };
    if parsed.signers.is_empty() {
        return Err(malformed("no SignerInfo"));
    }

    let mut first_error = None;
    for signer in &parsed.signers {
        match verify_signer(
            signer,
            &parsed.econtent_type,
            &content,
            &parsed.certificates,
            known,
        ) {
            Ok((cert, facts)) => {
                return Ok(Verified {
                    content,
                    detached: is_detached,
                    signer: cert,
                    certificates: parsed.certificates,
                    signing_time: facts.signing_time,
                    capabilities: facts.capabilities,
                    padding: facts.padding,
                    digest: facts.digest,
                })
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| malformed("no SignerInfo")))
}

/// The encapsulated content of a signed message (DER or BER) *without*
/// verifying anything: for showing a message whose signature failed, clearly
/// marked as such by the caller.
pub fn unverified_content(input: &[u8]) -> anyhow::Result<Vec<u8>> {
    let der = crate::smime::envelope::ber::to_der(input)?;
    parse(&der)?.econtent.ok_or_else(|| {
        fail(
            Exit::DataErr,
            "the signed content is not included (a detached signature)",
        )
    })
}

/// Splits the DER SignedData by hand where the `cms` types would re-sort SET
/// OFs (signed attributes must be hashed as sent) or reject duplicates.
fn parse(der: &[u8]) -> anyhow::Result<Parsed> {
    let info = ContentInfo::from_der(der).map_err(malformed)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(fail(
            Exit::DataErr,
            format!(
                "not a CMS SignedData message (content type {})",
                info.content_type
            ),
        ));
    }
    if info.content.tag() != Tag::Sequence {
        return Err(malformed("SignedData is not a SEQUENCE"));
    }
    let mut r = SliceReader::new(info.content.value()).map_err(malformed)?;
    let _version: CmsVersion = r.decode().map_err(malformed)?;
    let digest_algs: AnyRef<'_> = r.decode().map_err(malformed)?;
    if digest_algs.tag() != Tag::Set {
        return Err(malformed("bad digestAlgorithms"));
    }
    let encap: EncapsulatedContentInfo = r.decode().map_err(malformed)?;
    let econtent = match encap.econtent {
        None => None,
        Some(any) if any.tag() == Tag::OctetString => Some(any.value().to_vec()),
        Some(_) => return Err(malformed("eContent is not an OCTET STRING")),
    };

    let mut certificates = Vec::new();
    // Duplicates are dropped by a set: a message can carry thousands of
    // certificates, and comparing each with every other is quadratic.
    let mut seen = std::collections::HashSet::new();
    if r.peek_byte() == Some(0xa0) {
        let set: AnyRef<'_> = r.decode().map_err(malformed)?;
        let mut inner = SliceReader::new(set.value()).map_err(malformed)?;
        while !inner.is_finished() {
            let tlv = inner.tlv_bytes().map_err(malformed)?;
            // Other CertificateChoices (attribute certificates and the like)
            // and certificates this crate cannot parse are skipped: if the
            // signer's is among them, verification reports it missing.
            if tlv.first() == Some(&0x30) {
                if let Ok(cert) = Certificate::from_der(tlv) {
                    if let Ok(info) = CertInfo::from_cert(cert) {
                        if seen.insert(info.der.clone()) {
                            certificates.push(info);
                        }
                    }
                }
            }
        }
    }
    if r.peek_byte() == Some(0xa1) {
        let _crls: AnyRef<'_> = r.decode().map_err(malformed)?;
    }
    let signer_infos: AnyRef<'_> = r.decode().map_err(malformed)?;
    if signer_infos.tag() != Tag::Set {
        return Err(malformed("bad signerInfos"));
    }
    if !r.is_finished() {
        return Err(malformed("trailing data in SignedData"));
    }

    let mut signers = Vec::new();
    let mut inner = SliceReader::new(signer_infos.value()).map_err(malformed)?;
    while !inner.is_finished() {
        let tlv = inner.tlv_bytes().map_err(malformed)?;
        signers.push(parse_signer_info(tlv)?);
    }
    Ok(Parsed {
        econtent_type: encap.econtent_type,
        econtent,
        certificates,
        signers,
    })
}

fn parse_signer_info(tlv: &[u8]) -> anyhow::Result<RawSigner> {
    let info = SignerInfo::from_der(tlv).map_err(|e| malformed(format!("SignerInfo: {e}")))?;
    let seq = AnyRef::from_der(tlv).map_err(malformed)?;
    let mut r = SliceReader::new(seq.value()).map_err(malformed)?;
    for _ in 0..3 {
        // version, sid, digestAlgorithm
        r.tlv_bytes().map_err(malformed)?;
    }
    let signed_attrs = if r.peek_byte() == Some(0xa0) {
        let raw = r.tlv_bytes().map_err(malformed)?;
        let mut set = raw.to_vec();
        if let Some(tag) = set.first_mut() {
            *tag = 0x31; // [0] IMPLICIT -> SET OF, as the signature covers it
        }
        Some(set)
    } else {
        None
    };
    if signed_attrs.is_some() != info.signed_attrs.is_some() {
        return Err(malformed("inconsistent signed attributes"));
    }
    Ok(RawSigner { info, signed_attrs })
}

/// Facts from one verified SignerInfo.
struct SignerFacts {
    signing_time: Option<UnixTime>,
    capabilities: Option<Capabilities>,
    padding: Padding,
    digest: DigestAlgorithm,
}

fn find_signer(sid: &SignerIdentifier, certs: &[CertInfo]) -> Option<CertInfo> {
    certs
        .iter()
        .find(|c| match sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                let tbs = &c.cert.tbs_certificate;
                tbs.serial_number == ias.serial_number && tbs.issuer == ias.issuer
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                c.subject_key_id.as_deref() == Some(ski.0.as_bytes())
            }
        })
        .cloned()
}

/// The single value of the attribute `oid`, `None` when absent; an error
/// when repeated or multi-valued (RFC 5652 §11).
fn single_attr<'a>(
    attrs: &'a SetOfVec<Attribute>,
    oid: ObjectIdentifier,
    name: &str,
) -> anyhow::Result<Option<&'a Any>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.oid == oid) {
        if found.is_some() || attr.values.len() != 1 {
            return Err(malformed(format!(
                "{name} attribute must have exactly one value"
            )));
        }
        found = attr.values.get(0);
    }
    Ok(found)
}

fn verify_signer(
    signer: &RawSigner,
    econtent_type: &ObjectIdentifier,
    content: &[u8],
    carried: &[CertInfo],
    known: &[CertInfo],
) -> anyhow::Result<(CertInfo, SignerFacts)> {
    let si = &signer.info;
    let digest = DigestAlgorithm::from_oid(&si.digest_alg.oid).ok_or_else(|| {
        fail(
            Exit::DataErr,
            format!("unsupported digest algorithm {}", si.digest_alg.oid),
        )
    })?;
    let cert = find_signer(&si.sid, carried)
        .or_else(|| find_signer(&si.sid, known))
        .ok_or_else(|| {
            fail_hint(
                Exit::DataErr,
                "the signer's certificate is not included in the message",
                "import the sender's certificate and try again",
            )
        })?;
    let public = rsa_public_key(&cert.cert)?;

    let mut signing_time = None;
    let mut capabilities = None;
    let content_digest = digest.hash(content);
    let hashed = match (&si.signed_attrs, &signer.signed_attrs) {
        (Some(attrs), Some(raw)) => {
            let ct = single_attr(attrs, ID_CONTENT_TYPE, "contentType")?
                .ok_or_else(|| malformed("the contentType attribute is missing"))?;
            let ct: ObjectIdentifier = ct
                .decode_as()
                .map_err(|e| malformed(format!("contentType: {e}")))?;
            if ct != *econtent_type {
                return Err(bad_signature(
                    "the contentType attribute does not match the content type",
                ));
            }
            let md = single_attr(attrs, ID_MESSAGE_DIGEST, "messageDigest")?
                .ok_or_else(|| malformed("the messageDigest attribute is missing"))?;
            if md.tag() != Tag::OctetString {
                return Err(malformed("messageDigest is not an OCTET STRING"));
            }
            if !bool::from(md.value().ct_eq(&content_digest)) {
                return Err(bad_signature(
                    "the content does not match its message digest (altered in transit?)",
                ));
            }
            if let Some(t) = single_attr(attrs, ID_SIGNING_TIME, "signingTime")? {
                let time = t
                    .to_der()
                    .and_then(|d| Time::from_der(&d))
                    .map_err(|e| malformed(format!("signingTime: {e}")))?;
                signing_time = i64::try_from(time.to_unix_duration().as_secs()).ok();
            }
            // Capabilities are advisory: a malformed list is ignored rather
            // than failing a signature that verifies.
            if let Ok(Some(c)) = single_attr(attrs, ID_SMIME_CAPABILITIES, "smimeCapabilities") {
                if let Ok(list) = c
                    .to_der()
                    .and_then(|d| Vec::<AlgorithmIdentifierOwned>::from_der(&d))
                {
                    capabilities = Some(Capabilities::from_algorithms(&list));
                }
            }
            digest.hash(raw)
        }
        (None, None) => {
            if *econtent_type != ID_DATA {
                return Err(malformed(
                    "signed attributes are required for content other than id-data",
                ));
            }
            content_digest
        }
        _ => return Err(malformed("inconsistent signed attributes")),
    };

    let padding = check_signature(&public, &si.signature_algorithm, digest, &hashed, si)?;
    Ok((
        cert,
        SignerFacts {
            signing_time,
            capabilities,
            padding,
            digest,
        },
    ))
}

/// Checks the RSA signature of `si` over the prehashed `hashed`.
fn check_signature(
    public: &RsaPublicKey,
    alg: &AlgorithmIdentifierOwned,
    digest: DigestAlgorithm,
    hashed: &[u8],
    si: &SignerInfo,
) -> anyhow::Result<Padding> {
    // Some signers drop leading zero octets; RFC 8017 wants exactly k octets.
    let sig_bytes = si.signature.as_bytes();
    let size = public.size();
    let padded;
    let sig = if sig_bytes.len() < size {
        padded = [vec![0u8; size - sig_bytes.len()], sig_bytes.to_vec()].concat();
        &padded[..]
    } else {
        sig_bytes
    };
    let implied = match alg.oid {
        RSA_ENCRYPTION => Some(None),
        SHA_1_WITH_RSA_ENCRYPTION => Some(Some(DigestAlgorithm::Sha1)),
        SHA_256_WITH_RSA_ENCRYPTION => Some(Some(DigestAlgorithm::Sha256)),
        SHA_384_WITH_RSA_ENCRYPTION => Some(Some(DigestAlgorithm::Sha384)),
        SHA_512_WITH_RSA_ENCRYPTION => Some(Some(DigestAlgorithm::Sha512)),
        _ => None,
    };
    let (padding, result) = if let Some(implied) = implied {
        if implied.is_some_and(|d| d != digest) {
            return Err(malformed(
                "the signature algorithm's digest differs from the digest algorithm",
            ));
        }
        let scheme = match digest {
            DigestAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
            DigestAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
            DigestAlgorithm::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
            DigestAlgorithm::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
        };
        (Padding::Pkcs1v15, public.verify(scheme, hashed, sig))
    } else if alg.oid == ID_RSASSA_PSS {
        let salt = pss_salt_len(alg, digest)?;
        let scheme = match digest {
            DigestAlgorithm::Sha1 => Pss::new_with_salt::<sha1::Sha1>(salt),
            DigestAlgorithm::Sha256 => Pss::new_with_salt::<sha2::Sha256>(salt),
            DigestAlgorithm::Sha384 => Pss::new_with_salt::<sha2::Sha384>(salt),
            DigestAlgorithm::Sha512 => Pss::new_with_salt::<sha2::Sha512>(salt),
        };
        (Padding::Pss, public.verify(scheme, hashed, sig))
    } else {
        return Err(fail(
            Exit::DataErr,
            format!("unsupported signature algorithm {}", alg.oid),
        ));
    };
    result.map_err(|_| bad_signature("the signature does not match the signer's certificate"))?;
    Ok(padding)
}

/// Validates RSASSA-PSS-params against the digest algorithm and returns the
/// salt length. The hash and the MGF1 hash must both be the digest algorithm
/// (RFC 4056 §3 requires the former; the `rsa` crate the latter).
fn pss_salt_len(alg: &AlgorithmIdentifierOwned, digest: DigestAlgorithm) -> anyhow::Result<usize> {
    let params = match &alg.parameters {
        None => PssParams::default(),
        Some(any) => any
            .to_der()
            .and_then(|d| PssParams::from_der(&d))
            .map_err(|e| malformed(format!("RSASSA-PSS parameters: {e}")))?,
    };
    let hash = params
        .hash
        .as_ref()
        .map_or(Some(DigestAlgorithm::Sha1), |h| {
            DigestAlgorithm::from_oid(&h.oid)
        });
    let mgf_hash = match &params.mask_gen {
        None => Some(DigestAlgorithm::Sha1),
        Some(mgf) if mgf.oid == ID_MGF_1 => mgf
            .parameters
            .as_ref()
            .and_then(|p| p.to_der().ok())
            .and_then(|d| AlgorithmIdentifierOwned::from_der(&d).ok())
            .and_then(|h| DigestAlgorithm::from_oid(&h.oid)),
        Some(_) => None,
    };
    if hash != Some(digest) || mgf_hash != Some(digest) {
        return Err(fail(
            Exit::DataErr,
            "unsupported RSASSA-PSS parameters (hash and MGF1 hash must equal the digest algorithm)",
        ));
    }
    if params.trailer_field.unwrap_or(1) != 1 {
        return Err(malformed("RSASSA-PSS trailer field must be 1"));
    }
    match params.salt_len.unwrap_or(20) {
        salt @ 0..=MAX_PSS_SALT_LEN => Ok(salt as usize),
        salt => Err(malformed(format!(
            "RSASSA-PSS salt length {salt} is impossible"
        ))),
    }
}

#[cfg(test)]
mod tests;
