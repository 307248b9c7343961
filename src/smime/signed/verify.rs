//! Verifying: parsing a `SignedData` (DER or BER), finding each signer's
//! certificate, and checking the message digest, the contentType attribute
//! and the signature (`verify_key.rs`).

use std::fmt;

use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier, SignerInfo};
use const_oid::db::rfc5911::{
    ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, SetOfVec};
use der::{Any, Decode, Encode, Reader, SliceReader, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use subtle::ConstantTimeEq;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;
use x509_cert::Certificate;

use super::verify_key::{check_signature, SignatureAlgorithm};
use super::{Capabilities, DigestAlgorithm, Verified};
use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::{matches_key_id, CertInfo, UnixTime};
use crate::smime::identity::ID_SMIME_CAPABILITIES;

/// CRLs kept from one message; more are ignored (each is searched per
/// certificate on a path).
const MAX_CRLS: usize = 64;

fn malformed(what: impl fmt::Display) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed signed message: {what}"))
}

fn bad_signature(what: impl fmt::Display) -> anyhow::Error {
    fail(Exit::DataErr, format!("bad signature: {what}"))
}

/// One SignerInfo: decoded, plus its signed attributes exactly as sent.
pub(super) struct RawSigner {
    info: SignerInfo,
    /// The `[0] IMPLICIT` signed attributes with the tag changed to SET:
    /// the bytes the signature covers (RFC 5652 §5.4).
    pub(super) signed_attrs: Option<Vec<u8>>,
}

/// The parts of a SignedData that verification needs.
pub(super) struct Parsed {
    econtent_type: ObjectIdentifier,
    econtent: Option<Vec<u8>>,
    certificates: Vec<CertInfo>,
    /// Each CertificateRevocationList the message carried, DER, unparsed.
    crls: Vec<Vec<u8>>,
    pub(super) signers: Vec<RawSigner>,
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
                    crls: parsed.crls,
                    signing_time: facts.signing_time,
                    capabilities: facts.capabilities,
                    algorithm: facts.algorithm,
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
pub(super) fn parse(der: &[u8]) -> anyhow::Result<Parsed> {
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
    let mut crls = Vec::new();
    if r.peek_byte() == Some(0xa1) {
        let set: AnyRef<'_> = r.decode().map_err(malformed)?;
        let mut inner = SliceReader::new(set.value()).map_err(malformed)?;
        while !inner.is_finished() {
            let tlv = inner.tlv_bytes().map_err(malformed)?;
            // OtherRevocationInfoFormat ([1]) is skipped.
            if tlv.first() == Some(&0x30) && crls.len() < MAX_CRLS {
                crls.push(tlv.to_vec());
            }
        }
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
        crls,
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
    algorithm: SignatureAlgorithm,
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
                matches_key_id(&c.cert, ski.0.as_bytes())
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

    let mut signing_time = None;
    let mut capabilities = None;
    let content_digest = digest.hash(content);
    let signed: &[u8] = match (&si.signed_attrs, &signer.signed_attrs) {
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
            raw
        }
        (None, None) => {
            if *econtent_type != ID_DATA {
                return Err(malformed(
                    "signed attributes are required for content other than id-data",
                ));
            }
            content
        }
        _ => return Err(malformed("inconsistent signed attributes")),
    };

    let algorithm = check_signature(
        &cert,
        &si.signature_algorithm,
        digest,
        signed,
        si.signature.as_bytes(),
    )?;
    Ok((
        cert,
        SignerFacts {
            signing_time,
            capabilities,
            algorithm,
            digest,
        },
    ))
}
