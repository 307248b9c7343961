//! Fetching CRLs from the distribution points a signer's path names, for
//! `--online` (issue #14): the only place sealpost contacts a host a
//! message chose, and only when the user asked. http:// and https:// (TLS
//! through [`super::tls`]); other schemes (ldap, file) are skipped with a
//! note. Every fetch is bounded: [`FETCH_TIMEOUT`] for connecting and the
//! whole response, [`MAX_CRL_BYTES`] per CRL (a larger Content-Length is
//! refused before anything is read, and the body is counted while read),
//! [`MAX_FETCHES`] per command; only `200 OK` counts, redirects are not
//! followed, no cookies or credentials are sent. A fetched CRL is used like
//! an imported one: the trust engine ([`crate::smime::trust`]) still
//! requires it to be signed by the certificate's issuer. A fetched CRL that
//! settled a verdict is kept in the keystore until its nextUpdate.
//!
//! May use: [`crate::error`], [`crate::smime`] (what to fetch, parsing a
//! CRL) and [`crate::store`] (the trust sources it adds to).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use crate::smime::certs::UnixTime;
use crate::smime::decrypt::SignatureOutcome;
use crate::smime::trust::{self, CrlInfo, Distrust, Revocation, Verdict};
use crate::store::keystore::{Keystore, TrustSources};

/// Connecting and reading the whole response, at most.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// One CRL's size, at most.
pub const MAX_CRL_BYTES: usize = 10 * 1024 * 1024;
/// Distribution points contacted by one command, at most.
pub const MAX_FETCHES: usize = 8;
/// The status line and headers of a response, at most.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What fetching found.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The URLs a CRL was fetched from.
    pub fetched: Vec<String>,
    /// One line per URL that gave nothing: which and why.
    pub failed: Vec<String>,
    /// The URLs whose CRL was kept in the keystore (new there).
    pub kept: Vec<String>,
}

/// Judges each signature as [`trust::judge_outcome`] does, after fetching
/// the CRLs that could settle the revocation of its path (see
/// [`trust::outcome_crl_urls`]) and adding those that parse to `sources`.
/// A verdict that a fetched CRL settled names its URLs
/// ([`Verdict::fetched_crls`]), and those CRLs are kept in `keep` (as `cert
/// crl import` would) when they have a nextUpdate still ahead, so that
/// later commands use them offline until then; a CRL that settled nothing
/// is not kept. Failing to keep one is a line in [`Fetched::failed`].
pub fn judge_online(
    signatures: &[SignatureOutcome],
    from: Option<&str>,
    sources: &mut TrustSources,
    keep: Option<&Keystore>,
    time: UnixTime,
) -> (Vec<Verdict>, Fetched) {
    let wanted: Vec<Vec<String>> = {
        let inputs = sources.inputs(time);
        signatures
            .iter()
            .map(|s| trust::outcome_crl_urls(s, &inputs))
            .collect()
    };
    let mut urls: Vec<String> = Vec::new();
    for url in wanted.iter().flatten() {
        if !urls.contains(url) {
            urls.push(url.clone());
        }
    }
    let (crls, mut report) = fetch_crls(&urls);
    sources.crls.extend(crls.iter().map(|c| c.der.clone()));
    let inputs = sources.inputs(time);
    let verdicts = signatures
        .iter()
        .zip(&wanted)
        .map(|(s, wanted)| {
            let mut verdict = trust::judge_outcome(s, from, &inputs);
            let settled = verdict.revocation() == Revocation::Checked
                || matches!(verdict.distrust(), Some(Distrust::Revoked { .. }));
            if settled {
                verdict.fetched_crls = wanted
                    .iter()
                    .filter(|u| report.fetched.contains(u))
                    .cloned()
                    .collect();
            }
            verdict
        })
        .collect::<Vec<Verdict>>();
    if let Some(ks) = keep {
        for (url, crl) in report.fetched.iter().zip(&crls) {
            let used = verdicts.iter().any(|v| v.fetched_crls.contains(url));
            if !used || crl.next_update.is_none_or(|next| next <= time) {
                continue;
            }
            match ks.add_crl(crl) {
                Ok(true) => report.kept.push(url.clone()),
                Ok(false) => {}
                Err(e) => report.failed.push(format!(
                    "could not keep the CRL from {} in the keystore: {}",
                    crate::error::printable(url),
                    crate::error::single_line(&e)
                )),
            }
        }
    }
    (verdicts, report)
}

