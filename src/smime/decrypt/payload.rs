//! Where the CMS bytes of an input are: an S/MIME entity, PEM, or bare
//! DER/BER, in memory ([`cms_payload`]) or at the start of a seekable input
//! ([`locate`], for streaming). A Batch SMTP stream is refused with a hint:
//! it holds messages, it is not one.

use std::io::{Read, Seek, SeekFrom};

use crate::error::{fail, fail_hint, Exit};
use crate::smime::mime::{self, Entity};

/// Extracts CMS bytes from an S/MIME message (application/pkcs7-mime or
/// x-pkcs7-mime; base64 or binary), PEM (`PKCS7`/`CMS`), or bare DER/BER.
/// `Ok(None)` when the input is a MIME entity that is not a CMS payload.
pub fn cms_payload(input: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    let trimmed = trim_ascii_start(input);
    if trimmed.first() == Some(&0x30) {
        return Ok(Some(trimmed.to_vec()));
    }
    if trimmed.starts_with(b"-----BEGIN ") {
        let text =
            std::str::from_utf8(trimmed).map_err(|_| fail(Exit::DataErr, "malformed PEM input"))?;
        let blocks = crate::smime::certs::pem_blocks(text)?;
        return blocks
            .into_iter()
            // OpenSSL writes PKCS7 or CMS; gpgsm --armor writes SIGNED/ENCRYPTED MESSAGE.
            .find(|(label, _)| {
                ["PKCS7", "CMS", "SIGNED MESSAGE", "ENCRYPTED MESSAGE"].contains(&label.as_str())
            })
            .map(|(_, der)| Some(der))
            .ok_or_else(|| {
                fail(
                    Exit::DataErr,
                    "PEM input holds no PKCS7, CMS or MESSAGE block",
                )
            });
    }
    let entity = Entity::parse(input).ok_or_else(|| {
        fail(
            Exit::DataErr,
            "input is neither an S/MIME message nor DER/BER/PEM CMS data",
        )
    })?;
    match entity.media_type().as_str() {
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => Ok(Some(entity.decoded_body()?)),
        _ => Ok(None),
    }
}

/// A Batch SMTP stream (what `encrypt` writes by default) holds one message
/// per envelope, each for other readers: say so, and how to get one out,
/// rather than calling it malformed.
pub(super) fn refuse_batch_smtp(input: &[u8]) -> anyhow::Result<()> {
    if crate::smime::bsmtp::looks_like(input) {
        return Err(fail_hint(
            Exit::DataErr,
            "input is a Batch SMTP stream (encrypt's default output, one message per envelope), \
             not a message",
            "for messages to decrypt, encrypt with `--outdir DIR` (one .eml file per envelope) \
             or `--eml` (one envelope); a stream is for `sealpost submit`",
        ));
    }
    Ok(())
}

pub(super) fn trim_ascii_start(data: &[u8]) -> &[u8] {
    let n = data.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &data[n..]
}

/// Bytes of input searched for the end of the outer header section.
const HEAD_SEARCH: usize = 256 << 10;

/// Where the CMS bytes are in the input.
pub(super) struct Payload {
    pub(super) start: u64,
    pub(super) base64: bool,
}

pub(super) fn read_io(e: std::io::Error) -> anyhow::Error {
    fail(Exit::IoErr, format!("cannot read the message: {e}"))
}

/// Finds the CMS payload the way [`cms_payload`] does, from the start of the
/// input only: bare DER/BER, or an application/pkcs7-mime entity (base64 or
/// binary). `None` for anything else.
pub(super) fn locate<F: Read + Seek>(input: &mut F) -> anyhow::Result<Option<Payload>> {
    input.seek(SeekFrom::Start(0)).map_err(read_io)?;
    let mut head = Vec::with_capacity(HEAD_SEARCH);
    input
        .by_ref()
        .take(HEAD_SEARCH as u64)
        .read_to_end(&mut head)
        .map_err(read_io)?;
    refuse_batch_smtp(&head)?;
    let lead = head.iter().take_while(|b| b.is_ascii_whitespace()).count();
    match head.get(lead) {
        Some(0x30) => {
            return Ok(Some(Payload {
                start: lead as u64,
                base64: false,
            }))
        }
        Some(b'-') | None => return Ok(None),
        _ => {}
    }
    // The whole header section must be in what was read.
    if mime::split_head(&head).is_none() {
        return Ok(None);
    }
    let Some(entity) = Entity::parse(&head) else {
        return Ok(None);
    };
    if !matches!(
        entity.media_type().as_str(),
        "application/pkcs7-mime" | "application/x-pkcs7-mime"
    ) {
        return Ok(None);
    }
    let base64 = match entity
        .field("Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => true,
        "7bit" | "8bit" | "binary" => false,
        _ => return Ok(None),
    };
    Ok(Some(Payload {
        start: (head.len() - entity.body.len()) as u64,
        base64,
    }))
}
