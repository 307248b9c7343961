//! `sealpost fetch` against the real Dovecot.

use std::path::Path;

use super::client::{assert_failure, closed_port, output, url, Client};
use super::servers::{servers, Servers};

fn local(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        out.extend(paths.into_iter().map(|p| std::fs::read(p).unwrap()));
    }
    out
}

/// Messages as CRLF text, sorted (Dovecot stores LF; IMAP and POP3 send CRLF).
fn sorted(v: Vec<Vec<u8>>) -> Vec<String> {
    let mut out: Vec<String> = v
        .iter()
        .map(|m| String::from_utf8_lossy(&sealpost::smime::message::to_crlf(m)).into_owned())
        .collect();
    out.sort();
    out
}

fn msg(n: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: message {n}\r\n\r\nbody {n}\r\n.dot\r\n").into_bytes()
}

fn maildir(c: &Client, account: &str) -> std::path::PathBuf {
    c.keystore().join("mail").join(account)
}

fn fetch_ok(c: &Client, s: &Servers, extra: &[&str]) -> serde_json::Value {
    let out = output(c.cmd().args(["--json", "fetch"]).args(extra));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.logs()
    );
    crate::json_document::document(&out.stdout, "fetch")
}

/// Fetches incrementally, then with --delete, over the given URL.
fn incremental(local_part: &str, incoming: String) {
    let s = servers();
    let c = Client::new(&s, local_part);
    c.add_account(&s, "in", &url("smtps", s.ports.smtps), &incoming);
    for n in 0..3 {
        s.inject(&c.addr, &msg(n));
    }
    let v = fetch_ok(&c, &s, &[]);
    assert_eq!(v["accounts"][0]["summary"]["new"], 3, "{v}");
    assert_eq!(
        sorted(local(&maildir(&c, "in"))),
        sorted(s.delivered(&c.addr))
    );
    let v = fetch_ok(&c, &s, &[]);
    assert_eq!(v["accounts"][0]["summary"]["new"], 0, "{v}");
    s.inject(&c.addr, &msg(3));
    let v = fetch_ok(&c, &s, &["--delete"]);
    assert_eq!(v["accounts"][0]["summary"]["new"], 1, "{v}");
    assert_eq!(v["accounts"][0]["summary"]["deleted"], 4, "{v}");
    let here = local(&maildir(&c, "in"));
    assert_eq!(here.len(), 4);
    for n in 0..4 {
        let want = format!("body {n}\r\n.dot\r\n");
        let hits = here
            .iter()
            .filter(|m| String::from_utf8_lossy(m).contains(&want))
            .count();
        assert_eq!(hits, 1, "message {n}");
    }
    assert!(s.delivered(&c.addr).is_empty(), "deleted on the server");
    let v = fetch_ok(&c, &s, &["--delete"]);
    assert_eq!(v["accounts"][0]["summary"]["new"], 0, "{v}");
}

#[test]
fn imaps_incremental_and_delete() {
    let s = servers();
    incremental(
        "f1-imaps",
        format!("--imap={}", url("imaps", s.ports.imaps)),
    );
}

#[test]
fn imap_starttls_incremental_and_delete() {
    let s = servers();
    incremental("f2-imap", format!("--imap={}", url("imap", s.ports.imap)));
}

#[test]
fn pop3s_incremental_and_delete() {
    let s = servers();
    incremental(
        "f3-pop3s",
        format!("--pop3={}", url("pop3s", s.ports.pop3s)),
    );
}

#[test]
fn pop3_stls_with_failover_incremental_and_delete() {
    let s = servers();
    incremental(
        "f4-pop3",
        format!(
            "--pop3={},{}",
            url("pop3s", closed_port()),
            url("pop3", s.ports.pop3)
        ),
    );
}

#[test]
fn uidvalidity_change_resyncs_without_duplicates() {
    let s = servers();
    let c = Client::new(&s, "f5-uidv");
    c.add_account(
        &s,
        "in",
        &url("smtps", s.ports.smtps),
        &format!("--imap={}", url("imaps", s.ports.imaps)),
    );
    s.inject(&c.addr, &msg(1));
    s.inject(&c.addr, &msg(2));
    fetch_ok(&c, &s, &[]);
    // Make Dovecot forget its UIDs: a new UIDVALIDITY (it is a timestamp).
    // A Dovecot process that still holds the mailbox open may instead hand
    // out UIDs again under the old UIDVALIDITY (which breaks the IMAP
    // contract, so no client can be exact then); retry until the server
    // really announces a new UIDVALIDITY. The resync must then leave every
    // message on disk exactly once: nothing lost, nothing doubled.
    let mut injected = 2;
    let mut resync = None;
    for attempt in 0..4 {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let md = s.maildir(&c.addr);
        for e in std::fs::read_dir(&md).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("dovecot") {
                std::fs::remove_file(&p).unwrap();
            }
        }
        s.inject(&c.addr, &msg(3 + attempt));
        injected += 1;
        let v = fetch_ok(&c, &s, &[]);
        if v["accounts"][0]["summary"]["resynced"] == true {
            resync = Some(v);
            break;
        }
    }
    let v = resync.expect("Dovecot never changed UIDVALIDITY");
    let sum = &v["accounts"][0]["summary"];
    assert_eq!(sum["on_server"], injected, "{v}");
    let got = local(&maildir(&c, "in"));
    let mut want: Vec<Vec<u8>> = (1..=injected).map(msg).collect();
    want.sort();
    let bodies: Vec<Vec<u8>> = got
        .iter()
        .map(|m| {
            let at = m
                .windows(11)
                .position(|w| w == b"From: a@exa")
                .expect("our message");
            m[at..].to_vec()
        })
        .collect();
    let mut bodies = bodies;
    bodies.sort();
    assert_eq!(bodies, want, "every message exactly once after the resync");
}

