//! Hostile servers: fake IMAP, POP3 and SMTP servers (threads of this test on
//! 127.0.0.1, TLS with the test CA's server certificate where the URL asks
//! for it) that answer with oversized or endless data: huge literals, in the
//! greeting before STARTTLS too, endless multi-line answers, endless reply
//! lines, messages larger than announced.
//!
//! Each case checks one clear error line, the documented exit status, no
//! abort, and sealpost's peak memory below [`RSS_BOUND_KB`] while the server
//! offers hundreds of MB: `VmHWM` (the peak resident set) of its process,
//! read from `/proc/PID/status` every 2 ms while it runs. (`ru_maxrss` from
//! `wait4` would not do: Linux carries the RSS of the forked copy of this
//! test process across exec into it.) Every fake server is bounded in the
//! bytes it sends ([`SEND_CAP`]) and in time ([`DEADLINE`]); sealpost runs
//! under an address-space limit ([`AS_LIMIT`]) so that a regression fails
//! the test instead of taking the machine down.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::client::{url, Client};
use super::servers::servers;

/// Most a fake server sends on one connection.
const SEND_CAP: u64 = 320 << 20;
/// Longest a fake server keeps a connection.
const DEADLINE: Duration = Duration::from_secs(60);
/// The bound on sealpost's peak resident memory while under attack.
const RSS_BOUND_KB: i64 = 100 * 1024;
/// sealpost's address-space limit in these tests.
const AS_LIMIT: u64 = 3 << 30;

/// A fake server's side of a connection.
type Stream = sealpost::mail::tls::Stream<rustls::ServerConnection>;

/// The test servers' certificate and key, as a rustls server configuration.
fn tls_config() -> Arc<rustls::ServerConfig> {
    static CONFIG: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use rustls::pki_types::pem::PemObject;
            use rustls::pki_types::{CertificateDer, PrivateKeyDer};
            let dir = servers().dir.join("tls");
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_file_iter(dir.join("server.pem"))
                    .unwrap()
                    .map(|c| c.unwrap())
                    .collect();
            let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            Arc::new(
                rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_no_client_auth()
                    .with_single_cert(certs, key)
                    .unwrap(),
            )
        })
        .clone()
}

/// One connection of a fake server, counting what it sends.
struct Peer {
    io: BufReader<Stream>,
    sent: u64,
    start: Instant,
}

impl Peer {
    fn over(&self, n: u64) -> io::Result<()> {
        if self.sent + n > SEND_CAP || self.start.elapsed() > DEADLINE {
            return Err(io::Error::other(
                "fake server: send cap or deadline reached",
            ));
        }
        Ok(())
    }

    fn send(&mut self, data: impl AsRef<[u8]>) -> io::Result<()> {
        let data = data.as_ref();
        self.over(data.len() as u64)?;
        self.io.get_mut().write_all(data)?;
        self.sent += data.len() as u64;
        Ok(())
    }

    /// Sends `unit` again and again, `total` bytes in all (up to the cap).
    fn flood(&mut self, unit: &[u8], total: u64) -> io::Result<()> {
        let chunk: Vec<u8> = unit.iter().copied().cycle().take(64 * 1024).collect();
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            self.send(&chunk[..n])?;
            left -= n as u64;
        }
        Ok(())
    }

    /// One line from the client, without its line end.
    fn line(&mut self) -> io::Result<String> {
        let mut l = String::new();
        (&mut self.io).take(64 * 1024).read_line(&mut l)?;
        if l.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(l.trim_end().to_string())
    }

    /// An IMAP command: its tag and the rest.
    fn command(&mut self) -> io::Result<(String, String)> {
        let l = self.line()?;
        let (tag, rest) = l.split_once(' ').unwrap_or((&l, ""));
        Ok((tag.to_string(), rest.to_ascii_uppercase()))
    }

    /// TLS from here on (after STARTTLS / STLS).
    fn start_tls(&mut self) -> io::Result<()> {
        let placeholder = BufReader::new(Stream::Plain(self.tcp()?.try_clone()?));
        let Stream::Plain(tcp) = std::mem::replace(&mut self.io, placeholder).into_inner() else {
            return Err(io::Error::other("TLS already"));
        };
        let conn = rustls::ServerConnection::new(tls_config()).map_err(io::Error::other)?;
        self.io = BufReader::new(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))));
        Ok(())
    }

    fn tcp(&self) -> io::Result<&TcpStream> {
        match self.io.get_ref() {
            Stream::Plain(s) => Ok(s),
            Stream::Tls(s) => Ok(&s.sock),
        }
    }
}

