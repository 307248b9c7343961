//! The cipher modes the streaming encryptor and decryptors share: the two
//! AEADs behind [`Aead`] — AES-GCM from aws-lc (`aws_gcm`, the one
//! place with `unsafe`) and ChaCha20-Poly1305 built from its parts (RFC 8439
//! §2.8) — and CBC over whole blocks, chained from chunk to chunk by the
//! caller.

use anyhow::Result;
use chacha20::ChaCha20;
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};
use poly1305::universal_hash::consts::U16;
use poly1305::universal_hash::{KeyInit as _, UniversalHash};
use poly1305::Poly1305;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::aws_gcm::AesGcm;
pub(super) use super::aws_gcm::Direction;
use super::failed;
use crate::error::{fail, Exit};
use crate::smime::envelope::content::{ContentCipher, CHACHA_NONCE_LEN};

/// Most ciphertext bytes ChaCha20 covers with a 12-byte nonce: 2^32 - 1
/// blocks of 64 (block 0 makes the Poly1305 key). Past this the counter
/// would wrap; such ciphertext is refused, never decrypted with a repeated
/// keystream. (GCM's limit is checked in `aws_gcm`.)
const CHACHA_MAX_LEN: u64 = ((1 << 32) - 1) * 64;

/// A universal hash (Poly1305) over ciphertext arriving in pieces of
/// any length: whole blocks go straight through, the rest waits, and the
/// last partial block is zero-padded, as RFC 8439 pads it.
struct Absorber<H> {
    hash: H,
    /// Ciphertext bytes not yet hashed (less than one block).
    pending: Zeroizing<[u8; 16]>,
    pending_len: usize,
    len: u64,
}

impl<H: UniversalHash<BlockSize = U16>> Absorber<H> {
    fn new(hash: H) -> Self {
        Absorber {
            hash,
            pending: Zeroizing::new([0u8; 16]),
            pending_len: 0,
            len: 0,
        }
    }

    /// Feeds ciphertext; any chunking gives the same result.
    fn absorb(&mut self, mut ct: &[u8]) {
        self.len = self.len.saturating_add(ct.len() as u64);
        if self.pending_len > 0 {
            let take = (16 - self.pending_len).min(ct.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&ct[..take]);
            self.pending_len += take;
            ct = &ct[take..];
            if self.pending_len < 16 {
                return;
            }
            self.hash.update_padded(&self.pending[..]);
            self.pending_len = 0;
        }
        let full = ct.len() / 16 * 16;
        self.hash.update_padded(&ct[..full]);
        let rest = &ct[full..];
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// The hash over everything absorbed and then the lengths block, which
    /// `lengths` makes from the ciphertext length; refused past `max_len`.
    fn finish(mut self, max_len: u64, lengths: impl FnOnce(u64) -> [u8; 16]) -> Result<[u8; 16]> {
        if self.len > max_len {
            return Err(failed());
        }
        if self.pending_len > 0 {
            self.hash.update_padded(&self.pending[..self.pending_len]);
        }
        self.hash.update_padded(&lengths(self.len));
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&self.hash.finalize());
        Ok(tag)
    }
}

/// ChaCha20-Poly1305 over a stream (RFC 8439 §2.8): the Poly1305 key is the
/// first 32 bytes of ChaCha20 block 0, the data is encrypted from block 1,
/// and Poly1305 runs over AAD, ciphertext (each zero-padded to 16 bytes) and
/// their lengths in little-endian bytes. Checked against the RFC's test
/// vector and against the chacha20poly1305 crate in the unit tests.
pub(super) struct ChaChaPoly {
    chacha: ChaCha20,
    poly: Absorber<Poly1305>,
    aad_len: u64,
}

impl ChaChaPoly {
    fn new(key: &[u8], nonce: &[u8], aad: &[u8]) -> Result<ChaChaPoly> {
        let bad = || {
            fail(
                Exit::Software,
                "chacha20-poly1305 key or nonce has the wrong length",
            )
        };
        if nonce.len() != CHACHA_NONCE_LEN {
            return Err(bad());
        }
        let mut chacha = ChaCha20::new_from_slices(key, nonce).map_err(|_| bad())?;
        let mut block0 = Zeroizing::new([0u8; 64]);
        chacha.apply_keystream(&mut block0[..]);
        let mut poly = Poly1305::new_from_slice(&block0[..32]).map_err(|_| bad())?;
        poly.update_padded(aad);
        Ok(ChaChaPoly {
            chacha,
            poly: Absorber::new(poly),
            aad_len: aad.len() as u64,
        })
    }

    /// The keystream, refusing to run past the 32-bit block counter.
    fn apply(&mut self, buf: &mut [u8]) -> Result<()> {
        self.chacha
            .try_apply_keystream(buf)
            .map_err(|_| fail(Exit::DataErr, "content too large for chacha20-poly1305"))
    }

