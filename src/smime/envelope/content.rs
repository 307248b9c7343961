//! Content encryption: the content-encryption key (CEK), the ciphers, and the
//! encrypted content that is shared by every envelope of one message.

use std::fmt;

use anyhow::Result;
use chacha20poly1305::ChaCha20Poly1305;
use cms::enveloped_data::EncryptedContentInfo;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Tag};
use rand_core::CryptoRngCore;
use spki::AlgorithmIdentifierOwned;
use subtle::{Choice, ConstantTimeEq, ConstantTimeGreater, ConstantTimeLess};
use zeroize::Zeroizing;

use super::oids;
use super::types::GcmParameters;
use crate::error::{fail, Exit};

/// The one message every failed decryption produces, whatever failed (RSA
/// padding, CBC padding, GCM tag), so that failures reveal nothing more.
pub(crate) const DECRYPTION_FAILED: &str = "decryption failed: wrong key or damaged message";

/// GCM nonce length sealpost writes and accepts (RFC 5084 §3.2 recommends 12).
const GCM_NONCE_LEN: usize = 12;
/// GCM tag length sealpost writes.
const GCM_TAG_LEN: u8 = 16;
/// ChaCha20-Poly1305 nonce and tag lengths, the only ones RFC 8103 §2 allows.
pub(super) const CHACHA_NONCE_LEN: usize = 12;
const CHACHA_TAG_LEN: usize = 16;

/// A content-encryption algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentCipher {
    /// AES-128 in CBC mode (RFC 3565); `EnvelopedData`.
    Aes128Cbc,
    /// AES-192 in CBC mode (RFC 3565); `EnvelopedData`.
    Aes192Cbc,
    /// AES-256 in CBC mode (RFC 3565); `EnvelopedData`.
    Aes256Cbc,
    /// AES-128 in GCM mode (RFC 5084); `AuthEnvelopedData`.
    Aes128Gcm,
    /// AES-192 in GCM mode; decryption only.
    Aes192Gcm,
    /// AES-256 in GCM mode (RFC 5084); `AuthEnvelopedData`.
    Aes256Gcm,
    /// Triple DES (EDE3) in CBC mode (RFC 3370 §5.1); decryption only, for old mail.
    DesEde3Cbc,
    /// ChaCha20-Poly1305 (RFC 8103, RFC 8439); `AuthEnvelopedData`.
    ChaCha20Poly1305,
}