/// Starts a fake server running `script` on every connection (TLS first
/// when `tls`); returns its port.
fn fake<F>(tls: bool, script: F) -> u16
where
    F: Fn(&mut Peer) -> io::Result<()> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = Arc::new(script);
    let config = tls.then(tls_config);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(tcp) = conn else { continue };
            let script = script.clone();
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
                let _ = tcp.set_write_timeout(Some(Duration::from_secs(30)));
                let stream = match config {
                    Some(c) => Stream::Tls(Box::new(rustls::StreamOwned::new(
                        rustls::ServerConnection::new(c).unwrap(),
                        tcp,
                    ))),
                    None => Stream::Plain(tcp),
                };
                let mut peer = Peer {
                    io: BufReader::new(stream),
                    sent: 0,
                    start: Instant::now(),
                };
                let _ = script(&mut peer);
                let _ = peer.io.get_mut().flush();
            });
        }
    });
    port
}

/// How a sealpost run ended.
struct Run {
    code: i32,
    stderr: String,
    max_rss_kb: i64,
}

impl Run {
    /// One `sealpost: error:` line, `code`, peak memory within the bound.
    fn assert_refused(&self, code: i32, what: &str) -> &str {
        eprintln!(
            "{what}: exit {}, peak RSS {} KiB: {}",
            self.code,
            self.max_rss_kb,
            self.stderr.trim()
        );
        assert_eq!(self.code, code, "{what}: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{what}: {}", self.stderr);
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("sealpost: error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{what}: {}", self.stderr);
        assert!(
            self.max_rss_kb < RSS_BOUND_KB,
            "{what}: peak RSS {} KiB",
            self.max_rss_kb
        );
        errors[0]
    }
}

