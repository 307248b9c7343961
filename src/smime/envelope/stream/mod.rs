//! Streaming content encryption and decryption, and streaming CMS framing,
//! for messages too large to hold in memory.
//!
//! # Ciphers
//!
//! [`ContentEncryptor`] encrypts content in chunks of any size and produces
//! exactly the ciphertext (and GCM tag) that [`ContentKey::encrypt`] produces
//! for the same key and IV/nonce. AES-GCM is built from its parts (NIST SP
//! 800-38D): the `aes` block cipher (AES-NI when the CPU has it) in CTR32
//! mode starting at inc32(J0), and GHASH over the ciphertext. CBC chains its
//! IV from chunk to chunk.
//!
//! Opening is split in two so that nothing is released before it is
//! authenticated: [`ContentVerifier`] runs over the ciphertext once and
//! checks the GCM tag (in constant time) or the CBC padding without writing
//! any plaintext; only then does [`ContentDecryptor`] run over the same
//! ciphertext a second time and hand out plaintext.
//!
//! # Framing
//!
//! [`envelope_prefix`] and [`envelope_suffix`] write a `ContentInfo`
//! around ciphertext that is streamed between them: definite-length DER,
//! byte-identical to [`assemble`](super::assemble), when the ciphertext
//! length is known in advance, or indefinite-length BER with the ciphertext
//! in OCTET STRING chunks ([`content_chunk_header`]) when it is not (as
//! `openssl cms -stream` writes).
//!
//! [`walk`] reads a `ContentInfo` (DER or BER) from a byte stream: the small
//! parts (recipient infos, algorithm parameters, tag) are collected in memory
//! and decoded with [`Envelope::parse`]; the encrypted content is handed to a
//! [`ContentSink`] chunk by chunk and never held in full.

use std::io::Read;

use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit as _};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use anyhow::Result;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{RecipientInfo, RecipientInfos};
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Tag};
use ghash::universal_hash::UniversalHash as _;
use ghash::GHash;
use rand_core::CryptoRngCore;
use spki::AlgorithmIdentifierOwned;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::build::enveloped_version;
use super::content::{
    gcm_parameters, pkcs7_unpadded_len, ContentCipher, ContentKey, DECRYPTION_FAILED,
};
use super::oids;
use super::open::Envelope;
use super::types::GcmParameters;
use crate::error::{fail, Exit};

/// GCM nonce length sealpost writes and accepts.
const GCM_NONCE_LEN: usize = 12;
/// GCM tag length sealpost writes.
pub const GCM_TAG_LEN: usize = 16;

fn failed() -> anyhow::Error {
    fail(Exit::DataErr, DECRYPTION_FAILED)
}

fn malformed(what: &str) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed {what}"))
}

// ---------------------------------------------------------------------------
// AES-GCM from its parts
// ---------------------------------------------------------------------------

enum Ctr {
    A128(ctr::Ctr32BE<Aes128>),
    A192(ctr::Ctr32BE<Aes192>),
    A256(ctr::Ctr32BE<Aes256>),
}

impl Ctr {
    fn apply(&mut self, buf: &mut [u8]) {
        match self {
            Ctr::A128(c) => c.apply_keystream(buf),
            Ctr::A192(c) => c.apply_keystream(buf),
            Ctr::A256(c) => c.apply_keystream(buf),
        }
    }
}

/// AES-GCM over a stream (96-bit nonce): CTR32 keystream from inc32(J0) and
/// GHASH over AAD, ciphertext and lengths.
struct Gcm {
    ctr: Ctr,
    ghash: GHash,
    /// E(K, J0), XORed into the GHASH result.
    mask: Zeroizing<[u8; 16]>,
    /// Ciphertext bytes not yet hashed (less than one block).
    pending: Zeroizing<[u8; 16]>,
    pending_len: usize,
    aad_bits: u64,
    ct_len: u64,
}

impl Gcm {
    fn new(cipher: ContentCipher, key: &[u8], nonce: &[u8], aad: &[u8]) -> Result<Gcm> {
        let bad = || fail(Exit::Software, "gcm key or nonce has the wrong length");
        if nonce.len() != GCM_NONCE_LEN {
            return Err(bad());
        }
        let mut j0 = [0u8; 16];
        j0[..12].copy_from_slice(nonce);
        j0[15] = 1;
        let mut h = Zeroizing::new([0u8; 16]);
        macro_rules! init {
            ($aes:ty, $variant:ident) => {{
                let aes = <$aes>::new_from_slice(key).map_err(|_| bad())?;
                let mut block = (*h).into();
                aes.encrypt_block(&mut block);
                h.copy_from_slice(&block);
                block.zeroize();
                Ctr::$variant(ctr::Ctr32BE::<$aes>::new_from_slices(key, &j0).map_err(|_| bad())?)
            }};
        }
        let mut ctr = match cipher {
            ContentCipher::Aes128Gcm => init!(Aes128, A128),
            ContentCipher::Aes192Gcm => init!(Aes192, A192),
            ContentCipher::Aes256Gcm => init!(Aes256, A256),
            _ => return Err(bad()),
        };
        // The first keystream block, E(K, J0), masks the tag; the data
        // starts at inc32(J0).
        let mut mask = Zeroizing::new([0u8; 16]);
        ctr.apply(&mut *mask);
        let mut ghash = GHash::new(&(*h).into());
        ghash.update_padded(aad);
        Ok(Gcm {
            ctr,
            ghash,
            mask,
            pending: Zeroizing::new([0u8; 16]),
            pending_len: 0,
            aad_bits: (aad.len() as u64) * 8,
            ct_len: 0,
        })
    }

