//! Issue #11 ("hold against a hostile world"), the input side: addresses
//! that would inject SMTP commands, messages crafted to make a scanner
//! quadratic, and key files crafted to make key derivation run for ever.

use crate::common::{assert_clean_failure, data, Env};

/// A certificate whose rfc822Name is `mallory@example.org>` CR LF `DATA` …
/// CR LF `RCPT TO:<outsider@example.net`: written into `RCPT TO:<…>`, one
/// member's address became a whole forged transaction.
const CRLF_CERT: &str = "mallory-crlf.cert.pem";

#[test]
fn cert_import_refuses_an_address_that_would_inject_smtp_commands() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["cert", "import"])
        .arg(data("bob.cert.pem"))
        .arg(data(CRLF_CERT))
        .output()
        .unwrap();
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("cannot be mailed"), "{err}");
    assert!(err.contains(CRLF_CERT), "{err}");
    // One bad file imports nothing.
    let out = env.cmd().args(["--json", "cert", "list"]).output().unwrap();
    assert!(out.status.success());
    let list = crate::json_document::document(&out.stdout, "cert list");
    assert_eq!(list["certificates"].as_array().unwrap().len(), 0, "{list}");
}

#[test]
fn group_add_member_refuses_an_address_that_would_inject_smtp_commands() {
    let env = Env::new();
    let operator = || {
        let mut cmd = env.cmd();
        cmd.env("SEALPOST_PASSPHRASE", "operator passphrase");
        cmd
    };
    operator()
        .args([
            "group",
            "create",
            "list",
            "--email",
            "list@example.org",
            "--bits",
            "2048",
        ])
        .assert()
        .success();
    let out = operator()
        .args(["group", "add-member", "list"])
        .arg(data(CRLF_CERT))
        .output()
        .unwrap();
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("cannot be mailed"), "{err}");
    let out = operator()
        .args(["--json", "group", "members", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("mallory"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs `cmd` to the end, but kills it and fails the test if it is still
/// running after `secs` seconds: a key derivation bomb before the fix ran for
/// minutes. The limit is generous; a refusal takes milliseconds. The child
/// gets at most 4 GiB of address space, so that a runaway allocation aborts
/// it rather than the machine.
fn within(mut cmd: std::process::Command, secs: u64) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let limit = libc::rlimit {
        rlim_cur: 4 << 30,
        rlim_max: 4 << 30,
    };
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("still running after {secs} s: {cmd:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn sealpost(env: &Env) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sealpost"));
    cmd.env("SEALPOST_KEYSTORE", env.keystore())
        .env_remove("SEALPOST_PASSPHRASE")
        .arg("--passphrase-file")
        .arg(env.pass_file());
    cmd
}

const P12_PASSWORD: &str = "p12 secret";

/// `key import FILE` of a PKCS#12 file, with its password.
fn import_p12(env: &Env, p12: &[u8]) -> std::process::Output {
    let file = env.path("bomb.p12");
    std::fs::write(&file, p12).unwrap();
    crate::common::write_secret(&env.path("p12pass"), &format!("{P12_PASSWORD}\n"));
    let mut cmd = sealpost(env);
    cmd.args(["key", "import"])
        .arg(&file)
        .arg("--p12-password-file")
        .arg(env.path("p12pass"));
    within(cmd, 20)
}

/// PBES2 with PBKDF2-SHA256 and AES-256-CBC. (Built field by field: the
/// pkcs5 constructor refuses what a file may still say.)
fn pbkdf2_params(iterations: u32) -> pkcs5::pbes2::Parameters<'static> {
    pkcs5::pbes2::Parameters {
        kdf: pkcs5::pbes2::Kdf::Pbkdf2(pkcs5::pbes2::Pbkdf2Params {
            salt: &[7; 16],
            iteration_count: iterations,
            key_length: None,
            prf: pkcs5::pbes2::Pbkdf2Prf::HmacWithSha256,
        }),
        encryption: pkcs5::pbes2::EncryptionScheme::Aes256Cbc { iv: &[9; 16] },
    }
}

/// [`pbkdf2_params`] as an AlgorithmIdentifier.
fn pbkdf2_algorithm(iterations: u32) -> spki::AlgorithmIdentifierOwned {
    use der::{Decode, Encode};
    let scheme: pkcs5::EncryptionScheme = pbkdf2_params(iterations).into();
    spki::AlgorithmIdentifierOwned::from_der(&scheme.to_der().unwrap()).unwrap()
}

