//! Streamed encryption, opening and framing checked against the one-shot
//! [`ContentKey::encrypt`](crate::smime::envelope::ContentKey::encrypt) and
//! [`Envelope::parse`](crate::smime::envelope::Envelope::parse).

use super::cipher::{Aead, Direction};
use super::*;
use crate::smime::envelope::content::{ContentCipher, ContentKey};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

fn one_shot(cek: &ContentKey, iv: &[u8], data: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    // ContentKey::encrypt draws the IV from the rng: a fixed-output rng reproduces it.
    struct Fixed(Vec<u8>);
    impl rand_core::RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            dest.copy_from_slice(&self.0[..dest.len()]);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl rand_core::CryptoRng for Fixed {}
    let enc = cek.encrypt(data, &mut Fixed(iv.to_vec())).unwrap();
    (
        enc.info()
            .encrypted_content
            .as_ref()
            .unwrap()
            .as_bytes()
            .to_vec(),
        enc.mac().map(<[u8]>::to_vec),
    )
}

fn chunked(rng: &mut StdRng, data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let n = rng.gen_range(0..=(data.len() - at).min(70_000));
        out.push(at..at + n);
        at += n;
    }
    out
}

#[test]
fn streaming_matches_one_shot_for_random_lengths_and_chunkings() {
    let mut rng = StdRng::seed_from_u64(7);
    for cipher in ContentCipher::FOR_ENCRYPTION {
        for round in 0..40 {
            let len = match round {
                0 => 0,
                1 => 1,
                2 => 15,
                3 => 16,
                4 => 17,
                _ => rng.gen_range(0..200_000),
            };
            let mut data = vec![0u8; len];
            rng.fill_bytes(&mut data);
            let cek = ContentKey::generate(cipher, &mut rng).unwrap();
            let mut iv = vec![0u8; if cipher.is_authenticated() { 12 } else { 16 }];
            rng.fill_bytes(&mut iv);
            let (expected_ct, expected_mac) = one_shot(&cek, &iv, &data);

            let mut enc = cek.encryptor_with(&iv).unwrap();
            let mut ct = Vec::new();
            for r in chunked(&mut rng, &data) {
                enc.update(&data[r], &mut ct).unwrap();
            }
            let done = enc.finish(&mut ct).unwrap();
            assert_eq!(ct, expected_ct, "{cipher} len {len}");
            assert_eq!(
                done.mac.map(|m| m.to_vec()),
                expected_mac,
                "{cipher} len {len}"
            );
            assert_eq!(done.len, ct.len() as u64);

            // Verify, then decrypt, in other random chunkings.
            let mac = done.mac.as_ref().map(|m| &m[..]);
            let mut v =
                ContentVerifier::new(&cek, &done.alg, cipher.is_authenticated(), &[]).unwrap();
            for r in chunked(&mut rng, &ct) {
                v.update(&ct[r]).unwrap();
            }
            v.finish(mac).unwrap();
            let mut d =
                ContentDecryptor::new(&cek, &done.alg, cipher.is_authenticated(), &[]).unwrap();
            let mut plain = Vec::new();
            for r in chunked(&mut rng, &ct) {
                d.update(&ct[r], &mut plain).unwrap();
            }
            d.finish(mac, &mut plain).unwrap();
            assert_eq!(plain, data, "{cipher} len {len}");

            // A flipped bit fails GCM verification.
            if cipher.is_authenticated() && !ct.is_empty() {
                let mut bad = ct.clone();
                let i = rng.gen_range(0..bad.len());
                bad[i] ^= 1 << rng.gen_range(0..8);
                let mut v = ContentVerifier::new(&cek, &done.alg, true, &[]).unwrap();
                v.update(&bad).unwrap();
                assert!(v.finish(mac).is_err());
            }
        }
    }
}

