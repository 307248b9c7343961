//! Padding removal for a raw RSA block (the output of `m = c^d mod n`, as a
//! PKCS#11 token's CKM_RSA_X_509 gives it), in constant time: EME-OAEP
//! (RFC 8017 §7.1.2, SHA-1 or SHA-256, empty label) and EME-PKCS1-v1_5
//! (§7.2.2), for a key-transport entry whose key must be one of a few
//! lengths.
//!
//! NOTE: why this exists beside [`super::RsaUnwrapKey`], which lets aws-lc
//! remove the padding: a key held in a token decrypts there, and a token's
//! own CKM_RSA_PKCS / CKM_RSA_PKCS_OAEP answer a bad padding with a
//! different return code, after a different amount of work, which is the
//! Bleichenbacher / Manger oracle itself. So the token only does the raw RSA
//! operation (whose time does not depend on the padding), and the padding is
//! checked here: every check is computed on every byte, combined into one
//! [`Choice`], and the code branches once, on the final verdict, which the
//! caller answers anyway (a key, or the one failure). Which check failed
//! (the leading zero, the hash, the separator, the length) leaves no trace in
//! time or answer.

use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeLess};
use zeroize::Zeroizing;

/// The padding a raw block is expected to carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawPadding {
    Pkcs1v15,
    OaepSha1,
    OaepSha256,
}

/// The message in `block` (exactly the modulus length) if it is padded as
/// `padding` says and its length is one of `lengths`; `None` for every
/// other block, after the same work.
pub(crate) fn unpad(
    block: &[u8],
    padding: RawPadding,
    lengths: &[usize],
) -> Option<Zeroizing<Vec<u8>>> {
    let longest = lengths.iter().copied().max()?;
    let (valid, body) = match padding {
        RawPadding::Pkcs1v15 => pkcs1_body(block)?,
        RawPadding::OaepSha1 => oaep_body::<Sha1>(block)?,
        RawPadding::OaepSha256 => oaep_body::<Sha256>(block)?,
    };
    let room = body.data.len() - body.start;
    if longest >= room {
        return None;
    }
    // After the fixed-size prefix come the padding string, the separator
    // and the message, which is the tail; its length is where the
    // separator is, found without branching on any byte.
    let (valid, len) = message_length(&body, valid);
    let mut allowed = Choice::from(0);
    for &l in lengths {
        allowed |= (len as u64).ct_eq(&(l as u64));
    }
    // The longest message's window, copied whole whatever the length is.
    let tail = Zeroizing::new(body.data[body.data.len() - longest..].to_vec());
    if bool::from(valid & allowed) {
        Some(Zeroizing::new(tail[longest - len..].to_vec()))
    } else {
        None
    }
}

/// A decoded block: its bytes, the same bytes in the shape the separator
/// scan reads (PKCS#1 v1.5's: padding non-zero, separator zero), where the
/// padding string starts, how long it must be at least, and whether a byte
/// of value 2 in the scan is a stray (OAEP's padding is zeros only).
struct Body {
    data: Zeroizing<Vec<u8>>,
    scan: Zeroizing<Vec<u8>>,
    start: usize,
    min_padding: u64,
    strict: Choice,
}

/// EME-PKCS1-v1_5: `00 02 PS 00 M`, PS at least 8 non-zero bytes.
fn pkcs1_body(block: &[u8]) -> Option<(Choice, Body)> {
    if block.len() < 11 {
        return None;
    }
    let valid = block[0].ct_eq(&0) & block[1].ct_eq(&2);
    let body = Body {
        data: Zeroizing::new(block.to_vec()),
        scan: Zeroizing::new(block.to_vec()),
        start: 2,
        min_padding: 8,
        strict: Choice::from(0),
    };
    Some((valid, body))
}

