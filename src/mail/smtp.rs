//! SMTP submission: host failover, implicit TLS or required STARTTLS
//! (rustls, system roots plus an optional extra CA), AUTH, and one reply per
//! command, so that every recipient's RCPT outcome is known. The wire is
//! [`wire`]'s, which reads every reply within bounds (lettre's connection
//! does not: see there); lettre formats the commands and checks addresses.
//!
//! When the server offers PIPELINING (RFC 2920), MAIL FROM, every RCPT TO
//! and DATA go out in one write and their replies are read afterwards, in
//! order: a transaction costs two round trips (the group, then the message)
//! instead of three plus one per recipient.
//!
//! [`Transport`] is the seam the outbox drives: [`Session`] implements it
//! over the network, the outbox tests with a scripted fake.

use std::fmt;
use std::time::Duration;

use lettre::transport::smtp::commands::{Data, Rset};
use zeroize::Zeroizing;

use crate::error::{fail_hint, Exit};
use crate::mail::tls::TlsSetup;
use crate::smime::bsmtp::{mail_from_command, rcpt_to_command};
use crate::smime::message::SmtpAddress;
use crate::store::account::Endpoint;

pub mod wire;

use wire::Connection;

/// What is needed to reach and log in to a submission server.
pub struct SmtpConfig {
    /// Tried in order until one accepts the connection, TLS and login.
    pub endpoints: Vec<Endpoint>,
    pub user: String,
    pub password: Zeroizing<String>,
    /// Extra trust anchors (PEM), besides the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Per connection attempt and per command.
    pub timeout: Duration,
    /// The name sent in EHLO.
    pub hello_name: String,
}

/// The server's reply to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptReply {
    Accepted,
    /// 4xx: try this recipient again later.
    Deferred(String),
    /// 5xx: this recipient will not be accepted.
    Refused(String),
}

/// How one transaction ended, when the connection survived it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// DATA got 250: the accepted recipients are the server's business now.
    Accepted {
        rcpt: Vec<(String, RcptReply)>,
        reply: String,
    },
    /// Nothing was sent: MAIL FROM was refused, no recipient was accepted, or
    /// DATA (or the message) got a negative reply. `permanent` is true for 5xx.
    NotAccepted {
        rcpt: Vec<(String, RcptReply)>,
        reply: String,
        permanent: bool,
    },
}

/// The connection broke (network error, timeout, or an unreadable reply)
/// in the middle of a transaction: its outcome is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLost(pub String);

impl fmt::Display for ConnectionLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection lost: {}", self.0)
    }
}

/// The hook [`Transport::send`] calls with the RCPT replies before DATA.
pub type BeforeData<'a> = dyn FnMut(&[(String, RcptReply)]) -> Result<(), String> + 'a;

/// One open, authenticated submission connection.
pub trait Transport {
    /// Sends one transaction to `rcpt` (RSET first when needed).
    /// `before_data` is called with the RCPT replies once at least one
    /// recipient was accepted and before DATA, so that the caller can prepare
    /// its record of success while nothing can yet be delivered; if it
    /// fails, nothing is sent and the error comes back as [`ConnectionLost`].
    fn send(
        &mut self,
        mail_from: &str,
        rcpt: &[String],
        data: &[u8],
        before_data: &mut BeforeData<'_>,
    ) -> Result<SendOutcome, ConnectionLost>;
    /// Ends the session politely.
    fn quit(&mut self);
    /// `host:port` for messages.
    fn server(&self) -> String;
}

/// A live connection to one of the configured servers.
pub struct Session {
    /// None once closed on purpose (see [`Session::close`]).
    conn: Option<Connection>,
    endpoint: Endpoint,
    dirty: bool,
    pipelining: bool,
}

/// Commands at most per pipelined write: RFC 2920 §3.1 warns that a client
/// writing more than the TCP windows hold, without reading, can deadlock with
/// a server blocked writing its replies. 100 short commands are a few KiB.
const PIPELINE_MAX: usize = 100;

