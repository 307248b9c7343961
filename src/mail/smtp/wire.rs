//! The client side of the SMTP wire: replies read within bounds, commands
//! written, the message dot-stuffed, STARTTLS, AUTH PLAIN/LOGIN.
//!
//! NOTE: lettre's `SmtpConnection` (0.11) reads a reply line with
//! `BufRead::read_line`, which grows its buffer until a newline comes; the
//! length is checked only once the line is complete, so a server sending one
//! endless line exhausts memory. Its stream type cannot be built outside
//! lettre, so nothing can be put between it and the socket. Hence this
//! module, on the connection type IMAP and POP3 use ([`Conn`]): every line
//! is at most [`MAX_REPLY_LINE`] bytes and a reply at most
//! [`MAX_REPLY_LINES`] lines, read as it comes; before STARTTLS nothing but
//! the greeting, the EHLO reply and the STARTTLS reply is read, and data
//! the server sent before the handshake is refused ([`Conn::upgrade`]).
//! lettre still formats the commands and checks addresses.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::mail::tls::{self, Conn, TlsSetup};
use crate::store::account::{Endpoint, Security};

/// Longest reply line accepted, CRLF included (RFC 5321 §4.5.3.1.5 says
/// 512; Postfix accepts 2048).
pub const MAX_REPLY_LINE: usize = 2048;

/// Lines at most in one reply (an EHLO reply has a dozen).
pub const MAX_REPLY_LINES: usize = 100;

/// One reply: its code and its lines' text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// The reply on one line: the code and the text.
    pub fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" "))
    }

    /// Whether an EHLO reply lists `keyword` (the first word of a line
    /// after the first).
    pub fn offers(&self, keyword: &str) -> bool {
        self.keyword_line(keyword).is_some()
    }

    /// The parameters of an EHLO keyword (`AUTH PLAIN LOGIN` → PLAIN, LOGIN).
    pub fn keyword_line(&self, keyword: &str) -> Option<Vec<String>> {
        self.lines.iter().skip(1).find_map(|line| {
            let mut words = line.split_whitespace();
            words
                .next()
                .filter(|k| k.eq_ignore_ascii_case(keyword))
                .map(|_| words.map(str::to_ascii_uppercase).collect())
        })
    }
}

/// Why a command did not get a positive reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The server answered 4xx or 5xx.
    Negative(Reply),
    /// The connection broke, timed out, or the server sent something that is
    /// not a reply or exceeds the limits; the session is unusable.
    Wire(String),
}

impl Error {
    /// A 4xx reply: the same command may work later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Negative(r) if (400..500).contains(&r.code))
    }

    /// A 5xx reply.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Error::Negative(r) if r.code >= 500)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Negative(r) => f.write_str(&printable(&r.text())),
            Error::Wire(why) => f.write_str(why),
        }
    }
}

/// Text from the server, safe to show: no control characters, bounded.
pub(crate) fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(300).collect()
}

/// A reply, or why there is none.
pub type Result<T> = std::result::Result<T, Error>;

fn wire(e: impl fmt::Display) -> Error {
    Error::Wire(e.to_string())
}

/// An SMTP connection: past the greeting and EHLO, with TLS when asked.
pub struct Connection {
    conn: Option<Conn>,
    ehlo: Reply,
}

impl Connection {
    /// Connects to `endpoint`, reads the greeting and sends EHLO; with
    /// [`Security::StartTls`] also STARTTLS (required: refused when not
    /// offered) and EHLO again over TLS.
    pub fn connect(
        endpoint: &Endpoint,
        tls: &TlsSetup,
        timeout: Duration,
        hello: &str,
    ) -> anyhow::Result<Connection> {
        let mut c = Connection {
            conn: Some(tls::open(endpoint, tls, timeout)?),
            ehlo: Reply {
                code: 0,
                lines: Vec::new(),
            },
        };
        c.read_reply()
            .map_err(|e| anyhow::anyhow!("greeting: {e}"))?;
        c.hello(hello)?;
        if endpoint.security == Security::StartTls {
            if !c.ehlo.offers("STARTTLS") {
                c.abort();
                anyhow::bail!("the server does not offer STARTTLS, which is required");
            }
            c.command("STARTTLS\r\n")
                .map_err(|e| anyhow::anyhow!("STARTTLS: {e}"))?;
            let plain = c.conn.take().expect("open until aborted");
            c.conn = Some(
                plain
                    .upgrade(tls, &endpoint.host)
                    .map_err(|e| anyhow::anyhow!("STARTTLS: {e}"))?,
            );
            c.hello(hello)?;
        }
        Ok(c)
    }