/// EME-OAEP: `00 maskedSeed maskedDB`, DB = `lHash PS 01 M` with PS zeros.
/// The body is DB; its padding string starts after lHash.
fn oaep_body<H: Digest>(block: &[u8]) -> Option<(Choice, Body)> {
    let h = <H as Digest>::output_size();
    if block.len() < 2 * h + 2 {
        return None;
    }
    let (masked_seed, masked_db) = block[1..].split_at(h);
    let mut seed = Zeroizing::new(masked_seed.to_vec());
    mgf1_xor::<H>(masked_db, &mut seed);
    let mut db = Zeroizing::new(masked_db.to_vec());
    mgf1_xor::<H>(&seed, &mut db);
    let label_hash = H::digest([]);
    let valid = block[0].ct_eq(&0) & db[..h].ct_eq(label_hash.as_slice());
    // OAEP's padding is zeros and its separator 01: mapped to v1.5's shape
    // (00 -> 1, 01 -> 0, anything else -> 2, which is a stray before the
    // separator) so that one scan serves both.
    let mut scan = Zeroizing::new(db.to_vec());
    for b in scan[h..].iter_mut() {
        let mut mapped = 2u8;
        mapped.conditional_assign(&1, b.ct_eq(&0));
        mapped.conditional_assign(&0, b.ct_eq(&1));
        *b = mapped;
    }
    let body = Body {
        data: db,
        scan,
        start: h,
        min_padding: 0,
        strict: Choice::from(1),
    };
    Some((valid, body))
}

/// The length of the message after the first zero byte of the scan from
/// the padding string on (the separator), checked: a separator exists, at
/// least `min_padding` bytes precede it, and (OAEP) no stray before it.
/// Constant time in the bytes of the block.
fn message_length(body: &Body, valid: Choice) -> (Choice, usize) {
    let scan = &body.scan[body.start..];
    let mut looking = Choice::from(1);
    let mut separator = 0u64;
    let mut stray = Choice::from(0);
    for (i, b) in scan.iter().enumerate() {
        let is_zero = b.ct_eq(&0);
        separator.conditional_assign(&(i as u64), looking & is_zero);
        stray |= looking & body.strict & b.ct_eq(&2);
        looking &= !is_zero;
    }
    let enough = !separator.ct_lt(&body.min_padding);
    let valid = valid & !looking & !stray & enough;
    // Without a separator `separator` is 0, refused through `valid` alone.
    (valid, scan.len() - 1 - separator as usize)
}