impl ContentCipher {
    /// The ciphers sealpost encrypts with.
    pub const FOR_ENCRYPTION: [ContentCipher; 6] = [
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes192Cbc,
        ContentCipher::Aes256Cbc,
        ContentCipher::Aes128Gcm,
        ContentCipher::Aes256Gcm,
        ContentCipher::ChaCha20Poly1305,
    ];

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Cbc | Self::Aes128Gcm => 16,
            Self::Aes192Cbc | Self::Aes192Gcm | Self::DesEde3Cbc => 24,
            Self::Aes256Cbc | Self::Aes256Gcm | Self::ChaCha20Poly1305 => 32,
        }
    }

    /// Whether this is an authenticated (AEAD) cipher, carried in `AuthEnvelopedData`.
    pub fn is_authenticated(self) -> bool {
        matches!(
            self,
            Self::Aes128Gcm | Self::Aes192Gcm | Self::Aes256Gcm | Self::ChaCha20Poly1305
        )
    }

    /// Whether sealpost encrypts with this cipher (the others are read-only).
    pub fn can_encrypt(self) -> bool {
        Self::FOR_ENCRYPTION.contains(&self)
    }

    /// The algorithm identifier's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Aes128Cbc => oids::AES128_CBC,
            Self::Aes192Cbc => oids::AES192_CBC,
            Self::Aes256Cbc => oids::AES256_CBC,
            Self::Aes128Gcm => oids::AES128_GCM,
            Self::Aes192Gcm => oids::AES192_GCM,
            Self::Aes256Gcm => oids::AES256_GCM,
            Self::DesEde3Cbc => oids::DES_EDE3_CBC,
            Self::ChaCha20Poly1305 => oids::CHACHA20_POLY1305,
        }
    }

    /// The cipher an OID names, if supported.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [
            Self::Aes128Cbc,
            Self::Aes192Cbc,
            Self::Aes256Cbc,
            Self::Aes128Gcm,
            Self::Aes192Gcm,
            Self::Aes256Gcm,
            Self::DesEde3Cbc,
            Self::ChaCha20Poly1305,
        ]
        .into_iter()
        .find(|c| c.oid() == *oid)
    }

    /// Lower-case name as OpenSSL spells it, e.g. `aes-256-gcm`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128Cbc => "aes-128-cbc",
            Self::Aes192Cbc => "aes-192-cbc",
            Self::Aes256Cbc => "aes-256-cbc",
            Self::Aes128Gcm => "aes-128-gcm",
            Self::Aes192Gcm => "aes-192-gcm",
            Self::Aes256Gcm => "aes-256-gcm",
            Self::DesEde3Cbc => "des-ede3-cbc",
            Self::ChaCha20Poly1305 => "chacha20-poly1305",
        }
    }

    /// CBC block (and IV) length; `None` for the AEAD ciphers.
    fn cbc_block_len(self) -> Option<usize> {
        match self {
            Self::Aes128Cbc | Self::Aes192Cbc | Self::Aes256Cbc => Some(16),
            Self::DesEde3Cbc => Some(8),
            _ => None,
        }
    }
}

impl fmt::Display for ContentCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A content-encryption key with its cipher. Zeroized on drop; `Debug` does
/// not show the key.
pub struct ContentKey {
    cipher: ContentCipher,
    bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentKey")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl ContentKey {
    /// A fresh random key for `cipher`, which must be one sealpost encrypts with.
    pub fn generate(cipher: ContentCipher, rng: &mut impl CryptoRngCore) -> Result<Self> {
        if !cipher.can_encrypt() {
            return Err(fail(
                Exit::DataErr,
                format!("{cipher} is supported for decryption only"),
            ));
        }
        let mut bytes = Zeroizing::new(vec![0u8; cipher.key_len()]);
        rng.fill_bytes(&mut bytes);
        Ok(Self { cipher, bytes })
    }

