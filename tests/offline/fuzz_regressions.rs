//! Inputs the fuzz targets (fuzz/, see fuzz/README.md) found to crash,
//! hang or over-allocate, each an ordinary test through the public API.
//! The minimized inputs are also kept under fuzz/regressions/TARGET/.

use std::io::{Cursor, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use sealpost::error::{classify, Exit};
use sealpost::mail::smtp::{Session, SmtpConfig};
use sealpost::smime::envelope::{self, ContentSink, Envelope};

/// The fuzz crate's shared harness (fuzz/src/), compiled here so that a
/// library change that breaks the fuzz targets fails `cargo test`: the
/// fuzzers themselves are not part of CI.
#[allow(dead_code)]
#[path = "../../fuzz/src/lib.rs"]
mod fuzz_harness;

/// A content sink that keeps nothing.
struct Discard;

impl ContentSink for Discard {
    fn begin(&mut self, _head: &Envelope) -> anyhow::Result<()> {
        Ok(())
    }
    fn content(&mut self, _chunk: &[u8]) -> anyhow::Result<()> {
        Ok(())
    }
}

fn exit_of(err: &anyhow::Error) -> Exit {
    classify(err).0
}

/// `enveloped-data` ContentInfo, indefinite lengths, up to the first element
/// of the EnvelopedData SEQUENCE.
const ENVELOPED_PREFIX: &[u8] = &[
    0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03, 0xa0, 0x80, 0x30,
    0x80,
];

/// fuzz target `cms`: an element whose 8-byte length is 2^64 − 1 overflowed
/// the streaming walker's size check (a panic with overflow checks on; in
/// release the check wrapped and passed).
#[test]
fn walker_refuses_a_length_of_two_to_the_64_minus_one() {
    let mut input = ENVELOPED_PREFIX.to_vec();
    input.extend_from_slice(&[
        0x02, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
    ]);
    let err = match envelope::walk(Cursor::new(&input), &mut Discard) {
        Err(e) => e,
        Ok(_) => panic!("a 2^64-byte element in a few bytes was accepted"),
    };
    assert_eq!(exit_of(&err), Exit::DataErr, "{err:#}");
}

/// A one-connection loopback server that says `script` (the server's whole
/// side, as the fuzz targets replay it), then reads until the client hangs up.
fn serve_once(script: &'static [u8]) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    let server = std::thread::spawn(move || {
        let Ok((mut sock, _)) = listener.accept() else {
            return;
        };
        let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = sock.write_all(script);
        let _ = sock.shutdown(Shutdown::Write);
        let mut sink = [0u8; 4096];
        while matches!(sock.read(&mut sink), Ok(n) if n > 0) {}
    });
    (port, server)
}

/// fuzz target `smtp`: an EHLO reply with a line of whitespace only (a form
/// feed) made lettre 0.11.23 panic (`ServerInfo::from_response` unwraps the
/// first word of every non-empty line), so a hostile submission server
/// crashed `submit` and `outbox flush` instead of getting an error. SMTP
/// replies are now read by sealpost's own bounded wire (src/mail/smtp/wire.rs).
#[test]
fn smtp_ehlo_line_of_whitespace_is_an_error_not_a_panic() {
    let (port, server) = serve_once(b"220 mx\r\n250-mx\r\n250-AUTH PLAIN\r\n250 \x0c\r\n");
    let cfg = SmtpConfig {
        endpoints: vec![sealpost::store::account::Endpoint {
            protocol: sealpost::store::account::Protocol::Smtp,
            security: sealpost::store::account::Security::Plain,
            host: "127.0.0.1".into(),
            port,
        }],
        user: "user".into(),
        password: zeroize::Zeroizing::new("secret".into()),
        ca_pem: None,
        timeout: Duration::from_secs(5),
        hello_name: "client.example.org".into(),
    };
    let outcome = std::panic::catch_unwind(|| Session::connect(&cfg).map(|_| ()));
    server.join().expect("server thread");
    match outcome {
        Err(_) => panic!("Session::connect panicked on a whitespace-only EHLO line"),
        Ok(Ok(())) => panic!("a malformed EHLO reply was accepted"),
        Ok(Err(e)) => assert_eq!(exit_of(&e), Exit::TempFail, "{e:#}"),
    }
}
