//! The RSA private-key operation of key transport: decrypting the
//! `encryptedKey` of a `KeyTransRecipientInfo` (RSAES-PKCS1-v1_5 or
//! RSAES-OAEP) with our key, on aws-lc-rs, for the client and the group
//! server alike.
//!
//! NOTE: aws-lc-rs, not the `rsa` crate (which still generates keys and
//! signs, where nobody else chooses the input): every ciphertext given to
//! this module is chosen by whoever sent the message (`decrypt`, `fetch
//! --exec 'sealpost decrypt'`, `explode --reencrypt`, a release request), and
//! the `rsa` crate's private operation leaks timing (RUSTSEC-2023-0071,
//! Marvin); aws-lc's is constant-time, and its padding checks are too.

use aws_lc_rs::rsa::{
    OaepAlgorithm, OaepPrivateDecryptingKey, Pkcs1PrivateDecryptingKey, PrivateDecryptingKey,
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
};
use rand_core::CryptoRngCore;
use rsa::pkcs8::EncodePrivateKey;
use rsa::RsaPrivateKey;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::recipient::{KeyTransportAlg, OaepHash};
use crate::error::{fail, Exit};

/// Our RSA private key, loaded for both key-transport paddings.
pub(crate) struct RsaUnwrapKey {
    pkcs1: Pkcs1PrivateDecryptingKey,
    oaep: OaepPrivateDecryptingKey,
    modulus_len: usize,
}

/// Why [`RsaUnwrapKey::decrypt`] gave no key. Deliberately without detail:
/// which check failed is what a padding oracle would tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RsaUnwrapError {
    /// An OAEP hash and mask generation pair aws-lc does not offer (it
    /// offers SHA-1, SHA-256, SHA-384 and SHA-512, each with MGF1 of the
    /// same hash). Known from the public parameters, before any private
    /// operation.
    Unsupported,
    /// The ciphertext did not decrypt (length, padding).
    Failed,
}

impl RsaUnwrapKey {
    /// Loads `key` into aws-lc (keys of 2048 to 8192 bits).
    pub(crate) fn new(key: &RsaPrivateKey) -> anyhow::Result<RsaUnwrapKey> {
        // SecretDocument: the PKCS#8 bytes are wiped when dropped.
        let pkcs8 = key.to_pkcs8_der().map_err(|e| {
            fail(
                Exit::Software,
                format!("cannot encode the private key: {e}"),
            )
        })?;
        let private = PrivateDecryptingKey::from_pkcs8(pkcs8.as_bytes()).map_err(|e| {
            fail(
                Exit::DataErr,
                format!("the private key cannot decrypt (RSA keys of 2048 to 8192 bits can): {e}"),
            )
        })?;
        let modulus_len = private.key_size_bytes();
        let failed = |_| fail(Exit::Software, "cannot prepare the private key");
        Ok(RsaUnwrapKey {
            pkcs1: Pkcs1PrivateDecryptingKey::new(private.clone()).map_err(failed)?,
            oaep: OaepPrivateDecryptingKey::new(private).map_err(failed)?,
            modulus_len,
        })
    }

