//! Encrypting a message into Bcc-private S/MIME envelopes.
//!
//! The message is taken apart once (outer headers, inner MIME entity without
//! any Bcc), optionally signed once, and encrypted once per content cipher
//! in use. [`crate::bcc::plan`] decides who reads which envelope; each
//! envelope then gets only its readers' RecipientInfos around the shared
//! ciphertext, its own outer headers, and its own SMTP envelope.
//!
//! Algorithms are chosen per envelope: AES-256-GCM (AuthEnvelopedData) with
//! RSA-OAEP/SHA-256 when every reader of that envelope is known to read them,
//! AES-256-CBC (EnvelopedData) with RSA PKCS#1 v1.5 otherwise, unless the
//! caller forces a choice. Certificates are looked up through a closure so
//! that this module needs no keystore and tests can supply their own.

use std::collections::HashMap;
use std::io::Read;

use base64::Engine;
use rand_core::CryptoRngCore;

use crate::bcc::{self, Addressees, BccMode, EnvelopeKind, EnvelopePlan, PlanOptions};
use crate::bsmtp::Transaction;
use crate::certs::{CertInfo, Support};
use crate::envelope::{
    assemble, key_trans_recipient, ContentCipher, ContentKey, EncryptedContent, KeyTransport,
    RecipientIdKind, RecipientOptions, StreamedContent,
};
use crate::error::{fail, fail_hint, single_line, Exit};
use crate::message::{self, Mailbox, SmimeType};

/// What the caller chose; `None` fields mean "decide per envelope".
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub bcc_mode: BccMode,
    pub sender_copy: bool,
    pub bcc_self_header: bool,
    pub skip_unknown: bool,
    pub cipher: Option<ContentCipher>,
    pub key_transport: Option<KeyTransport>,
    pub rid: RecipientIdKind,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bcc_mode: BccMode::Separate,
            sender_copy: true,
            bcc_self_header: false,
            skip_unknown: false,
            cipher: None,
            key_transport: None,
            rid: RecipientIdKind::IssuerAndSerial,
        }
    }
}

/// A usable certificate for an address and what its holder reads.
#[derive(Debug, Clone)]
pub struct ReaderCert {
    pub cert: CertInfo,
    pub support: Support,
}

/// Finds the certificates for an address; an error says why there are none.
pub type CertLookup<'a> = dyn FnMut(&str) -> anyhow::Result<Vec<ReaderCert>> + 'a;

/// Signs the inner MIME entity; returns DER SignedData with the content encapsulated.
pub type InnerSigner<'a> = dyn FnMut(&[u8]) -> anyhow::Result<Vec<u8>> + 'a;

/// Instead of wrapping the content key to each reader's certificate: the
/// one recipient entry of an envelope, given its readers (a key deposit at
/// a group server, `encrypt --deposit`).
pub type DepositWrap<'a> = dyn FnMut(
        &[(&String, &ReaderCert)],
        &ContentKey,
    ) -> anyhow::Result<cms::enveloped_data::RecipientInfo>
    + 'a;

/// One finished envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub kind: EnvelopeKind,
    /// MAIL FROM.
    pub mail_from: String,
    /// RCPT TO: exactly this envelope's recipients.
    pub rcpt_to: Vec<String>,
    /// The complete S/MIME message.
    pub message: Vec<u8>,
    pub cipher: ContentCipher,
    pub key_transport: KeyTransport,
    /// (address, certificate fingerprint) for each RecipientInfo, in order.
    pub recipient_infos: Vec<(String, String)>,
}

impl Envelope {
    pub fn transaction(&self) -> Transaction {
        Transaction {
            mail_from: self.mail_from.clone(),
            rcpt_to: self.rcpt_to.clone(),
            data: self.message.clone(),
        }
    }
}

/// Everything `encrypt` produced.
#[derive(Debug, Clone)]
pub struct Encrypted {
    pub envelopes: Vec<Envelope>,
    /// Addresses dropped by `skip_unknown`, with the reason.
    pub skipped: Vec<(String, String)>,
    /// How many times content was encrypted (one per distinct cipher).
    pub content_encryptions: usize,
    pub signed: bool,
}

