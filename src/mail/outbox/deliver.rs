//! One delivery run: each entry is sent and its outcome recorded durably as
//! soon as it is known. The record of success is prepared before DATA and
//! committed by one rename after the 250 (see "The window" in the module
//! above).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{backoff_secs, Entry, Lock, Outbox, Refusal, State};
use crate::error::{fail, Exit};
use crate::mail::smtp::{ConnectionLost, RcptReply, SendOutcome, Transport};
use crate::store::fsutil::{self, PRIVATE_FILE};

/// What happened to each entry in one delivery run.
#[derive(Debug, Default)]
pub struct Report {
    /// Entries whose every recipient was accepted or refused (none left).
    pub sent: Vec<Entry>,
    /// Entries still queued (temporary failures, deferred recipients, or
    /// not tried because the connection was lost).
    pub queued: Vec<Entry>,
    /// Entries refused for good.
    pub failed: Vec<Entry>,
    /// Why the run stopped early, if it did.
    pub connection_lost: Option<String>,
}

impl Report {
    /// Recipients refused for good, over all entries, with the reply.
    pub fn refusals(&self) -> Vec<&Refusal> {
        self.sent
            .iter()
            .chain(&self.failed)
            .chain(&self.queued)
            .flat_map(|e| &e.refused)
            .collect()
    }
}

/// The entry as it will be once DATA got 250, given the RCPT replies.
fn after_success(entry: &Entry, rcpt: &[(String, RcptReply)], now: i64) -> Entry {
    let mut after = entry.clone();
    let mut deferred = Vec::new();
    let mut last_deferral = None;
    for (r, outcome) in rcpt {
        match outcome {
            RcptReply::Accepted => after.delivered.push(r.clone()),
            RcptReply::Refused(why) => after.refused.push(Refusal {
                recipient: r.clone(),
                reply: why.clone(),
            }),
            RcptReply::Deferred(why) => {
                last_deferral = Some(why.clone());
                deferred.push(r.clone());
            }
        }
    }
    after.pending = deferred;
    if after.pending.is_empty() {
        after.state = State::Sent;
        after.sent_at = Some(now);
    } else {
        after.attempts += 1;
        after.last_error = last_deferral;
        after.next_attempt = now + backoff_secs(after.attempts);
    }
    after
}

impl Outbox {
    /// Sends `entries` over `transport`, recording each outcome durably as
    /// soon as it is known. `progress` is called after each entry. The lock
    /// must be held. Stops at a lost connection, leaving the rest queued.
    pub fn deliver(
        &self,
        _lock: &Lock,
        transport: &mut dyn Transport,
        entries: Vec<Entry>,
        now: i64,
        progress: &mut dyn FnMut(&Entry),
    ) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let server = transport.server();
        let mut rest = entries.into_iter();
        for mut entry in rest.by_ref() {
            let data = self.message(&entry)?;
            entry.server = Some(server.clone());
            // The record of success is written and fsynced before DATA,
            // under a hidden name; the server's 250 only has to be followed
            // by one rename (and a directory fsync) to make it count.
            let mut prepared: Option<(PathBuf, PathBuf, Entry)> = None;
            let outcome = {
                let before = &entry;
                let mut prepare = |rcpt: &[(String, RcptReply)]| -> Result<(), String> {
                    let after = after_success(before, rcpt, now);
                    let (tmp, target) = self.prepare(&after).map_err(|e| e.to_string())?;
                    prepared = Some((tmp, target, after));
                    Ok(())
                };
                transport.send(&entry.mail_from, &entry.pending, &data, &mut prepare)
            };
            if !matches!(outcome, Ok(SendOutcome::Accepted { .. })) {
                if let Some((tmp, _, _)) = prepared.take() {
                    let _ = fs::remove_file(tmp);
                }
            }
            match outcome {
                Ok(SendOutcome::Accepted { reply, .. }) => {
                    let (tmp, target, mut after) = prepared.take().ok_or_else(|| {
                        fail(
                            Exit::Software,
                            "the transport skipped the record of success",
                        )
                    })?;
                    // The commit point.
                    fs::rename(&tmp, &target)
                        .and_then(|_| fsutil::sync_dir(target.parent().unwrap_or(Path::new("."))))
                        .with_context(|| format!("cannot record {}", target.display()))?;
                    after.server_reply = Some(reply);
                    if after.state == State::Sent {
                        self.remove_files(State::Queued, &after.id)?;
                        report.sent.push(after.clone());
                    } else {
                        report.queued.push(after.clone());
                    }
                    entry = after;
                }
                Ok(SendOutcome::NotAccepted {
                    rcpt,
                    reply,
                    permanent,
                }) => {
                    let mut still = Vec::new();
                    for (r, outcome) in &rcpt {
                        match outcome {
                            RcptReply::Refused(why) => entry.refused.push(Refusal {
                                recipient: r.clone(),
                                reply: why.clone(),
                            }),
                            _ => still.push(r.clone()),
                        }
                    }
                    if rcpt.is_empty() {
                        still = entry.pending.clone();
                    }
                    if permanent {
                        for r in still {
                            entry.refused.push(Refusal {
                                recipient: r,
                                reply: reply.clone(),
                            });
                        }
                        entry.pending.clear();
                    } else {
                        entry.pending = still;
                    }
                    entry.server_reply = Some(reply.clone());
                    if entry.pending.is_empty() {
                        // Refused for good: move aside with the message.
                        entry.state = State::Failed;
                        fs::rename(
                            self.path(State::Queued, &entry.id, "msg"),
                            self.path(State::Failed, &entry.id, "msg"),
                        )
                        .context("cannot move a refused message aside")?;
                        self.write_state(&entry)?;
                        self.remove_files(State::Queued, &entry.id)?;
                        report.failed.push(entry.clone());
                    } else {
                        entry.attempts += 1;
                        entry.last_error = Some(reply);
                        entry.next_attempt = now + backoff_secs(entry.attempts);
                        self.write_state(&entry)?;
                        report.queued.push(entry.clone());
                    }
                }
                Err(ConnectionLost(why)) => {
                    entry.attempts += 1;
                    entry.last_error = Some(format!("connection lost: {why}"));
                    entry.next_attempt = now + backoff_secs(entry.attempts);
                    self.write_state(&entry)?;
                    report.queued.push(entry.clone());
                    report.connection_lost = Some(why);
                    progress(&entry);
                    break;
                }
            }
            progress(&entry);
        }
        let reason = report.connection_lost.clone();
        for mut entry in rest {
            if let Some(why) = &reason {
                entry.last_error = Some(format!("not tried: connection lost: {why}"));
                self.write_state(&entry)?;
            }
            report.queued.push(entry);
        }
        if report.connection_lost.is_none() {
            transport.quit();
        }
        Ok(report)
    }

    /// Writes `entry`'s state, fsynced, under a hidden name next to where it
    /// belongs; returns (hidden name, final name).
    fn prepare(&self, entry: &Entry) -> anyhow::Result<(PathBuf, PathBuf)> {
        use std::io::Write as _;
        let target = self.path(entry.state, &entry.id, "json");
        // A predictable name: created afresh, never written through a link.
        let tmp = target.with_file_name(format!(".{}.json.prepared", entry.id));
        let json = serde_json::to_vec_pretty(entry)?;
        let mut f = fsutil::create_replacing(&tmp, PRIVATE_FILE)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(&json)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok((tmp, target))
    }
}
