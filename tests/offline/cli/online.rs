//! Revocation fetched from the CRL distribution point with `--online`
//! (issue #14 item 3): a root CA OpenSSL makes (tests/offline/cli/pki.rs)
//! issues grace's certificate with a cRLDistributionPoints URI on a tiny
//! HTTP server the test runs on 127.0.0.1, serving the CRL the CA made, or
//! misbehaving (silent, oversize, not a CRL). `verify` and `decrypt`;
//! a CRL that settled a verdict is kept for offline use. Without
//! `--online` that server must see no connection at all.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::pki::{p, Pki, FAR_AHEAD, GRACE, LONG_AGO};
use crate::json_document::document;

/// How the test server answers.
#[derive(Clone)]
enum Answer {
    /// `200 OK` with these bytes.
    Body(Vec<u8>),
    /// Accepts, reads the request, never answers.
    Silent,
    /// `200 OK` declaring 20 MiB.
    DeclaredHuge,
    /// `200 OK` without a length, then more than 10 MiB of zeros.
    EndlessBody,
}

/// An HTTP server on 127.0.0.1 that counts the connections it accepts.
struct Server {
    port: u16,
    connections: Arc<AtomicUsize>,
    answer: Arc<Mutex<Answer>>,
}

impl Server {
    fn start(answer: Answer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let answer = Arc::new(Mutex::new(answer));
        let (count, current) = (connections.clone(), answer.clone());
        // Lives as long as the test process; one thread per connection so
        // a silent one does not hold up the next.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let answer = current.lock().unwrap().clone();
                std::thread::spawn(move || serve(stream, &answer));
            }
        });
        Server {
            port,
            connections,
            answer,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve(mut stream: TcpStream, answer: &Answer) {
    // The request ends with an empty line.
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let _ = match answer {
        Answer::Body(body) => stream
            .write_all(
                format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|()| stream.write_all(body)),
        Answer::Silent => {
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        }
        Answer::DeclaredHuge => stream
            .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 20971520\r\n\r\n")
            .and_then(|()| stream.write_all(&[0u8; 4096])),
        Answer::EndlessBody => {
            let chunk = vec![0u8; 64 * 1024];
            let head = stream.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
            // Until the client hangs up: it must, past 10 MiB.
            head.and_then(|()| (0..1024).try_for_each(|_| stream.write_all(&chunk)))
        }
    };
}

/// A root CA that issues grace's certificate naming `urls` as its CRL
/// distribution points; the message grace signs with it.
struct Setup {
    pki: Pki,
    cert: PathBuf,
    message: Vec<u8>,
}

fn setup(urls: &[String]) -> Setup {
    let pki = Pki::new();
    let dps: Vec<String> = urls.iter().map(|u| format!("URI:{u}")).collect();
    let dp_line = format!("crlDistributionPoints = {}", dps.join(","));
    pki.root.add_section(
        "ee_dp",
        &[
            "basicConstraints = critical,CA:FALSE",
            "keyUsage = critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage = emailProtection",
            "subjectAltName = email:grace@example.org",
            &dp_line,
        ],
    );
    let cert = pki
        .root
        .issue("grace", "/CN=Grace DP", "ee_dp", LONG_AGO, FAR_AHEAD);
    let message = pki.signed_via(&cert, &pki.root.cert, GRACE, true, false);
    Setup { pki, cert, message }
}

impl Setup {
    /// `sealpost --json verify` trusting the root for this command, plus `flags`.
    fn verify(&self, flags: &[&str]) -> Output {
        let mut args = vec!["--json"];
        args.extend(flags);
        self.pki.verify(&self.message, &args)
    }

    fn crl(&self) -> Vec<u8> {
        std::fs::read(self.pki.root.crl()).unwrap()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fails with `code`, the verdict's `--json` document on stdout without
/// the content, no panic; the stderr.
fn refused(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    let doc = document(&out.stdout, "verify");
    assert_eq!(doc["written"], false, "{doc}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn a_good_signer_is_checked_online_and_the_crl_kept_for_offline_use() {
    let server = Server::start(Answer::Silent);
    let s = setup(&[server.url("root.crl")]);
    server.set(Answer::Body(s.crl()));
    // Fetched, checked, and --require-revocation-check passes.
    let out = s.verify(&["--online", "--require-revocation-check"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let verdict = &document(&out.stdout, "verify")["signatures"][0]["verdict"];
    assert_eq!(verdict["status"], "trusted");
    assert_eq!(verdict["revocation"], "checked");
    assert_eq!(
        verdict["revocation_fetched_from"],
        serde_json::json!([server.url("root.crl")])
    );
    assert!(
        err.contains(&format!(
            "revocation: fetched a CRL from {} (kept in the keystore until its next update)",
            server.url("root.crl")
        )),
        "{err}"
    );
    assert_eq!(server.connections(), 1);
    // The kept CRL serves offline until its nextUpdate: checked, no contact.
    let out = s.verify(&["--require-revocation-check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let verdict = &document(&out.stdout, "verify")["signatures"][0]["verdict"];
    assert_eq!(verdict["revocation"], "checked");
    assert_eq!(verdict["revocation_fetched_from"], serde_json::json!([]));
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_revoked_signer_is_found_only_online() {
    let server = Server::start(Answer::Silent);
    let s = setup(&[server.url("root.crl")]);
    s.pki.root.revoke(&s.cert);
    s.crl();
    // Served as PEM: that is accepted as well as DER.
    let pem = std::process::Command::new("openssl")
        .args([
            "crl",
            "-inform",
            "DER",
            "-in",
            p(&s.pki.root.dir.join("crl.der")),
        ])
        .output()
        .unwrap();
    server.set(Answer::Body(pem.stdout));
    // Offline the status is unknown (81 when a check is required).
    refused(&s.verify(&["--require-revocation-check"]), 81);
    let out = s.verify(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let verdict = &document(&out.stdout, "verify")["signatures"][0]["verdict"];
    assert_eq!(verdict["revocation"], "unknown");
    assert_eq!(verdict["revocation_fetched_from"], serde_json::json!([]));
    assert_eq!(server.connections(), 0, "contacted without --online");
    // Online the CRL says revoked (79).
    let out = s.verify(&["--online"]);
    let err = refused(&out, 79);
    assert!(err.contains("revoked"), "{err}");
    let verdict = &document(&out.stdout, "verify")["signatures"][0]["verdict"];
    assert_eq!(verdict["untrusted_reason"]["code"], "revoked");
    assert_eq!(
        verdict["revocation_fetched_from"],
        serde_json::json!([server.url("root.crl")])
    );
    assert_eq!(server.connections(), 1);
    // Kept: offline now knows too.
    refused(&s.verify(&[]), 79);
    assert_eq!(server.connections(), 1);
}

#[test]
fn without_online_no_host_is_contacted() {
    let server = Server::start(Answer::Silent);
    let s = setup(&[server.url("root.crl")]);
    server.set(Answer::Body(s.crl()));
    for flags in [&[][..], &["--require-revocation-check"][..]] {
        s.verify(flags);
    }
    // decrypt takes the same flags; its input here is not for it, but it
    // must not contact anyone either.
    s.pki
        .sealpost(&["decrypt", "--no-system-anchors"], &s.message);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connections(), 0);
}

#[test]
fn a_silent_server_leaves_revocation_unknown_within_the_bound() {
    let server = Server::start(Answer::Silent);
    let s = setup(&[server.url("root.crl")]);
    let start = Instant::now();
    let err = refused(&s.verify(&["--online", "--require-revocation-check"]), 81);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(
        err.contains(&format!(
            "could not fetch the CRL from {}",
            server.url("root.crl")
        )) && err.contains("no complete answer within 10 seconds"),
        "{err}"
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn oversize_answers_and_other_schemes_are_refused_with_a_note() {
    let declared = Server::start(Answer::DeclaredHuge);
    let endless = Server::start(Answer::EndlessBody);
    let missing = Server::start(Answer::Body(b"<html>no CRL here</html>".to_vec()));
    let ldap = "ldap://ldap.example.org/cn=Test%20Root?certificateRevocationList";
    let s = setup(&[
        ldap.to_string(),
        declared.url("a.crl"),
        endless.url("b.crl"),
        missing.url("c.crl"),
    ]);
    let start = Instant::now();
    let out = s.verify(&["--online"]);
    assert!(start.elapsed() < Duration::from_secs(15));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        document(&out.stdout, "verify")["signatures"][0]["verdict"]["revocation"],
        "unknown"
    );
    for line in [
        format!("{ldap} skipped: only http:// and https:// are fetched"),
        format!("{}: the CRL is larger than 10 MiB", declared.url("a.crl")),
        format!("{}: the CRL is larger than 10 MiB", endless.url("b.crl")),
        format!("{}: the response is not a CRL", missing.url("c.crl")),
    ] {
        assert!(err.contains(&line), "{line} not in {err}");
    }
    assert_eq!(
        err.lines().count(),
        4,
        "one line per distribution point: {err}"
    );
}

#[test]
fn decrypt_checks_revocation_online_too() {
    let server = Server::start(Answer::Silent);
    let s = setup(&[server.url("root.crl")]);
    s.pki.root.revoke(&s.cert);
    server.set(Answer::Body(s.crl()));
    s.pki.env.import_identity("bob");
    // grace's signed message (its From dropped: the outer one is the
    // sender), encrypted to bob.
    let inner = s.pki.path("inner.eml");
    let encrypted = s.pki.path("encrypted.eml");
    std::fs::write(&inner, &s.message[format!("From: {GRACE}\r\n").len()..]).unwrap();
    crate::common::openssl_encrypt(&inner, &crate::common::data("bob.cert.pem"), &encrypted);
    let message = std::fs::read(&encrypted).unwrap();
    let decrypt = |flags: &[&str]| {
        let mut cmd = s.pki.env.cmd_pw();
        cmd.args(["decrypt", "--no-system-anchors", "--require-signature"])
            .args(["--trust-anchor", p(&s.pki.root.cert)])
            .args(flags);
        cmd.write_stdin(message.clone()).output().unwrap()
    };
    let out = decrypt(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.connections(), 0);
    let out = decrypt(&["--online"]);
    assert_eq!(out.status.code(), Some(79), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("revoked"), "{}", stderr(&out));
    assert_eq!(server.connections(), 1);
}
