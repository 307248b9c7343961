//! Key transport: wrapping the content key for a recipient certificate
//! (`KeyTransRecipientInfo`, RFC 5652 §6.2.1), unwrapping it with our private
//! key, and describing recipient entries for people.

use std::fmt;

use anyhow::Result;
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    KeyAgreeRecipientIdentifier, KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo,
};
use der::asn1::OctetString;
use der::{Any, AnyRef, Encode};
use rand_core::CryptoRngCore;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Oaep, Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::content::{ContentCipher, ContentKey, DECRYPTION_FAILED};
use super::oids;
use super::rsa_unwrap::{RsaPadding, RsaUnwrapKey};
use super::types::RsaesOaepParams;
use crate::error::{fail, Exit};

/// How the content key is encrypted to an RSA recipient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyTransport {
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256, empty label (RFC 4055). Default.
    #[default]
    RsaOaepSha256,
    /// RSAES-PKCS1-v1_5 (RFC 3370 §4.2.1): what every client reads.
    RsaPkcs1v15,
}

impl KeyTransport {
    /// The algorithm's name as `inspect` shows it in a message (the
    /// `algorithm` of [`RecipientSummary`]), e.g. `rsaes-oaep sha-256 mgf1-sha-256`.
    pub fn name(self) -> String {
        match self {
            Self::RsaOaepSha256 => KeyTransportAlg::Oaep {
                hash: OaepHash::Sha256,
                mgf: OaepHash::Sha256,
            },
            Self::RsaPkcs1v15 => KeyTransportAlg::Pkcs1v15,
        }
        .to_string()
    }
}

/// How a `KeyTransRecipientInfo` names its recipient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RecipientIdKind {
    /// `issuerAndSerialNumber` (KTRI version 0). Default.
    #[default]
    IssuerAndSerial,
    /// `subjectKeyIdentifier` (KTRI version 2), from the certificate's SKI extension.
    SubjectKeyId,
}

/// Options for one key-transport recipient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RecipientOptions {
    /// Key transport algorithm.
    pub transport: KeyTransport,
    /// Recipient identifier form.
    pub rid: RecipientIdKind,
}

/// Builds a `KeyTransRecipientInfo` wrapping `cek` to the RSA key of `cert`.
pub fn key_trans_recipient(
    cert: &Certificate,
    cek: &ContentKey,
    options: RecipientOptions,
    rng: &mut impl CryptoRngCore,
) -> Result<RecipientInfo> {
    let tbs = &cert.tbs_certificate;
    let who = || tbs.subject.to_string();
    let public = tbs
        .subject_public_key_info
        .to_der()
        .ok()
        .and_then(|der| RsaPublicKey::from_public_key_der(&der).ok())
        .ok_or_else(|| {
            fail(
                Exit::DataErr,
                format!(
                    "certificate of {} has no rsa key; only rsa recipients are supported",
                    who()
                ),
            )
        })?;
    let (version, rid) = match options.rid {
        RecipientIdKind::IssuerAndSerial => (
            CmsVersion::V0,
            RecipientIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer.clone(),
                serial_number: tbs.serial_number.clone(),
            }),
        ),
        RecipientIdKind::SubjectKeyId => {
            let ski = subject_key_id(cert).ok_or_else(|| {
                fail(
                    Exit::DataErr,
                    format!(
                        "certificate of {} has no subject key identifier; use issuer and serial instead",
                        who()
                    ),
                )
            })?;
            (
                CmsVersion::V2,
                RecipientIdentifier::SubjectKeyIdentifier(ski),
            )
        }
    };
    let wrap_failed = |_| {
        fail(
            Exit::DataErr,
            format!("cannot encrypt the content key to {}", who()),
        )
    };
    let (key_enc_alg, enc_key) = match options.transport {
        KeyTransport::RsaOaepSha256 => (
            oaep_sha256_identifier()?,
            public
                .encrypt(rng, Oaep::new::<Sha256>(), cek.bytes())
                .map_err(wrap_failed)?,
        ),
        KeyTransport::RsaPkcs1v15 => (
            AlgorithmIdentifierOwned {
                oid: oids::RSA_ENCRYPTION,
                parameters: Some(Any::from(AnyRef::NULL)),
            },
            public
                .encrypt(rng, Pkcs1v15Encrypt, cek.bytes())
                .map_err(wrap_failed)?,
        ),
    };
    Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
        version,
        rid,
        key_enc_alg,
        enc_key: OctetString::new(enc_key)?,
    }))
}

