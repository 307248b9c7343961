//! The stub resolver: the nameservers of /etc/resolv.conf, asked in order,
//! one UDP query at a time (a reply that is not ours is skipped, not
//! parsed), again over TCP when the reply is truncated, each exchange within
//! its deadline.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use super::wire::{build_query, matches_query, parse_reply, Parse, UDP_MAX};
use super::{Answer, Lookup};

/// A stub resolver asking the given nameservers in order.
#[derive(Debug, Clone)]
pub struct Resolver {
    pub servers: Vec<SocketAddr>,
    /// Per nameserver and attempt.
    pub timeout: Duration,
}

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
pub(super) fn tcp_exchange(
    server: SocketAddr,
    query: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, String> {
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