/// Encrypts `raw` (an RFC 5322 message) into envelopes. With `deposit`,
/// each envelope's one recipient entry comes from it instead of a key
/// transport entry per reader.
pub fn encrypt(
    raw: &[u8],
    options: &Options,
    lookup: &mut CertLookup<'_>,
    signer: Option<&mut InnerSigner<'_>>,
    mut deposit: Option<&mut DepositWrap<'_>>,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Encrypted> {
    let info = message::parse_message(raw)?;
    let split = message::split_for_encryption(raw)?;
    let Planned {
        who,
        plans,
        certs,
        missing,
    } = plan_envelopes(&info, options, lookup)?;

    let signed = signer.is_some();
    let inner = match signer {
        Some(sign) => signed_entity(&sign(&split.inner)?),
        None => split.inner.clone(),
    };

    let mut contents: HashMap<ContentCipher, (ContentKey, EncryptedContent)> = HashMap::new();
    let mut wrapped = RecipientInfoCache::default();
    let mut envelopes = Vec::with_capacity(plans.len());
    for plan in &plans {
        let (readers, cipher, transport) = choose(plan, &certs, options);
        // One content key and one encryption per cipher, shared by every
        // envelope that uses it.
        let (cek, encrypted) = match contents.entry(cipher) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let cek = ContentKey::generate(cipher, rng)?;
                let encrypted = cek.encrypt(&inner, rng)?;
                slot.insert((cek, encrypted))
            }
        };
        let (cek, encrypted) = (&*cek, &*encrypted);
        let ri_options = RecipientOptions {
            transport,
            rid: options.rid,
        };
        let infos = match deposit.as_deref_mut() {
            Some(wrap) => vec![wrap(&readers, cek)?],
            None => wrapped.infos(&readers, cek, ri_options, rng)?,
        };
        let der = assemble(encrypted, infos)?;
        let smime_type = if cipher.is_authenticated() {
            SmimeType::AuthEnvelopedData
        } else {
            SmimeType::EnvelopedData
        };
        let bcc_header = bcc_mailbox(plan, &info.bcc);
        let message =
            message::write_smime_message(&split.outer, bcc_header.as_ref(), &der, smime_type);
        envelopes.push(Envelope {
            kind: plan.kind,
            mail_from: who.from.clone(),
            rcpt_to: plan.rcpt_to.clone(),
            message,
            cipher,
            key_transport: transport,
            recipient_infos: readers
                .iter()
                .map(|(a, c)| ((*a).clone(), c.cert.fingerprint.clone()))
                .collect(),
        });
    }
    Ok(Encrypted {
        envelopes,
        skipped: missing,
        content_encryptions: contents.len(),
        signed,
    })
}

/// Who reads which envelope, and their certificates.
struct Planned {
    who: Addressees,
    plans: Vec<EnvelopePlan>,
    certs: HashMap<String, Vec<ReaderCert>>,
    missing: Vec<(String, String)>,
}

/// Plans the envelopes and finds every certificate before anything is
/// encrypted: one unknown recipient fails the whole message (or, with
/// skip_unknown, is dropped).
fn plan_envelopes(
    info: &message::MessageInfo,
    options: &Options,
    lookup: &mut CertLookup<'_>,
) -> anyhow::Result<Planned> {
    let addresses = |list: &[Mailbox]| list.iter().map(|m| m.address.clone()).collect::<Vec<_>>();
    let who = Addressees {
        from: info.from.address.clone(),
        to: addresses(&info.to),
        cc: addresses(&info.cc),
        bcc: addresses(&info.bcc),
    };
    if who.to.is_empty() && who.cc.is_empty() && who.bcc.is_empty() {
        return Err(fail(
            Exit::DataErr,
            "the message has no recipients (no To, Cc or Bcc)",
        ));
    }
    let plan_options = PlanOptions {
        mode: options.bcc_mode,
        sender_copy: options.sender_copy,
        bcc_self_header: options.bcc_self_header,
    };
    let mut plans = bcc::plan(&who, plan_options);

    let mut certs: HashMap<String, Vec<ReaderCert>> = HashMap::new();
    let mut missing: Vec<(String, String)> = Vec::new();
    for plan in &plans {
        for addr in &plan.readers {
            if certs.contains_key(addr) || missing.iter().any(|(a, _)| a == addr) {
                continue;
            }
            match lookup(addr) {
                Ok(found) if !found.is_empty() => {
                    certs.insert(addr.clone(), found);
                }
                Ok(_) => missing.push((addr.clone(), format!("no certificate for {addr}"))),
                Err(e) if crate::error::classify(&e).0 == Exit::NoUser => {
                    missing.push((addr.clone(), single_line(&e)))
                }
                Err(e) => return Err(e),
            }
        }
    }
    if !missing.is_empty() && !options.skip_unknown {
        let reasons: Vec<&str> = missing.iter().map(|(_, r)| r.as_str()).collect();
        let sender_missing = missing.iter().any(|(a, _)| *a == who.from);
        let hint = if sender_missing && options.sender_copy {
            "import or generate a key for the sender, or use --no-self; --skip-unknown drops recipients without a certificate"
        } else {
            "import their certificates with `sealpost cert import`, or use --skip-unknown to leave them out"
        };
        return Err(fail_hint(
            Exit::NoUser,
            format!("cannot encrypt: {}", reasons.join("; ")),
            hint,
        ));
    }
    for plan in &mut plans {
        plan.readers.retain(|a| certs.contains_key(a));
        plan.rcpt_to.retain(|a| certs.contains_key(a));
    }
    plans.retain(|p| !p.rcpt_to.is_empty());
    if plans.is_empty() {
        return Err(fail(
            Exit::NoUser,
            "cannot encrypt: no recipient has a usable certificate",
        ));
    }
    Ok(Planned {
        who,
        plans,
        certs,
        missing,
    })
}

