//! A small POP3 client (RFC 1939, STLS from RFC 2595): USER/PASS, UIDL,
//! LIST, RETR, DELE, QUIT. Deletions take effect only at QUIT.

use std::collections::HashMap;
use std::io::Write;

use super::{Listing, Remote, RemoteMessage};
use crate::error::{fail, Exit};
use crate::mail::tls::{wire_error, Conn, Dialect, LoginError, MAX_LINE};

pub struct Pop3;

/// A logged-in POP3 session.
pub struct Session {
    conn: Conn,
    /// UIDL → message number, from the last listing.
    numbers: HashMap<String, u32>,
}

fn protocol(msg: impl Into<String>) -> anyhow::Error {
    fail(Exit::TempFail, msg.into())
}

/// Reads a `+OK`/`-ERR` status line; returns the text after `+OK`.
fn status(conn: &mut Conn, what: &str) -> anyhow::Result<String> {
    let line = conn
        .read_line_within(MAX_STATUS_LINE)
        .map_err(|e| wire_error(&format!("POP3 {what}"), e))?;
    let text = String::from_utf8_lossy(&line).into_owned();
    if let Some(rest) = text.strip_prefix("+OK") {
        Ok(rest.trim().to_string())
    } else if text.starts_with("-ERR") {
        Err(fail(
            Exit::Unavailable,
            format!("POP3 {what}: {}", printable(&text)),
        ))
    } else {
        Err(protocol(format!(
            "POP3 {what}: unexpected reply {:?}",
            printable(&text)
        )))
    }
}

fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Longest status line (`+OK …`, `-ERR …`): RFC 2449 allows 512 bytes; the
/// greeting, read before STLS, is one of them.
const MAX_STATUS_LINE: usize = 8 * 1024;

/// Longest line of a UIDL or LIST answer (RFC 1939: a UIDL is at most 70 characters).
const MAX_LISTING_LINE: usize = 1024;

/// Messages at most in a listing, so that an endless UIDL answer ends.
pub const MAX_LISTED: usize = 1 << 20;

/// Most the UIDL listing may cost in memory, each key counted with
/// [`KEY_COST`] bytes of overhead.
const MAX_LISTING_COST: usize = 48 << 20;
const KEY_COST: usize = 48;

