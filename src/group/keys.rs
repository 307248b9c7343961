//! The server's RSA operations, all with aws-lc-rs: unwrapping a content key
//! with a group private key, verifying a member's RSASSA-PSS signature, and
//! re-wrapping the content key to the member with RSAES-OAEP SHA-256.
//!
//! NOTE: aws-lc-rs rather than the `rsa` crate (as the client's unwrap,
//! through the same [`RsaUnwrapKey`]): the server performs private-key
//! operations on ciphertexts that requesters choose, so it needs a
//! constant-time implementation (`rsa` 0.9 has the Marvin timing advisory
//! RUSTSEC-2023-0071), and aws-lc-rs is about 4 times faster per private
//! operation (RSA-3072 OAEP against `rsa` with blinding, `cargo bench --bench
//! release`), which is most of this server's cost.
//!
//! A group key may instead live in a PKCS#11 token ([`super::token`]): the
//! token does the raw RSA operation and the padding is removed here in
//! constant time, so that every failure is still the one [`UnwrapFailed`]
//! (the token module says why its own padding mechanisms are not used).

use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256};
use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PSS_2048_8192_SHA256};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo};
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::token::{TokenFailed, TokenKey};
use crate::error::{classify, fail, Exit};
use crate::smime::envelope::{
    oaep_sha256_identifier, unpad, KeyTransportAlg, OaepHash, RawPadding, RsaUnwrapKey,
};

/// Content-key lengths a release may carry: AES-128, AES-192, AES-256.
pub const CONTENT_KEY_LENGTHS: [usize; 3] = [16, 24, 32];

/// A group's certificate and private key, ready for unwrapping.
pub struct GroupKey {
    pub certificate: Certificate,
    key: PrivateHalf,
}

/// Where the private key is: in this process, or in a token.
enum PrivateHalf {
    Memory(RsaUnwrapKey),
    Token(TokenKey),
}

/// The one answer for every failure to unwrap (no padding oracle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnwrapFailed;

/// Why [`GroupKey::unwrap`] gave no key: the ciphertext (always the same
/// [`UnwrapFailed`]), or the token holding the key (an internal error,
/// whatever the ciphertext was).
#[derive(Debug)]
pub enum UnwrapError {
    Failed(UnwrapFailed),
    Token(TokenFailed),
}

impl From<UnwrapFailed> for UnwrapError {
    fn from(e: UnwrapFailed) -> Self {
        UnwrapError::Failed(e)
    }
}

impl GroupKey {
    /// Loads a group key from the `rsa` crate's key (as [`crate::smime::privkey::open`]
    /// returns it) and the group certificate DER.
    pub fn new(key: &rsa::RsaPrivateKey, certificate_der: &[u8]) -> anyhow::Result<GroupKey> {
        let certificate = Certificate::from_der(certificate_der)
            .map_err(|e| fail(Exit::DataErr, format!("malformed group certificate: {e}")))?;
        let key = RsaUnwrapKey::new(key)
            .map_err(|e| fail(classify(&e).0, format!("group key rejected: {e}")))?;
        Ok(GroupKey {
            certificate,
            key: PrivateHalf::Memory(key),
        })
    }

    /// A group key held in a token; the certificate must carry the token
    /// key's public half.
    pub fn in_token(key: TokenKey, certificate_der: &[u8]) -> anyhow::Result<GroupKey> {
        let certificate = Certificate::from_der(certificate_der)
            .map_err(|e| fail(Exit::DataErr, format!("malformed group certificate: {e}")))?;
        let public = spki_der(&certificate).and_then(|der| {
            use rsa::pkcs8::EncodePublicKey;
            let token = key.public_key().ok()?.to_public_key_der().ok()?;
            Some(token.as_bytes() == der.as_slice())
        });
        if public != Some(true) {
            return Err(fail(
                Exit::DataErr,
                format!(
                    "the key {} in the token is not the group certificate's",
                    key.uri()
                ),
            ));
        }
        Ok(GroupKey {
            certificate,
            key: PrivateHalf::Token(key),
        })
    }

    /// Whether the private key can still be used: always for a key in
    /// memory; for a key in a token, [`TokenKey::probe`].
    pub fn probe(&self) -> Result<(), String> {
        match &self.key {
            PrivateHalf::Memory(_) => Ok(()),
            PrivateHalf::Token(key) => key.probe(),
        }
    }