    /// Feeds ciphertext to GHASH; any chunking gives the same result.
    fn absorb(&mut self, mut ct: &[u8]) {
        self.ct_len += ct.len() as u64;
        if self.pending_len > 0 {
            let take = (16 - self.pending_len).min(ct.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&ct[..take]);
            self.pending_len += take;
            ct = &ct[take..];
            if self.pending_len < 16 {
                return;
            }
            self.ghash.update_padded(&self.pending[..]);
            self.pending_len = 0;
        }
        let full = ct.len() / 16 * 16;
        self.ghash.update_padded(&ct[..full]);
        let rest = &ct[full..];
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    fn encrypt(&mut self, buf: &mut [u8]) {
        self.ctr.apply(buf);
        self.absorb(buf);
    }

    fn decrypt(&mut self, buf: &mut [u8]) {
        self.absorb(buf);
        self.ctr.apply(buf);
    }

    fn tag(mut self) -> [u8; 16] {
        if self.pending_len > 0 {
            self.ghash.update_padded(&self.pending[..self.pending_len]);
        }
        let mut lengths = [0u8; 16];
        lengths[..8].copy_from_slice(&self.aad_bits.to_be_bytes());
        lengths[8..].copy_from_slice(&(self.ct_len * 8).to_be_bytes());
        self.ghash.update_padded(&lengths);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&self.ghash.finalize());
        for (t, m) in tag.iter_mut().zip(self.mask.iter()) {
            *t ^= m;
        }
        tag
    }
}

// ---------------------------------------------------------------------------
// CBC, chunk by chunk
// ---------------------------------------------------------------------------

/// Encrypts or decrypts whole blocks of `buf` in place in CBC mode with `iv`.
fn cbc_blocks(
    cipher: ContentCipher,
    key: &[u8],
    iv: &[u8],
    buf: &mut [u8],
    encrypt: bool,
) -> Result<()> {
    use ::cbc::cipher::block_padding::NoPadding;
    use ::cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
    if buf.is_empty() {
        return Ok(());
    }
    let len = buf.len();
    macro_rules! run {
        ($c:ty) => {
            if encrypt {
                ::cbc::Encryptor::<$c>::new_from_slices(key, iv)
                    .map_err(|_| failed())?
                    .encrypt_padded_mut::<NoPadding>(buf, len)
                    .map(|_| ())
                    .map_err(|_| failed())
            } else {
                ::cbc::Decryptor::<$c>::new_from_slices(key, iv)
                    .map_err(|_| failed())?
                    .decrypt_padded_mut::<NoPadding>(buf)
                    .map(|_| ())
                    .map_err(|_| failed())
            }
        };
    }
    match cipher {
        ContentCipher::Aes128Cbc => run!(aes::Aes128),
        ContentCipher::Aes192Cbc => run!(aes::Aes192),
        ContentCipher::Aes256Cbc => run!(aes::Aes256),
        ContentCipher::DesEde3Cbc if !encrypt => run!(des::TdesEde3),
        _ => Err(failed()),
    }
}

// ---------------------------------------------------------------------------
// Encryption
// ---------------------------------------------------------------------------

enum EncState {
    Gcm(Box<Gcm>),
    Cbc {
        /// Last ciphertext block (the next chunk's IV).
        iv: Vec<u8>,
        /// Plaintext not yet encrypted (less than one block).
        pending: Zeroizing<Vec<u8>>,
    },
}

/// Encrypts content chunk by chunk. Made by [`ContentKey::encryptor`].
pub struct ContentEncryptor {
    cipher: ContentCipher,
    key: Zeroizing<Vec<u8>>,
    alg: AlgorithmIdentifierOwned,
    state: EncState,
    plain_len: u64,
}

/// The result of a streamed encryption: what an envelope needs besides the
/// ciphertext itself.
#[derive(Clone, Debug)]
pub struct StreamedContent {
    /// The content cipher.
    pub cipher: ContentCipher,
    /// `contentEncryptionAlgorithm`: the cipher and its IV or nonce.
    pub alg: AlgorithmIdentifierOwned,
    /// The GCM tag.
    pub mac: Option<[u8; GCM_TAG_LEN]>,
    /// Length of the ciphertext.
    pub len: u64,
}

impl ContentCipher {
    /// Ciphertext length for `plain_len` bytes of content: the same for GCM,
    /// padded to the next whole block (always adding one) for CBC.
    pub fn ciphertext_len(self, plain_len: u64) -> u64 {
        if self.is_authenticated() {
            plain_len
        } else {
            let block = if self == ContentCipher::DesEde3Cbc {
                8
            } else {
                16
            };
            (plain_len / block + 1) * block
        }
    }
}