    /// Decrypts `enc` with the padding `alg` names; any failure is the one
    /// [`RsaUnwrapError::Failed`].
    pub(crate) fn decrypt(
        &self,
        alg: KeyTransportAlg,
        enc: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, RsaUnwrapError> {
        let oaep = match alg {
            KeyTransportAlg::Pkcs1v15 => None,
            KeyTransportAlg::Oaep { hash, mgf } => {
                Some(oaep_algorithm(hash, mgf).ok_or(RsaUnwrapError::Unsupported)?)
            }
        };
        if enc.len() != self.modulus_len {
            return Err(RsaUnwrapError::Failed);
        }
        let mut out = Zeroizing::new(vec![0u8; self.modulus_len]);
        let len = match oaep {
            None => self.pkcs1.decrypt(enc, &mut out).map(|k| k.len()),
            Some(oaep) => self
                .oaep
                .decrypt(oaep, enc, &mut out, None)
                .map(|k| k.len()),
        }
        .map_err(|_| RsaUnwrapError::Failed)?;
        out.truncate(len);
        Ok(out)
    }

    /// RSAES-PKCS1-v1_5 with implicit rejection (RFC 3218 §2.3.2): a
    /// ciphertext that does not decrypt to `want` bytes gives `want` random
    /// bytes instead, chosen without a branch on the outcome, so the failure
    /// shows only later, as the same "decryption failed" as any wrong key.
    pub(crate) fn decrypt_pkcs1_or_random(
        &self,
        enc: &[u8],
        want: usize,
        rng: &mut impl CryptoRngCore,
    ) -> Zeroizing<Vec<u8>> {
        let mut fallback = Zeroizing::new(vec![0u8; want]);
        rng.fill_bytes(&mut fallback);
        let mut got = Zeroizing::new(vec![0u8; self.modulus_len]);
        let (ok, len) = match self.pkcs1.decrypt(enc, &mut got) {
            Ok(k) => (Choice::from(1), k.len()),
            Err(_) => (Choice::from(0), 0),
        };
        let ok = ok & (len as u64).ct_eq(&(want as u64));
        let mut out = Zeroizing::new(vec![0u8; want]);
        for (i, byte) in out.iter_mut().enumerate() {
            let real = got.get(i).copied().unwrap_or(0);
            *byte = u8::conditional_select(&fallback[i], &real, ok);
        }
        out
    }
}

fn oaep_algorithm(hash: OaepHash, mgf: OaepHash) -> Option<&'static OaepAlgorithm> {
    match (hash, mgf) {
        (OaepHash::Sha1, OaepHash::Sha1) => Some(&OAEP_SHA1_MGF1SHA1),
        (OaepHash::Sha256, OaepHash::Sha256) => Some(&OAEP_SHA256_MGF1SHA256),
        (OaepHash::Sha384, OaepHash::Sha384) => Some(&OAEP_SHA384_MGF1SHA384),
        (OaepHash::Sha512, OaepHash::Sha512) => Some(&OAEP_SHA512_MGF1SHA512),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use cms::content_info::ContentInfo;
    use cms::enveloped_data::{EnvelopedData, RecipientInfo};
    use der::asn1::OctetString;
    use der::{Decode, DecodePem, Encode};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use x509_cert::Certificate;

    use super::*;
    use crate::envelope::content::DECRYPTION_FAILED;
    use crate::envelope::{open, OwnKey};

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    fn private_key(who: &str) -> RsaPrivateKey {
        let pem = std::fs::read_to_string(data(&format!("{who}.key.pem"))).unwrap();
        crate::privkey::open(&pem, None, who).unwrap()
    }

    fn openssl(args: &[&str]) -> Vec<u8> {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("the openssl binary is needed for this test");
        assert!(
            out.status.success(),
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `plain` encrypted to alice's certificate by `openssl pkeyutl` with
    /// the padding options `opts`.
    fn openssl_encrypt(plain: &[u8], opts: &[&str]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::write(&input, plain).unwrap();
        let cert = data("alice.cert.pem");
        let mut args = vec![
            "pkeyutl",
            "-encrypt",
            "-certin",
            "-inkey",
            cert.to_str().unwrap(),
            "-in",
            input.to_str().unwrap(),
        ];
        for opt in opts {
            args.extend(["-pkeyopt", opt]);
        }
        openssl(&args)
    }

    fn oaep(hash: &str, mgf: &str) -> Vec<String> {
        vec![
            "rsa_padding_mode:oaep".into(),
            format!("rsa_oaep_md:{hash}"),
            format!("rsa_mgf1_md:{mgf}"),
        ]
    }

    #[test]
    fn opens_openssl_pkcs1_and_oaep_key_transport() {
        let key = RsaUnwrapKey::new(&private_key("alice")).unwrap();
        let cek: Vec<u8> = (1..=32).collect();
        let enc = openssl_encrypt(&cek, &["rsa_padding_mode:pkcs1"]);
        assert_eq!(*key.decrypt(KeyTransportAlg::Pkcs1v15, &enc).unwrap(), cek);
        let got = key.decrypt_pkcs1_or_random(&enc, 32, &mut StdRng::seed_from_u64(1));
        assert_eq!(*got, cek);
        for (name, hash) in [
            ("sha1", OaepHash::Sha1),
            ("sha256", OaepHash::Sha256),
            ("sha384", OaepHash::Sha384),
            ("sha512", OaepHash::Sha512),
        ] {
            let opts = oaep(name, name);
            let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
            let enc = openssl_encrypt(&cek, &opts);
            let alg = KeyTransportAlg::Oaep { hash, mgf: hash };
            assert_eq!(*key.decrypt(alg, &enc).unwrap(), cek, "{name}");
            // The other padding on the same ciphertext: no key.
            assert_eq!(
                key.decrypt(KeyTransportAlg::Pkcs1v15, &enc).unwrap_err(),
                RsaUnwrapError::Failed
            );
        }
    }

    #[test]
    fn oaep_with_a_different_mgf_hash_is_unsupported_before_any_decryption() {
        let key = RsaUnwrapKey::new(&private_key("alice")).unwrap();
        let opts = oaep("sha256", "sha1");
        let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
        let enc = openssl_encrypt(&[7u8; 16], &opts);
        let alg = KeyTransportAlg::Oaep {
            hash: OaepHash::Sha256,
            mgf: OaepHash::Sha1,
        };
        assert_eq!(
            key.decrypt(alg, &enc).unwrap_err(),
            RsaUnwrapError::Unsupported
        );
    }

    /// A raw RSA block (no padding applied by OpenSSL) to alice: the
    /// decrypted block is exactly `block`.
    fn raw_block(block: &[u8]) -> Vec<u8> {
        openssl_encrypt(block, &["rsa_padding_mode:none"])
    }

    /// An EME-PKCS1-v1_5 block of `len` bytes for `message`, with block
    /// type `bt` (2 is the valid one).
    fn pkcs1_block(len: usize, bt: u8, message: &[u8]) -> Vec<u8> {
        let mut block = vec![0u8, bt];
        block.resize(len - message.len() - 1, 0x5a);
        block.push(0);
        block.extend_from_slice(message);
        block
    }

    #[test]
    fn pkcs1_padding_failure_gives_a_random_key_of_the_wanted_length() {
        let key = RsaUnwrapKey::new(&private_key("alice")).unwrap();
        let len = key.modulus_len;
        let cek = [0x11u8; 32];
        // The same block with the valid type opens: the block is well made.
        let good = raw_block(&pkcs1_block(len, 2, &cek));
        assert_eq!(*key.decrypt(KeyTransportAlg::Pkcs1v15, &good).unwrap(), cek);
        let bad_type = raw_block(&pkcs1_block(len, 1, &cek));
        let wrong_length = raw_block(&pkcs1_block(len, 2, &cek[..16]));
        for enc in [&bad_type, &wrong_length, &good[..len - 1].to_vec()] {
            let a = key.decrypt_pkcs1_or_random(enc, 32, &mut StdRng::seed_from_u64(1));
            let b = key.decrypt_pkcs1_or_random(enc, 32, &mut StdRng::seed_from_u64(2));
            assert_eq!((a.len(), b.len()), (32, 32));
            assert_ne!(*a, cek);
            assert_ne!(a, b, "a fresh random key each time");
        }
    }

    #[test]
    fn pkcs1_padding_failure_in_an_openssl_envelope_fails_like_a_wrong_key() {
        let dir = tempfile::tempdir().unwrap();
        let msg = dir.path().join("msg");
        std::fs::write(&msg, b"Content-Type: text/plain\r\n\r\nhello\r\n").unwrap();
        let cert_path = data("alice.cert.pem");
        // openssl cms uses RSAES-PKCS1-v1_5 key transport by default.
        let der = openssl(&[
            "cms",
            "-encrypt",
            "-binary",
            "-aes-256-cbc",
            "-outform",
            "DER",
            "-in",
            msg.to_str().unwrap(),
            cert_path.to_str().unwrap(),
        ]);
        let cert = Certificate::from_pem(std::fs::read(&cert_path).unwrap()).unwrap();
        let alice = private_key("alice");
        let own = OwnKey {
            cert: &cert,
            key: &alice,
        };
        let mut rng = StdRng::seed_from_u64(3);
        assert!(open(&der, &[own], &mut rng).is_ok());

        let len = RsaUnwrapKey::new(&alice).unwrap().modulus_len;
        let bad_padding = raw_block(&pkcs1_block(len, 1, &[0x22; 32]));
        let mut info = ContentInfo::from_der(&der).unwrap();
        let mut env: EnvelopedData = info.content.decode_as().unwrap();
        let mut infos: Vec<RecipientInfo> = env.recip_infos.0.into_vec();
        let RecipientInfo::Ktri(ktri) = &mut infos[0] else {
            panic!("openssl wrote no ktri");
        };
        ktri.enc_key = OctetString::new(bad_padding).unwrap();
        env.recip_infos.0 = infos.try_into().unwrap();
        info.content = der::Any::encode_from(&env).unwrap();
        let tampered = info.to_der().unwrap();
        let err = open(&tampered, &[own], &mut rng).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::DataErr);
        assert_eq!(err.to_string(), DECRYPTION_FAILED);

        // The same message and class as bob's key on alice's entry.
        let bob = private_key("bob");
        let impostor = OwnKey {
            cert: &cert,
            key: &bob,
        };
        let err = open(&der, &[impostor], &mut rng).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::DataErr);
        assert_eq!(err.to_string(), DECRYPTION_FAILED);
    }
}