/// id-RSAES-OAEP with SHA-256 and MGF1-SHA-256 written out, label omitted
/// (it is the DEFAULT, so DER leaves it out).
pub(crate) fn oaep_sha256_identifier() -> Result<AlgorithmIdentifierOwned> {
    let sha256 = AlgorithmIdentifierOwned {
        oid: oids::SHA256,
        parameters: None,
    };
    let mgf = AlgorithmIdentifierOwned {
        oid: oids::MGF1,
        parameters: Some(Any::encode_from(&sha256)?),
    };
    let params = RsaesOaepParams {
        hash: Some(sha256),
        mask_gen: Some(mgf),
        p_source: None,
    };
    Ok(AlgorithmIdentifierOwned {
        oid: oids::RSAES_OAEP,
        parameters: Some(Any::encode_from(&params)?),
    })
}

/// The certificate's subject key identifier, if it has one.
pub(crate) fn subject_key_id(cert: &Certificate) -> Option<SubjectKeyIdentifier> {
    match cert.tbs_certificate.get::<SubjectKeyIdentifier>() {
        Ok(Some((_, ski))) => Some(ski),
        _ => None,
    }
}

/// Whether `rid` names `cert`.
pub(crate) fn rid_matches(rid: &RecipientIdentifier, cert: &Certificate) -> bool {
    match rid {
        RecipientIdentifier::IssuerAndSerialNumber(ias) => {
            ias.serial_number == cert.tbs_certificate.serial_number
                && ias.issuer == cert.tbs_certificate.issuer
        }
        RecipientIdentifier::SubjectKeyIdentifier(ski) => {
            crate::smime::certs::matches_key_id(cert, ski.0.as_bytes())
        }
    }
}

/// A hash function allowed in RSAES-OAEP parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OaepHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl OaepHash {
    fn from_identifier(alg: &AlgorithmIdentifierOwned) -> Option<Self> {
        // RFC 4055 §2.1: parameters absent or NULL.
        if alg.parameters.as_ref().is_some_and(|p| !p.is_null()) {
            return None;
        }
        Some(match alg.oid {
            oids::SHA1 => Self::Sha1,
            oids::SHA224 => Self::Sha224,
            oids::SHA256 => Self::Sha256,
            oids::SHA384 => Self::Sha384,
            oids::SHA512 => Self::Sha512,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha-1",
            Self::Sha224 => "sha-224",
            Self::Sha256 => "sha-256",
            Self::Sha384 => "sha-384",
            Self::Sha512 => "sha-512",
        }
    }
}

/// A key transport algorithm found in a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyTransportAlg {
    Pkcs1v15,
    Oaep { hash: OaepHash, mgf: OaepHash },
}

impl fmt::Display for KeyTransportAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pkcs1v15 => f.write_str("rsaes-pkcs1-v1_5"),
            Self::Oaep { hash, mgf } => write!(f, "rsaes-oaep {} mgf1-{}", hash.name(), mgf.name()),
        }
    }
}

impl KeyTransportAlg {
    /// Parses a `KeyEncryptionAlgorithmIdentifier` of a KTRI.
    pub(crate) fn parse(alg: &AlgorithmIdentifierOwned) -> Result<Self> {
        let malformed = || fail(Exit::DataErr, "malformed rsaes-oaep parameters");
        match alg.oid {
            oids::RSA_ENCRYPTION => {
                if alg.parameters.as_ref().is_some_and(|p| !p.is_null()) {
                    return Err(fail(Exit::DataErr, "malformed rsaencryption parameters"));
                }
                Ok(Self::Pkcs1v15)
            }
            oids::RSAES_OAEP => {
                // RFC 3560 §3: absent parameters mean all defaults (SHA-1).
                let params = match &alg.parameters {
                    None => RsaesOaepParams {
                        hash: None,
                        mask_gen: None,
                        p_source: None,
                    },
                    Some(any) => any
                        .decode_as::<RsaesOaepParams>()
                        .map_err(|_| malformed())?,
                };
                let hash = match &params.hash {
                    None => OaepHash::Sha1,
                    Some(h) => OaepHash::from_identifier(h).ok_or_else(|| {
                        fail(
                            Exit::DataErr,
                            format!("unsupported rsaes-oaep hash {}", oids::name(&h.oid)),
                        )
                    })?,
                };
                let mgf = match &params.mask_gen {
                    None => OaepHash::Sha1,
                    Some(m) => {
                        if m.oid != oids::MGF1 {
                            return Err(fail(
                                Exit::DataErr,
                                format!(
                                    "unsupported rsaes-oaep mask generation {}",
                                    oids::name(&m.oid)
                                ),
                            ));
                        }
                        let inner = m
                            .parameters
                            .as_ref()
                            .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
                            .ok_or_else(malformed)?;
                        OaepHash::from_identifier(&inner).ok_or_else(|| {
                            fail(
                                Exit::DataErr,
                                format!("unsupported mgf1 hash {}", oids::name(&inner.oid)),
                            )
                        })?
                    }
                };
                if let Some(p) = &params.p_source {
                    let empty = p.oid == oids::P_SPECIFIED
                        && p.parameters
                            .as_ref()
                            .and_then(|v| v.decode_as::<OctetString>().ok())
                            .is_some_and(|label| label.as_bytes().is_empty());
                    if !empty {
                        return Err(fail(
                            Exit::DataErr,
                            "unsupported rsaes-oaep label (only the empty label is supported)",
                        ));
                    }
                }
                Ok(Self::Oaep { hash, mgf })
            }
            other => Err(fail(
                Exit::DataErr,
                format!("unsupported key transport algorithm {}", oids::name(&other)),
            )),
        }
    }

