//! A small IMAP4rev1 client (RFC 3501) for fetching one mailbox: STARTTLS,
//! LOGIN, COMPRESS DEFLATE (RFC 4978, when offered), SELECT (UIDVALIDITY),
//! UID FETCH, UID STORE, UID EXPUNGE (RFC 4315; plain EXPUNGE without
//! UIDPLUS), LOGOUT. Responses are read as lines with
//! their literals and tokenized; anything unexpected is an error, never a
//! panic.

use super::tls::{Conn, Dialect, LoginError};
use super::{Listing, Remote, RemoteMessage};
use crate::error::{fail, Exit};

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
    Open,
    Close,
}

/// One response: its tokens (literals included) and the raw first line.
#[derive(Debug)]
struct Response {
    toks: Vec<Tok>,
    line: String,
}

fn protocol(msg: impl Into<String>) -> anyhow::Error {
    fail(Exit::TempFail, msg.into())
}

fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Largest literal accepted (a guard against garbage): 1 GiB.
const MAX_LITERAL: usize = 1 << 30;

/// Reads one response with its literals.
fn read_response(conn: &mut Conn) -> anyhow::Result<Response> {
    let mut toks = Vec::new();
    let mut first: Option<String> = None;
    loop {
        let line = conn
            .read_line()
            .map_err(|e| protocol(format!("IMAP: {e}")))?;
        let text = String::from_utf8_lossy(&line).into_owned();
        if first.is_none() {
            first = Some(printable(&text));
        }
        // A literal announcement ends the line: {N} or {N+}.
        let literal = text
            .strip_suffix('}')
            .and_then(|t| t.rfind('{').map(|i| (i, &t[i + 1..])))
            .and_then(|(i, n)| {
                n.trim_end_matches('+')
                    .parse::<usize>()
                    .ok()
                    .map(|n| (i, n))
            });
        match literal {
            Some((i, n)) => {
                if n > MAX_LITERAL {
                    return Err(protocol(format!("IMAP: literal of {n} bytes refused")));
                }
                tokenize(&text[..i], &mut toks)?;
                let data = conn
                    .read_exact(n)
                    .map_err(|e| protocol(format!("IMAP: {e}")))?;
                toks.push(Tok::Str(data));
            }
            None => {
                tokenize(&text, &mut toks)?;
                return Ok(Response {
                    toks,
                    line: first.unwrap_or_default(),
                });
            }
        }
    }
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
        match run_raw(&mut self.conn, &mut self.tag, "COMPRESS DEFLATE")? {
            Done::No(_) => Ok(false),
            Done::Ok(_) => {
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
}

/// The outcome of a tagged command.
enum Done {
    Ok(Vec<Response>),
    No(String),
}

fn run_raw(conn: &mut Conn, tag: &mut u32, cmd: &str) -> anyhow::Result<Done> {
    *tag += 1;
    let t = format!("a{tag}");
    conn.send(format!("{t} {cmd}\r\n").as_bytes())
        .map_err(|e| protocol(format!("IMAP: {e}")))?;
    let mut untagged = Vec::new();
    loop {
        let r = read_response(conn)?;
        match r.toks.first() {
            Some(Tok::Atom(a)) if *a == t => {
                return match r.toks.get(1) {
                    Some(Tok::Atom(s)) if s.eq_ignore_ascii_case("OK") => Ok(Done::Ok(untagged)),
                    Some(Tok::Atom(s))
                        if s.eq_ignore_ascii_case("NO") || s.eq_ignore_ascii_case("BAD") =>
                    {
                        Ok(Done::No(r.line))
                    }
                    _ => Err(protocol(format!("IMAP: unexpected reply {:?}", r.line))),
                };
            }
            Some(Tok::Atom(a)) if a == "*" => untagged.push(r),
            _ => return Err(protocol(format!("IMAP: unexpected reply {:?}", r.line))),
        }
    }
}

fn run(conn: &mut Conn, tag: &mut u32, cmd: &str, what: &str) -> anyhow::Result<Vec<Response>> {
    match run_raw(conn, tag, cmd)? {
        Done::Ok(r) => Ok(r),
        Done::No(line) => Err(fail(
            Exit::Unavailable,
            format!("IMAP {what} refused: {line}"),
        )),
    }
}

fn greeting(conn: &mut Conn) -> anyhow::Result<()> {
    let r = read_response(conn)?;
    match (r.toks.first(), r.toks.get(1)) {
        (Some(Tok::Atom(a)), Some(Tok::Atom(b)))
            if a == "*" && (b.eq_ignore_ascii_case("OK") || b.eq_ignore_ascii_case("PREAUTH")) =>
        {
            Ok(())
        }
        _ => Err(protocol(format!("IMAP: unexpected greeting {:?}", r.line))),
    }
}

impl Dialect for Imap {
    type Session = Session;

    fn starttls(conn: &mut Conn) -> anyhow::Result<()> {
        greeting(conn)?;
        let mut tag = 0;
        match run_raw(conn, &mut tag, "STARTTLS")? {
            Done::Ok(_) => Ok(()),
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
        match run_raw(&mut conn, &mut tag, &cmd).map_err(LoginError::Other)? {
            Done::No(line) => {
                // The tagged NO line echoes only the tag and the server's text.
                Err(LoginError::Refused(line))
            }
            Done::Ok(_) => {
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
            for r in self.run("UID FETCH 1:* (UID RFC822.SIZE)", "UID FETCH")? {
                let Some(items) = fetch_items(&r) else {
                    continue;
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
                    messages.push(RemoteMessage {
                        key: uid.to_string(),
                        size,
                    });
                }
            }
        }
        messages.sort_by_key(|m| m.key.parse::<u64>().unwrap_or(0));
        messages.dedup();
        Ok(Listing {
            validity: Some(validity),
            messages,
        })
    }

    fn fetch(&mut self, key: &str) -> anyhow::Result<Vec<u8>> {
        let uid: u32 = key
            .parse()
            .map_err(|_| fail(Exit::Software, format!("IMAP: bad UID {key}")))?;
        let responses = self.run(&format!("UID FETCH {uid} (UID BODY.PEEK[])"), "UID FETCH")?;
        for r in &responses {
            let Some(items) = fetch_items(r) else {
                continue;
            };
            let this = items
                .iter()
                .find(|(n, _)| n == "UID")
                .and_then(|(_, v)| number(v));
            if this != Some(uid as u64) {
                continue;
            }
            if let Some((_, Tok::Str(data))) = items.iter().find(|(n, _)| n == "BODY[]") {
                return Ok(data.clone());
            }
        }
        Err(protocol(format!(
            "IMAP: the server did not return message UID {uid}"
        )))
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