/// Runs `cmd` with `stdin`, under [`AS_LIMIT`], killed after two minutes;
/// returns its exit status and its peak RSS.
fn run_measured(mut cmd: std::process::Command, stdin: &[u8]) -> Run {
    cmd.stdin(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: AS_LIMIT,
                rlim_max: AS_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let done = Arc::new(AtomicBool::new(false));
    // Samples the peak RSS of sealpost's own image (the Name line tells it
    // from the forked copy of this process before exec) and kills a run
    // that takes more than two minutes.
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut peak = 0i64;
            while !done.load(Ordering::SeqCst) {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    if status.lines().any(|l| l == "Name:\tsealpost") {
                        let hwm = status
                            .lines()
                            .find_map(|l| l.strip_prefix("VmHWM:"))
                            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
                        peak = peak.max(hwm.unwrap_or(0));
                    }
                }
                if start.elapsed() > Duration::from_secs(120) {
                    // SAFETY: our own child, not yet reaped (done is unset).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    };
    let status = child.wait().unwrap();
    done.store(true, Ordering::SeqCst);
    let max_rss_kb = sampler.join().unwrap();
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Run {
        code,
        stderr: stderr.join().unwrap(),
        max_rss_kb,
    }
}

/// A client whose account fetches from `incoming` (e.g. `--imap=URL`) and
/// submits to `smtp`.
fn client(name: &str, smtp: &str, incoming: &str) -> Client {
    let s = servers();
    let c = Client::new(&s, name);
    c.add_account(&s, "h", smtp, incoming);
    c
}

/// A client whose account fetches from `SCHEME://127.0.0.1:PORT` (imap,
/// imaps, pop3 or pop3s).
fn fetching_client(name: &str, scheme: &str, port: u16) -> Client {
    let flag = if scheme.starts_with("imap") {
        "--imap"
    } else {
        "--pop3"
    };
    let smtp = url("smtps", servers().ports.smtps);
    client(name, &smtp, &format!("{flag}={}", url(scheme, port)))
}

/// A client whose account submits to `SCHEME://127.0.0.1:PORT`.
fn submitting_client(name: &str, scheme: &str, port: u16) -> Client {
    let imaps = url("imaps", servers().ports.imaps);
    client(name, &url(scheme, port), &format!("--imap={imaps}"))
}

fn fetch(c: &Client, extra: &[&str]) -> Run {
    let mut cmd = c.spawnable();
    cmd.args(["fetch", "--timeout", "10"]).args(extra);
    run_measured(cmd, b"")
}

fn maildir_files(c: &Client) -> Vec<std::fs::Metadata> {
    let md = c.keystore().join("mail").join("h");
    ["new", "cur", "tmp"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(md.join(sub)).into_iter().flatten())
        .map(|e| e.unwrap().metadata().unwrap())
        .collect()
}

/// 150 MiB: more than the memory bound, less than the default maximum
/// message size, well within what the fake server may send twice.
const BIG: u64 = 150 << 20;

/// The IMAP login every fake IMAP server grants: LOGIN, then CAPABILITY.
fn imap_login(p: &mut Peer) -> io::Result<()> {
    let (tag, _) = p.command()?;
    p.send(format!("{tag} OK logged in\r\n"))?;
    let (tag, _) = p.command()?;
    p.send(format!("* CAPABILITY IMAP4rev1\r\n{tag} OK\r\n"))
}

/// The answer to SELECT: one message, UIDVALIDITY 7.
fn select_reply(tag: &str) -> String {
    format!("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-WRITE] done\r\n")
}

/// Two literals of [`BIG`] bytes in one response, after `head`.
fn two_big_literals(p: &mut Peer, head: &str) -> io::Result<()> {
    p.send(format!("{head} {{{BIG}}}\r\n"))?;
    p.flood(b"A", BIG)?;
    p.send(format!(" {{{BIG}}}\r\n"))?;
    p.flood(b"B", BIG)?;
    p.send("\r\n")
}

#[test]
fn imap_literals_in_the_greeting_before_starttls_are_refused() {
    let port = fake(false, |p| two_big_literals(p, "* OK"));
    let c = fetching_client("h-greet", "imap", port);
    let run = fetch(&c, &[]);
    let line = run.assert_refused(69, "IMAP greeting literal");
    assert!(line.contains("literal"), "{line}");
    assert!(maildir_files(&c).is_empty());
}

#[test]
fn imap_huge_literals_after_login_are_refused() {
    let port = fake(true, |p| {
        p.send("* OK fake\r\n")?;
        imap_login(p)?;
        let (_tag, _) = p.command()?; // SELECT
        two_big_literals(p, "* OK [ALERT]")
    });
    let c = fetching_client("h-lit", "imaps", port);
    let run = fetch(&c, &["--no-compress"]);
    let line = run.assert_refused(69, "IMAP literals in a SELECT response");
    assert!(
        line.contains("literal of 157286400 bytes refused"),
        "{line}"
    );
    assert!(maildir_files(&c).is_empty());
}

/// A mailbox of one message of `size` bytes that the server lists as
/// `listed` bytes.
fn imap_one_message(
    size: u64,
    listed: u64,
) -> impl Fn(&mut Peer) -> io::Result<()> + Send + Sync + 'static {
    move |p| {
        p.send("* OK fake\r\n")?;
        imap_login(p)?;
        loop {
            let (tag, cmd) = p.command()?;
            if cmd.starts_with("SELECT") {
                p.send(select_reply(&tag))?;
            } else if cmd.starts_with("UID FETCH 1:*") {
                p.send(format!(
                    "* 1 FETCH (UID 1 RFC822.SIZE {listed})\r\n{tag} OK done\r\n"
                ))?;
            } else if cmd.starts_with("UID FETCH 1 ") {
                p.send(format!("* 1 FETCH (UID 1 BODY[] {{{size}}}\r\n"))?;
                let head = b"Subject: big\r\n\r\n";
                p.send(head)?;
                p.flood(
                    b"0123456789abcdefghijklmnopqrstuvwxyz\r\n",
                    size - head.len() as u64,
                )?;
                p.send(format!(")\r\n{tag} OK done\r\n"))?;
            } else if cmd.starts_with("LOGOUT") {
                return p.send(format!("* BYE\r\n{tag} OK bye\r\n"));
            } else {
                p.send(format!("{tag} BAD what\r\n"))?;
            }
        }
    }
}

#[test]
fn imap_large_message_is_streamed_to_disk_not_held_in_memory() {
    let port = fake(true, imap_one_message(BIG, BIG));
    let c = fetching_client("h-big", "imaps", port);
    let run = fetch(&c, &[]);
    eprintln!(
        "IMAP {BIG}-byte message: exit {}, peak RSS {} KiB: {}",
        run.code,
        run.max_rss_kb,
        run.stderr.trim()
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let files = maildir_files(&c);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].len(), BIG);
    assert!(
        run.max_rss_kb < RSS_BOUND_KB,
        "peak RSS {} KiB for a {BIG}-byte message",
        run.max_rss_kb
    );
}

