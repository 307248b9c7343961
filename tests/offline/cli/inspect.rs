//! `sealpost inspect`: what a copy discloses, for sealpost's envelopes and
//! for a leaking single message made the usual way.

use crate::common::{assert_clean_failure, data};
use crate::world::World;

fn inspect_json(w: &World, input: &[u8], extra: &[&str]) -> serde_json::Value {
    let out = w
        .as_("alice")
        .args(["--json", "inspect"])
        .args(extra)
        .write_stdin(input.to_vec())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::json_document::document(&out.stdout, "inspect")
}

#[test]
fn sealpost_copies_disclose_nobody_beyond_their_addressees() {
    let w = World::new();
    let msg = w.compose(&["bob"], &["carol"], &["dave", "erin"], "inspect me\r\n");
    let out = w
        .as_("alice")
        .arg("encrypt")
        .write_stdin(msg)
        .output()
        .unwrap();
    let report = inspect_json(&w, &out.stdout, &[]);
    let messages = report["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    for m in messages {
        assert_eq!(m["cms_type"], "enveloped-data");
        assert_eq!(
            m["disclosed_beyond_addressees"].as_array().unwrap().len(),
            0,
            "{m}"
        );
        assert!(m["header_bcc"].as_array().unwrap().is_empty());
        // Every RecipientInfo is matched to a known certificate.
        assert!(m["recipient_infos"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["known_as"].as_array().unwrap().is_empty()));
    }
    let to_cc = &messages[0];
    // RecipientInfos are a DER SET OF: their order follows their encoding.
    let mut named: Vec<&str> = to_cc["recipient_infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["known_as"][0].as_str().unwrap())
        .collect();
    named.sort();
    assert_eq!(
        named,
        ["alice@example.org", "bob@example.org", "carol@example.org"]
    );
}

/// One CMS structure for all of `people` (bare DER, by `openssl cms`), the
/// way other clients encrypt a message to To and Bcc alike.
fn one_structure_for(w: &World, people: &[&str]) -> std::path::PathBuf {
    let content = w.path("content.txt");
    std::fs::write(&content, b"Content-Type: text/plain\r\n\r\nleaky\r\n").unwrap();
    let enc = w.path("leaky.p7m");
    let mut openssl = std::process::Command::new("openssl");
    openssl
        .args(["cms", "-encrypt", "-aes256", "-outform", "DER", "-in"])
        .arg(&content)
        .arg("-out")
        .arg(&enc);
    for who in people {
        openssl.arg(data(&format!("{who}.cert.pem")));
    }
    assert!(openssl.status().unwrap().success());
    enc
}

#[test]
fn a_single_message_to_everyone_is_shown_to_leak_bcc() {
    let w = World::new();
    // What other clients do: one CMS structure for To and Bcc alike.
    let enc = one_structure_for(&w, &["bob", "dave"]);
    let report = inspect_json(
        &w,
        &std::fs::read(&enc).unwrap(),
        &["--rcpt", "bob@example.org"],
    );
    let m = &report["messages"][0];
    assert_eq!(
        m["disclosed_beyond_addressees"],
        serde_json::json!(["dave@example.org"]),
        "{m}"
    );
    // Text output says the same.
    let text = inspect_as(&w, "alice", &["--rcpt", "bob@example.org"], &enc);
    assert!(
        text.lines()
            .any(|l| l.contains("beyond its addressees") && l.contains("dave@example.org")),
        "{text}"
    );
}

#[test]
fn inspect_rejects_garbage() {
    let w = World::new();
    let out = w
        .as_("alice")
        .arg("inspect")
        .write_stdin(b"\x30\x03\x02\x01".to_vec())
        .output()
        .unwrap();
    assert_clean_failure(&out, 65);
    let out = w
        .as_("alice")
        .arg("inspect")
        .write_stdin(b"MAIL FROM:<a@b>\r\nDATA\r\n".to_vec())
        .output()
        .unwrap();
    assert_clean_failure(&out, 65);
}

/// `inspect` as `who` on a file, with `extra` flags; returns its text output.
fn inspect_as(w: &World, who: &str, extra: &[&str], file: &std::path::Path) -> String {
    let out = w
        .as_(who)
        .arg("inspect")
        .args(extra)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn beyond_line(text: &str) -> &str {
    text.lines()
        .find(|l| l.contains("beyond its addressees"))
        .unwrap_or_else(|| panic!("no beyond line in {text}"))
}

#[test]
fn a_bcc_copy_is_no_leak_to_its_own_reader() {
    let w = World::new();
    let msg = w.compose(&["bob"], &["carol"], &["dave"], "for dave too\r\n");
    let txns = w.encrypt(&msg, &[]);
    let bcc_copy = txns
        .iter()
        .find(|t| t.rcpt_to == ["dave@example.org"])
        .unwrap();
    // A lone file, as it lands in dave's Maildir: no SMTP envelope known,
    // but dave's keystore holds the key the copy is encrypted to.
    let lone = w.path("received.eml");
    std::fs::write(&lone, &bcc_copy.data).unwrap();
    let text = inspect_as(&w, "dave", &[], &lone);
    assert!(
        text.contains("dave@example.org (you)"),
        "dave's own RecipientInfo is marked: {text}"
    );
    assert!(beyond_line(&text).ends_with("none"), "{text}");

    // The same file read by bob, who cannot tell whom the unknown
    // certificates belong to: unidentified, not proven beyond.
    let text = inspect_as(&w, "bob", &[], &lone);
    assert!(text.contains("unidentified"), "{text}");
    assert!(beyond_line(&text).ends_with("none"), "{text}");

    // Alice knows dave's certificate: without the SMTP envelope the copy
    // names dave beyond its visible headers, which is what a Bcc copy is.
    let text = inspect_as(&w, "alice", &[], &lone);
    assert!(beyond_line(&text).contains("dave@example.org"), "{text}");
}

#[test]
fn the_outdir_manifest_names_a_copys_recipients() {
    let w = World::new();
    let msg = w.compose(&["bob"], &[], &["dave"], "manifest\r\n");
    let input = w.path("message.eml");
    std::fs::write(&input, &msg).unwrap();
    let out = w.path("out");
    w.as_("alice")
        .args(["encrypt", "-q", "--outdir"])
        .arg(&out)
        .arg(&input)
        .assert()
        .success();
    let text = inspect_as(&w, "alice", &[], &out.join("002-bcc.eml"));
    assert!(
        text.lines()
            .any(|l| l.contains("smtp rcpt to") && l.contains("dave@example.org")),
        "{text}"
    );
    assert!(beyond_line(&text).ends_with("none"), "{text}");
}

#[test]
fn more_unknown_recipient_infos_than_addressees_are_beyond() {
    let w = World::new();
    // One structure for bob (To) and two hidden readers bob knows nothing of.
    let enc = one_structure_for(&w, &["bob", "dave", "erin"]);
    let text = inspect_as(&w, "bob", &["--rcpt", "bob@example.org"], &enc);
    let beyond = beyond_line(&text);
    assert_eq!(beyond.matches("unknown certificate").count(), 2, "{text}");
}

#[test]
fn decrypt_of_a_batch_smtp_stream_says_how_to_get_a_message() {
    let w = World::new();
    let msg = w.compose(&["bob"], &[], &[], "stream\r\n");
    let out = w
        .as_("alice")
        .arg("encrypt")
        .write_stdin(msg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = w.decrypt("bob", &out.stdout, &[]);
    let stderr = assert_clean_failure(&out, 65);
    assert!(stderr.contains("Batch SMTP stream"), "{stderr}");
    assert!(stderr.contains("--outdir"), "{stderr}");
}
