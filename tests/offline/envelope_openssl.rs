//! Interoperability of `sealpost::smime::envelope` with OpenSSL 3 (`openssl cms`):
//! envelopes we build are decrypted by OpenSSL, and envelopes OpenSSL builds
//! (DER and streamed BER, every option sealpost cares about) are opened by us.

use std::path::{Path, PathBuf};
use std::process::Command;

use der::DecodePem;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;
use sealpost::smime::envelope::{
    open, seal_for, ContentCipher, ContentKey, Envelope, EnvelopeKind, KeyTransport, OwnKey,
    RecipientId, RecipientIdKind, RecipientOptions,
};
use sealpost::smime::privkey::PrivateKey;
use x509_cert::Certificate;

/// A MIME entity with CRLF, a bare LF, 8-bit bytes and a NUL: must survive byte for byte.
const MIME: &[u8] = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\xfe\xff caf\xc3\xa9\nline\r\n";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn cert(who: &str) -> Certificate {
    Certificate::from_pem(std::fs::read(data(&format!("{who}.cert.pem"))).unwrap()).unwrap()
}

fn key(who: &str) -> PrivateKey {
    PrivateKey::Rsa(
        RsaPrivateKey::from_pkcs8_pem(
            &std::fs::read_to_string(data(&format!("{who}.key.pem"))).unwrap(),
        )
        .unwrap(),
    )
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

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn openssl_decrypts_what_we_build() {
    let dir = tempfile::tempdir().unwrap();
    let env_path = dir.path().join("env.der");
    let out_path = dir.path().join("out.bin");
    let alice_cert = cert("alice");
    let bob_cert = cert("bob");
    let mut rng = StdRng::seed_from_u64(1);
    // OpenSSL 3.0's CMS does not read ChaCha20-Poly1305 ("unknown cipher"):
    // what it does with it is checked in cli::interop.
    let ciphers = ContentCipher::FOR_ENCRYPTION
        .into_iter()
        .filter(|c| *c != ContentCipher::ChaCha20Poly1305);
    for cipher in ciphers {
        for transport in [KeyTransport::RsaOaepSha256, KeyTransport::RsaPkcs1v15] {
            for rid in [
                RecipientIdKind::IssuerAndSerial,
                RecipientIdKind::SubjectKeyId,
            ] {
                let cek = ContentKey::generate(cipher, &mut rng).unwrap();
                let content = cek.encrypt(MIME, &mut rng).unwrap();
                let options = RecipientOptions { transport, rid };
                let der =
                    seal_for(&content, &cek, &[&bob_cert, &alice_cert], options, &mut rng).unwrap();
                std::fs::write(&env_path, &der).unwrap();
                for who in ["alice", "bob"] {
                    let _ = std::fs::remove_file(&out_path);
                    openssl(&[
                        "cms",
                        "-decrypt",
                        "-binary",
                        "-inform",
                        "DER",
                        "-in",
                        path_str(&env_path),
                        "-recip",
                        path_str(&data(&format!("{who}.cert.pem"))),
                        "-inkey",
                        path_str(&data(&format!("{who}.key.pem"))),
                        "-out",
                        path_str(&out_path),
                    ]);
                    let got = std::fs::read(&out_path).unwrap();
                    assert_eq!(got, MIME, "{cipher} {transport:?} {rid:?} for {who}");
                }
            }
        }
    }
}

/// Encrypts `MIME` to bob (and alice) with `openssl cms -encrypt` plus `args`.
fn openssl_encrypt(dir: &Path, args: &[&str], recip_opts: &[&str]) -> Vec<u8> {
    openssl_encrypt_bytes(dir, MIME, args, recip_opts)
}

fn openssl_encrypt_bytes(dir: &Path, plain: &[u8], args: &[&str], recip_opts: &[&str]) -> Vec<u8> {
    let msg = dir.join("msg");
    let out = dir.join("out.p7m");
    std::fs::write(&msg, plain).unwrap();
    let bob = data("bob.cert.pem");
    let alice = data("alice.cert.pem");
    let mut cmd = vec![
        "cms",
        "-encrypt",
        "-binary",
        "-in",
        path_str(&msg),
        "-outform",
        "DER",
        "-out",
        path_str(&out),
    ];
    cmd.extend_from_slice(args);
    for r in [&bob, &alice] {
        cmd.extend_from_slice(&["-recip", path_str(r)]);
        cmd.extend_from_slice(recip_opts);
    }
    openssl(&cmd);
    std::fs::read(&out).unwrap()
}

#[test]
fn we_open_what_openssl_builds() {
    let dir = tempfile::tempdir().unwrap();
    let (bob_cert, bob_key) = (cert("bob"), key("bob"));
    let (alice_cert, alice_key) = (cert("alice"), key("alice"));
    let (carol_cert, carol_key) = (cert("carol"), key("carol"));
    let oaep = ["-keyopt", "rsa_padding_mode:oaep"];
    let oaep256 = [
        "-keyopt",
        "rsa_padding_mode:oaep",
        "-keyopt",
        "rsa_oaep_md:sha256",
    ];
    let pkcs1 = "rsaes-pkcs1-v1_5";
    let oaep_sha1 = "rsaes-oaep sha-1 mgf1-sha-1";
    let oaep_sha256 = "rsaes-oaep sha-256 mgf1-sha-256";
    // (name, global args, per-recipient args, cipher, key transport, rid is SKI, BER)
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, &[&str], &[&str], ContentCipher, &str, bool)] = &[
        // OpenSSL 3.0's default content cipher for `cms -encrypt` is des-ede3-cbc.
        ("plain", &[], &[], ContentCipher::DesEde3Cbc, pkcs1, false),
        (
            "stream",
            &["-stream"],
            &[],
            ContentCipher::DesEde3Cbc,
            pkcs1,
            false,
        ),
        (
            "stream aes128",
            &["-stream", "-aes128"],
            &[],
            ContentCipher::Aes128Cbc,
            pkcs1,
            false,
        ),
        (
            "keyid",
            &["-keyid", "-aes256"],
            &[],
            ContentCipher::Aes256Cbc,
            pkcs1,
            true,
        ),
        (
            "oaep",
            &["-aes256"],
            &oaep,
            ContentCipher::Aes256Cbc,
            oaep_sha1,
            false,
        ),
        (
            "oaep sha256",
            &["-aes256"],
            &oaep256,
            ContentCipher::Aes256Cbc,
            oaep_sha256,
            false,
        ),
        (
            "aes-256-gcm",
            &["-aes-256-gcm"],
            &[],
            ContentCipher::Aes256Gcm,
            pkcs1,
            false,
        ),
        (
            "aes-128-gcm",
            &["-aes-128-gcm"],
            &oaep256,
            ContentCipher::Aes128Gcm,
            oaep_sha256,
            false,
        ),
        (
            "stream gcm keyid oaep",
            &["-stream", "-aes-256-gcm", "-keyid"],
            &oaep256,
            ContentCipher::Aes256Gcm,
            oaep_sha256,
            true,
        ),
        (
            "aes128",
            &["-aes128"],
            &[],
            ContentCipher::Aes128Cbc,
            pkcs1,
            false,
        ),
        (
            "aes192",
            &["-aes192"],
            &[],
            ContentCipher::Aes192Cbc,
            pkcs1,
            false,
        ),
        (
            "des3",
            &["-des3"],
            &[],
            ContentCipher::DesEde3Cbc,
            pkcs1,
            false,
        ),
    ];
    for (name, args, recip_opts, cipher, alg, keyid) in cases {
        let input = openssl_encrypt(dir.path(), args, recip_opts);
        let streamed = args.contains(&"-stream");
        // Streamed output really is BER with indefinite lengths.
        assert_eq!(input[1] == 0x80, streamed, "{name}: unexpected length form");

        let env = Envelope::parse(&input).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(env.cipher().unwrap(), *cipher, "{name}");
        assert_eq!(
            env.kind(),
            if cipher.is_authenticated() {
                EnvelopeKind::AuthEnveloped
            } else {
                EnvelopeKind::Enveloped
            },
            "{name}"
        );
        let summary = env.recipients();
        assert_eq!(summary.len(), 2, "{name}");
        for s in &summary {
            assert_eq!(s.algorithm, *alg, "{name}");
            assert_eq!(s.ids.len(), 1);
            assert_eq!(matches!(s.ids[0], RecipientId::KeyId(_)), *keyid, "{name}");
        }

        let mut rng = StdRng::seed_from_u64(2);
        for (c, k) in [(&bob_cert, &bob_key), (&alice_cert, &alice_key)] {
            let own = OwnKey { cert: c, key: k };
            let plain = open(&input, &[own], &mut rng).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert_eq!(plain, MIME, "{name}");
        }
        let carol = OwnKey {
            cert: &carol_cert,
            key: &carol_key,
        };
        let err = open(&input, &[carol], &mut rng).unwrap_err();
        assert_eq!(
            sealpost::error::classify(&err).0,
            sealpost::error::Exit::NoUser,
            "{name}"
        );
    }
}