/// The streamed AEADs with AAD against the crates that do them in one go:
/// aes-gcm and chacha20poly1305.
#[test]
fn aead_with_aad_matches_the_one_shot_crates() {
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    fn one_shot<A: AeadInPlace + KeyInit>(key: &[u8], aad: &[u8], buf: &mut [u8]) -> Vec<u8> {
        let nonce = aes_gcm::aead::Nonce::<A>::from_slice(&[9u8; 12]);
        A::new_from_slice(key)
            .unwrap()
            .encrypt_in_place_detached(nonce, aad, buf)
            .unwrap()
            .to_vec()
    }
    let mut rng = StdRng::seed_from_u64(9);
    for cipher in [ContentCipher::Aes256Gcm, ContentCipher::ChaCha20Poly1305] {
        for len in [0usize, 5, 16, 33, 64, 1000] {
            let mut key = [0u8; 32];
            rng.fill_bytes(&mut key);
            let aad: Vec<u8> = (0..len as u8).collect();
            let mut data = vec![0u8; len * 3];
            rng.fill_bytes(&mut data);
            let mut buf = data.clone();
            let tag = match cipher {
                ContentCipher::Aes256Gcm => one_shot::<aes_gcm::Aes256Gcm>(&key, &aad, &mut buf),
                _ => one_shot::<chacha20poly1305::ChaCha20Poly1305>(&key, &aad, &mut buf),
            };
            let mut a = Aead::new(cipher, &key, &[9u8; 12], &aad, Direction::Seal).unwrap();
            let mut mine = data.clone();
            a.encrypt(&mut mine).unwrap();
            assert_eq!(mine, buf, "{cipher} {len}");
            assert_eq!(a.tag().unwrap()[..], tag[..], "{cipher} {len}");
        }
    }
}

/// RFC 8439 §2.8.2, the AEAD test vector: the hand-composed ChaCha20 +
/// Poly1305 must give its ciphertext and tag, in one piece and chunked, and
/// open it again.
#[test]
fn chacha20_poly1305_matches_rfc8439_vector() {
    let key: Vec<u8> = (0x80..=0x9fu8).collect();
    let nonce = hex::decode("070000004041424344454647").unwrap();
    let aad = hex::decode("50515253c0c1c2c3c4c5c6c7").unwrap();
    let plain = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let expected = hex::decode(concat!(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6",
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36",
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc",
        "3ff4def08e4b7a9de576d26586cec64b6116"
    ))
    .unwrap();
    let expected_tag = hex::decode("1ae10b594f09e26a7e902ecbd0600691").unwrap();
    for split in [plain.len(), 1, 16, 63, 64, 65] {
        let mut a = Aead::new(
            ContentCipher::ChaCha20Poly1305,
            &key,
            &nonce,
            &aad,
            Direction::Seal,
        )
        .unwrap();
        let mut ct = plain.to_vec();
        let (x, y) = ct.split_at_mut(split.min(plain.len()));
        a.encrypt(x).unwrap();
        a.encrypt(y).unwrap();
        assert_eq!(ct, expected, "split at {split}");
        assert_eq!(a.tag().unwrap()[..], expected_tag[..], "split at {split}");
    }
    let mut a = Aead::new(
        ContentCipher::ChaCha20Poly1305,
        &key,
        &nonce,
        &aad,
        Direction::Open,
    )
    .unwrap();
    let mut back = expected.clone();
    a.decrypt(&mut back).unwrap();
    assert_eq!(back, plain);
    assert_eq!(a.tag().unwrap()[..], expected_tag[..]);
}

