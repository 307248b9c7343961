//! The block-cipher modes the streaming encryptor and decryptors share:
//! AES-GCM built from its parts (CTR32 from inc32(J0) plus GHASH, NIST SP
//! 800-38D) and CBC over whole blocks, chained from chunk to chunk by the caller.

use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit as _};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use anyhow::Result;
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};
use ghash::universal_hash::UniversalHash as _;
use ghash::GHash;
use zeroize::{Zeroize, Zeroizing};

use super::{failed, GCM_NONCE_LEN};
use crate::error::{fail, Exit};
use crate::smime::envelope::content::ContentCipher;

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
    pub(super) fn new(cipher: ContentCipher, key: &[u8], nonce: &[u8], aad: &[u8]) -> Result<Gcm> {
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
    pub(super) fn absorb(&mut self, mut ct: &[u8]) {
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

    pub(super) fn encrypt(&mut self, buf: &mut [u8]) {
        self.ctr.apply(buf);
        self.absorb(buf);
    }

    /// Decrypts without hashing: for ciphertext whose tag was checked.
    pub(super) fn keystream(&mut self, buf: &mut [u8]) {
        self.ctr.apply(buf);
    }

    pub(super) fn decrypt(&mut self, buf: &mut [u8]) {
        self.absorb(buf);
        self.ctr.apply(buf);
    }

    pub(super) fn tag(mut self) -> [u8; 16] {
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
