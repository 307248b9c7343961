//! A small POP3 client (RFC 1939, STLS from RFC 2595): USER/PASS, UIDL,
//! LIST, RETR, DELE, QUIT. Deletions take effect only at QUIT.

use std::collections::HashMap;

use super::tls::{Conn, Dialect, LoginError};
use super::{Listing, Remote, RemoteMessage};
use crate::error::{fail, Exit};

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
        .read_line()
        .map_err(|e| protocol(format!("POP3 {what}: {e}")))?;
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

/// Reads a multi-line body up to the "." line, undoing dot-stuffing; lines end in CRLF.
fn multiline(conn: &mut Conn, what: &str) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = conn
            .read_line()
            .map_err(|e| protocol(format!("POP3 {what}: {e}")))?;
        if line == b"." {
            return Ok(out);
        }
        let line = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
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
        match conn.read_line() {
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
        match conn.read_line() {
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
        command(&mut self.conn, "UIDL", "UIDL")?;
        let uidl = multiline(&mut self.conn, "UIDL")?;
        command(&mut self.conn, "LIST", "LIST")?;
        let list = multiline(&mut self.conn, "LIST")?;
        let mut sizes = HashMap::new();
        for line in String::from_utf8_lossy(&list).lines() {
            let mut f = line.split_whitespace();
            if let (Some(n), Some(size)) = (f.next(), f.next()) {
                if let (Ok(n), Ok(size)) = (n.parse::<u32>(), size.parse::<u64>()) {
                    sizes.insert(n, size);
                }
            }
        }
        self.numbers.clear();
        let mut messages = Vec::new();
        for line in String::from_utf8_lossy(&uidl).lines() {
            let mut f = line.split_whitespace();
            let (Some(n), Some(uid)) = (f.next(), f.next()) else {
                return Err(protocol(format!(
                    "POP3 UIDL: malformed line {:?}",
                    printable(line)
                )));
            };
            let n: u32 = n.parse().map_err(|_| {
                protocol(format!("POP3 UIDL: malformed line {:?}", printable(line)))
            })?;
            self.numbers.insert(uid.to_string(), n);
            messages.push(RemoteMessage {
                key: uid.to_string(),
                size: sizes.get(&n).copied().unwrap_or(0),
            });
        }
        Ok(Listing {
            validity: None,
            messages,
        })
    }

    fn fetch(&mut self, key: &str) -> anyhow::Result<Vec<u8>> {
        let n = *self
            .numbers
            .get(key)
            .ok_or_else(|| fail(Exit::Software, format!("POP3: unknown UIDL {key}")))?;
        command(&mut self.conn, &format!("RETR {n}"), "RETR")?;
        multiline(&mut self.conn, "RETR")
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
