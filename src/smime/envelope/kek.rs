//! Previously distributed symmetric keys: `KEKRecipientInfo` (RFC 5652
//! §6.2.3) with AES key wrap (RFC 3394; its CMS use, RFC 3565 §2.3.2).
//!
//! sealpost writes such entries for a mailing list's group secret and for a
//! key deposit at a group server; the key identifier then says which (see
//! `crate::smime::keyref`). Entries made by others, such as `openssl cms
//! -encrypt -secretkey K -secretkeyid ID`, open the same way.

use anyhow::Result;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{KekIdentifier, KekRecipientInfo, RecipientInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::content::{ContentCipher, ContentKey, DECRYPTION_FAILED};
use crate::error::{fail, Exit};

/// id-aes128-wrap, id-aes192-wrap, id-aes256-wrap (RFC 3565 §4.3).
pub const AES128_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.5");
pub const AES192_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.25");
pub const AES256_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.45");

/// Length of the key-encryption keys sealpost makes (AES-256).
pub const KEK_LEN: usize = 32;

/// Why a key wrap failed; deliberately without detail (no oracle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyWrapFailed;

fn wrap_oid(kek_len: usize) -> Option<ObjectIdentifier> {
    match kek_len {
        16 => Some(AES128_WRAP),
        24 => Some(AES192_WRAP),
        32 => Some(AES256_WRAP),
        _ => None,
    }
}

/// AES key wrap of `data` (a multiple of 8 bytes, at least 16) under `kek`.
pub fn aes_wrap(kek: &[u8], data: &[u8]) -> Result<Vec<u8>, KeyWrapFailed> {
    match kek.len() {
        16 => aes_kw::KekAes128::try_from(kek)
            .map_err(|_| KeyWrapFailed)?
            .wrap_vec(data),
        24 => aes_kw::KekAes192::try_from(kek)
            .map_err(|_| KeyWrapFailed)?
            .wrap_vec(data),
        32 => aes_kw::KekAes256::try_from(kek)
            .map_err(|_| KeyWrapFailed)?
            .wrap_vec(data),
        _ => return Err(KeyWrapFailed),
    }
    .map_err(|_| KeyWrapFailed)
}

/// AES key unwrap of `wrapped` under `kek`, integrity checked (RFC 3394 §2.2.3).
pub fn aes_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapFailed> {
    let len = wrapped.len().checked_sub(8).ok_or(KeyWrapFailed)?;
    if len < 16 || len % 8 != 0 {
        return Err(KeyWrapFailed);
    }
    let mut out = Zeroizing::new(vec![0u8; len]);
    match kek.len() {
        16 => aes_kw::KekAes128::try_from(kek)
            .map_err(|_| KeyWrapFailed)?
            .unwrap(wrapped, &mut out),
        24 => aes_kw::KekAes192::try_from(kek)
            .map_err(|_| KeyWrapFailed)?
            .unwrap(wrapped, &mut out),
        32 => aes_kw::KekAes256::try_from(kek)
            .map_err(|_| KeyWrapFailed)?
            .unwrap(wrapped, &mut out),
        _ => return Err(KeyWrapFailed),
    }
    .map_err(|_| KeyWrapFailed)?;
    Ok(out)
}

/// A `KEKRecipientInfo` (version 4) wrapping `cek` under `kek` (16, 24 or
/// 32 bytes), naming the key `key_identifier`.
pub fn kek_recipient(key_identifier: &[u8], kek: &[u8], cek: &ContentKey) -> Result<RecipientInfo> {
    kek_recipient_for_bytes(key_identifier, kek, cek.bytes())
}

/// [`kek_recipient`] for a content key held as bytes (the group server,
/// which never knows the content cipher).
pub fn kek_recipient_for_bytes(
    key_identifier: &[u8],
    kek: &[u8],
    content_key: &[u8],
) -> Result<RecipientInfo> {
    let oid = wrap_oid(kek.len()).ok_or_else(|| {
        fail(
            Exit::Software,
            "a key-encryption key must be 16, 24 or 32 bytes",
        )
    })?;
    let wrapped = aes_wrap(kek, content_key)
        .map_err(|_| fail(Exit::Software, "cannot wrap the content key"))?;
    Ok(RecipientInfo::Kekri(KekRecipientInfo {
        version: CmsVersion::V4,
        kek_id: KekIdentifier {
            kek_identifier: OctetString::new(key_identifier.to_vec())?,
            date: None,
            other: None,
        },
        // RFC 3565 §2.3.2: the parameters are absent.
        key_enc_alg: AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        },
        encrypted_key: OctetString::new(wrapped)?,
    }))
}

