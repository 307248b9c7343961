//! IMAP responses as the client reads them: lines with their literals
//! (a message body streamed to a [`BodySink`], anything else held within
//! [`MAX_SMALL_LITERAL`]), tokenized, each within its memory limits; the
//! plain-text lines before TLS are read within tighter ones.

use std::io::Write;

use crate::error::{fail, printable, Exit};
use crate::mail::tls::{wire_error, Conn};

/// One token of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Atom(String),
    Str(Vec<u8>),
    /// A message body literal of this many bytes, written to a [`BodySink`].
    Streamed(u64),
    Open,
    Close,
}

/// One response: its tokens (literals included) and the raw first line.
#[derive(Debug)]
pub(super) struct Response {
    pub(super) toks: Vec<Tok>,
    pub(super) line: String,
    /// What holding it costs, as counted against [`MAX_RESPONSE`].
    pub(super) cost: usize,
}

pub(super) fn protocol(msg: impl Into<String>) -> anyhow::Error {
    fail(Exit::TempFail, msg.into())
}

/// A server that sent more than a limit allows.
pub(super) fn over_limit(msg: impl Into<String>) -> anyhow::Error {
    fail(Exit::Unavailable, msg.into())
}

/// Largest literal held in memory. Our commands ask for no literal but the
/// message body, which is streamed to a [`BodySink`] instead.
const MAX_SMALL_LITERAL: u64 = 64 * 1024;

/// Most one response may cost in memory, its lines, small literals and
/// tokens counted (a token as [`TOKEN_COST`] bytes beside its text).
const MAX_RESPONSE: usize = 1 << 20;

/// The memory a token costs beside its text: the enum and an allocation.
const TOKEN_COST: usize = std::mem::size_of::<Tok>() + 16;

/// Longest line accepted before TLS (the greeting and the STARTTLS reply):
/// on a connection anyone on the path can write to, nothing more is read.
const MAX_PLAIN_LINE: usize = 8 * 1024;

/// Lines at most in the reply to STARTTLS (untagged ones before the tagged).
pub(super) const MAX_PLAIN_LINES: usize = 8;

/// Where the body literal of a UID FETCH goes, and how large it may be.
pub(super) struct BodySink<'a> {
    pub(super) out: &'a mut dyn Write,
    pub(super) max: u64,
}

/// The literal announced at the end of a line, `{N}` or `{N+}`: where the
/// announcement starts and N. A number too large for u64 is refused.
fn literal_at_end(text: &str) -> anyhow::Result<Option<(usize, u64)>> {
    let Some(t) = text.strip_suffix('}') else {
        return Ok(None);
    };
    let Some(i) = t.rfind('{') else {
        return Ok(None);
    };
    let digits = t[i + 1..].trim_end_matches('+');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let n = digits
        .parse::<u64>()
        .map_err(|_| over_limit(format!("IMAP: literal of {} digits refused", digits.len())))?;
    Ok(Some((i, n)))
}

/// Reads one response with its literals: the literal after `BODY[]` goes to
/// `body` when there is one (at most `body.max` bytes, or [`Exit::DataErr`]),
/// every other literal is held in memory and bounded by [`MAX_SMALL_LITERAL`],
/// and the whole response by [`MAX_RESPONSE`].
pub(super) fn read_response(
    conn: &mut Conn,
    mut body: Option<&mut BodySink<'_>>,
) -> anyhow::Result<Response> {
    let mut toks = Vec::new();
    let mut first: Option<String> = None;
    let mut cost = 0usize;
    loop {
        let line = conn.read_line().map_err(|e| wire_error("IMAP", e))?;
        let text = String::from_utf8_lossy(&line).into_owned();
        if first.is_none() {
            first = Some(printable(&text));
        }
        let literal = literal_at_end(&text)?;
        let before = toks.len();
        tokenize(literal.map_or(&text[..], |(i, _)| &text[..i]), &mut toks)?;
        cost += line.len() + (toks.len() - before) * TOKEN_COST;
        if cost > MAX_RESPONSE {
            return Err(over_limit(format!(
                "IMAP: the server sent a response of more than {MAX_RESPONSE} bytes"
            )));
        }
        let Some((_, n)) = literal else {
            return Ok(Response {
                toks,
                line: first.unwrap_or_default(),
                cost,
            });
        };
        let after_body =
            matches!(toks.last(), Some(Tok::Atom(a)) if a.eq_ignore_ascii_case("BODY[]"));
        match body.take() {
            Some(sink) if after_body => {
                if n > sink.max {
                    return Err(fail(
                        Exit::DataErr,
                        format!(
                            "IMAP: the server sends a message of {n} bytes, over the maximum \
                             message size of {} bytes",
                            sink.max
                        ),
                    ));
                }
                conn.copy_exact(n, sink.out)
                    .map_err(|e| e.into_error("IMAP"))?;
                toks.push(Tok::Streamed(n));
            }
            sink => {
                body = sink;
                cost = cost.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
                if n > MAX_SMALL_LITERAL || cost > MAX_RESPONSE {
                    return Err(over_limit(format!(
                        "IMAP: literal of {n} bytes refused (at most {MAX_SMALL_LITERAL} \
                         outside a message)"
                    )));
                }
                let data = conn
                    .read_exact(n as usize)
                    .map_err(|e| wire_error("IMAP", e))?;
                toks.push(Tok::Str(data));
            }
        }
    }
}

/// Reads one line before TLS (or a greeting): no literal, at most
/// [`MAX_PLAIN_LINE`] bytes, tokenized.
pub(super) fn read_plain_line(conn: &mut Conn) -> anyhow::Result<Response> {
    let line = conn
        .read_line_within(MAX_PLAIN_LINE)
        .map_err(|e| wire_error("IMAP", e))?;
    let text = String::from_utf8_lossy(&line).into_owned();
    if literal_at_end(&text)?.is_some() {
        return Err(over_limit(format!(
            "IMAP: a literal where only a line may come: {:?}",
            printable(&text)
        )));
    }
    let mut toks = Vec::new();
    tokenize(&text, &mut toks)?;
    Ok(Response {
        toks,
        line: printable(&text),
        cost: line.len(),
    })
}

pub(super) fn tokenize(text: &str, out: &mut Vec<Tok>) -> anyhow::Result<()> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' => i += 1,
            b'(' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' => {
                out.push(Tok::Close);
                i += 1;
            }
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(protocol("IMAP: unterminated quoted string")),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            if let Some(&c) = b.get(i + 1) {
                                s.push(c);
                            }
                            i += 2;
                        }
                        Some(&c) => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            _ => {
                // An atom; brackets may hold spaces (e.g. [PERMANENTFLAGS (…)]).
                let start = i;
                let mut depth = 0;
                while i < b.len() {
                    match b[i] {
                        b'[' => depth += 1,
                        b']' => depth -= 1,
                        b' ' | b'(' | b')' if depth <= 0 => break,
                        _ => {}
                    }
                    i += 1;
                }
                out.push(Tok::Atom(text[start..i].to_string()));
            }
        }
    }
    Ok(())
}
