//! `sealpost key`: generate, import (PEM, PKCS#12 modern and legacy), list,
//! export, and the passphrase and permission rules.

use std::os::unix::fs::PermissionsExt;

use crate::common::{assert_clean_failure, data, openssl_encrypt, run_tool, tool, Env};

fn keystore_key_files(env: &Env) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(env.keystore().join("identities"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".key.pem"))
        .collect()
}

#[test]
fn generate_then_openssl_accepts_the_certificate() {
    let env = Env::new();
    let out = env
        .cmd_pw()
        .args([
            "--json",
            "key",
            "generate",
            "--email",
            "alice@example.org",
            "--name",
            "Alice Liddell",
            "--bits",
            "2048",
            "--days",
            "30",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = crate::json_document::document(&out.stdout, "key generate")["identity"].clone();
    assert_eq!(info["emails"][0], "alice@example.org");
    assert_eq!(info["passphrase_protected"], true);
    assert_eq!(info["rsa_bits"], 2048);

    // The keystore directory and key file are private.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.keystore()), 0o700);
    let keys = keystore_key_files(&env);
    assert_eq!(keys.len(), 1);
    assert_eq!(mode(&keys[0]), 0o600);
    let key_text = std::fs::read_to_string(&keys[0]).unwrap();
    assert!(key_text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));

    // OpenSSL reads the sealed key with the passphrase (PBES2/scrypt interop).
    run_tool(
        "openssl",
        &[
            "pkey",
            "-in",
            keys[0].to_str().unwrap(),
            "-passin",
            &format!("file:{}", env.pass_file().display()),
            "-noout",
        ],
    );

    let cert = env
        .cmd()
        .args(["key", "export", "alice@example.org"])
        .output()
        .unwrap();
    assert!(cert.status.success());
    let cert_path = env.path("alice.pem");
    std::fs::write(&cert_path, &cert.stdout).unwrap();
    let text = run_tool(
        "openssl",
        &[
            "x509",
            "-in",
            cert_path.to_str().unwrap(),
            "-noout",
            "-text",
        ],
    );
    let text = String::from_utf8_lossy(&text);
    for needle in [
        "Digital Signature, Key Encipherment",
        "E-mail Protection",
        "email:alice@example.org",
        "Subject Key Identifier",
        "CN = Alice Liddell",
        "S/MIME Capabilities",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let verify = run_tool(
        "openssl",
        &[
            "verify",
            "-purpose",
            "smimeencrypt",
            "-CAfile",
            cert_path.to_str().unwrap(),
            cert_path.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&verify).contains(": OK"));

    // DER export is the same certificate.
    let der = env
        .cmd()
        .args(["key", "export", "--der", "alice@example.org"])
        .output()
        .unwrap();
    assert!(der.status.success());
    let pem_from_der = tool("openssl", &["x509", "-inform", "DER"], Some(&der.stdout));
    assert_eq!(
        String::from_utf8_lossy(&pem_from_der).trim(),
        String::from_utf8_lossy(&cert.stdout).trim()
    );
}

#[test]
fn no_terminal_and_no_passphrase_fails_fast() {
    let env = Env::new();
    let start = std::time::Instant::now();
    let out = env
        .cmd()
        .args([
            "key",
            "generate",
            "--email",
            "a@example.org",
            "--bits",
            "2048",
        ])
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 78);
    assert!(stderr.contains("no terminal to ask on"), "{stderr}");
    assert!(stderr.contains("--passphrase-file"), "{stderr}");
    // It failed before generating a key, not after (and certainly did not hang).
    assert!(start.elapsed().as_secs() < 20);
    assert!(keystore_key_files(&env).is_empty());
}

#[test]
fn passphrase_from_fd_and_environment() {
    let env = Env::new();
    // From the environment.
    env.cmd()
        .env("SEALPOST_PASSPHRASE", "from env")
        .args(["key", "import"])
        .arg(data("alice.key.pem"))
        .arg("--cert")
        .arg(data("alice.cert.pem"))
        .assert()
        .success();
    // From a file descriptor: bash opens fd 3 on a file holding the same passphrase.
    std::fs::write(env.path("fd-pass"), "from env\n").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("sealpost");
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' key import '{}' --cert '{}' --passphrase-fd 3 3<'{}'",
            bin.display(),
            data("bob.key.pem").display(),
            data("bob.cert.pem").display(),
            env.path("fd-pass").display()
        ))
        .env("SEALPOST_KEYSTORE", env.keystore())
        .env_remove("SEALPOST_PASSPHRASE")
        .stdin(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // A different passphrase for a third key is refused: one keystore, one passphrase.
    let out = env
        .cmd_pw()
        .args(["key", "import"])
        .arg(data("carol.key.pem"))
        .arg("--cert")
        .arg(data("carol.cert.pem"))
        .output()
        .unwrap();
    assert_clean_failure(&out, 77);
    // A closed descriptor is a clear error.
    let out = env
        .cmd()
        .args(["--passphrase-fd", "9", "key", "import"])
        .arg(data("carol.key.pem"))
        .arg("--cert")
        .arg(data("carol.cert.pem"))
        .output()
        .unwrap();
    assert_clean_failure(&out, 66);
}

