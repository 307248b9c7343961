//! Elliptic-curve recipients (RFC 5753 ECDH on P-256 and P-384, RFC 8418
//! X25519): keys made by `key generate --algorithm`, mail encrypted to them
//! by sealpost and by OpenSSL, read by sealpost and by OpenSSL, mixed with
//! RSA recipients, and fail-closed when the key agreement entry is forged.

use crate::common::{assert_clean_failure, openssl_decrypt_with, tool};
use crate::world::{addr, World};

/// Makes `name` an identity of `algorithm` in its own keystore and gives
/// alice its receiving certificate; returns that certificate's file and the
/// receiving key's file (in the keystore).
fn ec_person(
    world: &World,
    name: &str,
    algorithm: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let out = world
        .as_(name)
        .args([
            "--json",
            "key",
            "generate",
            "--no-passphrase",
            "--algorithm",
            algorithm,
            "--email",
        ])
        .arg(addr(name))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = crate::json_document::document(&out.stdout, "key generate");
    let identities = doc["identities"].as_array().unwrap();
    // The last identity receives mail (Ed25519 makes a signing one first).
    let receiving = identities.last().unwrap();
    assert_ne!(receiving["key_algorithm"], "ed25519");
    let fingerprint = receiving["fingerprint"].as_str().unwrap();
    let key_file = std::path::PathBuf::from(receiving["key_file"].as_str().unwrap());
    let cert_file = key_file.with_file_name(format!("{fingerprint}.cert.pem"));
    world
        .as_("alice")
        .args(["cert", "import"])
        .arg(&cert_file)
        .assert()
        .success();
    (cert_file, key_file)
}

fn message(world: &World, to: &[&str]) -> Vec<u8> {
    world.compose(to, &[], &[], "the figures, by key agreement\n")
}

fn envelope_of(world: &World, msg: &[u8]) -> Vec<u8> {
    let tx = world.encrypt(msg, &[]);
    assert_eq!(tx.len(), 1);
    tx.into_iter().next().unwrap().data
}

/// `openssl cms -encrypt` of a text/plain entity saying `text`, with
/// `args` (cipher, recipients, options) before `-out`; the message it wrote.
fn openssl_encrypted(world: &World, text: &str, args: &[&str]) -> Vec<u8> {
    let content = world.path("content.txt");
    std::fs::write(
        &content,
        format!("Content-Type: text/plain\r\n\r\n{text}\r\n"),
    )
    .unwrap();
    let out_file = world.path("from-openssl");
    let mut all = vec!["cms", "-encrypt", "-in", content.to_str().unwrap()];
    all.extend(args);
    all.extend(["-out", out_file.to_str().unwrap()]);
    tool("openssl", &all, None);
    std::fs::read(&out_file).unwrap()
}