#[test]
fn imap_message_over_the_maximum_size_is_refused() {
    let size = 40 << 20;
    // Listed as larger than the limit: not fetched at all, left on the server.
    let port = fake(true, imap_one_message(size, size));
    let c = fetching_client("h-max1", "imaps", port);
    let run = fetch(&c, &["--max-message-size", "16M"]);
    let line = run.assert_refused(65, "IMAP message listed over the limit");
    assert!(line.contains("over the maximum message size"), "{line}");
    assert!(
        run.stderr.contains("message 1 is 41943040 bytes"),
        "{}",
        run.stderr
    );
    assert!(maildir_files(&c).is_empty());

    // Listed small, sent large: cut off when the literal is announced.
    let port = fake(true, imap_one_message(size, 1000));
    let c = fetching_client("h-max2", "imaps", port);
    let run = fetch(&c, &["--max-message-size", "16M"]);
    let line = run.assert_refused(65, "IMAP message sent over the limit");
    assert!(
        line.contains("maximum message size of 16777216 bytes"),
        "{line}"
    );
    assert!(maildir_files(&c).is_empty());
}

#[test]
fn imap_endless_untagged_responses_are_cut_off() {
    let port = fake(true, |p| {
        p.send("* OK fake\r\n")?;
        imap_login(p)?;
        p.command()?; // SELECT: answered forever, never tagged
        p.flood(
            b"* 1 EXISTS\r\n* OK [UNSEEN 1] (a b c d e f g h)\r\n",
            SEND_CAP,
        )
    });
    let c = fetching_client("h-untagged", "imaps", port);
    let run = fetch(&c, &[]);
    let line = run.assert_refused(69, "IMAP endless untagged responses");
    assert!(line.contains("responses to one command"), "{line}");
}

#[test]
fn imap_uid_out_of_range_is_refused() {
    let port = fake(true, |p| {
        p.send("* OK fake\r\n")?;
        imap_login(p)?;
        let (tag, _) = p.command()?; // SELECT
        p.send(select_reply(&tag))?;
        let (tag, _) = p.command()?; // UID FETCH 1:*
        p.send(format!(
            "* 1 FETCH (UID 4294967296 RFC822.SIZE 10)\r\n{tag} OK done\r\n"
        ))
    });
    let c = fetching_client("h-uid", "imaps", port);
    let run = fetch(&c, &[]);
    let line = run.assert_refused(69, "IMAP UID beyond 32 bits");
    assert!(line.contains("invalid UID 4294967296"), "{line}");
}

/// A POP3 server that logs anyone in, then runs `rest`.
fn pop3<F>(rest: F) -> impl Fn(&mut Peer) -> io::Result<()> + Send + Sync + 'static
where
    F: Fn(&mut Peer) -> io::Result<()> + Send + Sync + 'static,
{
    move |p| {
        p.send("+OK fake POP3\r\n")?;
        p.line()?; // USER
        p.send("+OK\r\n")?;
        p.line()?; // PASS
        p.send("+OK\r\n")?;
        rest(p)
    }
}

#[test]
fn pop3_endless_uidl_answer_is_cut_off() {
    let port = fake(
        true,
        pop3(|p| {
            p.line()?; // UIDL
            p.send("+OK\r\n")?;
            p.flood(
                b"1 uid-uid-uid-uid-uid-uid-uid-uid-uid-uid-uid-uid-uid-uid-uid\r\n",
                SEND_CAP,
            )
        }),
    );
    let c = fetching_client("h-uidl", "pop3s", port);
    let run = fetch(&c, &[]);
    let line = run.assert_refused(69, "POP3 endless UIDL");
    assert!(line.contains("POP3 UIDL"), "{line}");
}

