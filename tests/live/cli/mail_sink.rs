//! Mail servers on loopback for the tests that run documented command lines
//! as a reader types them (the help examples, the README): plain text, every
//! login accepted, every message submitted taken, and a mailbox of one
//! message for POP3 and IMAP. Each counts the messages that went through.
//! Accounts name them with smtp+plain://, pop3+plain:// or imap+plain://
//! and --insecure-plaintext.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// One server on loopback, in a thread; stopped when dropped.
pub struct MailSink {
    pub port: u16,
    served: Arc<Served>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What a session serves and counts.
struct Served {
    /// The one message in the mailbox (POP3, IMAP), CRLF line ends.
    mailbox: String,
    /// Messages submitted or retrieved so far.
    moved: AtomicUsize,
}

type Session = fn(TcpStream, &Served) -> std::io::Result<()>;

impl MailSink {
    /// A submission server that takes every message.
    pub fn smtp() -> MailSink {
        MailSink::start(smtp_session, "")
    }

    /// A POP3 server whose mailbox holds `message`.
    pub fn pop3(message: &str) -> MailSink {
        MailSink::start(pop3_session, message)
    }

    /// An IMAP server whose INBOX holds `message`.
    pub fn imap(message: &str) -> MailSink {
        MailSink::start(imap_session, message)
    }

    fn start(session: Session, message: &str) -> MailSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(Served {
            mailbox: crlf(message),
            moved: AtomicUsize::new(0),
        });
        let (stopped, shared) = (stop.clone(), served.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    conn.set_read_timeout(Some(std::time::Duration::from_secs(20)))
                        .unwrap();
                    // A client that goes away mid-session is its own business.
                    let _ = session(conn, &shared);
                }
            }
        });
        MailSink {
            port,
            served,
            stop,
            thread: Some(thread),
        }
    }

    /// The server's URL for `account add` (with --insecure-plaintext).
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}+plain://127.0.0.1:{}", self.port)
    }

    /// Messages submitted or retrieved so far.
    pub fn moved(&self) -> usize {
        self.served.moved.load(Ordering::SeqCst)
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `text` with CRLF line ends, as it travels on the wire.
fn crlf(text: &str) -> String {
    text.lines()
        .map(|l| format!("{}\r\n", l.trim_end_matches('\r')))
        .collect()
}

/// Reads one line; `None` when the client has closed the connection.
fn read_line(reader: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    Ok((reader.read_line(&mut line)? > 0).then_some(line))
}

/// The first four letters of a command, upper case.
fn verb(line: &str) -> String {
    line.get(..4).unwrap_or_default().to_ascii_uppercase()
}

/// One SMTP session: 250 to everything, 235 to AUTH PLAIN, each message
/// read up to its final dot and accepted.
fn smtp_session(conn: TcpStream, served: &Served) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    out.write_all(b"220 sink ESMTP\r\n")?;
    while let Some(line) = read_line(&mut reader)? {
        let reply: &[u8] = match verb(&line).as_str() {
            "EHLO" => b"250-sink\r\n250 AUTH PLAIN\r\n",
            "AUTH" => b"235 accepted\r\n",
            "DATA" => {
                out.write_all(b"354 go ahead\r\n")?;
                while read_line(&mut reader)?.ok_or(ErrorKind::UnexpectedEof)? != ".\r\n" {}
                served.moved.fetch_add(1, Ordering::SeqCst);
                b"250 queued\r\n"
            }
            "QUIT" => return out.write_all(b"221 bye\r\n"),
            _ => b"250 ok\r\n",
        };
        out.write_all(reply)?;
    }
    Ok(())
}

/// One POP3 session over the mailbox.
fn pop3_session(conn: TcpStream, served: &Served) -> std::io::Result<()> {
    let message = &served.mailbox;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    out.write_all(b"+OK sink\r\n")?;
    while let Some(line) = read_line(&mut reader)? {
        let reply = match verb(&line).as_str() {
            "UIDL" => "+OK\r\n1 example-1\r\n.\r\n".to_string(),
            "LIST" => format!("+OK\r\n1 {}\r\n.\r\n", message.len()),
            "RETR" => {
                served.moved.fetch_add(1, Ordering::SeqCst);
                let mut text = String::from("+OK\r\n");
                for l in message.split_inclusive("\r\n") {
                    if l.starts_with('.') {
                        text.push('.');
                    }
                    text.push_str(l);
                }
                text + ".\r\n"
            }
            "QUIT" => return out.write_all(b"+OK bye\r\n"),
            _ => "+OK\r\n".to_string(),
        };
        out.write_all(reply.as_bytes())?;
    }
    Ok(())
}

/// One IMAP session over an INBOX of one message (UID 1): what sealpost's
/// fetch asks (LOGIN, CAPABILITY, SELECT, UID FETCH of sizes, then of each
/// body, LOGOUT); OK to anything else.
fn imap_session(conn: TcpStream, served: &Served) -> std::io::Result<()> {
    let message = &served.mailbox;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    out.write_all(b"* OK sink IMAP4rev1 ready\r\n")?;
    while let Some(line) = read_line(&mut reader)? {
        let (tag, command) = line.trim_end().split_once(' ').unwrap_or((&line, ""));
        let command = command.to_ascii_uppercase();
        let untagged = if command.starts_with("CAPABILITY") {
            "* CAPABILITY IMAP4rev1\r\n".to_string()
        } else if command.starts_with("SELECT") {
            "* 1 EXISTS\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n".to_string()
        } else if command.starts_with("UID FETCH") && command.contains("RFC822.SIZE") {
            format!("* 1 FETCH (UID 1 RFC822.SIZE {})\r\n", message.len())
        } else if command.starts_with("UID FETCH") && command.contains("BODY.PEEK[]") {
            served.moved.fetch_add(1, Ordering::SeqCst);
            format!(
                "* 1 FETCH (UID 1 BODY[] {{{}}}\r\n{message})\r\n",
                message.len()
            )
        } else if command.starts_with("LOGOUT") {
            out.write_all(format!("* BYE sink\r\n{tag} OK LOGOUT done\r\n").as_bytes())?;
            return Ok(());
        } else {
            String::new()
        };
        out.write_all(format!("{untagged}{tag} OK done\r\n").as_bytes())?;
    }
    Ok(())
}
