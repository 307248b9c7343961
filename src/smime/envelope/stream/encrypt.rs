//! Streaming encryption: [`ContentKey::encryptor`] and the
//! [`ContentEncryptor`] that turns plaintext chunks into exactly the
//! ciphertext (and AEAD tag) [`ContentKey::encrypt`] produces in one go.

use anyhow::Result;
use der::asn1::OctetString;
use der::{Any, Tag};
use rand_core::CryptoRngCore;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::cipher::{cbc_blocks, Aead, Direction};
use super::{GCM_NONCE_LEN, GCM_TAG_LEN};
use crate::error::{fail, Exit};
use crate::smime::envelope::content::{ContentCipher, ContentKey, CHACHA_NONCE_LEN};
use crate::smime::envelope::types::GcmParameters;

enum EncState {
    Aead(Box<Aead>),
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
    /// The AEAD tag (GCM, Poly1305).
    pub mac: Option<[u8; GCM_TAG_LEN]>,
    /// Length of the ciphertext.
    pub len: u64,
}

impl ContentCipher {
    /// Ciphertext length for `plain_len` bytes of content: the same for an AEAD,
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
            ContentCipher::ChaCha20Poly1305 => {
                let mut nonce = [0u8; CHACHA_NONCE_LEN];
                rng.fill_bytes(&mut nonce);
                self.encryptor_with(&nonce)
            }
            _ => Err(fail(
                Exit::DataErr,
                format!("{cipher} is supported for decryption only"),
            )),
        }
    }

    /// A streaming encryptor with the given IV (CBC) or nonce (AEAD); for
    /// tests that compare with the one-shot encryption.
    pub(crate) fn encryptor_with(&self, iv: &[u8]) -> Result<ContentEncryptor> {
        let cipher = self.cipher();
        let (params, state) = if cipher.is_authenticated() {
            let aead = Aead::new(cipher, self.bytes(), iv, &[], Direction::Seal)?;
            // RFC 8103 §2: the nonce alone; RFC 5084 §3.2: nonce and tag length.
            let params = if cipher == ContentCipher::ChaCha20Poly1305 {
                Any::new(Tag::OctetString, iv.to_vec())?
            } else {
                Any::encode_from(&GcmParameters {
                    nonce: OctetString::new(iv.to_vec())?,
                    icv_len: Some(GCM_TAG_LEN as u8),
                })?
            };
            (params, EncState::Aead(Box::new(aead)))
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
            EncState::Aead(aead) => {
                let start = out.len();
                out.extend_from_slice(data);
                aead.encrypt(&mut out[start..])?;
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
            EncState::Aead(aead) => Some(aead.tag()?),
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