impl Session {
    /// Connects to the first endpoint that works. When all fail the error
    /// names each one and why, on one line. A refused login stops the search
    /// (the same credentials will not work elsewhere) with [`Exit::NoPerm`];
    /// otherwise the failure is temporary ([`Exit::TempFail`]).
    pub fn connect(cfg: &SmtpConfig) -> anyhow::Result<Session> {
        // Once for all endpoints: loading the system roots is the slow part
        // of a connection, and a bad CA file is the account's fault (78),
        // not one endpoint's.
        let tls = TlsSetup::new(cfg.ca_pem.as_deref())?;
        Self::connect_with(cfg, &tls)
    }

    /// [`connect`](Self::connect) with TLS settings made beforehand (by a
    /// caller that connects many times).
    pub fn connect_with(cfg: &SmtpConfig, tls: &TlsSetup) -> anyhow::Result<Session> {
        let mut reasons = Vec::new();
        let mut no_login = 0;
        for endpoint in &cfg.endpoints {
            match connect_one(cfg, tls, endpoint) {
                Ok((conn, pipelining)) => {
                    return Ok(Session {
                        conn: Some(conn),
                        endpoint: endpoint.clone(),
                        dirty: false,
                        pipelining,
                    })
                }
                Err(Attempt::Auth(reply)) => {
                    return Err(fail_hint(
                        Exit::NoPerm,
                        format!(
                            "{endpoint} refused the login of {}: {reply}",
                            cfg.user
                        ),
                        "check the account's password (see `sealpost account list` for where it comes from)",
                    ))
                }
                Err(Attempt::Failed(why)) => reasons.push(format!("{endpoint}: {why}")),
                Err(Attempt::NoLogin(why)) => {
                    no_login += 1;
                    reasons.push(format!("{endpoint} {why}"));
                }
            }
        }
        // Every server answered, and none offers a login: no retry helps.
        if no_login > 0 && no_login == reasons.len() {
            return Err(fail_hint(
                Exit::Config,
                format!("cannot log in as {}: {}", cfg.user, reasons.join("; ")),
                "is this the submission port (587 with STARTTLS, or 465)? The messages stay in \
                 the outbox; fix the account (`sealpost account add --replace`) and run \
                 `sealpost outbox flush`",
            ));
        }
        Err(fail_hint(
            Exit::TempFail,
            format!("no submission server could be used: {}", reasons.join("; ")),
            "the messages stay in the outbox; retry with `sealpost outbox flush`",
        ))
    }
}

enum Attempt {
    Failed(String),
    Auth(String),
    /// The server offers no login sealpost can use, though the account has
    /// a user and password: a setting to fix, not a failure to retry.
    NoLogin(String),
}

/// Connects, secures and logs in; also says whether PIPELINING is offered.
fn connect_one(
    cfg: &SmtpConfig,
    tls: &TlsSetup,
    endpoint: &Endpoint,
) -> Result<(Connection, bool), Attempt> {
    let mut conn = Connection::connect(endpoint, tls, cfg.timeout, &cfg.hello_name)
        .map_err(|e| Attempt::Failed(crate::error::single_line(&e)))?;
    let pipelining = conn.ehlo().offers("PIPELINING");
    let mechanisms = conn.ehlo().keyword_line("AUTH").unwrap_or_default();
    if !mechanisms.iter().any(|m| m == "PLAIN" || m == "LOGIN") {
        conn.abort();
        return Err(Attempt::NoLogin(if mechanisms.is_empty() {
            "offers no login (AUTH) at all".into()
        } else {
            format!(
                "offers only logins sealpost does not speak (AUTH {})",
                crate::error::printable(&mechanisms.join(" "))
            )
        }));
    }
    match conn.auth(&cfg.user, &cfg.password) {
        Ok(_) => Ok((conn, pipelining)),
        Err(e) if e.is_permanent() => {
            conn.abort();
            Err(Attempt::Auth(e.to_string()))
        }
        Err(e) => {
            conn.abort();
            Err(Attempt::Failed(format!("login: {e}")))
        }
    }
}

/// Whether an error is the server's reply (as opposed to a broken connection).
fn is_reply(e: &wire::Error) -> bool {
    e.is_transient() || e.is_permanent()
}

type Answer = wire::Result<wire::Reply>;

/// A reply as the server sent it, or the broken connection.
fn replied(r: Answer) -> Result<Answer, ConnectionLost> {
    match r {
        Err(e) if !is_reply(&e) => Err(ConnectionLost(e.to_string())),
        other => Ok(other),
    }
}

