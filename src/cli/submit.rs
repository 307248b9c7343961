//! `sealpost submit`: queue envelopes durably, then send them.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sealpost::error::{fail, fail_hint, single_line, Exit};
use sealpost::mail::outbox::{Entry, Outbox, Report, State};
use sealpost::mail::smtp::{self, Session, SmtpConfig};
use sealpost::smime::bsmtp::{self, Transaction};
use sealpost::smime::message::{parse_message, RawMessage};
use sealpost::store::account::{Account, Protocol};
use serde_json::json;

use super::account::{self, PasswordArgs};
use super::{json, printable, read_input, Context};

/// Send messages through the account's submission server, via the outbox
///
/// Reads the Batch SMTP stream `sealpost encrypt` writes (one transaction
/// per envelope) or a single RFC 5322 message (recipients from To, Cc and
/// Bcc; the Bcc header is removed before sending). Every envelope is first
/// written to the outbox in the keystore and fsynced; then all due envelopes
/// of the account go through one connection. An envelope leaves the outbox
/// only after the server accepted its data (250).
///
/// Temporary failures (4xx replies, no server reachable, a lost connection)
/// leave the envelope queued with its retry time and reason, and the exit
/// status is 75 (EX_TEMPFAIL) so cron can run `sealpost submit --outbox`
/// later. Recipients refused for good (5xx) are reported one by one and the
/// exit status is 69; recipients the server accepted are never sent to again.
///
/// The record that a message was accepted is written and fsynced before
/// DATA and put in place by one rename right after the server's 250: only a
/// crash between that 250 and the rename, or a connection lost after the
/// final "." before the reply arrives, can make the server get it twice.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Batch SMTP stream or RFC 5322 message (- for stdin)
    #[arg(conflicts_with = "outbox")]
    pub file: Option<PathBuf>,
    /// The account to send with [default: the only account]
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Send what is queued in the outbox and due for a retry, reading no input
    #[arg(long)]
    pub outbox: bool,
    /// Seconds to wait for a connection or a reply
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    #[command(flatten)]
    pub password: PasswordArgs,
}

pub fn run(args: SubmitArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let store = sealpost::store::account::AccountStore::load(&ks.config_path())?;
    let outbox = Outbox::open(&ks.root().join("outbox"))?;
    let now = unix_now();
    if args.outbox {
        let names: Vec<String> = match &args.account {
            Some(n) => vec![store.get(n)?.name],
            None => store.list()?.into_iter().map(|a| a.name).collect(),
        };
        let mut reports = Vec::new();
        for name in names {
            let due = outbox.due(&name, now, false)?;
            if due.is_empty() {
                continue;
            }
            let acct = store.get(&name)?;
            match send(&outbox, &acct, due, &args.password, args.timeout, ctx) {
                Ok(report) => reports.push(report),
                Err(stopped) => return finish("submit", &reports, Some(stopped), ctx),
            }
        }
        return finish("submit", &reports, None, ctx);
    }
    let acct = account::choose(&store, args.account.as_deref())?;
    // A fetch-only account can never send: refused before anything is queued.
    if !acct.sends() {
        return Err(account::no_server(&acct, Protocol::Smtp));
    }
    let data = read_input(args.file.as_deref().unwrap_or(std::path::Path::new("-")))?;
    let transactions = transactions_from(&data)?;
    // Fail on a missing password before anything is queued.
    let password = account::password(&acct, &args.password, ctx)?;
    let new = outbox.enqueue(&acct.name, &transactions, now)?;
    ctx.detail(format!(
        "queued {} envelope(s) in {}",
        new.len(),
        outbox.root().display()
    ));
    let mut entries = outbox.due(&acct.name, now, false)?;
    for e in new {
        if !entries.iter().any(|x| x.id == e.id) {
            entries.push(e);
        }
    }
    let ids = ids(&entries);
    match send_with(&outbox, &acct, entries, password, args.timeout, ctx) {
        Ok(report) => finish("submit", &[report], None, ctx),
        Err(e) => finish("submit", &[], Some(stopped(&outbox, &ids, e)), ctx),
    }
}

/// A delivery run that stopped before it could deliver (no password, no
/// server, the outbox locked, the connection refused): the error, and its
/// envelopes, which stay queued.
pub struct Stopped {
    pub error: anyhow::Error,
    pub queued: Vec<Entry>,
}

fn ids(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.id.clone()).collect()
}

