//! `sealpost explode`: the mailing list exploder.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::output::{BsmtpOut, Dest};
use super::secrets::PasswordArgs;
use super::{printable, read_input, send_queued, Context};
use sealpost::error::{fail, single_line, Exit};
use sealpost::group::explode::{
    self as ex, Exploder, ListMail, Members, Mode, OutboxQueue, Wanted,
};
use sealpost::group::release::joined::Memberships;
use sealpost::mail::outbox::Outbox;
use sealpost::smime::decrypt::KeySource;
use sealpost::smime::encrypt::{EnvelopeOutput, EnvelopeSummary};
use sealpost::store::keystore::Keystore;

/// Send a message to a mailing list's members, one copy per member
///
/// Reads a message as delivered to the list address (for an MTA alias:
/// `list: "|sealpost explode --group list --submit relay"`) and writes one
/// envelope per current member: RCPT TO that member alone, so that no member
/// learns another's address. NAME is a group joined as the list's exploder
/// (`sealpost group join NAME --cert LIST.pem --server URL --as EXPLODER`,
/// with the exploder's certificate registered on the server by `sealpost
/// group add-member NAME CERT --role exploder`).
///
/// Members come from the group server (an authenticated call, so a removal
/// there takes effect on the next message) or from --members FILE (one
/// address a line, '#' comments).
///
/// Modes:
///
///   (default) the message is encrypted to the group certificate, or its key
///   is deposited at the group's server (`encrypt --deposit`); each member
///   gets it unchanged, headers and all, and asks the group server for the
///   key. The exploder holds no key that opens it.
///
///   --rewrap: as the default, with one more recipient entry: the message key
///   wrapped under the group's current secret by the group server, so that
///   members holding it (`sealpost group secret fetch`) read offline.
///
///   --reencrypt: the message is encrypted to the list's own key, held in
///   this keystore; the exploder decrypts it and encrypts the content once
///   more, wrapping the key to each member's certificate, one envelope per
///   member: any S/MIME client reads it. A signature inside stays intact.
///
/// A message that is not encrypted to the group (or, with --reencrypt, to
/// the list's key) is refused with status 65, unless --pass-through forwards
/// it unchanged.
///
/// Output: Batch SMTP on stdout (or -o FILE), or with --submit ACCOUNT the
/// copies are queued in the outbox (fsynced), then sent. Once queued, the
/// status is 0 even if sending must be retried later (`sealpost outbox
/// flush`): an MTA retrying the pipe would otherwise explode the message
/// twice. Running it again on the same message queues nothing twice.
#[derive(Debug, Args)]
pub struct ExplodeArgs {
    /// The message (- for stdin)
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// The group (joined as its exploder)
    #[arg(long, value_name = "NAME")]
    pub group: String,
    /// Member addresses from FILE instead of the group server
    #[arg(long, value_name = "FILE")]
    pub members: Option<PathBuf>,
    /// Add the message key wrapped under the group's current secret
    #[arg(long, conflicts_with = "reencrypt")]
    pub rewrap: bool,
    /// Decrypt with the list's own key and encrypt again for each member
    #[arg(long)]
    pub reencrypt: bool,
    /// Forward a message not encrypted to the group unchanged instead of refusing it
    #[arg(long)]
    pub pass_through: bool,
    /// MAIL FROM of the copies [default: the list address]
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    /// Queue the copies in the outbox and send them through ACCOUNT
    #[arg(long, value_name = "ACCOUNT", conflicts_with = "output")]
    pub submit: Option<String>,
    /// Write the Batch SMTP stream to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE of --output if it exists
    #[arg(long, requires = "output")]
    pub force: bool,
    /// With --submit: seconds to wait for a connection or a reply
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    #[command(flatten)]
    pub password: PasswordArgs,
}

pub fn run(args: ExplodeArgs, ctx: &Context) -> anyhow::Result<()> {
    super::check_output_free(args.output.as_deref(), args.force)?;
    let raw = read_input(&args.file)?;
    let message = ex::strip_mbox_line(&raw);
    let ks = ctx.keystore()?;
    let group = Memberships::new(ks.root()).get(&args.group)?;
    let list_addr = group.cert.emails.first().cloned().ok_or_else(|| {
        fail(
            Exit::DataErr,
            format!("the certificate of group {} names no address", group.name),
        )
    })?;
    let mail_from = args.from.clone().unwrap_or_else(|| list_addr.clone());
    sealpost::mail::smtp::check_address(&mail_from)?;
    let mut exploder = Exploder::new(&ks, ctx, &group)?;
    let wanted = Wanted {
        rewrap: args.rewrap,
        reencrypt: args.reencrypt,
        pass_through: args.pass_through,
    };
    let mail = ListMail::classify(message, &group, &exploder.keys.certificates(), wanted)?;
    let members = match &args.members {
        Some(path) => {
            let text = String::from_utf8(read_input(path)?).map_err(|_| {
                fail(
                    Exit::DataErr,
                    format!("{} is not UTF-8 text", path.display()),
                )
            })?;
            Members::from_file(&text)?
        }
        None => exploder.server_members()?,
    };
    let recipients = ex::recipients(&members.addresses, &list_addr, None);
    if recipients.is_empty() {
        return Err(fail(
            Exit::NoUser,
            format!("group {} has no member to send to", group.name),
        ));
    }
    let mut sink = Sink::new(&args, &ks, message, ctx.global.json)?;
    let left_out =
        mail.write_copies(&mut exploder, &mail_from, &recipients, &members, &mut sink)?;
    for (addr, why) in &left_out {
        ctx.warn(format!("left out {}: {}", printable(addr), printable(why)));
    }
    sink.finish(&args, ctx, &group.name, mail.mode, recipients.len())
}