#[test]
fn pkcs12_modern_and_legacy_import() {
    let env = Env::new();
    let pw = env.path("p12pass");
    std::fs::write(&pw, "p12 secret\n").unwrap();
    for (who, legacy) in [("carol", false), ("dave", true)] {
        let p12 = env.path(&format!("{who}.p12"));
        let mut args = vec!["pkcs12", "-export", "-inkey"];
        let key = data(&format!("{who}.key.pem"));
        let cert = data(&format!("{who}.cert.pem"));
        args.push(key.to_str().unwrap());
        args.extend([
            "-in",
            cert.to_str().unwrap(),
            "-passout",
            "pass:p12 secret",
            "-out",
            p12.to_str().unwrap(),
        ]);
        if legacy {
            args.push("-legacy");
        }
        run_tool("openssl", &args);

        // Wrong PKCS#12 password: permission denied, nothing imported.
        crate::common::write_secret(&env.path("wrong"), "nope\n");
        let out = env
            .cmd_pw()
            .args(["key", "import"])
            .arg(&p12)
            .arg("--p12-password-file")
            .arg(env.path("wrong"))
            .output()
            .unwrap();
        let stderr = assert_clean_failure(&out, 77);
        assert!(stderr.contains("wrong password"), "{stderr}");

        // No password source and no terminal: config error, no prompt.
        let out = env
            .cmd_pw()
            .args(["key", "import"])
            .arg(&p12)
            .output()
            .unwrap();
        assert_clean_failure(&out, 78);

        env.cmd_pw()
            .args(["key", "import"])
            .arg(&p12)
            .arg("--p12-password-file")
            .arg(&pw)
            .assert()
            .success();
    }
    let list = env.cmd().args(["--json", "key", "list"]).output().unwrap();
    let list = crate::json_document::document(&list.stdout, "key list");
    let emails: Vec<&str> = list["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["emails"][0].as_str().unwrap())
        .collect();
    assert!(
        emails.contains(&"carol@example.org") && emails.contains(&"dave@example.org"),
        "{emails:?}"
    );
    assert!(list["identities"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["passphrase_protected"] == true));
    // The imported key was re-encrypted under the keystore passphrase, not kept as given.
    for key in keystore_key_files(&env) {
        let text = std::fs::read_to_string(&key).unwrap();
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        run_tool(
            "openssl",
            &[
                "pkey",
                "-in",
                key.to_str().unwrap(),
                "-passin",
                &format!("file:{}", env.pass_file().display()),
                "-noout",
            ],
        );
    }
}

#[test]
fn pem_import_pkcs1_and_encrypted_pkcs8() {
    let env = Env::new();
    // PKCS#1 ("RSA PRIVATE KEY") as older tools write it.
    let pkcs1 = env.path("erin-rsa.pem");
    run_tool(
        "openssl",
        &[
            "rsa",
            "-in",
            data("erin.key.pem").to_str().unwrap(),
            "-traditional",
            "-out",
            pkcs1.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read_to_string(&pkcs1)
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    env.cmd_pw()
        .args(["key", "import"])
        .arg(&pkcs1)
        .arg("--cert")
        .arg(data("erin.cert.pem"))
        .assert()
        .success();

    // Encrypted PKCS#8 input needs its own password.
    let enc = env.path("frank-enc.pem");
    run_tool(
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-in",
            data("frank.key.pem").to_str().unwrap(),
            "-passout",
            "pass:input pw",
            "-out",
            enc.to_str().unwrap(),
        ],
    );
    let out = env
        .cmd_pw()
        .args(["key", "import"])
        .arg(&enc)
        .arg("--cert")
        .arg(data("frank.cert.pem"))
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 78);
    assert!(stderr.contains("--key-password-file"), "{stderr}");
    std::fs::write(env.path("inpw"), "input pw").unwrap();
    env.cmd_pw()
        .args(["key", "import"])
        .arg(&enc)
        .arg("--cert")
        .arg(data("frank.cert.pem"))
        .arg("--key-password-file")
        .arg(env.path("inpw"))
        .assert()
        .success();

    // A key with someone else's certificate is refused.
    let out = env
        .cmd_pw()
        .args(["key", "import"])
        .arg(data("grace.key.pem"))
        .arg("--cert")
        .arg(data("alice.cert.pem"))
        .output()
        .unwrap();
    assert_clean_failure(&out, 65);

    let list = String::from_utf8(env.cmd().args(["key", "list"]).output().unwrap().stdout).unwrap();
    assert!(
        list.contains("erin@example.org") && list.contains("frank@example.org"),
        "{list}"
    );
    assert!(!list.contains("grace"));
}

#[test]
fn unprotected_key_is_shown_and_world_readable_key_is_refused() {
    let env = Env::new();
    env.cmd()
        .args(["key", "import", "--no-passphrase"])
        .arg(data("alice.key.pem"))
        .arg("--cert")
        .arg(data("alice.cert.pem"))
        .assert()
        .success();
    let list = String::from_utf8(env.cmd().args(["key", "list"]).output().unwrap().stdout).unwrap();
    assert!(list.contains("UNPROTECTED"), "{list}");
    let key = &keystore_key_files(&env)[0];
    assert!(std::fs::read_to_string(key)
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(
        std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn export_and_import_bad_input() {
    let env = Env::new();
    // Unknown identity in an existing keystore (with none: "no keystore", 66).
    env.make_keystore();
    let out = env
        .cmd()
        .args(["key", "export", "nobody@example.org"])
        .output()
        .unwrap();
    assert_clean_failure(&out, 67);
    // Missing file.
    let out = env
        .cmd_pw()
        .args(["key", "import", "/nonexistent/x.p12"])
        .output()
        .unwrap();
    assert_clean_failure(&out, 66);
    // Garbage as PKCS#12 and as a PEM key.
    std::fs::write(env.path("junk"), b"\x00\x01garbage").unwrap();
    crate::common::write_secret(&env.path("pw"), "x");
    let out = env
        .cmd_pw()
        .args(["key", "import"])
        .arg(env.path("junk"))
        .arg("--p12-password-file")
        .arg(env.path("pw"))
        .output()
        .unwrap();
    assert_clean_failure(&out, 65);
    let out = env
        .cmd_pw()
        .args(["key", "import"])
        .arg(env.path("junk"))
        .arg("--cert")
        .arg(data("alice.cert.pem"))
        .output()
        .unwrap();
    assert_clean_failure(&out, 65);
    // Bad flag values are usage errors.
    let out = env
        .cmd_pw()
        .args([
            "key",
            "generate",
            "--email",
            "a@example.org",
            "--bits",
            "1024",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = env
        .cmd_pw()
        .args([
            "key",
            "generate",
            "--email",
            "not-an-address",
            "--bits",
            "2048",
        ])
        .output()
        .unwrap();
    assert_clean_failure(&out, 64);
}

#[test]
fn world_readable_key_file_is_refused_on_use() {
    let env = Env::new();
    env.import_identity("alice");
    let key = &keystore_key_files(&env)[0];
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Adding a second identity unlocks the first to check the passphrase: refused.
    let out = env
        .cmd_pw()
        .args(["key", "import"])
        .arg(data("bob.key.pem"))
        .arg("--cert")
        .arg(data("bob.cert.pem"))
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 77);
    assert!(
        stderr.contains("accessible by others") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}

#[test]
fn wrong_passphrase_unlocks_nothing_and_prints_nothing() {
    let env = Env::new();
    env.import_identity("bob");
    // A message to bob, made with openssl.
    let content = env.path("c.txt");
    std::fs::write(&content, "Content-Type: text/plain\r\n\r\nsecret\r\n").unwrap();
    let enc = env.path("m.eml");
    openssl_encrypt(&content, &data("bob.cert.pem"), &enc);
    crate::common::write_secret(&env.path("wrong"), "not the passphrase\n");
    let out = env
        .cmd()
        .arg("--passphrase-file")
        .arg(env.path("wrong"))
        .arg("decrypt")
        .arg(&enc)
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 77);
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    assert!(
        !stderr.contains("not the passphrase"),
        "the passphrase must never be echoed"
    );
    // Without any passphrase source and no terminal: config error, at once.
    let out = env.cmd().arg("decrypt").arg(&enc).output().unwrap();
    assert_clean_failure(&out, 78);
    // The right one works.
    let out = env.cmd_pw().arg("decrypt").arg(&enc).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("secret"));
}