/// The [`Stopped`] of a run of the entries `ids`: those the outbox still
/// holds as queued, with the failure it recorded.
fn stopped(outbox: &Outbox, ids: &[String], error: anyhow::Error) -> Stopped {
    let queued = outbox
        .list()
        .map(|all| {
            all.into_iter()
                .filter(|e| e.state == State::Queued && ids.contains(&e.id))
                .collect()
        })
        .unwrap_or_default();
    Stopped { error, queued }
}

/// Transactions from a Batch SMTP stream or a single message.
pub fn transactions_from(data: &[u8]) -> anyhow::Result<Vec<Transaction>> {
    let transactions = if sealpost::smime::bsmtp::looks_like(data) {
        bsmtp::parse(data)?
    } else {
        let info = parse_message(data)?;
        let raw = RawMessage::parse(data)?;
        let rcpt: Vec<String> = info
            .recipients()
            .iter()
            .map(|m| m.address.clone())
            .collect();
        if rcpt.is_empty() {
            return Err(fail(
                Exit::DataErr,
                "the message names no recipient in To, Cc or Bcc",
            ));
        }
        let mut out = Vec::with_capacity(data.len());
        for f in raw.fields.iter().filter(|f| !f.is_bcc()) {
            out.extend_from_slice(f.raw());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&raw.body);
        vec![Transaction {
            mail_from: info.from.address.clone(),
            rcpt_to: rcpt,
            data: out,
        }]
    };
    for t in &transactions {
        if !t.mail_from.is_empty() {
            smtp::check_address(&t.mail_from)?;
        }
        for r in &t.rcpt_to {
            smtp::check_address(r)?;
        }
    }
    Ok(transactions)
}

/// Sends queued entries of one account: password, connection, delivery.
pub fn send(
    outbox: &Outbox,
    acct: &Account,
    entries: Vec<Entry>,
    password: &PasswordArgs,
    timeout: u64,
    ctx: &Context,
) -> Result<Report, Stopped> {
    let ids = ids(&entries);
    account::password(acct, password, ctx)
        .and_then(|pw| send_with(outbox, acct, entries, pw, timeout, ctx))
        .map_err(|e| stopped(outbox, &ids, e))
}

