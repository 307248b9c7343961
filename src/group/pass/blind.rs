//! RSA blind signatures, RFC 9474, variant RSABSSA-SHA384-PSS-Randomized
//! (§5, the one the RFC recommends): SHA-384, MGF1-SHA-384, a 48-byte salt,
//! and a 32-byte random message prefix added by [`prepare`]. The member
//! [`BlindPublicKey::blind`]s a message, the issuer
//! [`BlindSigningKey::blind_sign`]s what it cannot read, the member
//! [`BlindPublicKey::finalize`]s that into an ordinary RSASSA-PSS signature,
//! and anyone [`BlindPublicKey::verify`]s it. Randomness comes in as an
//! argument, so the tests replay the RFC's Appendix A vector.
//!
//! Arithmetic, and why it is safe where it runs:
//!
//! - The issuer's private operation runs on a number the member chose, so
//!   it is aws-lc's constant-time, blinded `RSA_sign_raw` (see `raw.rs`);
//!   the result is checked with the public operation before it leaves
//!   (§4.3: a faulty CRT result would reveal a factor of `n`). aws-lc runs
//!   the same check inside; ours is the RFC's, kept so the guarantee does
//!   not rest on a library detail.
//! - The member's side (`r^e`, `r^-1`, two modular products) uses
//!   num-bigint-dig, which is not constant-time. That is acceptable because
//!   it involves no long-lived secret: `r` is fresh for every pass and used
//!   once in `blind` and once in `finalize`, so a timing observer gets one
//!   sample per secret, where timing attacks need thousands of measurements
//!   of the same one; and nothing the member computes is timed by anyone but
//!   the member (the issuer only sees when a request arrives, after network
//!   jitter far larger than a multiplication's variation). `r` and `r^-1`
//!   are zeroized when dropped (num-bigint-dig's temporaries are not: an
//!   accepted limit, as their exposure needs a memory read on the member's
//!   machine, which holds the pass key itself anyway).
//!
//! May use: `raw.rs` (the FFI), aws-lc-rs (PSS verification: public
//! values only), num-bigint-dig, sha2.

use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PSS_2048_8192_SHA384};
use num_bigint_dig::{BigUint, ModInverse};
use rand_core::CryptoRngCore;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha384};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::raw::RawRsaKey;

/// SHA-384's output length, which is also the salt length (`sLen`).
const HASH_LEN: usize = 48;
/// The salt length of RSABSSA-SHA384-PSS-Randomized.
pub const SALT_LEN: usize = 48;
/// The length of the random prefix [`prepare`] adds (§4.1).
pub const PREFIX_LEN: usize = 32;
/// Issuing keys accepted: from RSA-2048 (the RFC's floor) to RSA-4096 (a
/// bound on what a verifier spends on one pass).
pub const MIN_BITS: usize = 2048;
pub const MAX_BITS: usize = 4096;

/// Why a blind-signature step refused. Distinct variants for the tests and
/// the callers' messages; none carries a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlindError {
    /// The key is not RSA of 2048 to 4096 bits, or aws-lc refused it.
    Key,
    /// An input is not exactly the modulus length.
    Length,
    /// A blinded message or blind signature is not below the modulus (or,
    /// given to the issuer, is 0, 1 or n - 1).
    Range,
    /// The encoded message shares a factor with `n`, or `r` has no
    /// inverse (§4.2 "invalid input" / "blinding error": negligible odds).
    Invertible,
    /// The private operation failed or its result did not check out (§4.3).
    Signing,
    /// The signature does not verify.
    Verify,
}

impl std::fmt::Display for BlindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BlindError::Key => "the issuing key is not RSA of 2048 to 4096 bits",
            BlindError::Length => "a blind-signature value is not the modulus length",
            BlindError::Range => "a blind-signature value is not below the modulus",
            BlindError::Invertible => "the message cannot be blinded under this key",
            BlindError::Signing => "the blind signature failed its own check",
            BlindError::Verify => "the signature does not verify under the issuing key",
        })
    }
}

impl std::error::Error for BlindError {}

/// A message with its random prefix (`input_msg` of §4.1): what the final
/// signature is over and what a verifier needs.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedMessage(Vec<u8>);