#[test]
fn we_open_large_streamed_messages() {
    // Large enough that `-stream` splits encryptedContent into many chunks.
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let plain: Vec<u8> = (0..300_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let (bob_cert, bob_key) = (cert("bob"), key("bob"));
    let own = OwnKey {
        cert: &bob_cert,
        key: &bob_key,
    };
    for cipher_arg in ["-aes128", "-aes-256-gcm", "-des3"] {
        let input = openssl_encrypt_bytes(dir.path(), &plain, &["-stream", cipher_arg], &[]);
        assert_eq!(input[1], 0x80);
        // Each chunk header (4 bytes) disappears when the chunks are joined.
        let der = sealpost::smime::envelope::ber::to_der(&input).unwrap();
        assert!(
            der.len() + 40 < input.len(),
            "{cipher_arg}: expected a chunked encryptedContent"
        );
        let got = open(&input, &[own], &mut StdRng::seed_from_u64(3))
            .unwrap_or_else(|e| panic!("{cipher_arg}: {e:#}"));
        assert!(got == plain, "{cipher_arg}: plaintext differs");
    }
}

/// `sealpost release` adds the member's entry to a message encrypted to the
/// group certificate; OpenSSL must then open it with the member's key alone,
/// for both envelope kinds and for the S/MIME, PEM and DER forms.
#[test]
fn a_recipient_added_later_opens_in_openssl() {
    use cms::enveloped_data::RecipientInfo;
    use sealpost::group::release::with_recipient_added;
    use sealpost::smime::envelope::key_trans_recipient;

    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let (group_cert, group_key) = (cert("alice"), key("alice"));
    let member = data("bob.cert.pem");
    let member_key = data("bob.key.pem");

    // A message sealpost encrypts to the group (both envelope kinds).
    let mut messages: Vec<(String, Vec<u8>)> = Vec::new();
    for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes256Cbc] {
        let cek = ContentKey::generate(cipher, &mut rng).unwrap();
        let content = cek.encrypt(MIME, &mut rng).unwrap();
        let env = seal_for(
            &content,
            &cek,
            &[&group_cert],
            RecipientOptions {
                transport: KeyTransport::RsaPkcs1v15,
                ..Default::default()
            },
            &mut rng,
        )
        .unwrap();
        messages.push((format!("sealpost {cipher:?} DER"), env));
    }
    // And one OpenSSL writes as S/MIME, and its PEM form.
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, MIME).unwrap();
    let smime = openssl(&[
        "cms",
        "-encrypt",
        "-aes-256-cbc",
        "-in",
        path_str(&plain),
        "-binary",
        "-subject",
        "List mail",
        path_str(&data("alice.cert.pem")),
    ]);
    messages.push(("openssl S/MIME".into(), smime));
    let pem = openssl(&[
        "cms",
        "-encrypt",
        "-aes128",
        "-in",
        path_str(&plain),
        "-binary",
        "-outform",
        "PEM",
        path_str(&data("alice.cert.pem")),
    ]);
    messages.push(("openssl PEM".into(), pem));

    for (what, message) in messages {
        let payload = sealpost::smime::decrypt::cms_payload(&message)
            .unwrap()
            .unwrap();
        let envelope = Envelope::parse(&payload).unwrap();
        // What the group server does: unwrap with the group key, wrap to the member.
        let m = envelope
            .find_key(&[OwnKey {
                cert: &group_cert,
                key: &group_key,
            }])
            .unwrap();
        let cek = envelope.unwrap_key(&m, &mut rng).unwrap();
        let granted: RecipientInfo =
            key_trans_recipient(&cert("bob"), &cek, RecipientOptions::default(), &mut rng).unwrap();
        let released = with_recipient_added(&message, granted).unwrap();

        let form = if what.ends_with("S/MIME") {
            "SMIME"
        } else if what.ends_with("PEM") {
            "PEM"
        } else {
            "DER"
        };
        if form == "SMIME" {
            let text = String::from_utf8(released.clone()).unwrap();
            assert!(text.contains("Subject: List mail"), "{what}: headers kept");
            assert_eq!(
                text.matches("Content-Transfer-Encoding").count(),
                1,
                "{what}"
            );
        }
        let input = dir.path().join("released");
        std::fs::write(&input, &released).unwrap();
        let out = openssl(&[
            "cms",
            "-decrypt",
            "-inform",
            form,
            "-in",
            path_str(&input),
            "-recip",
            path_str(&member),
            "-inkey",
            path_str(&member_key),
            "-binary",
        ]);
        assert_eq!(out, MIME, "{what}");
        // The group's own entry still works too: nothing else changed.
        let again = Envelope::parse(
            &sealpost::smime::decrypt::cms_payload(&released)
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            again.recipient_infos().len(),
            envelope.recipient_infos().len() + 1
        );
        assert_eq!(again.decrypt(&cek).unwrap(), MIME, "{what}");
    }
}