/// Fetches a CRL from each of `urls` that is http or https, at most
/// [`MAX_FETCHES`] of them.
pub fn fetch_crls(urls: &[String]) -> (Vec<CrlInfo>, Fetched) {
    let mut crls = Vec::new();
    let mut report = Fetched::default();
    let mut tries = 0;
    for url in urls {
        let shown = crate::error::printable(url);
        let Some(target) = Target::parse(url) else {
            report.failed.push(format!(
                "CRL distribution point {shown} skipped: only http:// and https:// are fetched"
            ));
            continue;
        };
        if tries == MAX_FETCHES {
            report.failed.push(format!(
                "CRL distribution point {shown} skipped: at most {MAX_FETCHES} are fetched per command"
            ));
            continue;
        }
        tries += 1;
        let got = target
            .get(FETCH_TIMEOUT, MAX_CRL_BYTES)
            .and_then(|body| CrlInfo::parse(&body).map_err(|_| "the response is not a CRL".into()));
        match got {
            Ok(crl) => {
                report.fetched.push(url.clone());
                crls.push(crl);
            }
            Err(why) => report
                .failed
                .push(format!("could not fetch the CRL from {shown}: {why}")),
        }
    }
    (crls, report)
}

/// An http(s) URL taken apart.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// Path and query, starting with `/`.
    path: String,
}

impl Target {
    fn parse(url: &str) -> Option<Target> {
        let (scheme, rest) = url.split_once("://")?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return None,
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = path.split('#').next().unwrap_or("/");
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        // No credentials are sent, so a URL carrying some is refused.
        if authority.contains('@') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return None;
        }
        let default = if tls { 443 } else { 80 };
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']')?;
                match after.strip_prefix(':') {
                    Some(p) => (host, p.parse().ok()?),
                    None if after.is_empty() => (host, default),
                    None => return None,
                }
            }
            None => match authority.rsplit_once(':') {
                Some((host, p)) => (host, p.parse().ok()?),
                None => (authority, default),
            },
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
        {
            return None;
        }
        Some(Target {
            tls,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The body of a `200 OK` answer to a GET, within `timeout` for
    /// everything (connecting, TLS, the whole answer) and `max` bytes.
    fn get(&self, timeout: Duration, max: usize) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + timeout;
        let mut stream = Deadlined {
            sock: connect(&self.host, self.port, deadline)?,
            deadline,
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let request = format!(
            "GET {} HTTP/1.0\r\nHost: {host}\r\nAccept: application/pkix-crl\r\n\
             User-Agent: sealpost\r\nConnection: close\r\n\r\n",
            self.path
        );
        if !self.tls {
            return exchange(&mut stream, request.as_bytes(), max);
        }
        // The handshake runs inside the first write, each of its reads
        // under the same deadline.
        let setup =
            crate::mail::tls::TlsSetup::new(None).map_err(|e| crate::error::single_line(&e))?;
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| format!("invalid server name: {e}"))?;
        let conn = rustls::ClientConnection::new(setup.client_config(), name)
            .map_err(|e| format!("TLS: {e}"))?;
        exchange(
            &mut rustls::StreamOwned::new(conn, stream),
            request.as_bytes(),
            max,
        )
    }
}

/// A TCP connection to the first address of `host` that answers before
/// `deadline`. (Resolving the name is the system resolver's business and
/// not bounded here.)
fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, String> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host} has no address");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(sock) => return Ok(sock),
            Err(e) => last = format!("cannot connect: {e}"),
        }
    }
    Err(last)
}

/// A socket whose every read and write must end before one deadline: a
/// server that trickles cannot stretch a fetch.
struct Deadlined {
    sock: TcpStream,
    deadline: Instant,
}

impl Deadlined {
    fn arm(&self) -> std::io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        self.sock.set_read_timeout(Some(left))?;
        self.sock.set_write_timeout(Some(left))
    }
}

impl Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.sock.read(buf)
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.sock.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sock.flush()
    }
}

fn timed_out() -> String {
    format!(
        "no complete answer within {} seconds",
        FETCH_TIMEOUT.as_secs()
    )
}

/// An I/O error for people; a timeout says so.
fn io_error(e: &std::io::Error) -> String {
    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
        timed_out()
    } else {
        e.to_string()
    }
}

/// Sends `request` and reads the answer: the body of a 200, at most `max`
/// bytes.
fn exchange<S: Read + Write>(
    stream: &mut S,
    request: &[u8],
    max: usize,
) -> Result<Vec<u8>, String> {
    stream
        .write_all(request)
        .and_then(|()| stream.flush())
        .map_err(|e| io_error(&e))?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut head: Vec<u8> = Vec::new();
    let body_start = loop {
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err("the response headers are too long".into());
        }
        let n = read_some(stream, &mut buf)?;
        if n == 0 {
            return Err("the server closed the connection before answering".into());
        }
        head.extend_from_slice(&buf[..n]);
    };
    let mut body = head.split_off(body_start);
    let length = check_head(&head, max)?;
    if body.len() > max {
        return Err(too_large(max));
    }
    loop {
        if length.is_some_and(|l| body.len() >= l) {
            body.truncate(length.unwrap_or(body.len()));
            return Ok(body);
        }
        let n = read_some(stream, &mut buf)?;
        if n == 0 {
            return match length {
                Some(l) if body.len() < l => {
                    Err("the server closed the connection mid-answer".into())
                }
                _ => Ok(body),
            };
        }
        if body.len() + n > max {
            return Err(too_large(max));
        }
        body.extend_from_slice(&buf[..n]);
    }
}

