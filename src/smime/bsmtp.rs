//! Batch SMTP (RFC 2442): SMTP transactions written to a stream.
//!
//! `sealpost encrypt` writes one transaction per envelope, `sealpost submit`
//! reads them back, and `exim -bS` accepts the same stream. A transaction is
//! `MAIL FROM:<sender>`, one `RCPT TO:<addr>` per recipient, `DATA`, the
//! message with dot-stuffing and CRLF line endings, and a line holding `.`.
//!
//! The envelope commands, here and in a live session ([`crate::mail::smtp`]), are
//! made only by [`mail_from_command`] and [`rcpt_to_command`], which take
//! validated [`SmtpAddress`]es: an address with a CR or LF in it (from a
//! certificate, a member list, a header) cannot add a command of its own.

use std::io::Write;

use crate::error::{fail, Exit};
use crate::smime::message::SmtpAddress;

/// One SMTP transaction: the envelope and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
}

/// `MAIL FROM:<sender>` with ESMTP parameters (each ` KEYWORD=value`), CRLF
/// included. `None` is the null reverse-path `<>`.
pub fn mail_from_command(from: Option<&SmtpAddress>, params: &[&str]) -> String {
    let mut line = format!("MAIL FROM:<{}>", from.map_or("", SmtpAddress::as_str));
    for p in params {
        line.push(' ');
        line.push_str(p);
    }
    line.push_str("\r\n");
    line
}

/// `RCPT TO:<recipient>`, CRLF included.
pub fn rcpt_to_command(to: &SmtpAddress) -> String {
    format!("RCPT TO:<{to}>\r\n")
}

/// The validated envelope of a transaction: the sender (`None` for `<>`)
/// and the recipients. An invalid address is an [`Exit::DataErr`] naming it.
pub fn envelope_of(t: &Transaction) -> anyhow::Result<(Option<SmtpAddress>, Vec<SmtpAddress>)> {
    let from = SmtpAddress::parse_reverse_path(&t.mail_from).map_err(|e| refused("sender", &e))?;
    let rcpt = t
        .rcpt_to
        .iter()
        .map(|r| SmtpAddress::parse(r).map_err(|e| refused("recipient", &e)))
        .collect::<anyhow::Result<_>>()?;
    Ok((from, rcpt))
}

fn refused(role: &str, e: &anyhow::Error) -> anyhow::Error {
    fail(
        Exit::DataErr,
        format!(
            "refused to write an SMTP command for the {role}: {}",
            crate::error::single_line(e)
        ),
    )
}

/// Writes transactions as Batch SMTP. The message gets CRLF line endings
/// (bare LF is converted) and a final CRLF if it lacks one. Every address is
/// validated before anything is written: one invalid address writes nothing.
pub fn write(out: &mut impl Write, transactions: &[Transaction]) -> anyhow::Result<()> {
    let envelopes = transactions
        .iter()
        .map(envelope_of)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let io = |e: std::io::Error| fail(Exit::IoErr, format!("cannot write batch SMTP: {e}"));
    for (t, (from, rcpt)) in transactions.iter().zip(&envelopes) {
        out.write_all(mail_from_command(from.as_ref(), &[]).as_bytes())
            .map_err(io)?;
        for r in rcpt {
            out.write_all(rcpt_to_command(r).as_bytes()).map_err(io)?;
        }
        out.write_all(b"DATA\r\n").map_err(io)?;
        write_dot_stuffed(out, &t.data).map_err(io)?;
        out.write_all(b".\r\n").map_err(io)?;
    }
    Ok(())
}

fn write_dot_stuffed(out: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    let mut lines = data.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        if last && line.is_empty() {
            break; // the data ended with a newline
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            out.write_all(b".")?;
        }
        out.write_all(line)?;
        out.write_all(b"\r\n")?;
    }
    Ok(())
}

/// Whether input starts like a Batch SMTP stream (its first non-empty line
/// is MAIL FROM, HELO or EHLO) rather than a message: what `encrypt` writes
/// by default, told apart from one message by `submit`, `inspect` and
/// `decrypt`. A message's first line is a header field, never one of these.
pub fn looks_like(data: &[u8]) -> bool {
    let first = data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let head = &first[..first.len().min(10)];
    [&b"MAIL FROM:"[..], b"HELO", b"EHLO"]
        .iter()
        .any(|p| head.len() >= p.len() && head[..p.len()].eq_ignore_ascii_case(p))
}