/// Reads a multi-line body up to the "." line, undoing dot-stuffing, and
/// hands each line (without its CRLF) to `each`. Lines are at most `max_line`
/// bytes and there are at most `max_lines` of them; beyond either the server
/// is cut off ([`Exit::Unavailable`]).
fn multiline(
    conn: &mut Conn,
    what: &str,
    max_line: usize,
    max_lines: usize,
    each: &mut dyn FnMut(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for _ in 0..=max_lines {
        let line = conn
            .read_line_within(max_line)
            .map_err(|e| wire_error(&format!("POP3 {what}"), e))?;
        if line == b"." {
            return Ok(());
        }
        let line = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        each(line)?;
    }
    Err(fail(
        Exit::Unavailable,
        format!("POP3 {what}: the server sent more than {max_lines} lines"),
    ))
}

fn command(conn: &mut Conn, cmd: &str, what: &str) -> anyhow::Result<String> {
    conn.send(format!("{cmd}\r\n").as_bytes())
        .map_err(|e| protocol(format!("POP3 {what}: {e}")))?;
    status(conn, what)
}

impl Dialect for Pop3 {
    type Session = Session;

    fn starttls(conn: &mut Conn) -> anyhow::Result<()> {
        status(conn, "greeting")?;
        command(conn, "STLS", "STLS").map_err(|e| {
            anyhow::anyhow!(
                "STLS is required but failed: {}",
                crate::error::single_line(&e)
            )
        })?;
        Ok(())
    }

    fn greeting(conn: &mut Conn) -> anyhow::Result<()> {
        status(conn, "greeting").map(|_| ())
    }

    fn login(mut conn: Conn, user: &str, password: &str) -> Result<Session, LoginError> {
        if user.contains(['\r', '\n']) || password.contains(['\r', '\n']) {
            return Err(LoginError::Refused(
                "user or password contains a line break".into(),
            ));
        }
        conn.send(format!("USER {user}\r\n").as_bytes())
            .map_err(|e| LoginError::Other(protocol(format!("POP3 USER: {e}"))))?;
        match conn.read_line_within(MAX_STATUS_LINE) {
            Ok(l) if l.starts_with(b"+OK") => {}
            Ok(l) if l.starts_with(b"-ERR") => {
                return Err(LoginError::Refused(printable(&String::from_utf8_lossy(&l))))
            }
            Ok(l) => {
                return Err(LoginError::Other(protocol(format!(
                    "POP3 USER: unexpected reply {:?}",
                    printable(&String::from_utf8_lossy(&l))
                ))))
            }
            Err(e) => return Err(LoginError::Other(protocol(format!("POP3 USER: {e}")))),
        }
        conn.send(format!("PASS {password}\r\n").as_bytes())
            .map_err(|e| LoginError::Other(protocol(format!("POP3 PASS: {e}"))))?;
        match conn.read_line_within(MAX_STATUS_LINE) {
            Ok(l) if l.starts_with(b"+OK") => Ok(Session {
                conn,
                numbers: HashMap::new(),
            }),
            Ok(l) if l.starts_with(b"-ERR") => {
                Err(LoginError::Refused(printable(&String::from_utf8_lossy(&l))))
            }
            Ok(l) => Err(LoginError::Other(protocol(format!(
                "POP3 PASS: unexpected reply {:?}",
                printable(&String::from_utf8_lossy(&l))
            )))),
            Err(e) => Err(LoginError::Other(protocol(format!("POP3 PASS: {e}")))),
        }
    }
}

impl Remote for Session {
    fn list(&mut self) -> anyhow::Result<Listing> {
        // Each line is parsed as it comes, so the listing costs what it
        // keeps: a key and a number per message, at most MAX_LISTED.
        command(&mut self.conn, "UIDL", "UIDL")?;
        self.numbers.clear();
        let numbers = &mut self.numbers;
        let mut keys: Vec<(String, u32)> = Vec::new();
        let mut cost = 0usize;
        multiline(
            &mut self.conn,
            "UIDL",
            MAX_LISTING_LINE,
            MAX_LISTED,
            &mut |l| {
                let line = String::from_utf8_lossy(l);
                let malformed =
                    || protocol(format!("POP3 UIDL: malformed line {:?}", printable(&line)));
                let mut f = line.split_whitespace();
                let (Some(n), Some(uid)) = (f.next(), f.next()) else {
                    return Err(malformed());
                };
                let n: u32 = n.parse().map_err(|_| malformed())?;
                // RFC 1939 §7: a unique-id is 1 to 70 printable characters.
                if uid.len() > 70 {
                    return Err(malformed());
                }
                // The key is held twice (listing and number map) with its overhead.
                cost += 2 * (uid.len() + KEY_COST);
                if cost > MAX_LISTING_COST {
                    return Err(fail(
                        Exit::Unavailable,
                        format!(
                            "POP3 UIDL: a listing of more than {MAX_LISTING_COST} bytes refused"
                        ),
                    ));
                }
                numbers.insert(uid.to_string(), n);
                keys.push((uid.to_string(), n));
                Ok(())
            },
        )?;
        command(&mut self.conn, "LIST", "LIST")?;
        let mut sizes = HashMap::new();
        multiline(
            &mut self.conn,
            "LIST",
            MAX_LISTING_LINE,
            MAX_LISTED,
            &mut |l| {
                let line = String::from_utf8_lossy(l);
                let mut f = line.split_whitespace();
                if let (Some(n), Some(size)) = (f.next(), f.next()) {
                    if let (Ok(n), Ok(size)) = (n.parse::<u32>(), size.parse::<u64>()) {
                        sizes.insert(n, size);
                    }
                }
                Ok(())
            },
        )?;
        let messages = keys
            .into_iter()
            .map(|(key, n)| RemoteMessage {
                key,
                size: sizes.get(&n).copied().unwrap_or(0),
            })
            .collect();
        Ok(Listing {
            validity: None,
            messages,
        })
    }

    fn fetch(&mut self, key: &str, out: &mut dyn Write, max: u64) -> anyhow::Result<()> {
        let n = *self
            .numbers
            .get(key)
            .ok_or_else(|| fail(Exit::Software, format!("POP3: unknown UIDL {key}")))?;
        command(&mut self.conn, &format!("RETR {n}"), "RETR")?;
        // Streamed to `out` line by line; the line bound is the IMAP one, as
        // for every server line: RFC 5322 allows 998 characters.
        let mut size = 0u64;
        multiline(&mut self.conn, "RETR", MAX_LINE, usize::MAX, &mut |line| {
            size += line.len() as u64 + 2;
            if size > max {
                return Err(fail(
                    Exit::DataErr,
                    format!(
                        "POP3 RETR: message {key} is larger than the maximum message size \
                         of {max} bytes"
                    ),
                ));
            }
            out.write_all(line)
                .and_then(|_| out.write_all(b"\r\n"))
                .map_err(|e| {
                    fail(
                        Exit::IoErr,
                        format!("POP3 RETR: cannot store the message: {e}"),
                    )
                })
        })
    }

    fn delete(&mut self, keys: &[String]) -> anyhow::Result<()> {
        for k in keys {
            let n = *self
                .numbers
                .get(k)
                .ok_or_else(|| fail(Exit::Software, format!("POP3: unknown UIDL {k}")))?;
            command(&mut self.conn, &format!("DELE {n}"), "DELE")?;
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        // QUIT commits the deletions: its +OK is what makes them final.
        command(&mut self.conn, "QUIT", "QUIT").map(|_| ())
    }

    fn wire_bytes(&self) -> u64 {
        self.conn.bytes()
    }
}