    /// A key from raw bytes (e.g. released by a key server); the length must fit `cipher`.
    pub fn from_bytes(cipher: ContentCipher, bytes: &[u8]) -> Result<Self> {
        if bytes.len() != cipher.key_len() {
            return Err(fail(
                Exit::DataErr,
                format!("content key has the wrong length for {cipher}"),
            ));
        }
        Ok(Self {
            cipher,
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// The cipher this key is for.
    pub fn cipher(&self) -> ContentCipher {
        self.cipher
    }

    /// The raw key, for wrapping it to recipients.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Encrypts `plaintext` (the MIME entity) under this key with a fresh
    /// random IV or nonce. The result can go into any number of envelopes.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<EncryptedContent> {
        let too_large = || fail(Exit::DataErr, "message too large to encrypt");
        let (params, ciphertext, mac) = match self.cipher {
            ContentCipher::Aes128Cbc | ContentCipher::Aes192Cbc | ContentCipher::Aes256Cbc => {
                let mut iv = [0u8; 16];
                rng.fill_bytes(&mut iv);
                let ct = cbc::encrypt(self.cipher, &self.bytes, &iv, plaintext)?;
                let params = Any::new(Tag::OctetString, iv.to_vec())?;
                (params, ct, None)
            }
            ContentCipher::Aes128Gcm | ContentCipher::Aes256Gcm => {
                let mut nonce = [0u8; GCM_NONCE_LEN];
                rng.fill_bytes(&mut nonce);
                let mut buf = plaintext.to_vec();
                let tag = gcm::seal(self.cipher, &self.bytes, &nonce, &mut buf)?;
                let params = Any::encode_from(&GcmParameters {
                    nonce: OctetString::new(nonce.to_vec())?,
                    icv_len: Some(GCM_TAG_LEN),
                })?;
                let mac = OctetString::new(tag).map_err(|_| too_large())?;
                (params, buf, Some(mac))
            }
            ContentCipher::ChaCha20Poly1305 => {
                let mut nonce = [0u8; CHACHA_NONCE_LEN];
                rng.fill_bytes(&mut nonce);
                let mut buf = plaintext.to_vec();
                let tag = aead::seal_with::<ChaCha20Poly1305>(&self.bytes, &nonce, &mut buf)
                    .ok_or_else(|| fail(Exit::DataErr, "chacha20-poly1305 encryption failed"))?;
                let params = Any::new(Tag::OctetString, nonce.to_vec())?;
                let mac = OctetString::new(tag).map_err(|_| too_large())?;
                (params, buf, Some(mac))
            }
            ContentCipher::Aes192Gcm | ContentCipher::DesEde3Cbc => {
                return Err(fail(
                    Exit::DataErr,
                    format!("{} is supported for decryption only", self.cipher),
                ))
            }
        };
        let info = EncryptedContentInfo {
            content_type: oids::ID_DATA,
            content_enc_alg: AlgorithmIdentifierOwned {
                oid: self.cipher.oid(),
                parameters: Some(params),
            },
            encrypted_content: Some(OctetString::new(ciphertext).map_err(|_| too_large())?),
        };
        Ok(EncryptedContent {
            cipher: self.cipher,
            info,
            mac,
        })
    }
}

/// Encrypted content: the `EncryptedContentInfo` and, for AEAD ciphers, the tag.
/// Cheap to clone; assemble it into as many envelopes as needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedContent {
    pub(crate) cipher: ContentCipher,
    pub(crate) info: EncryptedContentInfo,
    pub(crate) mac: Option<OctetString>,
}

impl EncryptedContent {
    /// The content cipher.
    pub fn cipher(&self) -> ContentCipher {
        self.cipher
    }

    /// The `EncryptedContentInfo` (content type, algorithm and parameters, ciphertext).
    pub fn info(&self) -> &EncryptedContentInfo {
        &self.info
    }

    /// The authentication tag (GCM, Poly1305), for authenticated ciphers.
    pub fn mac(&self) -> Option<&[u8]> {
        self.mac.as_ref().map(OctetString::as_bytes)
    }
}

fn malformed(what: &str) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed {what}"))
}

fn failed() -> anyhow::Error {
    fail(Exit::DataErr, DECRYPTION_FAILED)
}

/// Decrypts content encrypted under `alg` with `key`. `mac` is the AEAD tag
/// (`AuthEnvelopedData` only) and `aad` the DER of the authenticated
/// attributes, empty if none. For GCM and ChaCha20-Poly1305 the tag is
/// checked before any plaintext exists outside the cipher.
pub(crate) fn decrypt(
    key: &ContentKey,
    alg: &AlgorithmIdentifierOwned,
    ciphertext: &[u8],
    mac: Option<&[u8]>,
    aad: &[u8],
) -> Result<Vec<u8>> {
    let cipher = cipher_for(key, alg)?;
    if let Some(block) = cipher.cbc_block_len() {
        if mac.is_some() {
            return Err(fail(
                Exit::DataErr,
                format!("authenticated envelope with unauthenticated cipher {cipher}"),
            ));
        }
        let iv = alg
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<OctetString>().ok())
            .ok_or_else(|| malformed("cbc parameters"))?;
        if iv.as_bytes().len() != block {
            return Err(malformed("cbc parameters"));
        }
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(block) {
            return Err(malformed(
                "encrypted content: length is not a multiple of the block size",
            ));
        }
        return cbc::decrypt(cipher, &key.bytes, iv.as_bytes(), ciphertext);
    }
    // GCM or ChaCha20-Poly1305
    let mac = mac.ok_or_else(|| {
        fail(
            Exit::DataErr,
            format!("{cipher} content outside an authenticated envelope"),
        )
    })?;
    let (nonce, icv_len) = aead_parameters(cipher, alg)?;
    if mac.len() != icv_len {
        return Err(malformed(
            "authenticated envelope: tag length does not match its parameters",
        ));
    }
    match cipher {
        ContentCipher::ChaCha20Poly1305 => {
            aead::open_with::<ChaCha20Poly1305>(&key.bytes, &nonce, aad, ciphertext, mac)
                .ok_or_else(failed)
        }
        _ => gcm::open(cipher, &key.bytes, &nonce, aad, ciphertext, mac),
    }
}