fn rcpt_reply(r: Answer) -> RcptReply {
    match r {
        Ok(_) => RcptReply::Accepted,
        Err(e) if e.is_permanent() => RcptReply::Refused(e.to_string()),
        Err(e) => RcptReply::Deferred(e.to_string()),
    }
}

/// The outcome when no recipient was accepted.
fn nobody(replies: Vec<(String, RcptReply)>) -> SendOutcome {
    let permanent = replies
        .iter()
        .all(|(_, r)| matches!(r, RcptReply::Refused(_)));
    SendOutcome::NotAccepted {
        rcpt: replies,
        reply: "no recipient was accepted".into(),
        permanent,
    }
}

impl Session {
    fn conn(&mut self) -> Result<&mut Connection, ConnectionLost> {
        self.conn
            .as_mut()
            .ok_or_else(|| ConnectionLost("the connection was closed".into()))
    }

    /// Drops the connection without another byte: in DATA, a connection
    /// closed before the final "." makes the server discard the message.
    fn close(&mut self) {
        self.conn = None;
    }

    /// Sends the message after DATA's 354 and reads the verdict.
    fn finish_data(
        &mut self,
        replies: Vec<(String, RcptReply)>,
        data: &[u8],
    ) -> Result<SendOutcome, ConnectionLost> {
        match self.conn()?.message(data) {
            Ok(resp) => {
                self.dirty = false;
                Ok(SendOutcome::Accepted {
                    rcpt: replies,
                    reply: resp.text(),
                })
            }
            Err(e) if is_reply(&e) => {
                self.dirty = false;
                Ok(SendOutcome::NotAccepted {
                    rcpt: replies,
                    reply: format!("message: {e}"),
                    permanent: e.is_permanent(),
                })
            }
            Err(e) => Err(ConnectionLost(e.to_string())),
        }
    }

    /// One transaction with PIPELINING: [RSET,] MAIL, every RCPT and DATA
    /// written together (in groups of [`PIPELINE_MAX`]), then every reply
    /// read, so that each recipient's outcome is still known exactly.
    fn send_pipelined(
        &mut self,
        mail: String,
        rcpt: &[String],
        data: &[u8],
        before_data: &mut BeforeData<'_>,
    ) -> Result<SendOutcome, ConnectionLost> {
        // Invalid addresses are refused here, never sent.
        let parsed: Vec<Result<SmtpAddress, String>> = rcpt.iter().map(|r| recipient(r)).collect();
        if parsed.iter().all(|p| p.is_err()) {
            let replies = rcpt
                .iter()
                .zip(parsed)
                .map(|(r, p)| (r.clone(), RcptReply::Refused(p.unwrap_err())))
                .collect();
            return Ok(nobody(replies));
        }
        let mut commands = Vec::with_capacity(rcpt.len() + 3);
        let rset = self.dirty;
        if rset {
            commands.push(Rset.to_string());
        }
        commands.push(mail);
        for addr in parsed.iter().flatten() {
            commands.push(rcpt_to_command(addr));
        }
        commands.push(Data.to_string());
        self.dirty = true;
        let conn = self.conn()?;
        let mut got: Vec<Answer> = Vec::with_capacity(commands.len());
        for group in commands.chunks(PIPELINE_MAX) {
            got.push(replied(conn.command(&group.concat()))?);
            for _ in 1..group.len() {
                got.push(replied(conn.read_reply())?);
            }
        }
        let mut got = got.into_iter();
        let mut next = || got.next().expect("one reply per command");
        if rset {
            if let Err(e) = next() {
                return Err(ConnectionLost(format!("RSET: {e}")));
            }
        }
        let mail = next();
        let replies: Vec<(String, RcptReply)> = rcpt
            .iter()
            .zip(parsed)
            .map(|(r, p)| {
                let reply = match p {
                    Err(why) => RcptReply::Refused(why),
                    Ok(_) => rcpt_reply(next()),
                };
                (r.clone(), reply)
            })
            .collect();
        let data_reply = next();
        // DATA may have been accepted even though nobody can receive it
        // (RFC 2920 §3.1): end it with a lone "." so that the session stays
        // in step; with no recipient, nothing is delivered.
        let end_empty = |s: &mut Session| -> Result<(), ConnectionLost> {
            match s.conn()?.message(b"") {
                Err(e) if !is_reply(&e) => Err(ConnectionLost(e.to_string())),
                _ => Ok(()),
            }
        };
        if let Err(e) = mail {
            if data_reply.is_ok() {
                end_empty(self)?;
            }
            return Ok(SendOutcome::NotAccepted {
                rcpt: Vec::new(),
                reply: format!("MAIL FROM: {e}"),
                permanent: e.is_permanent(),
            });
        }
        if !replies.iter().any(|(_, r)| *r == RcptReply::Accepted) {
            if data_reply.is_ok() {
                end_empty(self)?;
            }
            return Ok(nobody(replies));
        }
        if let Err(e) = data_reply {
            return Ok(SendOutcome::NotAccepted {
                rcpt: replies,
                reply: format!("DATA: {e}"),
                permanent: e.is_permanent(),
            });
        }
        // The server waits for the message: nothing is delivered before the
        // final ".", so the record of success can still be prepared. If it
        // cannot, the connection is dropped mid-DATA and the server discards
        // what it has.
        if let Err(why) = before_data(&replies) {
            self.close();
            return Err(ConnectionLost(format!(
                "cannot prepare the local record: {why}"
            )));
        }
        self.finish_data(replies, data)
    }
}