fn decrypted(world: &World, name: &str, envelope: &[u8]) -> String {
    let out = world.decrypt(name, envelope, &[]);
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn ec_and_x25519_recipients_read_what_sealpost_encrypts_beside_rsa_ones() {
    let world = World::new();
    let mut files = Vec::new();
    for (name, alg) in [("pam", "p256"), ("paul", "p384"), ("ed", "ed25519")] {
        files.push((name, ec_person(&world, name, alg)));
    }
    // One envelope for an RSA reader and three key-agreement readers.
    let msg = message(&world, &["bob", "pam", "paul", "ed"]);
    let envelope = envelope_of(&world, &msg);
    for name in ["bob", "pam", "paul", "ed"] {
        assert!(decrypted(&world, name, &envelope).contains("the figures, by key agreement"));
    }
    // OpenSSL reads the P-256 and P-384 entries sealpost wrote (X9.63 KDF,
    // SHA-256 and SHA-384); OpenSSL 3.0 has no X25519 in CMS at all.
    let env_file = world.path("envelope.eml");
    std::fs::write(&env_file, &envelope).unwrap();
    for (name, (cert, key)) in &files[..2] {
        let plain_key = world.path(&format!("{name}.plain.key"));
        tool(
            "openssl",
            &[
                "pkey",
                "-in",
                key.to_str().unwrap(),
                "-out",
                plain_key.to_str().unwrap(),
            ],
            None,
        );
        let out = openssl_decrypt_with(&env_file, cert, &plain_key);
        assert!(
            String::from_utf8_lossy(&out).contains("the figures, by key agreement"),
            "{name}"
        );
    }
}

#[test]
fn openssl_ecdh_in_every_kdf_it_writes_is_read() {
    let world = World::new();
    let (cert, _) = ec_person(&world, "pam", "p256");
    let (cert384, _) = ec_person(&world, "paul", "p384");
    let cases: &[(&str, &std::path::Path, &[&str])] = &[
        ("pam", &cert, &["-aes256"]),
        ("pam", &cert, &["-aes-256-gcm"]),
        ("pam", &cert, &["-aes128", "-keyopt", "ecdh_kdf_md:sha256"]),
        ("pam", &cert, &["-aes256", "-keyopt", "ecdh_kdf_md:sha384"]),
        ("pam", &cert, &["-aes256", "-keyopt", "ecdh_kdf_md:sha512"]),
        (
            "pam",
            &cert,
            &["-aes256", "-keyopt", "ecdh_cofactor_mode:1"],
        ),
        ("paul", &cert384, &["-aes-256-gcm"]),
    ];
    for (name, cert, opts) in cases {
        let (cipher, keyopts) = opts.split_at(1);
        let mut args = cipher.to_vec();
        args.extend(["-recip", cert.to_str().unwrap()]);
        args.extend(keyopts);
        let msg = openssl_encrypted(&world, "from openssl", &args);
        assert!(
            decrypted(&world, name, &msg).contains("from openssl"),
            "{opts:?}"
        );
    }
}

#[test]
fn a_forged_key_agreement_entry_fails_closed() {
    let world = World::new();
    let (cert, _) = ec_person(&world, "pam", "p256");
    let der = openssl_encrypted(
        &world,
        "secret",
        &[
            "-binary",
            "-aes-256-gcm",
            "-recip",
            cert.to_str().unwrap(),
            "-outform",
            "DER",
        ],
    );
    let find = |pattern: &[u8]| {
        der.windows(pattern.len())
            .position(|w| w == pattern)
            .unwrap_or_else(|| panic!("{pattern:x?} not in the message"))
            + pattern.len()
    };
    // The ephemeral point (BIT STRING of 66: 00 04 X Y) and the wrapped key
    // (OCTET STRING of 40: a 32-byte content key wrapped).
    let point_end = find(&[0x03, 0x42, 0x00, 0x04]) + 64;
    let wrapped_end = find(&[0x04, 0x28]) + 40;
    for at in [
        point_end - 1,
        point_end - 40,
        wrapped_end - 1,
        wrapped_end - 20,
    ] {
        let mut forged = der.clone();
        forged[at] ^= 0x01;
        let out = world.decrypt("pam", &forged, &[]);
        assert!(
            out.stdout.is_empty(),
            "plaintext released for a forgery at {at}"
        );
        let msg = assert_clean_failure(&out, 65);
        assert!(msg.contains("decryption failed"), "{msg}");
    }
    // The untouched message opens.
    assert!(decrypted(&world, "pam", &der).contains("secret"));
}

#[test]
fn a_key_that_only_signs_is_never_encrypted_to_and_x448_is_named() {
    let world = World::new();
    ec_person(&world, "ed", "ed25519");
    // alice holds only ed's X25519 certificate; the Ed25519 one is refused by name.
    let ed_signing = world.path("ed-signing.pem");
    let out = world
        .as_("ed")
        .args(["--json", "key", "list"])
        .output()
        .unwrap();
    let doc = crate::json_document::document(&out.stdout, "key list");
    let signing = doc["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key_algorithm"] == "ed25519")
        .unwrap()
        .clone();
    let key_file = std::path::PathBuf::from(signing["key_file"].as_str().unwrap());
    std::fs::copy(
        key_file.with_file_name(format!(
            "{}.cert.pem",
            signing["fingerprint"].as_str().unwrap()
        )),
        &ed_signing,
    )
    .unwrap();
    let only_signing = World::new();
    only_signing
        .as_("alice")
        .args(["cert", "import"])
        .arg(&ed_signing)
        .assert()
        .success();
    let msg = message(&only_signing, &["ed"]);
    let out = only_signing
        .as_("alice")
        .arg("encrypt")
        .write_stdin(msg)
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only signs"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An X448 key is refused by name, not as "not RSA".
    let x448 = world.path("x448.pem");
    tool(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "X448",
            "-out",
            x448.to_str().unwrap(),
        ],
        None,
    );
    let out = world
        .as_("ed")
        .args(["key", "import", "--no-passphrase", "--cert"])
        .arg(&ed_signing)
        .arg(&x448)
        .output()
        .unwrap();
    let msg = assert_clean_failure(&out, 65);
    assert!(msg.contains("X448"), "{msg}");
    assert!(!msg.contains("rsaEncryption"), "{msg}");
}

