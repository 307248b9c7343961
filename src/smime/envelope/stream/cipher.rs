//! The cipher modes the streaming encryptor and decryptors share: the two
//! AEADs built from their parts, AES-GCM (CTR32 from inc32(J0) plus GHASH,
//! NIST SP 800-38D) and ChaCha20-Poly1305 (RFC 8439 §2.8), behind [`Aead`];
//! and CBC over whole blocks, chained from chunk to chunk by the caller.

use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit as _};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use anyhow::Result;
use chacha20::ChaCha20;
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};
use ghash::universal_hash::consts::U16;
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use poly1305::Poly1305;
use zeroize::{Zeroize, Zeroizing};

use super::{failed, GCM_NONCE_LEN};
use crate::error::{fail, Exit};
use crate::smime::envelope::content::{ContentCipher, CHACHA_NONCE_LEN};

/// Most ciphertext bytes either AEAD covers with a 12-byte nonce: GCM's
/// 2^32 - 2 blocks of 16 bytes, ChaCha20's 2^32 - 1 blocks of 64 (block 0
/// makes the Poly1305 key). Past these the counter would wrap; such
/// ciphertext is refused, never decrypted with a repeated keystream.
const GCM_MAX_LEN: u64 = ((1 << 32) - 2) * 16;
const CHACHA_MAX_LEN: u64 = ((1 << 32) - 1) * 64;

/// A universal hash (GHASH, Poly1305) over ciphertext arriving in pieces of
/// any length: whole blocks go straight through, the rest waits, and the
/// last partial block is zero-padded, as both GCM and RFC 8439 pad it.
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

pub(super) enum Ctr {
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
pub(super) struct Gcm {
    ctr: Ctr,
    ghash: Absorber<GHash>,
    /// E(K, J0), XORed into the GHASH result.
    mask: Zeroizing<[u8; 16]>,
    aad_bits: u64,
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
            ghash: Absorber::new(ghash),
            mask,
            aad_bits: (aad.len() as u64) * 8,
        })
    }

    fn tag(self) -> Result<[u8; 16]> {
        let aad_bits = self.aad_bits;
        let mut tag = self.ghash.finish(GCM_MAX_LEN, |ct_len| {
            let mut lengths = [0u8; 16];
            lengths[..8].copy_from_slice(&aad_bits.to_be_bytes());
            lengths[8..].copy_from_slice(&(ct_len * 8).to_be_bytes());
            lengths
        })?;
        for (t, m) in tag.iter_mut().zip(self.mask.iter()) {
            *t ^= m;
        }
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
// Both variants are large (key schedules, hash state); the encryptor and
// decryptors box the whole `Aead` once, so boxing a variant gains nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Aead {
    Gcm(Gcm),
    ChaCha(ChaChaPoly),
}

impl Aead {
    pub(super) fn new(cipher: ContentCipher, key: &[u8], nonce: &[u8], aad: &[u8]) -> Result<Aead> {
        Ok(match cipher {
            ContentCipher::ChaCha20Poly1305 => Aead::ChaCha(ChaChaPoly::new(key, nonce, aad)?),
            _ => Aead::Gcm(Gcm::new(cipher, key, nonce, aad)?),
        })
    }

    /// Feeds ciphertext to the MAC; any chunking gives the same result.
    pub(super) fn absorb(&mut self, ct: &[u8]) {
        match self {
            Aead::Gcm(g) => g.ghash.absorb(ct),
            Aead::ChaCha(c) => c.poly.absorb(ct),
        }
    }

    /// Decrypts without hashing: for ciphertext whose tag was checked.
    pub(super) fn keystream(&mut self, buf: &mut [u8]) -> Result<()> {
        match self {
            Aead::Gcm(g) => {
                g.ctr.apply(buf);
                Ok(())
            }
            Aead::ChaCha(c) => c.apply(buf),
        }
    }

    pub(super) fn encrypt(&mut self, buf: &mut [u8]) -> Result<()> {
        self.keystream(buf)?;
        self.absorb(buf);
        Ok(())
    }

    pub(super) fn decrypt(&mut self, buf: &mut [u8]) -> Result<()> {
        self.absorb(buf);
        self.keystream(buf)
    }

    /// The 16-byte tag; the uniform decryption failure for ciphertext longer
    /// than the cipher covers.
    pub(super) fn tag(self) -> Result<[u8; 16]> {
        match self {
            Aead::Gcm(g) => g.tag(),
            Aead::ChaCha(c) => c.tag(),
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