/// The nonce and tag length of an AEAD cipher's content: GCM's from its
/// parameters, ChaCha20-Poly1305's nonce (RFC 8103 §2: an OCTET STRING of
/// exactly 12 bytes, the tag always 16).
pub(super) fn aead_parameters(
    cipher: ContentCipher,
    alg: &AlgorithmIdentifierOwned,
) -> Result<(Vec<u8>, usize)> {
    if cipher != ContentCipher::ChaCha20Poly1305 {
        return gcm_parameters(alg);
    }
    let nonce = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<OctetString>().ok())
        .filter(|n| n.as_bytes().len() == CHACHA_NONCE_LEN)
        .ok_or_else(|| malformed("chacha20-poly1305 parameters"))?;
    Ok((nonce.as_bytes().to_vec(), CHACHA_TAG_LEN))
}

/// The nonce and tag length of GCM content (RFC 5084 `GCMParameters`),
/// refusing what sealpost does not read: tags shorter than 12 bytes and
/// nonces other than 12 bytes.
fn gcm_parameters(alg: &AlgorithmIdentifierOwned) -> Result<(Vec<u8>, usize)> {
    let params = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<GcmParameters>().ok())
        .ok_or_else(|| malformed("gcm parameters"))?;
    let icv_len = usize::from(params.icv_len.unwrap_or(12));
    if !(12..=16).contains(&icv_len) {
        return Err(fail(
            Exit::DataErr,
            format!("unsupported gcm tag length {icv_len}"),
        ));
    }
    if params.nonce.as_bytes().len() != GCM_NONCE_LEN {
        return Err(fail(
            Exit::DataErr,
            format!(
                "unsupported gcm nonce length {}",
                params.nonce.as_bytes().len()
            ),
        ));
    }
    Ok((params.nonce.as_bytes().to_vec(), icv_len))
}

/// Length of the plaintext after removing PKCS#7 padding from `buf` (whose
/// length is a non-zero multiple of `block`), computed without branching on
/// the padding bytes. `None` if the padding is invalid.
pub(super) fn pkcs7_unpadded_len(buf: &[u8], block: usize) -> Option<usize> {
    let len = buf.len();
    if len == 0 || !len.is_multiple_of(block) || block > 255 {
        return None;
    }
    let last = buf[len - 1];
    let block_u8 = block as u8;
    let mut good: Choice = last.ct_gt(&0) & !last.ct_gt(&block_u8);
    for i in 0..block {
        let byte = buf[len - 1 - i];
        let in_padding = (i as u8).ct_lt(&last);
        good &= !in_padding | byte.ct_eq(&last);
    }
    if bool::from(good) {
        Some(len - usize::from(last))
    } else {
        None
    }
}

mod cbc {
    //! CBC with PKCS#7 padding (RFC 5652 §6.3), cipher 0.4 API.

    use ::cbc::cipher::block_padding::{NoPadding, Pkcs7};
    use ::cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
    use anyhow::Result;
    use zeroize::Zeroizing;