/// An envelope's readers (address and certificate, one entry per
/// certificate), its content cipher and its key transport.
fn choose<'c>(
    plan: &'c EnvelopePlan,
    certs: &'c HashMap<String, Vec<ReaderCert>>,
    options: &Options,
) -> (
    Vec<(&'c String, &'c ReaderCert)>,
    ContentCipher,
    KeyTransport,
) {
    let readers: Vec<(&String, &ReaderCert)> = plan
        .readers
        .iter()
        .flat_map(|a| certs[a].iter().map(move |c| (a, c)))
        .collect();
    let modern = readers
        .iter()
        .all(|(_, c)| c.support.aes_gcm && c.support.rsa_oaep);
    let cipher = options.cipher.unwrap_or(if modern {
        ContentCipher::Aes256Gcm
    } else {
        ContentCipher::Aes256Cbc
    });
    let transport = options.key_transport.unwrap_or(if modern {
        KeyTransport::RsaOaepSha256
    } else {
        KeyTransport::RsaPkcs1v15
    });
    (readers, cipher, transport)
}

/// RecipientInfos for `readers`, wrapping `cek`.
/// RecipientInfos already made, by certificate, cipher and options. The
/// sender's certificate reads every envelope: wrapping the same content key
/// to it again for each would cost an RSA operation per envelope and reveal
/// nothing more than the identical entry does, since every copy carries the
/// same ciphertext anyway. So each (certificate, content key) pair is
/// wrapped once per message.
#[derive(Default)]
struct RecipientInfoCache(
    HashMap<(String, ContentCipher, RecipientOptions), cms::enveloped_data::RecipientInfo>,
);

impl RecipientInfoCache {
    fn infos(
        &mut self,
        readers: &[(&String, &ReaderCert)],
        cek: &ContentKey,
        options: RecipientOptions,
        rng: &mut impl CryptoRngCore,
    ) -> anyhow::Result<Vec<cms::enveloped_data::RecipientInfo>> {
        let mut infos = Vec::with_capacity(readers.len());
        for (addr, reader) in readers {
            let key = (reader.cert.fingerprint.clone(), cek.cipher(), options);
            let ri = match self.0.get(&key) {
                Some(ri) => ri.clone(),
                None => {
                    let ri =
                        key_trans_recipient(&reader.cert.cert, cek, options, rng).map_err(|e| {
                            fail(
                                Exit::DataErr,
                                format!("cannot encrypt to {addr}: {}", single_line(&e)),
                            )
                        })?;
                    self.0.insert(key, ri.clone());
                    ri
                }
            };
            infos.push(ri);
        }
        Ok(infos)
    }
}

/// The mailbox (with its display name) for a Bcc copy's own `Bcc:` header.
fn bcc_mailbox(plan: &EnvelopePlan, bcc: &[Mailbox]) -> Option<Mailbox> {
    let addr = plan.bcc_header.as_ref()?;
    bcc.iter()
        .find(|m| m.address.eq_ignore_ascii_case(addr))
        .cloned()
        .or_else(|| Mailbox::new(None, addr).ok())
}

/// An opaque-signed MIME entity (RFC 8551 §3.5.2) around SignedData.
pub fn signed_entity(signed_data_der: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(signed_data_der);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 256);
    out.extend_from_slice(
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data;\r\n name=smime.p7m\r\n\
          Content-Transfer-Encoding: base64\r\n\
          Content-Disposition: attachment; filename=smime.p7m\r\n\r\n",
    );
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

// ---------------------------------------------------------------------------
// Streaming: messages too large to hold in memory
// ---------------------------------------------------------------------------

/// One envelope written by [`StreamPlan::encrypt`]: everything [`Envelope`]
/// holds except the message itself, and the message's length.
#[derive(Debug, Clone)]
pub struct EnvelopeSummary {
    pub kind: EnvelopeKind,
    /// MAIL FROM.
    pub mail_from: String,
    /// RCPT TO: exactly this envelope's recipients.
    pub rcpt_to: Vec<String>,
    pub cipher: ContentCipher,
    pub key_transport: KeyTransport,
    /// (address, certificate fingerprint) for each RecipientInfo, in order.
    pub recipient_infos: Vec<(String, String)>,
    /// Length of the complete S/MIME message (0 until it is written).
    pub bytes: u64,
}

