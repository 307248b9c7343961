//! `group serve --metrics ADDR` (issue 16): Prometheus text on a plain-HTTP
//! listener of its own, counting releases, refusals by code, latency and
//! open connections.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sealpost::smime::envelope::KeyTransport;

use super::harness::{assert_granted, member, now, request, seal, List, LIST};

/// The address the server printed as `metrics on http://ADDR/metrics`.
fn metrics_addr(l: &List) -> SocketAddr {
    l.server
        .preamble
        .iter()
        .find_map(|line| line.split("metrics on http://").nth(1))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics line in {:?}", l.server.preamble))
        .parse()
        .unwrap()
}

fn scrape(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(tcp, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let response = sealpost::group::http::read_response(&mut BufReader::new(tcp), 1 << 20).unwrap();
    (response.status, String::from_utf8(response.body).unwrap())
}

/// The value of the sample `name` (with its labels) in `text`.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn metrics_count_releases_refusals_latency_and_connections() {
    let l = List::start(&["--metrics", "127.0.0.1:0"]);
    let addr = metrics_addr(&l);
    let (bob, dave) = (member("bob"), member("dave"));
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);

    // Kept open across the scrape.
    let mut conn = l.connect();
    for _ in 0..2 {
        let answer = conn
            .release(&request(&bob, LIST, &sealed.entry, now()))
            .unwrap();
        assert_granted(&answer, &bob, &sealed);
    }
    l.release(&request(&dave, LIST, &sealed.entry, now()));
    let missing = l
        .raw()
        .send(b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(missing.status, 404);

    let (status, text) = scrape(addr, "/metrics");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("# TYPE sealpost_group_request_duration_seconds histogram"));
    assert_eq!(sample(&text, "sealpost_group_releases_total"), 2.0);
    let refused = |code: &str| {
        sample(
            &text,
            &format!("sealpost_group_refusals_total{{code=\"{code}\"}}"),
        )
    };
    assert_eq!(refused("not_member"), 1.0);
    assert_eq!(refused("not_found"), 1.0);
    assert_eq!(refused("bad_signature"), 0.0);
    assert_eq!(sample(&text, "sealpost_group_store_errors_total"), 0.0);
    assert_eq!(
        sample(&text, "sealpost_group_request_duration_seconds_count"),
        4.0
    );
    assert_eq!(
        sample(
            &text,
            "sealpost_group_request_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        4.0
    );
    assert!(sample(&text, "sealpost_group_request_duration_seconds_sum") > 0.0);
    assert!(sample(&text, "sealpost_group_open_connections") >= 1.0);
    // No group, member or address: the only label is the refusal code.
    let labels = text
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('{'));
    assert!(
        labels
            .clone()
            .all(|l| l.contains("{code=\"") || l.contains("{le=\"")),
        "{text}"
    );
    assert!(!text.contains(&format!("\"{LIST}\"")) && !text.contains("example"));

    assert_eq!(scrape(addr, "/other").0, 404);
}
