//! Recipients' certificates (issue #14 item 7): `encrypt` refuses an
//! expired or revoked one (exit 79, naming the recipient, the certificate
//! and the reason, nothing written), uses a good one beside it, and with
//! --require-trusted-recipients demands a path to a trust anchor — on the
//! PKI of pki.rs.

use std::path::Path;
use std::process::Output;

use super::pki::{p, self_signed, success, Ca, Pki, GRACE, LONG_AGO};
use crate::common::{assert_clean_failure, data, run_tool};
use crate::json_document::document;

const MESSAGE: &[u8] =
    b"From: alice@example.org\r\nTo: grace@example.org\r\nSubject: plans\r\n\r\nthe plan is on\r\n";

/// The SHA-256 fingerprint of the certificate in `cert`, as sealpost writes it.
fn fingerprint(cert: &Path) -> String {
    let out = run_tool(
        "openssl",
        &["x509", "-in", p(cert), "-noout", "-fingerprint", "-sha256"],
    );
    let text = String::from_utf8(out).unwrap();
    let hex = text.trim().rsplit('=').next().unwrap();
    hex.replace(':', "").to_ascii_lowercase()
}

impl Pki {
    /// `sealpost cert import` of `files`.
    fn import(&self, files: &[&Path]) {
        let mut args = vec!["cert", "import"];
        args.extend(files.iter().map(|f| p(f)));
        let out = self.sealpost(&args, b"");
        assert!(out.status.success(), "{out:?}");
    }

    /// `sealpost encrypt --no-self --no-system-anchors` of [`MESSAGE`], plus `flags`.
    fn encrypt(&self, flags: &[&str]) -> Output {
        let mut args = vec!["encrypt", "--no-self", "--no-system-anchors"];
        args.extend(flags);
        self.sealpost(&args, MESSAGE)
    }
}

