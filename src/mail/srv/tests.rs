use super::resolver::tcp_exchange;
use super::wire::{CLASS_IN, TYPE_CNAME, TYPE_SRV};
use super::*;
use crate::error::Exit;
use crate::store::account::Protocol;
use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

fn rr(owner: &[u8], rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut v = owner.to_vec();
    v.extend_from_slice(&rtype.to_be_bytes());
    v.extend_from_slice(&CLASS_IN.to_be_bytes());
    v.extend_from_slice(&300u32.to_be_bytes());
    v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    v.extend_from_slice(rdata);
    v
}

fn srv_data(prio: u16, weight: u16, port: u16, target: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [prio, weight, port] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend_from_slice(target);
    v
}

/// A reply to build_query(id, name) with `answers`; the question's name
/// starts at offset 12, so records may point at it with 0xC00C.
fn reply(id: u16, name: &str, flags: u16, answers: &[Vec<u8>]) -> Vec<u8> {
    let mut m = build_query(id, name).unwrap();
    m[2..4].copy_from_slice(&flags.to_be_bytes());
    m[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
    for a in answers {
        m.extend_from_slice(a);
    }
    m
}

const NAME: &str = "_submissions._tcp.example.org";

#[test]
fn parses_srv_records_with_compression() {
    // 0xC01E points at "example.org" in the question: offset
    // 12 + len("\x0c_submissions\x04_tcp") = 12 + 18.
    let a = rr(
        &[0xC0, 12],
        TYPE_SRV,
        &srv_data(10, 5, 465, b"\x04mail\xC0\x1E"),
    );
    let b = rr(
        &[0xC0, 12],
        TYPE_SRV,
        &srv_data(20, 0, 4650, b"\x06backup\x07example\x03org\x00"),
    );
    let m = reply(7, NAME, 0x8180, &[a, b]);
    let Answer::Records(r) = parse_reply(&m, 7, NAME).unwrap() else {
        panic!()
    };
    assert_eq!(r.len(), 2);
    assert_eq!(
        r[0],
        SrvRecord {
            priority: 10,
            weight: 5,
            port: 465,
            target: "mail.example.org".into()
        }
    );
    assert_eq!(r[1].target, "backup.example.org");
    // Upper case in the question is the same name (0x20 randomisation).
    assert!(parse_reply(&m, 7, "_SUBMISSIONS._tcp.Example.ORG.").is_ok());
}

#[test]
fn rcodes_truncation_and_cnames() {
    assert_eq!(
        parse_reply(&reply(1, NAME, 0x8183, &[]), 1, NAME).unwrap(),
        Answer::NoRecords
    );
    assert_eq!(
        parse_reply(&reply(1, NAME, 0x8182, &[]), 1, NAME).unwrap_err(),
        Parse::Rcode(2)
    );
    assert_eq!(
        parse_reply(&reply(1, NAME, 0x8380, &[]), 1, NAME).unwrap_err(),
        Parse::Truncated
    );
    // No answer at all is "no records".
    assert_eq!(
        parse_reply(&reply(1, NAME, 0x8180, &[]), 1, NAME).unwrap(),
        Answer::NoRecords
    );
    // An alias is followed; records of other names are ignored.
    let cname = rr(&[0xC0, 12], TYPE_CNAME, b"\x01x\x07example\x03org\x00");
    let srv = rr(
        b"\x01x\x07example\x03org\x00",
        TYPE_SRV,
        &srv_data(1, 1, 587, b"\x01m\x07example\x03org\x00"),
    );
    let stray = rr(
        b"\x05other\x03org\x00",
        TYPE_SRV,
        &srv_data(0, 0, 1, b"\x04evil\x03org\x00"),
    );
    let m = reply(2, NAME, 0x8180, &[cname, stray, srv]);
    let Answer::Records(r) = parse_reply(&m, 2, NAME).unwrap() else {
        panic!()
    };
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].target.as_str(), r[0].port), ("m.example.org", 587));
}

#[test]
fn wrong_id_question_or_direction_is_not_our_answer() {
    let a = rr(&[0xC0, 12], TYPE_SRV, &srv_data(1, 1, 465, b"\x00"));
    let m = reply(9, NAME, 0x8180, std::slice::from_ref(&a));
    assert!(parse_reply(&m, 8, NAME).is_err());
    assert!(parse_reply(&m, 9, "_imaps._tcp.example.org").is_err());
    let q = reply(9, NAME, 0x0100, &[a]);
    assert!(parse_reply(&q, 9, NAME).is_err(), "a query is not a reply");
}

