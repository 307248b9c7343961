//! Server discovery from DNS SRV records (RFC 6186, RFC 8314) for accounts
//! that name only a mail domain, with a small stub resolver.
//!
//! The resolver is hand-written rather than a crate: every maintained Rust
//! resolver brings an async runtime, and sealpost needs one question type
//! (SRV) asked of the nameservers in /etc/resolv.conf. It sends one UDP
//! query at a time, checks the reply's ID, flags and question before
//! believing it (so a stray or forged datagram is ignored, not parsed),
//! retries over TCP when the reply is truncated, and bounds every size and
//! loop, so garbage from the network is an error and never a panic.
//!
//! Discovery turns records into [`Endpoint`]s for the existing failover:
//! implicit TLS services (`_submissions`, `_imaps`, `_pop3s`) first, then the
//! STARTTLS ones, each ordered by priority and weight (RFC 2782).
//!
//! NOTE: an SRV answer is not authenticated (no DNSSEC here), so whoever can
//! forge DNS answers chooses the host sealpost connects to, and the TLS
//! check is made against that host's name. RFC 6186 §6 and RFC 7817 §3
//! therefore let a client trust a target only if it is the mail domain
//! itself, or if the user confirmed it. sealpost accepts targets that are
//! the domain or inside it; any other target is refused with a hint to name
//! it explicitly (which is the user's confirmation).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::error::{fail, fail_hint, Exit};
use crate::store::account::{Endpoint, Protocol, Security};

/// One SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Lower case, without the final dot; "." (the root) means "not offered".
    pub target: String,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Records(Vec<SrvRecord>),
    /// NXDOMAIN, or the name exists without SRV records.
    NoRecords,
}

/// Anything that answers SRV questions: the network resolver, or a table in tests.
pub trait Lookup {
    /// SRV records at `name`; an error when no nameserver gave an answer.
    fn srv(&self, name: &str) -> Result<Answer, String>;
}

/// A stub resolver asking the given nameservers in order.
#[derive(Debug, Clone)]
pub struct Resolver {
    pub servers: Vec<SocketAddr>,
    /// Per nameserver and attempt.
    pub timeout: Duration,
}

/// DNS message limits: a UDP reply without EDNS is at most 512 bytes; a TCP
/// reply is at most 65535 by its length prefix.
const UDP_MAX: usize = 512;
/// Compression pointers followed at most in one name: a name has at most
/// 127 labels, and a real answer points once or twice per name.
const MAX_POINTER_HOPS: usize = 127;
const TYPE_SRV: u16 = 33;
const TYPE_CNAME: u16 = 5;
const CLASS_IN: u16 = 1;

impl Resolver {
    /// The nameservers of a resolv.conf text (at most three, as libc); the
    /// loopback resolver when it names none, as libc does.
    pub fn from_resolv_conf(text: &str, timeout: Duration) -> Resolver {
        let mut servers: Vec<SocketAddr> = text
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some("nameserver")).then(|| words.next())?
            })
            // A scoped IPv6 address (fe80::1%eth0) is not an IpAddr: skip it.
            .filter_map(|w| w.parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .take(3)
            .collect();
        if servers.is_empty() {
            servers.push(SocketAddr::from(([127, 0, 0, 1], 53)));
        }
        Resolver { servers, timeout }
    }

    /// The system's nameservers, from /etc/resolv.conf.
    pub fn system(timeout: Duration) -> Resolver {
        let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        Resolver::from_resolv_conf(&text, timeout)
    }

    fn ask(&self, server: SocketAddr, name: &str) -> Result<Answer, String> {
        let id: u16 = rand::random();
        let query = build_query(id, name)?;
        let reply = udp_exchange(server, &query, id, name, self.timeout)?;
        let reply = match parse_reply(&reply, id, name) {
            Err(Parse::Truncated) => {
                let reply = tcp_exchange(server, &query, self.timeout)?;
                parse_reply(&reply, id, name)
            }
            other => other,
        };
        reply.map_err(|e| e.to_string())
    }
}

