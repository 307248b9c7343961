//! Trust in signers (issue #14): `verify` and `decrypt` on a PKI OpenSSL
//! makes in the test (root → intermediate → end entities, with the fixture
//! keys so no RSA key is generated): valid chain, expired, wrong EKU,
//! keyUsage without digitalSignature, revoked (CRL), unknown anchor, From
//! mismatch, tampered content; opaque and multipart/signed, PKCS#1 v1.5 and
//! PSS; exit codes and `--json` for each status; anchors in the keystore.
//! The PKI is tests/offline/cli/pki.rs; verify_peers.rs compares these
//! verdicts with OpenSSL's and gpgsm's.

use std::path::Path;

use super::pki::{p, self_signed, success, Pki, FAR_AHEAD, GRACE, LONG_AGO};
use crate::common::{assert_clean_failure, data, run_tool};
use crate::json_document::document;

#[test]
fn a_valid_chain_releases_the_content_opaque_and_multipart_pkcs1_and_pss() {
    let pki = Pki::new();
    let content = std::fs::read(pki.content()).unwrap();
    for (opaque, pss) in [(true, false), (false, false), (true, true), (false, true)] {
        let out = pki.verify(&pki.signed(&pki.good, GRACE, opaque, pss), &[]);
        let stderr = success(&out);
        assert_eq!(out.stdout, content, "opaque {opaque} pss {pss}");
        assert!(
            stderr.contains("trusted (path to command-line anchor CN=Test Root"),
            "{stderr}"
        );
        assert!(stderr.contains("revocation unknown"), "{stderr}");
    }
    // The same message without the anchor: no path, nothing written, 79.
    let message = pki.signed(&pki.good, GRACE, true, false);
    let out = pki.sealpost(&["verify", "--no-system-anchors"], &message);
    let err = assert_clean_failure(&out, 79);
    assert!(err.contains("NOT trusted"), "{err}");
    // ... unless the user accepts it.
    let out = pki.sealpost(
        &["verify", "--no-system-anchors", "--allow-untrusted"],
        &message,
    );
    let stderr = success(&out);
    assert_eq!(out.stdout, content);
    assert!(stderr.contains("content written although"), "{stderr}");
}

