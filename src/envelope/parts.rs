//! Envelopes as `prefix ‖ ciphertext ‖ suffix`.
//!
//! When one message goes to a thousand Bcc recipients, a thousand envelopes
//! share one ciphertext. Encoding each as a complete DER value would copy the
//! ciphertext several times per envelope; instead only the small parts that
//! differ (the RecipientInfos and the lengths around them) are encoded, and
//! the writer streams the shared ciphertext between them. The result is
//! byte-identical to [`assemble`](super::assemble), which the tests check.

use anyhow::Result;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{EncryptedContentInfo, RecipientInfo, RecipientInfos};
use der::Encode;

use super::build::enveloped_version;
use super::content::EncryptedContent;
use super::oids;
use crate::error::{fail, Exit, ResultExt};

/// The bytes of one envelope around the shared ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeParts {
    pub prefix: Vec<u8>,
    pub suffix: Vec<u8>,
}

/// A DER tag and definite length.
fn header(tag: u8, len: usize) -> Vec<u8> {
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out
}

/// The parts of the envelope [`assemble`](super::assemble) would build for
/// `content` and `recipients`; the ciphertext is [`ciphertext_of`]`(content)`.
pub fn assemble_parts(content: &EncryptedContent, recipients: Vec<RecipientInfo>) -> Result<EnvelopeParts> {
    if recipients.is_empty() {
        return Err(fail(Exit::Software, "an envelope needs at least one recipient"));
    }
    let encode_err = || "cannot encode the envelope".to_string();
    let ciphertext_len = ciphertext_of(content).len();
    let authenticated = content.cipher.is_authenticated();
    let version = if authenticated { CmsVersion::V0 } else { enveloped_version(&recipients) };
    let version_der = version.to_der().or_fail(Exit::Software, encode_err)?;
    let recipients_der = RecipientInfos::try_from(recipients)
        .or_fail(Exit::Software, encode_err)?
        .to_der()
        .or_fail(Exit::Software, encode_err)?;
    // EncryptedContentInfo without its content, then the [0] IMPLICIT OCTET STRING header.
    let eci_head = EncryptedContentInfo {
        content_type: content.info.content_type,
        content_enc_alg: content.info.content_enc_alg.clone(),
        encrypted_content: None,
    }
    .to_der()
    .or_fail(Exit::Software, encode_err)?;
    let eci_head_body = strip_header(&eci_head)?;
    let content_header = header(0x80, ciphertext_len);
    let eci_len = eci_head_body.len() + content_header.len() + ciphertext_len;
    let eci_header = header(0x30, eci_len);
    let suffix = match (&content.mac, authenticated) {
        (Some(mac), true) => mac.to_der().or_fail(Exit::Software, encode_err)?,
        (None, false) => Vec::new(),
        _ => return Err(fail(Exit::Software, "tag and cipher do not agree")),
    };
    let inner_len = version_der.len() + recipients_der.len() + eci_header.len() + eci_len + suffix.len();
    let inner_header = header(0x30, inner_len);
    let explicit_len = inner_header.len() + inner_len;
    let explicit_header = header(0xa0, explicit_len);
    let content_type = if authenticated { oids::ID_AUTH_ENVELOPED_DATA } else { oids::ID_ENVELOPED_DATA };
    let oid_der = content_type.to_der().or_fail(Exit::Software, encode_err)?;
    let outer_len = oid_der.len() + explicit_header.len() + explicit_len;
    let mut prefix = header(0x30, outer_len);
    for part in [
        &oid_der,
        &explicit_header,
        &inner_header,
        &version_der,
        &recipients_der,
        &eci_header,
        eci_head_body.to_vec().as_ref(),
        &content_header,
    ] {
        prefix.extend_from_slice(part);
    }
    Ok(EnvelopeParts { prefix, suffix })
}

/// The shared ciphertext that goes between an envelope's parts.
pub fn ciphertext_of(content: &EncryptedContent) -> &[u8] {
    content.info.encrypted_content.as_ref().map(|c| c.as_bytes()).unwrap_or_default()
}

/// The body of a DER TLV (everything after tag and length).
fn strip_header(tlv: &[u8]) -> Result<&[u8]> {
    let bad = || fail(Exit::Software, "cannot encode the envelope");
    let first = *tlv.get(1).ok_or_else(bad)?;
    let skip = if first < 0x80 { 2 } else { 2 + (first & 0x7f) as usize };
    tlv.get(skip..).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{assemble, key_trans_recipient, ContentCipher, ContentKey, RecipientIdKind, RecipientOptions};

    fn cert(name: &str) -> x509_cert::Certificate {
        let pem = std::fs::read(format!("{}/tests/data/{name}.cert.pem", env!("CARGO_MANIFEST_DIR"))).unwrap();
        crate::certs::parse_bundle(&pem).unwrap().remove(0).cert
    }

    #[test]
    fn parts_around_the_ciphertext_equal_the_assembled_envelope() {
        let mut rng = rand_core::OsRng;
        let recipients = [cert("alice"), cert("bob"), cert("carol")];
        for cipher in ContentCipher::FOR_ENCRYPTION {
            // Lengths that cross the DER length-encoding boundaries.
            for len in [0usize, 1, 100, 127, 128, 200, 255, 256, 70_000] {
                let cek = ContentKey::generate(cipher, &mut rng).unwrap();
                let content = cek.encrypt(&vec![7u8; len], &mut rng).unwrap();
                for n in 1..=recipients.len() {
                    for rid in [RecipientIdKind::IssuerAndSerial, RecipientIdKind::SubjectKeyId] {
                        let options = RecipientOptions { rid, ..Default::default() };
                        let ris: Vec<_> = recipients[..n]
                            .iter()
                            .map(|c| key_trans_recipient(c, &cek, options, &mut rng).unwrap())
                            .collect();
                        let whole = assemble(&content, ris.clone()).unwrap();
                        let parts = assemble_parts(&content, ris).unwrap();
                        let joined = [parts.prefix.as_slice(), ciphertext_of(&content), &parts.suffix].concat();
                        assert_eq!(joined, whole, "{cipher} len {len} recipients {n} {rid:?}");
                    }
                }
            }
        }
    }
}
