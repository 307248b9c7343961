//! What the commands that deliver queued mail (`submit`, `outbox flush`,
//! `explode --submit`) share: one delivery run of an account's queued
//! envelopes with its `-v` lines and a progress bar on a terminal, and the
//! final report (text or JSON) with its exit status. The run itself is the
//! library's (`mail::delivery`); this file only shows it.

use std::io::IsTerminal;

use sealpost::error::{fail, fail_hint, single_line, Exit};
use sealpost::mail::delivery::{self, Event, SendOptions, Stopped};
use sealpost::mail::outbox::{Entry, Outbox, Report};
use sealpost::store::account::{Account, AccountStore};

use super::{dns_server, json, printable, secrets, Context};

/// Shows what a delivery run does: `-v` lines, and a progress bar on a
/// terminal. Call [`DeliveryView::done`] after the run.
pub struct DeliveryView<'a> {
    ctx: &'a Context,
    bar: Option<indicatif::ProgressBar>,
}

impl<'a> DeliveryView<'a> {
    pub fn new(ctx: &'a Context) -> Self {
        DeliveryView { ctx, bar: None }
    }

    pub fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Connected { server, envelopes } => {
                self.ctx.detail(format!("connected to {server}"));
                self.bar = progress_bar(envelopes as u64, self.ctx);
            }
            Event::Tried => {
                if let Some(b) = &self.bar {
                    b.inc(1);
                }
            }
            // Pruning comes after the last envelope: the bar is done.
            Event::Pruned(n) => {
                self.clear_bar();
                self.ctx
                    .detail(format!("removed {n} old record(s) of sent envelopes"))
            }
            Event::PruneFailed(e) => {
                self.clear_bar();
                self.ctx.warn(format!(
                    "cannot remove old records of sent envelopes: {}",
                    single_line(e)
                ))
            }
        }
    }

    fn clear_bar(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }

    pub fn done(mut self) {
        self.clear_bar();
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

/// Sends queued `entries` of `acct` (see [`sealpost::mail::delivery::send`]),
/// asking for the password from `password`'s sources, and shows the run.
pub fn send_queued(
    outbox: &Outbox,
    store: &AccountStore,
    acct: &Account,
    entries: Vec<Entry>,
    password: &secrets::PasswordArgs,
    timeout: u64,
    ctx: &Context,
) -> Result<Report, Stopped> {
    let mut view = DeliveryView::new(ctx);
    let options = SendOptions {
        timeout: std::time::Duration::from_secs(timeout),
        dns_server: &dns_server,
    };
    let result = delivery::send(
        outbox,
        store,
        acct,
        entries,
        || secrets::account_password(acct, password, ctx.can_prompt()),
        &options,
        &mut |e| view.event(e),
    );
    view.done();
    result
}

/// Prints the outcome of delivery runs (`command` is "submit" or "outbox
/// flush") and picks the exit status. A run that `stopped` early still gets
/// its document, naming what stays queued, before its error.
pub fn finish_delivery(
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
        let list = |entries: &mut dyn Iterator<Item = &Entry>| {
            entries.map(json::outbox_entry).collect::<Vec<_>>()
        };
        let stays: &[Entry] = stopped.as_ref().map_or(&[], |s| &s.queued);
        ctx.print_json(
            command,
            serde_json::json!({
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