#[test]
fn each_reason_not_to_trust_has_its_exit_code_and_json() {
    let pki = Pki::new();
    let expired = pki
        .inter
        .issue("grace", "/CN=Grace", "ee", LONG_AGO, "20210101000000Z");
    let server = pki
        .inter
        .issue("grace", "/CN=Grace", "ee_server", LONG_AGO, FAR_AHEAD);
    let no_signing = pki
        .inter
        .issue("grace", "/CN=Grace", "ee_no_signing", LONG_AGO, FAR_AHEAD);
    let cases: [(&Path, &str, i32, &str, &str); 5] = [
        (&expired, GRACE, 79, "untrusted", "expired"),
        (&server, GRACE, 79, "untrusted", "key_usage"),
        (&no_signing, GRACE, 79, "untrusted", "key_usage"),
        (&pki.good, "ceo@example.org", 80, "sender_mismatch", ""),
        (&pki.good, GRACE, 0, "trusted", ""),
    ];
    for (cert, from, code, status, reason) in cases {
        let message = pki.signed(cert, from, true, false);
        let out = pki.verify(&message, &[]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{status} {reason}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if code != 0 {
            assert!(out.stdout.is_empty(), "{status}: content released");
        }
        let out = pki.verify(&message, &["--json"]);
        let doc = document(&out.stdout, "verify");
        let verdict = &doc["signatures"][0]["verdict"];
        assert_eq!(doc["status"], status, "{doc}");
        assert_eq!(verdict["status"], status, "{doc}");
        assert_eq!(doc["written"], code == 0, "{doc}");
        if !reason.is_empty() {
            assert_eq!(verdict["untrusted_reason"]["code"], reason, "{doc}");
        }
    }
}

/// An end entity valid today under an intermediate that expired: no valid
/// path (RFC 5280 §6.1.3 (a)(2) applies to every certificate of the path).
#[test]
fn an_expired_intermediate_leaves_no_trusted_path() {
    let pki = Pki::new();
    let old = pki
        .root
        .intermediate("old", "frank", "/CN=Old Intermediate", "20210101000000Z");
    let grace = old.issue("grace", "/CN=Grace", "ee", LONG_AGO, FAR_AHEAD);
    let message = pki.signed_via(&grace, &old.cert, GRACE, true, false);
    let out = pki.verify(&message, &[]);
    assert_eq!(
        out.status.code(),
        Some(79),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "content released");
    let out = pki.verify(&message, &["--json"]);
    let doc = document(&out.stdout, "verify");
    assert_eq!(doc["status"], "untrusted", "{doc}");
    assert_eq!(
        doc["signatures"][0]["verdict"]["untrusted_reason"]["code"], "expired",
        "{doc}"
    );
}

#[test]
fn a_revoked_signer_is_refused_and_revocation_checked_says_so() {
    let pki = Pki::new();
    let revoked = pki
        .inter
        .issue("grace", "/CN=Grace", "ee", LONG_AGO, "20980101000000Z");
    pki.inter.revoke(&revoked);
    let root_crl = pki.root.crl();
    let inter_crl = pki.inter.crl();
    // Without CRLs: revocation unknown, which --require-revocation-check refuses.
    let message = pki.signed(&revoked, GRACE, false, false);
    assert!(pki.verify(&message, &[]).status.success());
    assert_clean_failure(&pki.verify(&message, &["--require-revocation-check"]), 81);
    for crl in [&root_crl, &inter_crl] {
        let out = pki.sealpost(&["--json", "cert", "crl", "import", p(crl)], b"");
        success(&out);
        assert_eq!(
            document(&out.stdout, "cert crl import")["crls"][0]["new"],
            true
        );
    }
    let err = assert_clean_failure(&pki.verify(&message, &[]), 79);
    assert!(err.contains("revoked"), "{err}");
    // The good certificate: revocation checked along the whole path.
    let out = pki.verify(
        &pki.signed(&pki.good, GRACE, true, false),
        &["--json", "--require-revocation-check"],
    );
    let doc = document(&out.stdout, "verify");
    assert!(out.status.success(), "{doc}");
    assert_eq!(
        doc["signatures"][0]["verdict"]["revocation"], "checked",
        "{doc}"
    );
}

#[test]
fn a_tampered_message_writes_nothing_even_when_untrusted_is_allowed() {
    let pki = Pki::new();
    let message = pki.signed(&pki.good, GRACE, false, false);
    let text = String::from_utf8(message).unwrap();
    let tampered = text.replacen("the plan is on", "the plan is off", 1);
    assert_ne!(tampered, text);
    for flags in [&[][..], &["--allow-untrusted"][..]] {
        let err = assert_clean_failure(&pki.verify(tampered.as_bytes(), flags), 65);
        assert!(err.contains("BAD signature"), "{err}");
    }
}

#[test]
fn anchors_in_the_keystore_and_an_unknown_self_signed_root() {
    let pki = Pki::new();
    let message = pki.signed(&pki.good, GRACE, true, false);
    let bare = ["verify", "--no-system-anchors"];
    assert_clean_failure(&pki.sealpost(&bare, &message), 79);
    let out = pki.sealpost(&["--json", "cert", "trust", p(&pki.root.cert)], b"");
    success(&out);
    assert_eq!(
        document(&out.stdout, "cert trust")["anchors"][0]["new"],
        true
    );
    let listed = pki.sealpost(&["--json", "cert", "list", "--anchors"], b"");
    let doc = document(&listed.stdout, "cert list");
    assert_eq!(doc["anchors"][0]["subject"], "CN=Test Root", "{doc}");
    assert_eq!(doc["anchors"][0]["ca"], true, "{doc}");
    let out = pki.sealpost(&bare, &message);
    assert!(success(&out).contains("path to keystore anchor"));
    let out = pki.sealpost(&["--json", "cert", "untrust", p(&pki.root.cert)], b"");
    success(&out);
    assert_eq!(
        document(&out.stdout, "cert untrust")["anchors"][0]["subject"],
        "CN=Test Root"
    );
    assert_clean_failure(&pki.sealpost(&bare, &message), 79);
    // A self-signed certificate made by anyone for grace, carried in the
    // message: an anchor nobody trusts.
    let forged = pki.path("forged.pem");
    self_signed(
        &data("grace.key.pem"),
        "/CN=Grace",
        &["subjectAltName=email:grace@example.org"],
        &forged,
    );
    let out = pki.sealpost(
        &["--json", "verify", "--no-system-anchors"],
        &pki.signed(&forged, GRACE, true, false),
    );
    assert_eq!(out.status.code(), Some(79));
    let doc = document(&out.stdout, "verify");
    assert_eq!(
        doc["signatures"][0]["verdict"]["untrusted_reason"]["code"], "unknown_anchor",
        "{doc}"
    );
}

#[test]
fn a_detached_cms_signature_with_its_content() {
    let pki = Pki::new();
    let content = pki.content();
    let sig = pki.path("content.p7s");
    run_tool(
        "openssl",
        &[
            "cms",
            "-sign",
            "-binary",
            "-outform",
            "DER",
            "-in",
            p(&content),
            "-signer",
            p(&pki.good),
            "-inkey",
            p(&data("grace.key.pem")),
            "-certfile",
            p(&pki.inter.cert),
            "-out",
            p(&sig),
        ],
    );
    let sig_bytes = std::fs::read(&sig).unwrap();
    let out = pki.verify(&sig_bytes, &["--content", p(&content)]);
    success(&out);
    assert_eq!(out.stdout, std::fs::read(&content).unwrap());
    let other = pki.path("other.txt");
    std::fs::write(&other, "something else").unwrap();
    assert_clean_failure(&pki.verify(&sig_bytes, &["--content", p(&other)]), 65);
}

/// `decrypt` fails closed on a BAD signature and warns about an untrusted one.
#[test]
fn decrypt_refuses_a_bad_signature_and_warns_about_an_untrusted_signer() {
    let pki = Pki::new();
    pki.env.import_identity("bob");
    let encrypt = |signed: &[u8]| -> Vec<u8> {
        let inner = pki.path("inner.eml");
        let out = pki.path("encrypted.eml");
        std::fs::write(&inner, signed).unwrap();
        crate::common::openssl_encrypt(&inner, &data("bob.cert.pem"), &out);
        std::fs::read(&out).unwrap()
    };
    let content = std::fs::read(pki.content()).unwrap();
    // The signed layer without its From: the sender is the outer message's.
    let signed = pki.signed(&pki.good, GRACE, true, false);
    let signed = &signed[format!("From: {GRACE}\r\n").len()..];
    let good = encrypt(signed);
    let multipart = pki.signed(&pki.good, GRACE, false, false);
    let tampered = String::from_utf8(multipart[format!("From: {GRACE}\r\n").len()..].to_vec())
        .unwrap()
        .replacen("the plan is on", "the plan is off", 1);
    let bad = encrypt(tampered.as_bytes());
    let decrypt = |message: &[u8], flags: &[&str]| {
        let mut cmd = pki.env.cmd_pw();
        cmd.args(["decrypt", "--no-system-anchors"]).args(flags);
        cmd.write_stdin(message.to_vec()).output().unwrap()
    };

    let err = assert_clean_failure(&decrypt(&bad, &[]), 65);
    assert!(err.contains("BAD signature"), "{err}");
    let out = decrypt(&bad, &["--allow-bad-signature"]);
    let stderr = success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("the plan is off"));
    assert!(stderr.contains("BAD signature"), "{stderr}");

    // Good but not trusted: the plaintext, and a warning.
    let out = decrypt(&good, &[]);
    let stderr = success(&out);
    assert_eq!(out.stdout, content);
    assert!(stderr.contains("signer NOT trusted"), "{stderr}");
    assert_clean_failure(&decrypt(&good, &["--require-signature"]), 79);
    // Trusted through the root.
    let anchor = ["--require-signature", "--trust-anchor", p(&pki.root.cert)];
    let out = decrypt(&good, &anchor);
    let stderr = success(&out);
    assert_eq!(out.stdout, content);
    assert!(
        stderr.contains("trusted (path to command-line anchor"),
        "{stderr}"
    );
    let mut json = pki.env.cmd_pw();
    json.args(["--json", "decrypt", "--no-system-anchors"])
        .args(anchor);
    let out = json.write_stdin(good).output().unwrap();
    let doc = document(&out.stdout, "decrypt");
    assert_eq!(
        doc["signatures"][0]["verdict"]["status"], "trusted",
        "{doc}"
    );
    assert_eq!(
        doc["signatures"][0]["verdict"]["trusted_by"]["path_length"], 3,
        "{doc}"
    );
}

/// `verify --trust-anchor` works on a machine without a keystore, and
/// creates none; an explicit keystore that is missing is still an error.
#[test]
fn verify_needs_no_keystore() {
    let pki = Pki::new();
    let home = pki.path("home");
    std::fs::create_dir(&home).unwrap();
    let message = pki.signed(&pki.good, GRACE, true, false);
    let run = |keystore: Option<&Path>| {
        let mut cmd = crate::common::sealpost_without_terminal();
        cmd.env_remove("SEALPOST_KEYSTORE")
            .env_remove("XDG_DATA_HOME")
            .env("HOME", &home);
        if let Some(ks) = keystore {
            cmd.env("SEALPOST_KEYSTORE", ks);
        }
        cmd.args([
            "verify",
            "--no-system-anchors",
            "--trust-anchor",
            p(&pki.root.cert),
        ])
        .write_stdin(message.clone())
        .output()
        .unwrap()
    };
    let out = run(None);
    success(&out);
    assert_eq!(out.stdout, std::fs::read(pki.content()).unwrap());
    assert_eq!(
        std::fs::read_dir(&home).unwrap().count(),
        0,
        "a keystore was created"
    );
    assert_clean_failure(&run(Some(&pki.path("no-such-keystore"))), 66);
}
