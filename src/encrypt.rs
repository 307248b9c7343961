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

use base64::Engine;
use rand_core::CryptoRngCore;

use crate::bcc::{self, Addressees, BccMode, EnvelopeKind, EnvelopePlan, PlanOptions};
use crate::bsmtp::Transaction;
use crate::certs::{CertInfo, Support};
use crate::envelope::{
    assemble, key_trans_recipient, ContentCipher, ContentKey, EncryptedContent, KeyTransport,
    RecipientIdKind, RecipientOptions,
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

/// Encrypts `raw` (an RFC 5322 message) into envelopes.
pub fn encrypt(
    raw: &[u8],
    options: &Options,
    lookup: &mut CertLookup<'_>,
    signer: Option<&mut InnerSigner<'_>>,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Encrypted> {
    let info = message::parse_message(raw)?;
    let split = message::split_for_encryption(raw)?;
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

    // Every certificate is found before anything is encrypted: one unknown
    // recipient fails the whole message (or, with skip_unknown, is dropped).
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

    let signed = signer.is_some();
    let inner = match signer {
        Some(sign) => signed_entity(&sign(&split.inner)?),
        None => split.inner.clone(),
    };

    let mut contents: HashMap<ContentCipher, (ContentKey, EncryptedContent)> = HashMap::new();
    let mut envelopes = Vec::with_capacity(plans.len());
    for plan in &plans {
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
        let mut infos = Vec::with_capacity(readers.len());
        for (addr, reader) in &readers {
            let ri = key_trans_recipient(&reader.cert.cert, cek, ri_options, rng).map_err(|e| {
                fail(
                    Exit::DataErr,
                    format!("cannot encrypt to {addr}: {}", single_line(&e)),
                )
            })?;
            infos.push(ri);
        }
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