impl ContentKey {
    /// A streaming encryptor under this key with a fresh random IV or nonce.
    pub fn encryptor(&self, rng: &mut impl CryptoRngCore) -> Result<ContentEncryptor> {
        let cipher = self.cipher();
        match cipher {
            ContentCipher::Aes128Cbc | ContentCipher::Aes192Cbc | ContentCipher::Aes256Cbc => {
                let mut iv = [0u8; 16];
                rng.fill_bytes(&mut iv);
                self.encryptor_with(&iv)
            }
            ContentCipher::Aes128Gcm | ContentCipher::Aes256Gcm => {
                let mut nonce = [0u8; GCM_NONCE_LEN];
                rng.fill_bytes(&mut nonce);
                self.encryptor_with(&nonce)
            }
            _ => Err(fail(
                Exit::DataErr,
                format!("{cipher} is supported for decryption only"),
            )),
        }
    }

    /// A streaming encryptor with the given IV (CBC) or nonce (GCM); for
    /// tests that compare with the one-shot encryption.
    pub(crate) fn encryptor_with(&self, iv: &[u8]) -> Result<ContentEncryptor> {
        let cipher = self.cipher();
        let (params, state) = if cipher.is_authenticated() {
            let gcm = Gcm::new(cipher, self.bytes(), iv, &[])?;
            let params = Any::encode_from(&GcmParameters {
                nonce: OctetString::new(iv.to_vec())?,
                icv_len: Some(GCM_TAG_LEN as u8),
            })?;
            (params, EncState::Gcm(Box::new(gcm)))
        } else {
            let params = Any::new(Tag::OctetString, iv.to_vec())?;
            (
                params,
                EncState::Cbc {
                    iv: iv.to_vec(),
                    pending: Zeroizing::new(Vec::with_capacity(16)),
                },
            )
        };
        Ok(ContentEncryptor {
            cipher,
            key: Zeroizing::new(self.bytes().to_vec()),
            alg: AlgorithmIdentifierOwned {
                oid: cipher.oid(),
                parameters: Some(params),
            },
            state,
            plain_len: 0,
        })
    }
}

impl ContentEncryptor {
    /// The content cipher.
    pub fn cipher(&self) -> ContentCipher {
        self.cipher
    }

    /// `contentEncryptionAlgorithm` with its IV or nonce.
    pub fn algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.alg
    }

    /// Encrypts `data`, appending the ciphertext to `out` (for CBC, whole
    /// blocks only; the rest waits for more data or [`finish`](Self::finish)).
    pub fn update(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.plain_len += data.len() as u64;
        match &mut self.state {
            EncState::Gcm(gcm) => {
                let start = out.len();
                out.extend_from_slice(data);
                gcm.encrypt(&mut out[start..]);
            }
            EncState::Cbc { iv, pending } => {
                let start = out.len();
                let total = pending.len() + data.len();
                let whole = total / 16 * 16;
                if whole == 0 {
                    pending.extend_from_slice(data);
                    return Ok(());
                }
                let from_data = whole - pending.len();
                out.extend_from_slice(pending);
                out.extend_from_slice(&data[..from_data]);
                pending.clear();
                pending.extend_from_slice(&data[from_data..]);
                cbc_blocks(self.cipher, &self.key, iv, &mut out[start..], true)?;
                iv.copy_from_slice(&out[out.len() - 16..]);
            }
        }
        Ok(())
    }

    /// Finishes: CBC's final padded block goes to `out`; returns what an
    /// envelope needs (algorithm, tag, length).
    pub fn finish(self, out: &mut Vec<u8>) -> Result<StreamedContent> {
        let ContentEncryptor {
            cipher,
            key,
            alg,
            state,
            plain_len,
        } = self;
        let mac = match state {
            EncState::Gcm(gcm) => Some(gcm.tag()),
            EncState::Cbc { iv, mut pending } => {
                let start = out.len();
                let pad = 16 - pending.len();
                pending.resize(16, pad as u8);
                out.extend_from_slice(&pending);
                cbc_blocks(cipher, &key, &iv, &mut out[start..], true)?;
                None
            }
        };
        Ok(StreamedContent {
            cipher,
            alg,
            mac,
            len: cipher.ciphertext_len(plain_len),
        })
    }
}

// ---------------------------------------------------------------------------
// Verification and decryption
// ---------------------------------------------------------------------------

/// The checked content-encryption parameters of an envelope.
enum Params {
    Cbc {
        cipher: ContentCipher,
        iv: Vec<u8>,
        block: usize,
    },
    Gcm {
        cipher: ContentCipher,
        nonce: Vec<u8>,
        icv_len: usize,
    },
}

