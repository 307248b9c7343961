//! Learning from verified mail (issue #14): `decrypt` and `verify` make a
//! signer's certificate usable for encryption, with the algorithms its
//! signature announced, only when a certification path to a keystore anchor
//! vouches for it and its address has no certificate yet; an untrusted
//! signer, a `--trust-anchor` for one command, a BAD signature and
//! `--no-learn` make nothing usable. Grace signs with sealpost (whose
//! SMIMECapabilities announce AES-GCM and RSA-OAEP) under a certificate the
//! test PKI of verify.rs issued.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use super::pki::{p, success, Pki, FAR_AHEAD, GRACE, LONG_AGO};
use crate::common::{assert_clean_failure, data, run_tool};
use crate::json_document::document;

const BOB: &str = "bob@example.org";

/// Bob's keystore (the PKI's) with his identity; grace's, with her
/// CA-issued identity and bob's certificate.
struct Mail {
    pki: Pki,
    grace: PathBuf,
}

impl Mail {
    fn new() -> Mail {
        let pki = Pki::new();
        pki.env.import_identity("bob");
        let mail = Mail {
            grace: pki.path("ks-grace"),
            pki,
        };
        let grace_key = data("grace.key.pem");
        let bob_cert = data("bob.cert.pem");
        let good = mail.pki.good.clone();
        for args in [
            &[
                "key",
                "import",
                "--no-passphrase",
                p(&grace_key),
                "--cert",
                p(&good),
            ][..],
            &["cert", "import", p(&bob_cert)][..],
        ] {
            success(&mail.as_grace(args, b""));
        }
        mail
    }

    fn as_grace(&self, args: &[&str], stdin: &[u8]) -> Output {
        crate::common::sealpost_without_terminal()
            .env("SEALPOST_KEYSTORE", &self.grace)
            .env_remove("SEALPOST_PASSPHRASE")
            .args(args)
            .write_stdin(stdin.to_vec())
            .output()
            .unwrap()
    }

    /// A message from grace to bob, signed by grace (sealpost) and encrypted.
    fn signed_by_grace(&self) -> Vec<u8> {
        let composed = self.as_grace(
            &[
                "compose",
                "--from",
                GRACE,
                "--to",
                BOB,
                "--subject",
                "plans",
            ],
            b"the plan is on\r\n",
        );
        success(&composed);
        let out = self.as_grace(&["encrypt", "--sign", "--eml"], &composed.stdout);
        success(&out);
        out.stdout
    }

    /// The same, with the encryption taken off (openssl, bob's key): an
    /// opaque signed message for `verify`, with grace's From.
    fn signed_only_by_grace(&self) -> Vec<u8> {
        let encrypted = self.pki.path("encrypted.eml");
        std::fs::write(&encrypted, self.signed_by_grace()).unwrap();
        let inner = run_tool(
            "openssl",
            &[
                "cms",
                "-decrypt",
                "-in",
                p(&encrypted),
                "-recip",
                p(&data("bob.cert.pem")),
                "-inkey",
                p(&data("bob.key.pem")),
            ],
        );
        let mut message = format!("From: {GRACE}\r\n").into_bytes();
        message.extend(inner);
        message
    }

    /// `sealpost --json decrypt --no-system-anchors FLAGS` as bob.
    fn decrypt(&self, message: &[u8], flags: &[&str]) -> (Output, Value) {
        let out = self
            .pki
            .env
            .cmd_pw()
            .args(["--json", "decrypt", "--no-system-anchors"])
            .args(flags)
            .write_stdin(message.to_vec())
            .output()
            .unwrap();
        let doc = document(&out.stdout, "decrypt");
        (out, doc)
    }

    /// `sealpost decrypt --no-system-anchors` as bob, without --json: the
    /// report on stderr.
    fn decrypt_text(&self, message: &[u8]) -> String {
        let mut cmd = self.pki.env.cmd_pw();
        cmd.args(["decrypt", "--no-system-anchors"]);
        success(&cmd.write_stdin(message.to_vec()).output().unwrap())
    }

    /// `sealpost --json verify --no-system-anchors FLAGS` as bob.
    fn verify(&self, message: &[u8], flags: &[&str]) -> (Output, Value) {
        let mut args = vec!["--json", "verify", "--no-system-anchors"];
        args.extend(flags);
        let out = self.pki.sealpost(&args, message);
        let doc = document(&out.stdout, "verify");
        (out, doc)
    }

