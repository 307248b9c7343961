//! `sealpost submit`: queue envelopes durably, then send them.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sealpost::error::{fail, Exit};
use sealpost::mail::delivery::{self, SendOptions};
use sealpost::mail::outbox::Outbox;
use sealpost::mail::smtp;
use sealpost::smime::bsmtp::{self, Transaction};
use sealpost::smime::message::{parse_message, RawMessage};
use sealpost::store::account::Protocol;

use super::secrets::{account_password, PasswordArgs};
use super::{dns_server, finish_delivery, read_input, send_queued, Context, DeliveryView};

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
    let now = sealpost::smime::certs::now();
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
            match send_queued(
                &outbox,
                &store,
                &acct,
                due,
                &args.password,
                args.timeout,
                ctx,
            ) {
                Ok(report) => reports.push(report),
                Err(stopped) => return finish_delivery("submit", &reports, Some(stopped), ctx),
            }
        }
        return finish_delivery("submit", &reports, None, ctx);
    }
    let acct = delivery::choose(&store, args.account.as_deref())?;
    // A fetch-only account can never send: refused before anything is queued.
    if !acct.sends() {
        return Err(delivery::no_server(&acct, Protocol::Smtp));
    }
    let data = read_input(args.file.as_deref().unwrap_or(std::path::Path::new("-")))?;
    let transactions = transactions_from(&data)?;
    // Fail on a missing password before anything is queued.
    let password = account_password(&acct, &args.password, ctx.can_prompt())?;
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
    let mut view = DeliveryView::new(ctx);
    let options = SendOptions {
        timeout: Duration::from_secs(args.timeout),
        dns_server: &dns_server,
    };
    let result = delivery::send(
        &outbox,
        &store,
        &acct,
        entries,
        || Ok(password),
        &options,
        &mut |e| view.event(e),
    );
    view.done();
    match result {
        Ok(report) => finish_delivery("submit", &[report], None, ctx),
        Err(stopped) => finish_delivery("submit", &[], Some(stopped), ctx),
    }
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
