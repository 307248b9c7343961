//! Encrypted messages too large to hold in memory: one encryption layer
//! around a final MIME entity, opened in two passes over a seekable input so
//! that no plaintext is written before the whole ciphertext verified.

use std::io::{Read, Seek, SeekFrom, Write};

use rand_core::CryptoRngCore;

use super::base64_reader::{Base64Reader, B64_CHUNK};
use super::key::{content_key, KeySource};
use super::payload::{locate, read_io, trim_ascii_start};
use super::Opened;
use crate::error::{fail, Exit};
use crate::smime::certs::CertInfo;
use crate::smime::envelope::{ContentKey, Envelope};
use crate::smime::mime::{self, Entity};

/// The result of [`open_streaming`].
#[derive(Debug)]
pub enum Streamed {
    /// Decrypted and written; `plaintext` is empty (it went to the output).
    Done(Opened),
    /// Not a plain encrypted message this path handles (signed outside or
    /// inside the encryption, multipart/signed, PEM, an unusual MIME
    /// shape): nothing was written; use [`open`](super::open) on the whole
    /// input.
    NotStreamable,
}

/// Who can change the input between the two passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rereading {
    /// Someone else may (or we cannot tell): pass two hashes the ciphertext
    /// again, and fails if the AEAD tag (GCM, Poly1305) no longer verifies.
    Recheck,
    /// Only this user (sealpost's own unlinked copy of stdin, or a file only
    /// its owner may write, owned by this user or root): a change between
    /// the passes could only be made by someone who can already read and
    /// write everything this process does, so pass two decrypts without a
    /// second GHASH or Poly1305 over the ciphertext.
    Private,
}

/// Plaintext bytes decrypted ahead (after verification, in memory only) to
/// tell a final MIME entity from another layer.
const PEEK: usize = 64 << 10;

/// Whether a decrypted entity starting with `prefix` (the whole plaintext
/// when `complete`) is certainly final: [`open`](super::open) would stop at
/// it without looking for another layer or a multipart/signed signature.
fn certainly_final(prefix: &[u8], complete: bool) -> bool {
    let trimmed = trim_ascii_start(prefix);
    if trimmed.is_empty() && !complete {
        return false;
    }
    if trimmed.first() == Some(&0x30)
        || trimmed.starts_with(b"-----BEGIN ")
        || (!complete && b"-----BEGIN ".starts_with(trimmed))
    {
        return false;
    }
    let layered = |e: &Entity<'_>| {
        matches!(
            e.media_type().as_str(),
            "application/pkcs7-mime" | "application/x-pkcs7-mime" | "multipart/signed"
        )
    };
    if complete || mime::split_head(prefix).is_some() {
        // The header section is all here: the answer is the whole message's.
        return Entity::parse(prefix).is_none_or(|e| !layered(&e));
    }
    // No end of the header section yet: final only if a line already seen
    // rules out a header section altogether.
    let Some(last_nl) = prefix.iter().rposition(|&b| b == b'\n') else {
        return false;
    };
    let mut lines = prefix[..=last_nl].to_vec();
    lines.extend_from_slice(b"\r\n");
    Entity::parse(&lines).is_none()
}

/// Pass one: finds the key at the first sight of the envelope, then checks
/// the ciphertext. Keeps the first [`PEEK`] bytes of ciphertext.
struct VerifyPass<'k, R> {
    keys: &'k mut dyn KeySource,
    rng: &'k mut R,
    key: Option<(ContentKey, Option<CertInfo>)>,
    aad: Vec<u8>,
    verifier: Option<crate::smime::envelope::ContentVerifier>,
    peek: Vec<u8>,
}

impl<R: CryptoRngCore> crate::smime::envelope::ContentSink for VerifyPass<'_, R> {
    fn begin(&mut self, head: &Envelope) -> anyhow::Result<()> {
        if self.key.is_none() {
            self.key = Some(content_key(head, self.keys, self.rng)?);
        }
        let (cek, _) = self
            .key
            .as_ref()
            .ok_or_else(|| fail(Exit::Software, "no key"))?;
        head.check_key(cek)?;
        self.verifier = Some(crate::smime::envelope::ContentVerifier::new(
            cek,
            head.content_encryption_algorithm(),
            head.kind() == crate::smime::envelope::EnvelopeKind::AuthEnveloped,
            &self.aad,
        )?);
        self.peek.clear();
        Ok(())
    }

    fn content(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
        if let Some(v) = &mut self.verifier {
            v.update(chunk)?;
        }
        if self.peek.len() < PEEK {
            let take = (PEEK - self.peek.len()).min(chunk.len());
            self.peek.extend_from_slice(&chunk[..take]);
        }
        Ok(())
    }
}

/// Pass two: decrypts and writes.
struct DecryptPass<'o> {
    cek: &'o ContentKey,
    aad: &'o [u8],
    rereading: Rereading,
    decryptor: Option<crate::smime::envelope::ContentDecryptor>,
    out: &'o mut dyn Write,
    buf: zeroize::Zeroizing<Vec<u8>>,
}