#[test]
fn fetch_failures_are_clear() {
    let s = servers();
    let c = Client::new(&s, "f6-fail");
    let (p1, p2) = (closed_port(), closed_port());
    c.add_account(
        &s,
        "in",
        &url("smtps", s.ports.smtps),
        &format!("--imap={},{}", url("imaps", p1), url("imap", p2)),
    );
    let err = assert_failure(&output(c.cmd().arg("fetch")), 69);
    assert!(err.contains(&format!("imaps://127.0.0.1:{p1}")), "{err}");
    assert!(err.contains(&format!("imap://127.0.0.1:{p2}")), "{err}");
    let c2 = Client::new(&s, "f6-auth");
    c2.add_account(
        &s,
        "in",
        &url("smtps", s.ports.smtps),
        &format!("--pop3={}", url("pop3s", s.ports.pop3s)),
    );
    crate::common::write_secret(&c2.path("wrong"), "wrong-pw-77\n");
    let err = assert_failure(
        &output(
            c2.cmd()
                .arg("fetch")
                .arg("--password-file")
                .arg(c2.path("wrong")),
        ),
        77,
    );
    assert!(
        err.contains("refused the login") && !err.contains("wrong-pw-77"),
        "{err}"
    );
    let c3 = Client::new(&s, "f6-imapauth");
    c3.add_account(
        &s,
        "in",
        &url("smtps", s.ports.smtps),
        &format!("--imap={}", url("imap", s.ports.imap)),
    );
    let err = assert_failure(
        &output(
            c3.cmd()
                .arg("fetch")
                .arg("--password-file")
                .arg(c2.path("wrong")),
        ),
        77,
    );
    assert!(!err.contains("wrong-pw-77"), "{err}");
}

#[test]
fn all_accounts_are_fetched_together() {
    let s = servers();
    let c = Client::new(&s, "f7-one");
    let d = Client::new(&s, "f7-two");
    c.add_account(
        &s,
        "first",
        &url("smtps", s.ports.smtps),
        &format!("--imap={}", url("imaps", s.ports.imaps)),
    );
    c.cmd()
        .args(["account", "add", "second", "--smtp"])
        .arg(url("smtps", s.ports.smtps))
        .arg("--pop3")
        .arg(url("pop3s", s.ports.pop3s))
        .arg("--user")
        .arg(&d.addr)
        .arg("--password-file")
        .arg(d.password_file())
        .arg("--ca-file")
        .arg(s.ca_file())
        .assert()
        .success();
    s.inject(&c.addr, &msg(70));
    s.inject(&d.addr, &msg(71));
    s.inject(&d.addr, &msg(72));
    let v = fetch_ok(&c, &s, &["--all"]);
    assert_eq!(v["accounts"][0]["account"], "first", "{v}");
    assert_eq!(v["accounts"][0]["summary"]["new"], 1, "{v}");
    assert_eq!(v["accounts"][1]["summary"]["new"], 2, "{v}");
    assert_eq!(local(&maildir(&c, "first")).len(), 1);
    assert_eq!(local(&maildir(&c, "second")).len(), 2);
    // Without --all and with two accounts, the command asks which.
    let err = assert_failure(&output(c.cmd().arg("fetch")), 64);
    assert!(
        err.contains("--account") || err.contains("several"),
        "{err}"
    );
}

