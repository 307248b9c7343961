//! ASN.1 structures the `cms` 0.2 crate does not provide.

use cms::content_info::CmsVersion;
use cms::enveloped_data::{EncryptedContentInfo, OriginatorInfo, RecipientInfos};
use der::asn1::OctetString;
use der::Sequence;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attributes;

/// `AuthEnvelopedData` (RFC 5083 §2.1).
///
/// ```text
/// AuthEnvelopedData ::= SEQUENCE {
///   version CMSVersion,
///   originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
///   recipientInfos RecipientInfos,
///   authEncryptedContentInfo EncryptedContentInfo,
///   authAttrs [1] IMPLICIT AuthAttributes OPTIONAL,
///   mac MessageAuthenticationCode,
///   unauthAttrs [2] IMPLICIT UnauthAttributes OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct AuthEnvelopedData {
    pub version: CmsVersion,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub originator_info: Option<OriginatorInfo>,
    pub recip_infos: RecipientInfos,
    pub auth_encrypted_content: EncryptedContentInfo,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub auth_attrs: Option<Attributes>,
    pub mac: OctetString,
    #[asn1(
        context_specific = "2",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub unauth_attrs: Option<Attributes>,
}

/// `GCMParameters` (RFC 5084 §3.2):
/// `SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen AES-GCM-ICVlen DEFAULT 12 }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct GcmParameters {
    pub nonce: OctetString,
    /// Absent means the default, 12. sealpost always writes it (16).
    pub icv_len: Option<u8>,
}

/// `RSAES-OAEP-params` (RFC 4055 §4.1; the module uses EXPLICIT tags). Absent
/// fields take their defaults: SHA-1, MGF1 with SHA-1, empty label.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct RsaesOaepParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub p_source: Option<AlgorithmIdentifierOwned>,
}