#[test]
fn garbage_never_panics() {
    let good = reply(
        3,
        NAME,
        0x8180,
        &[rr(
            &[0xC0, 12],
            TYPE_SRV,
            &srv_data(1, 2, 3, b"\x01a\xC0\x1E"),
        )],
    );
    // Every truncation, and every single-byte change, of a good reply.
    for n in 0..good.len() {
        let _ = parse_reply(&good[..n], 3, NAME);
    }
    for i in 0..good.len() {
        for v in [0x00, 0x3F, 0x40, 0xC0, 0xFF] {
            let mut m = good.clone();
            m[i] = v;
            let _ = parse_reply(&m, 3, NAME);
        }
    }
    // A pointer to itself, a forward pointer, a huge answer count, a
    // record whose length runs past the end.
    let self_ptr = rr(&[0xC0, 0], TYPE_SRV, &[]);
    let mut m = reply(3, NAME, 0x8180, &[self_ptr]);
    let at = m.len() - 10 - 2;
    m[at] = 0xC0;
    m[at + 1] = at as u8;
    assert!(parse_reply(&m, 3, NAME).is_err());
    let mut m = reply(3, NAME, 0x8180, &[]);
    m[6] = 0xFF;
    m[7] = 0xFF;
    assert!(parse_reply(&m, 3, NAME).is_err());
    let mut long = rr(&[0xC0, 12], TYPE_SRV, &srv_data(1, 1, 1, b"\x00"));
    let l = long.len();
    long[l - 9] = 0xFF;
    assert!(parse_reply(&reply(3, NAME, 0x8180, &[long]), 3, NAME).is_err());
    // Random bytes.
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        let len = (x % 600) as usize;
        let mut m = Vec::with_capacity(len);
        for _ in 0..len {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            m.push((x >> 16) as u8);
        }
        let _ = parse_reply(&m, 3, NAME);
    }
}

/// Regression: a chain of compression pointers, each to the one before,
/// made every record that names its end cost the whole chain, so one
/// 64 KiB reply cost ~10^7 steps. Names now follow at most 127 pointers.
#[test]
fn long_pointer_chains_are_refused() {
    // The chain sits in the data of a record of another type (skipped):
    // a name "a", then 200 pointers, each to the one before.
    let start = reply(3, NAME, 0x8180, &[]).len() + 2 + 10;
    let mut chain = b"\x01a\x00".to_vec();
    let mut target = start;
    for _ in 0..200 {
        let here = start + chain.len();
        chain.extend_from_slice(&[0xC0 | (target >> 8) as u8, target as u8]);
        target = here;
    }
    const TYPE_TXT: u16 = 16;
    let holder = rr(&[0xC0, 12], TYPE_TXT, &chain);
    // Then a record whose owner is the end of the chain.
    let owner = [0xC0 | (target >> 8) as u8, target as u8];
    let m = reply(3, NAME, 0x8180, &[holder, rr(&owner, TYPE_CNAME, b"\x00")]);
    match parse_reply(&m, 3, NAME) {
        Err(Parse::Malformed(why)) => assert!(why.contains("pointers"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// Regression: the TCP fallback's timeout was per read, so a server
/// sending a byte now and then held the lookup for hours.
#[test]
fn a_trickling_tcp_server_is_cut_off_at_the_deadline() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        // A length of 65535, then a byte every 100 ms for at most 10 s.
        let _ = c.write_all(&[0xFF, 0xFF]);
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(100));
            if c.write_all(b"x").is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let got = tcp_exchange(addr, &build_query(1, NAME).unwrap(), Duration::from_secs(1));
    assert!(got.is_err());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn queries_refuse_bad_names() {
    assert!(build_query(1, "a..b").is_err());
    assert!(build_query(1, &"x".repeat(64)).is_err());
    assert!(build_query(1, "").is_err());
    let q = build_query(0xABCD, "_imaps._tcp.example.org.").unwrap();
    assert_eq!(&q[..4], &[0xAB, 0xCD, 0x01, 0x00]);
}

#[test]
fn resolv_conf_gives_nameservers() {
    let r = Resolver::from_resolv_conf(
        "# comment\nsearch x\nnameserver 192.0.2.1\nnameserver ::1\nnameserver fe80::1%eth0\n\
         nameserver 192.0.2.2\nnameserver 192.0.2.3\n",
        Duration::from_secs(1),
    );
    assert_eq!(
        r.servers,
        vec![
            "192.0.2.1:53".parse().unwrap(),
            "[::1]:53".parse().unwrap(),
            "192.0.2.2:53".parse().unwrap()
        ]
    );
    let r = Resolver::from_resolv_conf("", Duration::from_secs(1));
    assert_eq!(r.servers, vec!["127.0.0.1:53".parse().unwrap()]);
}

fn rec(priority: u16, weight: u16, target: &str) -> SrvRecord {
    SrvRecord {
        priority,
        weight,
        port: 1,
        target: target.into(),
    }
}

#[test]
fn order_is_by_priority_then_weight() {
    let records = vec![
        rec(20, 0, "c"),
        rec(10, 1, "b1"),
        rec(10, 0, "a"),
        rec(10, 99, "b99"),
    ];
    let targets = |v: Vec<SrvRecord>| v.into_iter().map(|r| r.target).collect::<Vec<_>>();
    // The lowest pick takes weight-0 records first; the highest the heaviest.
    assert_eq!(
        targets(order(records.clone(), &mut |_| 0)),
        ["a", "b1", "b99", "c"]
    );
    assert_eq!(
        targets(order(records.clone(), &mut |t| t)),
        ["b99", "b1", "a", "c"]
    );
    // With a uniform pick, the weight-99 record comes first about 99% of the time.
    let mut x: u64 = 1;
    let mut first = 0;
    for _ in 0..1000 {
        let o = order(records.clone(), &mut |t| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) % (t as u64 + 1)) as u32
        });
        first += (o[0].target == "b99") as u32;
        assert_eq!(o[3].target, "c");
    }
    assert!((950..=1000).contains(&first), "{first}");
}