#[test]
fn cbc_padding_is_checked_in_pass_one() {
    let mut rng = StdRng::seed_from_u64(3);
    let cek = ContentKey::generate(ContentCipher::Aes256Cbc, &mut rng).unwrap();
    let mut enc = cek.encryptor(&mut rng).unwrap();
    let mut ct = Vec::new();
    enc.update(&[1u8; 100], &mut ct).unwrap();
    let done = enc.finish(&mut ct).unwrap();
    let mut v = ContentVerifier::new(&cek, &done.alg, false, &[]).unwrap();
    v.update(&ct).unwrap();
    v.finish(None).unwrap();
    // Damage the second-to-last block: the last block's padding changes.
    let n = ct.len();
    let mut bad = ct.clone();
    bad[n - 17] ^= 0x40;
    let mut v = ContentVerifier::new(&cek, &done.alg, false, &[]).unwrap();
    v.update(&bad).unwrap();
    assert!(v.finish(None).is_err());
    // Truncated to a non-multiple of the block size.
    let mut v = ContentVerifier::new(&cek, &done.alg, false, &[]).unwrap();
    v.update(&ct[..n - 3]).unwrap();
    assert!(v.finish(None).is_err());
}

/// The aes-gcm crate's one-shot seal with a 12-byte nonce: ciphertext, tag.
fn aes_gcm_one_shot(key: &[u8], nonce: &[u8], aad: &[u8], data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    fn seal<A: AeadInPlace + KeyInit>(k: &[u8], n: &[u8], aad: &[u8], buf: &mut [u8]) -> Vec<u8> {
        A::new_from_slice(k)
            .unwrap()
            .encrypt_in_place_detached(aes_gcm::aead::Nonce::<A>::from_slice(n), aad, buf)
            .unwrap()
            .to_vec()
    }
    let mut buf = data.to_vec();
    let tag = match key.len() {
        16 => seal::<aes_gcm::Aes128Gcm>(key, nonce, aad, &mut buf),
        24 => seal::<aes_gcm::AesGcm<aes_gcm::aes::Aes192, aes_gcm::aead::consts::U12>>(
            key, nonce, aad, &mut buf,
        ),
        _ => seal::<aes_gcm::Aes256Gcm>(key, nonce, aad, &mut buf),
    };
    (buf, tag)
}

/// Streamed AES-GCM (aws-lc) against the aes-gcm crate's one-shot output,
/// for random keys of every size, nonces, AAD, lengths (0, 1, around and
/// not at multiples of 16, up to 300 KB) and chunkings (empty chunks
/// included); then opened again in other chunkings, with the tag cut to
/// every length from 12 to 16.
#[test]
fn streamed_gcm_matches_the_one_shot_aes_gcm_crate() {
    let mut rng = StdRng::seed_from_u64(13);
    let ciphers = [
        ContentCipher::Aes128Gcm,
        ContentCipher::Aes192Gcm,
        ContentCipher::Aes256Gcm,
    ];
    for round in 0..150 {
        let cipher = ciphers[round % 3];
        let len = match round / 3 {
            0 => 0,
            1 => 1,
            2 => 15,
            3 => 16,
            4 => 17,
            5 => 4095,
            6 => 65_537,
            _ => rng.gen_range(0..300_000),
        };
        let mut key = vec![0u8; cipher.key_len()];
        let mut nonce = [0u8; 12];
        let mut data = vec![0u8; len];
        let mut aad = vec![0u8; rng.gen_range(0..100)];
        for b in [&mut key[..], &mut nonce, &mut data, &mut aad] {
            rng.fill_bytes(b);
        }
        let (expected, expected_tag) = aes_gcm_one_shot(&key, &nonce, &aad, &data);

        let mut a = Aead::new(cipher, &key, &nonce, &aad, Direction::Seal).unwrap();
        let mut ct = data.clone();
        for r in chunked(&mut rng, &data) {
            a.encrypt(&mut ct[r]).unwrap();
        }
        assert_eq!(ct, expected, "{cipher} len {len}");
        let tag = a.tag().unwrap();
        assert_eq!(tag[..], expected_tag[..], "{cipher} len {len}");

        let icv_len = 12 + round % 5;
        let mut v = Aead::new(cipher, &key, &nonce, &aad, Direction::Open).unwrap();
        for r in chunked(&mut rng, &ct) {
            v.authenticate(&ct[r]).unwrap();
        }
        v.verify(&tag[..icv_len]).unwrap();
        let mut d = Aead::new(cipher, &key, &nonce, &aad, Direction::Open).unwrap();
        let mut plain = ct.clone();
        for r in chunked(&mut rng, &ct) {
            d.decrypt(&mut plain[r]).unwrap();
        }
        assert_eq!(plain, data, "{cipher} len {len}");
        d.verify(&tag[..icv_len]).unwrap();
    }
}