    use super::{failed, pkcs7_unpadded_len, ContentCipher};
    use crate::error::{fail, Exit};

    pub(super) fn encrypt(
        cipher: ContentCipher,
        key: &[u8],
        iv: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let bad = || fail(Exit::Software, "content key or iv has the wrong length");
        macro_rules! enc {
            ($c:ty) => {
                ::cbc::Encryptor::<$c>::new_from_slices(key, iv)
                    .map_err(|_| bad())?
                    .encrypt_padded_vec_mut::<Pkcs7>(plaintext)
            };
        }
        Ok(match cipher {
            ContentCipher::Aes128Cbc => enc!(aes::Aes128),
            ContentCipher::Aes192Cbc => enc!(aes::Aes192),
            ContentCipher::Aes256Cbc => enc!(aes::Aes256),
            _ => return Err(bad()),
        })
    }

    pub(super) fn decrypt(
        cipher: ContentCipher,
        key: &[u8],
        iv: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>> {
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        macro_rules! dec {
            ($c:ty) => {{
                ::cbc::Decryptor::<$c>::new_from_slices(key, iv)
                    .map_err(|_| failed())?
                    .decrypt_padded_mut::<NoPadding>(&mut buf)
                    .map_err(|_| failed())?;
                <$c as ::cbc::cipher::BlockSizeUser>::block_size()
            }};
        }
        let block = match cipher {
            ContentCipher::Aes128Cbc => dec!(aes::Aes128),
            ContentCipher::Aes192Cbc => dec!(aes::Aes192),
            ContentCipher::Aes256Cbc => dec!(aes::Aes256),
            ContentCipher::DesEde3Cbc => dec!(des::TdesEde3),
            _ => return Err(failed()),
        };
        let len = pkcs7_unpadded_len(&buf, block).ok_or_else(failed)?;
        buf.truncate(len);
        Ok(std::mem::take(&mut *buf))
    }
}

mod gcm {
    //! AES-GCM (RFC 5084), aead 0.5 API: detached tag, no AAD on sealing.

    use aes_gcm::aead::consts::{U12, U13, U14, U15, U16};
    use aes_gcm::aes::{Aes128, Aes192, Aes256};
    use aes_gcm::AesGcm;
    use anyhow::Result;

    use super::aead::{open_with, seal_with};
    use super::{failed, ContentCipher};
    use crate::error::{fail, Exit};

    /// Encrypts `buf` in place; returns the 16-byte tag.
    pub(super) fn seal(
        cipher: ContentCipher,
        key: &[u8],
        nonce: &[u8],
        buf: &mut [u8],
    ) -> Result<Vec<u8>> {
        let tag = match cipher {
            ContentCipher::Aes128Gcm => seal_with::<AesGcm<Aes128, U12, U16>>(key, nonce, buf),
            ContentCipher::Aes256Gcm => seal_with::<AesGcm<Aes256, U12, U16>>(key, nonce, buf),
            _ => None,
        };
        tag.ok_or_else(|| fail(Exit::DataErr, "gcm encryption failed"))
    }

    /// Verifies the tag, then decrypts.
    pub(super) fn open(
        cipher: ContentCipher,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8],
    ) -> Result<Vec<u8>> {
        macro_rules! by_tag_len {
            ($aes:ty) => {
                match tag.len() {
                    12 => open_with::<AesGcm<$aes, U12, U12>>(key, nonce, aad, ciphertext, tag),
                    13 => open_with::<AesGcm<$aes, U12, U13>>(key, nonce, aad, ciphertext, tag),
                    14 => open_with::<AesGcm<$aes, U12, U14>>(key, nonce, aad, ciphertext, tag),
                    15 => open_with::<AesGcm<$aes, U12, U15>>(key, nonce, aad, ciphertext, tag),
                    16 => open_with::<AesGcm<$aes, U12, U16>>(key, nonce, aad, ciphertext, tag),
                    _ => None,
                }
            };
        }
        let plain = match cipher {
            ContentCipher::Aes128Gcm => by_tag_len!(Aes128),
            ContentCipher::Aes192Gcm => by_tag_len!(Aes192),
            ContentCipher::Aes256Gcm => by_tag_len!(Aes256),
            _ => None,
        };
        plain.ok_or_else(failed)
    }
}

