//! Opening S/MIME messages: the payload is found (MIME, PEM, or bare
//! DER/BER), every encryption and opaque-signature layer is peeled off, and
//! a multipart/signed result is verified in place. Nothing is returned
//! unless every layer succeeded, so a caller that prints only on `Ok` never
//! releases partial plaintext.
//!
//! Which private key opens an envelope is decided by [`KeySource`]; the
//! keystore implements it, and it is the seam where a group key release
//! (asking a server for the content key) plugs in when no own key matches.

use std::io::{Read, Seek, SeekFrom, Write};

use rand_core::CryptoRngCore;
use rsa::RsaPrivateKey;
use x509_cert::Certificate;

use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::CertInfo;
use crate::smime::envelope::{ContentCipher, ContentKey, Envelope, KeyMatch, OwnKey};
use crate::smime::mime::{self, Entity};
use crate::smime::signed;

/// Layers deeper than this are refused (a message nesting itself forever).
const MAX_LAYERS: usize = 8;

/// Where private keys come from.
pub trait KeySource {
    /// Own certificates, every one ever held (old mail stays readable).
    fn certificates(&self) -> Vec<CertInfo>;
    /// The private key for one of [`Self::certificates`], by fingerprint.
    fn unlock(&mut self, fingerprint: &str) -> anyhow::Result<RsaPrivateKey>;
    /// Others' certificates the key source knows, to name whom a message is
    /// for when no own key opens it; asked only then.
    fn correspondents(&self) -> Vec<CertInfo> {
        Vec::new()
    }
    /// Called when no own certificate matches: another way to get the
    /// content key (group key release). `Ok(None)` means "no other way".
    fn content_key_elsewhere(
        &mut self,
        _envelope: &Envelope,
    ) -> anyhow::Result<Option<ContentKey>> {
        Ok(None)
    }
}

/// One signature met on the way, verified or not.
#[derive(Debug, Clone)]
pub struct SignatureOutcome {
    /// The signer, when the signature names a certificate it carries. A
    /// good signature proves only that this certificate's key signed: the
    /// certificate is not verified (anyone can make one naming any address);
    /// the keystore says whether the user vouched for it.
    pub signer: Option<CertInfo>,
    /// `Ok` when it verified; the reason otherwise.
    pub result: Result<(), String>,
    pub signing_time: Option<i64>,
    /// Algorithms the signer advertised (SMIMECapabilities signed attribute).
    pub capabilities: Vec<const_oid::ObjectIdentifier>,
    /// opaque (signed-data) or detached (multipart/signed).
    pub detached: bool,
    /// The certificates and CRLs the SignedData carried, for judging the
    /// signer ([`crate::smime::trust`]); empty for a bad signature.
    pub certificates: Vec<CertInfo>,
    pub crls: Vec<Vec<u8>>,
}