#[test]
fn ec_keys_made_by_openssl_import_as_pkcs12_sec1_and_pkcs8() {
    let world = World::new();
    let dir = world.path("");
    let p = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    tool(
        "openssl",
        &[
            "ecparam",
            "-name",
            "secp384r1",
            "-genkey",
            "-noout",
            "-out",
            &p("sec1.key"),
        ],
        None,
    );
    tool(
        "openssl",
        &["genpkey", "-algorithm", "ed25519", "-out", &p("ed.key")],
        None,
    );
    for (key, cert, email) in [
        ("sec1.key", "ec.pem", "ec@example.org"),
        ("ed.key", "ed.pem", "ed@example.org"),
    ] {
        tool(
            "openssl",
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                &p(key),
                "-subj",
                "/CN=x",
                "-days",
                "3",
                "-addext",
                &format!("subjectAltName=email:{email}"),
                "-out",
                &p(cert),
            ],
            None,
        );
    }
    tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &p("sec1.key"),
            "-in",
            &p("ec.pem"),
            "-passout",
            "pass:pw",
            "-out",
            &p("ec.p12"),
        ],
        None,
    );
    crate::common::write_secret(&dir.join("pw"), "pw\n");
    let imports: &[&[&str]] = &[
        &[
            "key",
            "import",
            "--no-passphrase",
            &p("sec1.key"),
            "--cert",
            &p("ec.pem"),
        ],
        &[
            "key",
            "import",
            "--no-passphrase",
            &p("ed.key"),
            "--cert",
            &p("ed.pem"),
        ],
        &[
            "key",
            "import",
            "--no-passphrase",
            &p("ec.p12"),
            "--p12-password-file",
            &p("pw"),
        ],
    ];
    for (i, args) in imports.iter().enumerate() {
        let who = format!("importer{i}");
        let out = world.as_(&who).arg("--json").args(*args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc = crate::json_document::document(&out.stdout, "key import");
        let expected = if args[3].ends_with("ed.key") {
            "ed25519"
        } else {
            "p384"
        };
        assert_eq!(doc["identity"]["key_algorithm"], expected, "{args:?}");
    }
}

#[test]
fn a_message_for_someone_else_names_key_agreement_and_kek_entries_as_such() {
    let world = World::new();
    let (cert, _) = ec_person(&world, "pam", "p256");
    let msg = openssl_encrypted(
        &world,
        "not for bob",
        &[
            "-aes256",
            "-recip",
            cert.to_str().unwrap(),
            "-secretkey",
            "000102030405060708090a0b0c0d0e0f",
            "-secretkeyid",
            "0a0b",
        ],
    );
    let out = world.decrypt("bob", &msg, &[]);
    let msg = assert_clean_failure(&out, 67);
    assert!(msg.contains("by key agreement (ECDH)"), "{msg}");
    assert!(
        msg.contains("key id 0a0b by a previously shared key (KEK)"),
        "{msg}"
    );
}

#[test]
fn key_export_by_address_gives_the_certificate_others_encrypt_to() {
    let world = World::new();
    let (cert, _) = ec_person(&world, "ed", "ed25519");
    let receiving = std::fs::read_to_string(&cert).unwrap();
    // Both certificates name the address; directory order must not decide.
    for _ in 0..4 {
        let out = world
            .as_("ed")
            .args(["key", "export", "ed@example.org"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            receiving.trim()
        );
    }
}

#[test]
fn openssl_keyid_key_agreement_entries_are_read() {
    // `-keyid` names the EC recipient by rKeyId [0] IMPLICIT, which the cms
    // crate alone cannot decode: the whole message used to be "malformed".
    let world = World::new();
    let (cert, _) = ec_person(&world, "pam", "p256");
    let bob = crate::common::data("bob.cert.pem");
    for cipher in ["-aes-256-gcm", "-aes256"] {
        let recipients = [
            "-recip",
            cert.to_str().unwrap(),
            "-recip",
            bob.to_str().unwrap(),
        ];
        let mut args = vec![cipher, "-keyid"];
        args.extend(recipients);
        let msg = openssl_encrypted(&world, "by key id", &args);
        // Both readers: the EC one by key agreement, the RSA one beside it.
        assert!(
            decrypted(&world, "pam", &msg).contains("by key id"),
            "{cipher}"
        );
        assert!(
            decrypted(&world, "bob", &msg).contains("by key id"),
            "{cipher}"
        );
    }
}
