//! A small IMAP4rev1 client (RFC 3501) for fetching one mailbox: STARTTLS,
//! LOGIN, COMPRESS DEFLATE (RFC 4978, when offered), SELECT (UIDVALIDITY),
//! UID FETCH, UID STORE, UID EXPUNGE (RFC 4315; plain EXPUNGE without
//! UIDPLUS), LOGOUT. Responses are read as lines with
//! their literals and tokenized; anything unexpected is an error, never a
//! panic.

use std::io::Write;

use super::{Listing, Remote, RemoteMessage};
use crate::error::{fail, Exit};
use crate::mail::tls::{wire_error, Conn, Dialect, LoginError};

pub struct Imap;

/// A logged-in IMAP session with INBOX selected after `list`.
pub struct Session {
    conn: Conn,
    tag: u32,
    capabilities: Vec<String>,
}

/// One token of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Atom(String),
    Str(Vec<u8>),
    /// A message body literal of this many bytes, written to a [`BodySink`].
    Streamed(u64),
    Open,
    Close,
}

/// One response: its tokens (literals included) and the raw first line.
#[derive(Debug)]
struct Response {
    toks: Vec<Tok>,
    line: String,
    /// What holding it costs, as counted against [`MAX_RESPONSE`].
    cost: usize,
}

fn protocol(msg: impl Into<String>) -> anyhow::Error {
    fail(Exit::TempFail, msg.into())
}

/// A server that sent more than a limit allows.
fn over_limit(msg: impl Into<String>) -> anyhow::Error {
    fail(Exit::Unavailable, msg.into())
}

fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Largest literal held in memory. Our commands ask for no literal but the
/// message body, which is streamed to a [`BodySink`] instead.
const MAX_SMALL_LITERAL: u64 = 64 * 1024;

/// Most one response may cost in memory, its lines, small literals and
/// tokens counted (a token as [`TOKEN_COST`] bytes beside its text).
const MAX_RESPONSE: usize = 1 << 20;

/// Most the untagged responses kept for one command may cost in memory.
const MAX_UNTAGGED: usize = 16 << 20;

/// Most untagged responses one command may get, even when none is kept: a
/// server that never ends its answer is cut off instead of read forever.
/// The listing of a mailbox gets one per message.
const MAX_UNTAGGED_COUNT: usize = 2 << 20;

/// Messages at most in a mailbox listing (about 50 MB of listing).
pub const MAX_LISTED: usize = 1 << 20;

/// The memory a token costs beside its text: the enum and an allocation.
const TOKEN_COST: usize = std::mem::size_of::<Tok>() + 16;

/// Longest line accepted before TLS (the greeting and the STARTTLS reply):
/// on a connection anyone on the path can write to, nothing more is read.
const MAX_PLAIN_LINE: usize = 8 * 1024;

/// Lines at most in the reply to STARTTLS (untagged ones before the tagged).
const MAX_PLAIN_LINES: usize = 8;