fn write_err(e: std::io::Error) -> anyhow::Error {
    fail(Exit::IoErr, format!("cannot write the plaintext: {e}"))
}

impl crate::smime::envelope::ContentSink for DecryptPass<'_> {
    fn begin(&mut self, head: &Envelope) -> anyhow::Result<()> {
        head.check_key(self.cek)?;
        let decryptor = crate::smime::envelope::ContentDecryptor::new(
            self.cek,
            head.content_encryption_algorithm(),
            head.kind() == crate::smime::envelope::EnvelopeKind::AuthEnveloped,
            self.aad,
        )?;
        self.decryptor = Some(match self.rereading {
            Rereading::Recheck => decryptor,
            Rereading::Private => decryptor.trusting_pass_one(),
        });
        Ok(())
    }

    fn content(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
        let d = self
            .decryptor
            .as_mut()
            .ok_or_else(|| fail(Exit::Software, "content before the envelope"))?;
        self.buf.clear();
        d.update(chunk, &mut self.buf)?;
        self.out.write_all(&self.buf).map_err(write_err)
    }
}

/// Opens a message too large for [`open`](super::open) without holding it
/// in memory: `input` (a file, or a spool of stdin: it is read more than
/// once) holds an S/MIME message or bare CMS whose one encryption layer
/// wraps a final MIME entity.
///
/// Fail-closed: pass one reads the ciphertext and verifies the AEAD tag (or
/// the CBC padding) while producing no plaintext; `before_output` then sees
/// the outcome and may still refuse; only then does pass two decrypt and
/// write the plaintext to `out`. Pass two checks again that the envelope is
/// unchanged and (unless `rereading` is [`Rereading::Private`]) that the tag
/// still verifies; that can only fail if `input` was modified between the
/// passes, and is then reported after the output.
///
/// Anything else (a signature inside or outside the encryption, nested
/// encryption, multipart/signed, PEM) is [`Streamed::NotStreamable`], with
/// nothing written.
pub fn open_streaming<F: Read + Seek>(
    input: &mut F,
    rereading: Rereading,
    keys: &mut dyn KeySource,
    out: &mut dyn Write,
    before_output: &mut dyn FnMut(&Opened) -> anyhow::Result<()>,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Streamed> {
    let Some(payload) = locate(input)? else {
        return Ok(Streamed::NotStreamable);
    };
    let walk = |input: &mut F,
                sink: &mut dyn crate::smime::envelope::ContentSink|
     -> anyhow::Result<crate::smime::envelope::Walked> {
        input
            .seek(SeekFrom::Start(payload.start))
            .map_err(read_io)?;
        if payload.base64 {
            crate::smime::envelope::walk(Base64Reader::new(&mut *input), sink)
        } else {
            crate::smime::envelope::walk(&mut *input, sink)
        }
    };

    // Pass one: key, tag or padding.
    let mut verify = VerifyPass {
        keys,
        rng,
        key: None,
        aad: Vec::new(),
        verifier: None,
        peek: Vec::new(),
    };
    let (mut envelope, mut skeleton) = match walk(input, &mut verify)? {
        crate::smime::envelope::Walked::Envelope { envelope, skeleton } => (envelope, skeleton),
        crate::smime::envelope::Walked::Other(_) => return Ok(Streamed::NotStreamable),
    };
    if !envelope.authenticated_attributes().is_empty() {
        // The attributes follow the content but GHASH needs them first: again, knowing them.
        verify.aad = envelope.authenticated_attributes().to_vec();
        let first = skeleton;
        match walk(input, &mut verify)? {
            crate::smime::envelope::Walked::Envelope {
                envelope: e,
                skeleton: s,
            } if s == first => (envelope, skeleton) = (e, s),
            _ => return Err(fail(Exit::IoErr, "the message changed while it was read")),
        }
    }
    let verifier = verify
        .verifier
        .take()
        .ok_or_else(|| fail(Exit::Software, "no content verified"))?;
    verifier.finish(envelope.mac())?;
    let (cek, opened_by) = verify
        .key
        .take()
        .ok_or_else(|| fail(Exit::Software, "no content key"))?;
    let cipher = envelope.check_key(&cek)?;
    let aad = envelope.authenticated_attributes().to_vec();
    let authenticated = envelope.kind() == crate::smime::envelope::EnvelopeKind::AuthEnveloped;

    // Verified: what does the plaintext start with?
    let mut peek = zeroize::Zeroizing::new(Vec::new());
    let mut d = crate::smime::envelope::ContentDecryptor::new(
        &cek,
        envelope.content_encryption_algorithm(),
        authenticated,
        &aad,
    )?;
    d.update(&verify.peek, &mut peek)?;
    let complete = verify.peek.len() < PEEK;
    if complete {
        d.finish(envelope.mac(), &mut peek)?;
    }
    if !certainly_final(&peek, complete) {
        return Ok(Streamed::NotStreamable);
    }
    drop(peek);

    let opened = Opened {
        plaintext: Vec::new(),
        decryptions: vec![(cipher, opened_by)],
        signatures: Vec::new(),
    };
    before_output(&opened)?;

    // Pass two: decrypt and write.
    let mut pass = DecryptPass {
        cek: &cek,
        aad: &aad,
        rereading,
        decryptor: None,
        out,
        buf: zeroize::Zeroizing::new(Vec::with_capacity(B64_CHUNK + 64)),
    };
    match walk(input, &mut pass)? {
        crate::smime::envelope::Walked::Envelope { skeleton: s, .. } if s == skeleton => {}
        _ => return Err(fail(Exit::IoErr, "the message changed while it was read")),
    }
    let d = pass
        .decryptor
        .take()
        .ok_or_else(|| fail(Exit::Software, "no content decrypted"))?;
    pass.buf.clear();
    d.finish(envelope.mac(), &mut pass.buf)?;
    pass.out.write_all(&pass.buf).map_err(write_err)?;
    pass.out.flush().map_err(write_err)?;
    Ok(Streamed::Done(opened))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smime::envelope::{self, ContentCipher};
    use rand::SeedableRng;

    const KEY_BYTE: u8 = 0x42;

    /// No certificates; the content key comes "from elsewhere", fixed.
    struct FixedKey;

    impl KeySource for FixedKey {
        fn certificates(&self) -> Vec<CertInfo> {
            Vec::new()
        }
        fn unlock(&mut self, _: &str) -> anyhow::Result<crate::smime::privkey::PrivateKey> {
            Err(anyhow::anyhow!("no private keys here"))
        }
        fn content_key_elsewhere(&mut self, env: &Envelope) -> anyhow::Result<Option<ContentKey>> {
            let cipher = env.cipher()?;
            Ok(Some(ContentKey::from_bytes(
                cipher,
                &vec![KEY_BYTE; cipher.key_len()],
            )?))
        }
    }

    /// A file whose byte at `flip` changes once pass one has read past it:
    /// at the next seek, which starts pass two.
    struct ChangesBetweenPasses {
        data: std::io::Cursor<Vec<u8>>,
        flip: usize,
        flipped: bool,
    }

    impl Read for ChangesBetweenPasses {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.data.read(buf)
        }
    }

    impl Seek for ChangesBetweenPasses {
        fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
            if !self.flipped && self.data.position() as usize > self.flip {
                self.data.get_mut()[self.flip] ^= 1;
                self.flipped = true;
            }
            self.data.seek(pos)
        }
    }

    /// A bare AuthEnvelopedData (`cipher`, an AEAD) of `plaintext` for the fixed key.
    fn sealed(cipher: ContentCipher, plaintext: &[u8]) -> Vec<u8> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let cek = ContentKey::from_bytes(cipher, &[KEY_BYTE; 32]).unwrap();
        let content = cek.encrypt(plaintext, &mut rng).unwrap();
        let kek = envelope::kek_recipient(b"list", &[0x17; 32], &cek).unwrap();
        envelope::assemble(&content, vec![kek]).unwrap()
    }

    fn open_changing(
        cipher: ContentCipher,
        rereading: Rereading,
    ) -> (anyhow::Result<Streamed>, Vec<u8>, Vec<u8>) {
        let plaintext = b"Content-Type: text/plain\r\n\r\n".repeat(20_000);
        let der = sealed(cipher, &plaintext);
        let mut input = ChangesBetweenPasses {
            flip: der.len() - 1000,
            data: std::io::Cursor::new(der),
            flipped: false,
        };
        let mut out = Vec::new();
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let result = open_streaming(
            &mut input,
            rereading,
            &mut FixedKey,
            &mut out,
            &mut |_| Ok(()),
            &mut rng,
        );
        assert!(
            input.flipped,
            "the test input did not change between the passes"
        );
        (result, out, plaintext)
    }

    const AEADS: [ContentCipher; 2] = [ContentCipher::Aes256Gcm, ContentCipher::ChaCha20Poly1305];

    #[test]
    fn a_file_changed_between_the_passes_fails_when_others_could_write_it() {
        for cipher in AEADS {
            let (result, _, _) = open_changing(cipher, Rereading::Recheck);
            let err = result.expect_err("a changed ciphertext must fail pass two");
            assert!(err.to_string().contains("decrypt"), "{cipher}: {err:#}");
        }
    }

    #[test]
    fn a_private_input_is_hashed_once() {
        // Only this user could have changed it: pass two trusts pass one,
        // so the flipped bit goes through (a stream cipher), and no second
        // GHASH or Poly1305 ran.
        for cipher in AEADS {
            let (result, out, plaintext) = open_changing(cipher, Rereading::Private);
            assert!(matches!(result, Ok(Streamed::Done(_))), "{cipher}");
            assert_eq!(out.len(), plaintext.len());
            assert_ne!(out, plaintext);
        }
    }
}
