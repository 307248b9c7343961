//! `sealpost submit` and `sealpost outbox` against the real Postfix.

use super::client::{assert_failure, closed_port, output, url, Client};
use super::relay::Relay;
use super::servers::{servers, Servers};

fn imap(s: &Servers) -> String {
    format!("--imap={}", url("imaps", s.ports.imaps))
}

fn message(from: &str, to: &[&str], cc: &[&str], bcc: &[&str], body: &str) -> Vec<u8> {
    let mut m = format!(
        "From: Sender <{from}>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <{}@sealpost.test>\r\nSubject: test\r\n",
        rand::random::<u64>()
    );
    for (name, list) in [("To", to), ("Cc", cc), ("Bcc", bcc)] {
        if !list.is_empty() {
            m.push_str(&format!("{name}: {}\r\n", list.join(", ")));
        }
    }
    m.push_str(&format!("\r\n{body}\r\n.leading dot line\r\n"));
    m.into_bytes()
}

fn outbox_entries(c: &Client) -> Vec<serde_json::Value> {
    let out = output(c.cmd().args(["--json", "outbox", "list"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::json_document::document(&out.stdout, "outbox list");
    v["entries"].as_array().unwrap().clone()
}

#[test]
fn a_message_goes_to_to_cc_and_bcc_once_without_its_bcc_header() {
    let s = servers();
    let sender = Client::new(&s, "sub1-sender");
    let to = s.add_user("sub1-to", "x");
    let cc = s.add_user("sub1-cc", "x");
    let bcc = s.add_user("sub1-bcc", "x");
    // STARTTLS on the submission port.
    sender.add_account(&s, "main", &url("smtp", s.ports.submission), &imap(&s));
    let msg = message(&sender.addr, &[&to], &[&cc], &[&bcc], "hello over STARTTLS");
    let out = output(sender.cmd().args(["submit", "-"]).write_stdin(msg));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.logs()
    );
    for who in [&to, &cc, &bcc] {
        let got = s.wait_delivered(who, 1);
        let text = String::from_utf8_lossy(&got[0]);
        assert!(text.contains("hello over STARTTLS"), "{text}");
        assert!(text.contains("\r\n.leading dot line") || text.contains("\n.leading dot line"));
        assert!(
            !text.to_ascii_lowercase().contains("\nbcc:"),
            "Bcc header sent: {text}"
        );
        assert!(!text.contains(bcc.as_str()) || who == &bcc && !text.contains("Bcc:"));
    }
    assert!(outbox_entries(&sender).is_empty());
    // Nothing is sent twice: a retry run finds nothing to do.
    sender.cmd().args(["submit", "--outbox"]).assert().success();
    std::thread::sleep(std::time::Duration::from_millis(500));
    for who in [&to, &cc, &bcc] {
        assert_eq!(s.delivered(who).len(), 1, "{who}");
    }
}

#[test]
fn batch_smtp_over_implicit_tls_with_failover() {
    let s = servers();
    let sender = Client::new(&s, "sub2-sender");
    let a = s.add_user("sub2-a", "x");
    let b = s.add_user("sub2-b", "x");
    let dead = closed_port();
    sender.add_account(
        &s,
        "main",
        &format!("{},{}", url("smtps", dead), url("smtps", s.ports.smtps)),
        &imap(&s),
    );
    let mut bsmtp = Vec::new();
    sealpost::smime::bsmtp::write(
        &mut bsmtp,
        &[
            sealpost::smime::bsmtp::Transaction {
                mail_from: sender.addr.clone(),
                rcpt_to: vec![a.clone()],
                data: b"Subject: one\r\n\r\nfirst envelope\r\n".to_vec(),
            },
            sealpost::smime::bsmtp::Transaction {
                mail_from: sender.addr.clone(),
                rcpt_to: vec![b.clone(), a.clone()],
                data: b"Subject: two\r\n\r\nsecond envelope\r\n".to_vec(),
            },
        ],
    )
    .unwrap();
    std::fs::write(sender.path("out.bsmtp"), &bsmtp).unwrap();
    let out = output(
        sender
            .cmd()
            .args(["--json", "submit", "--account", "main"])
            .arg(sender.path("out.bsmtp")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::json_document::document(&out.stdout, "submit");
    assert_eq!(v["sent"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["sent"][0]["server"],
        format!("smtps://127.0.0.1:{}", s.ports.smtps)
    );
    let got_a = s.wait_delivered(&a, 2);
    let got_b = s.wait_delivered(&b, 1);
    assert_eq!(got_b.len(), 1);
    let all_a: String = got_a
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    assert!(all_a.contains("first envelope") && all_a.contains("second envelope"));
}

#[test]
fn refused_and_deferred_recipients_are_reported_and_accepted_ones_never_resent() {
    let s = servers();
    let sender = Client::new(&s, "sub3-sender");
    let ok = s.add_user("sub3-ok", "x");
    let refused = "reject-sub3@example.org";
    let deferred = "defer-sub3@example.org";
    sender.add_account(&s, "main", &url("smtps", s.ports.smtps), &imap(&s));
    let msg = message(&sender.addr, &[&ok, refused], &[deferred], &[], "partial");
    let out = output(sender.cmd().args(["submit"]).write_stdin(msg));
    let err = assert_failure(&out, 75);
    assert!(
        err.contains(&format!("recipient {refused} refused")),
        "{err}"
    );
    assert!(err.contains("still queued"), "{err}");
    s.wait_delivered(&ok, 1);
    let entries = outbox_entries(&sender);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["pending"], serde_json::json!([deferred]));
    assert_eq!(entries[0]["delivered"], serde_json::json!([ok]));
    assert!(entries[0]["last_error"].as_str().unwrap().contains("450"));
    // Not due yet: submit --outbox leaves it; flush retries only the deferred one.
    sender.cmd().args(["submit", "--outbox"]).assert().success();
    let out = output(sender.cmd().args(["outbox", "flush"]));
    assert_failure(&out, 75);
    let entries = outbox_entries(&sender);
    assert_eq!(entries[0]["attempts"], 2);
    let id = entries[0]["id"].as_str().unwrap().to_string();
    assert_failure(&output(sender.cmd().args(["outbox", "drop", "9999"])), 66);
    sender
        .cmd()
        .args(["outbox", "drop", &id[..20]])
        .assert()
        .success();
    assert!(outbox_entries(&sender).is_empty());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        s.delivered(&ok).len(),
        1,
        "the accepted recipient got it once"
    );
}

#[test]
fn all_recipients_refused_moves_the_envelope_aside() {
    let s = servers();
    let sender = Client::new(&s, "sub4-sender");
    sender.add_account(&s, "main", &url("smtps", s.ports.smtps), &imap(&s));
    let msg = message(
        &sender.addr,
        &["reject-sub4@example.org"],
        &[],
        &[],
        "nobody",
    );
    let err = assert_failure(&output(sender.cmd().arg("submit").write_stdin(msg)), 69);
    assert!(err.contains("reject-sub4@example.org"), "{err}");
    let entries = outbox_entries(&sender);
    assert_eq!(entries[0]["state"], "failed");
    let reply = entries[0]["refused"][0]["reply"].as_str().unwrap();
    assert!(
        reply.contains("554") && reply.contains("no such user here"),
        "{reply}"
    );
    let out = output(sender.cmd().args(["outbox", "list"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("failed"));
}

#[test]
fn wrong_password_keeps_the_message_queued_and_is_not_printed() {
    let s = servers();
    let sender = Client::new(&s, "sub5-sender");
    let to = s.add_user("sub5-to", "x");
    sender.add_account(&s, "main", &url("smtp", s.ports.submission), &imap(&s));
    crate::common::write_secret(&sender.path("wrong"), "not-the-password-9x\n");
    let msg = message(&sender.addr, &[&to], &[], &[], "auth");
    let out = output(
        sender
            .cmd()
            .arg("submit")
            .arg("--password-file")
            .arg(sender.path("wrong"))
            .write_stdin(msg),
    );
    let err = assert_failure(&out, 77);
    assert!(err.contains("refused the login"), "{err}");
    assert!(!err.contains("not-the-password-9x") && !err.contains(&sender.password()));
    assert_eq!(outbox_entries(&sender).len(), 1);
    // The right password (the account's file) sends it.
    sender.cmd().args(["outbox", "flush"]).assert().success();
    s.wait_delivered(&to, 1);
    assert!(outbox_entries(&sender).is_empty());
}

#[test]
fn unreachable_servers_are_each_named_and_nothing_is_lost() {
    let s = servers();
    let sender = Client::new(&s, "sub6-sender");
    let to = s.add_user("sub6-to", "x");
    let (p1, p2) = (closed_port(), closed_port());
    sender.add_account(
        &s,
        "main",
        &format!("{},{}", url("smtps", p1), url("smtp", p2)),
        &imap(&s),
    );
    let msg = message(&sender.addr, &[&to], &[], &[], "later");
    let err = assert_failure(&output(sender.cmd().arg("submit").write_stdin(msg)), 75);
    assert!(err.contains(&format!("smtps://127.0.0.1:{p1}")), "{err}");
    assert!(err.contains(&format!("smtp://127.0.0.1:{p2}")), "{err}");
    let entries = outbox_entries(&sender);
    assert_eq!(entries.len(), 1);
    assert!(entries[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("no submission server"));
    // Point the account at the real server and flush.
    sender
        .cmd()
        .args(["account", "add", "main", "--replace", "--smtp"])
        .arg(url("smtps", s.ports.smtps))
        .arg("--imap")
        .arg(url("imaps", s.ports.imaps))
        .arg("--user")
        .arg(&sender.addr)
        .arg("--password-file")
        .arg(sender.password_file())
        .arg("--ca-file")
        .arg(s.ca_file())
        .assert()
        .success();
    sender.cmd().args(["outbox", "flush"]).assert().success();
    assert_eq!(s.wait_delivered(&to, 1).len(), 1);
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let s = servers();
    let sender = Client::new(&s, "sub7-sender");
    let to = s.add_user("sub7-to", "x");
    // No --ca-file: the test CA is not among the system roots.
    sender
        .cmd()
        .args(["account", "add", "main", "--smtp"])
        .arg(url("smtps", s.ports.smtps))
        .arg("--imap")
        .arg(url("imaps", s.ports.imaps))
        .arg("--user")
        .arg(&sender.addr)
        .arg("--password-file")
        .arg(sender.password_file())
        .assert()
        .success();
    let msg = message(&sender.addr, &[&to], &[], &[], "untrusted");
    let err = assert_failure(&output(sender.cmd().arg("submit").write_stdin(msg)), 75);
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(outbox_entries(&sender).len(), 1);
}

#[test]
fn malformed_input_is_refused_before_anything_is_queued() {
    let s = servers();
    let sender = Client::new(&s, "sub8-sender");
    sender.add_account(&s, "main", &url("smtps", s.ports.smtps), &imap(&s));
    for bad in [
        &b"MAIL FROM:<a@example.org>\r\nDATA\r\nx\r\n.\r\n"[..],
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nunterminated\r\n",
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<not an address>\r\nDATA\r\nx\r\n.\r\n",
        b"Subject: no recipients\r\nFrom: a@example.org\r\n\r\nbody\r\n",
        b"\x00\x01 binary junk",
    ] {
        let out = output(sender.cmd().arg("submit").write_stdin(bad.to_vec()));
        assert_failure(&out, 65);
    }
    assert!(outbox_entries(&sender).is_empty());
    // No password source at all, and no terminal: fails at once, nothing queued.
    let other = Client::new(&s, "sub8-nopw");
    other
        .cmd()
        .args(["account", "add", "main", "--smtp"])
        .arg(url("smtps", s.ports.smtps))
        .arg("--imap")
        .arg(url("imaps", s.ports.imaps))
        .args(["--user", &other.addr])
        .assert()
        .success();
    let msg = message(&other.addr, &["x@example.org"], &[], &[], "b");
    assert_failure(&output(other.cmd().arg("submit").write_stdin(msg)), 78);
    assert!(outbox_entries(&other).is_empty());
}

/// One envelope to `rcpt` through a counting relay to `port`: the JSON
/// report and how many round trips the client waited for.
fn submit_counting(
    sender: &Client,
    s: &Servers,
    account: &str,
    port: u16,
    rcpt: &[String],
    marker: &str,
) -> (serde_json::Value, u64) {
    let relay = Relay::new(port);
    sender.add_account(s, account, &url("smtps", relay.port), &imap(s));
    let mut bsmtp = Vec::new();
    sealpost::smime::bsmtp::write(
        &mut bsmtp,
        &[sealpost::smime::bsmtp::Transaction {
            mail_from: sender.addr.clone(),
            rcpt_to: rcpt.to_vec(),
            data: format!("Subject: {marker}\r\n\r\n{marker}\r\n").into_bytes(),
        }],
    )
    .unwrap();
    let out = output(
        sender
            .cmd()
            .args(["--json", "submit", "--account", account, "-"])
            .write_stdin(bsmtp),
    );
    // The deferred recipient keeps the envelope queued: 75.
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        crate::json_document::document(&out.stdout, "submit"),
        relay.last_turns(),
    )
}

#[test]
fn recipients_are_pipelined_when_offered_with_exact_outcomes() {
    let s = servers();
    let sender = Client::new(&s, "pipe-sender");
    let ok: Vec<String> = (0..10)
        .map(|i| s.add_user(&format!("pipe-r{i}"), "x"))
        .collect();
    let mut rcpt = ok.clone();
    rcpt.insert(3, "reject-pipe@example.org".into());
    rcpt.insert(7, "defer-pipe@example.org".into());
    let mut turns = Vec::new();
    // PIPELINING offered; then a port that hides it and refuses a client
    // that pipelines anyway, so that both paths must be right.
    for (account, port) in [("pipe", s.ports.smtps), ("nopipe", s.ports.smtps_nopipe)] {
        let (v, t) = submit_counting(&sender, &s, account, port, &rcpt, account);
        turns.push(t);
        let e = &v["queued"][0];
        assert_eq!(e["delivered"], serde_json::json!(ok), "{v}");
        assert_eq!(e["pending"], serde_json::json!(["defer-pipe@example.org"]));
        assert_eq!(e["refused"][0]["recipient"], "reject-pipe@example.org");
        assert!(
            e["refused"][0]["reply"].as_str().unwrap().contains("5.1.1"),
            "{v}"
        );
        assert!(e["last_error"].as_str().unwrap().contains("450"), "{v}");
    }
    for who in &ok {
        let got = s.wait_for_markers(who, &["pipe".into(), "nopipe".into()]);
        assert_eq!(got.len(), 2, "{who} got each envelope once");
    }
    // Without pipelining the client waits for MAIL, each of the 12 RCPTs and
    // DATA in turn; with it, for the whole group at once.
    assert!(turns[1] >= turns[0] + 12, "client turns {turns:?}");
}

fn sent_records(c: &Client) -> Vec<std::path::PathBuf> {
    let dir = c.keystore().join("outbox/sent");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    out.sort();
    out
}

#[test]
fn sent_records_are_pruned_but_never_reopen_a_double_send() {
    let s = servers();
    let sender = Client::new(&s, "prune-sender");
    let to = s.add_user("prune-to", "x");
    sender.add_account(&s, "main", &url("smtps", s.ports.smtps), &imap(&s));
    let send = |body: &str| {
        let msg = message(&sender.addr, &[&to], &[], &[], body);
        let out = output(sender.cmd().args(["submit", "-"]).write_stdin(msg));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    send("prune one");
    let records = sent_records(&sender);
    assert_eq!(records.len(), 1);
    // Younger than the default 30 days: kept, by hand and after a run.
    sender.cmd().args(["outbox", "prune"]).assert().success();
    send("prune two");
    assert_eq!(sent_records(&sender).len(), 2);
    s.wait_for_markers(&to, &["prune one".into(), "prune two".into()]);

    // A process killed after the server's 250 and the record, before the
    // queue files were removed: the record must outlive them.
    let id = records[0]
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let queue = sender.keystore().join("outbox/queue");
    let mut entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&records[0]).unwrap()).unwrap();
    entry["state"] = "queued".into();
    std::fs::write(
        queue.join(format!("{id}.msg")),
        message(&sender.addr, &[&to], &[], &[], "prune one"),
    )
    .unwrap();
    std::fs::write(queue.join(format!("{id}.json")), entry.to_string()).unwrap();
    let out = output(
        sender
            .cmd()
            .args(["--json", "outbox", "prune", "--older-than", "0"]),
    );
    let v = crate::json_document::document(&out.stdout, "outbox prune");
    assert_eq!(v["pruned"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["older_than_seconds"], 0);
    assert!(records[0].exists(), "the record of a leftover stays");
    // The retry sees the record, sends nothing, and cleans the leftover.
    sender.cmd().args(["outbox", "flush"]).assert().success();
    assert!(!queue.join(format!("{id}.json")).exists());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(s.delivered(&to).len(), 2, "nothing was sent twice");

    // Configured retention, applied after a successful run.
    let config = sender.keystore().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[outbox]\nkeep_sent = \"0s\"\n");
    std::fs::write(&config, text).unwrap();
    send("prune three");
    assert!(sent_records(&sender).is_empty());
    assert!(outbox_entries(&sender).is_empty());
    s.wait_for_markers(&to, &["prune three".into()]);
    assert_eq!(s.delivered(&to).len(), 3);
    // Bad input: a clear usage error.
    let out = output(
        sender
            .cmd()
            .args(["outbox", "prune", "--older-than", "soon"]),
    );
    assert!(assert_failure(&out, 64).contains("30d"));
}