impl From<&Envelope> for EnvelopeSummary {
    fn from(e: &Envelope) -> Self {
        EnvelopeSummary {
            kind: e.kind,
            mail_from: e.mail_from.clone(),
            rcpt_to: e.rcpt_to.clone(),
            cipher: e.cipher,
            key_transport: e.key_transport,
            recipient_infos: e.recipient_infos.clone(),
            bytes: e.message.len() as u64,
        }
    }
}

/// Where [`StreamPlan::encrypt`] writes the envelopes, one after the other.
pub trait EnvelopeOutput {
    /// Envelope number `index` starts (its SMTP envelope is known, its length not yet).
    fn begin(&mut self, index: usize, envelope: &EnvelopeSummary) -> anyhow::Result<()>;
    /// The next bytes of its S/MIME message.
    fn write(&mut self, data: &[u8]) -> anyhow::Result<()>;
    /// The envelope is complete.
    fn end(&mut self) -> anyhow::Result<()>;
}

/// What a streamed encryption produced.
#[derive(Debug, Clone)]
pub struct StreamEncrypted {
    pub envelopes: Vec<EnvelopeSummary>,
    /// Addresses dropped by `skip_unknown`, with the reason.
    pub skipped: Vec<(String, String)>,
    /// How many times content was encrypted (one per distinct cipher).
    pub content_encryptions: usize,
}

/// A message planned for streamed encryption from its header section alone:
/// recipients found, certificates looked up, envelopes decided. Nothing has
/// been encrypted yet.
pub struct StreamPlan {
    bcc: Vec<Mailbox>,
    outer: Vec<message::HeaderField>,
    /// The inner entity's header section (Content-* fields and the blank line).
    inner_head: Vec<u8>,
    who: Addressees,
    plans: Vec<EnvelopePlan>,
    certs: HashMap<String, Vec<ReaderCert>>,
    missing: Vec<(String, String)>,
    options: Options,
    /// Convert bare LF in the body to CRLF (not for an entity that may be signed).
    crlf: bool,
}

/// Plans the encryption of a message whose header section (up to and
/// including the blank line that ends it) is `head`; the body follows in
/// [`StreamPlan::encrypt`]. The inner entity is byte for byte what
/// [`encrypt`] encrypts for the whole message.
pub fn plan_stream(
    head: &[u8],
    options: &Options,
    lookup: &mut CertLookup<'_>,
) -> anyhow::Result<StreamPlan> {
    let info = message::parse_message(head)?;
    let split = message::split_for_encryption(head)?;
    let Planned {
        who,
        plans,
        certs,
        missing,
    } = plan_envelopes(&info, options, lookup)?;
    Ok(StreamPlan {
        bcc: info.bcc,
        outer: split.outer,
        inner_head: split.inner,
        who,
        plans,
        certs,
        missing,
        options: *options,
        crlf: true,
    })
}

/// Plans the re-encryption of a complete MIME entity for a list's members
/// (`explode --reencrypt`): the original message's outer header fields
/// (`outer`), then one envelope per member, with that member alone as
/// reader and SMTP recipient, from `mail_from`. The entity, given to
/// [`StreamPlan::encrypt`] as the body, is encrypted byte for byte: it may
/// be signed, and converting its line endings would break the signature.
pub fn plan_members(
    outer: Vec<message::HeaderField>,
    mail_from: &str,
    members: Vec<(String, Vec<ReaderCert>)>,
    options: &Options,
) -> anyhow::Result<StreamPlan> {
    if members.is_empty() {
        return Err(fail(Exit::NoUser, "the list has no member to send to"));
    }
    let plans = members
        .iter()
        .map(|(addr, _)| EnvelopePlan {
            kind: EnvelopeKind::Visible,
            rcpt_to: vec![addr.clone()],
            readers: vec![addr.clone()],
            bcc_header: None,
        })
        .collect();
    Ok(StreamPlan {
        bcc: Vec::new(),
        outer,
        inner_head: Vec::new(),
        who: Addressees {
            from: mail_from.to_string(),
            ..Default::default()
        },
        plans,
        certs: members.into_iter().collect(),
        missing: Vec::new(),
        options: *options,
        crlf: false,
    })
}

/// Converts bare LF to CRLF across chunk boundaries, as
/// [`message::to_crlf`] does for a whole message. The body starts after the
/// header's blank line, so no CR precedes its first byte.
#[derive(Default)]
pub struct CrlfStream {
    prev_cr: bool,
}

/// High bit set in each byte of `v` equal to `b` (exact: no false positives).
fn byte_eq_mask(v: u64, b: u8) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let t = v ^ (LO * u64::from(b));
    !(((t & HI7) + HI7) | t) & !HI7
}