/// The same checks [`content::decrypt`](super::content) makes, on the
/// algorithm identifier alone.
fn params(key: &ContentKey, alg: &AlgorithmIdentifierOwned, authenticated: bool) -> Result<Params> {
    let cipher = ContentCipher::from_oid(&alg.oid).ok_or_else(|| {
        fail(
            Exit::DataErr,
            format!(
                "unsupported content encryption algorithm {}",
                oids::name(&alg.oid)
            ),
        )
    })?;
    if key.cipher() != cipher || key.bytes().len() != cipher.key_len() {
        return Err(fail(
            Exit::DataErr,
            format!("content key is not a {cipher} key"),
        ));
    }
    if !cipher.is_authenticated() {
        if authenticated {
            return Err(fail(
                Exit::DataErr,
                format!("authenticated envelope with unauthenticated cipher {cipher}"),
            ));
        }
        let block = if cipher == ContentCipher::DesEde3Cbc {
            8
        } else {
            16
        };
        let iv = alg
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<OctetString>().ok())
            .ok_or_else(|| malformed("cbc parameters"))?;
        if iv.as_bytes().len() != block {
            return Err(malformed("cbc parameters"));
        }
        return Ok(Params::Cbc {
            cipher,
            iv: iv.as_bytes().to_vec(),
            block,
        });
    }
    if !authenticated {
        return Err(fail(
            Exit::DataErr,
            format!("{cipher} content outside an authenticated envelope"),
        ));
    }
    let (nonce, icv_len) = gcm_parameters(alg)?;
    Ok(Params::Gcm {
        cipher,
        nonce,
        icv_len,
    })
}

/// Compares a computed GCM tag with the received one in constant time.
fn check_tag(computed: &[u8; 16], mac: Option<&[u8]>, icv_len: usize) -> Result<()> {
    let mac = mac.ok_or_else(|| malformed("authenticated envelope: no tag"))?;
    if mac.len() != icv_len {
        return Err(malformed(
            "authenticated envelope: tag length does not match its parameters",
        ));
    }
    if bool::from(computed[..icv_len].ct_eq(mac)) {
        Ok(())
    } else {
        Err(failed())
    }
}

enum VerifyState {
    Gcm {
        gcm: Box<Gcm>,
        icv_len: usize,
    },
    Cbc {
        cipher: ContentCipher,
        key: Zeroizing<Vec<u8>>,
        iv: Vec<u8>,
        block: usize,
        /// The last two blocks of ciphertext seen (or fewer).
        tail: Vec<u8>,
        len: u64,
    },
}

/// Pass one over the ciphertext: checks the GCM tag or the CBC padding
/// without producing any plaintext outside this struct.
pub struct ContentVerifier(VerifyState);

impl ContentVerifier {
    /// A verifier for content under `alg` with key `key`; `authenticated`
    /// for `AuthEnvelopedData`, `aad` the DER of its authenticated
    /// attributes (empty if none).
    pub fn new(
        key: &ContentKey,
        alg: &AlgorithmIdentifierOwned,
        authenticated: bool,
        aad: &[u8],
    ) -> Result<Self> {
        Ok(ContentVerifier(match params(key, alg, authenticated)? {
            Params::Gcm {
                cipher,
                nonce,
                icv_len,
            } => VerifyState::Gcm {
                gcm: Box::new(Gcm::new(cipher, key.bytes(), &nonce, aad)?),
                icv_len,
            },
            Params::Cbc { cipher, iv, block } => VerifyState::Cbc {
                cipher,
                key: Zeroizing::new(key.bytes().to_vec()),
                iv,
                block,
                tail: Vec::with_capacity(64),
                len: 0,
            },
        }))
    }

    /// Feeds ciphertext.
    pub fn update(&mut self, ct: &[u8]) {
        match &mut self.0 {
            VerifyState::Gcm { gcm, .. } => gcm.absorb(ct),
            VerifyState::Cbc {
                block, tail, len, ..
            } => {
                *len += ct.len() as u64;
                let keep = 2 * *block;
                if ct.len() >= keep {
                    tail.clear();
                    tail.extend_from_slice(&ct[ct.len() - keep..]);
                } else {
                    tail.extend_from_slice(ct);
                    if tail.len() > keep {
                        tail.drain(..tail.len() - keep);
                    }
                }
            }
        }
    }

    /// Checks the tag (`mac`, GCM) or the padding (CBC). `DataErr` with the
    /// uniform decryption failure message if it does not hold.
    pub fn finish(self, mac: Option<&[u8]>) -> Result<()> {
        match self.0 {
            VerifyState::Gcm { gcm, icv_len } => check_tag(&gcm.tag(), mac, icv_len),
            VerifyState::Cbc {
                cipher,
                key,
                iv,
                block,
                tail,
                len,
            } => {
                if mac.is_some() {
                    return Err(fail(
                        Exit::DataErr,
                        format!("authenticated envelope with unauthenticated cipher {cipher}"),
                    ));
                }
                if len == 0 || len % block as u64 != 0 {
                    return Err(malformed(
                        "encrypted content: length is not a multiple of the block size",
                    ));
                }
                let (prev, last) = if len == block as u64 {
                    (&iv[..], &tail[tail.len() - block..])
                } else {
                    (
                        &tail[tail.len() - 2 * block..tail.len() - block],
                        &tail[tail.len() - block..],
                    )
                };
                let mut buf = Zeroizing::new(last.to_vec());
                cbc_blocks(cipher, &key, prev, &mut buf, false)?;
                pkcs7_unpadded_len(&buf, block)
                    .map(|_| ())
                    .ok_or_else(failed)
            }
        }
    }
}

