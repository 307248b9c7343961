//! `sealpost cert`: import (PEM, DER, bundles), list, remove, and the
//! certificate choice rules seen from the command line.

use crate::common::{assert_clean_failure, data, openssl_self_signed, run_tool, Env};

fn list_json(env: &Env, addr: Option<&str>) -> Vec<serde_json::Value> {
    let mut cmd = env.cmd();
    cmd.args(["--json", "cert", "list"]);
    if let Some(a) = addr {
        cmd.arg(a);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::json_document::document(&out.stdout, "cert list")["certificates"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn import_pem_der_bundle_and_stdin() {
    let env = Env::new();
    // A PEM bundle of two.
    let bundle = env.path("bundle.pem");
    let both = [
        std::fs::read(data("bob.cert.pem")).unwrap(),
        std::fs::read(data("carol.cert.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(&bundle, both).unwrap();
    env.cmd()
        .args(["cert", "import"])
        .arg(&bundle)
        .assert()
        .success();
    // DER.
    let der = env.path("dave.der");
    run_tool(
        "openssl",
        &[
            "x509",
            "-in",
            data("dave.cert.pem").to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ],
    );
    env.cmd()
        .args(["cert", "import"])
        .arg(&der)
        .assert()
        .success();
    // A PKCS#7 certs-only bundle on stdin.
    let p7b = env.path("team.p7b");
    run_tool(
        "openssl",
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            data("erin.cert.pem").to_str().unwrap(),
            "-certfile",
            data("frank.cert.pem").to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            p7b.to_str().unwrap(),
        ],
    );
    let out = env
        .cmd()
        .args(["--json", "cert", "import", "-"])
        .write_stdin(std::fs::read(&p7b).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported =
        crate::json_document::document(&out.stdout, "cert import")["certificates"].clone();
    assert_eq!(imported.as_array().unwrap().len(), 2);
    assert!(imported
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["new"] == true));

    let all = list_json(&env, None);
    let mut emails: Vec<String> = all
        .iter()
        .map(|c| c["emails"][0].as_str().unwrap().to_string())
        .collect();
    emails.sort();
    assert_eq!(
        emails,
        [
            "bob@example.org",
            "carol@example.org",
            "dave@example.org",
            "erin@example.org",
            "frank@example.org"
        ]
    );
    assert!(all.iter().all(|c| c["usable_for_encryption"] == true));

    // Importing again adds nothing; the domain matches case-insensitively.
    let again = env
        .cmd()
        .args(["--json", "cert", "import"])
        .arg(data("bob.cert.pem"))
        .output()
        .unwrap();
    let again = crate::json_document::document(&again.stdout, "cert import");
    assert_eq!(again["certificates"][0]["new"], false);
    assert_eq!(list_json(&env, Some("bob@EXAMPLE.ORG")).len(), 1);
    assert_eq!(list_json(&env, Some("BOB@example.org")).len(), 0);
}

#[test]
fn several_certificates_per_address_and_remove() {
    let env = Env::new();
    // A second certificate for bob, made with a new key.
    let key2 = env.path("bob2.key");
    let cert2 = env.path("bob2.pem");
    openssl_self_signed(&key2, &cert2, "bob again", "bob@example.org");
    env.cmd()
        .args(["cert", "import"])
        .arg(data("bob.cert.pem"))
        .arg(&cert2)
        .arg(data("carol.cert.pem"))
        .assert()
        .success();
    assert_eq!(list_json(&env, Some("bob@example.org")).len(), 2);

    // Remove one by fingerprint prefix.
    let fp = list_json(&env, Some("bob@example.org"))[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    env.cmd()
        .args(["cert", "remove", &fp[..12]])
        .assert()
        .success();
    assert_eq!(list_json(&env, Some("bob@example.org")).len(), 1);
    // Remove by address.
    env.cmd()
        .args(["cert", "remove", "bob@example.org"])
        .assert()
        .success();
    assert_eq!(list_json(&env, Some("bob@example.org")).len(), 0);
    assert_eq!(list_json(&env, None).len(), 1);
    // Nothing left to remove; a too-short fingerprint is a usage error.
    assert_clean_failure(
        &env.cmd()
            .args(["cert", "remove", "bob@example.org"])
            .output()
            .unwrap(),
        67,
    );
    assert_clean_failure(
        &env.cmd().args(["cert", "remove", "abc"]).output().unwrap(),
        64,
    );
}

#[test]
fn unusable_certificates_are_listed_with_the_reason() {
    let env = Env::new();
    let make = |name: &str, extra: &[&str]| {
        let key = env.path(&format!("{name}.key"));
        let cert = env.path(&format!("{name}.pem"));
        let mut args = vec![
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
            "-subj",
            "/CN=test",
            "-addext",
            "subjectAltName=email:zoe@example.org",
        ];
        args.extend_from_slice(extra);
        run_tool("openssl", &args);
        cert
    };
    let sign_only = make(
        "signonly",
        &[
            "-days",
            "30",
            "-addext",
            "keyUsage=critical,digitalSignature",
        ],
    );
    let server = make(
        "server",
        &["-days", "30", "-addext", "extendedKeyUsage=serverAuth"],
    );
    env.cmd()
        .args(["cert", "import"])
        .arg(&sign_only)
        .arg(&server)
        .assert()
        .success();
    let all = list_json(&env, Some("zoe@example.org"));
    assert_eq!(all.len(), 2);
    let problems: Vec<String> = all
        .iter()
        .map(|c| c["problems"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        problems.iter().any(|p| p.contains("key encipherment")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("emailProtection")),
        "{problems:?}"
    );
    assert!(all.iter().all(|c| c["usable_for_encryption"] == false));
}

#[test]
fn bad_input_is_refused_whole() {
    let env = Env::new();
    std::fs::write(
        env.path("junk.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["cert", "import"])
        .arg(data("bob.cert.pem"))
        .arg(env.path("junk.pem"))
        .output()
        .unwrap();
    assert_clean_failure(&out, 65);
    // One bad file imports nothing.
    assert_eq!(list_json(&env, None).len(), 0);
    let out = env
        .cmd()
        .args(["cert", "import", "-"])
        .write_stdin(vec![0x30, 0x82, 0xff])
        .output()
        .unwrap();
    assert_clean_failure(&out, 65);
    let out = env
        .cmd()
        .args(["cert", "import", "/nonexistent.pem"])
        .output()
        .unwrap();
    assert_clean_failure(&out, 66);
    let out = env
        .cmd()
        .args(["cert", "import", "-"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_clean_failure(&out, 65);
}

#[test]
fn commands_that_only_read_never_create_a_keystore() {
    let env = Env::new();
    let missing = env.keystore();
    let msg = env.path("m.eml");
    std::fs::write(
        &msg,
        "From: a@example.org\r\nTo: b@example.org\r\n\r\nhi\r\n",
    )
    .unwrap();
    for args in [
        vec!["cert", "list"],
        vec!["key", "list"],
        vec!["account", "list"],
        vec!["inspect", msg.to_str().unwrap()],
        vec!["decrypt", msg.to_str().unwrap()],
        vec!["encrypt", msg.to_str().unwrap()],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        let stderr = assert_clean_failure(&out, 66);
        assert!(
            stderr.contains(&format!("no keystore at {}", missing.display())),
            "{args:?}: {stderr}"
        );
        assert!(!missing.exists(), "{args:?} created the keystore");
    }
    // A command that stores something creates it.
    env.cmd()
        .args(["cert", "import"])
        .arg(data("alice.cert.pem"))
        .assert()
        .success();
    assert!(missing.is_dir());
}