    fn tag(self) -> Result<[u8; 16]> {
        let aad_len = self.aad_len;
        self.poly.finish(CHACHA_MAX_LEN, |ct_len| {
            let mut lengths = [0u8; 16];
            lengths[..8].copy_from_slice(&aad_len.to_le_bytes());
            lengths[8..].copy_from_slice(&ct_len.to_le_bytes());
            lengths
        })
    }
}

/// An AEAD over a stream: AES-GCM or ChaCha20-Poly1305, chosen by cipher.
// ChaCha20-Poly1305's state is large (key, hash state) beside GCM's pointer;
// the encryptor and decryptors box the whole `Aead` once, so boxing a
// variant gains nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Aead {
    Gcm(AesGcm),
    ChaCha(ChaChaPoly),
}

fn gcm_too_large() -> anyhow::Error {
    fail(Exit::DataErr, "content too large for aes-gcm")
}

impl Aead {
    /// An AEAD for `direction` (GCM runs one way only; ChaCha20-Poly1305
    /// ignores it). The nonce lengths accepted are the parsers' business
    /// (`content::aead_parameters`); GCM here takes any the library does.
    pub(super) fn new(
        cipher: ContentCipher,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        direction: Direction,
    ) -> Result<Aead> {
        Ok(match cipher {
            ContentCipher::ChaCha20Poly1305 => Aead::ChaCha(ChaChaPoly::new(key, nonce, aad)?),
            ContentCipher::Aes128Gcm | ContentCipher::Aes192Gcm | ContentCipher::Aes256Gcm
                if key.len() == cipher.key_len() =>
            {
                Aead::Gcm(AesGcm::new(key, nonce, aad, direction)?)
            }
            _ => {
                return Err(fail(
                    Exit::Software,
                    "gcm key or nonce has the wrong length",
                ))
            }
        })
    }

    /// Opening, pass one: feeds ciphertext to the MAC alone; no plaintext
    /// leaves (GCM decrypts into a scratch buffer it wipes). Any chunking
    /// gives the same result; past the cipher's limit, the uniform failure.
    pub(super) fn authenticate(&mut self, ct: &[u8]) -> Result<()> {
        match self {
            Aead::Gcm(g) => g.authenticate(ct).map_err(|()| failed()),
            Aead::ChaCha(c) => {
                c.poly.absorb(ct);
                Ok(())
            }
        }
    }

    /// Opening, pass two when the MAC was checked in pass one over bytes
    /// nobody else could change: decrypts without hashing (GCM's hash runs
    /// inside aws-lc's stitched loop anyway and is never checked).
    pub(super) fn keystream(&mut self, buf: &mut [u8]) -> Result<()> {
        match self {
            Aead::Gcm(g) => g.update(buf).map_err(|()| failed()),
            Aead::ChaCha(c) => c.apply(buf),
        }
    }

    /// Sealing: encrypts `buf` in place and hashes the ciphertext.
    pub(super) fn encrypt(&mut self, buf: &mut [u8]) -> Result<()> {
        match self {
            Aead::Gcm(g) => g.update(buf).map_err(|()| gcm_too_large()),
            Aead::ChaCha(c) => {
                c.apply(buf)?;
                c.poly.absorb(buf);
                Ok(())
            }
        }
    }

    /// Opening: hashes the ciphertext in `buf` and decrypts it in place.
    pub(super) fn decrypt(&mut self, buf: &mut [u8]) -> Result<()> {
        match self {
            Aead::Gcm(g) => g.update(buf).map_err(|()| failed()),
            Aead::ChaCha(c) => {
                c.poly.absorb(buf);
                c.apply(buf)
            }
        }
    }

    /// Sealing: the 16-byte tag.
    pub(super) fn tag(self) -> Result<[u8; 16]> {
        match self {
            Aead::Gcm(g) => g
                .tag()
                .map_err(|()| fail(Exit::Software, "aes-gcm tag failed")),
            Aead::ChaCha(c) => c.tag(),
        }
    }

    /// Opening: `Ok` only if `mac` (of the length the parameters name,
    /// checked by the caller) is the tag of the ciphertext, compared in
    /// constant time; otherwise the uniform decryption failure.
    pub(super) fn verify(self, mac: &[u8]) -> Result<()> {
        match self {
            Aead::Gcm(g) => g.verify(mac).map_err(|()| failed()),
            Aead::ChaCha(c) => {
                let tag = c.tag()?;
                match tag.get(..mac.len()) {
                    Some(t) if bool::from(t.ct_eq(mac)) => Ok(()),
                    _ => Err(failed()),
                }
            }
        }
    }
}

/// Encrypts or decrypts whole blocks of `buf` in place in CBC mode with `iv`.
pub(super) fn cbc_blocks(
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
