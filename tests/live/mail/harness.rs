//! The harness itself: the servers speak TLS with the test CA, authenticate
//! test users, and deliver what they accept unchanged.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use super::servers::servers;

#[test]
fn servers_greet_and_offer_what_the_tests_need() {
    let s = servers();
    let mut smtp = TcpStream::connect(("127.0.0.1", s.ports.submission)).unwrap();
    let mut r = BufReader::new(smtp.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("220 "), "{line}");
    smtp.write_all(b"EHLO test\r\n").unwrap();
    let mut ehlo = String::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        ehlo.push_str(&line);
        if line.starts_with("250 ") {
            break;
        }
    }
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(
        !ehlo.contains("AUTH"),
        "AUTH must wait for STARTTLS: {ehlo}"
    );
}