/// The fingerprints `encrypt --json` wrapped the key to.
fn wrapped_to(out: &Output) -> Vec<String> {
    success(out);
    let doc = document(&out.stdout, "encrypt");
    doc["envelopes"][0]["recipient_infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

/// A refusal: exit `code`, nothing on stdout, the recipient, the
/// certificate and `reason` on stderr.
fn refused(out: &Output, code: i32, cert: &Path, reason: &str) -> String {
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = assert_clean_failure(out, code);
    assert!(stderr.contains(GRACE), "{stderr}");
    assert!(stderr.contains(&fingerprint(cert)[..16]), "{stderr}");
    assert!(stderr.contains(reason), "{stderr}");
    stderr
}

#[test]
fn an_expired_recipient_is_refused_and_a_current_certificate_beside_it_is_used() {
    let pki = Pki::new();
    let expired = pki
        .inter
        .issue("grace", "/CN=Grace", "ee", LONG_AGO, "20210101000000Z");
    pki.import(&[&expired]);
    refused(
        &pki.encrypt(&[]),
        79,
        &expired,
        "expired on 2021-01-01 00:00:00 UTC",
    );
    // --json: the error line carries the reason and the exit's name.
    let out = pki.encrypt(&["--json"]);
    assert_eq!(out.status.code(), Some(79));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().last().unwrap();
    let error: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(error["error"]["exit_name"], "Untrusted", "{line}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(GRACE) && message.contains("expired on"),
        "{line}"
    );
    // An --outdir is left without a manifest: nothing was encrypted.
    let dir = pki.path("out");
    assert_clean_failure(&pki.encrypt(&["--outdir", p(&dir)]), 79);
    assert!(!dir.join("manifest.json").exists());
    // A current certificate beside it: that one is used, the expired one not.
    pki.import(&[&pki.good]);
    assert_eq!(
        wrapped_to(&pki.encrypt(&["--json"])),
        [fingerprint(&pki.good)]
    );
}

#[test]
fn a_recipient_revoked_by_an_imported_crl_is_refused() {
    let pki = Pki::new();
    let revoked = pki
        .inter
        .issue("grace", "/CN=Grace", "ee", LONG_AGO, "20980101000000Z");
    // The issuer's certificate comes with the recipient's (a bundle).
    pki.import(&[&pki.inter.cert, &revoked]);
    assert_eq!(
        wrapped_to(&pki.encrypt(&["--json"])),
        [fingerprint(&revoked)]
    );
    pki.inter.revoke(&revoked);
    let crl = pki.inter.crl();
    let out = pki.sealpost(&["cert", "crl", "import", p(&crl)], b"");
    assert!(out.status.success(), "{out:?}");
    let stderr = refused(&pki.encrypt(&[]), 79, &revoked, "revoked on");
    assert!(stderr.contains("hint:"), "{stderr}");
    // --skip-unknown leaves the recipient out, and then nobody is left.
    let out = pki.encrypt(&["--skip-unknown"]);
    assert!(out.stdout.is_empty());
    assert!(!out.status.success());
    // A good certificate of the same issuer is still used.
    pki.import(&[&pki.good]);
    assert_eq!(
        wrapped_to(&pki.encrypt(&["--json"])),
        [fingerprint(&pki.good)]
    );
}

#[test]
fn require_trusted_recipients_wants_a_path_to_an_anchor() {
    let pki = Pki::new();
    pki.import(&[&pki.inter.cert, &pki.good]);
    let strict = ["--require-trusted-recipients"];
    // Imported, but the root is no anchor: fine by default, refused when asked.
    assert!(pki.encrypt(&[]).status.success());
    let stderr = refused(&pki.encrypt(&strict), 79, &pki.good, "not trusted");
    assert!(stderr.contains("Test Root"), "{stderr}");
    // --trust-anchor for one command, or the root in the keystore.
    let once = [
        "--require-trusted-recipients",
        "--trust-anchor",
        p(&pki.root.cert),
    ];
    assert_eq!(
        wrapped_to(&pki.encrypt(&[&once[..], &["--json"]].concat())),
        [fingerprint(&pki.good)]
    );
    let out = pki.sealpost(&["cert", "trust", p(&pki.root.cert)], b"");
    assert!(out.status.success(), "{out:?}");
    assert!(pki.encrypt(&strict).status.success());
    // Revocation unknown (no CRL) with --require-revocation-check: 81.
    let out = pki.encrypt(&["--require-trusted-recipients", "--require-revocation-check"]);
    refused(&out, 81, &pki.good, "revocation status unknown");
    // With both CAs' CRLs the path is checked.
    for ca in [&pki.root, &pki.inter] {
        let crl = ca.crl();
        assert!(pki
            .sealpost(&["cert", "crl", "import", p(&crl)], b"")
            .status
            .success());
    }
    success(&pki.encrypt(&["--require-trusted-recipients", "--require-revocation-check"]));
}

#[test]
fn a_self_signed_recipient_needs_cert_trust_when_trust_is_required() {
    let pki = Pki::new();
    let cert = pki.path("grace-self.pem");
    self_signed(
        &data("grace.key.pem"),
        "/CN=Grace Self",
        &["subjectAltName=email:grace@example.org"],
        &cert,
    );
    pki.import(&[&cert]);
    // Imported (accepted): used by default, but not a validated path.
    assert!(pki.encrypt(&[]).status.success());
    refused(
        &pki.encrypt(&["--require-trusted-recipients"]),
        79,
        &cert,
        "not a trust anchor",
    );
    // Made an anchor of itself: a path of one.
    assert!(pki
        .sealpost(&["cert", "trust", p(&cert)], b"")
        .status
        .success());
    assert!(pki
        .encrypt(&["--require-trusted-recipients"])
        .status
        .success());
}

#[test]
fn wrong_key_usage_is_refused_on_the_path_and_in_the_certificate() {
    let pki = Pki::new();
    pki.sealpost(&["cert", "trust", p(&pki.root.cert)], b"");
    // An intermediate whose keyUsage does not allow certificate signing.
    let bad_ca = Ca::new(pki.env.dir.path(), "nocertsign", "frank");
    let issued = pki.root.issue(
        "frank",
        "/CN=Test Intermediate",
        "v3_ca_no_certsign",
        LONG_AGO,
        "20970101000000Z",
    );
    std::fs::copy(issued, &bad_ca.cert).unwrap();
    let grace = bad_ca.issue("grace", "/CN=Grace", "ee", LONG_AGO, "20960101000000Z");
    pki.import(&[&bad_ca.cert, &grace]);
    assert!(pki.encrypt(&[]).status.success());
    refused(
        &pki.encrypt(&["--require-trusted-recipients"]),
        79,
        &grace,
        "does not allow certificate signing",
    );
    // A recipient certificate without keyEncipherment is never usable (67).
    pki.sealpost(&["cert", "remove", GRACE], b"");
    let sign_only = pki.inter.issue(
        "grace",
        "/CN=Grace",
        "ee_sign_only",
        LONG_AGO,
        "20950101000000Z",
    );
    pki.import(&[&pki.inter.cert, &sign_only]);
    for flags in [&[][..], &["--require-trusted-recipients"][..]] {
        refused(&pki.encrypt(flags), 67, &sign_only, "key encipherment");
    }
}
