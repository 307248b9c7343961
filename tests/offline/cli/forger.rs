//! A forger must not become "alice" (issue #11, item 10): a certificate met in
//! signed mail is reported as not verified, never joins or changes the
//! certificates `encrypt` uses, and is used only after `cert accept`.

use std::path::PathBuf;

use crate::common::{assert_clean_failure, data, openssl_self_signed};
use crate::world::{addr, World};

/// A self-signed certificate for `email` with a fresh key, as anyone can
/// make: (key file, certificate file).
fn self_signed(w: &World, name: &str, email: &str) -> (PathBuf, PathBuf) {
    let key = w.path(&format!("{name}.key.pem"));
    let cert = w.path(&format!("{name}.cert.pem"));
    openssl_self_signed(&key, &cert, "Alice", email);
    (key, cert)
}

/// The forger's sealpost: an own key for `email` under a self-signed
/// certificate, and bob's certificate to write to him. Returns the forged
/// key and certificate files.
fn forger_signing_as(w: &World, email: &str) -> (PathBuf, PathBuf) {
    let name = format!("forged-{}", email.split('@').next().unwrap());
    let (key, cert) = self_signed(w, &name, email);
    w.as_("forger")
        .args(["key", "import", "--no-passphrase"])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .assert()
        .success();
    import_cert(w, "forger", "bob");
    (key, cert)
}

/// `who` accepts the fixture certificate of `name` with `cert import`.
fn import_cert(w: &World, who: &str, name: &str) {
    w.as_(who)
        .args(["cert", "import"])
        .arg(data(&format!("{name}.cert.pem")))
        .assert()
        .success();
}

fn fingerprint(cert: &std::path::Path) -> String {
    sealpost::smime::certs::parse_bundle(&std::fs::read(cert).unwrap())
        .unwrap()
        .remove(0)
        .fingerprint
}

