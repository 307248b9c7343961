//! Writing a `ContentInfo` around ciphertext streamed between
//! [`envelope_prefix`] and [`envelope_suffix`]: definite-length DER when the
//! ciphertext length is known, indefinite-length BER with OCTET STRING chunks
//! ([`content_chunk_header`]) when it is not.

use anyhow::Result;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{RecipientInfo, RecipientInfos};
use der::Encode;
use spki::AlgorithmIdentifierOwned;

use super::GCM_TAG_LEN;
use crate::error::{fail, Exit};
use crate::smime::envelope::build::enveloped_version;
use crate::smime::envelope::content::ContentCipher;
use crate::smime::envelope::oids;

fn push_len(out: &mut Vec<u8>, len: Option<u64>) {
    match len {
        None => out.push(0x80),
        Some(n) if n < 0x80 => out.push(n as u8),
        Some(n) => {
            let bytes = n.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (8 - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
}

fn header_len(len: u64) -> u64 {
    let mut v = Vec::with_capacity(9);
    push_len(&mut v, Some(len));
    1 + v.len() as u64
}

fn encode_err(e: impl std::fmt::Display) -> anyhow::Error {
    fail(Exit::Software, format!("cannot encode the envelope: {e}"))
}

/// Header of one OCTET STRING chunk of indefinite-length encrypted content.
pub fn content_chunk_header(len: usize) -> Vec<u8> {
    let mut v = vec![0x04];
    push_len(&mut v, Some(len as u64));
    v
}

/// Everything of a `ContentInfo` before the ciphertext: `EnvelopedData` for
/// CBC, `AuthEnvelopedData` (version 0, a 16-byte tag, no attributes) for
/// GCM. `content_len` is the ciphertext length for definite-length DER, or
/// `None` for indefinite-length BER, whose ciphertext then goes in chunks,
/// each after a [`content_chunk_header`].
pub fn envelope_prefix(
    cipher: ContentCipher,
    alg: &AlgorithmIdentifierOwned,
    recipients: Vec<RecipientInfo>,
    content_len: Option<u64>,
) -> Result<Vec<u8>> {
    if recipients.is_empty() {
        return Err(fail(
            Exit::Software,
            "an envelope needs at least one recipient",
        ));
    }
    let version = if cipher.is_authenticated() {
        CmsVersion::V0
    } else {
        enveloped_version(&recipients)
    };
    let version_der = version.to_der().map_err(encode_err)?;
    let ri_der = RecipientInfos::try_from(recipients)
        .map_err(encode_err)?
        .to_der()
        .map_err(encode_err)?;
    let data_oid = oids::ID_DATA.to_der().map_err(encode_err)?;
    let alg_der = alg.to_der().map_err(encode_err)?;
    let type_oid = if cipher.is_authenticated() {
        oids::ID_AUTH_ENVELOPED_DATA
    } else {
        oids::ID_ENVELOPED_DATA
    }
    .to_der()
    .map_err(encode_err)?;

    let mut out = Vec::with_capacity(ri_der.len() + 128);
    match content_len {
        Some(ct) => {
            let content = header_len(ct) + ct;
            let eci = (data_oid.len() + alg_der.len()) as u64 + content;
            let mac = if cipher.is_authenticated() {
                2 + GCM_TAG_LEN as u64
            } else {
                0
            };
            let inner = (version_der.len() + ri_der.len()) as u64 + header_len(eci) + eci + mac;
            let explicit = header_len(inner) + inner;
            let ci = type_oid.len() as u64 + header_len(explicit) + explicit;
            out.push(0x30);
            push_len(&mut out, Some(ci));
            out.extend_from_slice(&type_oid);
            out.push(0xa0);
            push_len(&mut out, Some(explicit));
            out.push(0x30);
            push_len(&mut out, Some(inner));
            out.extend_from_slice(&version_der);
            out.extend_from_slice(&ri_der);
            out.push(0x30);
            push_len(&mut out, Some(eci));
            out.extend_from_slice(&data_oid);
            out.extend_from_slice(&alg_der);
            out.push(0x80);
            push_len(&mut out, Some(ct));
        }
        None => {
            out.extend_from_slice(&[0x30, 0x80]);
            out.extend_from_slice(&type_oid);
            out.extend_from_slice(&[0xa0, 0x80, 0x30, 0x80]);
            out.extend_from_slice(&version_der);
            out.extend_from_slice(&ri_der);
            out.extend_from_slice(&[0x30, 0x80]);
            out.extend_from_slice(&data_oid);
            out.extend_from_slice(&alg_der);
            out.extend_from_slice(&[0xa0, 0x80]);
        }
    }
    Ok(out)
}

/// Everything after the ciphertext: the GCM tag (for `AuthEnvelopedData`)
/// and, for indefinite-length BER, the end-of-contents octets.
pub fn envelope_suffix(mac: Option<&[u8; GCM_TAG_LEN]>, definite: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    if !definite {
        out.extend_from_slice(&[0, 0, 0, 0]); // [0] encryptedContent, EncryptedContentInfo
    }
    if let Some(mac) = mac {
        out.extend_from_slice(&[0x04, GCM_TAG_LEN as u8]);
        out.extend_from_slice(mac);
    }
    if !definite {
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // (Auth)EnvelopedData, [0], ContentInfo
    }
    out
}