/// XORs MGF1 of `seed` over `out` (RFC 8017 B.2.1).
fn mgf1_xor<H: Digest>(seed: &[u8], out: &mut [u8]) {
    for (counter, chunk) in out.chunks_mut(<H as Digest>::output_size()).enumerate() {
        let mut hasher = H::new();
        hasher.update(seed);
        hasher.update((counter as u32).to_be_bytes());
        let mask = hasher.finalize();
        for (o, m) in chunk.iter_mut().zip(mask.iter()) {
            *o ^= m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rsa_unwrap::tests::{openssl, pkcs1_block};
    use super::*;

    /// `plain` padded by OpenSSL as `opts` says, then opened with alice's
    /// key without padding removal: the raw block a token gives.
    fn raw(plain: &[u8], opts: &[&str]) -> Vec<u8> {
        let enc = super::super::rsa_unwrap::tests::openssl_encrypt(plain, opts);
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("enc");
        std::fs::write(&input, enc).unwrap();
        let key = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/alice.key.pem");
        openssl(&[
            "pkeyutl",
            "-decrypt",
            "-inkey",
            key,
            "-in",
            input.to_str().unwrap(),
            "-pkeyopt",
            "rsa_padding_mode:none",
        ])
    }

    const LENGTHS: [usize; 3] = [16, 24, 32];

    #[test]
    fn removes_openssl_padding_of_every_kind() {
        for len in LENGTHS {
            let key: Vec<u8> = (1..=len as u8).collect();
            for (padding, opts) in [
                (RawPadding::Pkcs1v15, &["rsa_padding_mode:pkcs1"][..]),
                (
                    RawPadding::OaepSha1,
                    &[
                        "rsa_padding_mode:oaep",
                        "rsa_oaep_md:sha1",
                        "rsa_mgf1_md:sha1",
                    ][..],
                ),
                (
                    RawPadding::OaepSha256,
                    &[
                        "rsa_padding_mode:oaep",
                        "rsa_oaep_md:sha256",
                        "rsa_mgf1_md:sha256",
                    ][..],
                ),
            ] {
                let block = raw(&key, opts);
                assert_eq!(block.len(), 256);
                let got = unpad(&block, padding, &LENGTHS).expect("a good block");
                assert_eq!(*got, key, "{padding:?} {len}");
                // Under another padding it is no key.
                for other in [
                    RawPadding::Pkcs1v15,
                    RawPadding::OaepSha1,
                    RawPadding::OaepSha256,
                ] {
                    if other != padding {
                        assert!(
                            unpad(&block, other, &LENGTHS).is_none_or(|k| *k != key),
                            "{padding:?} read as {other:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_every_malformed_pkcs1_block() {
        let key = [0x11u8; 32];
        let good = pkcs1_block(256, 2, &key);
        assert_eq!(*unpad(&good, RawPadding::Pkcs1v15, &LENGTHS).unwrap(), key);
        let mut lead = good.clone();
        lead[0] = 1;
        let bad_type = pkcs1_block(256, 1, &key);
        let odd_length = pkcs1_block(256, 2, &[0x11; 20]);
        let mut no_separator = good.clone();
        no_separator[256 - 33] = 0x5a;
        let mut short_padding = good.clone();
        short_padding[5] = 0; // a separator after 3 padding bytes
        for (name, block) in [
            ("leading byte", lead),
            ("block type", bad_type),
            ("length", odd_length),
            ("no separator", no_separator),
            ("short padding", short_padding),
        ] {
            assert!(
                unpad(&block, RawPadding::Pkcs1v15, &LENGTHS).is_none(),
                "{name}"
            );
        }
    }

    #[test]
    fn refuses_every_malformed_oaep_block() {
        let key: Vec<u8> = (1..=32).collect();
        let opts = [
            "rsa_padding_mode:oaep",
            "rsa_oaep_md:sha256",
            "rsa_mgf1_md:sha256",
        ];
        let good = raw(&key, &opts);
        let mut lead = good.clone();
        lead[0] = 1;
        let mut seed = good.clone();
        seed[5] ^= 1;
        let mut db = good.clone();
        db[100] ^= 1;
        let odd = raw(&[7u8; 20], &opts);
        for (name, block) in [
            ("leading byte", lead),
            ("seed", seed),
            ("data block", db),
            ("length", odd),
        ] {
            assert!(
                unpad(&block, RawPadding::OaepSha256, &LENGTHS).is_none(),
                "{name}"
            );
        }
    }

    /// EME-OAEP SHA-256 encoding (RFC 8017 §7.1.1) of `db_tail` (what
    /// follows lHash in DB) with a fixed seed, for blocks OpenSSL will not make.
    fn oaep_block(db_tail: &[u8]) -> Vec<u8> {
        let mut db = Sha256::digest([]).to_vec();
        db.extend_from_slice(db_tail);
        let mut seed = vec![0x3cu8; 32];
        mgf1_xor::<Sha256>(&seed, &mut db);
        mgf1_xor::<Sha256>(&db, &mut seed);
        let mut block = vec![0u8];
        block.extend_from_slice(&seed);
        block.extend_from_slice(&db);
        block
    }

    #[test]
    fn an_oaep_padding_string_must_be_zeros_up_to_the_separator() {
        let key = [0x42u8; 32];
        let ps_len = 256 - 1 - 2 * 32 - 1 - key.len();
        let db = |ps: &[u8]| [ps, &[1u8], &key[..]].concat();
        let zeros = vec![0u8; ps_len];
        let got = unpad(&oaep_block(&db(&zeros)), RawPadding::OaepSha256, &LENGTHS);
        assert_eq!(*got.expect("a good block"), key);
        // A stray byte in the padding string, the length still a key's.
        for stray in [2u8, 0x80, 0xff] {
            let mut ps = zeros.clone();
            ps[7] = stray;
            let block = oaep_block(&db(&ps));
            assert!(
                unpad(&block, RawPadding::OaepSha256, &LENGTHS).is_none(),
                "stray {stray:#x}"
            );
        }
        // No separator at all.
        let block = oaep_block(&vec![0u8; ps_len + 1 + key.len()]);
        assert!(unpad(&block, RawPadding::OaepSha256, &LENGTHS).is_none());
    }
}