fn send_with(
    outbox: &Outbox,
    acct: &Account,
    mut entries: Vec<Entry>,
    password: zeroize::Zeroizing<String>,
    timeout: u64,
    ctx: &Context,
) -> anyhow::Result<Report> {
    let queued = entries.len();
    let lock = outbox.lock().map_err(|e| {
        fail_hint(
            Exit::TempFail,
            single_line(&e),
            "it sends them when done, or run `sealpost outbox flush` later",
        )
    })?;
    let timeout = Duration::from_secs(timeout.max(1));
    let endpoints = match account::servers(acct, &acct.smtp, Protocol::Smtp, timeout) {
        Ok(e) => e,
        Err(e) => {
            outbox.record_failure(&mut entries, &single_line(&e), unix_now())?;
            return Err(e.context(format!("{queued} envelope(s) stay queued")));
        }
    };
    let cfg = SmtpConfig {
        endpoints,
        user: acct.user.clone(),
        password,
        ca_pem: account::ca_pem(acct)?,
        timeout,
        hello_name: hostname(),
    };
    let mut session = match Session::connect(&cfg) {
        Ok(s) => s,
        Err(e) => {
            outbox.record_failure(&mut entries, &single_line(&e), unix_now())?;
            return Err(e.context(format!("{queued} envelope(s) stay queued")));
        }
    };
    ctx.detail(format!(
        "connected to {}",
        sealpost::mail::smtp::Transport::server(&session)
    ));
    let bar = progress_bar(entries.len() as u64, ctx);
    let report = outbox.deliver(&lock, &mut session, entries, unix_now(), &mut |_| {
        if let Some(b) = &bar {
            b.inc(1);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if report.connection_lost.is_none() {
        prune_sent(outbox, &lock, ctx);
    }
    Ok(report)
}

/// Removes sent records past the configured retention. A failure here only
/// keeps records longer, so it is a warning, not the run's outcome.
fn prune_sent(outbox: &Outbox, lock: &sealpost::mail::outbox::Lock, ctx: &Context) {
    let pruned = ctx
        .keystore()
        .and_then(|ks| sealpost::store::account::AccountStore::load(&ks.config_path()))
        .and_then(|store| store.keep_sent())
        .and_then(|keep| match keep {
            Some(secs) => outbox.prune(lock, unix_now(), secs),
            None => Ok(Vec::new()),
        });
    match pruned {
        Ok(ids) if !ids.is_empty() => ctx.detail(format!(
            "removed {} old record(s) of sent envelopes",
            ids.len()
        )),
        Ok(_) => {}
        Err(e) => ctx.warn(format!(
            "cannot remove old records of sent envelopes: {}",
            single_line(&e)
        )),
    }
}

fn progress_bar(len: u64, ctx: &Context) -> Option<indicatif::ProgressBar> {
    if ctx.global.quiet || ctx.global.json || !std::io::stderr().is_terminal() || len < 2 {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("sending {bar:30} {pos}/{len} envelopes")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// An outbox entry in `--json`.
pub fn entry_json(e: &Entry) -> serde_json::Value {
    json!({
        "id": e.id,
        "state": e.state,
        "account": e.account,
        "mail_from": e.mail_from,
        "recipients": e.recipients,
        "pending": e.pending,
        "delivered": e.delivered,
        "refused": e.refused,
        "bytes": e.size,
        "queued_at": json::time(e.queued_at),
        "next_attempt": json::time(e.next_attempt),
        "attempts": e.attempts,
        "last_error": e.last_error,
        "server_reply": e.server_reply,
        "server": e.server,
        "sent_at": json::time_opt(e.sent_at),
    })
}

/// Prints the outcome of delivery runs (`command` is "submit" or "outbox
/// flush") and picks the exit status. A run that `stopped` early still gets
/// its document, naming what stays queued, before its error.
pub fn finish(
    command: &str,
    reports: &[Report],
    stopped: Option<Stopped>,
    ctx: &Context,
) -> anyhow::Result<()> {
    let sent: Vec<&Entry> = reports.iter().flat_map(|r| &r.sent).collect();
    let queued: Vec<&Entry> = reports.iter().flat_map(|r| &r.queued).collect();
    let failed: Vec<&Entry> = reports.iter().flat_map(|r| &r.failed).collect();
    let refusals: Vec<_> = reports.iter().flat_map(|r| r.refusals()).collect();
    if ctx.global.json {
        let list =
            |entries: &mut dyn Iterator<Item = &Entry>| entries.map(entry_json).collect::<Vec<_>>();
        let stays: &[Entry] = stopped.as_ref().map_or(&[], |s| &s.queued);
        ctx.print_json(
            command,
            json!({
                "sent": list(&mut sent.iter().copied()),
                "queued": list(&mut queued.iter().copied().chain(stays)),
                "failed": list(&mut failed.iter().copied()),
            }),
        )?;
    }
    if let Some(stopped) = stopped {
        return Err(stopped.error);
    }
    if !ctx.global.json {
        for e in &sent {
            ctx.note(format!(
                "sent {} to {}",
                e.id,
                printable(&e.delivered.join(", "))
            ));
        }
        for e in &failed {
            ctx.note(format!(
                "refused {}: moved aside ({})",
                e.id,
                printable(e.server_reply.as_deref().unwrap_or(""))
            ));
        }
        for r in &refusals {
            ctx.warn(format!(
                "recipient {} refused: {}",
                printable(&r.recipient),
                printable(&r.reply)
            ));
        }
        for e in &queued {
            ctx.note(format!(
                "queued {} for {}: {}",
                e.id,
                printable(&e.pending.join(", ")),
                printable(e.last_error.as_deref().unwrap_or("not yet tried"))
            ));
        }
    }
    if !queued.is_empty() {
        let why = reports
            .iter()
            .find_map(|r| r.connection_lost.clone())
            .or_else(|| queued.iter().find_map(|e| e.last_error.clone()))
            .unwrap_or_default();
        return Err(fail_hint(
            Exit::TempFail,
            format!(
                "{} envelope(s) sent, {} still queued: {}",
                sent.len(),
                queued.len(),
                printable(&why)
            ),
            "retry with `sealpost outbox flush` (or `sealpost submit --outbox` from cron)",
        ));
    }
    if !refusals.is_empty() {
        return Err(fail(
            Exit::Unavailable,
            format!(
                "{} envelope(s) sent; the server refused {} recipient(s): {}",
                sent.len(),
                refusals.len(),
                refusals
                    .iter()
                    .map(|r| printable(&r.recipient))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(())
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// This machine's name for EHLO ("localhost" when it has none usable).
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        name
    } else {
        "localhost".into()
    }
}
