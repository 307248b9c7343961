//! Signing: a `SignedData` with the content encapsulated, one `SignerInfo`
//! with the signed attributes S/MIME expects, signed with RSA (PKCS#1 v1.5 or
//! PSS), ECDSA or Ed25519.

use crate::smime::privkey::PrivateKey;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{
    ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ID_MGF_1, ID_RSASSA_PSS, ID_SHA_256, RSA_ENCRYPTION,
};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode, Tag};
use rand_core::CryptoRngCore;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pss::Pss;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;

use super::{DigestAlgorithm, PssParams, SignatureScheme, PSS_SALT_LEN};
use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::{CertInfo, UnixTime};
use crate::smime::identity::{own_capabilities, ID_SMIME_CAPABILITIES};
use crate::smime::privkey::key::ID_ED25519;
use crate::smime::privkey::Curve;

pub(super) fn digest_ai(digest: DigestAlgorithm) -> AlgorithmIdentifierOwned {
    // RFC 5754 §2: SHA-2 digest AlgorithmIdentifiers have absent parameters.
    AlgorithmIdentifierOwned {
        oid: digest.oid(),
        parameters: None,
    }
}

/// An AlgorithmIdentifier with absent parameters (RFC 5758 §3.2 for
/// ECDSA, RFC 8410 §3 for Ed25519).
fn bare(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

pub(super) fn signature_algorithm(
    scheme: SignatureScheme,
) -> der::Result<AlgorithmIdentifierOwned> {
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
        SignatureScheme::Ecdsa(Curve::P256) => Ok(bare(ECDSA_WITH_SHA_256)),
        SignatureScheme::Ecdsa(Curve::P384) => Ok(bare(ECDSA_WITH_SHA_384)),
        SignatureScheme::Ed25519 => Ok(bare(ID_ED25519)),
    }
}

pub(super) fn attribute(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// signingTime as RFC 5652 §11.3 requires: UTCTime for 1950–2049,
/// GeneralizedTime otherwise.
pub(super) fn encode_signing_time(t: UnixTime) -> anyhow::Result<Any> {
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
/// `signer` must hold the public half of `key`, and `scheme` must be one
/// `key` makes ([`SignatureScheme::for_key`]); `chain` is any intermediate
/// certificates to carry with it (it may be empty). No other certificate is
/// included.
pub fn sign(
    content: &[u8],
    key: &PrivateKey,
    signer: &CertInfo,
    chain: &[CertInfo],
    scheme: SignatureScheme,
    signing_time: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Vec<u8>> {
    let digest = scheme.digest().hash(content);
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
    pub key: &'a PrivateKey,
    pub cert: &'a CertInfo,
    pub chain: &'a [CertInfo],
    pub scheme: SignatureScheme,
    pub signing_time: UnixTime,
}

/// Signs content whose `digest` the caller computed with the scheme's
/// algorithm ([`SignatureScheme::digest`]), and returns a DER `ContentInfo`
/// as [`sign`] does: with the content encapsulated when
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
    if !key.matches(&signer.cert.tbs_certificate.subject_public_key_info) {
        return Err(fail_hint(
            Exit::NoUser,
            format!(
                "the signing key does not belong to certificate {}",
                &signer.fingerprint.chars().take(16).collect::<String>()
            ),
            "sign with the key that was issued together with this certificate",
        ));
    }
    // Internal errors: the callers pick the scheme from the key and digest
    // with it.
    if scheme.key_kind() != key.kind() {
        return Err(fail(
            Exit::Software,
            format!(
                "a {} key cannot make a {scheme:?} signature",
                key.kind().name()
            ),
        ));
    }
    let digest_alg = scheme.digest();
    if digest.len() != digest_alg.hasher().output_size() {
        return Err(fail(
            Exit::Software,
            format!("the content digest is not a {} digest", digest_alg.name()),
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
    let signature = match scheme {
        SignatureScheme::Pkcs1v15Sha256 | SignatureScheme::PssSha256 => {
            let hashed = digest_alg.hash(&to_be_signed);
            let key = key.rsa("signing")?;
            if scheme == SignatureScheme::PssSha256 {
                key.sign_with_rng(
                    rng,
                    Pss::new_with_salt::<sha2::Sha256>(PSS_SALT_LEN as usize),
                    &hashed,
                )
            } else {
                key.sign_with_rng(rng, Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed)
            }
            .map_err(|e| fail(Exit::Software, format!("RSA signing failed: {e}")))?
        }
        // ECDSA hashes with the curve's hash, which is the digest
        // algorithm; Ed25519 signs the attributes themselves (RFC 8419 §3.2).
        SignatureScheme::Ecdsa(_) | SignatureScheme::Ed25519 => key.sign_ec(&to_be_signed)?,
    };

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.cert.tbs_certificate.issuer.clone(),
            serial_number: signer.cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: digest_ai(digest_alg),
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
        digest_algorithms: SetOfVec::try_from(vec![digest_ai(digest_alg)])
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