/// Number of LFs in `input` not preceded by CR (`prev_cr`: the byte before
/// `input` was CR), eight bytes at a time.
fn bare_lfs(prev_cr: bool, input: &[u8]) -> u64 {
    let mut carry = u64::from(prev_cr);
    let mut count = 0u64;
    let mut words = input.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let lf = byte_eq_mask(v, b'\n');
        let cr = byte_eq_mask(v, b'\r');
        // The high bit of byte i+1 set when byte i is CR.
        let after_cr = (cr << 8) | (carry << 7);
        count += u64::from((lf & !after_cr).count_ones());
        carry = cr >> 63;
    }
    let mut prev = carry == 1;
    for &b in words.remainder() {
        if b == b'\n' && !prev {
            count += 1;
        }
        prev = b == b'\r';
    }
    count
}

impl CrlfStream {
    /// `input` converted: itself when it has no bare LF, else a converted
    /// copy in `scratch`.
    pub fn convert<'a>(&mut self, input: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
        let prev_cr = self.prev_cr;
        if let Some(&last) = input.last() {
            self.prev_cr = last == b'\r';
        }
        if bare_lfs(prev_cr, input) == 0 {
            return input;
        }
        scratch.clear();
        let mut start = 0;
        for i in memchr::memchr_iter(b'\n', input) {
            let after_cr = if i == 0 {
                prev_cr
            } else {
                input[i - 1] == b'\r'
            };
            if !after_cr {
                scratch.extend_from_slice(&input[start..i]);
                scratch.extend_from_slice(b"\r\n");
                start = i + 1;
            }
        }
        scratch.extend_from_slice(&input[start..]);
        scratch
    }

    /// How many bytes `input` becomes.
    pub fn converted_len(&mut self, input: &[u8]) -> u64 {
        let extra = bare_lfs(self.prev_cr, input);
        if let Some(&last) = input.last() {
            self.prev_cr = last == b'\r';
        }
        input.len() as u64 + extra
    }
}

/// The length of a body read from `input` after CRLF conversion.
pub fn crlf_body_len(input: &mut dyn Read) -> std::io::Result<u64> {
    let mut crlf = CrlfStream::default();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += crlf.converted_len(&buf[..n]);
    }
}

/// Body bytes read at a time.
const CHUNK: usize = 256 << 10;
/// Ciphertext kept in memory for later envelopes up to this size; beyond it,
/// in an unlinked temporary file.
const SPOOL_IN_MEMORY: usize = 4 << 20;
/// Output buffered before it goes to the [`EnvelopeOutput`].
const OUT_BUF: usize = 512 << 10;

/// Ciphertext shared by later envelopes: memory first, then an anonymous
/// temporary file (already unlinked, so it disappears on every exit path).
enum Spool {
    Memory(Vec<u8>),
    File(std::fs::File, u64),
}

fn spool_err(e: std::io::Error) -> anyhow::Error {
    fail(
        Exit::IoErr,
        format!("cannot write the temporary ciphertext file: {e}"),
    )
}

impl Spool {
    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        use std::io::Write;
        if let Spool::Memory(v) = self {
            if v.len() + data.len() <= SPOOL_IN_MEMORY {
                v.extend_from_slice(data);
                return Ok(());
            }
            let mut file = tempfile::tempfile().map_err(spool_err)?;
            file.write_all(v).map_err(spool_err)?;
            let len = v.len() as u64;
            *self = Spool::File(file, len);
        }
        if let Spool::File(file, len) = self {
            file.write_all(data).map_err(spool_err)?;
            *len += data.len() as u64;
        }
        Ok(())
    }

    fn len(&self) -> u64 {
        match self {
            Spool::Memory(v) => v.len() as u64,
            Spool::File(_, len) => *len,
        }
    }

    /// Passes the whole spool to `f` in pieces.
    fn replay(&mut self, f: &mut dyn FnMut(&[u8]) -> anyhow::Result<()>) -> anyhow::Result<()> {
        use std::io::Seek;
        match self {
            Spool::Memory(v) => {
                for piece in v.chunks(CHUNK) {
                    f(piece)?;
                }
                Ok(())
            }
            Spool::File(file, _) => {
                file.seek(std::io::SeekFrom::Start(0)).map_err(spool_err)?;
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = match file.read(&mut buf) {
                        Ok(0) => return Ok(()),
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(spool_err(e)),
                    };
                    f(&buf[..n])?;
                }
            }
        }
    }
}

/// Base64 in lines of 76 characters with CRLF, as
/// [`message::write_smime_message`] writes it, over a stream of bytes.
struct Base64Lines<'o> {
    out: &'o mut dyn EnvelopeOutput,
    /// Input not yet encoded (less than one line's 57 bytes).
    carry: Vec<u8>,
    buf: Vec<u8>,
    written: u64,
}