impl Lookup for Resolver {
    fn srv(&self, name: &str) -> Result<Answer, String> {
        let mut why = Vec::new();
        for &server in &self.servers {
            // Two tries per server: a lost datagram is common; a dead server
            // costs 2 × timeout.
            for _ in 0..2 {
                match self.ask(server, name) {
                    Ok(a) => return Ok(a),
                    Err(e) => {
                        let retry = e.contains("timed out") || e.contains("would block");
                        let line = format!("{server}: {e}");
                        if !why.contains(&line) {
                            why.push(line);
                        }
                        if !retry {
                            break;
                        }
                    }
                }
            }
        }
        Err(why.join("; "))
    }
}

fn udp_exchange(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &str,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    // connect(2): the kernel drops datagrams from any other address.
    sock.connect(server).map_err(|e| e.to_string())?;
    sock.send(query).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; UDP_MAX * 2];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timed out".into());
        }
        sock.set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if timed_out(&e) => return Err("timed out".into()),
            Err(e) => return Err(e.to_string()),
        };
        // A datagram for another query (a late answer to an earlier try, or
        // a forgery) is skipped; only ours is parsed for real.
        if matches_query(&buf[..n], id, name) {
            return Ok(buf[..n].to_vec());
        }
    }
}

/// Whether a read failed for its timeout (reported as either kind).
fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// One query over TCP. `timeout` bounds the whole exchange, not each read:
/// a server trickling its reply a byte at a time is cut off at the deadline.
fn tcp_exchange(server: SocketAddr, query: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let mut s = TcpStream::connect_timeout(&server, timeout).map_err(|e| format!("TCP: {e}"))?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    s.write_all(&framed).map_err(|e| format!("TCP: {e}"))?;
    let mut len = [0u8; 2];
    read_by(&mut s, &mut len, deadline)?;
    let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
    read_by(&mut s, &mut reply, deadline)?;
    Ok(reply)
}

/// Fills `buf` from `s` before `deadline`.
fn read_by(s: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> Result<(), String> {
    let mut got = 0;
    while got < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("TCP: timed out".into());
        }
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.read(&mut buf[got..]) {
            Ok(0) => return Err("TCP: the server closed the connection".into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if timed_out(&e) => return Err("TCP: timed out".into()),
            Err(e) => return Err(format!("TCP: {e}")),
        }
    }
    Ok(())
}

