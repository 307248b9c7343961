//! Changing the recipient entries of an existing message without touching
//! its content: what `sealpost release` does to make a group message
//! readable offline by a member's own key.

use anyhow::Result;
use cms::content_info::ContentInfo;
use cms::enveloped_data::{EnvelopedData, RecipientInfo, RecipientInfos};
use der::{Any, Decode, Encode};

use super::ber;
use super::build::enveloped_version;
use super::oids;
use super::types::AuthEnvelopedData;
use crate::error::{fail, Exit, ResultExt};

fn with_added(infos: &RecipientInfos, extra: RecipientInfo) -> Result<RecipientInfos> {
    let mut all = infos.0.clone().into_vec();
    all.push(extra);
    RecipientInfos::try_from(all).or_fail(Exit::DataErr, || {
        "cannot add the recipient entry (duplicate entry?)".to_string()
    })
}

/// Returns `input` (a DER or BER `ContentInfo` holding `EnvelopedData` or
/// `AuthEnvelopedData`) as DER with `extra` added to its recipient entries.
///
/// The ciphertext, the tag and any attributes are carried over unchanged:
/// recipient entries are outside what AES-GCM authenticates (RFC 5083 §2.1),
/// so the message stays as valid as it was. The `EnvelopedData` version is
/// raised if the new entry requires it (RFC 5652 §6.1), never lowered.
pub fn add_recipient(input: &[u8], extra: RecipientInfo) -> Result<Vec<u8>> {
    let der = ber::to_der(input)?;
    let info = ContentInfo::from_der(&der)
        .or_fail(Exit::DataErr, || "malformed cms message".to_string())?;
    let content = match info.content_type {
        oids::ID_ENVELOPED_DATA => {
            let mut ed: EnvelopedData = info
                .content
                .decode_as()
                .or_fail(Exit::DataErr, || "malformed envelopeddata".to_string())?;
            ed.recip_infos = with_added(&ed.recip_infos, extra)?;
            let needed = enveloped_version(ed.recip_infos.0.as_slice());
            if (needed as u8) > (ed.version as u8) {
                ed.version = needed;
            }
            Any::encode_from(&ed)
        }
        oids::ID_AUTH_ENVELOPED_DATA => {
            let mut aed: AuthEnvelopedData = info
                .content
                .decode_as()
                .or_fail(Exit::DataErr, || "malformed authenvelopeddata".to_string())?;
            aed.recip_infos = with_added(&aed.recip_infos, extra)?;
            Any::encode_from(&aed)
        }
        other => {
            return Err(fail(
                Exit::DataErr,
                format!(
                    "not an encrypted message (content type {})",
                    oids::name(&other)
                ),
            ))
        }
    }
    .or_fail(Exit::Software, || "cannot encode the envelope".to_string())?;
    ContentInfo {
        content_type: info.content_type,
        content,
    }
    .to_der()
    .or_fail(Exit::Software, || "cannot encode the message".to_string())
}