/// Issue #11, item 8: a PKCS#12 file with 2^31−1 MAC iterations ran the
/// MAC's key derivation for minutes. Refused before it runs, naming it.
#[test]
fn key_import_refuses_a_pkcs12_mac_iteration_bomb() {
    use der::{Decode, Encode};
    let env = Env::new();
    let p12 = crate::common::run_tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            data("alice.key.pem").to_str().unwrap(),
            "-in",
            data("alice.cert.pem").to_str().unwrap(),
            "-passout",
            &format!("pass:{P12_PASSWORD}"),
        ],
    );
    let mut pfx = pkcs12::pfx::Pfx::from_der(&p12).unwrap();
    pfx.mac_data.as_mut().unwrap().iterations = i32::MAX;
    let out = import_p12(&env, &pfx.to_der().unwrap());
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("MAC iteration count is 2147483647"), "{err}");
    // A negative count, which the reading crate turned into 2^64 − 1.
    pfx.mac_data.as_mut().unwrap().iterations = -1;
    let out = import_p12(&env, &pfx.to_der().unwrap());
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("MAC iteration count is -1"), "{err}");
}

/// The same for a shrouded key bag whose PBKDF2 asks for 2^31−1
/// iterations, hidden inside an encrypted content (seen only once that is
/// decrypted) and with no MAC to fail first.
#[test]
fn key_import_refuses_a_key_bag_kdf_bomb_inside_encrypted_content() {
    use cms::content_info::ContentInfo;
    use der::asn1::OctetString;
    use der::{Any, Encode};
    let env = Env::new();
    let id_data = const_oid::db::rfc5911::ID_DATA;
    // The bag's value without its [0] EXPLICIT: the encoder adds it.
    let key_bag = pkcs12::safe_bag::SafeBag {
        bag_id: pkcs12::PKCS_12_PKCS8_KEY_BAG_OID,
        bag_value: pkcs12::pbe_params::EncryptedPrivateKeyInfo {
            encryption_algorithm: pbkdf2_algorithm(i32::MAX as u32),
            encrypted_data: OctetString::new(vec![0u8; 1232]).unwrap(),
        }
        .to_der()
        .unwrap(),
        bag_attributes: None,
    };
    let bags = vec![key_bag].to_der().unwrap();
    let sealed = pbkdf2_params(2048).encrypt(P12_PASSWORD, &bags).unwrap();
    let encrypted = cms::encrypted_data::EncryptedData {
        version: cms::content_info::CmsVersion::V0,
        enc_content_info: cms::enveloped_data::EncryptedContentInfo {
            content_type: id_data,
            content_enc_alg: pbkdf2_algorithm(2048),
            encrypted_content: Some(OctetString::new(sealed).unwrap()),
        },
        unprotected_attrs: None,
    };
    let safes = vec![ContentInfo {
        content_type: const_oid::db::rfc5911::ID_ENCRYPTED_DATA,
        content: Any::encode_from(&encrypted).unwrap(),
    }];
    let pfx = pkcs12::pfx::Pfx {
        version: pkcs12::pfx::Version::V3,
        auth_safe: ContentInfo {
            content_type: id_data,
            content: Any::encode_from(&OctetString::new(safes.to_der().unwrap()).unwrap()).unwrap(),
        },
        mac_data: None,
    };
    let out = import_p12(&env, &pfx.to_der().unwrap());
    let err = assert_clean_failure(&out, 65);
    assert!(
        err.contains("PBKDF2 iteration count is 2147483647"),
        "{err}"
    );
}

/// An encrypted PKCS#8 key (PEM) whose KDF the file chose.
fn encrypted_key_pem(params: pkcs5::pbes2::Parameters<'_>) -> String {
    use der::Encode;
    let info = pkcs8::EncryptedPrivateKeyInfo {
        encryption_algorithm: params.into(),
        encrypted_data: &[0u8; 1232],
    };
    pem_rfc7468::encode_string(
        "ENCRYPTED PRIVATE KEY",
        pem_rfc7468::LineEnding::LF,
        &info.to_der().unwrap(),
    )
    .unwrap()
}

fn scrypt_params(n: u64, r: u16, p: u16) -> pkcs5::pbes2::Parameters<'static> {
    pkcs5::pbes2::Parameters {
        kdf: pkcs5::pbes2::Kdf::Scrypt(pkcs5::pbes2::ScryptParams {
            salt: &[3; 16],
            cost_parameter: n,
            block_size: r,
            parallelization: p,
            key_length: Some(32),
        }),
        encryption: pkcs5::pbes2::EncryptionScheme::Aes256Cbc { iv: &[4; 16] },
    }
}

