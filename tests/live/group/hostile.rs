//! The group server under attack (issue 11, items 2 to 4): idle and
//! trickling connections, unauthenticated floods, a membership oracle, and
//! HTTP framing a lenient parser would read differently. Attackers bind to
//! other 127.x.y.z source addresses where the per-address limits matter,
//! and to the member's own address where they must not lock the member out.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

use sealpost::group::release::protocol::{RefusalCode, MAX_GROUP_NAME};
use sealpost::smime::envelope::KeyTransport;

use super::harness::{
    assert_granted, assert_raw_refused, member, now, request, seal, signed_by, List, LIST,
};
use super::server::serve_command;

/// A TCP connection to `to` from the loopback address `from` (any
/// 127.x.y.z works on Linux without configuration).
fn connect_from(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    // SAFETY: plain socket calls on a descriptor this function owns until
    // it is handed to TcpStream (or closed on error).
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let sockaddr = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(ip).to_be(),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let local = sockaddr(from, 0);
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let SocketAddr::V4(to) = to else {
            return Err(std::io::ErrorKind::Unsupported.into());
        };
        let remote = sockaddr(*to.ip(), to.port());
        if libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

/// The first bytes of a TLS ClientHello record, sent one at a time.
const TRICKLE: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

/// The attack of issue 11 item 2: `idle` connections that send nothing and
/// `trickling` ones that send one byte per `every`, spread over `sources`.
struct Flood {
    idle: Vec<TcpStream>,
    trickling: Vec<(TcpStream, usize)>,
    refused: usize,
}

impl Flood {
    fn open(to: SocketAddr, sources: &[Ipv4Addr], idle: usize, trickling: usize) -> Flood {
        let mut flood = Flood {
            idle: Vec::new(),
            trickling: Vec::new(),
            refused: 0,
        };
        for i in 0..idle + trickling {
            let from = sources[i % sources.len()];
            match connect_from(from, to) {
                Ok(s) if i < idle => flood.idle.push(s),
                Ok(s) => flood.trickling.push((s, 0)),
                Err(_) => flood.refused += 1,
            }
        }
        flood
    }

    /// One more byte on every trickling connection; how many still take it.
    fn trickle(&mut self) -> usize {
        let mut alive = 0;
        for (s, sent) in &mut self.trickling {
            if s.write_all(&TRICKLE[*sent % TRICKLE.len()..][..1]).is_ok() {
                *sent += 1;
                alive += 1;
            }
        }
        alive
    }
}

/// A release by `m` on a new connection, timed from connect to the grant.
fn timed_release(l: &List, m: &super::harness::Member) -> Duration {
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    let req = request(m, LIST, &sealed.entry, now());
    let started = Instant::now();
    let answer = l
        .connect()
        .release(&req)
        .expect("the member could not be served during the flood");
    let took = started.elapsed();
    assert_granted(&answer, m, &sealed);
    took
}

/// Issue 11 item 2: 300 idle and trickling connections (over the default
/// cap of 256), from many addresses and from the member's own, held open
/// while a member asks for keys: each release is served within 2 s.
#[test]
fn a_slowloris_flood_does_not_lock_members_out() {
    let l = List::start(&[]);
    let bob = member("bob");
    let others: Vec<Ipv4Addr> = (2..=41).map(|i| Ipv4Addr::new(127, 0, 1, i)).collect();
    let own = [Ipv4Addr::LOCALHOST];
    // From elsewhere, and from bob's own address (127.0.0.1), which is
    // over the per-address limit of 64 on its own.
    let mut far = Flood::open(l.server.addr, &others, 80, 80);
    let mut near = Flood::open(l.server.addr, &own, 70, 70);
    let held = far.idle.len() + far.trickling.len() + near.idle.len() + near.trickling.len();
    assert!(held >= 290, "only {held} attacker connections opened");
    let mut worst = Duration::ZERO;
    let began = Instant::now();
    for _ in 0..5 {
        far.trickle();
        near.trickle();
        worst = worst.max(timed_release(&l, &bob));
        std::thread::sleep(Duration::from_millis(500));
    }
    let still = far.trickle() + near.trickle();
    eprintln!(
        "slowloris: {held} attacker connections ({} refused at connect), \
         5 releases by a member, slowest {:.0} ms; {still} tricklers still connected after {:.1} s",
        far.refused + near.refused,
        worst.as_secs_f64() * 1e3,
        began.elapsed().as_secs_f64()
    );
    assert!(worst < Duration::from_secs(2), "a release took {worst:?}");
    drop((far, near));
}

/// The whole request has a deadline: a client that trickles its request
/// one byte at a time is cut off at `--request-timeout`, although each byte
/// comes well within any per-read timeout.
#[test]
fn a_trickled_request_is_cut_off_at_the_request_deadline() {
    // The default deadline (10 s), well below the default idle timeout (30 s).
    let l = List::start(&[]);
    // A TCP connection that never starts TLS, opened first.
    let mut idle = TcpStream::connect(l.server.addr).unwrap();
    let idle_since = Instant::now();
    // After the TLS handshake: the head, one byte every 200 ms, each far
    // inside any per-read timeout.
    let mut raw = l.raw();
    let head = b"POST /v1/release HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let began = Instant::now();
    let mut cut_at = None;
    for byte in head.iter().cycle().take(75) {
        if raw.write_raw(&[*byte]).is_err() || raw.closed() {
            cut_at = Some(began.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let cut_at = cut_at.expect("a trickled request was still open after 15 s");
    eprintln!(
        "deadline: trickled request cut off after {:.1} s",
        cut_at.as_secs_f64()
    );
    assert!(cut_at < Duration::from_secs(13), "cut after {cut_at:?}");

    // The silent connection is cut off as well.
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    // The server may say goodbye (a TLS alert) before it closes.
    let closed = idle.read_to_end(&mut Vec::new()).is_ok();
    let took = idle_since.elapsed();
    assert!(
        closed && took < Duration::from_secs(13),
        "{closed} {took:?}"
    );
}

/// Issue 11 item 3: 2000 unauthenticated requests, 60 KB group names and
/// garbage signatures on members' and strangers' certificates; the store
/// must not grow by more than a few MB (it grew ~250 MB before).
#[test]
fn an_unauthenticated_flood_does_not_grow_the_store() {
    let l = List::start(&[]);
    let (bob, dave) = (member("bob"), member("dave"));
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    let store_size = || -> u64 {
        ["groups.sqlite3", "groups.sqlite3-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(l.op.keystore().join(f)).ok())
            .map(|m| m.len())
            .sum()
    };
    let before = store_size();
    let rows_before = l.op.audit(LIST).len();
    let long_name = "a".repeat(60_000);
    let bodies = [
        // A 60 KB group name, unsigned (the request of the issue).
        {
            let mut req = request(&bob, LIST, &sealed.entry, now());
            req.group = long_name.clone();
            req.signature = vec![0; 256];
            req.to_json()
        },
        // A member's certificate, a signature by another key.
        signed_by(request(&bob, LIST, &sealed.entry, now()), &dave.key).to_json(),
        // A stranger's certificate, a garbage signature.
        {
            let mut req = request(&dave, LIST, &sealed.entry, now());
            req.signature[9] ^= 1;
            req.to_json()
        },
    ];
    // From 20 addresses, 100 requests each: within each address's burst,
    // so that every request reaches the service's checks.
    let began = Instant::now();
    let mut refusals = std::collections::BTreeMap::new();
    for source in 0..20u8 {
        let from = Ipv4Addr::new(127, 0, 2, 1 + source);
        let mut raw = l.op.raw_over(connect_from(from, l.server.addr).unwrap());
        for i in 0..100 {
            let response = raw.post(&bodies[i % bodies.len()]);
            *refusals.entry(response.status).or_insert(0) += 1;
        }
    }
    let took = began.elapsed();
    let grown = store_size().saturating_sub(before);
    eprintln!(
        "flood: 2000 unauthenticated requests from 20 addresses in {:.1} s \
         (statuses {refusals:?}), store grew by {grown} bytes",
        took.as_secs_f64(),
    );
    assert!(grown < 2 << 20, "the store grew by {grown} bytes");
    assert!(
        refusals.keys().all(|s| [400, 401].contains(s)),
        "{refusals:?}"
    );
    assert_eq!(l.op.audit(LIST).len(), rows_before);
    // And the members are still served.
    let answer = l.release(&request(&bob, LIST, &sealed.entry, now()));
    assert_granted(&answer, &bob, &sealed);
}

/// The per-address rate limit answers before any signature is checked.
#[test]
fn the_address_rate_limit_comes_before_the_signature_check() {
    let l = List::start(&["--address-rate-limit", "1/s", "--address-burst", "3"]);
    let (bob, dave) = (member("bob"), member("dave"));
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    let forged = signed_by(request(&bob, LIST, &sealed.entry, now()), &dave.key).to_json();
    let mut raw = l.raw();
    for _ in 0..3 {
        assert_raw_refused(&raw.post(&forged), RefusalCode::BadSignature);
    }
    let limited = raw.post(&forged);
    assert_raw_refused(&limited, RefusalCode::RateLimited);
    assert!(limited.retry_after.is_some_and(|s| s >= 1));
}

/// Issue 11 item 4: without a member's private key nothing is learned. A
/// bad signature gets the same answer, byte for byte, with a member's
/// certificate, a stranger's, or for a group that does not exist; a caller
/// with a valid key of their own cannot tell a group they are not in from
/// one that does not exist. None of it is in the audit log.
#[test]
fn no_membership_oracle_without_a_key() {
    let l = List::start(&[]);
    let (bob, dave) = (member("bob"), member("dave"));
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    let mut raw = l.raw();
    let mut post =
        |req: sealpost::group::release::protocol::ReleaseRequest| raw.post(&req.to_json());
    let bad_signature = [
        post(signed_by(
            request(&bob, LIST, &sealed.entry, now()),
            &dave.key,
        )),
        post(signed_by(
            request(&dave, LIST, &sealed.entry, now()),
            &bob.key,
        )),
        post(signed_by(
            request(&bob, "nosuch", &sealed.entry, now()),
            &dave.key,
        )),
        post(signed_by(
            request(&dave, "nosuch", &sealed.entry, now()),
            &bob.key,
        )),
    ];
    assert_raw_refused(&bad_signature[0], RefusalCode::BadSignature);
    for (i, answer) in bad_signature.iter().enumerate() {
        assert_eq!(answer, &bad_signature[0], "answer {i} differs");
    }
    let for_dave = seal(&dave.cert, KeyTransport::RsaOaepSha256).entry;
    let stranger = [
        post(request(&dave, LIST, &sealed.entry, now())),
        post(request(&dave, "nosuch", &sealed.entry, now())),
        // An entry that names no group certificate, for either.
        post(request(&dave, LIST, &for_dave, now())),
        post(request(&dave, "nosuch", &for_dave, now())),
    ];
    assert_raw_refused(&stranger[0], RefusalCode::NotMember);
    for (i, answer) in stranger.iter().enumerate() {
        assert_eq!(answer, &stranger[0], "answer {i} differs");
    }
    assert!(l.op.audit(LIST).is_empty(), "{:#?}", l.op.audit(LIST));
}

/// RFC 9112 framing on the wire: `Content-Length: +5` and a bare CR in a
/// field value are refused and the connection closed (a lenient reader
/// would frame the bytes differently from a proxy in front of it);
/// pipelined requests are answered in order.
#[test]
fn framing_is_strict_and_pipelining_is_answered_in_order() {
    let l = List::start(&[]);
    let bob = member("bob");
    let (a, b) = (
        seal(&l.cert, KeyTransport::RsaOaepSha256),
        seal(&l.cert, KeyTransport::RsaPkcs1v15),
    );
    let body_a = request(&bob, LIST, &a.entry, now()).to_json();
    let body_b = request(&bob, LIST, &b.entry, now()).to_json();
    let post = |extra_header: &str, content_length: &str, body: &[u8]| {
        let mut wire = format!(
            "POST /v1/release HTTP/1.1\r\nHost: localhost\r\n{extra_header}Content-Length: {content_length}\r\n\r\n"
        )
        .into_bytes();
        wire.extend_from_slice(body);
        wire
    };
    // `+5`, then a request a lenient reader would answer.
    let mut wire = post("", "+5", b"hello");
    wire.extend(post("", &body_a.len().to_string(), &body_a));
    let response = l.raw().send(&wire);
    assert_raw_refused(&response, RefusalCode::Malformed);
    assert!(!response.keep_alive, "framing after `+5` was trusted");
    // A bare CR inside a field value, on an otherwise valid request.
    let wire = post("X-Note: a\rb\r\n", &body_a.len().to_string(), &body_a);
    let response = l.raw().send(&wire);
    assert_raw_refused(&response, RefusalCode::Malformed);
    assert!(!response.keep_alive);

    // Two requests in one write: two answers, in order.
    let mut wire = post("", &body_a.len().to_string(), &body_a);
    wire.extend(post("", &body_b.len().to_string(), &body_b));
    let mut raw = l.raw();
    let first = raw.send(&wire);
    let second = raw.read();
    for (response, sealed) in [(&first, &a), (&second, &b)] {
        assert_eq!(response.status, 200);
        let grant =
            sealpost::group::release::protocol::ReleaseGrant::from_json(&response.body).unwrap();
        assert_eq!(grant.key_hash, sealed.key_hash());
    }
}

/// Oversized fields are refused before anything is looked up or stored.
#[test]
fn oversized_fields_are_malformed() {
    let l = List::start(&[]);
    let bob = member("bob");
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    let mut req = request(&bob, LIST, &sealed.entry, now());
    req.group = "a".repeat(MAX_GROUP_NAME + 1);
    let req = signed_by(req, &bob.key);
    assert_raw_refused(&l.raw().post(&req.to_json()), RefusalCode::Malformed);
}

/// The server refuses to start on a disk without room for its audit log.
#[test]
fn serve_refuses_to_start_when_the_disk_is_nearly_full() {
    let l = List::start(&[]);
    let out = serve_command(
        &l.op.keystore(),
        super::harness::PASSPHRASE,
        &l.op.tls,
        &["--min-free-space", "1000000000"],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{stderr}");
    assert!(stderr.contains("free"), "{stderr}");
    assert!(!stderr.contains("listening on"));
}
