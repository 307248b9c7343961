//! Just enough HTTP/1.1 (RFC 9112) for the key release protocol: one JSON
//! body per request and response, framed by `Content-Length`, keep-alive.
//!
//! Both ends are ours, so chunked bodies, trailers and `Expect` are refused
//! rather than half-supported. Pipelined requests are answered in order
//! (RFC 9112 §9.3.2): bytes after one request's body stay buffered for the
//! next. Every read is bounded: a header section over [`MAX_HEAD`] bytes or a
//! body over the caller's limit is an error before it is buffered, so a peer
//! cannot make us allocate at will.
//!
//! The head is read strictly, because a lenient parser in front of another
//! one is how request smuggling starts: `Content-Length` is digits only (no
//! sign, no list), a field name is a token, a field value holds no control
//! character (a bare CR or NUL is refused, RFC 9112 §2.2), and obsolete line
//! folding is refused (§5.2).

use std::fmt;
use std::io::{self, BufRead, Write};

/// Largest accepted request or status line plus headers, bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields accepted.
const MAX_HEADERS: usize = 64;

/// Why a message could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection cleanly before a new message began.
    Closed,
    /// The announced body is larger than the limit.
    TooLarge(usize),
    /// Not HTTP/1.1 as this module speaks it.
    Malformed(String),
    /// The transport failed (including timeouts and TLS errors).
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("connection closed"),
            Self::TooLarge(n) => write!(f, "body of {n} bytes is too large"),
            Self::Malformed(why) => write!(f, "malformed http: {why}"),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

fn malformed(why: impl Into<String>) -> ReadError {
    ReadError::Malformed(why.into())
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
    /// False when the client asked to close after this exchange.
    pub keep_alive: bool,
}

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// False when the server will close the connection.
    pub keep_alive: bool,
    /// `Retry-After` in seconds, when given.
    pub retry_after: Option<u64>,
}

struct Head {
    start_line: String,
    content_length: usize,
    close: bool,
    retry_after: Option<u64>,
}

/// Reads one CRLF-terminated line of at most `budget` bytes (the budget
/// shrinks as the head is read). `Ok(None)` is EOF before any byte.
fn read_line(r: &mut impl BufRead, budget: &mut usize) -> Result<Option<String>, ReadError> {
    let mut line = Vec::new();
    loop {
        let available = r.fill_buf()?;
        if available.is_empty() {
            return if line.is_empty() {
                Ok(None)
            } else {
                Err(malformed("connection closed inside the header"))
            };
        }
        let (take, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if take > *budget {
            return Err(malformed("header section too large"));
        }
        *budget -= take;
        line.extend_from_slice(&available[..take]);
        r.consume(take);
        if done {
            break;
        }
    }
    if !line.ends_with(b"\r\n") {
        return Err(malformed("line not terminated by CRLF"));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| malformed("header is not UTF-8"))
}

/// RFC 9110 §5.6.2 `tchar`: what a field name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §5.5: visible characters, obs-text, space and tab; no CR, LF,
/// NUL or other control character.
fn is_field_value_byte(b: u8) -> bool {
    b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6): `+5`, `-1`, ` 5`, `5, 5` and
/// values that overflow are refused (Rust's integer parser accepts a `+`).
fn parse_content_length(value: &str) -> Result<usize, ReadError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("bad content-length"));
    }
    value.parse().map_err(|_| malformed("bad content-length"))
}

fn read_head(r: &mut impl BufRead) -> Result<Head, ReadError> {
    let mut budget = MAX_HEAD;
    let start_line = read_line(r, &mut budget)?.ok_or(ReadError::Closed)?;
    let mut content_length = None;
    let mut close = false;
    let mut retry_after = None;
    let mut count = 0;
    loop {
        let line = read_line(r, &mut budget)?
            .ok_or_else(|| malformed("connection closed inside the header"))?;
        if line.is_empty() {
            break;
        }
        count += 1;
        if count > MAX_HEADERS {
            return Err(malformed("too many header fields"));
        }
        if line.starts_with([' ', '\t']) {
            return Err(malformed("obsolete line folding"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| malformed("header field without a colon"))?;
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(malformed("bad header field name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if !value.bytes().all(is_field_value_byte) {
            return Err(malformed("control character in a header field value"));
        }
        match name.to_ascii_lowercase().as_str() {
            "content-length" => {
                let n = parse_content_length(value)?;
                if content_length.is_some_and(|old| old != n) {
                    return Err(malformed("conflicting content-length"));
                }
                content_length = Some(n);
            }
            "transfer-encoding" => return Err(malformed("transfer-encoding is not supported")),
            "expect" => return Err(malformed("expect is not supported")),
            "connection" => {
                close = value
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("close"));
            }
            "retry-after" => retry_after = value.parse().ok(),
            _ => {}
        }
    }
    Ok(Head {
        start_line,
        content_length: content_length.unwrap_or(0),
        close,
        retry_after,
    })
}

fn read_body(r: &mut impl BufRead, len: usize, limit: usize) -> Result<Vec<u8>, ReadError> {
    if len > limit {
        return Err(ReadError::TooLarge(len));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            malformed("connection closed inside the body")
        } else {
            ReadError::Io(e)
        }
    })?;
    Ok(body)
}

