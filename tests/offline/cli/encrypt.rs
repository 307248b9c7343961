//! `sealpost encrypt` → `sealpost decrypt`: round trips, the Bcc privacy
//! rules checked on the bytes of every envelope, and the failure cases.

use base64::Engine;
use sealpost::smime::bsmtp::Transaction;
use sealpost::smime::certs::{parse_bundle, CertInfo};
use sealpost::smime::envelope::{Envelope, RecipientId};

use crate::common::{assert_clean_failure, data};
use crate::world::{addr, World};

fn cert(name: &str) -> CertInfo {
    parse_bundle(&std::fs::read(data(&format!("{name}.cert.pem"))).unwrap())
        .unwrap()
        .remove(0)
}

/// The CMS payload of an S/MIME message (base64 body after the blank line).
fn payload(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    let body = text.split("\r\n\r\n").nth(1).expect("no body");
    base64::engine::general_purpose::STANDARD
        .decode(body.replace("\r\n", ""))
        .unwrap()
}

fn headers(message: &[u8]) -> String {
    String::from_utf8_lossy(message)
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .to_string()
}

/// The people an envelope's RecipientInfos name, by matching fixture certificates.
fn named_readers(der: &[u8]) -> Vec<String> {
    let env = Envelope::parse(der).unwrap();
    let mut names = Vec::new();
    for summary in env.recipients() {
        for id in &summary.ids {
            let who = crate::world::PEOPLE
                .iter()
                .find(|p| {
                    let c = cert(p);
                    match id {
                        RecipientId::IssuerSerial { serial, .. } => *serial == c.serial,
                        RecipientId::KeyId(k) => {
                            Some(k.clone()) == c.subject_key_id.as_ref().map(hex::encode)
                        }
                    }
                })
                .unwrap_or_else(|| panic!("recipient info names an unknown certificate: {id}"));
            names.push(who.to_string());
        }
    }
    names.sort();
    names
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The privacy rules of issue 3 on every envelope of one message.
fn assert_private(
    txns: &[Transaction],
    expected: &[(&[&str], &[&str])],
    bcc: &[&str],
    self_header: bool,
) {
    assert_eq!(txns.len(), expected.len(), "number of envelopes");
    for (t, (rcpt, readers)) in txns.iter().zip(expected) {
        let mut want_rcpt: Vec<String> = rcpt.iter().map(|n| addr(n)).collect();
        let mut got_rcpt = t.rcpt_to.clone();
        want_rcpt.sort();
        got_rcpt.sort();
        assert_eq!(
            got_rcpt, want_rcpt,
            "RCPT TO is exactly the envelope's recipients"
        );
        assert_eq!(t.mail_from, "alice@example.org");
        let der = payload(&t.data);
        let mut want_readers: Vec<String> = readers.iter().map(|s| s.to_string()).collect();
        want_readers.sort();
        assert_eq!(
            named_readers(&der),
            want_readers,
            "RecipientInfos name exactly the readers"
        );
        let head = headers(&t.data);
        for hidden in bcc {
            let own = rcpt.contains(hidden);
            // No Bcc address in any header, except optionally in its own copy.
            let in_headers = head.to_ascii_lowercase().contains(&addr(hidden));
            assert_eq!(
                in_headers,
                own && self_header,
                "{hidden} in headers of {:?}:\n{head}",
                t.rcpt_to
            );
            if !own {
                // Neither the serial nor the key id of a Bcc recipient's
                // certificate appears anywhere in someone else's copy.
                let c = cert(hidden);
                let serial = hex::decode(&c.serial).unwrap();
                assert!(
                    !contains(&der, &serial),
                    "{hidden}'s serial in {:?}",
                    t.rcpt_to
                );
                assert!(
                    !contains(&der, c.subject_key_id.as_ref().unwrap()),
                    "{hidden}'s key id in {:?}",
                    t.rcpt_to
                );
                assert!(!contains(&t.data, addr(hidden).as_bytes()));
                assert!(!contains(&der, addr(hidden).as_bytes()));
            }
        }
        assert!(
            !head
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:"))
                || self_header
        );
    }
}

#[test]
fn separate_bcc_envelopes_reveal_no_one_and_each_reader_decrypts() {
    let w = World::new();
    let body = "The figures are attached.\r\nNobody else should know who else got this.\r\n";
    let msg = w.compose(
        &["bob"],
        &["carol", "grace"],
        &["dave", "erin", "frank"],
        body,
    );
    let txns = w.encrypt(&msg, &[]);
    let bcc = ["dave", "erin", "frank"];
    assert_private(
        &txns,
        &[
            (
                &["bob", "carol", "grace"],
                &["alice", "bob", "carol", "grace"],
            ),
            (&["dave"], &["alice", "dave"]),
            (&["erin"], &["alice", "erin"]),
            (&["frank"], &["alice", "frank"]),
        ],
        &bcc,
        false,
    );
    // Every reader decrypts their own copy to the same entity, the sender every copy.
    let mut plaintexts = Vec::new();
    for (t, readers) in txns.iter().zip([
        &["bob", "carol", "grace"][..],
        &["dave"],
        &["erin"],
        &["frank"],
    ]) {
        for who in readers.iter().chain(&["alice"]) {
            let out = w.decrypt(who, &t.data, &[]);
            assert!(
                out.status.success(),
                "{who}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            plaintexts.push(out.stdout);
        }
    }
    assert!(plaintexts.windows(2).all(|p| p[0] == p[1]));
    let text = String::from_utf8_lossy(&plaintexts[0]);
    assert!(text.starts_with("Content-Type: text/plain"), "{text}");
    assert!(text.contains("Nobody else should know"), "{text}");
    assert!(
        !text.to_ascii_lowercase().contains("bcc"),
        "inner entity must not carry Bcc"
    );
    // The inner entity is exactly the original's content headers and body.
    let original = sealpost::smime::message::split_for_encryption(&msg).unwrap();
    assert_eq!(plaintexts[0], original.inner);
    // A Bcc recipient cannot open another Bcc recipient's copy, nor the To/Cc one.
    for (i, who) in [(2, "dave"), (0, "erin"), (1, "frank")] {
        let out = w.decrypt(who, &txns[i].data, &[]);
        let stderr = assert_clean_failure(&out, 67);
        assert!(stderr.contains("it is for"), "{stderr}");
    }
}

#[test]
fn shared_bcc_envelope_and_self_header() {
    let w = World::new();
    let msg = w.compose(&["bob"], &[], &["dave", "erin"], "shared\r\n");
    let txns = w.encrypt(&msg, &["--bcc-mode", "shared"]);
    assert_private(
        &txns,
        &[
            (&["bob"], &["alice", "bob"]),
            (&["dave", "erin"], &["alice", "dave", "erin"]),
        ],
        &[],
        false,
    );
    // To/Cc never learn of the Bcc side.
    for hidden in ["dave", "erin"] {
        assert!(!contains(&txns[0].data, addr(hidden).as_bytes()));
        let c = cert(hidden);
        assert!(!contains(
            &payload(&txns[0].data),
            &hex::decode(&c.serial).unwrap()
        ));
    }
    let txns = w.encrypt(&msg, &["--bcc-self-header"]);
    assert_private(
        &txns,
        &[
            (&["bob"], &["alice", "bob"]),
            (&["dave"], &["alice", "dave"]),
            (&["erin"], &["alice", "erin"]),
        ],
        &["dave", "erin"],
        true,
    );
    let head = headers(&txns[1].data);
    let bcc_line = head
        .lines()
        .find(|l| l.starts_with("Bcc:"))
        .expect("no Bcc header");
    assert!(
        bcc_line.contains("dave@example.org") && !bcc_line.contains("erin"),
        "{bcc_line}"
    );
}

#[test]
fn body_is_encrypted_once_per_cipher_and_outputs() {
    let w = World::new();
    let msg = w.compose(&["bob"], &[], &["carol", "dave"], "once\r\n");
    let out_dir = w.path("out");
    let out = w
        .as_("alice")
        .args(["--json", "encrypt", "--outdir"])
        .arg(&out_dir)
        .write_stdin(msg.clone())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = crate::json_document::document(&out.stdout, "encrypt");
    assert_eq!(summary["envelopes"].as_array().unwrap().len(), 3);
    // The fixtures advertise nothing, so all envelopes use the compatible algorithms, encrypted once.
    assert_eq!(summary["content_encryptions"], 1);
    assert_eq!(summary["envelopes"][0]["content_encryption"], "aes-256-cbc");
    assert_eq!(
        summary["envelopes"][0]["key_encryption"],
        "rsaes-pkcs1-v1_5"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("manifest.json")).unwrap()).unwrap();
    let entries = manifest["envelopes"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for e in entries {
        let file = out_dir.join(e["file"].as_str().unwrap());
        let eml = std::fs::read(&file).unwrap();
        let who = e["rcpt_to"][0]
            .as_str()
            .unwrap()
            .split('@')
            .next()
            .unwrap()
            .to_string();
        assert!(w.decrypt(&who, &eml, &[]).status.success());
    }
    // Marking carol as modern makes only her envelope AES-GCM + OAEP: two ciphers, two encryptions.
    w.as_("alice")
        .args(["cert", "prefer", "carol@example.org", "modern"])
        .assert()
        .success();
    let out = w
        .as_("alice")
        .args(["--json", "encrypt", "-o"])
        .arg(w.path("x.bsmtp"))
        .write_stdin(msg.clone())
        .output()
        .unwrap();
    let summary = crate::json_document::document(&out.stdout, "encrypt");
    // alice's own (imported) certificate advertises nothing, and she reads every envelope.
    assert!(summary["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["content_encryption"] == "aes-256-cbc"));

    // --eml needs exactly one envelope.
    let out = w
        .as_("alice")
        .args(["encrypt", "--eml"])
        .write_stdin(msg)
        .output()
        .unwrap();
    assert_clean_failure(&out, 64);
    let single = w.compose(&["bob"], &["carol"], &[], "one envelope\r\n");
    let out = w
        .as_("alice")
        .args(["encrypt", "--eml"])
        .write_stdin(single)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("smime-type=enveloped-data"));
    assert!(w.decrypt("carol", &out.stdout, &[]).status.success());
}

#[test]
fn modern_algorithms_when_every_reader_reads_them() {
    let w = World::new();
    for who in ["alice", "bob"] {
        w.as_("alice")
            .args(["cert", "prefer", &addr(who), "modern"])
            .assert()
            .success();
    }
    let msg = w.compose(&["bob"], &[], &["carol"], "modern\r\n");
    let out = w
        .as_("alice")
        .args(["--json", "encrypt", "-o"])
        .arg(w.path("m.bsmtp"))
        .write_stdin(msg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = crate::json_document::document(&out.stdout, "encrypt");
    assert_eq!(summary["envelopes"][0]["content_encryption"], "aes-256-gcm");
    // The names inspect reads from the message.
    assert_eq!(
        summary["envelopes"][0]["key_encryption"],
        "rsaes-oaep sha-256 mgf1-sha-256"
    );
    assert_eq!(summary["envelopes"][1]["content_encryption"], "aes-256-cbc");
    assert_eq!(summary["content_encryptions"], 2);
    let txns = sealpost::smime::bsmtp::parse(&std::fs::read(w.path("m.bsmtp")).unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&txns[0].data).contains("smime-type=authEnveloped-data"));
    for (t, who) in txns.iter().zip(["bob", "carol"]) {
        let out = w.decrypt(who, &t.data, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().last().unwrap(),
            "modern"
        );
    }
}

#[test]
fn unknown_recipients_fail_whole_or_are_skipped() {
    let w = World::new();
    let msg = b"From: alice@example.org\r\nTo: bob@example.org, zed@example.org\r\nBcc: yan@example.org\r\nSubject: x\r\n\r\nhi\r\n";
    let out = w
        .as_("alice")
        .arg("encrypt")
        .write_stdin(msg.to_vec())
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 67);
    assert!(
        stderr.contains("zed@example.org") && stderr.contains("yan@example.org"),
        "{stderr}"
    );
    let out = w
        .as_("alice")
        .args(["encrypt", "--skip-unknown"])
        .write_stdin(msg.to_vec())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("left out zed@example.org") && stderr.contains("left out yan@example.org"),
        "{stderr}"
    );
    let txns = sealpost::smime::bsmtp::parse(&out.stdout).unwrap();
    assert_eq!(txns.len(), 1);
    assert_eq!(txns[0].rcpt_to, ["bob@example.org"]);
    // The sender without an own key: error with a hint, or --no-self.
    let out = w
        .as_("bob")
        .arg("encrypt")
        .write_stdin(b"From: zed@example.org\r\nTo: bob@example.org\r\n\r\nx\r\n".to_vec())
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 67);
    assert!(stderr.contains("--no-self"), "{stderr}");
    let out = w
        .as_("bob")
        .args(["encrypt", "--no-self"])
        .write_stdin(b"From: zed@example.org\r\nTo: bob@example.org\r\n\r\nx\r\n".to_vec())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_input_to_encrypt_and_decrypt() {
    let w = World::new();
    for (input, code) in [
        (&b""[..], 65),
        (b"not a message at all", 65),
        (
            b"From: alice@example.org\r\nSubject: no recipients\r\n\r\nx\r\n",
            65,
        ),
        (b"To: bob@example.org\r\n\r\nno from\r\n", 65),
    ] {
        let out = w
            .as_("alice")
            .arg("encrypt")
            .write_stdin(input.to_vec())
            .output()
            .unwrap();
        assert_clean_failure(&out, code);
    }
    let out = w
        .as_("alice")
        .args(["encrypt", "/nonexistent"])
        .output()
        .unwrap();
    assert_clean_failure(&out, 66);
    let out = w
        .as_("alice")
        .args(["--json", "encrypt"])
        .write_stdin(b"x".to_vec())
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    crate::json_document::error(&out, 65);
    for input in [
        &b""[..],
        b"garbage",
        b"Content-Type: text/plain\r\n\r\nplain text\r\n",
        &[0x30, 0x80, 0x06][..],
    ] {
        let out = w.decrypt("bob", input, &[]);
        assert_clean_failure(&out, 65);
    }
}

/// `-o FILE` never replaces an existing file without `--force` (a mistyped
/// name must not destroy one); with it, the file is replaced.
#[test]
fn output_over_an_existing_file_needs_force() {
    let w = World::new();
    let msg = w.compose(&["bob"], &[], &[], "hello");
    let out_file = w.path("keep.txt");
    std::fs::write(&out_file, "precious\n").unwrap();
    let out = w
        .as_("alice")
        .args(["encrypt", "-o"])
        .arg(&out_file)
        .write_stdin(msg.clone())
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 73);
    assert!(
        stderr.contains("exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&out_file).unwrap(), b"precious\n");
    // decrypt likewise, before it reads anything.
    let out = w
        .as_("bob")
        .args(["decrypt", "-o"])
        .arg(&out_file)
        .write_stdin(msg.clone())
        .output()
        .unwrap();
    assert_clean_failure(&out, 73);
    assert_eq!(std::fs::read(&out_file).unwrap(), b"precious\n");

    w.as_("alice")
        .args(["encrypt", "--force", "-o"])
        .arg(&out_file)
        .write_stdin(msg)
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&std::fs::read(&out_file).unwrap()).contains("RCPT TO:"));
}