    /// Recovers the content key from a KeyTransRecipientInfo addressed to
    /// this group. Every failure (an algorithm other than PKCS#1 v1.5, OAEP
    /// SHA-1 or OAEP SHA-256, bad padding, a length that is no content key)
    /// is the same [`UnwrapFailed`].
    /// A token that fails is [`UnwrapError::Token`], never tied to the
    /// ciphertext.
    pub fn unwrap(&self, ktri: &KeyTransRecipientInfo) -> Result<Zeroizing<Vec<u8>>, UnwrapError> {
        let alg = KeyTransportAlg::parse(&ktri.key_enc_alg).map_err(|_| UnwrapFailed)?;
        let raw = match alg {
            KeyTransportAlg::Pkcs1v15 => RawPadding::Pkcs1v15,
            KeyTransportAlg::Oaep {
                hash: OaepHash::Sha256,
                mgf: OaepHash::Sha256,
            } => RawPadding::OaepSha256,
            KeyTransportAlg::Oaep {
                hash: OaepHash::Sha1,
                mgf: OaepHash::Sha1,
            } => RawPadding::OaepSha1,
            KeyTransportAlg::Oaep { .. } => return Err(UnwrapFailed.into()),
        };
        let enc = ktri.enc_key.as_bytes();
        match &self.key {
            PrivateHalf::Memory(key) => {
                let padding = alg.padding().ok_or(UnwrapFailed)?;
                let out = key.decrypt(padding, enc).map_err(|_| UnwrapFailed)?;
                if !CONTENT_KEY_LENGTHS.contains(&out.len()) {
                    return Err(UnwrapFailed.into());
                }
                Ok(out)
            }
            PrivateHalf::Token(key) => {
                let block = key
                    .raw_decrypt(enc)
                    .map_err(UnwrapError::Token)?
                    .ok_or(UnwrapFailed)?;
                Ok(unpad(&block, raw, &CONTENT_KEY_LENGTHS).ok_or(UnwrapFailed)?)
            }
        }
    }
}

fn spki_der(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate.subject_public_key_info.to_der().ok()
}

/// Whether `signature` is a valid RSASSA-PSS (SHA-256, MGF1-SHA-256,
/// 32-byte salt) signature over `message` by the key of `cert`.
pub fn verify_pss(cert: &Certificate, message: &[u8], signature: &[u8]) -> bool {
    spki_der(cert).is_some_and(|spki| verify_pss_key(&spki, message, signature))
}

/// [`verify_pss`] with a bare public key (SubjectPublicKeyInfo DER): a
/// membership pass's key.
pub fn verify_pss_key(spki: &[u8], message: &[u8], signature: &[u8]) -> bool {
    // aws-lc-rs reads a SubjectPublicKeyInfo as well as a bare RSAPublicKey.
    UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, spki)
        .verify(message, signature)
        .is_ok()
}

/// A KeyTransRecipientInfo for `cert` (issuerAndSerialNumber, RSAES-OAEP
/// SHA-256 with the parameters written out, as `envelope::key_trans_recipient`
/// writes them) wrapping `content_key`, DER.
pub fn wrap_for(cert: &Certificate, content_key: &[u8]) -> anyhow::Result<Vec<u8>> {
    let spki = spki_der(cert).ok_or_else(|| {
        fail(
            Exit::DataErr,
            "the member certificate has no usable RSA key",
        )
    })?;
    let tbs = &cert.tbs_certificate;
    let rid = RecipientIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: tbs.issuer.clone(),
        serial_number: tbs.serial_number.clone(),
    });
    wrap_to_key(&spki, rid, content_key)
}