/// Reads one request; a body announced larger than `max_body` is
/// [`ReadError::TooLarge`] and is not read (the caller answers 413 and closes).
pub fn read_request(r: &mut impl BufRead, max_body: usize) -> Result<Request, ReadError> {
    let head = read_head(r)?;
    let mut parts = head.start_line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("bad request line"));
    };
    if version != "HTTP/1.1" {
        return Err(malformed("only HTTP/1.1 is spoken"));
    }
    if method.is_empty()
        || !method.bytes().all(is_tchar)
        || !path.starts_with('/')
        || !path.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(malformed("bad request line"));
    }
    let body = read_body(r, head.content_length, max_body)?;
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        body,
        keep_alive: !head.close,
    })
}

/// Reads one response with a body of at most `max_body` bytes.
pub fn read_response(r: &mut impl BufRead, max_body: usize) -> Result<Response, ReadError> {
    let head = read_head(r)?;
    let mut parts = head.start_line.splitn(3, ' ');
    let (Some("HTTP/1.1"), Some(code)) = (parts.next(), parts.next()) else {
        return Err(malformed("bad status line"));
    };
    let status: u16 = code
        .parse()
        .ok()
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| malformed("bad status code"))?;
    let body = read_body(r, head.content_length, max_body)?;
    Ok(Response {
        status,
        body,
        keep_alive: !head.close,
        retry_after: head.retry_after,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes a JSON response in one buffer (one TLS record for small bodies).
pub fn write_response(
    w: &mut impl Write,
    status: u16,
    body: &[u8],
    keep_alive: bool,
    retry_after: Option<u64>,
) -> io::Result<()> {
    write_typed_response(w, status, "application/json", body, keep_alive, retry_after)
}

/// Writes a response whose body is of `content_type`, in one buffer.
pub fn write_typed_response(
    w: &mut impl Write,
    status: u16,
    content_type: &str,
    body: &[u8],
    keep_alive: bool,
    retry_after: Option<u64>,
) -> io::Result<()> {
    let mut out = Vec::with_capacity(160 + body.len());
    write!(
        out,
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        reason(status),
        body.len()
    )?;
    if let Some(secs) = retry_after {
        write!(out, "Retry-After: {secs}\r\n")?;
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    w.write_all(&out)?;
    w.flush()
}

/// Writes a JSON `POST` in one buffer.
pub fn write_post(w: &mut impl Write, host: &str, path: &str, body: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(160 + body.len());
    write!(
        out,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    out.extend_from_slice(body);
    w.write_all(&out)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn request_round_trip_and_keep_alive() {
        let mut wire = Vec::new();
        write_post(&mut wire, "h", "/v1/release", b"{}").unwrap();
        write_post(&mut wire, "h", "/v1/release", b"[1]").unwrap();
        let mut r = Cursor::new(wire);
        let a = read_request(&mut r, 100).unwrap();
        assert_eq!(
            (a.method.as_str(), a.path.as_str(), &a.body[..]),
            ("POST", "/v1/release", &b"{}"[..])
        );
        assert!(a.keep_alive);
        let b = read_request(&mut r, 100).unwrap();
        assert_eq!(b.body, b"[1]");
        assert!(matches!(read_request(&mut r, 100), Err(ReadError::Closed)));
    }

    #[test]
    fn response_round_trip() {
        let mut wire = Vec::new();
        write_response(&mut wire, 429, b"{\"a\":1}", false, Some(3)).unwrap();
        let resp = read_response(&mut Cursor::new(wire), 100).unwrap();
        assert_eq!(resp.status, 429);
        assert_eq!(resp.body, b"{\"a\":1}");
        assert!(!resp.keep_alive);
        assert_eq!(resp.retry_after, Some(3));
    }

    fn assert_all_malformed(requests: &[&[u8]]) {
        for bad in requests {
            assert!(
                matches!(
                    read_request(&mut Cursor::new(bad), 100),
                    Err(ReadError::Malformed(_))
                ),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn limits_and_garbage_are_errors_not_panics() {
        let too_big = b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
        assert!(matches!(
            read_request(&mut Cursor::new(&too_big[..]), 100),
            Err(ReadError::TooLarge(101))
        ));
        let long_header = format!("POST / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(matches!(
            read_request(&mut Cursor::new(long_header.as_bytes()), 100),
            Err(ReadError::Malformed(_))
        ));
        assert_all_malformed(&[
            &b"GET /\r\n\r\n"[..],
            b"POST / HTTP/1.0\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"POST / HTTP/1.1\nHost: x\n\n",
            b"POST / HTTP/1.1\r\nno colon\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
        ]);
        // Arbitrary bytes never panic.
        let mut seed = 0x1234_5678u32;
        for len in 0..300 {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = read_request(&mut Cursor::new(&junk), 100);
            let _ = read_response(&mut Cursor::new(&junk), 100);
        }
    }

    /// RFC 9112 strictness (issue 11): what a lenient parser would take
    /// differently from a proxy in front of it is refused.
    #[test]
    fn smuggling_shapes_are_malformed() {
        assert_all_malformed(&[
            // Rust's `usize::from_str` takes a sign; Content-Length is 1*DIGIT.
            &b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello"[..],
            b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello",
            b"POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\nhello",
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
            // A bare CR inside a field value (§2.2), and other controls.
            b"POST / HTTP/1.1\r\nX-A: a\rContent-Length: 5\r\n\r\nhello",
            b"POST / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
            // Obsolete line folding (§5.2) and a space before the colon (§5.1).
            b"POST / HTTP/1.1\r\nX-A: a\r\n Content-Length: 5\r\n\r\nhello",
            b"POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello",
            b"POST / HTTP/1.1\r\n Content-Length: 5\r\n\r\nhello",
            // A control character in the request line.
            b"POST /\r HTTP/1.1\r\n\r\n",
            b"PO\x01ST / HTTP/1.1\r\n\r\n",
        ]);
    }
}
