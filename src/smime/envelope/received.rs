//! Decoding a received `EnvelopedData` or `AuthEnvelopedData` around one
//! flaw of the `cms` 0.2 crate: a key agreement entry that names its
//! recipient by `rKeyId [0] IMPLICIT RecipientKeyIdentifier` (what `openssl
//! cms -encrypt -keyid` writes for an EC recipient) cannot be decoded in
//! either form, because the crate marks that CHOICE alternative primitive
//! while a SEQUENCE under implicit tagging is constructed. A single such
//! entry would make the whole message unreadable for every recipient.
//!
//! So the recipient set is read element by element: every entry the crate
//! decodes is kept as it decodes it; a key agreement entry it refuses is
//! decoded here, with the alternative marked constructed, and handed on as
//! the crate's own type (fine in memory; only re-encoding it would show the
//! crate's flaw, and sealpost never re-encodes a received key agreement
//! entry).

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    EncryptedContentInfo, KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo,
    OriginatorIdentifierOrKey, OriginatorInfo, RecipientEncryptedKey, RecipientInfo,
    RecipientKeyIdentifier,
};
use der::asn1::{GeneralizedTime, OctetString};
use der::{Any, Choice, Decode, DecodeValue, Encode, FixedTag, Header, Reader, Sequence, Tag};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attributes;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

/// The recipient entries of a received message, in their order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ReceivedRecipients(pub Vec<RecipientInfo>);

impl FixedTag for ReceivedRecipients {
    const TAG: Tag = Tag::Set;
}

impl<'a> DecodeValue<'a> for ReceivedRecipients {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        reader.read_nested(header.length, |r| {
            let mut entries = Vec::new();
            while !r.is_finished() {
                let element = Any::decode(r)?.to_der()?;
                entries.push(recipient_info(&element)?);
            }
            Ok(Self(entries))
        })
    }
}

impl der::EncodeValue for ReceivedRecipients {
    fn value_len(&self) -> der::Result<der::Length> {
        self.0
            .iter()
            .try_fold(der::Length::ZERO, |len, ri| len + ri.encoded_len()?)
    }
    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.0.iter().try_for_each(|ri| ri.encode(writer))
    }
}

fn recipient_info(element: &[u8]) -> der::Result<RecipientInfo> {
    match RecipientInfo::from_der(element) {
        Ok(ri) => Ok(ri),
        // [1] IMPLICIT KeyAgreeRecipientInfo: decode it as the SEQUENCE it is.
        Err(e) if element.first() == Some(&0xa1) => {
            let mut as_sequence = element.to_vec();
            as_sequence[0] = 0x30;
            KariAsSent::from_der(&as_sequence)
                .map(|k| RecipientInfo::Kari(k.into()))
                .map_err(|_| e)
        }
        Err(e) => Err(e),
    }
}

/// `KeyAgreeRecipientInfo` with the identifier alternative tagged right.
#[derive(Sequence)]
struct KariAsSent {
    version: CmsVersion,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    originator: OriginatorIdentifierOrKey,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    ukm: Option<OctetString>,
    key_enc_alg: AlgorithmIdentifierOwned,
    recipient_enc_keys: Vec<EncryptedKeyAsSent>,
}

#[derive(Sequence)]
struct EncryptedKeyAsSent {
    rid: RidAsSent,
    enc_key: OctetString,
}

#[derive(Choice)]
enum RidAsSent {
    IssuerAndSerialNumber(IssuerAndSerialNumber),
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", constructed = "true")]
    RKeyId(KeyIdAsSent),
}

#[derive(Sequence)]
struct KeyIdAsSent {
    subject_key_identifier: SubjectKeyIdentifier,
    date: Option<GeneralizedTime>,
    /// OtherKeyAttribute: kept out (sealpost matches on the key id alone).
    other: Option<Any>,
}

impl From<KariAsSent> for KeyAgreeRecipientInfo {
    fn from(k: KariAsSent) -> Self {
        KeyAgreeRecipientInfo {
            version: k.version,
            originator: k.originator,
            ukm: k.ukm,
            key_enc_alg: k.key_enc_alg,
            recipient_enc_keys: k
                .recipient_enc_keys
                .into_iter()
                .map(|r| RecipientEncryptedKey {
                    rid: match r.rid {
                        RidAsSent::IssuerAndSerialNumber(ias) => {
                            KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(ias)
                        }
                        RidAsSent::RKeyId(id) => {
                            KeyAgreeRecipientIdentifier::RKeyId(RecipientKeyIdentifier {
                                subject_key_identifier: id.subject_key_identifier,
                                date: id.date,
                                other: None,
                            })
                        }
                    },
                    enc_key: r.enc_key,
                })
                .collect(),
        }
    }
}

/// `EnvelopedData` (RFC 5652 §6.1) as received.
#[derive(Sequence)]
pub(super) struct ReceivedEnvelopedData {
    pub version: CmsVersion,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub originator_info: Option<OriginatorInfo>,
    pub recip_infos: ReceivedRecipients,
    pub encrypted_content: EncryptedContentInfo,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub unprotected_attrs: Option<Attributes>,
}

/// `AuthEnvelopedData` (RFC 5083 §2.1) as received.
#[derive(Sequence)]
pub(super) struct ReceivedAuthEnvelopedData {
    pub version: CmsVersion,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub originator_info: Option<OriginatorInfo>,
    pub recip_infos: ReceivedRecipients,
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