/// Encrypted PKCS#8 on import: PBKDF2 with 2^31−1 iterations ran for
/// minutes, scrypt with N = 2^40 aborted the process on allocation.
#[test]
fn key_import_refuses_pkcs8_kdf_bombs() {
    let env = Env::new();
    crate::common::write_secret(&env.path("keypass"), "key secret\n");
    let bombs = [
        (
            pbkdf2_params(i32::MAX as u32),
            "PBKDF2 iteration count is 2147483647",
        ),
        (scrypt_params(1 << 40, 8, 1), "scrypt memory"),
        (scrypt_params(1 << 14, 8, 1024), "scrypt work"),
    ];
    for (params, named) in bombs {
        let key = env.path("bomb.key.pem");
        std::fs::write(&key, encrypted_key_pem(params)).unwrap();
        let mut cmd = sealpost(&env);
        cmd.args(["key", "import"])
            .arg(&key)
            .arg("--cert")
            .arg(data("alice.cert.pem"))
            .arg("--key-password-file")
            .arg(env.path("keypass"));
        let out = within(cmd, 20);
        let err = assert_clean_failure(&out, 65);
        assert!(err.contains(named), "{named}: {err}");
        assert!(err.contains("limit"), "{err}");
    }
}

/// The keystore's own key file is read with the same limits: a planted file
/// asking for scrypt N = 2^40 is refused when the key is unlocked.
#[test]
fn a_planted_keystore_key_file_cannot_ask_for_unbounded_kdf_work() {
    let env = Env::new();
    env.import_identity("alice");
    env.cmd()
        .args(["cert", "import"])
        .arg(data("bob.cert.pem"))
        .assert()
        .success();
    let identities = env.keystore().join("identities");
    let key_file = std::fs::read_dir(&identities)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".key.pem"))
        .unwrap();
    std::fs::write(&key_file, encrypted_key_pem(scrypt_params(1 << 40, 8, 1))).unwrap();
    let message = env.path("message.eml");
    std::fs::write(
        &message,
        "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: x\r\n\r\nhi\r\n",
    )
    .unwrap();
    let mut cmd = sealpost(&env);
    cmd.args(["encrypt", "--sign", "--eml"]).arg(&message);
    let out = within(cmd, 20);
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("scrypt memory"), "{err}");
}

/// p12-keystore follows "the first certificate whose subject is this one's
/// issuer" from the key's certificate, copying each onto the chain, until a
/// self-issued one: two certificates naming each other as issuer (X by Y, Y
/// by X) made that loop for ever, memory growing until the abort. Made with
/// openssl; the signatures are real, only the names circle.
#[test]
fn key_import_refuses_a_pkcs12_whose_certificate_chain_loops() {
    use crate::common::run_tool;
    let env = Env::new();
    let file = |name: &str| env.path(name).to_str().unwrap().to_owned();
    let key = |who: &str| data(&format!("{who}.key.pem")).to_str().unwrap().to_owned();
    let csr = |who: &str, subject: &str, out: &str| {
        run_tool(
            "openssl",
            &[
                "req",
                "-new",
                "-key",
                &key(who),
                "-subj",
                subject,
                "-out",
                &file(out),
            ],
        );
    };
    let sign = |csr: &str, ca: &str, ca_key: &str, serial: &str, out: &str| {
        run_tool(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &file(csr),
                "-CA",
                &file(ca),
                "-CAkey",
                &key(ca_key),
                "-set_serial",
                serial,
                "-days",
                "3650",
                "-out",
                &file(out),
            ],
        );
    };
    run_tool(
        "openssl",
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            &key("bob"),
            "-subj",
            "/CN=Y",
            "-days",
            "3650",
            "-out",
            &file("y.pem"),
        ],
    );
    csr("carol", "/CN=X", "x.csr");
    sign("x.csr", "y.pem", "bob", "1", "x-by-y.pem");
    csr("bob", "/CN=Y", "y.csr");
    sign("y.csr", "x-by-y.pem", "carol", "2", "y-by-x.pem");
    csr(
        "alice",
        "/CN=alice test/emailAddress=alice@example.org",
        "leaf.csr",
    );
    sign("leaf.csr", "x-by-y.pem", "carol", "3", "leaf.pem");
    let ring = [
        std::fs::read(env.path("x-by-y.pem")).unwrap(),
        std::fs::read(env.path("y-by-x.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(env.path("ring.pem"), ring).unwrap();
    let p12 = run_tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &key("alice"),
            "-in",
            &file("leaf.pem"),
            "-certfile",
            &file("ring.pem"),
            "-passout",
            &format!("pass:{P12_PASSWORD}"),
        ],
    );
    let out = import_p12(&env, &p12);
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("in a loop"), "{err}");
}