impl<'o> Base64Lines<'o> {
    fn new(out: &'o mut dyn EnvelopeOutput) -> Self {
        Base64Lines {
            out,
            carry: Vec::with_capacity(57),
            buf: Vec::with_capacity(OUT_BUF + 128),
            written: 0,
        }
    }

    /// Bytes written as they are (the header section).
    fn raw(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.buf.extend_from_slice(data);
        self.flush_if_full()
    }

    /// Already-encoded bytes, handed to the output without a copy.
    fn encoded(&mut self, data: &[u8]) -> anyhow::Result<()> {
        if !self.carry.is_empty() {
            return Err(fail(
                Exit::Software,
                "encoded bytes in the middle of a base64 line",
            ));
        }
        self.written += self.buf.len() as u64 + data.len() as u64;
        if !self.buf.is_empty() {
            self.out.write(&self.buf)?;
            self.buf.clear();
        }
        self.out.write(data)
    }

    fn line(&mut self, input: &[u8]) {
        crate::mime::encode_base64_into(input, &mut self.buf);
        self.buf.extend_from_slice(b"\r\n");
    }

    fn flush_if_full(&mut self) -> anyhow::Result<()> {
        if self.buf.len() >= OUT_BUF {
            self.written += self.buf.len() as u64;
            self.out.write(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn write(&mut self, mut data: &[u8]) -> anyhow::Result<()> {
        if !self.carry.is_empty() {
            let take = (57 - self.carry.len()).min(data.len());
            self.carry.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.carry.len() < 57 {
                return Ok(());
            }
            let carry = std::mem::take(&mut self.carry);
            self.line(&carry);
            self.carry = carry;
            self.carry.clear();
        }
        let mut lines = data.chunks_exact(57);
        for l in &mut lines {
            self.line(l);
            if self.buf.len() >= OUT_BUF {
                self.flush_if_full()?;
            }
        }
        self.carry.extend_from_slice(lines.remainder());
        Ok(())
    }

    /// Writes the last (short) line; returns the message length.
    fn finish(mut self) -> anyhow::Result<u64> {
        if !self.carry.is_empty() {
            let carry = std::mem::take(&mut self.carry);
            self.line(&carry);
        }
        self.written += self.buf.len() as u64;
        self.out.write(&self.buf)?;
        self.out.end()?;
        Ok(self.written)
    }
}

/// Pre-encoded base64 lines into a [`Base64Lines`], as an `io::Write`.
struct EncodedSink<'b, 'o>(&'b mut Base64Lines<'o>);

impl std::io::Write for EncodedSink<'_, '_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.encoded(data).map_err(std::io::Error::other)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Envelope under construction in [`StreamPlan::encrypt`].
struct Pending {
    summary: EnvelopeSummary,
    infos: Vec<cms::enveloped_data::RecipientInfo>,
    headers: Vec<u8>,
    cipher_index: usize,
}

impl StreamPlan {
    /// How many envelopes the message makes.
    pub fn envelope_count(&self) -> usize {
        self.plans.len()
    }

    /// Addresses dropped by `skip_unknown`, with the reason.
    pub fn skipped(&self) -> &[(String, String)] {
        &self.missing
    }

    /// Encrypts the body read from `body` and writes every envelope to
    /// `out`. `body_len` is the body's length after CRLF conversion (see
    /// [`crlf_body_len`]) if known: the first envelope is then
    /// definite-length DER, otherwise indefinite-length BER streamed as the
    /// body is read. The body is read and encrypted once per distinct
    /// cipher in a single pass; envelopes after the first replay the
    /// ciphertext (kept in memory when small, else in an unlinked
    /// temporary file) with their own RecipientInfos, as DER. No plaintext
    /// is ever written anywhere but to the cipher.
    pub fn encrypt(
        self,
        body: &mut (dyn Read + Send),
        body_len: Option<u64>,
        out: &mut dyn EnvelopeOutput,
        mut deposit: Option<&mut DepositWrap<'_>>,
        rng: &mut impl CryptoRngCore,
    ) -> anyhow::Result<StreamEncrypted> {
        // Keys, RecipientInfos and header sections first: all small.
        let mut ciphers: Vec<(ContentKey, crate::envelope::ContentEncryptor)> = Vec::new();
        let mut pending: Vec<Pending> = Vec::with_capacity(self.plans.len());
        let mut wrapped = RecipientInfoCache::default();
        for plan in &self.plans {
            let (readers, cipher, transport) = choose(plan, &self.certs, &self.options);
            let cipher_index = match ciphers.iter().position(|(k, _)| k.cipher() == cipher) {
                Some(i) => i,
                None => {
                    let cek = ContentKey::generate(cipher, rng)?;
                    let enc = cek.encryptor(rng)?;
                    ciphers.push((cek, enc));
                    ciphers.len() - 1
                }
            };
            let ri_options = RecipientOptions {
                transport,
                rid: self.options.rid,
            };
            let cek = &ciphers[cipher_index].0;
            let infos = match deposit.as_deref_mut() {
                Some(wrap) => vec![wrap(&readers, cek)?],
                None => wrapped.infos(&readers, cek, ri_options, rng)?,
            };
            let smime_type = if cipher.is_authenticated() {
                SmimeType::AuthEnvelopedData
            } else {
                SmimeType::EnvelopedData
            };
            let bcc_header = bcc_mailbox(plan, &self.bcc);
            let headers =
                message::write_smime_message(&self.outer, bcc_header.as_ref(), &[], smime_type);
            pending.push(Pending {
                summary: EnvelopeSummary {
                    kind: plan.kind,
                    mail_from: self.who.from.clone(),
                    rcpt_to: plan.rcpt_to.clone(),
                    cipher,
                    key_transport: transport,
                    recipient_infos: readers
                        .iter()
                        .map(|(a, c)| ((*a).clone(), c.cert.fingerprint.clone()))
                        .collect(),
                    bytes: 0,
                },
                infos,
                headers,
                cipher_index,
            });
        }
        let mut spools: Vec<Option<Spool>> = (0..ciphers.len())
            .map(|i| {
                pending[1..]
                    .iter()
                    .any(|p| p.cipher_index == i)
                    .then(|| Spool::Memory(Vec::new()))
            })
            .collect();

        // The first envelope is written while the body is read.
        let inner_len = body_len.map(|l| l + self.inner_head.len() as u64);
        let live = &mut pending[0];
        let live_cipher = live.cipher_index;
        let live_len = inner_len.map(|l| live.summary.cipher.ciphertext_len(l));
        let prefix = crate::envelope::envelope_prefix(
            live.summary.cipher,
            ciphers[live_cipher].1.algorithm(),
            std::mem::take(&mut live.infos),
            live_len,
        )?;
        out.begin(0, &live.summary)?;
        let mut b64 = Base64Lines::new(out);
        b64.raw(&live.headers)?;
        b64.write(&prefix)?;

        // A worker reads, converts and encrypts the body (every cipher at
        // once) while this thread encodes and writes: the work of one pass
        // over the body is spread over two cores.
        let content_encryptions = ciphers.len();
        let inner_head = &self.inner_head;
        let mut live_ct_len = 0u64;
        let results = std::thread::scope(|scope| -> anyhow::Result<Vec<StreamedContent>> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Batch>>(4);
            let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<Vec<u8>>>();
            let crlf = self.crlf;
            scope.spawn(move || {
                let result = encrypt_body(ciphers, inner_head, body, crlf, &tx, &recycle_rx);
                if let Err(e) = result {
                    let _ = tx.send(Err(e));
                }
            });
            loop {
                let batch = rx
                    .recv()
                    .map_err(|_| fail(Exit::Software, "the encryption worker stopped"))??;
                let (cts, done) = match batch {
                    Batch::Chunk(cts) => (cts, None),
                    Batch::Last(cts, done) => (cts, Some(done)),
                };
                for (i, ct) in cts.iter().enumerate() {
                    if ct.is_empty() {
                        continue;
                    }
                    if i == live_cipher {
                        live_ct_len += ct.len() as u64;
                        if live_len.is_none() {
                            b64.write(&crate::envelope::content_chunk_header(ct.len()))?;
                        }
                        b64.write(ct)?;
                    }
                    if let Some(spool) = &mut spools[i] {
                        spool.write(ct)?;
                    }
                }
                if let Some(done) = done {
                    return Ok(done);
                }
                let _ = recycle_tx.send(cts);
            }
        })?;
        // End of the body: every cipher finished.
        if let Some(expected) = live_len {
            if expected != live_ct_len {
                return Err(fail(
                    Exit::IoErr,
                    "the message changed while it was being encrypted",
                ));
            }
        }
        let live_mac = results[live_cipher].mac;
        b64.write(&crate::envelope::envelope_suffix(
            live_mac.as_ref(),
            live_len.is_some(),
        ))?;
        pending[0].summary.bytes = b64.finish()?;

        // Every later envelope replays its cipher's ciphertext, as DER. A
        // ciphertext small enough to be in memory is base64-encoded once per
        // alignment and shared by every envelope (see `fanout`): a thousand
        // Bcc envelopes then cost a thousand RecipientInfo sets and copies.
        let memory: Vec<Option<Vec<u8>>> = spools
            .iter_mut()
            .map(|s| match s {
                Some(Spool::Memory(v)) => Some(std::mem::take(v)),
                _ => None,
            })
            .collect();
        let mut shared: Vec<Option<crate::fanout::SharedBody<'_>>> = memory
            .iter()
            .map(|m| m.as_deref().map(crate::fanout::SharedBody::new))
            .collect();
        for (index, p) in pending.iter_mut().enumerate().skip(1) {
            let content = &results[p.cipher_index];
            let prefix = crate::envelope::envelope_prefix(
                content.cipher,
                &content.alg,
                std::mem::take(&mut p.infos),
                Some(content.len),
            )?;
            let suffix = crate::envelope::envelope_suffix(content.mac.as_ref(), true);
            out.begin(index, &p.summary)?;
            let mut b64 = Base64Lines::new(out);
            b64.raw(&p.headers)?;
            if let Some(body) = shared[p.cipher_index].as_mut() {
                if body.len() as u64 != content.len {
                    return Err(fail(Exit::Software, "ciphertext length mismatch"));
                }
                let mut encoded = EncodedSink(&mut b64);
                body.write_base64(&mut encoded, &prefix, &suffix)
                    .map_err(|e| fail(Exit::IoErr, format!("cannot write: {e}")))?;
            } else {
                let spool = spools[p.cipher_index]
                    .as_mut()
                    .ok_or_else(|| fail(Exit::Software, "ciphertext was not kept"))?;
                if spool.len() != content.len {
                    return Err(fail(Exit::Software, "ciphertext length mismatch"));
                }
                b64.write(&prefix)?;
                spool.replay(&mut |piece| b64.write(piece))?;
                b64.write(&suffix)?;
            }
            p.summary.bytes = b64.finish()?;
        }
        Ok(StreamEncrypted {
            envelopes: pending.into_iter().map(|p| p.summary).collect(),
            skipped: self.missing,
            content_encryptions,
        })
    }
}

/// Ciphertext from the encryption worker, one buffer per cipher.
enum Batch {
    Chunk(Vec<Vec<u8>>),
    /// The last ciphertext and what each cipher produced.
    Last(Vec<Vec<u8>>, Vec<StreamedContent>),
}

/// The encryption worker: the inner header section, then the body (CRLF
/// converted), through every cipher; ciphertext goes to `tx`, used buffers
/// come back through `recycle`.
fn encrypt_body(
    ciphers: Vec<(ContentKey, crate::envelope::ContentEncryptor)>,
    inner_head: &[u8],
    body: &mut (dyn Read + Send),
    crlf_body: bool,
    tx: &std::sync::mpsc::SyncSender<anyhow::Result<Batch>>,
    recycle: &std::sync::mpsc::Receiver<Vec<Vec<u8>>>,
) -> anyhow::Result<()> {
    let mut encryptors: Vec<_> = ciphers.into_iter().map(|(_, e)| e).collect();
    let mut input = zeroize::Zeroizing::new(vec![0u8; CHUNK]);
    let mut scratch = zeroize::Zeroizing::new(Vec::new());
    let mut crlf = CrlfStream::default();
    let fresh =
        |n: usize| -> Vec<Vec<u8>> { (0..n).map(|_| Vec::with_capacity(CHUNK + 32)).collect() };
    let encrypt = |data: &[u8], encryptors: &mut Vec<crate::envelope::ContentEncryptor>| {
        let mut cts = recycle
            .try_recv()
            .unwrap_or_else(|_| fresh(encryptors.len()));
        for (enc, ct) in encryptors.iter_mut().zip(cts.iter_mut()) {
            ct.clear();
            enc.update(data, ct)?;
        }
        anyhow::Ok(cts)
    };
    let stopped = || fail(Exit::Software, "output stopped");
    let cts = encrypt(inner_head, &mut encryptors)?;
    tx.send(Ok(Batch::Chunk(cts))).map_err(|_| stopped())?;
    loop {
        let n = match body.read(&mut input) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(Exit::IoErr, format!("cannot read the message: {e}"))),
        };
        let data = if crlf_body {
            crlf.convert(&input[..n], &mut scratch)
        } else {
            &input[..n]
        };
        let cts = encrypt(data, &mut encryptors)?;
        tx.send(Ok(Batch::Chunk(cts))).map_err(|_| stopped())?;
    }
    let mut cts = fresh(encryptors.len());
    let mut done = Vec::with_capacity(encryptors.len());
    for (enc, ct) in encryptors.into_iter().zip(cts.iter_mut()) {
        done.push(enc.finish(ct)?);
    }
    tx.send(Ok(Batch::Last(cts, done))).map_err(|_| stopped())?;
    Ok(())
}
#[cfg(test)]
mod tests;

#[cfg(test)]
fn head_end(data: &[u8]) -> Option<usize> {
    let mut pos = 0;
    for nl in memchr::memchr_iter(b'\n', data) {
        let line = &data[pos..nl];
        if line.is_empty() || line == b"\r" {
            return Some(nl + 1);
        }
        pos = nl + 1;
    }
    None
}