enum DecState {
    Gcm {
        gcm: Box<Gcm>,
        icv_len: usize,
    },
    Cbc {
        cipher: ContentCipher,
        key: Zeroizing<Vec<u8>>,
        iv: Vec<u8>,
        block: usize,
        /// Ciphertext held back: the last block may carry the padding.
        held: Vec<u8>,
    },
}

/// Pass two over the ciphertext: decrypts chunk by chunk. Run it only after a
/// [`ContentVerifier`] accepted the same ciphertext; it checks the tag or
/// padding again at the end, which only fails if the ciphertext changed
/// between the passes.
pub struct ContentDecryptor(DecState);

impl ContentDecryptor {
    /// A decryptor; arguments as for [`ContentVerifier::new`].
    pub fn new(
        key: &ContentKey,
        alg: &AlgorithmIdentifierOwned,
        authenticated: bool,
        aad: &[u8],
    ) -> Result<Self> {
        Ok(ContentDecryptor(match params(key, alg, authenticated)? {
            Params::Gcm {
                cipher,
                nonce,
                icv_len,
            } => DecState::Gcm {
                gcm: Box::new(Gcm::new(cipher, key.bytes(), &nonce, aad)?),
                icv_len,
            },
            Params::Cbc { cipher, iv, block } => DecState::Cbc {
                cipher,
                key: Zeroizing::new(key.bytes().to_vec()),
                iv,
                block,
                held: Vec::with_capacity(32),
            },
        }))
    }

    /// Decrypts `ct`, appending plaintext to `out` (CBC holds back the last block).
    pub fn update(&mut self, ct: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match &mut self.0 {
            DecState::Gcm { gcm, .. } => {
                let start = out.len();
                out.extend_from_slice(ct);
                gcm.decrypt(&mut out[start..]);
            }
            DecState::Cbc {
                cipher,
                key,
                iv,
                block,
                held,
            } => {
                let b = *block;
                // Whole blocks available, keeping the last one back.
                let total = held.len() + ct.len();
                let mut whole = total / b * b;
                if whole == total {
                    whole = whole.saturating_sub(b);
                }
                if whole == 0 {
                    held.extend_from_slice(ct);
                    return Ok(());
                }
                let start = out.len();
                let from_ct = whole - held.len();
                out.extend_from_slice(held);
                out.extend_from_slice(&ct[..from_ct]);
                held.clear();
                held.extend_from_slice(&ct[from_ct..]);
                let next_iv = out[out.len() - b..].to_vec();
                cbc_blocks(*cipher, key, iv, &mut out[start..], false)?;
                *iv = next_iv;
            }
        }
        Ok(())
    }

