//! `sealpost outbox list|flush|drop|prune`: the queue of envelopes not yet
//! sent, and the records of those sent.

use clap::{Args, Subcommand};
use sealpost::mail::outbox::{Outbox, State};
use sealpost::store::account::AccountStore;
use serde_json::json;

use super::account::PasswordArgs;
use super::submit::{self, unix_now};
use super::{printable, write_stdout, Context};
use sealpost::error::{fail_hint, Exit};

/// Show, retry or remove what waits in the outbox
///
/// The outbox (KEYSTORE/outbox) holds every envelope `sealpost submit` has
/// not yet handed to a server: queued ones wait for a retry after a
/// temporary failure; failed ones were refused for good and are kept with
/// the server's reply until dropped.
///
/// A record of each sent envelope (which recipients the server accepted or
/// refused) is kept in KEYSTORE/outbox/sent. Records older than 30 days are
/// removed after every delivery run that did not lose its connection; set
/// another time in config.toml, or keep them forever:
///
///     [outbox]
///     keep_sent = "90d"      # s, m, h, d or w; "forever" never prunes
///
/// `outbox prune` removes them on demand. A record is never removed while
/// any file of its envelope is left in the queue (a process killed between
/// the server's acceptance and the cleanup leaves one; the record is what
/// keeps it from being sent again).
#[derive(Debug, Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub command: OutboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    List(ListArgs),
    Flush(FlushArgs),
    Drop(DropArgs),
    Prune(PruneArgs),
}

/// List queued and failed envelopes
#[derive(Debug, Args)]
pub struct ListArgs {}

/// Send every queued envelope now, ignoring retry times
#[derive(Debug, Args)]
pub struct FlushArgs {
    /// Only this account's envelopes
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Seconds to wait for a connection or a reply
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// Remove a queued or failed envelope without sending it
#[derive(Debug, Args)]
pub struct DropArgs {
    /// The envelope's id (or a unique beginning of it), as `outbox list` shows
    pub id: String,
}

/// Remove records of sent envelopes older than a given time
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Age of the records to remove: a number and a unit (s, m, h, d, w),
    /// or 0 for all [default: [outbox] keep_sent in config.toml, else 30d]
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
}

pub fn run(args: OutboxArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let outbox = Outbox::open(&ks.root().join("outbox"))?;
    match args.command {
        OutboxCommand::List(_) => list(&outbox, ctx),
        OutboxCommand::Drop(d) => {
            let e = outbox.drop_entry(&d.id)?;
            if ctx.global.json {
                return ctx.print_json("outbox drop", json!({ "dropped": submit::entry_json(&e) }));
            }
            ctx.note(format!(
                "dropped {} (to {})",
                e.id,
                printable(&e.pending.join(", "))
            ));
            Ok(())
        }
        OutboxCommand::Prune(p) => {
            let older_than = match &p.older_than {
                Some(d) => sealpost::mail::outbox::parse_duration(d)?,
                None => AccountStore::load(&ks.config_path())?
                    .keep_sent()?
                    .ok_or_else(|| {
                        fail_hint(
                            Exit::Usage,
                            "config.toml says to keep sent records forever",
                            "give --older-than DURATION to prune anyway",
                        )
                    })?,
            };
            let lock = outbox.lock()?;
            let now = unix_now();
            let pruned = outbox.prune(&lock, now, older_than)?;
            if ctx.global.json {
                return ctx.print_json(
                    "outbox prune",
                    json!({
                        "pruned": pruned,
                        "older_than_seconds": older_than,
                        "before": super::json::time(now.saturating_sub(older_than)),
                    }),
                );
            }
            ctx.note(format!(
                "removed {} record(s) of sent envelopes",
                pruned.len()
            ));
            Ok(())
        }
        OutboxCommand::Flush(f) => {
            let store = AccountStore::load(&ks.config_path())?;
            let entries = outbox.list()?;
            let mut names: Vec<String> = entries
                .iter()
                .filter(|e| e.state == State::Queued)
                .filter(|e| f.account.as_ref().is_none_or(|a| *a == e.account))
                .map(|e| e.account.clone())
                .collect();
            names.sort();
            names.dedup();
            let mut reports = Vec::new();
            for name in names {
                let acct = store.get(&name)?;
                let due = outbox.due(&name, unix_now(), true)?;
                match submit::send(&outbox, &acct, due, &f.password, f.timeout, ctx) {
                    Ok(report) => reports.push(report),
                    Err(stopped) => {
                        return submit::finish("outbox flush", &reports, Some(stopped), ctx)
                    }
                }
            }
            if reports.is_empty() {
                ctx.note("the outbox is empty");
            }
            submit::finish("outbox flush", &reports, None, ctx)
        }
    }
}

fn list(outbox: &Outbox, ctx: &Context) -> anyhow::Result<()> {
    let entries = outbox.list()?;
    if ctx.global.json {
        let entries: Vec<_> = entries.iter().map(submit::entry_json).collect();
        return ctx.print_json("outbox list", json!({ "entries": entries }));
    }
    let mut out = String::new();
    for e in &entries {
        let when = time::OffsetDateTime::from_unix_timestamp(e.next_attempt)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        match e.state {
            State::Queued => out.push_str(&format!(
                "{}  queued  account {}  from <{}>  to {}\n    {} attempt(s); next {}; {}\n",
                e.id,
                e.account,
                printable(&e.mail_from),
                printable(&e.pending.join(", ")),
                e.attempts,
                when,
                printable(e.last_error.as_deref().unwrap_or("not yet tried"))
            )),
            _ => out.push_str(&format!(
                "{}  failed  account {}  from <{}>\n    {}\n",
                e.id,
                e.account,
                printable(&e.mail_from),
                e.refused
                    .iter()
                    .map(|r| format!("{}: {}", printable(&r.recipient), printable(&r.reply)))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        }
    }
    if entries.is_empty() {
        ctx.note("the outbox is empty");
    }
    write_stdout(out.as_bytes(), false)
}
