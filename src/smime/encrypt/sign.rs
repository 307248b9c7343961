//! `--sign` without holding the message: the inner entity is digested in a
//! first pass ([`StreamPlan::sign`]), the signer signs the digest, and the
//! pipeline then streams the opaque-signed entity (RFC 8551 §3.5.2)
//!
//! ```text
//! SIGNED_HEAD ‖ base64-lines(prefix ‖ inner entity ‖ suffix)
//! ```
//!
//! where `prefix ‖ inner entity ‖ suffix` is the DER `ContentInfo` that
//! [`crate::smime::signed::sign`] makes for the same entity, byte for byte: the
//! signer's `SignedData` without the content, with the content's OCTET
//! STRING put back in place ([`encapsulate`]). The second pass digests the
//! entity again and fails if it changed between the passes.

use std::io::{Read, Seek, SeekFrom};

use sha2::digest::DynDigest;
use zeroize::Zeroizing;

use super::crlf::CrlfStream;
use super::lines::LineEncoder;
use super::{InnerSigner, StreamPlan, CHUNK};
use crate::error::{fail, Exit};
use crate::smime::mime::base64_lines_len;
use crate::smime::signed::DigestAlgorithm;

/// The header section of the opaque-signed entity.
const SIGNED_HEAD: &[u8] =
    b"Content-Type: application/pkcs7-mime; smime-type=signed-data;\r\n name=smime.p7m\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=smime.p7m\r\n\r\n";

/// The signature made in the first pass, around the entity it covers.
pub(super) struct Signed {
    /// DER before the inner entity (ContentInfo through the OCTET STRING header).
    prefix: Vec<u8>,
    /// DER after it (certificates and SignerInfos).
    suffix: Vec<u8>,
    /// The algorithm the signer digests with.
    algorithm: DigestAlgorithm,
    /// The inner entity's digest with it.
    digest: Vec<u8>,
    /// The inner entity's length.
    content_len: u64,
}

impl Signed {
    /// Length of the signed entity, which is what gets encrypted.
    pub(super) fn entity_len(&self) -> u64 {
        let der = self.prefix.len() as u64 + self.content_len + self.suffix.len() as u64;
        SIGNED_HEAD.len() as u64 + base64_lines_len(der, 2)
    }
}

fn read_err(e: std::io::Error) -> anyhow::Error {
    fail(Exit::IoErr, format!("cannot read the message: {e}"))
}

impl StreamPlan {
    /// Signs the inner entity: reads `body` from where it is to its end (the
    /// first pass) digesting it with the algorithm `signer` needs, has
    /// `signer` sign the digest, and returns `body` to
    /// where it was. Returns the body's length after CRLF conversion; the
    /// envelopes [`StreamPlan::encrypt`] then writes carry the signed entity.
    pub fn sign<R: Read + Seek + ?Sized>(
        &mut self,
        body: &mut R,
        signer: &mut InnerSigner<'_>,
    ) -> anyhow::Result<u64> {
        let start = body.stream_position().map_err(read_err)?;
        let mut digest = EntityDigest::new(signer.digest, &self.inner_head);
        let mut input = Zeroizing::new(vec![0u8; CHUNK]);
        let mut scratch = Zeroizing::new(Vec::new());
        let mut crlf = CrlfStream::default();
        loop {
            let n = match body.read(&mut input) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            if self.crlf {
                digest.update(crlf.convert(&input[..n], &mut scratch));
            } else {
                digest.update(&input[..n]);
            }
        }
        body.seek(SeekFrom::Start(start)).map_err(read_err)?;
        let (content_len, digest) = digest.finish();
        let detached = (signer.sign)(&digest)?;
        let (prefix, suffix) = encapsulate(&detached, content_len)?;
        let body_len = content_len - self.inner_head.len() as u64;
        self.signed = Some(Signed {
            prefix,
            suffix,
            algorithm: signer.digest,
            digest,
            content_len,
        });
        Ok(body_len)
    }
}

