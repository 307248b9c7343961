//! Streaming opening in two passes, so nothing is released unauthenticated:
//! [`ContentVerifier`] checks the AEAD tag (GCM or ChaCha20-Poly1305, in
//! constant time) or the CBC
//! padding without writing plaintext, then [`ContentDecryptor`] runs over the
//! same ciphertext again and hands out plaintext.

use anyhow::Result;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::cipher::{cbc_blocks, Aead, Direction};
use super::{failed, malformed};
use crate::error::{fail, Exit};
use crate::smime::envelope::content::{
    aead_parameters, cipher_for, pkcs7_unpadded_len, ContentCipher, ContentKey,
};

/// The checked content-encryption parameters of an envelope.
enum Params {
    Cbc {
        cipher: ContentCipher,
        iv: Vec<u8>,
        block: usize,
    },
    Aead {
        cipher: ContentCipher,
        nonce: Vec<u8>,
        icv_len: usize,
    },
}

/// The same checks [`content::decrypt`](crate::smime::envelope::content) makes, on the
/// algorithm identifier alone.
fn params(key: &ContentKey, alg: &AlgorithmIdentifierOwned, authenticated: bool) -> Result<Params> {
    let cipher = cipher_for(key, alg)?;
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
    let (nonce, icv_len) = aead_parameters(cipher, alg)?;
    Ok(Params::Aead {
        cipher,
        nonce,
        icv_len,
    })
}

/// The AEAD that opens content under `key` (GCM: aws-lc, decrypting).
fn opening(cipher: ContentCipher, key: &ContentKey, nonce: &[u8], aad: &[u8]) -> Result<Box<Aead>> {
    let aead = Aead::new(cipher, key.bytes(), nonce, aad, Direction::Open)?;
    Ok(Box::new(aead))
}

/// Checks the received AEAD tag: present, of the length the parameters
/// name, and right (compared in constant time).
fn check_tag(aead: Box<Aead>, mac: Option<&[u8]>, icv_len: usize) -> Result<()> {
    let mac = mac.ok_or_else(|| malformed("authenticated envelope: no tag"))?;
    if mac.len() != icv_len {
        return Err(malformed(
            "authenticated envelope: tag length does not match its parameters",
        ));
    }
    aead.verify(mac)
}

enum VerifyState {
    Aead {
        aead: Box<Aead>,
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

/// Pass one over the ciphertext: checks the AEAD tag or the CBC padding
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
            Params::Aead {
                cipher,
                nonce,
                icv_len,
            } => VerifyState::Aead {
                aead: opening(cipher, key, &nonce, aad)?,
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

    /// Feeds ciphertext; past the cipher's limit, the uniform decryption
    /// failure.
    pub fn update(&mut self, ct: &[u8]) -> Result<()> {
        match &mut self.0 {
            VerifyState::Aead { aead, .. } => aead.authenticate(ct)?,
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
        Ok(())
    }

    /// Checks the tag (`mac`, AEAD) or the padding (CBC). `DataErr` with the
    /// uniform decryption failure message if it does not hold.
    pub fn finish(self, mac: Option<&[u8]>) -> Result<()> {
        match self.0 {
            VerifyState::Aead { aead, icv_len } => check_tag(aead, mac, icv_len),
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
    Aead {
        aead: Box<Aead>,
        icv_len: usize,
        /// Hash the ciphertext again and check the tag at the end.
        recheck: bool,
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
/// between the passes (see [`ContentDecryptor::trusting_pass_one`]).
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
            Params::Aead {
                cipher,
                nonce,
                icv_len,
            } => DecState::Aead {
                aead: opening(cipher, key, &nonce, aad)?,
                icv_len,
                recheck: true,
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

    /// The same decryptor without the second tag check, for ciphertext
    /// nobody but this user can change between the passes: the MAC is then
    /// computed once, by the verifier. A CBC decryptor is unchanged (its
    /// padding check costs nothing).
    pub fn trusting_pass_one(mut self) -> Self {
        if let DecState::Aead { recheck, .. } = &mut self.0 {
            *recheck = false;
        }
        self
    }

    /// Decrypts `ct`, appending plaintext to `out` (CBC holds back the last block).
    pub fn update(&mut self, ct: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match &mut self.0 {
            DecState::Aead { aead, recheck, .. } => {
                let start = out.len();
                out.extend_from_slice(ct);
                if *recheck {
                    aead.decrypt(&mut out[start..])?;
                } else {
                    aead.keystream(&mut out[start..])?;
                }
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
            DecState::Aead {
                aead,
                icv_len,
                recheck,
            } => match recheck {
                true => check_tag(aead, mac, icv_len),
                false => Ok(()),
            },
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