    fn hello(&mut self, hello: &str) -> anyhow::Result<()> {
        self.ehlo = self
            .command(&format!("EHLO {hello}\r\n"))
            .map_err(|e| anyhow::anyhow!("EHLO: {e}"))?;
        Ok(())
    }

    /// The last EHLO reply.
    pub fn ehlo(&self) -> &Reply {
        &self.ehlo
    }

    fn conn(&mut self) -> Result<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| Error::Wire("the connection was closed".into()))
    }

    /// Writes `text` (one or more commands, CRLF included) in one write and
    /// reads one reply.
    pub fn command(&mut self, text: &str) -> Result<Reply> {
        self.send(text.as_bytes())?;
        self.read_reply()
    }

    fn send(&mut self, data: &[u8]) -> Result<()> {
        let sent = self.conn()?.send(data);
        sent.map_err(|e| {
            self.conn = None;
            wire(e)
        })
    }

    /// Reads one reply: positive, or [`Error::Negative`]. Lines beyond
    /// [`MAX_REPLY_LINE`] bytes or replies beyond [`MAX_REPLY_LINES`] lines
    /// end the session with [`Error::Wire`].
    pub fn read_reply(&mut self) -> Result<Reply> {
        let reply = read_reply(self.conn()?);
        match reply {
            Err(e) => {
                self.conn = None;
                Err(e)
            }
            Ok(r) if r.is_positive() => Ok(r),
            Ok(r) => Err(Error::Negative(r)),
        }
    }

    /// Sends the message after DATA's 354: dot-stuffed, then CRLF "." CRLF
    /// (as lettre did), and reads the verdict.
    pub fn message(&mut self, data: &[u8]) -> Result<Reply> {
        let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 8);
        dot_stuff(data, &mut out);
        out.extend_from_slice(b"\r\n.\r\n");
        self.send(&out)?;
        self.read_reply()
    }

    /// Logs in with PLAIN or LOGIN, whichever the server offers (PLAIN first).
    pub fn auth(&mut self, user: &str, password: &str) -> Result<Reply> {
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let offered = self.ehlo.keyword_line("AUTH").unwrap_or_default();
        if offered.iter().any(|m| m == "PLAIN") {
            let mut token = Zeroizing::new(Vec::with_capacity(user.len() + password.len() + 2));
            token.push(0);
            token.extend_from_slice(user.as_bytes());
            token.push(0);
            token.extend_from_slice(password.as_bytes());
            let line = Zeroizing::new(format!("AUTH PLAIN {}\r\n", b64(&token)));
            return self.command(&line);
        }
        if offered.iter().any(|m| m == "LOGIN") {
            let first = self.command("AUTH LOGIN\r\n")?;
            if first.code != 334 {
                return Err(Error::Wire(format!(
                    "unexpected reply to AUTH LOGIN: {}",
                    printable(&first.text())
                )));
            }
            let second = self.command(&format!("{}\r\n", b64(user.as_bytes())))?;
            if second.code != 334 {
                return Err(Error::Wire(format!(
                    "unexpected reply to the AUTH LOGIN user: {}",
                    printable(&second.text())
                )));
            }
            let line = Zeroizing::new(format!("{}\r\n", b64(password.as_bytes())));
            return self.command(&line);
        }
        Err(Error::Wire(
            "the server offers no login mechanism sealpost knows (PLAIN, LOGIN)".into(),
        ))
    }

    /// QUIT, and the connection closed.
    pub fn quit(&mut self) -> Result<Reply> {
        let r = self.command("QUIT\r\n");
        self.conn = None;
        r
    }

    /// Closes the connection after a polite QUIT whose reply is not awaited.
    pub fn abort(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            let _ = c.send(b"QUIT\r\n");
        }
        self.conn = None;
    }
}