/// Digest and length of the inner entity, as it goes by.
struct EntityDigest {
    hash: Box<dyn DynDigest + Send>,
    len: u64,
}

impl EntityDigest {
    fn new(algorithm: DigestAlgorithm, head: &[u8]) -> EntityDigest {
        let mut d = EntityDigest {
            hash: algorithm.hasher(),
            len: 0,
        };
        d.update(head);
        d
    }

    fn update(&mut self, data: &[u8]) {
        self.hash.update(data);
        self.len += data.len() as u64;
    }

    fn finish(self) -> (u64, Vec<u8>) {
        (self.len, self.hash.finalize().into_vec())
    }
}

/// The signed entity as the pipeline's second pass makes it from the inner
/// entity: what to encrypt instead of the entity itself.
pub(super) struct SignedEntity<'s> {
    signed: &'s Signed,
    lines: LineEncoder,
    digest: EntityDigest,
    /// Plaintext (base64 of it): wiped when dropped.
    buf: Zeroizing<Vec<u8>>,
    /// Whether `buf` was handed out (else it still holds the beginning).
    handed_out: bool,
}

impl<'s> SignedEntity<'s> {
    /// Starts with the header section and the DER before the content.
    pub(super) fn new(signed: &'s Signed) -> SignedEntity<'s> {
        let mut entity = SignedEntity {
            signed,
            lines: LineEncoder::default(),
            digest: EntityDigest::new(signed.algorithm, &[]),
            buf: Zeroizing::new(Vec::with_capacity(CHUNK / 3 * 4 + CHUNK / 28 + 256)),
            handed_out: false,
        };
        entity.buf.extend_from_slice(SIGNED_HEAD);
        entity.lines.update(&signed.prefix, &mut entity.buf);
        entity
    }

    /// The signed entity's bytes for the next piece of the inner entity.
    pub(super) fn update(&mut self, data: &[u8]) -> &[u8] {
        self.next_buf();
        self.digest.update(data);
        self.lines.update(data, &mut self.buf);
        &self.buf
    }

    fn next_buf(&mut self) {
        if self.handed_out {
            self.buf.clear();
        }
        self.handed_out = true;
    }

    /// Its last bytes (after the content); fails if the inner entity is not
    /// the one that was signed.
    pub(super) fn finish(&mut self) -> anyhow::Result<&[u8]> {
        let fresh = EntityDigest::new(self.signed.algorithm, &[]);
        let (len, digest) = std::mem::replace(&mut self.digest, fresh).finish();
        if len != self.signed.content_len || digest != self.signed.digest {
            return Err(fail(
                Exit::IoErr,
                "the message changed while it was being signed and encrypted",
            ));
        }
        self.next_buf();
        self.lines.update(&self.signed.suffix, &mut self.buf);
        self.lines.finish(&mut self.buf);
        Ok(&self.buf)
    }
}

/// DER tag and length.
fn header(tag: u8, len: u64) -> Vec<u8> {
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out
}

/// Splits the DER TLV at the start of `der`: (its header length, its whole length).
fn tlv(der: &[u8]) -> anyhow::Result<(usize, usize)> {
    let bad = || fail(Exit::Software, "the signer returned malformed DER");
    let first = *der.get(1).ok_or_else(bad)?;
    let (head, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        let bytes = der.get(2..2 + n).filter(|_| n <= 8).ok_or_else(bad)?;
        let len = bytes.iter().fold(0u64, |l, &b| (l << 8) | u64::from(b));
        (2 + n, usize::try_from(len).map_err(|_| bad())?)
    };
    let total = head
        .checked_add(len)
        .filter(|&t| t <= der.len())
        .ok_or_else(bad)?;
    Ok((head, total))
}

/// From a `ContentInfo` whose `SignedData` has no content (`detached`):
/// the DER before and after the content of a `ContentInfo` that carries
/// `content_len` bytes of content, definite-length as [`crate::smime::signed::sign`]
/// writes it.
///
/// ```text
/// ContentInfo  SEQUENCE { contentType, [0] SignedData SEQUENCE {
///   version, digestAlgorithms,
///   encapContentInfo SEQUENCE { eContentType, [0] OCTET STRING content },
///   certificates, signerInfos } }
/// ```
pub(super) fn encapsulate(detached: &[u8], content_len: u64) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let (h, t) = tlv(detached)?;
    let info = &detached[h..t];
    let (_, t) = tlv(info)?;
    let (content_type, explicit) = info.split_at(t);
    let (h, t) = tlv(explicit)?;
    let (h, t) = {
        let signed_data = &explicit[h..t];
        let (h2, t2) = tlv(signed_data)?;
        (h + h2, h + t2)
    };
    let fields = &explicit[h..t];
    let (_, version_end) = tlv(fields)?;
    let (_, algorithms_len) = tlv(&fields[version_end..])?;
    let encap_at = version_end + algorithms_len;
    let (encap_head, encap_end) = tlv(&fields[encap_at..])?;
    let e_content_type = &fields[encap_at + encap_head..encap_at + encap_end];
    let rest = &fields[encap_at + encap_end..];