    /// The end: CBC's last block without its padding goes to `out`; the tag
    /// or padding is checked again.
    pub fn finish(self, mac: Option<&[u8]>, out: &mut Vec<u8>) -> Result<()> {
        match self.0 {
            DecState::Gcm { gcm, icv_len } => check_tag(&gcm.tag(), mac, icv_len),
            DecState::Cbc {
                cipher,
                key,
                iv,
                block,
                held,
            } => {
                if held.len() != block {
                    return Err(malformed(
                        "encrypted content: length is not a multiple of the block size",
                    ));
                }
                let mut buf = Zeroizing::new(held);
                cbc_blocks(cipher, &key, &iv, &mut buf, false)?;
                let len = pkcs7_unpadded_len(&buf, block).ok_or_else(failed)?;
                out.extend_from_slice(&buf[..len]);
                Ok(())
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Writing envelopes around streamed ciphertext
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Reading envelopes from a stream
// ---------------------------------------------------------------------------

/// Where [`walk`] sends what it finds.
pub trait ContentSink {
    /// Called once before any content, with the envelope as far as it is
    /// known: recipients and algorithm, but neither tag nor authenticated
    /// attributes (they follow the content). This is where the content key
    /// is recovered.
    fn begin(&mut self, head: &Envelope) -> Result<()>;
    /// A piece of the encrypted content, in order.
    fn content(&mut self, chunk: &[u8]) -> Result<()>;
}

/// What [`walk`] found.
pub enum Walked {
    /// The complete envelope (without its ciphertext, which went to the
    /// sink) and the encoding of everything but the ciphertext, to compare
    /// one pass with the next.
    Envelope {
        envelope: Envelope,
        skeleton: Vec<u8>,
    },
    /// A `ContentInfo` of another type (signed data, say): nothing was sent
    /// to the sink.
    Other(ObjectIdentifier),
}

/// Deepest nesting accepted (as `ber::to_der`).
const MAX_DEPTH: usize = 64;
/// Most bytes of envelope structure (everything but the ciphertext) kept in memory.
const MAX_SKELETON: usize = 16 << 20;
/// Read buffer size.
const READ_BUF: usize = 256 << 10;

struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    offset: u64,
}

fn io_err(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::InvalidData {
        fail(Exit::DataErr, e.to_string())
    } else {
        fail(Exit::IoErr, format!("cannot read the message: {e}"))
    }
}

fn bad(why: &str) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed message: {why}"))
}

#[derive(Clone, Copy)]
struct Header {
    id: u8,
    len: Option<u64>,
}

impl<R: Read> Reader<R> {
    fn new(inner: R) -> Self {
        Reader {
            inner,
            buf: vec![0; READ_BUF],
            pos: 0,
            end: 0,
            offset: 0,
        }
    }

    /// Makes at least `n` bytes available; false if the input ends first.
    fn ensure(&mut self, n: usize) -> Result<bool> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.end < n {
            let got = loop {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(k) => break k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_err(e)),
                }
            };
            if got == 0 {
                return Ok(false);
            }
            self.end += got;
        }
        Ok(true)
    }

    fn byte(&mut self) -> Result<u8> {
        if !self.ensure(1)? {
            return Err(bad("unexpected end of data"));
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        self.offset += 1;
        Ok(b)
    }

    fn peek2(&mut self) -> Result<Option<[u8; 2]>> {
        if !self.ensure(2)? {
            return Ok(None);
        }
        Ok(Some([self.buf[self.pos], self.buf[self.pos + 1]]))
    }

    fn at_eof(&mut self) -> Result<bool> {
        Ok(!self.ensure(1)?)
    }

    /// Passes the next `n` bytes to `f` in pieces.
    fn stream(&mut self, mut n: u64, f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        while n > 0 {
            if self.pos == self.end && !self.ensure(1)? {
                return Err(bad("length exceeds the data"));
            }
            let take = ((self.end - self.pos) as u64).min(n) as usize;
            f(&self.buf[self.pos..self.pos + take])?;
            self.pos += take;
            self.offset += take as u64;
            n -= take as u64;
        }
        Ok(())
    }

    /// Reads an identifier and length, copying their octets to `raw`.
    fn header(&mut self, raw: &mut Vec<u8>) -> Result<Header> {
        let header = super::ber::read_header(
            &mut || {
                let b = self.byte()?;
                raw.push(b);
                Ok(b)
            },
            bad,
            8,
        )?;
        Ok(Header {
            id: header.id,
            len: header.len,
        })
    }

    /// Copies one whole element (any encoding) to `out`, within `limit`.
    fn copy_element(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(bad("nested too deeply"));
        }
        let h = self.header(out)?;
        match h.len {
            Some(n) => {
                // Subtract rather than add: n is any 64-bit length from the input.
                if n > (MAX_SKELETON - out.len().min(MAX_SKELETON)) as u64 {
                    return Err(bad("envelope structure too large"));
                }
                let start = self.offset;
                self.stream(n, &mut |piece| {
                    out.extend_from_slice(piece);
                    Ok(())
                })?;
                debug_assert_eq!(self.offset - start, n);
            }
            None => loop {
                if self.peek2()? == Some([0, 0]) {
                    self.byte()?;
                    self.byte()?;
                    out.extend_from_slice(&[0, 0]);
                    break;
                }
                self.copy_element(out, depth + 1)?;
            },
        }
        Ok(())
    }

    /// Whether the container ending at `end` (or with end-of-contents when
    /// `None`) is finished; consumes the end-of-contents.
    fn container_done(&mut self, end: Option<u64>) -> Result<bool> {
        match end {
            Some(e) if self.offset == e => Ok(true),
            Some(e) if self.offset > e => Err(bad("element overruns its container")),
            Some(_) => Ok(false),
            None => {
                if self.peek2()? == Some([0, 0]) {
                    self.byte()?;
                    self.byte()?;
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
        }
    }

    /// Opens a constructed element with identifier `id`; returns its end.
    fn open(&mut self, id: u8, what: &str) -> Result<Option<u64>> {
        let mut raw = Vec::new();
        let h = self.header(&mut raw)?;
        if h.id != id {
            return Err(bad(what));
        }
        Ok(h.len.map(|n| self.offset.saturating_add(n)))
    }

    fn peek_id(&mut self) -> Result<u8> {
        if !self.ensure(1)? {
            return Err(bad("unexpected end of data"));
        }
        Ok(self.buf[self.pos])
    }

    /// Streams the chunks of a constructed OCTET STRING (BER) to `f`.
    fn chunks(
        &mut self,
        end: Option<u64>,
        depth: usize,
        f: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(bad("nested too deeply"));
        }
        loop {
            if self.container_done(end)? {
                return Ok(());
            }
            let mut raw = Vec::new();
            let h = self.header(&mut raw)?;
            match (h.id, h.len) {
                (0x04, Some(n)) => self.stream(n, f)?,
                (0x24, len) => {
                    let inner_end = len.map(|n| self.offset.saturating_add(n));
                    self.chunks(inner_end, depth + 1, f)?;
                }
                _ => return Err(bad("malformed encrypted content")),
            }
            if let Some(e) = end {
                if self.offset > e {
                    return Err(bad("element overruns its container"));
                }
            }
        }
    }
}

fn decode_oid(raw: &[u8]) -> Result<ObjectIdentifier> {
    let der = super::ber::to_der(raw)?;
    ObjectIdentifier::from_der(&der)
        .map_err(|e| fail(Exit::DataErr, format!("malformed cms message: {e}")))
}