/// The result of [`open`].
#[derive(Debug)]
pub struct Opened {
    /// The innermost MIME entity, byte for byte.
    pub plaintext: Vec<u8>,
    /// For each encryption layer: the cipher and the own certificate that opened it.
    pub decryptions: Vec<(ContentCipher, Option<CertInfo>)>,
    pub signatures: Vec<SignatureOutcome>,
}

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
fn refuse_batch_smtp(input: &[u8]) -> anyhow::Result<()> {
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

fn trim_ascii_start(data: &[u8]) -> &[u8] {
    let n = data.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &data[n..]
}

/// Opens `input` through every layer. `require_encryption`: fail if the
/// input is not encrypted at all (what `decrypt` wants).
pub fn open(
    input: &[u8],
    keys: &mut dyn KeySource,
    require_encryption: bool,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Opened> {
    refuse_batch_smtp(input)?;
    let mut current = input.to_vec();
    let mut decryptions = Vec::new();
    let mut signatures = Vec::new();
    for depth in 0..=MAX_LAYERS {
        if depth == MAX_LAYERS {
            return Err(fail(
                Exit::DataErr,
                format!("more than {MAX_LAYERS} nested S/MIME layers"),
            ));
        }
        // Below the first layer, content without a header section is either
        // bare CMS (gpgsm and `openssl cms` wrap layers without MIME) or the
        // plaintext itself (openssl cms can encrypt any bytes).
        let payload = if depth > 0 && Entity::parse(&current).is_none() {
            match cms_payload(&current) {
                Ok(Some(p)) if layer_kind(&p).is_ok() => p,
                _ => break,
            }
        } else {
            match cms_payload(&current)? {
                Some(p) => p,
                None => {
                    // A plain MIME entity: done, after checking a multipart/signed one.
                    if let Some(entity) = Entity::parse(&current) {
                        if entity.media_type() == "multipart/signed" {
                            signatures.push(verify_multipart_signed(&entity));
                        }
                    }
                    break;
                }
            }
        };
        match layer_kind(&payload)? {
            LayerKind::Encrypted => {
                let envelope = Envelope::parse(&payload)?;
                let (plaintext, opened_by) = decrypt_layer(&envelope, keys, rng)?;
                decryptions.push((envelope.cipher()?, opened_by));
                current = plaintext;
            }
            LayerKind::Signed => match signed::verify(&payload) {
                Ok(verified) => {
                    signatures.push(SignatureOutcome {
                        signer: Some(verified.signer.clone()),
                        result: Ok(()),
                        signing_time: verified.signing_time,
                        capabilities: capability_list(&verified),
                        detached: false,
                        certificates: verified.certificates,
                        crls: verified.crls,
                    });
                    current = verified.content;
                }
                Err(e) if crate::error::classify(&e).0 == Exit::DataErr => {
                    // A bad signature is reported, not fatal (unless the caller
                    // requires one): the content is still what was sent.
                    current = signed::unverified_content(&payload)?;
                    signatures.push(SignatureOutcome {
                        signer: None,
                        result: Err(crate::error::single_line(&e)),
                        signing_time: None,
                        capabilities: Vec::new(),
                        detached: false,
                        certificates: Vec::new(),
                        crls: Vec::new(),
                    });
                }
                Err(e) => return Err(e),
            },
        }
    }
    if require_encryption && decryptions.is_empty() {
        return Err(fail(
            Exit::DataErr,
            "the message is not encrypted (no enveloped-data layer)",
        ));
    }
    Ok(Opened {
        plaintext: current,
        decryptions,
        signatures,
    })
}

enum LayerKind {
    Encrypted,
    Signed,
}

fn layer_kind(der: &[u8]) -> anyhow::Result<LayerKind> {
    let normalized = crate::smime::envelope::ber::to_der(der)?;
    let info = <cms::content_info::ContentInfo as der::Decode>::from_der(&normalized)
        .map_err(|e| fail(Exit::DataErr, format!("malformed CMS message: {e}")))?;
    let oid = info.content_type;
    if oid == const_oid::db::rfc5911::ID_ENVELOPED_DATA
        || oid == crate::smime::envelope::ID_AUTH_ENVELOPED_DATA
    {
        Ok(LayerKind::Encrypted)
    } else if oid == const_oid::db::rfc5911::ID_SIGNED_DATA {
        Ok(LayerKind::Signed)
    } else {
        Err(fail(
            Exit::DataErr,
            format!("unsupported CMS content type {oid}"),
        ))
    }
}

fn decrypt_layer(
    envelope: &Envelope,
    keys: &mut dyn KeySource,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<(Vec<u8>, Option<CertInfo>)> {
    let (cek, by) = content_key(envelope, keys, rng)?;
    Ok((envelope.decrypt(&cek)?, by))
}

/// The content key of `envelope`: from the first own certificate it names
/// (only that key is unlocked), else from [`KeySource::content_key_elsewhere`].
fn content_key(
    envelope: &Envelope,
    keys: &mut dyn KeySource,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<(ContentKey, Option<CertInfo>)> {
    let own = keys.certificates();
    if let Some(info) = own
        .iter()
        .find(|c| envelope.recipient_for(&c.cert).is_some())
    {
        let key = keys.unlock(&info.fingerprint)?;
        let cert: &Certificate = &info.cert;
        let m: KeyMatch<'_> = envelope
            .find_key(&[OwnKey { cert, key: &key }])
            .ok_or_else(|| fail(Exit::Software, "recipient matched but key did not"))?;
        let cek = envelope.unwrap_key(&m, rng)?;
        return Ok((cek, Some(info.clone())));
    }
    match keys.content_key_elsewhere(envelope)? {
        Some(cek) => Ok((cek, None)),
        None => {
            let known: Vec<CertInfo> = own.into_iter().chain(keys.correspondents()).collect();
            Err(envelope.no_key_error_naming(&|i| {
                known
                    .iter()
                    .find(|c| envelope.recipient_for(&c.cert) == Some(i))
                    .map(|c| c.emails.join(", "))
                    .filter(|emails| !emails.is_empty())
            }))
        }
    }
}

fn verify_multipart_signed(entity: &Entity<'_>) -> SignatureOutcome {
    let outcome = (|| -> anyhow::Result<signed::Verified> {
        let (content, signature_part) = mime::multipart_signed_parts(entity)?;
        let sig_entity = Entity::parse(signature_part).ok_or_else(|| {
            fail(
                Exit::DataErr,
                "malformed signature part in multipart/signed",
            )
        })?;
        let sig_der = sig_entity.decoded_body()?;
        signed::verify_detached(&sig_der, &content)
    })();
    match outcome {
        Ok(v) => SignatureOutcome {
            capabilities: capability_list(&v),
            signer: Some(v.signer),
            result: Ok(()),
            signing_time: v.signing_time,
            detached: true,
            certificates: v.certificates,
            crls: v.crls,
        },
        Err(e) => SignatureOutcome {
            signer: None,
            result: Err(crate::error::single_line(&e)),
            signing_time: None,
            capabilities: Vec::new(),
            detached: true,
            certificates: Vec::new(),
            crls: Vec::new(),
        },
    }
}

fn capability_list(v: &signed::Verified) -> Vec<const_oid::ObjectIdentifier> {
    v.capabilities
        .as_ref()
        .map(|c| c.algorithms.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Streaming: encrypted messages too large to hold in memory
// ---------------------------------------------------------------------------

/// The result of [`open_streaming`].
#[derive(Debug)]
pub enum Streamed {
    /// Decrypted and written; `plaintext` is empty (it went to the output).
    Done(Opened),
    /// Not a plain encrypted message this path handles (signed outside or
    /// inside the encryption, multipart/signed, PEM, an unusual MIME
    /// shape): nothing was written; use [`open`] on the whole input.
    NotStreamable,
}

/// Plaintext bytes decrypted ahead (after verification, in memory only) to
/// tell a final MIME entity from another layer.
const PEEK: usize = 64 << 10;
/// Bytes of input searched for the end of the outer header section.
const HEAD_SEARCH: usize = 256 << 10;
/// Read buffer for the base64 decoder.
const B64_CHUNK: usize = 256 << 10;

/// Where the CMS bytes are in the input.
struct Payload {
    start: u64,
    base64: bool,
}

fn read_io(e: std::io::Error) -> anyhow::Error {
    fail(Exit::IoErr, format!("cannot read the message: {e}"))
}

/// Finds the CMS payload the way [`cms_payload`] does, from the start of the
/// input only: bare DER/BER, or an application/pkcs7-mime entity (base64 or
/// binary). `None` for anything else.
fn locate<F: Read + Seek>(input: &mut F) -> anyhow::Result<Option<Payload>> {
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

/// Decodes base64 as it is read, ignoring whitespace, accepting exactly what
/// [`mime::decode_base64`] accepts for the whole body.
struct Base64Reader<R> {
    inner: R,
    raw: Vec<u8>,
    decoder: Option<mime::Base64Decoder>,
    out: Vec<u8>,
    out_pos: usize,
}

impl<R: Read> Base64Reader<R> {
    fn new(inner: R) -> Self {
        Base64Reader {
            inner,
            raw: vec![0; B64_CHUNK],
            decoder: Some(mime::Base64Decoder::default()),
            out: Vec::with_capacity(B64_CHUNK),
            out_pos: 0,
        }
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let invalid = |e: anyhow::Error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                crate::error::single_line(&e),
            )
        };
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(());
            };
            let n = loop {
                match self.inner.read(&mut self.raw) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                if let Some(d) = self.decoder.take() {
                    d.finish().map_err(invalid)?;
                }
                return Ok(());
            }
            decoder
                .update(&self.raw[..n], &mut self.out)
                .map_err(invalid)?;
        }
        Ok(())
    }
}

impl<R: Read> Read for Base64Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.out_pos == self.out.len() {
            self.refill()?;
        }
        let n = (self.out.len() - self.out_pos).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// Whether a decrypted entity starting with `prefix` (the whole plaintext
/// when `complete`) is certainly final: [`open`] would stop at it without
/// looking for another layer or a multipart/signed signature.
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
            v.update(chunk);
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
        self.decryptor = Some(crate::smime::envelope::ContentDecryptor::new(
            self.cek,
            head.content_encryption_algorithm(),
            head.kind() == crate::smime::envelope::EnvelopeKind::AuthEnveloped,
            self.aad,
        )?);
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

/// Opens a message too large for [`open`] without holding it in memory:
/// `input` (a file, or a spool of stdin: it is read more than once) holds
/// an S/MIME message or bare CMS whose one encryption layer wraps a final
/// MIME entity.
///
/// Fail-closed: pass one reads the ciphertext and verifies the GCM tag (or
/// the CBC padding) while producing no plaintext; `before_output` then sees
/// the outcome and may still refuse; only then does pass two decrypt and
/// write the plaintext to `out`. Pass two checks again that the envelope is
/// unchanged and the tag still verifies; that can only fail if `input` was
/// modified between the passes, and is then reported after the output.
///
/// Anything else (a signature inside or outside the encryption, nested
/// encryption, multipart/signed, PEM) is [`Streamed::NotStreamable`], with
/// nothing written.
pub fn open_streaming<F: Read + Seek>(
    input: &mut F,
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
