//! `sealpost fetch` against the real Dovecot.

use std::path::Path;

use crate::client::{assert_failure, closed_port, output, url, Client};
use crate::servers::{servers, Servers};

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
        .map(|m| String::from_utf8_lossy(&sealpost::message::to_crlf(m)).into_owned())
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
    serde_json::from_slice(&out.stdout).unwrap()
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
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let md = s.maildir(&c.addr);
    for e in std::fs::read_dir(&md).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("dovecot") {
            std::fs::remove_file(&p).unwrap();
        }
    }
    s.inject(&c.addr, &msg(3));
    let v = fetch_ok(&c, &s, &[]);
    let sum = &v["accounts"][0]["summary"];
    assert_eq!(sum["resynced"], true, "{v}");
    assert_eq!(sum["new"], 1, "{v}");
    assert_eq!(sum["already_local"], 2, "{v}");
    assert_eq!(local(&maildir(&c, "in")).len(), 3);
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
    std::fs::write(c2.path("wrong"), "wrong-pw-77\n").unwrap();
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