    let octets = header(0x04, content_len);
    let e_content_len = octets.len() as u64 + content_len;
    let e_content = header(0xa0, e_content_len);
    let encap_len = (e_content_type.len() + e_content.len()) as u64 + e_content_len;
    let encap = header(0x30, encap_len);
    let signed_data_len = (encap_at + encap.len() + rest.len()) as u64 + encap_len;
    let signed_data = header(0x30, signed_data_len);
    let explicit_len = signed_data.len() as u64 + signed_data_len;
    let explicit = header(0xa0, explicit_len);
    let info_len = (content_type.len() + explicit.len()) as u64 + explicit_len;

    let mut prefix = header(0x30, info_len);
    for part in [
        content_type,
        &explicit,
        &signed_data,
        &fields[..encap_at],
        &encap,
        e_content_type,
        &e_content,
        &octets,
    ] {
        prefix.extend_from_slice(part);
    }
    Ok((prefix, rest.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smime::identity::KeyAlgorithm;
    use crate::smime::privkey::Curve;
    use crate::smime::signed::tests::{fixture, generated};
    use crate::smime::signed::{sign, sign_digest, verify, SignatureScheme, Signer};

    /// The streamed form (a detached signature with the content put back)
    /// is the in-memory form byte for byte, whatever the key. ECDSA
    /// signatures are randomised (and vary in length), so for them the
    /// streamed form is checked to verify.
    #[test]
    fn encapsulated_detached_signature_is_what_sign_writes() {
        for (key, cert) in [
            fixture("alice"),
            generated(KeyAlgorithm::Ed25519),
            generated(KeyAlgorithm::Ec(Curve::P256)),
            generated(KeyAlgorithm::Ec(Curve::P384)),
        ] {
            let scheme = SignatureScheme::for_key(key.kind(), false).unwrap();
            let randomised = matches!(scheme, SignatureScheme::Ecdsa(_));
            // Lengths on either side of the DER length-of-length steps.
            for len in [0usize, 1, 100, 127, 128, 255, 256, 65535, 65536, 70000] {
                let content: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
                let t = 1_750_000_000;
                let rng = &mut rand_core::OsRng;
                let whole = sign(&content, &key, &cert, &[], scheme, t, rng).unwrap();
                let signer = Signer {
                    key: &key,
                    cert: &cert,
                    chain: &[],
                    scheme,
                    signing_time: t,
                };
                let mut hasher = EntityDigest::new(scheme.digest(), &[]);
                hasher.update(&content);
                let (_, digest) = hasher.finish();
                let detached = sign_digest(&digest, None, &signer, rng).unwrap();
                let (prefix, suffix) = encapsulate(&detached, len as u64).unwrap();
                let streamed = [prefix, content.clone(), suffix].concat();
                if randomised {
                    assert_eq!(verify(&streamed).unwrap().content, content);
                } else {
                    assert!(streamed == whole, "{scheme:?} {len}");
                }
            }
        }
    }
}