/// Builds the envelope's encoding without its ciphertext (indefinite-length
/// BER around the collected parts) and parses it.
fn skeleton(
    type_oid: &[u8],
    before: &[u8],
    eci_head: &[u8],
    after: &[u8],
) -> Result<(Envelope, Vec<u8>)> {
    let mut s = Vec::with_capacity(before.len() + eci_head.len() + after.len() + 32);
    s.extend_from_slice(&[0x30, 0x80]);
    s.extend_from_slice(type_oid);
    s.extend_from_slice(&[0xa0, 0x80, 0x30, 0x80]);
    s.extend_from_slice(before);
    s.extend_from_slice(&[0x30, 0x80]);
    s.extend_from_slice(eci_head);
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(after);
    s.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let envelope = Envelope::parse(&s)?;
    Ok((envelope, s))
}

/// Reads one `ContentInfo` (DER or BER) holding `EnvelopedData` or
/// `AuthEnvelopedData` from `input`, which must end with it; the encrypted
/// content goes to `sink`. Memory use is bounded by the size of the
/// envelope's structure, not of its content.
pub fn walk(input: impl Read, sink: &mut dyn ContentSink) -> Result<Walked> {
    let mut r = Reader::new(input);
    let ci_end = r.open(0x30, "not a cms message")?;
    let mut type_oid = Vec::new();
    if r.peek_id()? != 0x06 {
        return Err(bad("content type is not an object identifier"));
    }
    r.copy_element(&mut type_oid, 1)?;
    let oid = decode_oid(&type_oid)?;
    let authenticated = match oid {
        oids::ID_ENVELOPED_DATA => false,
        oids::ID_AUTH_ENVELOPED_DATA => true,
        other => return Ok(Walked::Other(other)),
    };
    let explicit_end = r.open(0xa0, "cms content is not [0] EXPLICIT")?;
    let inner_end = r.open(0x30, "envelope is not a SEQUENCE")?;
    // version, originatorInfo, recipientInfos: everything up to the first SEQUENCE.
    let mut before = Vec::new();
    loop {
        if r.container_done(inner_end)? {
            return Err(bad("envelope without encrypted content info"));
        }
        if r.peek_id()? == 0x30 {
            break;
        }
        r.copy_element(&mut before, 2)?;
    }
    let eci_end = r.open(0x30, "encrypted content info is not a SEQUENCE")?;
    let mut eci_head = Vec::new();
    for _ in 0..2 {
        if r.container_done(eci_end)? {
            return Err(bad("encrypted content info is incomplete"));
        }
        r.copy_element(&mut eci_head, 3)?;
    }
    // The envelope as far as it goes, for the sink to find its key. AuthEnvelopedData
    // needs a mac to parse: an empty one stands in for the one after the content.
    let placeholder: &[u8] = if authenticated { &[0x04, 0x00] } else { &[] };
    let (head, _) = skeleton(&type_oid, &before, &eci_head, placeholder)?;
    if r.container_done(eci_end)? {
        return Err(fail(
            Exit::DataErr,
            "the message has no encrypted content (detached content is not supported)",
        ));
    }
    sink.begin(&head)?;
    let mut raw = Vec::new();
    let h = r.header(&mut raw)?;
    let mut feed = |piece: &[u8]| sink.content(piece);
    match (h.id, h.len) {
        (0x80, Some(n)) => r.stream(n, &mut feed)?,
        (0xa0, len) => {
            let end = len.map(|n| r.offset.saturating_add(n));
            r.chunks(end, 4, &mut feed)?;
        }
        _ => return Err(bad("malformed encrypted content")),
    }
    if !r.container_done(eci_end)? {
        return Err(bad("trailing data in encrypted content info"));
    }
    let mut after = Vec::new();
    while !r.container_done(inner_end)? {
        r.copy_element(&mut after, 2)?;
    }
    if !r.container_done(explicit_end)? || !r.container_done(ci_end)? {
        return Err(bad("trailing data inside the message"));
    }
    if !r.at_eof()? {
        return Err(bad("trailing data after the message"));
    }
    let (envelope, skeleton) = skeleton(&type_oid, &before, &eci_head, &after)?;
    Ok(Walked::Envelope { envelope, skeleton })
}

