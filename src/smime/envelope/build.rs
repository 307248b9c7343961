//! Assembling envelopes from encrypted content and recipient entries.

use anyhow::Result;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{EnvelopedData, RecipientInfo, RecipientInfos};
use der::{Any, Encode};
use rand_core::CryptoRngCore;
use x509_cert::Certificate;

use super::content::{ContentKey, EncryptedContent};
use super::kari::key_agree_recipient;
use super::oids;
use super::recipient::{key_trans_recipient, RecipientOptions};
use super::types::AuthEnvelopedData;
use crate::error::{fail, Exit, ResultExt};

/// The recipient entry that gives `cert`'s holder the content key: key
/// transport to an RSA key (with `options`), key agreement to an EC or
/// X25519 key.
pub fn recipient_info(
    cert: &Certificate,
    cek: &ContentKey,
    options: RecipientOptions,
    rng: &mut impl CryptoRngCore,
) -> Result<RecipientInfo> {
    use crate::smime::privkey::KeyKind;
    match KeyKind::of_spki(&cert.tbs_certificate.subject_public_key_info) {
        Ok(KeyKind::Ec(_) | KeyKind::X25519) => key_agree_recipient(cert, cek),
        _ => key_trans_recipient(cert, cek, options, rng),
    }
}

/// `EnvelopedData` version (RFC 5652 §6.1) for these recipient entries, with
/// neither originatorInfo nor unprotectedAttrs present.
pub(super) fn enveloped_version(recipients: &[RecipientInfo]) -> CmsVersion {
    if recipients
        .iter()
        .any(|ri| matches!(ri, RecipientInfo::Pwri(_) | RecipientInfo::Ori(_)))
    {
        CmsVersion::V3
    } else if recipients
        .iter()
        .all(|ri| matches!(ri, RecipientInfo::Ktri(k) if k.version == CmsVersion::V0))
    {
        CmsVersion::V0
    } else {
        CmsVersion::V2
    }
}

/// Assembles a DER `ContentInfo` holding `content` for `recipients`:
/// `EnvelopedData` for CBC ciphers, `AuthEnvelopedData` (version 0, the GCM
/// tag as mac, no attributes) for GCM. `content` is not re-encrypted, so one
/// encryption can be assembled into any number of envelopes.
pub fn assemble(content: &EncryptedContent, recipients: Vec<RecipientInfo>) -> Result<Vec<u8>> {
    if recipients.is_empty() {
        return Err(fail(
            Exit::Software,
            "an envelope needs at least one recipient",
        ));
    }
    let encode_err = || "cannot encode the envelope".to_string();
    let version = enveloped_version(&recipients);
    let recip_infos = RecipientInfos::try_from(recipients).or_fail(Exit::Software, encode_err)?;
    let (content_type, inner) = if content.cipher.is_authenticated() {
        let mac = content
            .mac
            .clone()
            .ok_or_else(|| fail(Exit::Software, "authenticated content without a tag"))?;
        let aed = AuthEnvelopedData {
            version: CmsVersion::V0,
            originator_info: None,
            recip_infos,
            auth_encrypted_content: content.info.clone(),
            auth_attrs: None,
            mac,
            unauth_attrs: None,
        };
        (
            oids::ID_AUTH_ENVELOPED_DATA,
            Any::encode_from(&aed).or_fail(Exit::Software, encode_err)?,
        )
    } else {
        if content.mac.is_some() {
            return Err(fail(Exit::Software, "unauthenticated content with a tag"));
        }
        let ed = EnvelopedData {
            version,
            originator_info: None,
            recip_infos,
            encrypted_content: content.info.clone(),
            unprotected_attrs: None,
        };
        (
            oids::ID_ENVELOPED_DATA,
            Any::encode_from(&ed).or_fail(Exit::Software, encode_err)?,
        )
    };
    ContentInfo {
        content_type,
        content: inner,
    }
    .to_der()
    .or_fail(Exit::Software, encode_err)
}

/// Wraps `cek` to each certificate in `certs` with `options` and assembles
/// one envelope for exactly those recipients. `content` must have been
/// encrypted under `cek`.
pub fn seal_for(
    content: &EncryptedContent,
    cek: &ContentKey,
    certs: &[&Certificate],
    options: RecipientOptions,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>> {
    if cek.cipher() != content.cipher() {
        return Err(fail(
            Exit::Software,
            "content key and encrypted content use different ciphers",
        ));
    }
    let recipients = certs
        .iter()
        .map(|cert| recipient_info(cert, cek, options, rng))
        .collect::<Result<Vec<_>>>()?;
    assemble(content, recipients)
}