fn success(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// `sealpost --json cert list ADDR` as `who`.
fn cert_list(w: &World, who: &str, address: &str) -> Vec<serde_json::Value> {
    let out = w
        .as_(who)
        .args(["--json", "cert", "list", address])
        .output()
        .unwrap();
    success(&out);
    crate::json_document::document(&out.stdout, "cert list")["certificates"]
        .as_array()
        .unwrap()
        .clone()
}

/// A message from `from` to `to`, signed and encrypted by the sealpost of
/// `sender` (whose own key for `from` signs).
fn signed_mail(w: &World, sender: &str, from: &str, to: &str, body: &str) -> Vec<u8> {
    let msg = format!(
        "From: {from}\r\nTo: {}\r\nSubject: urgent\r\n\r\n{body}",
        addr(to)
    );
    let out = w
        .as_(sender)
        .args(["encrypt", "--eml", "--sign", "--no-self"])
        .write_stdin(msg)
        .output()
        .unwrap();
    success(&out);
    out.stdout
}

/// `who` encrypts a message to `to` (no sender copy) and returns the one
/// envelope, or the failed output.
fn encrypt_to(w: &World, who: &str, to: &str) -> std::process::Output {
    let msg = format!(
        "From: {}\r\nTo: {}\r\nSubject: the plan\r\n\r\nmeet at noon\r\n",
        addr(who),
        addr(to)
    );
    w.as_(who)
        .args(["encrypt", "--eml", "--no-self"])
        .write_stdin(msg)
        .output()
        .unwrap()
}

#[test]
fn forged_alice_is_not_verified_not_learned_and_never_encrypted_to() {
    let w = World::new();
    let real_alice = fingerprint(&data("alice.cert.pem"));
    // bob knows alice's real certificate.
    import_cert(&w, "bob", "alice");
    // The forger makes a certificate for alice@example.org, signs as alice
    // with it and encrypts to bob, all with sealpost.
    let (forged_key, forged_cert) = forger_signing_as(&w, &addr("alice"));
    let forged = fingerprint(&forged_cert);
    let mail = signed_mail(&w, "forger", &addr("alice"), "bob", "wire the money\r\n");

    // bob decrypts: the signature is good, the certificate is not verified,
    // and bob is told it is not the alice he knows.
    let out = w.decrypt("bob", &mail, &[]);
    let stderr = success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("wire the money"));
    assert!(
        stderr.contains("good signature (certificate NOT verified) from alice@example.org"),
        "{stderr}"
    );
    assert!(stderr.contains("NOT the certificate you have"), "{stderr}");
    assert!(stderr.contains(&real_alice[..16]), "{stderr}");
    assert!(!stderr.contains("good signature from"), "{stderr}");
    assert!(!stderr.contains("known certificate"), "{stderr}");
    let out = w.decrypt("bob", &mail, &["--json"]);
    success(&out);
    let summary = crate::json_document::document(&out.stdout, "decrypt");
    let signer = &summary["signatures"][0]["signer"];
    assert_eq!(summary["signatures"][0]["valid"], true);
    assert_eq!(signer["fingerprint"], forged);
    assert_eq!(signer["verified"], false, "{summary}");
    assert_eq!(signer["certificate"], "unknown", "{summary}");
    assert_eq!(signer["other_certificates"][0]["fingerprint"], real_alice);

    // bob's keystore still holds exactly one certificate for alice: the real one.
    let listed = cert_list(&w, "bob", &addr("alice"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["fingerprint"], real_alice);
    assert_eq!(listed[0]["accepted"], true);

    // bob's next mail to alice has one RecipientInfo, the real alice's.
    let out = encrypt_to(&w, "bob", "alice");
    success(&out);
    let envelope = out.stdout;
    let inspected = w
        .as_("bob")
        .args(["--json", "inspect"])
        .write_stdin(envelope.clone())
        .output()
        .unwrap();
    success(&inspected);
    let report = crate::json_document::document(&inspected.stdout, "inspect");
    let recipients = report["messages"][0]["recipient_infos"].as_array().unwrap();
    assert_eq!(recipients.len(), 1, "{report}");
    assert_eq!(recipients[0]["fingerprint"], real_alice.as_str());
    // The forger's key cannot open it; alice's can.
    let eml = w.path("to-alice.eml");
    std::fs::write(&eml, &envelope).unwrap();
    let forger_try = std::process::Command::new("openssl")
        .args(["cms", "-decrypt", "-in", eml.to_str().unwrap()])
        .args(["-recip", forged_cert.to_str().unwrap()])
        .args(["-inkey", forged_key.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!forger_try.status.success());
    assert!(!String::from_utf8_lossy(&forger_try.stdout).contains("meet at noon"));
    let out = w.decrypt("alice", &envelope, &[]);
    success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("meet at noon"));
}

#[test]
fn learned_certificate_is_used_only_after_accept() {
    let w = World::new();
    let carol = fingerprint(&data("carol.cert.pem"));
    import_cert(&w, "carol", "bob");
    let mail = signed_mail(&w, "carol", &addr("carol"), "bob", "hello bob\r\n");

    // bob has never met carol: her certificate is learned, not verified.
    let stderr = success(&w.decrypt("bob", &mail, &[]));
    assert!(
        stderr.contains("good signature (certificate NOT verified) from carol@example.org"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("sealpost cert accept {carol}")),
        "{stderr}"
    );
    let listed = cert_list(&w, "bob", &addr("carol"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["fingerprint"], carol.as_str());
    assert_eq!(listed[0]["accepted"], false);
    assert_eq!(listed[0]["usable_for_encryption"], false);
    let text = w.as_("bob").args(["cert", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("NOT accepted"));

    // Not used to encrypt until accepted: exit 67, naming the command.
    let stderr = assert_clean_failure(&encrypt_to(&w, "bob", "carol"), 67);
    assert!(
        stderr.contains(&format!("sealpost cert accept {carol}")),
        "{stderr}"
    );
    // The algorithms her signature advertised were not recorded either.
    assert!(!w.keystore("bob").join("capabilities.toml").exists());

    w.as_("bob")
        .args(["cert", "accept", &addr("carol")])
        .assert()
        .success();
    let listed = cert_list(&w, "bob", &addr("carol"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["accepted"], true);
    let out = encrypt_to(&w, "bob", "carol");
    success(&out);
    let read = w.decrypt("carol", &out.stdout, &[]);
    success(&read);
    assert!(String::from_utf8_lossy(&read.stdout).contains("meet at noon"));

    // Her next signature is by a known certificate, and now teaches what
    // her software reads.
    let stderr = success(&w.decrypt("bob", &mail, &[]));
    assert!(
        stderr.contains("good signature (known certificate) from carol@example.org"),
        "{stderr}"
    );
    assert!(w.keystore("bob").join("capabilities.toml").exists());
    // Nothing left to accept.
    assert_clean_failure(
        &w.as_("bob")
            .args(["cert", "accept", &addr("carol")])
            .output()
            .unwrap(),
        67,
    );
}

#[test]
fn a_second_certificate_for_a_learned_address_is_not_learned() {
    let w = World::new();
    // carol writes to bob first (learned), then someone signs as carol.
    import_cert(&w, "carol", "bob");
    success(&w.decrypt(
        "bob",
        &signed_mail(&w, "carol", &addr("carol"), "bob", "one\r\n"),
        &[],
    ));
    forger_signing_as(&w, &addr("carol"));
    let forged = signed_mail(&w, "forger", &addr("carol"), "bob", "forged\r\n");
    let stderr = success(&w.decrypt("bob", &forged, &[]));
    assert!(stderr.contains("NOT the certificate you have"), "{stderr}");
    let listed = cert_list(&w, "bob", &addr("carol"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        listed[0]["fingerprint"],
        fingerprint(&data("carol.cert.pem"))
    );

    // A forger who writes first as dave is learned; once bob imports dave's
    // real certificate, accepting "dave" by address is refused.
    let (_, forged_dave) = forger_signing_as(&w, &addr("dave"));
    let forged = signed_mail(&w, "forger", &addr("dave"), "bob", "first\r\n");
    success(&w.decrypt("bob", &forged, &[]));
    import_cert(&w, "bob", "dave");
    let stderr = assert_clean_failure(
        &w.as_("bob")
            .args(["cert", "accept", &addr("dave")])
            .output()
            .unwrap(),
        64,
    );
    assert!(
        stderr.contains(&fingerprint(&forged_dave)[..16]),
        "{stderr}"
    );
    let listed = cert_list(&w, "bob", &addr("dave"));
    let accepted: Vec<_> = listed.iter().filter(|c| c["accepted"] == true).collect();
    assert_eq!(accepted.len(), 1, "{listed:?}");
    assert_eq!(
        accepted[0]["fingerprint"],
        fingerprint(&data("dave.cert.pem"))
    );
}
