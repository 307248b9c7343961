//! Servers that answer garbage, or close the connection at once: `submit`
//! and `fetch` fail with one clear line and their documented exit status,
//! the outbox keeps the message, and nothing reaches the Maildir.

use std::io::{Read, Write};
use std::net::TcpListener;

use super::client::{assert_failure, output, url, Client};
use super::servers::servers;

#[derive(Clone, Copy, Debug)]
enum Bad {
    /// Answers every connection and every read with binary and text garbage.
    Garbage,
    /// Accepts and closes at once.
    Close,
}

const GARBAGE: &[u8] =
    b"\x00\xff\x1b[31m??? 999-garbage \xc3\x28 {12}\r\n)))(((\r\n\x07nonsense\r\n";

/// A loopback listener misbehaving for every connection; returns its port.
fn bad_server(bad: Bad) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            if let Bad::Close = bad {
                continue; // dropped: closed
            }
            std::thread::spawn(move || {
                let _ = conn.write_all(GARBAGE);
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 || conn.write_all(GARBAGE).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// The error line: one line, no control characters from the server.
fn error_line(stderr: &str) -> &str {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("sealpost: error: "))
        .unwrap();
    assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
    line
}

#[test]
fn submit_to_a_garbage_or_closing_server_keeps_the_message_queued() {
    let s = servers();
    for (i, bad) in [Bad::Garbage, Bad::Close].into_iter().enumerate() {
        for scheme in ["smtp", "smtps"] {
            let c = Client::new(&s, &format!("g1-{i}-{scheme}"));
            let port = bad_server(bad);
            c.add_account(
                &s,
                "main",
                &url(scheme, port),
                &format!("--imap={}", url("imaps", s.ports.imaps)),
            );
            let msg = format!(
                "From: <{}>\r\nTo: <nobody@example.org>\r\nSubject: x\r\n\r\nkeep me\r\n",
                c.addr
            );
            let out = output(
                c.cmd()
                    .args(["submit", "--timeout", "5"])
                    .write_stdin(msg.into_bytes()),
            );
            let err = assert_failure(&out, 75);
            let line = error_line(&err);
            eprintln!("{bad:?} {scheme}: {line}");
            assert!(
                line.contains(&url(scheme, port)),
                "{bad:?} {scheme}: {line}"
            );
            let list = output(c.cmd().args(["--json", "outbox", "list"]));
            assert!(list.status.success());
            let v = crate::json_document::document(&list.stdout, "outbox list");
            let entries = v["entries"].as_array().unwrap();
            assert_eq!(entries.len(), 1, "{bad:?} {scheme}: {v}");
            assert_eq!(
                entries[0]["pending"],
                serde_json::json!(["nobody@example.org"]),
                "{v}"
            );
        }
    }
}

#[test]
fn fetch_from_a_garbage_or_closing_server_writes_nothing() {
    let s = servers();
    for (i, bad) in [Bad::Garbage, Bad::Close].into_iter().enumerate() {
        for scheme in ["imap", "imaps", "pop3", "pop3s"] {
            let c = Client::new(&s, &format!("g2-{i}-{scheme}"));
            let port = bad_server(bad);
            let flag = if scheme.starts_with("imap") {
                "--imap"
            } else {
                "--pop3"
            };
            c.add_account(
                &s,
                "in",
                &url("smtps", s.ports.smtps),
                &format!("{flag}={}", url(scheme, port)),
            );
            let out = output(c.cmd().args(["fetch", "--timeout", "5"]));
            let err = assert_failure(&out, 69);
            let line = error_line(&err);
            eprintln!("{bad:?} {scheme}: {line}");
            assert!(
                line.contains(&url(scheme, port)),
                "{bad:?} {scheme}: {line}"
            );
            let md = c.keystore().join("mail").join("in");
            for sub in ["new", "cur", "tmp"] {
                let n = std::fs::read_dir(md.join(sub)).map_or(0, |d| d.count());
                assert_eq!(n, 0, "{bad:?} {scheme}: {sub}/ of {}", md.display());
            }
        }
    }
}