/// Where the body literal of a UID FETCH goes, and how large it may be.
struct BodySink<'a> {
    out: &'a mut dyn Write,
    max: u64,
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
fn read_response(conn: &mut Conn, mut body: Option<&mut BodySink<'_>>) -> anyhow::Result<Response> {
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
fn read_plain_line(conn: &mut Conn) -> anyhow::Result<Response> {
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

fn tokenize(text: &str, out: &mut Vec<Tok>) -> anyhow::Result<()> {
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

fn quote(s: &str) -> anyhow::Result<String> {
    if s.chars().any(|c| c.is_control()) {
        return Err(fail(
            Exit::Config,
            "user or password contains a control character",
        ));
    }
    Ok(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

impl Session {
    /// Turns on COMPRESS=DEFLATE (RFC 4978) if the server offers it; returns
    /// whether the connection is now compressed. A refusal (NO) leaves the
    /// connection as it was.
    pub fn compress(&mut self) -> anyhow::Result<bool> {
        if self.conn.is_compressed() {
            return Ok(true);
        }
        if !self.capabilities.iter().any(|c| c == "COMPRESS=DEFLATE") {
            return Ok(false);
        }
        match run_raw(
            &mut self.conn,
            &mut self.tag,
            "COMPRESS DEFLATE",
            None,
            &mut |_| Ok(()),
        )? {
            Done::No(_) => Ok(false),
            Done::Ok => {
                self.conn
                    .start_deflate()
                    .map_err(|e| protocol(format!("IMAP: {e}")))?;
                Ok(true)
            }
        }
    }

    /// Sends a tagged command; returns the untagged responses, or the
    /// server's NO/BAD as an error.
    fn run(&mut self, cmd: &str, what: &str) -> anyhow::Result<Vec<Response>> {
        run(&mut self.conn, &mut self.tag, cmd, what)
    }

    /// Sends a tagged command and hands each untagged response to `each`
    /// instead of keeping them; the server's NO/BAD is an error.
    fn run_each(
        &mut self,
        cmd: &str,
        what: &str,
        body: Option<&mut BodySink<'_>>,
        each: &mut dyn FnMut(Response) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match run_raw(&mut self.conn, &mut self.tag, cmd, body, each)? {
            Done::Ok => Ok(()),
            Done::No(line) => Err(refused(what, &line)),
        }
    }
}

/// The outcome of a tagged command.
enum Done {
    Ok,
    No(String),
}

fn refused(what: &str, line: &str) -> anyhow::Error {
    fail(Exit::Unavailable, format!("IMAP {what} refused: {line}"))
}

/// Sends a tagged command and reads up to its tagged reply, handing every
/// untagged response to `each`; at most [`MAX_UNTAGGED_COUNT`] of them.
fn run_raw(
    conn: &mut Conn,
    tag: &mut u32,
    cmd: &str,
    mut body: Option<&mut BodySink<'_>>,
    each: &mut dyn FnMut(Response) -> anyhow::Result<()>,
) -> anyhow::Result<Done> {
    *tag += 1;
    let t = format!("a{tag}");
    conn.send(format!("{t} {cmd}\r\n").as_bytes())
        .map_err(|e| wire_error("IMAP", e))?;
    for _ in 0..=MAX_UNTAGGED_COUNT {
        let r = read_response(conn, body.as_deref_mut())?;
        if let Some(done) = tagged(&r, &t)? {
            return Ok(done);
        }
        each(r)?;
    }
    Err(over_limit(format!(
        "IMAP: more than {MAX_UNTAGGED_COUNT} responses to one command"
    )))
}

/// `Some` when `r` is the tagged reply `t`; an error when it is neither that
/// nor untagged.
fn tagged(r: &Response, t: &str) -> anyhow::Result<Option<Done>> {
    match r.toks.first() {
        Some(Tok::Atom(a)) if *a == t => match r.toks.get(1) {
            Some(Tok::Atom(s)) if s.eq_ignore_ascii_case("OK") => Ok(Some(Done::Ok)),
            Some(Tok::Atom(s)) if s.eq_ignore_ascii_case("NO") || s.eq_ignore_ascii_case("BAD") => {
                Ok(Some(Done::No(r.line.clone())))
            }
            _ => Err(protocol(format!("IMAP: unexpected reply {:?}", r.line))),
        },
        Some(Tok::Atom(a)) if a == "*" => Ok(None),
        _ => Err(protocol(format!("IMAP: unexpected reply {:?}", r.line))),
    }
}

/// Untagged responses kept for the caller, at most [`MAX_UNTAGGED`] bytes' worth.
fn run_collect(conn: &mut Conn, tag: &mut u32, cmd: &str) -> anyhow::Result<(Done, Vec<Response>)> {
    let mut untagged = Vec::new();
    let mut cost = 0usize;
    let done = run_raw(conn, tag, cmd, None, &mut |r| {
        cost += r.cost;
        if cost > MAX_UNTAGGED {
            return Err(over_limit(format!(
                "IMAP: more than {MAX_UNTAGGED} bytes of responses to one command"
            )));
        }
        untagged.push(r);
        Ok(())
    })?;
    Ok((done, untagged))
}

fn run(conn: &mut Conn, tag: &mut u32, cmd: &str, what: &str) -> anyhow::Result<Vec<Response>> {
    match run_collect(conn, tag, cmd)? {
        (Done::Ok, r) => Ok(r),
        (Done::No(line), _) => Err(refused(what, &line)),
    }
}

/// The greeting: one line, no literal (before STARTTLS it is all that is
/// read besides the STARTTLS reply).
fn greeting(conn: &mut Conn) -> anyhow::Result<()> {
    let r = read_plain_line(conn)?;
    match (r.toks.first(), r.toks.get(1)) {
        (Some(Tok::Atom(a)), Some(Tok::Atom(b)))
            if a == "*" && (b.eq_ignore_ascii_case("OK") || b.eq_ignore_ascii_case("PREAUTH")) =>
        {
            Ok(())
        }
        _ => Err(protocol(format!("IMAP: unexpected greeting {:?}", r.line))),
    }
}

/// STARTTLS and its reply, read as at most [`MAX_PLAIN_LINES`] plain lines.
fn starttls(conn: &mut Conn) -> anyhow::Result<Done> {
    let t = "a1";
    conn.send(format!("{t} STARTTLS\r\n").as_bytes())
        .map_err(|e| wire_error("IMAP", e))?;
    for _ in 0..MAX_PLAIN_LINES {
        let r = read_plain_line(conn)?;
        if let Some(done) = tagged(&r, t)? {
            return Ok(done);
        }
    }
    Err(over_limit(format!(
        "IMAP: more than {MAX_PLAIN_LINES} lines in reply to STARTTLS"
    )))
}

impl Dialect for Imap {
    type Session = Session;

    fn starttls(conn: &mut Conn) -> anyhow::Result<()> {
        greeting(conn)?;
        match starttls(conn)? {
            Done::Ok => Ok(()),
            Done::No(line) => Err(anyhow::anyhow!(
                "STARTTLS is required but the server refused it: {line}"
            )),
        }
    }

    fn greeting(conn: &mut Conn) -> anyhow::Result<()> {
        greeting(conn)
    }

    fn login(mut conn: Conn, user: &str, password: &str) -> Result<Session, LoginError> {
        let mut tag = 100;
        let cmd = format!(
            "LOGIN {} {}",
            quote(user).map_err(LoginError::Other)?,
            quote(password).map_err(LoginError::Other)?
        );
        match run_collect(&mut conn, &mut tag, &cmd)
            .map_err(LoginError::Other)?
            .0
        {
            Done::No(line) => {
                // The tagged NO line echoes only the tag and the server's text.
                Err(LoginError::Refused(line))
            }
            Done::Ok => {
                let mut s = Session {
                    conn,
                    tag,
                    capabilities: Vec::new(),
                };
                let caps = s
                    .run("CAPABILITY", "CAPABILITY")
                    .map_err(LoginError::Other)?;
                for r in caps {
                    if matches!(r.toks.get(1), Some(Tok::Atom(a)) if a.eq_ignore_ascii_case("CAPABILITY"))
                    {
                        for t in &r.toks[2..] {
                            if let Tok::Atom(a) = t {
                                s.capabilities.push(a.to_ascii_uppercase());
                            }
                        }
                    }
                }
                Ok(s)
            }
        }
    }
}

/// Items of a FETCH response: `* N FETCH (NAME VALUE …)`.
fn fetch_items(r: &Response) -> Option<Vec<(String, &Tok)>> {
    match (r.toks.get(1), r.toks.get(2), r.toks.get(3)) {
        (Some(Tok::Atom(_)), Some(Tok::Atom(f)), Some(Tok::Open))
            if f.eq_ignore_ascii_case("FETCH") => {}
        _ => return None,
    }
    let mut out = Vec::new();
    let mut i = 4;
    while i < r.toks.len() {
        match &r.toks[i] {
            Tok::Close => break,
            Tok::Atom(name) => {
                let value = r.toks.get(i + 1)?;
                out.push((name.to_ascii_uppercase(), value));
                if *value == Tok::Open {
                    // Skip a parenthesized value (FLAGS (…)).
                    let mut depth = 0;
                    i += 1;
                    while i < r.toks.len() {
                        match r.toks[i] {
                            Tok::Open => depth += 1,
                            Tok::Close => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    i += 1;
                } else {
                    i += 2;
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

fn number(t: &Tok) -> Option<u64> {
    match t {
        Tok::Atom(a) => a.parse().ok(),
        _ => None,
    }
}

impl Remote for Session {
    fn list(&mut self) -> anyhow::Result<Listing> {
        let select = self.run("SELECT INBOX", "SELECT")?;
        let mut validity = None;
        let mut exists = 0u64;
        for r in &select {
            let line = r.line.to_ascii_uppercase();
            if let Some(rest) = line.find("[UIDVALIDITY ").map(|i| &r.line[i + 13..]) {
                validity = rest
                    .split(']')
                    .next()
                    .and_then(|n| n.trim().parse::<u32>().ok());
            }
            if let (Some(n), Some(Tok::Atom(a))) = (r.toks.get(1).and_then(number), r.toks.get(2)) {
                if a.eq_ignore_ascii_case("EXISTS") {
                    exists = n;
                }
            }
        }
        let validity = validity.ok_or_else(|| protocol("IMAP: the server sent no UIDVALIDITY"))?;
        let mut messages = Vec::new();
        if exists > 0 {
            self.run_each(
                "UID FETCH 1:* (UID RFC822.SIZE)",
                "UID FETCH",
                None,
                &mut |r| {
                    let Some(items) = fetch_items(&r) else {
                        return Ok(());
                    };
                    let uid = items
                        .iter()
                        .find(|(n, _)| n == "UID")
                        .and_then(|(_, v)| number(v));
                    let size = items
                        .iter()
                        .find(|(n, _)| n == "RFC822.SIZE")
                        .and_then(|(_, v)| number(v))
                        .unwrap_or(0);
                    if let Some(uid) = uid {
                        // RFC 3501 §2.3.1.1: a UID is a non-zero 32-bit number.
                        if !(1..=u64::from(u32::MAX)).contains(&uid) {
                            return Err(over_limit(format!(
                                "IMAP: the server listed an invalid UID {uid}"
                            )));
                        }
                        if messages.len() >= MAX_LISTED {
                            return Err(over_limit(format!(
                                "IMAP: the server lists more than {MAX_LISTED} messages"
                            )));
                        }
                        messages.push(RemoteMessage {
                            key: uid.to_string(),
                            size,
                        });
                    }
                    Ok(())
                },
            )?;
        }
        messages.sort_by_key(|m| m.key.parse::<u64>().unwrap_or(0));
        messages.dedup();
        Ok(Listing {
            validity: Some(validity),
            messages,
        })
    }

    fn fetch(&mut self, key: &str, out: &mut dyn Write, max: u64) -> anyhow::Result<()> {
        let uid: u32 = key
            .parse()
            .map_err(|_| fail(Exit::Software, format!("IMAP: bad UID {key}")))?;
        let mut sink = BodySink { out, max };
        let mut found = false;
        self.run_each(
            &format!("UID FETCH {uid} (UID BODY.PEEK[])"),
            "UID FETCH",
            Some(&mut sink),
            &mut |r| {
                let Some(items) = fetch_items(&r) else {
                    return Ok(());
                };
                let body = items
                    .iter()
                    .any(|(n, v)| n == "BODY[]" && matches!(v, Tok::Streamed(_)));
                if !body {
                    return Ok(());
                }
                // The body streamed belongs to the message asked for, or the
                // spool holds something else: refuse it.
                let this = items
                    .iter()
                    .find(|(n, _)| n == "UID")
                    .and_then(|(_, v)| number(v));
                if this != Some(uid as u64) {
                    return Err(protocol(format!(
                        "IMAP: the server sent a message body for {:?} in reply to UID {uid}",
                        r.line
                    )));
                }
                found = true;
                Ok(())
            },
        )?;
        if !found {
            return Err(protocol(format!(
                "IMAP: the server did not return message UID {uid}"
            )));
        }
        Ok(())
    }

    fn delete(&mut self, keys: &[String]) -> anyhow::Result<()> {
        for chunk in keys.chunks(200) {
            let set = chunk.join(",");
            self.run(
                &format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"),
                "UID STORE",
            )?;
            if self.capabilities.iter().any(|c| c == "UIDPLUS") {
                self.run(&format!("UID EXPUNGE {set}"), "UID EXPUNGE")?;
            } else {
                self.run("EXPUNGE", "EXPUNGE")?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.run("LOGOUT", "LOGOUT").map(|_| ())
    }

    fn wire_bytes(&self) -> u64 {
        self.conn.bytes()
    }

    fn uncompressed_bytes(&self) -> u64 {
        self.conn.plain_bytes()
    }

    fn compressed(&self) -> bool {
        self.conn.is_compressed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_fetch_lines_and_brackets() {
        let mut t = Vec::new();
        tokenize(
            "* 3 FETCH (UID 17 RFC822.SIZE 42 FLAGS (\\Seen \\Deleted) BODY[] ",
            &mut t,
        )
        .unwrap();
        t.push(Tok::Str(b"data".to_vec()));
        tokenize(")", &mut t).unwrap();
        let r = Response {
            toks: t,
            line: String::new(),
            cost: 0,
        };
        let items = fetch_items(&r).unwrap();
        let names: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["UID", "RFC822.SIZE", "FLAGS", "BODY[]"]);
        assert_eq!(number(items[0].1), Some(17));
        assert_eq!(items[3].1, &Tok::Str(b"data".to_vec()));
        let mut t = Vec::new();
        tokenize("* OK [PERMANENTFLAGS (\\Seen \\*)] \"a \\\"q\\\"\"", &mut t).unwrap();
        assert_eq!(t[2], Tok::Atom("[PERMANENTFLAGS (\\Seen \\*)]".into()));
        assert_eq!(t[3], Tok::Str(b"a \"q\"".to_vec()));
        assert!(tokenize("\"open", &mut Vec::new()).is_err());
        assert_eq!(quote("p\"w\\").unwrap(), "\"p\\\"w\\\\\"");
        assert!(quote("a\r\nb").is_err());
    }
}