fn too_large(max: usize) -> String {
    format!("the CRL is larger than {} MiB", max / (1024 * 1024))
}

/// One read; 0 at the end of the answer.
fn read_some<S: Read>(stream: &mut S, buf: &mut [u8]) -> Result<usize, String> {
    match stream.read(buf) {
        Ok(n) => Ok(n),
        // A TLS server that closes without close_notify: the CRL's own
        // signature and length show whether anything was cut.
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => Err(io_error(&e)),
    }
}

/// The status line and headers: `Ok(Content-Length)` for a 200 the
/// client can read.
fn check_head(head: &[u8], max: usize) -> Result<Option<usize>, String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or_default(), parts.next());
    if !version.starts_with("HTTP/1.") {
        return Err("the answer is not HTTP/1".into());
    }
    match code {
        Some("200") => {}
        Some(c) if c.starts_with('3') => {
            return Err(format!("HTTP status {c} (redirects are not followed)"))
        }
        Some(c) => {
            return Err(format!(
                "HTTP status {}",
                crate::error::printable(&c.chars().take(3).collect::<String>())
            ))
        }
        None => return Err("the answer has no status".into()),
    }
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let l: u64 = value
                .parse()
                .map_err(|_| "the answer has a malformed Content-Length".to_string())?;
            if l > max as u64 {
                return Err(too_large(max));
            }
            length = Some(usize::try_from(l).map_err(|_| too_large(max))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && !value.eq_ignore_ascii_case("identity")
        {
            return Err(format!(
                "unsupported Transfer-Encoding {}",
                crate::error::printable(value)
            ));
        }
    }
    Ok(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_taken_apart() {
        let t = Target::parse("http://127.0.0.1:8080/ca/crl.der").unwrap();
        assert_eq!(
            t,
            Target {
                tls: false,
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/ca/crl.der".into()
            }
        );
        let t = Target::parse("HTTPS://crl.example.org").unwrap();
        assert!(t.tls && t.port == 443 && t.path == "/");
        let t = Target::parse("http://[::1]:81/x?y#z").unwrap();
        assert!(t.host == "::1" && t.port == 81 && t.path == "/x?y");
        for bad in [
            "ldap://ldap.example.org/cn=CA?certificateRevocationList",
            "file:///etc/crl",
            "http://user:pw@host/crl",
            "http://host:99999/crl",
            "http://ho st/crl",
            "http:///crl",
        ] {
            assert_eq!(Target::parse(bad), None, "{bad}");
        }
    }

    /// A server on 127.0.0.1 that answers every connection with `first`,
    /// then one byte every 200 ms, forever.
    fn trickler(first: &'static [u8]) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = s.write_all(first);
                    while s.write_all(b"x").is_ok() {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                });
            }
        });
        port
    }

    #[test]
    fn a_trickling_server_cannot_stretch_a_fetch_past_its_deadline() {
        // Headers that never end, over http; a TLS handshake that never
        // ends, over https.
        for (tls, first) in [
            (false, &b"HTTP/1.0 200 OK\r\nX-Slow: "[..]),
            (true, &b"\x16\x03\x03\x40\x00"[..]),
        ] {
            let target = Target {
                tls,
                host: "127.0.0.1".into(),
                port: trickler(first),
                path: "/crl".into(),
            };
            let start = Instant::now();
            let err = target.get(Duration::from_secs(1), 1 << 20).unwrap_err();
            // Without the deadline the trickle never ends; the margin is for
            // a loaded machine (loading the system roots is inside it).
            assert!(start.elapsed() < Duration::from_secs(5), "tls {tls}: {err}");
            assert!(err.contains("no complete answer"), "tls {tls}: {err}");
        }
    }

    #[test]
    fn heads_judged() {
        let max = 100;
        assert_eq!(check_head(b"HTTP/1.1 200 OK\r\n", max), Ok(None));
        assert_eq!(
            check_head(b"HTTP/1.0 200 OK\r\nContent-Length: 42\r\n", max),
            Ok(Some(42))
        );
        assert!(
            check_head(b"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n", max)
                .unwrap_err()
                .contains("larger")
        );
        assert!(check_head(b"HTTP/1.1 302 Found\r\nLocation: x\r\n", max)
            .unwrap_err()
            .contains("redirects"));
        assert!(check_head(b"HTTP/1.1 404 Not Found\r\n", max)
            .unwrap_err()
            .contains("404"));
        assert!(check_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", max).is_err());
        assert!(check_head(b"SSH-2.0-x\r\n", max).is_err());
    }
}