#[cfg(test)]
mod unit {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, RngCore, SeedableRng};

    fn one_shot(cek: &ContentKey, iv: &[u8], data: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
        // ContentKey::encrypt draws the IV from the rng: a fixed-output rng reproduces it.
        struct Fixed(Vec<u8>);
        impl rand_core::RngCore for Fixed {
            fn next_u32(&mut self) -> u32 {
                rand_core::impls::next_u32_via_fill(self)
            }
            fn next_u64(&mut self) -> u64 {
                rand_core::impls::next_u64_via_fill(self)
            }
            fn fill_bytes(&mut self, dest: &mut [u8]) {
                dest.copy_from_slice(&self.0[..dest.len()]);
            }
            fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
                self.fill_bytes(dest);
                Ok(())
            }
        }
        impl rand_core::CryptoRng for Fixed {}
        let enc = cek.encrypt(data, &mut Fixed(iv.to_vec())).unwrap();
        (
            enc.info()
                .encrypted_content
                .as_ref()
                .unwrap()
                .as_bytes()
                .to_vec(),
            enc.mac().map(<[u8]>::to_vec),
        )
    }

    fn chunked(rng: &mut StdRng, data: &[u8]) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let n = rng.gen_range(0..=(data.len() - at).min(70_000));
            out.push(at..at + n);
            at += n;
        }
        out
    }

    #[test]
    fn streaming_matches_one_shot_for_random_lengths_and_chunkings() {
        let mut rng = StdRng::seed_from_u64(7);
        for cipher in ContentCipher::FOR_ENCRYPTION {
            for round in 0..40 {
                let len = match round {
                    0 => 0,
                    1 => 1,
                    2 => 15,
                    3 => 16,
                    4 => 17,
                    _ => rng.gen_range(0..200_000),
                };
                let mut data = vec![0u8; len];
                rng.fill_bytes(&mut data);
                let cek = ContentKey::generate(cipher, &mut rng).unwrap();
                let mut iv = vec![0u8; if cipher.is_authenticated() { 12 } else { 16 }];
                rng.fill_bytes(&mut iv);
                let (expected_ct, expected_mac) = one_shot(&cek, &iv, &data);

                let mut enc = cek.encryptor_with(&iv).unwrap();
                let mut ct = Vec::new();
                for r in chunked(&mut rng, &data) {
                    enc.update(&data[r], &mut ct).unwrap();
                }
                let done = enc.finish(&mut ct).unwrap();
                assert_eq!(ct, expected_ct, "{cipher} len {len}");
                assert_eq!(
                    done.mac.map(|m| m.to_vec()),
                    expected_mac,
                    "{cipher} len {len}"
                );
                assert_eq!(done.len, ct.len() as u64);

                // Verify, then decrypt, in other random chunkings.
                let mac = done.mac.as_ref().map(|m| &m[..]);
                let mut v =
                    ContentVerifier::new(&cek, &done.alg, cipher.is_authenticated(), &[]).unwrap();
                for r in chunked(&mut rng, &ct) {
                    v.update(&ct[r]);
                }
                v.finish(mac).unwrap();
                let mut d =
                    ContentDecryptor::new(&cek, &done.alg, cipher.is_authenticated(), &[]).unwrap();
                let mut plain = Vec::new();
                for r in chunked(&mut rng, &ct) {
                    d.update(&ct[r], &mut plain).unwrap();
                }
                d.finish(mac, &mut plain).unwrap();
                assert_eq!(plain, data, "{cipher} len {len}");

                // A flipped bit fails GCM verification.
                if cipher.is_authenticated() && !ct.is_empty() {
                    let mut bad = ct.clone();
                    let i = rng.gen_range(0..bad.len());
                    bad[i] ^= 1 << rng.gen_range(0..8);
                    let mut v = ContentVerifier::new(&cek, &done.alg, true, &[]).unwrap();
                    v.update(&bad);
                    assert!(v.finish(mac).is_err());
                }
            }
        }
    }

    #[test]
    fn gcm_with_aad_matches_aes_gcm() {
        use aes_gcm::aead::{AeadInPlace, KeyInit};
        let mut rng = StdRng::seed_from_u64(9);
        for len in [0usize, 5, 16, 33, 1000] {
            let key = [3u8; 32];
            let nonce = [9u8; 12];
            let aad: Vec<u8> = (0..len as u8).collect();
            let mut data = vec![0u8; len * 3];
            rng.fill_bytes(&mut data);
            let mut buf = data.clone();
            let c = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
            let tag = c
                .encrypt_in_place_detached(&nonce.into(), &aad, &mut buf)
                .unwrap();
            let mut g = Gcm::new(ContentCipher::Aes256Gcm, &key, &nonce, &aad).unwrap();
            let mut mine = data.clone();
            g.encrypt(&mut mine);
            assert_eq!(mine, buf);
            assert_eq!(g.tag()[..], tag[..]);
        }
    }

    #[test]
    fn cbc_padding_is_checked_in_pass_one() {
        let mut rng = StdRng::seed_from_u64(3);
        let cek = ContentKey::generate(ContentCipher::Aes256Cbc, &mut rng).unwrap();
        let mut enc = cek.encryptor(&mut rng).unwrap();
        let mut ct = Vec::new();
        enc.update(&[1u8; 100], &mut ct).unwrap();
        let done = enc.finish(&mut ct).unwrap();
        let mut v = ContentVerifier::new(&cek, &done.alg, false, &[]).unwrap();
        v.update(&ct);
        v.finish(None).unwrap();
        // Damage the second-to-last block: the last block's padding changes.
        let n = ct.len();
        let mut bad = ct.clone();
        bad[n - 17] ^= 0x40;
        let mut v = ContentVerifier::new(&cek, &done.alg, false, &[]).unwrap();
        v.update(&bad);
        assert!(v.finish(None).is_err());
        // Truncated to a non-multiple of the block size.
        let mut v = ContentVerifier::new(&cek, &done.alg, false, &[]).unwrap();
        v.update(&ct[..n - 3]);
        assert!(v.finish(None).is_err());
    }
}