    /// The padding to decrypt with, if aws-lc offers it (OAEP only with
    /// SHA-1, SHA-256, SHA-384 or SHA-512 and MGF1 of the same hash).
    /// NOTE: the other OAEP pairs are refused, not handed to the `rsa`
    /// crate: the sender picks the algorithm, so a fallback would give
    /// back the timing channel rsa_unwrap exists to close.
    pub(crate) fn padding(self) -> Option<RsaPadding> {
        use OaepHash::*;
        match self {
            Self::Pkcs1v15 => Some(RsaPadding::Pkcs1v15),
            Self::Oaep { hash, mgf } => match (hash, mgf) {
                (Sha1, Sha1) => Some(RsaPadding::Oaep(&OAEP_SHA1_MGF1SHA1)),
                (Sha256, Sha256) => Some(RsaPadding::Oaep(&OAEP_SHA256_MGF1SHA256)),
                (Sha384, Sha384) => Some(RsaPadding::Oaep(&OAEP_SHA384_MGF1SHA384)),
                (Sha512, Sha512) => Some(RsaPadding::Oaep(&OAEP_SHA512_MGF1SHA512)),
                _ => None,
            },
        }
    }
}

/// Recovers the content key for `cipher` from `ktri` with our RSA `key`.
///
/// With PKCS#1 v1.5 a padding error or a key of the wrong length does not
/// fail here: a random key of the right length takes its place (RFC 3218
/// §2.3.2), so the failure shows later as the same "decryption failed" as a
/// bad CBC padding or GCM tag, and padding validity is not revealed.
pub(crate) fn unwrap_ktri(
    ktri: &KeyTransRecipientInfo,
    key: &RsaPrivateKey,
    cipher: ContentCipher,
    rng: &mut impl CryptoRngCore,
) -> Result<ContentKey> {
    let bytes = unwrap_ktri_bytes(ktri, key, cipher.key_len(), rng)?;
    ContentKey::from_bytes(cipher, &bytes)
}

/// Unwraps a key of `want` bytes from a key-transport entry, with the
/// PKCS#1 v1.5 random-key fallback of [`unwrap_ktri`]: for keys that are
/// not content keys (a group secret, a deposit's key-encryption key) sent
/// by a group server in such an entry.
pub fn unwrap_key_bytes(
    ri: &RecipientInfo,
    cert: &Certificate,
    key: &RsaPrivateKey,
    want: usize,
    rng: &mut impl CryptoRngCore,
) -> Result<Zeroizing<Vec<u8>>> {
    let RecipientInfo::Ktri(ktri) = ri else {
        return Err(fail(Exit::DataErr, "not a key transport entry"));
    };
    if !rid_matches(&ktri.rid, cert) {
        return Err(fail(
            Exit::DataErr,
            "the entry is not addressed to our certificate",
        ));
    }
    check_ktri_version(ktri)?;
    unwrap_ktri_bytes(ktri, key, want, rng)
}

pub(crate) fn unwrap_ktri_bytes(
    ktri: &KeyTransRecipientInfo,
    key: &RsaPrivateKey,
    want: usize,
    rng: &mut impl CryptoRngCore,
) -> Result<Zeroizing<Vec<u8>>> {
    let enc = ktri.enc_key.as_bytes();
    let alg = KeyTransportAlg::parse(&ktri.key_enc_alg)?;
    let padding = alg.padding().ok_or_else(|| {
        fail(
            Exit::DataErr,
            format!(
                "unsupported key transport {alg} (rsaes-oaep is supported with sha-1, \
                 sha-256, sha-384 or sha-512 and mgf1 of the same hash)"
            ),
        )
    })?;
    let key = RsaUnwrapKey::new(key)?;
    match padding {
        RsaPadding::Pkcs1v15 => Ok(key.decrypt_pkcs1_or_random(enc, want, rng)),
        RsaPadding::Oaep(_) => match key.decrypt(padding, enc) {
            Ok(got) if got.len() == want => Ok(got),
            _ => Err(fail(Exit::DataErr, DECRYPTION_FAILED)),
        },
    }
}