/// Where the copies go.
enum Sink {
    Bsmtp {
        out: BsmtpOut,
        count: usize,
        bytes: u64,
    },
    Outbox(Box<Queued>),
}

/// Copies bound for the outbox, and the account that sends them.
struct Queued {
    queue: OutboxQueue,
    store: sealpost::store::account::AccountStore,
    account: sealpost::store::account::Account,
}

impl Sink {
    /// With `capture` (`--json`), copies bound for stdout are kept for the
    /// document instead.
    fn new(
        args: &ExplodeArgs,
        ks: &Keystore,
        message: &[u8],
        capture: bool,
    ) -> anyhow::Result<Sink> {
        let Some(name) = &args.submit else {
            return Ok(Sink::Bsmtp {
                out: BsmtpOut {
                    dest: Dest::new(&args.output, capture)?,
                    line_start: true,
                },
                count: 0,
                bytes: 0,
            });
        };
        let store = sealpost::store::account::AccountStore::load(&ks.config_path())?;
        let account = sealpost::mail::delivery::choose(&store, Some(name))?;
        let outbox = Outbox::open(&ks.root().join("outbox"))?;
        Ok(Sink::Outbox(Box::new(Queued {
            queue: OutboxQueue::new(outbox, &account.name, message),
            store,
            account,
        })))
    }

    fn finish(
        self,
        args: &ExplodeArgs,
        ctx: &Context,
        group: &str,
        mode: Mode,
        members: usize,
    ) -> anyhow::Result<()> {
        let (count, bytes, queue, captured) = match self {
            Sink::Bsmtp {
                mut out,
                count,
                bytes,
            } => {
                let captured = out.dest.finish()?;
                (count, bytes, None, captured)
            }
            Sink::Outbox(mut queued) => {
                queued.queue.flush()?;
                (queued.queue.count, queued.queue.bytes, Some(queued), None)
            }
        };
        let file = args
            .output
            .as_ref()
            .filter(|p| args.submit.is_none() && p.as_os_str() != "-");
        let mut summary = json!({
            "group": group,
            "mode": mode.name(),
            "members": members,
            "envelopes": count,
            "bytes": bytes,
            "file": file,
            "bsmtp": captured.as_deref().map(String::from_utf8_lossy),
            "queued": null,
            "already_queued": null,
            "sent": null,
            "still_queued": null,
            "failed": null,
        });
        if let Some(queued) = queue {
            let Queued {
                queue: q,
                store,
                account,
            } = *queued;
            summary["queued"] = json!(q.queued.len());
            summary["already_queued"] = json!(q.already);
            let report = if q.queued.is_empty() {
                None
            } else {
                let entries = q.queued.clone();
                match send_queued(
                    q.outbox(),
                    &store,
                    &account,
                    entries,
                    &args.password,
                    args.timeout,
                    ctx,
                ) {
                    Ok(r) => Some(r),
                    // Queued durably: sending later is the outbox's job, not the MTA's.
                    Err(stopped) => {
                        ctx.warn(format!(
                            "copies stay queued for `sealpost outbox flush`: {}",
                            single_line(&stopped.error)
                        ));
                        None
                    }
                }
            };
            if let Some(r) = &report {
                summary["sent"] = json!(r.sent.len());
                summary["still_queued"] = json!(r.queued.len());
                summary["failed"] = json!(r.failed.len());
                for refusal in r.refusals() {
                    ctx.warn(format!(
                        "member {} refused: {}",
                        printable(&refusal.recipient),
                        printable(&refusal.reply)
                    ));
                }
                if !r.queued.is_empty() {
                    ctx.warn(format!(
                        "{} copies stay queued for `sealpost outbox flush`",
                        r.queued.len()
                    ));
                }
            }
            if q.already > 0 {
                ctx.note(format!(
                    "{} copies were queued by an earlier run and are not queued again",
                    q.already
                ));
            }
        }
        if ctx.global.json {
            return ctx.print_json("explode", summary);
        }
        ctx.note(format!(
            "exploded to {count} member(s) of group {group} ({})",
            mode.name()
        ));
        Ok(())
    }
}

impl EnvelopeOutput for Sink {
    fn begin(&mut self, index: usize, env: &EnvelopeSummary) -> anyhow::Result<()> {
        match self {
            Sink::Bsmtp { out, count, .. } => {
                *count += 1;
                out.begin(index, env)
            }
            Sink::Outbox(q) => q.queue.begin(index, env),
        }
    }

    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match self {
            Sink::Bsmtp { out, bytes, .. } => {
                *bytes += data.len() as u64;
                out.write(data)
            }
            Sink::Outbox(q) => q.queue.write(data),
        }
    }

    fn end(&mut self) -> anyhow::Result<()> {
        match self {
            Sink::Bsmtp { out, .. } => out.end(),
            Sink::Outbox(q) => q.queue.end(),
        }
    }
}
