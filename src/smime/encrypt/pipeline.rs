//! The one encrypt pipeline: a worker thread reads the body, converts its
//! line endings, makes the signed entity of `--sign` and encrypts (every
//! cipher at once), while the calling thread writes the first envelope as
//! the ciphertext comes and then every later one from the spooled
//! ciphertext. A message in memory is the same pipeline reading a slice.

use std::io::Read;

use rand_core::CryptoRngCore;

use super::crlf::CrlfStream;
use super::lines::{Base64Lines, EncodedSink};
use super::output::{EnvelopeOutput, EnvelopeSummary, StreamEncrypted};
use super::sign::{Signed, SignedEntity};
use super::spool::Spool;
use super::{bcc_mailbox, choose, DepositWrap, RecipientInfoCache, StreamPlan, CHUNK};
use crate::error::{fail, Exit};
use crate::smime::envelope::{ContentEncryptor, ContentKey, RecipientOptions, StreamedContent};
use crate::smime::message::{self, SmimeType};

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
    /// [`crlf_body_len`](super::crlf_body_len)) if known: the first envelope
    /// is then definite-length DER, otherwise indefinite-length BER streamed
    /// as the body is read. After [`StreamPlan::sign`], the envelopes carry
    /// the signed entity instead of the entity itself, and the length is
    /// known. The body is read and encrypted once per distinct cipher in a
    /// single pass; envelopes after the first replay the ciphertext (kept in
    /// memory when small, else in an unlinked temporary file) with their own
    /// RecipientInfos, as DER. No plaintext is ever written anywhere but to
    /// the cipher.
    pub fn encrypt(
        self,
        body: &mut (dyn Read + Send),
        body_len: Option<u64>,
        out: &mut dyn EnvelopeOutput,
        mut deposit: Option<&mut DepositWrap<'_>>,
        rng: &mut impl CryptoRngCore,
    ) -> anyhow::Result<StreamEncrypted> {
        // Keys, RecipientInfos and header sections first: all small.
        let mut ciphers: Vec<(ContentKey, ContentEncryptor)> = Vec::new();
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
            let headers = message::smime_headers(&self.outer, bcc_header.as_ref(), smime_type);
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
        let inner_len = match &self.signed {
            Some(signed) => Some(signed.entity_len()),
            None => body_len.map(|l| l + self.inner_head.len() as u64),
        };
        let live = &mut pending[0];
        let live_cipher = live.cipher_index;
        let live_len = inner_len.map(|l| live.summary.cipher.ciphertext_len(l));
        let prefix = crate::smime::envelope::envelope_prefix(
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
        let signed = self.signed.as_ref();
        let mut live_ct_len = 0u64;
        let results = std::thread::scope(|scope| -> anyhow::Result<Vec<StreamedContent>> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Batch>>(4);
            let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<Vec<u8>>>();
            let crlf = self.crlf;
            scope.spawn(move || {
                let worker = Worker {
                    encryptors: ciphers.into_iter().map(|(_, e)| e).collect(),
                    tx: &tx,
                    recycle: &recycle_rx,
                };
                let result = worker.run(inner_head, signed, body, crlf);
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
                            b64.write(&crate::smime::envelope::content_chunk_header(ct.len()))?;
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
        b64.write(&crate::smime::envelope::envelope_suffix(
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
        let mut shared: Vec<Option<crate::smime::fanout::SharedBody<'_>>> = memory
            .iter()
            .map(|m| m.as_deref().map(crate::smime::fanout::SharedBody::new))
            .collect();
        for (index, p) in pending.iter_mut().enumerate().skip(1) {
            let content = &results[p.cipher_index];
            let prefix = crate::smime::envelope::envelope_prefix(
                content.cipher,
                &content.alg,
                std::mem::take(&mut p.infos),
                Some(content.len),
            )?;
            let suffix = crate::smime::envelope::envelope_suffix(content.mac.as_ref(), true);
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
            signed: self.signed.is_some(),
        })
    }
}

/// Ciphertext from the encryption worker, one buffer per cipher.
enum Batch {
    Chunk(Vec<Vec<u8>>),
    /// The last ciphertext and what each cipher produced.
    Last(Vec<Vec<u8>>, Vec<StreamedContent>),
}

/// The encryption worker: the inner entity (its header section, then the
/// body, CRLF converted), or the signed entity around it, through every
/// cipher; ciphertext goes to `tx`, used buffers come back through `recycle`.
struct Worker<'a> {
    encryptors: Vec<ContentEncryptor>,
    tx: &'a std::sync::mpsc::SyncSender<anyhow::Result<Batch>>,
    recycle: &'a std::sync::mpsc::Receiver<Vec<Vec<u8>>>,
}

fn stopped() -> anyhow::Error {
    fail(Exit::Software, "output stopped")
}

fn fresh_buffers(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|_| Vec::with_capacity(CHUNK + 32)).collect()
}

impl Worker<'_> {
    fn run(
        mut self,
        inner_head: &[u8],
        signed: Option<&Signed>,
        body: &mut (dyn Read + Send),
        crlf_body: bool,
    ) -> anyhow::Result<()> {
        let mut input = zeroize::Zeroizing::new(vec![0u8; CHUNK]);
        let mut scratch = zeroize::Zeroizing::new(Vec::new());
        let mut crlf = CrlfStream::default();
        let mut entity = signed.map(SignedEntity::new);
        let mut inner = |data: &[u8], worker: &mut Self| match &mut entity {
            Some(entity) => worker.encrypt(entity.update(data)),
            None => worker.encrypt(data),
        };
        inner(inner_head, &mut self)?;
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
            inner(data, &mut self)?;
        }
        if let Some(entity) = &mut entity {
            self.encrypt(entity.finish()?)?;
        }
        let mut cts = fresh_buffers(self.encryptors.len());
        let mut done = Vec::with_capacity(self.encryptors.len());
        for (enc, ct) in self.encryptors.into_iter().zip(cts.iter_mut()) {
            done.push(enc.finish(ct)?);
        }
        self.tx
            .send(Ok(Batch::Last(cts, done)))
            .map_err(|_| stopped())
    }

    /// Encrypts the next plaintext with every cipher and sends the ciphertext.
    fn encrypt(&mut self, data: &[u8]) -> anyhow::Result<()> {
        let mut cts = self
            .recycle
            .try_recv()
            .unwrap_or_else(|_| fresh_buffers(self.encryptors.len()));
        for (enc, ct) in self.encryptors.iter_mut().zip(cts.iter_mut()) {
            ct.clear();
            enc.update(data, ct)?;
        }
        self.tx.send(Ok(Batch::Chunk(cts))).map_err(|_| stopped())
    }
}