/// Reads a Batch SMTP stream. HELO/EHLO/RSET/NOOP/QUIT lines are accepted and
/// ignored; anything else out of place is an error naming the line.
pub fn parse(input: &[u8]) -> anyhow::Result<Vec<Transaction>> {
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    let mut lines = input.split(|&b| b == b'\n').enumerate().peekable();
    while let Some((n, raw)) = lines.next() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() && lines.peek().is_none() {
            break;
        }
        let text = String::from_utf8_lossy(line);
        let upper = text.to_ascii_uppercase();
        let bad = |why: &str| {
            fail(
                Exit::DataErr,
                format!("batch SMTP line {}: {why}: {:?}", n + 1, truncate(&text)),
            )
        };
        if upper.starts_with("MAIL FROM:") {
            if current.is_some() {
                return Err(bad("MAIL FROM inside a transaction"));
            }
            let from = path_arg(&text[10..]).ok_or_else(|| bad("malformed MAIL FROM"))?;
            SmtpAddress::parse_reverse_path(&from)
                .map_err(|e| bad(&crate::error::single_line(&e)))?;
            current = Some((from, Vec::new()));
        } else if upper.starts_with("RCPT TO:") {
            let (_, rcpts) = current
                .as_mut()
                .ok_or_else(|| bad("RCPT TO before MAIL FROM"))?;
            let addr = path_arg(&text[8..])
                .filter(|a| !a.is_empty())
                .ok_or_else(|| bad("malformed RCPT TO"))?;
            SmtpAddress::parse(&addr).map_err(|e| bad(&crate::error::single_line(&e)))?;
            rcpts.push(addr);
        } else if upper == "DATA" {
            let (from, rcpts) = current.take().ok_or_else(|| bad("DATA before MAIL FROM"))?;
            if rcpts.is_empty() {
                return Err(bad("DATA without RCPT TO"));
            }
            let mut data = Vec::new();
            let mut terminated = false;
            for (_, raw) in lines.by_ref() {
                let l = raw.strip_suffix(b"\r").unwrap_or(raw);
                if l == b"." {
                    terminated = true;
                    break;
                }
                data.extend_from_slice(
                    l.strip_prefix(b".")
                        .filter(|_| l.starts_with(b".."))
                        .unwrap_or(l),
                );
                data.extend_from_slice(b"\r\n");
            }
            if !terminated {
                return Err(fail(
                    Exit::DataErr,
                    "batch SMTP: message data not terminated by a line with '.'",
                ));
            }
            out.push(Transaction {
                mail_from: from,
                rcpt_to: rcpts,
                data,
            });
        } else if ["HELO", "EHLO", "RSET", "NOOP", "QUIT"]
            .iter()
            .any(|c| upper.starts_with(c))
        {
            if upper.starts_with("RSET") {
                current = None;
            }
        } else {
            return Err(bad("unexpected command"));
        }
    }
    if current.is_some() {
        return Err(fail(
            Exit::DataErr,
            "batch SMTP: transaction without DATA at end of input",
        ));
    }
    if out.is_empty() {
        return Err(fail(
            Exit::DataErr,
            "batch SMTP: no transaction in the input",
        ));
    }
    Ok(out)
}

/// The address in `<addr>` (ESMTP parameters after it are ignored).
fn path_arg(s: &str) -> Option<String> {
    let s = s.trim_start();
    let rest = s.strip_prefix('<')?;
    let end = rest.find('>')?;
    let addr = &rest[..end];
    if addr.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(addr.to_string())
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_dot_stuffing() {
        let t = vec![
            Transaction {
                mail_from: "a@x.org".into(),
                rcpt_to: vec!["b@x.org".into(), "c@x.org".into()],
                data: b"Subject: x\r\n\r\n.leading dot\r\n..two\r\n.\r\nend\r\n".to_vec(),
            },
            Transaction {
                mail_from: "".into(),
                rcpt_to: vec!["d@x.org".into()],
                data: b"no final newline".to_vec(),
            },
        ];
        let mut buf = Vec::new();
        write(&mut buf, &t).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(
            text.contains("\r\n..leading dot\r\n...two\r\n..\r\nend\r\n.\r\n"),
            "{text}"
        );
        let back = parse(&buf).unwrap();
        assert_eq!(back[0], t[0]);
        assert_eq!(back[1].data, b"no final newline\r\n");
        assert_eq!(back[1].mail_from, "");
    }

    #[test]
    fn malformed_streams_are_refused() {
        for bad in [
            &b"RCPT TO:<a@b>\r\n"[..],
            b"MAIL FROM:<a@b>\r\nDATA\r\nx\r\n.\r\n",
            b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nunterminated\r\n",
            b"MAIL FROM:a@b\r\n",
            b"hello\r\n",
            b"",
            b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(crate::error::classify(&err).0, Exit::DataErr);
        }
    }

    /// Issue #11, item 1: a member's certificate named
    /// `m@example.org>\r\nDATA\r\n…`, and the writer wrote it into
    /// `RCPT TO:<…>`, injecting a whole transaction. The writer refuses it
    /// and writes nothing, not even the transactions before it.
    #[test]
    fn the_writer_refuses_addresses_that_would_inject_commands() {
        let injected = "m@example.org>\r\nDATA\r\nSubject: forged\r\n\r\nx\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<outsider@example.net";
        let good = Transaction {
            mail_from: "list@example.org".into(),
            rcpt_to: vec!["bob@example.org".into()],
            data: b"Subject: hi\r\n\r\nhi\r\n".to_vec(),
        };
        let as_rcpt = Transaction {
            rcpt_to: vec![injected.into()],
            ..good.clone()
        };
        let as_sender = Transaction {
            mail_from: injected.into(),
            ..good.clone()
        };
        let bare_cr = Transaction {
            rcpt_to: vec!["\"a\\\rRCPT TO:<x@example.net>\"@example.org".into()],
            ..good.clone()
        };
        for bad in [as_rcpt, as_sender, bare_cr] {
            let mut out = Vec::new();
            let err = write(&mut out, &[good.clone(), bad]).unwrap_err();
            assert_eq!(crate::error::classify(&err).0, Exit::DataErr);
            assert!(err.to_string().contains("refused to write"), "{err}");
            assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
        }
        // Reading refuses them too.
        let stream =
            "MAIL FROM:<a@example.org>\r\nRCPT TO:<\"a\\\rb\"@example.org>\r\nDATA\r\nx\r\n.\r\n";
        assert!(parse(stream.as_bytes()).is_err());
        let stream = "MAIL FROM:<a@example.org>\r\nRCPT TO:<a@[junk]>\r\nDATA\r\nx\r\n.\r\n";
        assert!(parse(stream.as_bytes()).is_err());
    }

    #[test]
    fn accepts_lf_helo_and_quit() {
        let t =
            parse(b"HELO me\nMAIL FROM:<a@b> SIZE=10\nRCPT TO:<c@d>\nDATA\nhi\n.\nQUIT\n").unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].data, b"hi\r\n");
    }
}