/// KEK entries (group secrets, key deposits) are AES key wrap as OpenSSL
/// writes and reads them: `-secretkey` / `-secretkeyid`, both ways, for
/// EnvelopedData (CBC) and AuthEnvelopedData (GCM).
#[test]
fn kek_entries_interoperate_with_openssl_secretkey() {
    use sealpost::smime::envelope::{assemble, kek_recipient};
    let dir = tempfile::tempdir().unwrap();
    let kek = [0x5au8; 32];
    let kek_hex = hex::encode(kek);
    // Our key references are DER; OpenSSL takes any identifier in hex.
    let keyref = sealpost::smime::keyref::KeyRef::new(
        sealpost::smime::keyref::KeyRefKind::GroupSecret,
        "list",
        [7; 16],
    );
    let id = keyref.to_der();
    let id_hex = hex::encode(&id);
    let plain = dir.path().join("plain.bin");
    std::fs::write(&plain, MIME).unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    for (cipher, openssl_cipher) in [
        (ContentCipher::Aes256Cbc, "-aes-256-cbc"),
        (ContentCipher::Aes256Gcm, "-aes-256-gcm"),
    ] {
        // Ours → OpenSSL.
        let cek = ContentKey::generate(cipher, &mut rng).unwrap();
        let content = cek.encrypt(MIME, &mut rng).unwrap();
        let der = assemble(&content, vec![kek_recipient(&id, &kek, &cek).unwrap()]).unwrap();
        let env_path = dir.path().join("ours.der");
        std::fs::write(&env_path, &der).unwrap();
        let out = openssl(&[
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            path_str(&env_path),
            "-secretkey",
            &kek_hex,
            "-secretkeyid",
            &id_hex,
        ]);
        assert_eq!(out, MIME, "{cipher}");

        // OpenSSL → ours, through the same identifier.
        let theirs = openssl(&[
            "cms",
            "-encrypt",
            "-binary",
            openssl_cipher,
            "-outform",
            "DER",
            "-in",
            path_str(&plain),
            "-secretkey",
            &kek_hex,
            "-secretkeyid",
            &id_hex,
        ]);
        let envelope = Envelope::parse(&theirs).unwrap();
        let (index, kekri) = envelope.kek_entries().next().expect("a kek entry");
        assert_eq!(kekri.kek_id.kek_identifier.as_bytes(), id.as_slice());
        assert_eq!(
            sealpost::smime::keyref::KeyRef::from_der(kekri.kek_id.kek_identifier.as_bytes()),
            Some(keyref.clone())
        );
        let cek = envelope.unwrap_kek(index, &kek).unwrap();
        assert_eq!(envelope.decrypt(&cek).unwrap(), MIME, "{cipher}");
        let mut wrong = kek;
        wrong[31] ^= 1;
        assert!(envelope.unwrap_kek(index, &wrong).is_err());
    }
}