#[test]
fn pop3_endless_message_is_cut_at_the_maximum_size() {
    let port = fake(
        true,
        pop3(|p| {
            p.line()?; // UIDL
            p.send("+OK\r\n1 one\r\n.\r\n")?;
            p.line()?; // LIST
            p.send("+OK\r\n1 100\r\n.\r\n")?;
            p.line()?; // RETR 1
            p.send("+OK\r\nSubject: endless\r\n\r\n")?;
            p.flood(
                b"an endless line of a message that never ends\r\n",
                SEND_CAP,
            )
        }),
    );
    let c = fetching_client("h-retr", "pop3s", port);
    // The limit from config.toml this time.
    let config = c.keystore().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[fetch]\nmax_message_size = \"32M\"\n");
    std::fs::write(&config, text).unwrap();
    let run = fetch(&c, &[]);
    let line = run.assert_refused(65, "POP3 endless RETR");
    assert!(
        line.contains("maximum message size of 33554432 bytes"),
        "{line}"
    );
    assert!(maildir_files(&c).is_empty());
}

/// Submits one message through the account's SMTP server.
fn submit(c: &Client) -> Run {
    let mut cmd = c.spawnable();
    cmd.args(["submit", "--timeout", "10"]);
    let msg = format!(
        "From: <{}>\r\nTo: <nobody@example.org>\r\nSubject: x\r\n\r\nkeep me\r\n",
        c.addr
    );
    run_measured(cmd, msg.as_bytes())
}

#[test]
fn smtp_endless_reply_lines_are_cut_off() {
    let endless = |p: &mut Peer| p.flood(b"220-", SEND_CAP);
    // The greeting, in the clear before STARTTLS and under implicit TLS.
    for (scheme, tls) in [("smtp", false), ("smtps", true)] {
        let port = fake(tls, endless);
        let c = submitting_client(&format!("h-smtp-{scheme}"), scheme, port);
        let run = submit(&c);
        let line = run.assert_refused(75, &format!("{scheme}: endless greeting line"));
        assert!(line.contains("reply line of more than"), "{line}");
    }
    // After STARTTLS: the EHLO reply over TLS never ends.
    let port = fake(false, |p| {
        p.send("220 fake ESMTP\r\n")?;
        p.line()?; // EHLO
        p.send("250-fake\r\n250 STARTTLS\r\n")?;
        p.line()?; // STARTTLS
        p.send("220 go ahead\r\n")?;
        p.start_tls()?;
        p.line()?; // EHLO
        p.send("250-")?;
        p.flood(b"X", SEND_CAP)
    });
    let c = submitting_client("h-smtp-starttls", "smtp", port);
    let run = submit(&c);
    let line = run.assert_refused(75, "smtp: endless EHLO line after STARTTLS");
    assert!(line.contains("reply line of more than"), "{line}");
}

/// A server that offers no login while the account has a password is a
/// setting to fix, not a temporary failure: status 78, in sealpost's words,
/// the message kept in the outbox.
#[test]
fn smtp_server_without_auth_is_a_configuration_error() {
    for (label, ehlo) in [
        ("none", "250-fake\r\n250 8BITMIME\r\n"),
        ("unknown", "250-fake\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n"),
    ] {
        let port = fake(true, move |p| {
            p.send("220 fake ESMTP\r\n")?;
            p.line()?; // EHLO
            p.send(ehlo)?;
            p.line().map(drop) // QUIT, or the connection closed
        });
        let c = submitting_client(&format!("h-smtp-noauth-{label}"), "smtps", port);
        let run = submit(&c);
        let line = run.assert_refused(78, &format!("no usable AUTH ({label})"));
        assert!(line.contains("cannot log in"), "{line}");
        assert!(!line.contains("internal client error"), "{line}");
        let queued = c.cmd().args(["--json", "outbox", "list"]).output().unwrap();
        assert!(
            String::from_utf8_lossy(&queued.stdout).contains("nobody@example.org"),
            "the message stays queued: {}",
            String::from_utf8_lossy(&queued.stdout)
        );
    }
}