/// IMAP COMPRESS=DEFLATE (Dovecot's imap_zlib): the same Maildir content as
/// without it, in fewer bytes on the wire.
#[test]
fn compress_deflate_gives_the_same_mail_in_fewer_bytes() {
    let s = servers();
    let c = Client::new(&s, "f8-compress");
    let imaps = format!("--imap={}", url("imaps", s.ports.imaps));
    c.add_account(&s, "plain", &url("smtps", s.ports.smtps), &imaps);
    c.add_account(&s, "deflate", &url("smtps", s.ports.smtps), &imaps);
    let n = 120;
    for i in 0..n {
        let mut m = msg(i);
        // Mail-like, compressible text: repeated header-ish lines.
        for j in 0..40 {
            m.extend(format!("line {j} of message {i}: the quick brown fox\r\n").into_bytes());
        }
        s.inject(&c.addr, &m);
    }
    s.wait_delivered(&c.addr, n);
    let off = fetch_ok(&c, &s, &["plain", "--no-compress"]);
    let on = fetch_ok(&c, &s, &["deflate"]);
    let (off, on) = (
        &off["accounts"][0]["summary"],
        &on["accounts"][0]["summary"],
    );
    assert_eq!(off["new"], n, "{off}");
    assert_eq!(on["new"], n, "{on}");
    assert_eq!(off["compressed"], false, "{off}");
    assert_eq!(on["compressed"], true, "{on}");
    let plain = local(&maildir(&c, "plain"));
    assert_eq!(plain.len(), n);
    assert_eq!(plain, local(&maildir(&c, "deflate")), "identical Maildirs");
    let (off_wire, on_wire) = (
        off["wire_bytes"].as_u64().unwrap(),
        on["wire_bytes"].as_u64().unwrap(),
    );
    assert_eq!(off["uncompressed_bytes"].as_u64(), Some(off_wire), "{off}");
    assert!(
        on_wire < off_wire / 2,
        "compressed {on_wire} vs plain {off_wire}"
    );
    assert!(on["uncompressed_bytes"].as_u64().unwrap() > on_wire, "{on}");
    eprintln!(
        "COMPRESS=DEFLATE: {n} messages, {off_wire} bytes on the wire without, {on_wire} with"
    );
    // -v reports both figures; the next run is incremental and still works compressed.
    s.inject(&c.addr, &msg(999));
    let out = output(c.cmd().args(["-v", "fetch", "deflate"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("bytes on the wire") && err.contains("uncompressed (COMPRESS=DEFLATE)"),
        "{err}"
    );
    assert_eq!(local(&maildir(&c, "deflate")).len(), n + 1);
}

/// `--exec CMD` stores CMD's output; when CMD fails the message is stored as
/// received, named, and the run exits 65.
#[test]
fn exec_stores_the_output_and_keeps_the_original_when_it_fails() {
    let s = servers();
    let c = Client::new(&s, "f9-exec");
    c.add_account(
        &s,
        "in",
        &url("smtps", s.ports.smtps),
        &format!("--pop3={}", url("pop3s", s.ports.pop3s)),
    );
    s.inject(&c.addr, &msg(1));
    s.inject(&c.addr, &msg(2));
    let v = fetch_ok(&c, &s, &["--exec", "tr a-z A-Z"]);
    assert_eq!(v["accounts"][0]["summary"]["new"], 2, "{v}");
    let mut want: Vec<String> = sorted(s.delivered(&c.addr))
        .into_iter()
        .map(|m| m.to_uppercase())
        .collect();
    want.sort();
    assert_eq!(sorted(local(&maildir(&c, "in"))), want);
    // A failing command: the message is kept as received, and reported.
    s.inject(&c.addr, &msg(3));
    let out = output(c.cmd().args([
        "--json",
        "fetch",
        "--delete",
        "--exec",
        "cat >/dev/null; echo cannot-decrypt >&2; exit 9",
    ]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "{err}");
    assert!(err.contains("cannot-decrypt"), "{err}");
    assert!(
        err.contains("stored as received") && err.contains("exit status: 9"),
        "{err}"
    );
    let v = crate::json_document::document(&out.stdout, "fetch");
    let sum = &v["accounts"][0]["summary"];
    assert_eq!(sum["new"], 1, "{v}");
    assert_eq!(sum["exec_failed"].as_array().unwrap().len(), 1, "{v}");
    let here = local(&maildir(&c, "in"));
    assert_eq!(here.len(), 3);
    let kept: Vec<_> = here
        .iter()
        .filter(|m| String::from_utf8_lossy(m).contains("body 3\r\n"))
        .collect();
    assert_eq!(kept.len(), 1, "the original of message 3 is stored");
    // Stored locally, so --delete removed it; the next run has nothing new.
    let v = fetch_ok(&c, &s, &["--exec", "false"]);
    assert_eq!(v["accounts"][0]["summary"]["new"], 0, "{v}");
}

/// Issue 11 item 5, as it was found: Maildir names are predictable (IMAP
/// UIDVALIDITY and UID), and a link planted at the next one in `tmp/` made
/// fetch overwrite the link's target with the server's message.
#[test]
fn a_link_planted_at_the_next_name_in_tmp_is_not_followed() {
    let s = servers();
    let c = Client::new(&s, "f9-link");
    c.add_account(
        &s,
        "in",
        &url("smtps", s.ports.smtps),
        &format!("--imap={}", url("imaps", s.ports.imaps)),
    );
    s.inject(&c.addr, &msg(1));
    fetch_ok(&c, &s, &[]);
    let md = maildir(&c, "in");
    let first = std::fs::read_dir(md.join("new"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .into_string()
        .unwrap();
    let next = format!("{}.2", first.strip_suffix(".1").expect(&first));
    let victim = c.path("victim");
    std::fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, md.join("tmp").join(&next)).unwrap();
    s.inject(&c.addr, &msg(2));
    let v = fetch_ok(&c, &s, &[]);
    assert_eq!(v["accounts"][0]["summary"]["new"], 1, "{v}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let got = std::fs::read(md.join("new").join(&next)).unwrap();
    assert!(String::from_utf8_lossy(&got).contains("body 2"));
}
