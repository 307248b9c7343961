//! Damaged input never yields plaintext: flipped bits in GCM messages,
//! truncation, and garbage. Every failure is a clean one-line error.

use base64::Engine;

use crate::common::assert_clean_failure;
use crate::world::World;

fn split_message(eml: &[u8]) -> (String, Vec<u8>) {
    let text = String::from_utf8(eml.to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (
        head.to_string(),
        base64::engine::general_purpose::STANDARD
            .decode(body.replace("\r\n", ""))
            .unwrap(),
    )
}

fn join_message(head: &str, der: &[u8]) -> Vec<u8> {
    format!(
        "{head}\r\n\r\n{}\r\n",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
    .into_bytes()
}

#[test]
fn flipped_bits_in_gcm_messages_release_nothing() {
    flipped_bits_release_nothing("aes256-gcm");
}

#[test]
fn flipped_bits_in_chacha20_poly1305_messages_release_nothing() {
    flipped_bits_release_nothing("chacha20-poly1305");
}

/// One bit flipped in an AEAD message (`cipher`): in the ciphertext, tag,
/// nonce or anywhere in the structure, it is refused with nothing released.
fn flipped_bits_release_nothing(cipher: &str) {
    let w = World::new();
    let msg = w.compose(&["bob"], &[], &[], "tamper with me\r\n");
    let out = w
        .as_("alice")
        .args([
            "encrypt",
            "--eml",
            "--no-self",
            "--cipher",
            cipher,
            "--key-transport",
            "oaep",
        ])
        .write_stdin(msg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (head, der) = split_message(&out.stdout);
    assert!(w
        .decrypt("bob", &join_message(&head, &der), &[])
        .status
        .success());
    // Every byte in the last 400 (ciphertext, tag, GCM parameters, content-type
    // OID) and a spread of bytes before it (structure, RecipientInfo).
    let mut offsets: Vec<usize> = (der.len().saturating_sub(400)..der.len()).collect();
    offsets.extend((0..der.len().saturating_sub(400)).step_by(7));
    let mut tried = 0;
    for i in offsets {
        let mut bad = der.clone();
        bad[i] ^= 1 << (i % 8);
        let got = w.decrypt("bob", &join_message(&head, &bad), &[]);
        assert_ne!(got.status.code(), Some(0), "flipping byte {i} was accepted");
        assert!(
            got.stdout.is_empty(),
            "plaintext released after flipping byte {i}"
        );
        assert!(!String::from_utf8_lossy(&got.stderr).contains("panicked"));
        tried += 1;
    }
    assert!(tried > 400);
}

#[test]
fn truncation_and_garbage_fail_cleanly() {
    let w = World::new();
    let msg = w.compose(&["bob"], &[], &[], "truncate me\r\n");
    for cipher in ["aes256-gcm", "aes256-cbc"] {
        let out = w
            .as_("alice")
            .args(["encrypt", "--eml", "--cipher", cipher])
            .write_stdin(msg.clone())
            .output()
            .unwrap();
        let (head, der) = split_message(&out.stdout);
        for cut in (0..der.len()).step_by(23) {
            let got = w.decrypt("bob", &join_message(&head, &der[..cut]), &[]);
            assert_clean_failure(&got, 65);
        }
        // The S/MIME text itself cut short (inside the base64).
        for cut in (out.stdout.len() / 2..out.stdout.len() - 10).step_by(97) {
            let got = w.decrypt("bob", &out.stdout[..cut], &[]);
            assert_ne!(got.status.code(), Some(0));
            assert!(got.stdout.is_empty());
        }
    }
    // Deterministic pseudo-random garbage, bare and inside an S/MIME wrapper.
    let mut state = 0x9e3779b97f4a7c15u64;
    for n in 0..60 {
        let len = (n * 37) % 700;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let mut garbage = bytes.clone();
        if n % 2 == 0 && !garbage.is_empty() {
            garbage[0] = 0x30; // looks like DER
        }
        let got = w.decrypt("bob", &garbage, &[]);
        assert_ne!(got.status.code(), Some(0));
        assert!(got.stdout.is_empty());
        let wrapped = join_message("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64", &bytes);
        let got = w.decrypt("bob", &wrapped, &[]);
        assert_clean_failure(&got, 65);
    }
}