/// The kind of a `RecipientInfo` (RFC 5652 §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecipientKind {
    /// `ktri`: key transport (RSA).
    KeyTransport,
    /// `kari`: key agreement (ECDH on P-256/P-384, X25519).
    KeyAgreement,
    /// `kekri`: previously distributed symmetric key.
    Kek,
    /// `pwri`: password.
    Password,
    /// `ori`: other.
    Other,
}

impl fmt::Display for RecipientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KeyTransport => "key transport",
            Self::KeyAgreement => "key agreement",
            Self::Kek => "key encryption key",
            Self::Password => "password",
            Self::Other => "other",
        })
    }
}

/// How a recipient entry names its recipient.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecipientId {
    /// Issuer DN (RFC 4514 string) and serial number (lower-case hex).
    IssuerSerial {
        /// Issuer distinguished name.
        issuer: String,
        /// Serial number, hex.
        serial: String,
    },
    /// A key identifier (subject key identifier, or KEK identifier), lower-case hex.
    KeyId(String),
}

impl RecipientId {
    fn of_ias(ias: &IssuerAndSerialNumber) -> Self {
        Self::IssuerSerial {
            issuer: ias.issuer.to_string(),
            serial: hex::encode(ias.serial_number.as_bytes()),
        }
    }

    fn of_rid(rid: &RecipientIdentifier) -> Self {
        match rid {
            RecipientIdentifier::IssuerAndSerialNumber(ias) => Self::of_ias(ias),
            RecipientIdentifier::SubjectKeyIdentifier(ski) => {
                Self::KeyId(hex::encode(ski.0.as_bytes()))
            }
        }
    }
}

impl fmt::Display for RecipientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IssuerSerial { issuer, serial } => {
                write!(f, "issuer \"{issuer}\" serial {serial}")
            }
            Self::KeyId(id) => write!(f, "key id {id}"),
        }
    }
}

/// A description of one `RecipientInfo`, for `inspect` and error messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecipientSummary {
    /// The kind of entry.
    pub kind: RecipientKind,
    /// Whom it is for (one entry, except key agreement which may name several).
    pub ids: Vec<RecipientId>,
    /// Key transport / wrap algorithm, e.g. `rsaes-oaep sha-256 mgf1-sha-256`.
    pub algorithm: String,
}

impl RecipientSummary {
    pub(crate) fn of(ri: &RecipientInfo) -> Self {
        let alg_name = |alg: &AlgorithmIdentifierOwned| oids::name(&alg.oid);
        match ri {
            RecipientInfo::Ktri(k) => Self {
                kind: RecipientKind::KeyTransport,
                ids: vec![RecipientId::of_rid(&k.rid)],
                algorithm: KeyTransportAlg::parse(&k.key_enc_alg)
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| alg_name(&k.key_enc_alg)),
            },
            RecipientInfo::Kari(k) => Self {
                kind: RecipientKind::KeyAgreement,
                ids: k
                    .recipient_enc_keys
                    .iter()
                    .map(|r| match &r.rid {
                        KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(ias) => {
                            RecipientId::of_ias(ias)
                        }
                        KeyAgreeRecipientIdentifier::RKeyId(id) => {
                            RecipientId::KeyId(hex::encode(id.subject_key_identifier.0.as_bytes()))
                        }
                    })
                    .collect(),
                algorithm: super::kari::scheme_name(&k.key_enc_alg)
                    .unwrap_or_else(|| alg_name(&k.key_enc_alg)),
            },
            RecipientInfo::Kekri(k) => Self {
                kind: RecipientKind::Kek,
                ids: vec![RecipientId::KeyId(hex::encode(
                    k.kek_id.kek_identifier.as_bytes(),
                ))],
                algorithm: alg_name(&k.key_enc_alg),
            },
            RecipientInfo::Pwri(p) => Self {
                kind: RecipientKind::Password,
                ids: Vec::new(),
                algorithm: alg_name(&p.key_enc_alg),
            },
            RecipientInfo::Ori(o) => Self {
                kind: RecipientKind::Other,
                ids: Vec::new(),
                algorithm: oids::name(&o.ori_type),
            },
        }
    }
}

impl fmt::Display for RecipientSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        for (i, id) in self.ids.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(f, "{id}")?;
        }
        write!(f, " ({})", self.algorithm)
    }
}
/// RFC 5652 §6.2.1: version 0 with issuerAndSerialNumber, 2 with a key id.
pub(crate) fn check_ktri_version(ktri: &KeyTransRecipientInfo) -> Result<()> {
    let version_ok = match ktri.rid {
        RecipientIdentifier::IssuerAndSerialNumber(_) => ktri.version == CmsVersion::V0,
        RecipientIdentifier::SubjectKeyIdentifier(_) => ktri.version == CmsVersion::V2,
    };
    if version_ok {
        Ok(())
    } else {
        Err(fail(
            Exit::DataErr,
            "malformed recipient info: version does not match its identifier",
        ))
    }
}