impl PreparedMessage {
    /// Rebuilds the prepared message from its parts, as a verifier does.
    pub fn from_parts(prefix: &[u8; PREFIX_LEN], msg: &[u8]) -> PreparedMessage {
        let mut bytes = Vec::with_capacity(PREFIX_LEN + msg.len());
        bytes.extend_from_slice(prefix);
        bytes.extend_from_slice(msg);
        PreparedMessage(bytes)
    }

    /// The random prefix.
    pub fn prefix(&self) -> &[u8] {
        &self.0[..PREFIX_LEN]
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Prepare (§4.1, randomized): 32 random bytes, then the message.
pub fn prepare(rng: &mut impl CryptoRngCore, msg: &[u8]) -> PreparedMessage {
    let mut prefix = [0u8; PREFIX_LEN];
    rng.fill_bytes(&mut prefix);
    PreparedMessage::from_parts(&prefix, msg)
}

/// The member's secret between [`BlindPublicKey::blind`] and
/// [`BlindPublicKey::finalize`]: `r^-1 mod n`. Whoever learns it can link the
/// blinded message to the final signature, so it is wiped on drop.
pub struct BlindingSecret {
    inv: BigUint,
}

impl Drop for BlindingSecret {
    fn drop(&mut self) {
        self.inv.zeroize();
    }
}

/// An issuing public key: the modulus and exponent, for blinding,
/// finalizing and verifying.
#[derive(Clone, PartialEq, Eq)]
pub struct BlindPublicKey {
    n: BigUint,
    e: BigUint,
    /// Modulus length in bytes (`modulus_len`, k).
    k: usize,
    bits: usize,
}

impl BlindPublicKey {
    /// Takes an RSA public key of [`MIN_BITS`] to [`MAX_BITS`].
    pub fn new(key: &rsa::RsaPublicKey) -> Result<BlindPublicKey, BlindError> {
        let n = BigUint::from_bytes_be(&key.n().to_bytes_be());
        let e = BigUint::from_bytes_be(&key.e().to_bytes_be());
        let bits = n.bits();
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(BlindError::Key);
        }
        Ok(BlindPublicKey {
            k: bits.div_ceil(8),
            n,
            e,
            bits,
        })
    }

    /// The modulus length in bytes: the length of a blinded message, a
    /// blind signature and a signature.
    pub fn modulus_len(&self) -> usize {
        self.k
    }

    /// Blind (§4.2) with fresh randomness: the blinded message for the
    /// issuer, and the secret [`Self::finalize`] needs.
    pub fn blind(
        &self,
        rng: &mut impl CryptoRngCore,
        msg: &PreparedMessage,
    ) -> Result<(Vec<u8>, BlindingSecret), BlindError> {
        let mut salt = Zeroizing::new([0u8; SALT_LEN]);
        rng.fill_bytes(&mut salt[..]);
        let mut r = self.random_below_n(rng);
        let result = self.blind_with(msg, &salt, &r);
        r.zeroize();
        result
    }

    /// Blind with a chosen salt and `r` (the RFC vectors fix both).
    fn blind_with(
        &self,
        msg: &PreparedMessage,
        salt: &[u8; SALT_LEN],
        r: &BigUint,
    ) -> Result<(Vec<u8>, BlindingSecret), BlindError> {
        let encoded = emsa_pss_encode(msg.as_bytes(), self.bits - 1, salt)?;
        let m = BigUint::from_bytes_be(&encoded);
        // gcd(m, n) == 1 exactly when m has an inverse mod n.
        if m.clone().mod_inverse(&self.n).is_none() {
            return Err(BlindError::Invertible);
        }
        let inv = BlindingSecret {
            inv: r
                .clone()
                .mod_inverse(&self.n)
                .and_then(|i| i.to_biguint())
                .ok_or(BlindError::Invertible)?,
        };
        let mut x = r.modpow(&self.e, &self.n);
        let z = (&m * &x) % &self.n;
        x.zeroize();
        Ok((self.i2osp(&z), inv))
    }

    /// Finalize (§4.4): unblinds the issuer's answer and verifies it, so a
    /// wrong or malicious answer never becomes a pass.
    pub fn finalize(
        &self,
        msg: &PreparedMessage,
        blind_sig: &[u8],
        secret: BlindingSecret,
    ) -> Result<Vec<u8>, BlindError> {
        let z = self.os2ip_below_n(blind_sig)?;
        let s = (&z * &secret.inv) % &self.n;
        let sig = self.i2osp(&s);
        self.verify(msg, &sig)?;
        Ok(sig)
    }

    /// Verify (§4.5): RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte
    /// salt over the prepared message.
    pub fn verify(&self, msg: &PreparedMessage, sig: &[u8]) -> Result<(), BlindError> {
        if sig.len() != self.k {
            return Err(BlindError::Length);
        }
        // aws-lc-rs's PSS verification takes the salt length to be the
        // digest length, which is this variant's 48.
        let n = self.n.to_bytes_be();
        let e = self.e.to_bytes_be();
        RsaPublicKeyComponents { n: &n, e: &e }
            .verify(&RSA_PSS_2048_8192_SHA384, msg.as_bytes(), sig)
            .map_err(|_| BlindError::Verify)
    }

    /// `random_integer_uniform(1, n)`: rejection sampling over the bit
    /// length of `n` (each draw succeeds with probability above 1/2).
    fn random_below_n(&self, rng: &mut impl CryptoRngCore) -> BigUint {
        let mut bytes = Zeroizing::new(vec![0u8; self.k]);
        let excess = self.k * 8 - self.bits;
        loop {
            rng.fill_bytes(&mut bytes);
            bytes[0] &= 0xff >> excess;
            let mut r = BigUint::from_bytes_be(&bytes);
            if r != BigUint::default() && r < self.n {
                return r;
            }
            r.zeroize();
        }
    }

    /// A modulus-length value as an integer below `n` (a blinded message
    /// or blind signature from the other side).
    fn os2ip_below_n(&self, bytes: &[u8]) -> Result<BigUint, BlindError> {
        if bytes.len() != self.k {
            return Err(BlindError::Length);
        }
        let v = BigUint::from_bytes_be(bytes);
        if v >= self.n {
            return Err(BlindError::Range);
        }
        Ok(v)
    }

    /// I2OSP to the modulus length (`v < n`, so it always fits).
    fn i2osp(&self, v: &BigUint) -> Vec<u8> {
        let bytes = v.to_bytes_be();
        let mut out = vec![0u8; self.k];
        out[self.k - bytes.len()..].copy_from_slice(&bytes);
        out
    }
}

/// An issuing private key, in aws-lc, with its public half.
pub struct BlindSigningKey {
    raw: RawRsaKey,
    public: BlindPublicKey,
}

impl BlindSigningKey {
    /// Loads `key` (2048 to 4096 bits) into aws-lc; the PKCS#1 DER passed
    /// over is wiped when dropped.
    pub fn new(key: &rsa::RsaPrivateKey) -> Result<BlindSigningKey, BlindError> {
        let public = BlindPublicKey::new(key.as_ref())?;
        let der = key.to_pkcs1_der().map_err(|_| BlindError::Key)?;
        let raw = RawRsaKey::from_pkcs1_der(der.as_bytes()).ok_or(BlindError::Key)?;
        if raw.size() != public.k {
            return Err(BlindError::Key);
        }
        Ok(BlindSigningKey { raw, public })
    }