/// A query for the SRV records of `name`, recursion desired.
pub fn build_query(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    encode_name(&mut q, name)?;
    q.extend_from_slice(&TYPE_SRV.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(q)
}

fn encode_name(out: &mut Vec<u8>, name: &str) -> Result<(), String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Err(format!("{name:?} is not a domain name"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 || !label.is_ascii() {
            return Err(format!("{name:?} is not a domain name"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

/// Why a reply was not usable.
#[derive(Debug, PartialEq, Eq)]
pub enum Parse {
    /// TC set: ask again over TCP.
    Truncated,
    /// The server answered with an error (SERVFAIL, REFUSED, …).
    Rcode(u8),
    /// Not a well-formed reply to our question.
    Malformed(&'static str),
}

impl std::fmt::Display for Parse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Parse::Truncated => write!(f, "truncated reply"),
            Parse::Rcode(2) => write!(f, "the server failed (SERVFAIL)"),
            Parse::Rcode(5) => write!(f, "the server refused the query (REFUSED)"),
            Parse::Rcode(c) => write!(f, "the server answered with error code {c}"),
            Parse::Malformed(why) => write!(f, "malformed reply: {why}"),
        }
    }
}

/// A reader over a DNS message that never reads past its end.
struct Cursor<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Parse> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.msg.len())
            .ok_or(Parse::Malformed("cut short"))?;
        let s = &self.msg[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, Parse> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A possibly compressed name, lower case without the final dot ("."
    /// for the root).
    fn name(&mut self) -> Result<String, Parse> {
        let mut labels: Vec<String> = Vec::new();
        let mut pos = self.pos;
        // Each pointer must go strictly before the last place jumped to (or
        // the name's start), so the walk ends even on a crafted message.
        let mut limit = pos;
        let mut resume = None;
        let mut total = 0usize;
        let mut hops = 0;
        loop {
            let len = *self.msg.get(pos).ok_or(Parse::Malformed("cut short"))? as usize;
            match len & 0xC0 {
                0x00 => {
                    if len == 0 {
                        pos += 1;
                        break;
                    }
                    let label = self
                        .msg
                        .get(pos + 1..pos + 1 + len)
                        .ok_or(Parse::Malformed("cut short"))?;
                    total += len + 1;
                    if total > 255 {
                        return Err(Parse::Malformed("name too long"));
                    }
                    labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
                    pos += 1 + len;
                }
                0xC0 => {
                    let low = *self.msg.get(pos + 1).ok_or(Parse::Malformed("cut short"))?;
                    let target = ((len & 0x3F) << 8) | low as usize;
                    if target >= limit {
                        return Err(Parse::Malformed("compression pointer loops"));
                    }
                    // Pointers only going backwards end the walk, but a
                    // chain of them read again for every record would make
                    // parsing quadratic; a real name needs a few.
                    hops += 1;
                    if hops > MAX_POINTER_HOPS {
                        return Err(Parse::Malformed("too many compression pointers in a name"));
                    }
                    resume.get_or_insert(pos + 2);
                    pos = target;
                    limit = target;
                }
                _ => return Err(Parse::Malformed("unknown label type")),
            }
        }
        self.pos = resume.unwrap_or(pos);
        Ok(if labels.is_empty() {
            ".".into()
        } else {
            labels.join(".")
        })
    }
}

fn canonical(name: &str) -> String {
    let n = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if n.is_empty() {
        ".".into()
    } else {
        n
    }
}

/// Whether `msg` claims to answer our query: the ID, the QR bit and the
/// question (one, our name, SRV, IN).
fn matches_query(msg: &[u8], id: u16, name: &str) -> bool {
    let mut c = Cursor { msg, pos: 0 };
    let head = (|| -> Result<bool, Parse> {
        let got_id = c.u16()?;
        let flags = c.u16()?;
        let qd = c.u16()?;
        c.take(6)?;
        if got_id != id || flags & 0x8000 == 0 || qd != 1 {
            return Ok(false);
        }
        let qname = c.name()?;
        Ok(qname == canonical(name) && c.u16()? == TYPE_SRV && c.u16()? == CLASS_IN)
    })();
    head.unwrap_or(false)
}

/// Parses a reply to [`build_query`]`(id, name)`: the SRV records at `name`
/// (following CNAMEs within the answer).
pub fn parse_reply(msg: &[u8], id: u16, name: &str) -> Result<Answer, Parse> {
    if !matches_query(msg, id, name) {
        return Err(Parse::Malformed("not an answer to the question asked"));
    }
    let mut c = Cursor { msg, pos: 2 };
    let flags = c.u16()?;
    if flags & 0x7800 != 0 {
        return Err(Parse::Malformed("unexpected opcode"));
    }
    if flags & 0x0200 != 0 {
        return Err(Parse::Truncated);
    }
    match (flags & 0x000F) as u8 {
        0 => {}
        3 => return Ok(Answer::NoRecords),
        code => return Err(Parse::Rcode(code)),
    }
    c.take(2)?;
    let ancount = c.u16()?;
    c.take(4)?;
    c.name()?;
    c.take(4)?;
    let mut srv = Vec::new();
    let mut cnames = Vec::new();
    for _ in 0..ancount {
        let owner = c.name()?;
        let rtype = c.u16()?;
        let class = c.u16()?;
        c.take(4)?;
        let rdlen = c.u16()? as usize;
        let start = c.pos;
        let end = start + rdlen;
        if end > msg.len() {
            return Err(Parse::Malformed("record data cut short"));
        }
        if class == CLASS_IN && rtype == TYPE_SRV {
            let priority = c.u16()?;
            let weight = c.u16()?;
            let port = c.u16()?;
            let target = c.name()?;
            if c.pos != end {
                return Err(Parse::Malformed("SRV record of the wrong length"));
            }
            srv.push((
                owner,
                SrvRecord {
                    priority,
                    weight,
                    port,
                    target,
                },
            ));
        } else if class == CLASS_IN && rtype == TYPE_CNAME {
            let alias = c.name()?;
            cnames.push((owner, alias));
        }
        c.pos = end;
    }
    // The records of the name asked, or of what it is an alias of.
    let mut owner = canonical(name);
    for _ in 0..8 {
        match cnames.iter().find(|(o, _)| *o == owner) {
            Some((_, alias)) => owner = alias.clone(),
            None => break,
        }
    }
    let records: Vec<SrvRecord> = srv
        .into_iter()
        .filter(|(o, _)| *o == owner)
        .map(|(_, r)| r)
        .collect();
    Ok(if records.is_empty() {
        Answer::NoRecords
    } else {
        Answer::Records(records)
    })
}

/// Orders records for use (RFC 2782): by priority, and within a priority by
/// a weighted random choice, `pick(total)` giving a number in 0..=total.
pub fn order(mut records: Vec<SrvRecord>, pick: &mut dyn FnMut(u32) -> u32) -> Vec<SrvRecord> {
    records.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let prio = records[0].priority;
        let n = records.iter().take_while(|r| r.priority == prio).count();
        let mut group: Vec<SrvRecord> = records.drain(..n).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| r.weight as u32).sum();
            let chosen = pick(total).min(total);
            let mut running = 0;
            let i = group
                .iter()
                .position(|r| {
                    running += r.weight as u32;
                    running >= chosen
                })
                .unwrap_or(0);
            out.push(group.remove(i));
        }
    }
    out
}

/// The SRV services for a protocol, implicit TLS first (RFC 8314 §5.1).
pub fn services(protocol: Protocol) -> [(&'static str, Security); 2] {
    match protocol {
        Protocol::Smtp => [
            ("_submissions", Security::Tls),
            ("_submission", Security::StartTls),
        ],
        Protocol::Imap => [("_imaps", Security::Tls), ("_imap", Security::StartTls)],
        Protocol::Pop3 => [("_pop3s", Security::Tls), ("_pop3", Security::StartTls)],
    }
}

/// Whether `host` is `domain` or a name inside it.
fn within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The servers `domain` publishes for `protocol`, in the order to try them.
/// Errors name the domain and the names looked up: [`Exit::TempFail`] when
/// DNS gave no answer, [`Exit::Unavailable`] when the domain publishes no
/// usable server.
pub fn discover(
    lookup: &dyn Lookup,
    domain: &str,
    protocol: Protocol,
    pick: &mut dyn FnMut(u32) -> u32,
) -> anyhow::Result<Vec<Endpoint>> {
    let domain = canonical(domain);
    let what = match protocol {
        Protocol::Smtp => "submission",
        Protocol::Imap => "IMAP",
        Protocol::Pop3 => "POP3",
    };
    let names: Vec<String> = services(protocol)
        .iter()
        .map(|(s, _)| format!("{s}._tcp.{domain}"))
        .collect();
    let mut endpoints = Vec::new();
    let mut outside = Vec::new();
    let mut declined = 0;
    for ((_, security), name) in services(protocol).iter().zip(&names) {
        let records = match lookup.srv(name) {
            Ok(Answer::Records(r)) => r,
            Ok(Answer::NoRecords) => continue,
            Err(why) => {
                return Err(fail_hint(
                    Exit::TempFail,
                    format!("cannot look up the SRV records of {name}: {why}"),
                    "check the network and /etc/resolv.conf (or SEALPOST_DNS_SERVER)",
                ))
            }
        };
        // RFC 2782: a single record with target "." means "decidedly not here".
        if records.iter().any(|r| r.target == ".") {
            declined += 1;
            continue;
        }
        for r in order(records, pick) {
            if r.port == 0 {
                continue;
            }
            if !within(&r.target, &domain) {
                outside.push(format!("{name} → {}:{}", r.target, r.port));
                continue;
            }
            endpoints.push(Endpoint {
                protocol,
                security: *security,
                host: r.target,
                port: r.port,
            });
        }
    }
    if !endpoints.is_empty() {
        return Ok(endpoints);
    }
    if !outside.is_empty() {
        return Err(fail_hint(
            Exit::Unavailable,
            format!(
                "the {what} servers {domain} names in DNS are outside {domain} ({}): \
                 not trusted without DNSSEC",
                outside.join(", ")
            ),
            format!(
                "if they are right, name them with `sealpost account add --replace … --{} URL`",
                protocol.name()
            ),
        ));
    }
    if declined > 0 {
        return Err(fail(
            Exit::Unavailable,
            format!(
                "{domain} offers no {what} service: its SRV records at {} say so (target \".\")",
                names.join(" and ")
            ),
        ));
    }
    Err(fail_hint(
        Exit::Unavailable,
        format!(
            "{domain} publishes no {what} server: no SRV record at {}",
            names.join(" or ")
        ),
        format!(
            "give the servers with `sealpost account add --replace … --{} URL`",
            protocol.name()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
}
