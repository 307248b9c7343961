//! Graceful shutdown (issue 16): on SIGTERM or SIGINT the server closes its
//! listener, shuts idle kept-alive connections, answers the request already
//! begun (audited, then `Connection: close`) and exits 0.

use std::net::TcpStream;
use std::time::Duration;

use sealpost::group::release::protocol::ReleaseGrant;
use sealpost::smime::envelope::KeyTransport;

use super::harness::{member, now, open_grant, request, seal, List, LIST};

/// The request deadline the server is given: the stop must come well within it.
const REQUEST_TIMEOUT: u64 = 8;

fn stops_gracefully_on(signal: i32) {
    let mut l = List::start(&["--request-timeout", &REQUEST_TIMEOUT.to_string()]);
    let bob = member("bob");
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);

    // A kept-alive connection, idle after its first answer.
    let mut idle = l.raw();
    let first = idle.post(&request(&bob, LIST, &sealed.entry, now()).to_json());
    assert_eq!((first.status, first.keep_alive), (200, true));

    // A request in flight: its head and half its body sent.
    let req = request(&bob, LIST, &sealed.entry, now());
    let mut wire = Vec::new();
    sealpost::group::http::write_post(&mut wire, "localhost", "/v1/release", &req.to_json())
        .unwrap();
    let (begun, rest) = wire.split_at(wire.len() - 40);
    let mut slow = l.raw();
    slow.write_raw(begun).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    l.server.signal(signal);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        TcpStream::connect(l.server.addr).is_err(),
        "a connection was accepted after the signal"
    );
    assert!(
        idle.closed(),
        "the idle connection was kept after the signal"
    );
    assert!(
        l.server.wait_exit(Duration::ZERO).is_none(),
        "the server exited with a request in flight"
    );

    let answer = slow.send(rest);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(!answer.keep_alive, "kept alive after the signal");
    let grant = ReleaseGrant::from_json(&answer.body).unwrap();
    assert_eq!(open_grant(&grant, &bob), sealed.content_key);

    let status = l
        .server
        .wait_exit(Duration::from_secs(REQUEST_TIMEOUT))
        .expect("the server did not exit within the request deadline");
    assert!(status.success(), "the server exited with {status}");
    let log = l.server.stop();
    assert!(log.iter().any(|line| line.contains("stopped")), "{log:?}");

    let rows = l.op.audit(LIST);
    let nonce = hex::encode(req.nonce);
    let row = rows.iter().find(|r| r["nonce"] == nonce.as_str());
    assert_eq!(
        row.expect("the request in flight has no audit row")["outcome"],
        "released"
    );
}

#[test]
fn sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0() {
    stops_gracefully_on(libc::SIGTERM);
}

#[test]
fn sigint_stops_the_same_way() {
    stops_gracefully_on(libc::SIGINT);
}