struct Table(HashMap<String, Result<Answer, String>>);
impl Lookup for Table {
    fn srv(&self, name: &str) -> Result<Answer, String> {
        self.0.get(name).cloned().unwrap_or(Ok(Answer::NoRecords))
    }
}

fn table(entries: &[(&str, Result<Answer, String>)]) -> Table {
    Table(
        entries
            .iter()
            .map(|(n, a)| (n.to_string(), a.clone()))
            .collect(),
    )
}

fn srv_at(prio: u16, target: &str, port: u16) -> SrvRecord {
    SrvRecord {
        priority: prio,
        weight: 0,
        port,
        target: target.into(),
    }
}

#[test]
fn discovery_prefers_implicit_tls_and_skips_declined_services() {
    let t = table(&[
        (
            "_submissions._tcp.example.org",
            Ok(Answer::Records(vec![
                srv_at(20, "b.example.org", 465),
                srv_at(10, "a.example.org", 465),
            ])),
        ),
        (
            "_submission._tcp.example.org",
            Ok(Answer::Records(vec![srv_at(0, "example.org", 587)])),
        ),
        (
            "_imaps._tcp.example.org",
            Ok(Answer::Records(vec![srv_at(0, ".", 0)])),
        ),
        (
            "_imap._tcp.example.org",
            Ok(Answer::Records(vec![srv_at(0, "imap.example.org", 143)])),
        ),
        (
            "_pop3s._tcp.example.org",
            Ok(Answer::Records(vec![srv_at(0, "pop.elsewhere.net", 995)])),
        ),
    ]);
    let urls = |p| {
        discover(&t, "Example.ORG.", p, &mut |_| 0)
            .map(|v| v.iter().map(|e| e.to_string()).collect::<Vec<_>>())
    };
    assert_eq!(
        urls(Protocol::Smtp).unwrap(),
        [
            "smtps://a.example.org:465",
            "smtps://b.example.org:465",
            "smtp://example.org:587"
        ]
    );
    assert_eq!(
        urls(Protocol::Imap).unwrap(),
        ["imap://imap.example.org:143"]
    );
    let err = urls(Protocol::Pop3).unwrap_err();
    let (exit, hint) = crate::error::classify(&err);
    assert_eq!(exit, Exit::Unavailable);
    let text = crate::error::single_line(&err);
    assert!(
        text.contains("pop.elsewhere.net") && text.contains("outside"),
        "{text}"
    );
    assert!(hint.unwrap().contains("--pop3"));
}

#[test]
fn discovery_errors_name_the_domain_and_the_lookups() {
    let declined = table(&[
        (
            "_imaps._tcp.example.org",
            Ok(Answer::Records(vec![srv_at(0, ".", 0)])),
        ),
        (
            "_imap._tcp.example.org",
            Ok(Answer::Records(vec![srv_at(0, ".", 0)])),
        ),
    ]);
    let text = crate::error::single_line(
        &discover(&declined, "example.org", Protocol::Imap, &mut |_| 0).unwrap_err(),
    );
    assert!(text.contains("offers no IMAP service"), "{text}");
    let none = table(&[]);
    let err = discover(&none, "example.org", Protocol::Smtp, &mut |_| 0).unwrap_err();
    let text = crate::error::single_line(&err);
    assert!(
        text.contains("_submissions._tcp.example.org")
            && text.contains("_submission._tcp.example.org"),
        "{text}"
    );
    let broken = table(&[(
        "_pop3s._tcp.example.org",
        Err("127.0.0.1:53: timed out".into()),
    )]);
    let err = discover(&broken, "example.org", Protocol::Pop3, &mut |_| 0).unwrap_err();
    assert_eq!(crate::error::classify(&err).0, Exit::TempFail);
    assert!(crate::error::single_line(&err).contains("_pop3s._tcp.example.org"));
}
