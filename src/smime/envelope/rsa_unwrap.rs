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
};
use rand_core::CryptoRngCore;
use rsa::pkcs8::EncodePrivateKey;
use rsa::RsaPrivateKey;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::{fail, Exit};

/// Our RSA private key, loaded for both key-transport paddings.
pub(crate) struct RsaUnwrapKey {
    pkcs1: Pkcs1PrivateDecryptingKey,
    oaep: OaepPrivateDecryptingKey,
    modulus_len: usize,
}

/// An RSA encryption padding aws-lc decrypts: PKCS#1 v1.5, or OAEP with
/// SHA-1, SHA-256, SHA-384 or SHA-512 and MGF1 of the same hash.
#[derive(Clone, Copy)]
pub(crate) enum RsaPadding {
    Pkcs1v15,
    Oaep(&'static OaepAlgorithm),
}

/// [`RsaUnwrapKey::decrypt`] gave no key. Deliberately without detail
/// (length, padding): which check failed is what a padding oracle tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RsaDecryptFailed;

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

    /// Decrypts `enc` with `padding`; any failure is the one
    /// [`RsaDecryptFailed`].
    pub(crate) fn decrypt(
        &self,
        padding: RsaPadding,
        enc: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, RsaDecryptFailed> {
        if enc.len() != self.modulus_len {
            return Err(RsaDecryptFailed);
        }
        let mut out = Zeroizing::new(vec![0u8; self.modulus_len]);
        let len = match padding {
            RsaPadding::Pkcs1v15 => self.pkcs1.decrypt(enc, &mut out).map(|k| k.len()),
            RsaPadding::Oaep(oaep) => self
                .oaep
                .decrypt(oaep, enc, &mut out, None)
                .map(|k| k.len()),
        }
        .map_err(|_| RsaDecryptFailed)?;
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

#[cfg(test)]
pub(super) mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use aws_lc_rs::rsa::{
        OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
    };
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn aws_lc_seeds_from_the_os_not_from_cpu_jitter() {
        // Jitter sampling costs ~30 ms at the first random number of every
        // process — 90 % of a small decrypt (the unwrap's blinding draws one).
        assert!(
            aws_lc_rs::try_fips_cpu_jitter_entropy().is_err(),
            "aws-lc was built to seed from CPU jitter: build with AWS_LC_SYS_NO_JITTER_ENTROPY=1 (.cargo/config.toml sets it)"
        );
    }

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    pub(in crate::smime::envelope) fn private_key(who: &str) -> RsaPrivateKey {
        let pem = std::fs::read_to_string(data(&format!("{who}.key.pem"))).unwrap();
        crate::smime::privkey::open_rsa(&pem, None, who).unwrap()
    }

    pub(in crate::smime::envelope) fn openssl(args: &[&str]) -> Vec<u8> {
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
    pub(in crate::smime::envelope) fn openssl_encrypt(plain: &[u8], opts: &[&str]) -> Vec<u8> {
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

    /// A raw RSA block to alice (no padding added by OpenSSL): it decrypts
    /// to exactly `block`.
    pub(in crate::smime::envelope) fn raw_block(block: &[u8]) -> Vec<u8> {
        openssl_encrypt(block, &["rsa_padding_mode:none"])
    }

    /// An EME-PKCS1-v1_5 block of `len` bytes for `message`, with block
    /// type `bt` (2 is the valid one).
    pub(in crate::smime::envelope) fn pkcs1_block(len: usize, bt: u8, message: &[u8]) -> Vec<u8> {
        let mut block = vec![0u8, bt];
        block.resize(len - message.len() - 1, 0x5a);
        block.push(0);
        block.extend_from_slice(message);
        block
    }

    #[test]
    fn opens_openssl_pkcs1_and_oaep_key_transport() {
        let key = RsaUnwrapKey::new(&private_key("alice")).unwrap();
        let cek: Vec<u8> = (1..=32).collect();
        let enc = openssl_encrypt(&cek, &["rsa_padding_mode:pkcs1"]);
        assert_eq!(*key.decrypt(RsaPadding::Pkcs1v15, &enc).unwrap(), cek);
        let got = key.decrypt_pkcs1_or_random(&enc, 32, &mut StdRng::seed_from_u64(1));
        assert_eq!(*got, cek);
        for (name, oaep) in [
            ("sha1", &OAEP_SHA1_MGF1SHA1),
            ("sha256", &OAEP_SHA256_MGF1SHA256),
            ("sha384", &OAEP_SHA384_MGF1SHA384),
            ("sha512", &OAEP_SHA512_MGF1SHA512),
        ] {
            let opts = [
                "rsa_padding_mode:oaep".to_string(),
                format!("rsa_oaep_md:{name}"),
                format!("rsa_mgf1_md:{name}"),
            ];
            let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
            let enc = openssl_encrypt(&cek, &opts);
            assert_eq!(
                *key.decrypt(RsaPadding::Oaep(oaep), &enc).unwrap(),
                cek,
                "{name}"
            );
            // The other padding on the same ciphertext: no key. An OAEP block
            // passes PKCS#1 v1.5's checks by chance about once in 2^16 (it
            // happened in a CI run); what comes out then is still not the key.
            match key.decrypt(RsaPadding::Pkcs1v15, &enc) {
                Err(e) => assert_eq!(e, RsaDecryptFailed),
                Ok(got) => assert_ne!(*got, cek, "{name}"),
            }
        }
    }

    #[test]
    fn pkcs1_padding_failure_gives_a_random_key_of_the_wanted_length() {
        let key = RsaUnwrapKey::new(&private_key("alice")).unwrap();
        let len = key.modulus_len;
        let cek = [0x11u8; 32];
        // The same block with the valid type opens: the block is well made.
        let good = raw_block(&pkcs1_block(len, 2, &cek));
        assert_eq!(*key.decrypt(RsaPadding::Pkcs1v15, &good).unwrap(), cek);
        let bad_type = raw_block(&pkcs1_block(len, 1, &cek));
        let wrong_length = raw_block(&pkcs1_block(len, 2, &cek[..16]));
        let short = good[..len - 1].to_vec();
        for enc in [&bad_type, &wrong_length, &short] {
            let a = key.decrypt_pkcs1_or_random(enc, 32, &mut StdRng::seed_from_u64(1));
            let b = key.decrypt_pkcs1_or_random(enc, 32, &mut StdRng::seed_from_u64(2));
            assert_eq!((a.len(), b.len()), (32, 32));
            assert_ne!(*a, cek);
            assert_ne!(a, b, "a fresh random key each time");
        }
    }
}
