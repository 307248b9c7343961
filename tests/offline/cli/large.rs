//! Large messages: `encrypt` and `decrypt` stream them (bounded memory),
//! interoperate with OpenSSL in both directions, and stay fail-closed: a
//! damaged message writes nothing at all to stdout.

use std::path::Path;
use std::process::Output;

use crate::common::{assert_clean_failure, data, tool};
use crate::world::World;

/// Body size: well above the streaming thresholds (1 MiB encrypt, 4 MiB decrypt).
const BODY: usize = 20 << 20;

/// A message from alice to bob (and the given Bcc) with a base64 attachment-like
/// body of about `len` bytes, CRLF lines.
fn big_message(len: usize, bcc: Option<&str>, seed: u64) -> Vec<u8> {
    let mut m = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n".to_vec();
    if let Some(b) = bcc {
        m.extend_from_slice(format!("Bcc: {b}\r\n").as_bytes());
    }
    m.extend_from_slice(
        b"Subject: large\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\
Content-Transfer-Encoding: base64\r\n\r\n",
    );
    // Cheap deterministic pseudo-random base64 text.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut line = 0;
    while m.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        m.push(alphabet[(x & 63) as usize]);
        line += 1;
        if line == 76 {
            m.extend_from_slice(b"\r\n");
            line = 0;
        }
    }
    m.extend_from_slice(b"\r\n");
    m
}