/// A KeyTransRecipientInfo for a bare RSA key (SubjectPublicKeyInfo DER,
/// a membership pass's key), named by `rid`, wrapping `content_key`, DER.
pub fn wrap_to_key(
    spki: &[u8],
    rid: RecipientIdentifier,
    content_key: &[u8],
) -> anyhow::Result<Vec<u8>> {
    let no_key = || fail(Exit::DataErr, "the recipient has no usable RSA key");
    let public = PublicEncryptingKey::from_der(spki).map_err(|_| no_key())?;
    let public = OaepPublicEncryptingKey::new(public).map_err(|_| no_key())?;
    let mut enc = vec![0u8; public.ciphertext_size()];
    let enc = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, content_key, &mut enc, None)
        .map_err(|_| fail(Exit::DataErr, "cannot wrap the content key"))?;
    let ri = RecipientInfo::Ktri(KeyTransRecipientInfo {
        version: match rid {
            RecipientIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V0,
            RecipientIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V2,
        },
        rid,
        key_enc_alg: oaep_sha256_identifier()?,
        enc_key: OctetString::new(enc.to_vec())?,
    });
    Ok(ri.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smime::envelope::{
        key_trans_recipient, ContentCipher, ContentKey, KeyTransport, RecipientOptions,
    };
    use rand_core::OsRng;

    fn fixture(name: &str) -> (rsa::RsaPrivateKey, Vec<u8>) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
        let key = std::fs::read_to_string(format!("{dir}{name}.key.pem")).unwrap();
        let key = crate::smime::privkey::open_rsa(&key, None, name).unwrap();
        let cert = std::fs::read(format!("{dir}{name}.cert.pem")).unwrap();
        let cert = crate::smime::certs::parse_bundle(&cert)
            .unwrap()
            .remove(0)
            .der;
        (key, cert)
    }

    fn ktri(ri: RecipientInfo) -> KeyTransRecipientInfo {
        match ri {
            RecipientInfo::Ktri(k) => k,
            _ => panic!("not a ktri"),
        }
    }

    #[test]
    fn unwraps_every_supported_transport_and_rewraps_for_the_member() {
        let (group_key, group_cert) = fixture("alice");
        let gk = GroupKey::new(&group_key, &group_cert).unwrap();
        let (bob_key, bob_cert) = fixture("bob");
        let bob = Certificate::from_der(&bob_cert).unwrap();
        for (cipher, transport) in [
            (ContentCipher::Aes256Gcm, KeyTransport::RsaOaepSha256),
            (ContentCipher::Aes128Cbc, KeyTransport::RsaPkcs1v15),
        ] {
            let cek = ContentKey::generate(cipher, &mut OsRng).unwrap();
            let opts = RecipientOptions {
                transport,
                ..Default::default()
            };
            let ri = key_trans_recipient(&gk.certificate, &cek, opts, &mut OsRng).unwrap();
            let got = gk.unwrap(&ktri(ri)).unwrap();
            assert_eq!(&got[..], cek.bytes());
            // The re-wrapped key opens with bob's key through the client's code.
            let wrapped = RecipientInfo::from_der(&wrap_for(&bob, &got).unwrap()).unwrap();
            let wrapped = ktri(wrapped);
            assert_eq!(wrapped.key_enc_alg, oaep_sha256_identifier().unwrap());
            assert!(crate::smime::envelope::rid_matches(&wrapped.rid, &bob));
            let back = bob_key
                .decrypt(rsa::Oaep::new::<sha2::Sha256>(), wrapped.enc_key.as_bytes())
                .unwrap();
            assert_eq!(back, cek.bytes());
        }
    }

    #[test]
    fn every_unwrap_failure_is_the_same() {
        let (group_key, group_cert) = fixture("alice");
        let gk = GroupKey::new(&group_key, &group_cert).unwrap();
        let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
        let good = ktri(
            key_trans_recipient(&gk.certificate, &cek, Default::default(), &mut OsRng).unwrap(),
        );
        let mut flipped = good.clone();
        let mut bytes = flipped.enc_key.as_bytes().to_vec();
        bytes[10] ^= 1;
        flipped.enc_key = OctetString::new(bytes.clone()).unwrap();
        let mut short = good.clone();
        short.enc_key = OctetString::new(bytes[1..].to_vec()).unwrap();
        // A 20-byte "key" wrapped correctly is still no content key.
        let odd = {
            let public = rsa::RsaPublicKey::from(&group_key);
            let enc = public
                .encrypt(&mut OsRng, rsa::Pkcs1v15Encrypt, &[1u8; 20])
                .unwrap();
            let mut k = good.clone();
            k.key_enc_alg = spki::AlgorithmIdentifierOwned {
                oid: const_oid::db::rfc5912::RSA_ENCRYPTION,
                parameters: Some(der::Any::null()),
            };
            k.enc_key = OctetString::new(enc).unwrap();
            k
        };
        for bad in [flipped, short, odd] {
            assert!(matches!(
                gk.unwrap(&bad),
                Err(UnwrapError::Failed(UnwrapFailed))
            ));
        }
    }

    #[test]
    fn pss_signatures_verify_only_for_the_signed_bytes() {
        use rsa::signature::{RandomizedSigner, SignatureEncoding};
        let (key, cert) = fixture("bob");
        let cert = Certificate::from_der(&cert).unwrap();
        let signer = rsa::pss::BlindedSigningKey::<sha2::Sha256>::new(key);
        let sig = signer.sign_with_rng(&mut OsRng, b"message").to_vec();
        assert!(verify_pss(&cert, b"message", &sig));
        assert!(!verify_pss(&cert, b"messagf", &sig));
        let (_, other) = fixture("carol");
        assert!(!verify_pss(
            &Certificate::from_der(&other).unwrap(),
            b"message",
            &sig
        ));
    }
}