impl Transport for Session {
    fn send(
        &mut self,
        mail_from: &str,
        rcpt: &[String],
        data: &[u8],
        before_data: &mut BeforeData<'_>,
    ) -> Result<SendOutcome, ConnectionLost> {
        let from = SmtpAddress::parse_reverse_path(mail_from)
            .map_err(|e| ConnectionLost(format!("invalid sender: {e}")))?;
        let mut params = Vec::new();
        if !data.is_ascii() && self.conn()?.ehlo().offers("8BITMIME") {
            params.push("BODY=8BITMIME");
        }
        let mail = mail_from_command(from.as_ref(), &params);
        if self.pipelining {
            return self.send_pipelined(mail, rcpt, data, before_data);
        }
        if self.dirty {
            self.conn()?
                .command(&Rset.to_string())
                .map_err(|e| ConnectionLost(e.to_string()))?;
            self.dirty = false;
        }
        self.dirty = true;
        if let Err(e) = replied(self.conn()?.command(&mail))? {
            return Ok(SendOutcome::NotAccepted {
                rcpt: Vec::new(),
                reply: format!("MAIL FROM: {e}"),
                permanent: e.is_permanent(),
            });
        }
        let mut replies = Vec::new();
        for r in rcpt {
            let reply = match recipient(r) {
                Err(why) => RcptReply::Refused(why),
                Ok(addr) => rcpt_reply(replied(self.conn()?.command(&rcpt_to_command(&addr)))?),
            };
            replies.push((r.clone(), reply));
        }
        if !replies.iter().any(|(_, r)| *r == RcptReply::Accepted) {
            return Ok(nobody(replies));
        }
        before_data(&replies)
            .map_err(|why| ConnectionLost(format!("cannot prepare the local record: {why}")))?;
        if let Err(e) = replied(self.conn()?.command(&Data.to_string()))? {
            return Ok(SendOutcome::NotAccepted {
                rcpt: replies,
                reply: format!("DATA: {e}"),
                permanent: e.is_permanent(),
            });
        }
        self.finish_data(replies, data)
    }

    fn quit(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            let _ = conn.quit();
        }
    }

    fn server(&self) -> String {
        self.endpoint.to_string()
    }
}

impl Session {
    /// Whether the server offered PIPELINING and it is used.
    pub fn pipelining(&self) -> bool {
        self.pipelining
    }
}

/// A recipient as the RCPT TO command takes it, or why it is refused.
fn recipient(addr: &str) -> Result<SmtpAddress, String> {
    SmtpAddress::parse(addr).map_err(|e| crate::error::single_line(&e))
}

/// Validates an address for SMTP before it is queued: the validator the
/// SMTP writers apply ([`SmtpAddress`]).
pub fn check_address(addr: &str) -> anyhow::Result<()> {
    SmtpAddress::parse(addr).map(|_| ())
}