/// The content key bytes in `kekri`, unwrapped with `kek`. Every failure
/// (wrong version, an algorithm that does not fit the key, a failed
/// integrity check) is the same [`KeyWrapFailed`].
pub fn unwrap_kekri_bytes(
    kekri: &KekRecipientInfo,
    kek: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyWrapFailed> {
    if kekri.version != CmsVersion::V4 || wrap_oid(kek.len()) != Some(kekri.key_enc_alg.oid) {
        return Err(KeyWrapFailed);
    }
    // Absent, as RFC 3565 says; some writers put NULL.
    if let Some(p) = &kekri.key_enc_alg.parameters {
        if der::Tagged::tag(p) != der::Tag::Null {
            return Err(KeyWrapFailed);
        }
    }
    aes_unwrap(kek, kekri.encrypted_key.as_bytes())
}

/// The content key for `cipher` in `kekri`, unwrapped with `kek`.
pub fn unwrap_kekri(
    kekri: &KekRecipientInfo,
    kek: &[u8],
    cipher: ContentCipher,
) -> Result<ContentKey> {
    let failed = || fail(Exit::DataErr, DECRYPTION_FAILED);
    let bytes = unwrap_kekri_bytes(kekri, kek).map_err(|_| failed())?;
    if bytes.len() != cipher.key_len() {
        return Err(failed());
    }
    ContentKey::from_bytes(cipher, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3394_test_vector_256_bit_kek() {
        // RFC 3394 §4.6: 256 bits of key data with a 256-bit KEK.
        let kek = hex::decode("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
            .unwrap();
        let data = hex::decode("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
            .unwrap();
        let want = hex::decode(
            "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
        )
        .unwrap();
        assert_eq!(aes_wrap(&kek, &data).unwrap(), want);
        assert_eq!(aes_unwrap(&kek, &want).unwrap().as_slice(), data.as_slice());
    }

    #[test]
    fn entries_round_trip_and_every_failure_is_uniform() {
        let mut rng = rand_core::OsRng;
        let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut rng).unwrap();
        let kek = [7u8; KEK_LEN];
        let RecipientInfo::Kekri(ri) = kek_recipient(b"id", &kek, &cek).unwrap() else {
            panic!("not a kekri");
        };
        let got = unwrap_kekri(&ri, &kek, ContentCipher::Aes256Gcm).unwrap();
        assert_eq!(got.bytes(), cek.bytes());

        let mut wrong_key = kek;
        wrong_key[0] ^= 1;
        let mut flipped = ri.clone();
        let mut bytes = flipped.encrypted_key.as_bytes().to_vec();
        bytes[9] ^= 0x80;
        flipped.encrypted_key = OctetString::new(bytes).unwrap();
        let mut short_kek_alg = ri.clone();
        short_kek_alg.key_enc_alg.oid = AES128_WRAP;
        let errors: Vec<String> = [
            unwrap_kekri(&ri, &wrong_key, ContentCipher::Aes256Gcm),
            unwrap_kekri(&flipped, &kek, ContentCipher::Aes256Gcm),
            unwrap_kekri(&short_kek_alg, &kek, ContentCipher::Aes256Gcm),
            unwrap_kekri(&ri, &kek, ContentCipher::Aes128Cbc),
        ]
        .into_iter()
        .map(|r| r.unwrap_err().to_string())
        .collect();
        assert!(errors.iter().all(|e| e == DECRYPTION_FAILED), "{errors:?}");
    }
}
