//! Encrypting a message into Bcc-private S/MIME envelopes.
//!
//! The message is taken apart once (outer headers, inner MIME entity without
//! any Bcc), optionally signed once, and encrypted once per content cipher
//! in use. [`crate::smime::bcc::plan`] decides who reads which envelope; each
//! envelope then gets only its readers' RecipientInfos around the shared
//! ciphertext, its own outer headers, and its own SMTP envelope.
//!
//! Algorithms are chosen per envelope: AES-256-GCM (AuthEnvelopedData) with
//! RSA-OAEP/SHA-256 when every reader of that envelope is known to read them,
//! AES-256-CBC (EnvelopedData) with RSA PKCS#1 v1.5 otherwise, unless the
//! caller forces a choice. Certificates are looked up through a closure so
//! that this module needs no keystore and tests can supply their own.
//!
//! There is one pipeline, and it streams: this file plans (recipients,
//! certificates, envelopes: [`plan_stream`], [`plan_members`]); `sign`
//! digests the inner entity in a first pass for `--sign`; `pipeline` reads,
//! converts ([`crlf`]), encrypts and writes every envelope ([`lines`],
//! `spool`). [`encrypt`] is that pipeline fed from memory.

use std::collections::HashMap;

use rand_core::CryptoRngCore;

use crate::error::{fail, fail_hint, single_line, Exit};
use crate::smime::bcc::{self, Addressees, BccMode, EnvelopeKind, EnvelopePlan, PlanOptions};
use crate::smime::bsmtp::Transaction;
use crate::smime::certs::{CertInfo, Support};
use crate::smime::envelope::{
    recipient_info, ContentCipher, ContentKey, KeyTransport, RecipientIdKind, RecipientOptions,
};
use crate::smime::message::{self, Mailbox};
use crate::smime::signed::DigestAlgorithm;

pub mod crlf;
pub mod lines;
mod output;
mod pipeline;
mod sign;
mod spool;
#[cfg(test)]
mod tests;

pub use crlf::{crlf_body_len, CrlfStream};
pub use output::{EnvelopeOutput, EnvelopeSummary, StreamEncrypted};
pub use spool::SealedSpool;

/// Body bytes read at a time.
const CHUNK: usize = 256 << 10;

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

/// Signs the inner MIME entity. The pipeline digests the entity with
/// `digest` (the algorithm the signing key needs: SHA-256 for RSA and
/// P-256, SHA-384 for P-384, SHA-512 for Ed25519) and calls `sign` with the
/// digest, which returns a DER `ContentInfo` with `SignedData` *without* the
/// content ([`crate::smime::signed::sign_digest`] without content); the
/// pipeline then carries the content encapsulated.
pub struct InnerSigner<'a> {
    pub digest: DigestAlgorithm,
    #[allow(clippy::type_complexity)]
    pub sign: Box<dyn FnMut(&[u8]) -> anyhow::Result<Vec<u8>> + 'a>,
}

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

/// Encrypts `raw` (an RFC 5322 message) into envelopes, in memory: the
/// streaming pipeline ([`plan_stream`], [`StreamPlan::encrypt`]) fed from
/// `raw` and writing into memory. With `deposit`, each envelope's one
/// recipient entry comes from it instead of a key transport entry per
/// reader.
pub fn encrypt(
    raw: &[u8],
    options: &Options,
    lookup: &mut CertLookup<'_>,
    signer: Option<&mut InnerSigner<'_>>,
    deposit: Option<&mut DepositWrap<'_>>,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Encrypted> {
    let (head, body) = raw.split_at(head_end(raw).unwrap_or(raw.len()));
    let mut plan = plan_stream(head, options, lookup)?;
    let body_len = match signer {
        Some(signer) => plan.sign(&mut std::io::Cursor::new(body), signer)?,
        None => crlf_body_len(&mut &body[..]).map_err(|e| fail(Exit::IoErr, e.to_string()))?,
    };
    let mut out = output::InMemory::default();
    let result = plan.encrypt(&mut &body[..], Some(body_len), &mut out, deposit, rng)?;
    let envelopes = result
        .envelopes
        .into_iter()
        .zip(out.0)
        .map(|(summary, message)| Envelope {
            kind: summary.kind,
            mail_from: summary.mail_from,
            rcpt_to: summary.rcpt_to,
            message,
            cipher: summary.cipher,
            key_transport: summary.key_transport,
            recipient_infos: summary.recipient_infos,
        })
        .collect();
    Ok(Encrypted {
        envelopes,
        skipped: result.skipped,
        content_encryptions: result.content_encryptions,
        signed: result.signed,
    })
}

/// End of the header section of `message` (after its blank line), if it
/// has one.
pub fn head_end(message: &[u8]) -> Option<usize> {
    let mut pos = 0;
    for nl in memchr::memchr_iter(b'\n', message) {
        let line = &message[pos..nl];
        if line.is_empty() || line == b"\r" {
            return Some(nl + 1);
        }
        pos = nl + 1;
    }
    None
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
    // A refused certificate (expired, revoked, untrusted: exit 79 or 81)
    // leaves its recipient out like a missing one, but the exit says why.
    let mut refusal: Option<(Exit, String)> = None;
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
                Err(e) => {
                    let (exit, hint) = crate::error::classify(&e);
                    match exit {
                        Exit::NoUser => {}
                        Exit::Untrusted | Exit::RevocationUnknown => {
                            if refusal.as_ref().is_none_or(|(x, _)| *x != Exit::Untrusted) {
                                refusal = Some((exit, hint.unwrap_or_default().to_string()));
                            }
                        }
                        _ => return Err(e),
                    }
                    missing.push((addr.clone(), single_line(&e)))
                }
            }
        }
    }
    if !missing.is_empty() && !options.skip_unknown {
        let reasons: Vec<&str> = missing.iter().map(|(_, r)| r.as_str()).collect();
        let sender_missing = missing.iter().any(|(a, _)| *a == who.from);
        let (exit, hint) = match refusal {
            Some((exit, hint)) => (exit, hint),
            None if sender_missing && options.sender_copy => (Exit::NoUser, "import or generate a key for the sender, or use --no-self; --skip-unknown drops recipients without a certificate".to_string()),
            None => (Exit::NoUser, "import their certificates with `sealpost cert import`, or use --skip-unknown to leave them out".to_string()),
        };
        return Err(fail_hint(
            exit,
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
    // NOTE: ChaCha20-Poly1305 is never chosen here, only by --cipher, even
    // when every reader advertises it (sealpost's own certificates do): RFC
    // 8551 makes AES-256-GCM the one every receiving agent MUST read and
    // ChaCha20-Poly1305 a SHOULD+ that few other programs read (not OpenSSL
    // 3.0's CMS, not gpgsm 2.2), and with AES instructions the two cost the
    // same CPU time (`cargo bench --bench large`: 100 MiB, ~0.23 s each), so
    // choosing it gains nothing and strands a reader who later opens the
    // mail with another program.
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
                    let ri = recipient_info(&reader.cert.cert, cek, options, rng).map_err(|e| {
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
    /// With `--sign`: the SignedData around the inner entity ([`StreamPlan::sign`]).
    signed: Option<sign::Signed>,
}

/// Plans the encryption of a message whose header section (up to and
/// including the blank line that ends it) is `head`; the body follows in
/// [`StreamPlan::encrypt`].
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
        signed: None,
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
        signed: None,
    })
}