/// Reads one reply from `conn`, within the bounds of the module.
fn read_reply(conn: &mut Conn) -> Result<Reply> {
    let mut lines = Vec::new();
    let mut code = None;
    for _ in 0..MAX_REPLY_LINES {
        let line = conn.read_line_within(MAX_REPLY_LINE).map_err(|e| {
            Error::Wire(if e.kind() == std::io::ErrorKind::InvalidData {
                format!("the server sent a reply line of more than {MAX_REPLY_LINE} bytes")
            } else {
                e.to_string()
            })
        })?;
        let text = String::from_utf8_lossy(&line);
        let not_a_reply = || Error::Wire(format!("not an SMTP reply: {:?}", printable(&text)));
        let digits = text.get(..3).ok_or_else(not_a_reply)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) || !(b'2'..=b'5').contains(&line[0]) {
            return Err(not_a_reply());
        }
        let this: u16 = digits.parse().map_err(|_| not_a_reply())?;
        if *code.get_or_insert(this) != this {
            return Err(Error::Wire(format!(
                "a reply whose lines have different codes: {:?}",
                printable(&text)
            )));
        }
        let (last, rest) = match line.get(3) {
            None => (true, ""),
            Some(b' ') => (true, &text[4..]),
            Some(b'-') => (false, &text[4..]),
            Some(_) => return Err(not_a_reply()),
        };
        lines.push(rest.to_string());
        if last {
            return Ok(Reply { code: this, lines });
        }
    }
    Err(Error::Wire(format!(
        "the server sent a reply of more than {MAX_REPLY_LINES} lines"
    )))
}

/// Dot-stuffing (RFC 5321 §4.5.2): a "." at the start of a line is doubled.
/// A line starts after CR LF and at the start of the data.
fn dot_stuff(data: &[u8], out: &mut Vec<u8>) {
    let mut line_start = true;
    let mut after_cr = false;
    for &b in data {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = after_cr && b == b'\n';
        after_cr = b == b'\r';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_doubles_leading_dots_only() {
        let mut out = Vec::new();
        dot_stuff(b".a\r\nb.\r\n.\r\n..x\n.y", &mut out);
        assert_eq!(out, b"..a\r\nb.\r\n..\r\n...x\n.y");
    }

    /// What `read_reply` makes of `bytes` sent by a server on loopback.
    fn reply_to(bytes: &[u8]) -> Result<Reply> {
        use std::io::Write as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let bytes = bytes.to_vec();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let _ = s.write_all(&bytes);
        });
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut conn = Conn::new(tls::Stream::Plain(tcp));
        let got = read_reply(&mut conn);
        server.join().unwrap();
        got
    }

    #[test]
    fn replies_are_parsed_within_bounds() {
        let r = reply_to(b"250-mail.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n").unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.lines, ["mail.example.org", "PIPELINING", "8BITMIME"]);
        assert_eq!(reply_to(b"354\r\n").unwrap().lines, [""]);
        let wire_error = |bytes: &[u8], what: &str| match reply_to(bytes) {
            Err(Error::Wire(why)) => assert!(why.contains(what), "{why}"),
            other => panic!("{other:?}"),
        };
        wire_error(b"250-a\r\n251 b\r\n", "different codes");
        wire_error(b"hello\r\n", "not an SMTP reply");
        wire_error(b"650 x\r\n", "not an SMTP reply");
        wire_error(b"250_x\r\n", "not an SMTP reply");
        wire_error(b"25\r\n", "not an SMTP reply");
        wire_error(
            &b"250-x\r\n".repeat(MAX_REPLY_LINES + 1),
            "more than 100 lines",
        );
        let mut long = b"250 ".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_REPLY_LINE));
        wire_error(&long, "more than 2048 bytes");
        wire_error(b"250-cut short", "closed");
        // Arbitrary bytes: an answer or an error, never a panic.
        let mut x: u32 = 7;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..(x % 300))
                .map(|_| {
                    x = x.wrapping_mul(1103515245).wrapping_add(12345);
                    match x >> 29 {
                        0 => b'\n',
                        1 => b'2',
                        2 => b'-',
                        _ => (x >> 16) as u8,
                    }
                })
                .collect();
            let _ = reply_to(&bytes);
        }
    }

    #[test]
    fn ehlo_keywords_and_parameters() {
        let r = Reply {
            code: 250,
            lines: vec![
                "mail.example.org".into(),
                "PIPELINING".into(),
                "auth login Plain".into(),
            ],
        };
        assert!(r.offers("pipelining"));
        assert!(!r.offers("mail.example.org"));
        assert_eq!(r.keyword_line("AUTH").unwrap(), ["LOGIN", "PLAIN"]);
        assert_eq!(r.text(), "250 mail.example.org PIPELINING auth login Plain");
    }
}