/// Every way a GCM envelope can be wrong gives today's errors: a changed
/// tag, ciphertext, AAD or truncation is the one uniform "decryption failed"
/// (DataErr) from pass one and from pass two's recheck; a missing tag or one
/// of another length than the parameters name is "malformed".
#[test]
fn gcm_tag_mismatch_is_the_uniform_decryption_failure() {
    use crate::error::{classify, single_line, Exit};
    let uniform = |e: anyhow::Error| {
        assert_eq!(classify(&e).0, Exit::DataErr);
        assert_eq!(
            single_line(&e),
            single_line(&super::failed()),
            "not the uniform failure"
        );
    };
    let mut rng = StdRng::seed_from_u64(21);
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut rng).unwrap();
    let aad = b"authenticated attributes".to_vec();
    let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let mut enc = cek.encryptor(&mut rng).unwrap();
    let mut ct = Vec::new();
    enc.update(&data, &mut ct).unwrap();
    let done = enc.finish(&mut ct).unwrap();
    // The encryptor writes no AAD; seal again with AAD for the AAD case.
    let mut with_aad = data.clone();
    let nonce = aead_parameters_nonce(&done.alg);
    let mut a = Aead::new(cek.cipher(), cek.bytes(), &nonce, &aad, Direction::Seal).unwrap();
    a.encrypt(&mut with_aad).unwrap();
    let aad_tag = a.tag().unwrap();
    let tag = done.mac.unwrap();

    let open =
        |ct: &[u8], mac: Option<&[u8]>, aad: &[u8]| -> (anyhow::Result<()>, anyhow::Result<()>) {
            let mut v = ContentVerifier::new(&cek, &done.alg, true, aad).unwrap();
            let one = v.update(ct).and_then(|()| v.finish(mac));
            let mut d = ContentDecryptor::new(&cek, &done.alg, true, aad).unwrap();
            let mut out = Vec::new();
            let two = d
                .update(ct, &mut out)
                .and_then(|()| d.finish(mac, &mut out));
            (one, two)
        };
    let (one, two) = open(&ct, Some(&tag), &[]);
    one.unwrap();
    two.unwrap();
    let (one, two) = open(&with_aad, Some(&aad_tag), &aad);
    one.unwrap();
    two.unwrap();

    let mut bad_tag = tag;
    bad_tag[15] ^= 0x80;
    let mut bad_ct = ct.clone();
    bad_ct[500] ^= 1;
    for (what, ct, mac, aad) in [
        ("tag", &ct[..], &bad_tag[..], &[][..]),
        ("ciphertext", &bad_ct[..], &tag[..], &[][..]),
        ("truncated", &ct[..999], &tag[..], &[][..]),
        ("aad", &with_aad[..], &aad_tag[..], &b"other attributes"[..]),
        ("aad missing", &with_aad[..], &aad_tag[..], &[][..]),
    ] {
        let (one, two) = open(ct, Some(mac), aad);
        uniform(one.expect_err(what));
        uniform(two.expect_err(what));
    }
    for mac in [None, Some(&tag[..12])] {
        let (one, two) = open(&ct, mac, &[]);
        for e in [one.unwrap_err(), two.unwrap_err()] {
            assert_eq!(classify(&e).0, Exit::DataErr);
            assert!(single_line(&e).contains("malformed"), "{e}");
        }
    }
}

fn aead_parameters_nonce(alg: &spki::AlgorithmIdentifierOwned) -> Vec<u8> {
    crate::smime::envelope::content::aead_parameters(ContentCipher::Aes256Gcm, alg)
        .unwrap()
        .0
}