    /// Bob encrypts to grace alone: the envelope's `--json` summary, or
    /// the failure.
    fn encrypt_to_grace(&self) -> Result<Value, Output> {
        let composed = self.pki.sealpost(
            &["compose", "--from", BOB, "--to", GRACE, "--subject", "re"],
            b"fine\r\n",
        );
        success(&composed);
        let target = self.pki.path("to-grace.eml");
        let _ = std::fs::remove_file(&target);
        let out = self.pki.sealpost(
            &["--json", "encrypt", "--no-self", "--eml", "-o", p(&target)],
            &composed.stdout,
        );
        if !out.status.success() {
            // The failure as people see it, without --json.
            let plain = ["encrypt", "--no-self", "--eml", "-o", p(&target)];
            return Err(self.pki.sealpost(&plain, &composed.stdout));
        }
        Ok(document(&out.stdout, "encrypt")["envelopes"][0].clone())
    }

    /// Bob's certificates as `cert list --json` shows them.
    fn listed(&self) -> Vec<Value> {
        let out = self.pki.sealpost(&["--json", "cert", "list"], b"");
        document(&success_out(out), "cert list")["certificates"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn trust_intermediate(&self) {
        self.trust(&self.pki.inter.cert);
    }

    fn trust_root(&self) {
        self.trust(&self.pki.root.cert);
    }

    /// `cert trust CA` as bob.
    fn trust(&self, ca: &std::path::Path) {
        success(&self.pki.sealpost(&["cert", "trust", p(ca)], b""));
    }

    /// Asserts that the command that gave `stderr` took grace's
    /// validation away: learned again, not used to encrypt.
    fn assert_demoted(&self, stderr: &str) {
        assert!(stderr.contains("no longer used to encrypt"), "{stderr}");
        assert_eq!(self.listed()[0]["standing"], "learned");
        assert_clean_failure(&self.encrypt_to_grace().unwrap_err(), 67);
    }
}

fn success_out(out: Output) -> Vec<u8> {
    success(&out);
    out.stdout
}

/// Asserts the first signature's signer in a decrypt or verify document.
fn assert_signer(doc: &Value, certificate: &str, learned: bool, recorded: bool) {
    let signer = &doc["signatures"][0]["signer"];
    assert_eq!(signer["certificate"], certificate, "{doc}");
    assert_eq!(signer["learned"], learned, "{doc}");
    assert_eq!(signer["capabilities_recorded"], recorded, "{doc}");
}

#[test]
fn decrypt_of_mail_trusted_through_a_keystore_anchor_makes_its_signer_usable() {
    let mail = Mail::new();
    let message = mail.signed_by_grace();
    mail.trust_intermediate();
    // --no-learn: trusted, nothing stored.
    let (out, doc) = mail.decrypt(&message, &["--no-learn"]);
    success(&out);
    assert_eq!(
        doc["signatures"][0]["verdict"]["status"], "trusted",
        "{doc}"
    );
    assert_signer(&doc, "unknown", false, false);
    assert!(mail.listed().is_empty());
    assert_clean_failure(&mail.encrypt_to_grace().unwrap_err(), 67);

    let (out, doc) = mail.decrypt(&message, &[]);
    success(&out);
    assert_signer(&doc, "validated", true, true);
    let listed = mail.listed();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["standing"], "validated");
    assert_eq!(listed[0]["accepted"], false);
    assert_eq!(listed[0]["usable_for_encryption"], true);
    let text = String::from_utf8(success_out(mail.pki.sealpost(&["cert", "list"], b""))).unwrap();
    assert!(text.contains("validated from signed mail"), "{text}");
    // What grace's sealpost announced: AES-GCM and RSA-OAEP.
    let envelope = mail.encrypt_to_grace().unwrap();
    assert_eq!(envelope["content_encryption"], "aes-256-gcm", "{envelope}");
    assert_eq!(
        envelope["key_encryption"], "rsaes-oaep sha-256 mgf1-sha-256",
        "{envelope}"
    );
    // Again: known now, nothing new.
    let stderr = mail.decrypt_text(&message);
    assert!(stderr.contains("trusted (path"), "{stderr}");
    assert!(!stderr.contains("learned"), "{stderr}");
    let (_, doc) = mail.decrypt(&message, &[]);
    assert_signer(&doc, "validated", false, false);
}

#[test]
fn verify_learns_as_decrypt_does_and_no_learn_stops_it() {
    let mail = Mail::new();
    let message = mail.signed_only_by_grace();
    mail.trust_intermediate();
    let (out, doc) = mail.verify(&message, &["--no-learn"]);
    success(&out);
    assert_signer(&doc, "unknown", false, false);
    assert!(mail.listed().is_empty());
    let out = mail
        .pki
        .sealpost(&["verify", "--no-system-anchors"], &message);
    let stderr = success(&out);
    assert!(stderr.contains("encrypt now uses it"), "{stderr}");
    assert!(stderr.contains("recorded the algorithms"), "{stderr}");
    let (out, doc) = mail.verify(&message, &[]);
    success(&out);
    assert_signer(&doc, "validated", false, false);
    let envelope = mail.encrypt_to_grace().unwrap();
    assert_eq!(envelope["content_encryption"], "aes-256-gcm", "{envelope}");
}

/// OpenSSL's signature carries the intermediate and announces AES-CBC
/// only: grace is validated through the root, and written to with AES-CBC.
#[test]
fn verify_of_an_openssl_signature_through_the_root() {
    let mail = Mail::new();
    mail.trust_root();
    let message = mail.pki.signed(&mail.pki.good, GRACE, true, false);
    let (out, doc) = mail.verify(&message, &[]);
    success(&out);
    assert_signer(&doc, "validated", true, true);
    assert_eq!(
        doc["signatures"][0]["verdict"]["trusted_by"]["path_length"], 3,
        "{doc}"
    );
    let envelope = mail.encrypt_to_grace().unwrap();
    assert_eq!(envelope["content_encryption"], "aes-256-cbc", "{envelope}");
    // The intermediate the message carried was kept with her certificate:
    // her sealpost mail, which carries none, has a path to the root now.
    let (out, doc) = mail.decrypt(&mail.signed_by_grace(), &[]);
    success(&out);
    let verdict = &doc["signatures"][0]["verdict"];
    assert_eq!(verdict["status"], "trusted", "{doc}");
    assert_eq!(verdict["trusted_by"]["path_length"], 3, "{doc}");
    // Trust taken away takes the validation away: back to learned.
    let root = mail.pki.root.cert.clone();
    mail.assert_demoted(&success(
        &mail.pki.sealpost(&["cert", "untrust", p(&root)], b""),
    ));
}

/// A CRL imported later that revokes a validated certificate: it is no
/// longer used to encrypt.
#[test]
fn a_validated_certificate_revoked_later_is_no_longer_used() {
    let mail = Mail::new();
    mail.trust_root();
    let revoked = mail
        .pki
        .inter
        .issue("grace", "/CN=Grace", "ee", LONG_AGO, "20980101000000Z");
    let message = mail.pki.signed(&revoked, GRACE, true, false);
    let (out, doc) = mail.verify(&message, &[]);
    success(&out);
    assert_signer(&doc, "validated", true, true);
    assert!(mail.encrypt_to_grace().is_ok());
    mail.pki.inter.revoke(&revoked);
    let crl = mail.pki.inter.crl();
    let out = mail.pki.sealpost(&["cert", "crl", "import", p(&crl)], b"");
    let stderr = success(&out);
    assert!(stderr.contains("revoked"), "{stderr}");
    mail.assert_demoted(&stderr);
}

/// A signing-only certificate (dual-key setups) is trusted but not made
/// usable: encrypt could not use it, and it would stand in the way of the
/// correspondent's encryption certificate.
#[test]
fn a_trusted_signing_only_certificate_is_not_validated() {
    let mail = Mail::new();
    mail.trust_root();
    let signing = mail
        .pki
        .inter
        .issue("grace", "/CN=Grace", "ee_sign_only", LONG_AGO, FAR_AHEAD);
    let message = mail.pki.signed(&signing, GRACE, true, false);
    let (out, doc) = mail.verify(&message, &[]);
    success(&out);
    assert_eq!(
        doc["signatures"][0]["verdict"]["status"], "trusted",
        "{doc}"
    );
    assert_signer(&doc, "learned", true, false);
    assert!(mail.encrypt_to_grace().is_err());
}

/// Without a keystore anchor (untrusted), or trusted only through a
/// `--trust-anchor` for one command, the signer is learned, not usable.
#[test]
fn an_untrusted_signer_or_a_one_command_anchor_is_only_learned() {
    let mail = Mail::new();
    let message = mail.signed_by_grace();
    let inter = mail.pki.inter.cert.clone();
    let (out, doc) = mail.decrypt(&message, &["--trust-anchor", p(&inter)]);
    success(&out);
    assert_eq!(
        doc["signatures"][0]["verdict"]["status"], "trusted",
        "{doc}"
    );
    assert_signer(&doc, "learned", true, false);
    let stderr = mail.decrypt_text(&message);
    assert!(stderr.contains("signer NOT trusted"), "{stderr}");
    assert!(stderr.contains("learned earlier"), "{stderr}");
    let (_, doc) = mail.decrypt(&message, &[]);
    assert_signer(&doc, "learned", false, false);
    let listed = mail.listed();
    assert_eq!(listed[0]["standing"], "learned");
    assert_eq!(listed[0]["usable_for_encryption"], false);
    let err = assert_clean_failure(&mail.encrypt_to_grace().unwrap_err(), 67);
    assert!(err.contains("sealpost cert accept"), "{err}");
    // A BAD signature by a trusted signer teaches nothing.
    let fresh = Mail::new();
    let multipart = fresh.pki.signed(&fresh.pki.good, GRACE, false, false);
    let tampered =
        String::from_utf8(multipart)
            .unwrap()
            .replacen("the plan is on", "the plan is off", 1);
    fresh.trust_root();
    let (out, doc) = fresh.verify(tampered.as_bytes(), &["--allow-untrusted"]);
    assert_eq!(out.status.code(), Some(65));
    assert_ne!(doc["signatures"][0]["signer"]["learned"], true, "{doc}");
    // The same inside an envelope, decrypted with --allow-bad-signature.
    let inner = fresh.pki.path("tampered.eml");
    let encrypted = fresh.pki.path("tampered-encrypted.eml");
    let body = tampered.split_once("\r\n").unwrap().1;
    std::fs::write(&inner, body).unwrap();
    crate::common::openssl_encrypt(&inner, &data("bob.cert.pem"), &encrypted);
    let (out, doc) = fresh.decrypt(
        &std::fs::read(&encrypted).unwrap(),
        &["--allow-bad-signature"],
    );
    success(&out);
    assert_eq!(doc["signatures"][0]["valid"], false, "{doc}");
    assert_ne!(doc["signatures"][0]["signer"]["learned"], true, "{doc}");
    assert!(fresh.listed().is_empty());
}

/// A trusted signer for an address that already has another certificate:
/// not imported, a warning naming both and the commands that replace it.
#[test]
fn a_trusted_signer_never_replaces_a_certificate_the_address_has() {
    let mail = Mail::new();
    let message = mail.signed_by_grace();
    mail.trust_intermediate();
    let old = data("grace.cert.pem");
    success(&mail.pki.sealpost(&["cert", "import", p(&old)], b""));
    let old_fp = mail.listed()[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let stderr = mail.decrypt_text(&message);
    let (out, doc) = mail.decrypt(&message, &[]);
    success(&out);
    let new_fp = doc["signatures"][0]["signer"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(old_fp, new_fp);
    // Kept aside (the text run stored it) for `cert accept`.
    assert_signer(&doc, "learned", false, false);
    assert_eq!(
        doc["signatures"][0]["signer"]["held_back_by"][0]["fingerprint"], old_fp,
        "{doc}"
    );
    let replace = format!("sealpost cert remove {old_fp} && sealpost cert accept {new_fp}");
    assert!(stderr.contains("NOT imported"), "{stderr}");
    assert!(
        stderr.contains(&old_fp[..16]) && stderr.contains(&replace),
        "{stderr}"
    );
    // encrypt still uses the certificate bob had.
    let envelope = mail.encrypt_to_grace().unwrap();
    assert_eq!(
        envelope["recipient_infos"][0]["fingerprint"],
        old_fp.as_str()
    );
    assert_eq!(envelope["content_encryption"], "aes-256-cbc", "{envelope}");
    // The commands it named replace it.
    for args in [["cert", "remove", &old_fp], ["cert", "accept", &new_fp]] {
        success(&mail.pki.sealpost(&args, b""));
    }
    let envelope = mail.encrypt_to_grace().unwrap();
    assert_eq!(
        envelope["recipient_infos"][0]["fingerprint"],
        new_fp.as_str()
    );
}