fn inner_of(message: &[u8]) -> Vec<u8> {
    sealpost::smime::message::split_for_encryption(message)
        .unwrap()
        .inner
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn openssl(args: &[&str]) -> Vec<u8> {
    tool("openssl", args, None)
}

/// `sealpost encrypt --eml` as alice from a file.
fn encrypt_file(w: &World, message: &Path, flags: &[&str]) -> Vec<u8> {
    let out = w
        .as_("alice")
        .args(["encrypt", "--eml"])
        .args(flags)
        .arg(message)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `sealpost decrypt FILE` as `who`.
fn decrypt_file(w: &World, who: &str, file: &Path) -> Output {
    w.as_(who).arg("decrypt").arg(file).output().unwrap()
}

#[test]
fn large_round_trips_through_files_with_both_ciphers() {
    let w = World::new();
    let message = big_message(BODY, None, 1);
    let expected = inner_of(&message);
    let path = w.path("big.eml");
    std::fs::write(&path, &message).unwrap();
    for (cipher, name) in [
        ("aes256-gcm", "aes-256-gcm"),
        ("aes128-gcm", "aes-128-gcm"),
        ("aes256-cbc", "aes-256-cbc"),
        ("aes128-cbc", "aes-128-cbc"),
        ("chacha20-poly1305", "chacha20-poly1305"),
    ] {
        let smime = encrypt_file(&w, &path, &["--cipher", cipher]);
        let text = String::from_utf8_lossy(&smime[..2000]);
        assert!(
            text.contains("Content-Type: application/pkcs7-mime"),
            "{text}"
        );
        let enc = w.path("big.p7m");
        std::fs::write(&enc, &smime).unwrap();
        let out = decrypt_file(&w, "bob", &enc);
        assert!(
            out.status.success(),
            "{cipher}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout == expected, "{cipher}: plaintext differs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("decrypted ({name}")), "{stderr}");
    }
}

#[test]
fn large_stdin_streams_both_ways_and_bare_lf_is_converted() {
    let w = World::new();
    // Bare LF line endings: the streamed inner entity must still be CRLF, as in memory.
    let message: Vec<u8> = big_message(6 << 20, None, 2)
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(&b'\n');
    let expected = inner_of(&message);
    let out = w
        .as_("alice")
        .args(["encrypt", "--eml", "--cipher", "aes256-gcm"])
        .write_stdin(message.clone())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Unknown length on stdin: indefinite-length BER, which OpenSSL reads too.
    let enc = w.path("stdin.p7m");
    std::fs::write(&enc, &out.stdout).unwrap();
    let plain = openssl(&[
        "cms",
        "-decrypt",
        "-binary",
        "-in",
        p(&enc),
        "-recip",
        p(&data("bob.cert.pem")),
        "-inkey",
        p(&data("bob.key.pem")),
    ]);
    assert!(plain == expected, "openssl plaintext differs");
    // And decrypt reads it from stdin (spooled, encrypted, to a temporary file).
    let got = w.decrypt("bob", &out.stdout, &[]);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(got.stdout == expected, "plaintext differs");
}

#[test]
fn openssl_reads_our_large_output() {
    let w = World::new();
    let message = big_message(BODY, None, 3);
    let expected = inner_of(&message);
    let path = w.path("big.eml");
    std::fs::write(&path, &message).unwrap();
    for (cipher, transport) in [("aes256-gcm", "oaep"), ("aes256-cbc", "pkcs1")] {
        let smime = encrypt_file(
            &w,
            &path,
            &["--cipher", cipher, "--key-transport", transport],
        );
        let enc = w.path("to-openssl.eml");
        std::fs::write(&enc, &smime).unwrap();
        let plain = openssl(&[
            "cms",
            "-decrypt",
            "-binary",
            "-in",
            p(&enc),
            "-recip",
            p(&data("bob.cert.pem")),
            "-inkey",
            p(&data("bob.key.pem")),
        ]);
        assert!(plain == expected, "{cipher}: openssl plaintext differs");
    }
}

#[test]
fn we_read_large_openssl_stream_output() {
    let w = World::new();
    let content = inner_of(&big_message(BODY, None, 4));
    let input = w.path("content");
    std::fs::write(&input, &content).unwrap();
    for (cipher, outform) in [
        ("-aes-256-gcm", "SMIME"),
        ("-aes-256-cbc", "SMIME"),
        ("-aes-128-gcm", "DER"),
    ] {
        let out = w.path("from-openssl");
        openssl(&[
            "cms",
            "-encrypt",
            "-stream",
            "-binary",
            cipher,
            "-in",
            p(&input),
            "-out",
            p(&out),
            "-outform",
            outform,
            p(&data("bob.cert.pem")),
        ]);
        let got = decrypt_file(&w, "bob", &out);
        assert!(
            got.status.success(),
            "{cipher} {outform}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
        assert!(
            got.stdout == content,
            "{cipher} {outform}: plaintext differs"
        );
    }
}

#[test]
fn bcc_envelopes_share_one_streamed_encryption() {
    let w = World::new();
    let message = big_message(6 << 20, Some("dave@example.org"), 5);
    let expected = inner_of(&message);
    let path = w.path("big.eml");
    std::fs::write(&path, &message).unwrap();
    let bsmtp = w.path("out.bsmtp");
    let out = w
        .as_("alice")
        .args(["--json", "encrypt", "--cipher", "aes256-gcm", "-o"])
        .arg(&bsmtp)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = crate::json_document::document(&out.stdout, "encrypt");
    assert_eq!(summary["content_encryptions"], 1, "{summary}");
    let txns = sealpost::smime::bsmtp::parse(&std::fs::read(&bsmtp).unwrap()).unwrap();
    assert_eq!(txns.len(), 2);
    for (t, env) in txns.iter().zip(summary["envelopes"].as_array().unwrap()) {
        assert_eq!(env["bytes"].as_u64().unwrap(), t.data.len() as u64);
        let end = t.data.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&t.data[..end]).to_ascii_lowercase();
        assert!(!head.contains("bcc"), "{head}");
    }
    assert_eq!(txns[0].rcpt_to, ["bob@example.org"]);
    assert_eq!(txns[1].rcpt_to, ["dave@example.org"]);
    for (who, t) in [("bob", &txns[0]), ("dave", &txns[1])] {
        let got = w.decrypt(who, &t.data, &[]);
        assert!(
            got.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
        assert!(got.stdout == expected, "{who}: plaintext differs");
    }
    // bob cannot open dave's copy and is not named in it.
    let got = w.decrypt("bob", &txns[1].data, &[]);
    assert_clean_failure(&got, 67);

    // --outdir: one file per envelope and a manifest; nothing else left behind.
    let dir = w.path("outdir");
    let out = w
        .as_("alice")
        .args(["encrypt", "--cipher", "aes256-cbc", "--outdir"])
        .arg(&dir)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["001-to-cc.eml", "002-bcc.eml", "manifest.json"]);
    let got = decrypt_file(&w, "dave", &dir.join("002-bcc.eml"));
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(got.stdout == expected);
}

#[test]
fn damaged_large_messages_write_nothing() {
    damaged_large_message_writes_nothing("aes256-gcm");
}

#[test]
fn damaged_large_chacha20_poly1305_messages_write_nothing() {
    damaged_large_message_writes_nothing("chacha20-poly1305");
}

/// A large message under `cipher` (an AEAD), damaged or truncated: a clean
/// failure and not one byte of plaintext, from a file, stdin or to -o FILE.
fn damaged_large_message_writes_nothing(cipher: &str) {
    let w = World::new();
    let message = big_message(6 << 20, None, 6);
    let path = w.path("big.eml");
    std::fs::write(&path, &message).unwrap();
    let smime = encrypt_file(&w, &path, &["--cipher", cipher]);
    let body_start = smime.windows(4).position(|win| win == b"\r\n\r\n").unwrap() + 4;

    // A flipped bit near the end of the ciphertext: the tag does not verify.
    let mut bad = smime.clone();
    let at = bad.len() - 200;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let file = w.path("bad.p7m");
    std::fs::write(&file, &bad).unwrap();
    let out = decrypt_file(&w, "bob", &file);
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("decryption failed"), "{err}");
    // The same from stdin.
    assert_clean_failure(&w.decrypt("bob", &bad, &[]), 65);
    // With -o FILE: no file, no temporary file left.
    let target = w.path("plain.out");
    let out = w
        .as_("bob")
        .arg("decrypt")
        .arg("-o")
        .arg(&target)
        .arg(&file)
        .output()
        .unwrap();
    assert_clean_failure(&out, 65);
    assert!(!target.exists());
    assert!(std::fs::read_dir(w.dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp-")));

    // Bit flips anywhere in the body and truncations: always a clean failure.
    let mut x = 0x9e3779b97f4a7c15u64;
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for _ in 0..6 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut b = smime.clone();
        let i = body_start + (x as usize % (smime.len() - body_start));
        b[i] ^= 1 << (x >> 61);
        if b[i].is_ascii_whitespace() {
            continue; // whitespace is ignored by base64
        }
        cases.push(b);
    }
    for cut in [
        body_start + 10,
        body_start + 2000,
        smime.len() / 2,
        smime.len() - 90,
        smime.len() - 10,
    ] {
        cases.push(smime[..cut].to_vec());
    }
    for (n, case) in cases.iter().enumerate() {
        std::fs::write(&file, case).unwrap();
        let out = decrypt_file(&w, "bob", &file);
        assert!(
            out.stdout.is_empty(),
            "case {n}: plaintext released: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // 65 (damaged), or 67 if the flip hit the recipient's identifier.
        assert!(
            matches!(out.status.code(), Some(65 | 67)),
            "case {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }

    // The intact message still decrypts, to a file.
    std::fs::write(&file, &smime).unwrap();
    let out = w
        .as_("bob")
        .arg("decrypt")
        .arg("-o")
        .arg(&target)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert!(std::fs::read(&target).unwrap() == inner_of(&message));
}

#[test]
fn large_signed_messages_stream() {
    // --sign digests the entity in a first pass (stdin is kept in a sealed
    // spool to be read twice); the result decrypts and verifies.
    let w = World::new();
    let message = big_message(5 << 20, None, 7);
    let mut child = w.as_("alice");
    let out = child
        .args(["encrypt", "--eml", "--sign"])
        .write_stdin(message.clone())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alice = data("alice.cert.pem");
    let trusted = ["--require-signature", "--trust-anchor", p(&alice)];
    let got = w.decrypt("bob", &out.stdout, &trusted);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(got.stdout == inner_of(&message));
    assert!(String::from_utf8_lossy(&got.stderr).contains("good signature"));
    // A plain large message is refused with --require-signature, writing nothing.
    let path = w.path("big.eml");
    std::fs::write(&path, big_message(6 << 20, None, 8)).unwrap();
    let smime = encrypt_file(&w, &path, &[]);
    assert_clean_failure(&w.decrypt("bob", &smime, &["--require-signature"]), 65);
}

/// Between the streaming threshold (1 MiB) and the in-memory spool limit
/// (4 MiB), Bcc envelopes share one base64 encoding of the ciphertext: every
/// copy must still be exactly what a one-shot encoder writes, for every
/// alignment the RecipientInfos produce (different key ids, numbers of
/// recipients and transports give different prefix lengths).
#[test]
fn shared_encoding_of_mid_size_bcc_envelopes_is_exact() {
    let w = World::new();
    let bccs = ["carol", "dave", "erin", "frank", "grace"];
    let list: Vec<String> = bccs.iter().map(|b| format!("{b}@example.org")).collect();
    let msg = big_message(2 << 20, Some(&list.join(", ")), 7);
    let path = w.path("mid.eml");
    std::fs::write(&path, &msg).unwrap();
    let expected = inner_of(&msg);
    for flags in [
        &["--keyid"][..],
        &["--cipher", "aes256-gcm"],
        &["--key-transport", "oaep", "--cipher", "aes128-cbc"],
    ] {
        let out = w
            .as_("alice")
            .arg("encrypt")
            .args(flags)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let txns = sealpost::smime::bsmtp::parse(&out.stdout).unwrap();
        assert_eq!(txns.len(), 1 + bccs.len());
        for t in &txns {
            // The base64 body re-encoded in one shot must equal what was written.
            let text = String::from_utf8_lossy(&t.data);
            let (_, body) = text.split_once("\r\n\r\n").unwrap();
            let der = sealpost::smime::mime::decode_base64(body.as_bytes()).unwrap();
            use base64::Engine;
            let one_shot = base64::engine::general_purpose::STANDARD.encode(&der);
            let mut wrapped = String::new();
            for line in one_shot.as_bytes().chunks(76) {
                wrapped.push_str(std::str::from_utf8(line).unwrap());
                wrapped.push_str("\r\n");
            }
            assert_eq!(
                body, wrapped,
                "envelope to {:?} is not canonical base64",
                t.rcpt_to
            );
            let who = t.rcpt_to[0].split('@').next().unwrap();
            let got = w.decrypt(who, &t.data, &[]);
            assert!(
                got.status.success(),
                "{who}: {}",
                String::from_utf8_lossy(&got.stderr)
            );
            assert_eq!(got.stdout, expected, "{who} {flags:?}");
        }
    }
}