    pub fn public(&self) -> &BlindPublicKey {
        &self.public
    }

    /// BlindSign (§4.3): the raw private operation on the member's blinded
    /// message, checked with the public operation before it is returned.
    /// The input is range-checked (length, below `n`) before aws-lc sees it.
    pub fn blind_sign(&self, blinded_msg: &[u8]) -> Result<Vec<u8>, BlindError> {
        // 0, 1 and n - 1, too: aws-lc refuses them (each is its own
        // signature up to sign), and no member's blinded message is one but
        // with negligible odds.
        let v = self.public.os2ip_below_n(blinded_msg)?;
        let two = BigUint::from(2u8);
        if v < two || v + 1u8 == self.public.n {
            return Err(BlindError::Range);
        }
        let mut sig = vec![0u8; self.public.k];
        if !self.raw.private(blinded_msg, &mut sig) {
            return Err(BlindError::Signing);
        }
        let mut check = vec![0u8; self.public.k];
        if !self.raw.public(&sig, &mut check) || !bool::from(check.ct_eq(blinded_msg)) {
            return Err(BlindError::Signing);
        }
        Ok(sig)
    }
}

/// EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with SHA-384, MGF1-SHA-384 and the
/// given salt, for `em_bits` = modulus bits - 1.
fn emsa_pss_encode(msg: &[u8], em_bits: usize, salt: &[u8]) -> Result<Vec<u8>, BlindError> {
    let em_len = em_bits.div_ceil(8);
    if em_len < HASH_LEN + salt.len() + 2 {
        return Err(BlindError::Key);
    }
    let m_hash = Sha384::digest(msg);
    let h = Sha384::new()
        .chain_update([0u8; 8])
        .chain_update(m_hash)
        .chain_update(salt)
        .finalize();
    let db_len = em_len - HASH_LEN - 1;
    let mut em = vec![0u8; em_len];
    // DB = PS || 0x01 || salt, masked with MGF1(H).
    em[db_len - salt.len() - 1] = 0x01;
    em[db_len - salt.len()..db_len].copy_from_slice(salt);
    mgf1_xor(&mut em[..db_len], &h);
    em[0] &= 0xff >> (8 * em_len - em_bits);
    em[db_len..em_len - 1].copy_from_slice(&h);
    em[em_len - 1] = 0xbc;
    Ok(em)
}

/// XORs MGF1-SHA-384(seed) into `out`.
fn mgf1_xor(out: &mut [u8], seed: &[u8]) {
    for (counter, chunk) in out.chunks_mut(HASH_LEN).enumerate() {
        let block = Sha384::new()
            .chain_update(seed)
            .chain_update((counter as u32).to_be_bytes())
            .finalize();
        for (o, b) in chunk.iter_mut().zip(block.iter()) {
            *o ^= b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;
    use rsa::pkcs8::DecodePrivateKey;

    /// RFC 9474 Appendix A's RSABSSA-SHA384-PSS-Randomized vector (source
    /// named in the file).
    struct Vector(serde_json::Value);

    impl Vector {
        fn load() -> Vector {
            Vector(serde_json::from_str(include_str!("testdata/rfc9474-a1.json")).unwrap())
        }
        fn bytes(&self, name: &str) -> Vec<u8> {
            hex::decode(self.0[name].as_str().unwrap()).unwrap()
        }
        fn int(&self, name: &str) -> BigUint {
            BigUint::from_bytes_be(&self.bytes(name))
        }
        fn rsa_int(&self, name: &str) -> rsa::BigUint {
            rsa::BigUint::from_bytes_be(&self.bytes(name))
        }
        fn private_key(&self) -> rsa::RsaPrivateKey {
            rsa::RsaPrivateKey::from_components(
                self.rsa_int("n"),
                self.rsa_int("e"),
                self.rsa_int("d"),
                vec![self.rsa_int("p"), self.rsa_int("q")],
            )
            .unwrap()
        }
        fn prepared(&self) -> PreparedMessage {
            let prefix: [u8; PREFIX_LEN] = self.bytes("msg_prefix").try_into().unwrap();
            PreparedMessage::from_parts(&prefix, &self.bytes("msg"))
        }
    }

    /// The vector's key as a signer.
    fn vector_signer() -> BlindSigningKey {
        BlindSigningKey::new(&Vector::load().private_key()).unwrap()
    }

    /// Blinds `msg` under `signer`'s key and has it signed: the blinded
    /// message, the member's secret and the issuer's answer.
    fn blind_signed(
        signer: &BlindSigningKey,
        msg: &PreparedMessage,
    ) -> (Vec<u8>, BlindingSecret, Vec<u8>) {
        let (blinded, secret) = signer.public().blind(&mut OsRng, msg).unwrap();
        let answer = signer.blind_sign(&blinded).unwrap();
        (blinded, secret, answer)
    }

    fn other_key() -> rsa::RsaPrivateKey {
        rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("../../../tests/data/alice.key.pem"))
            .unwrap()
    }

    #[test]
    fn rfc9474_vector_blind_sign_finalize_verify() {
        let v = Vector::load();
        let signer = BlindSigningKey::new(&v.private_key()).unwrap();
        let public = signer.public();
        let msg = v.prepared();
        assert_eq!(msg.as_bytes(), &v.bytes("input_msg")[..]);

        // r is the inverse of the vector's inv.
        let r = v
            .int("inv")
            .mod_inverse(&public.n)
            .and_then(|i| i.to_biguint())
            .unwrap();
        let salt: [u8; SALT_LEN] = v.bytes("salt").try_into().unwrap();
        let (blinded, secret) = public.blind_with(&msg, &salt, &r).unwrap();
        assert_eq!(blinded, v.bytes("blinded_msg"));
        assert_eq!(secret.inv, v.int("inv"));

        let blind_sig = signer.blind_sign(&blinded).unwrap();
        assert_eq!(blind_sig, v.bytes("blind_sig"));

        let sig = public.finalize(&msg, &blind_sig, secret).unwrap();
        assert_eq!(sig, v.bytes("sig"));
        public.verify(&msg, &sig).unwrap();
    }

    #[test]
    fn random_round_trip_and_fresh_values() {
        let signer = vector_signer();
        let public = signer.public();
        let msg = prepare(&mut OsRng, b"a pass body");
        let (b1, s1, a1) = blind_signed(&signer, &msg);
        let (b2, s2, a2) = blind_signed(&signer, &msg);
        // The same message blinds differently every time.
        assert_ne!(b1, b2);
        for (secret, answer) in [(s1, a1), (s2, a2)] {
            let sig = public.finalize(&msg, &answer, secret).unwrap();
            public.verify(&msg, &sig).unwrap();
        }
    }

    #[test]
    fn finalize_refuses_a_wrong_answer_and_verify_a_wrong_message() {
        let signer = vector_signer();
        let public = signer.public();
        let msg = prepare(&mut OsRng, b"pass");
        let (_, secret, mut answer) = blind_signed(&signer, &msg);
        answer[10] ^= 1;
        assert_eq!(
            public.finalize(&msg, &answer, secret).err(),
            Some(BlindError::Verify)
        );

        let (_, secret, answer) = blind_signed(&signer, &msg);
        let sig = public.finalize(&msg, &answer, secret).unwrap();
        let other = prepare(&mut OsRng, b"pass");
        assert_eq!(public.verify(&other, &sig), Err(BlindError::Verify));
        assert_eq!(public.verify(&msg, &sig[1..]), Err(BlindError::Length));
    }

    #[test]
    fn blind_sign_range_checks_before_the_private_operation() {
        let signer = vector_signer();
        let k = signer.public().modulus_len();
        assert_eq!(
            signer.blind_sign(&vec![1u8; k - 1]),
            Err(BlindError::Length)
        );
        assert_eq!(
            signer.blind_sign(&vec![1u8; k + 1]),
            Err(BlindError::Length)
        );
        assert_eq!(signer.blind_sign(&vec![0xffu8; k]), Err(BlindError::Range));
        let zero = signer.public().i2osp(&BigUint::default());
        let mut n_bytes = signer.public().n.to_bytes_be();
        assert_eq!(n_bytes.len(), zero.len());
        assert_eq!(signer.blind_sign(&n_bytes), Err(BlindError::Range));
        // The values that are their own signatures, up to sign: 0, 1, n - 1.
        *n_bytes.last_mut().unwrap() -= 1;
        assert_eq!(signer.blind_sign(&n_bytes), Err(BlindError::Range));
        assert_eq!(signer.blind_sign(&zero), Err(BlindError::Range));
        let mut small = zero.clone();
        *small.last_mut().unwrap() = 1;
        assert_eq!(signer.blind_sign(&small), Err(BlindError::Range));
        *small.last_mut().unwrap() = 2;
        signer.blind_sign(&small).unwrap();
    }

    #[test]
    fn a_signature_under_another_key_does_not_verify() {
        let signer = BlindSigningKey::new(&other_key()).unwrap();
        let bob =
            rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("../../../tests/data/bob.key.pem"))
                .unwrap();
        let theirs = BlindPublicKey::new(&rsa::RsaPublicKey::from(&bob)).unwrap();
        let msg = prepare(&mut OsRng, b"pass");
        let (_, secret, answer) = blind_signed(&signer, &msg);
        let sig = signer.public().finalize(&msg, &answer, secret).unwrap();
        assert_eq!(theirs.verify(&msg, &sig), Err(BlindError::Verify));
    }

    #[test]
    fn small_keys_are_refused() {
        let small = rsa::RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
        assert_eq!(BlindSigningKey::new(&small).err(), Some(BlindError::Key));
    }
}