mod aead {
    //! The aead 0.5 API, for AES-GCM (aes-gcm) and ChaCha20-Poly1305
    //! (chacha20poly1305, RFC 8439 §2.8, RFC 8103) alike: detached tag, no
    //! AAD on sealing.

    use aes_gcm::aead::{self, AeadInPlace, KeyInit};
    use zeroize::Zeroizing;

    /// Encrypts `buf` in place; returns the tag.
    pub(super) fn seal_with<A: AeadInPlace + KeyInit>(
        key: &[u8],
        nonce: &[u8],
        buf: &mut [u8],
    ) -> Option<Vec<u8>> {
        let c = A::new_from_slice(key).ok()?;
        let nonce = aead::Nonce::<A>::from_exact_iter(nonce.iter().copied())?;
        let tag = c.encrypt_in_place_detached(&nonce, &[], buf).ok()?;
        Some(tag.to_vec())
    }

    /// Verifies the tag, then decrypts.
    pub(super) fn open_with<A: AeadInPlace + KeyInit>(
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8],
    ) -> Option<Vec<u8>> {
        let c = A::new_from_slice(key).ok()?;
        let nonce = aead::Nonce::<A>::from_exact_iter(nonce.iter().copied())?;
        let tag = aead::Tag::<A>::from_exact_iter(tag.iter().copied())?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        // Both crates verify the tag before they decrypt (chacha20poly1305
        // also refuses content past its 32-bit block counter); on failure
        // nothing is returned.
        c.decrypt_in_place_detached(&nonce, aad, &mut buf, &tag)
            .ok()?;
        Some(std::mem::take(&mut *buf))
    }
}

/// The cipher `alg` names, checked to be one sealpost reads and to match
/// `key` (kind and length): the first checks of every decryption, in memory
/// or streamed.
pub(crate) fn cipher_for(
    key: &ContentKey,
    alg: &AlgorithmIdentifierOwned,
) -> Result<ContentCipher> {
    let cipher = ContentCipher::from_oid(&alg.oid).ok_or_else(|| {
        fail(
            Exit::DataErr,
            format!(
                "unsupported content encryption algorithm {}",
                oids::name(&alg.oid)
            ),
        )
    })?;
    if key.cipher != cipher || key.bytes.len() != cipher.key_len() {
        return Err(fail(
            Exit::DataErr,
            format!("content key is not a {cipher} key"),
        ));
    }
    Ok(cipher)
}

#[cfg(test)]
mod unit {
    use super::pkcs7_unpadded_len;

    #[test]
    fn pkcs7_padding_rules() {
        let mut b = [7u8; 16];
        b[15] = 1;
        assert_eq!(pkcs7_unpadded_len(&b, 16), Some(15));
        assert_eq!(pkcs7_unpadded_len(&[16u8; 16], 16), Some(0));
        assert_eq!(pkcs7_unpadded_len(&[0u8; 16], 16), None);
        assert_eq!(pkcs7_unpadded_len(&[17u8; 16], 16), None);
        let mut b = [3u8; 16];
        b[13] = 2;
        assert_eq!(pkcs7_unpadded_len(&b, 16), None);
        b[13] = 3;
        assert_eq!(pkcs7_unpadded_len(&b, 16), Some(13));
        assert_eq!(pkcs7_unpadded_len(&[8u8; 8], 8), Some(0));
        assert_eq!(pkcs7_unpadded_len(&[9u8; 8], 8), None);
        assert_eq!(pkcs7_unpadded_len(&[], 8), None);
    }
}
