//! `sealpost explode`: the mailing list exploder.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::account::{self, PasswordArgs};
use super::decrypt::{unix_now, KeystoreKeys};
use super::output::{BsmtpOut, Dest};
use super::{printable, read_input, Context};
use sealpost::error::{fail, fail_hint, single_line, Exit};
use sealpost::group::explode::{self as ex, ListEntry};
use sealpost::group::release::calls::{
    MembersAnswer, MembersPayload, Op, RewrapAnswer, RewrapPayload,
};
use sealpost::group::release::joined::{JoinedGroup, Memberships};
use sealpost::group::release::with_recipient_added;
use sealpost::mail::outbox::{Entry, Outbox};
use sealpost::smime::certs::{self, CertInfo};
use sealpost::smime::decrypt::{cms_payload, KeySource};
use sealpost::smime::encrypt::{self, EnvelopeOutput, EnvelopeSummary, Options, ReaderCert};
use sealpost::smime::envelope::{ContentCipher, Envelope, KeyTransport, OwnKey};
use sealpost::smime::message::RawMessage;
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

/// How the copies were made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Relay,
    Rewrap,
    Reencrypt,
    /// Not list mail, forwarded as it is.
    PassThrough,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Relay => "relay",
            Mode::Rewrap => "rewrap",
            Mode::Reencrypt => "reencrypt",
            Mode::PassThrough => "pass-through",
        }
    }
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
    let envelope = cms_payload(message)
        .ok()
        .flatten()
        .and_then(|p| Envelope::parse(&p).ok());
    let mut keys = KeystoreKeys::new(&ks, ctx, false)?;

    // What kind of list mail this is decides the mode.
    let own = envelope.as_ref().and_then(|e| {
        keys.certificates()
            .into_iter()
            .find(|c| e.recipient_for(&c.cert).is_some())
    });
    let entry = envelope
        .as_ref()
        .and_then(|e| ex::list_entry(e, &group.name, &group.cert.cert));
    let mode = match (args.reencrypt, own.is_some(), entry) {
        (true, true, _) => Mode::Reencrypt,
        (false, _, Some(ListEntry::Group(_))) if args.rewrap => Mode::Rewrap,
        (false, _, Some(_)) => Mode::Relay,
        _ if args.pass_through => Mode::PassThrough,
        _ => {
            let to_what = if args.reencrypt {
                "the list's own key in this keystore".to_string()
            } else {
                format!("group {}", group.name)
            };
            return Err(fail_hint(
                Exit::DataErr,
                format!("refused: the message is not encrypted to {to_what}"),
                "--pass-through forwards such mail to the members unchanged",
            ));
        }
    };

    let members = members(&args, ctx, &group, &mut keys)?;
    let recipients = ex::recipients(&members.addresses, &list_addr, None);
    if recipients.is_empty() {
        return Err(fail(
            Exit::NoUser,
            format!("group {} has no member to send to", group.name),
        ));
    }
    let mut sink = Sink::new(&args, &ks, message, ctx.global.json)?;
    match mode {
        Mode::Relay | Mode::PassThrough => relay(
            message,
            &mail_from,
            &recipients,
            envelope.as_ref(),
            &mut sink,
        )?,
        Mode::Rewrap => {
            let Some(ListEntry::Group(index)) = entry else {
                return Err(fail(Exit::Software, "rewrap without the group's entry"));
            };
            let envelope = envelope
                .as_ref()
                .ok_or_else(|| fail(Exit::Software, "rewrap without an envelope"))?;
            let (identity, key) = keys.member_of(&group)?;
            let (answer, server): (RewrapAnswer, _) = sealpost::group::release::call(
                &group,
                Op::Rewrap,
                &RewrapPayload {
                    recipient_info: envelope.recipient_info_der(index)?,
                },
                &identity.cert.cert,
                &key,
                unix_now(),
                &mut rand_core::OsRng,
            )?;
            let kekri = <cms::enveloped_data::RecipientInfo as der::Decode>::from_der(
                &answer.recipient_info,
            )
            .map_err(|_| {
                fail(
                    Exit::DataErr,
                    format!("{server} answered a malformed entry"),
                )
            })?;
            ctx.detail(format!(
                "{server} wrapped the key under group secret {}",
                answer.key_id
            ));
            let rewrapped = with_recipient_added(message, kekri)?;
            relay(
                &rewrapped,
                &mail_from,
                &recipients,
                Some(envelope),
                &mut sink,
            )?;
        }
        Mode::Reencrypt => {
            let envelope = envelope
                .as_ref()
                .ok_or_else(|| fail(Exit::Software, "reencrypt without an envelope"))?;
            let own = own.ok_or_else(|| fail(Exit::Software, "reencrypt without a key"))?;
            let key = keys.unlock(&own.fingerprint)?;
            let content_key = envelope
                .find_key(&[OwnKey {
                    cert: &own.cert,
                    key: &key,
                }])
                .ok_or_else(|| fail(Exit::Software, "the key matched, then did not"))
                .and_then(|m| envelope.unwrap_key(&m, &mut rand_core::OsRng))?;
            // The outer layer only: whatever it holds (a signature) stays as it is.
            let inner = zeroize::Zeroizing::new(envelope.decrypt(&content_key)?);
            let readers = member_certs(&recipients, &members, &ks, ctx)?;
            let outer = RawMessage::parse(message)?.fields;
            let plan = encrypt::plan_members(outer, &mail_from, readers, &Options::default())?;
            plan.encrypt(
                &mut &inner[..],
                Some(inner.len() as u64),
                &mut sink,
                None,
                &mut rand_core::OsRng,
            )?;
        }
    }
    sink.finish(&args, ctx, &group.name, mode, recipients.len())
}

/// The members: addresses, and certificates when the server sent them.
struct Members {
    addresses: Vec<String>,
    certificates: Vec<(String, Vec<u8>)>,
}

fn members(
    args: &ExplodeArgs,
    ctx: &Context,
    group: &JoinedGroup,
    keys: &mut KeystoreKeys<'_>,
) -> anyhow::Result<Members> {
    if let Some(path) = &args.members {
        let text = String::from_utf8(read_input(path)?).map_err(|_| {
            fail(
                Exit::DataErr,
                format!("{} is not UTF-8 text", path.display()),
            )
        })?;
        return Ok(Members {
            addresses: ex::parse_member_file(&text)?,
            certificates: Vec::new(),
        });
    }
    let (identity, key) = keys.member_of(group)?;
    let (answer, server): (MembersAnswer, _) = sealpost::group::release::call(
        group,
        Op::Members,
        &MembersPayload {},
        &identity.cert.cert,
        &key,
        unix_now(),
        &mut rand_core::OsRng,
    )?;
    ctx.detail(format!(
        "{server}: {} member(s) of group {}",
        answer.members.len(),
        group.name
    ));
    let addresses = ex::server_member_addresses(answer.members.iter().map(|m| m.address.as_str()))?;
    Ok(Members {
        addresses,
        certificates: answer
            .members
            .into_iter()
            .map(|m| (m.address, m.certificate))
            .collect(),
    })
}

/// Each recipient's usable certificates: those the server sent, else the
/// keystore's (`cert import`). A member without one is left out, named.
fn member_certs(
    recipients: &[&String],
    members: &Members,
    ks: &Keystore,
    ctx: &Context,
) -> anyhow::Result<Vec<(String, Vec<ReaderCert>)>> {
    let now = certs::now();
    let index = ks.certificate_index()?;
    let mut out = Vec::new();
    for addr in recipients {
        let from_server: Vec<CertInfo> = members
            .certificates
            .iter()
            .filter(|(a, _)| a.eq_ignore_ascii_case(addr))
            .filter_map(|(_, der)| CertInfo::from_der(der).ok())
            .collect();
        let found = if from_server.is_empty() {
            index.encryption_certificates(addr, now)
        } else {
            certs::select_for_encryption(addr, &from_server, now)
                .map(|v| v.into_iter().cloned().collect())
        };
        match found {
            Ok(list) if !list.is_empty() => out.push((
                (*addr).clone(),
                list.into_iter()
                    .map(|cert| ReaderCert {
                        support: index.support_for(&cert),
                        cert,
                    })
                    .collect(),
            )),
            Ok(_) => ctx.warn(format!("left out {}: no certificate", printable(addr))),
            Err(e) => ctx.warn(format!("left out {}: {}", printable(addr), single_line(&e))),
        }
    }
    if out.is_empty() {
        return Err(fail(
            Exit::NoUser,
            "no member has a usable certificate to re-encrypt to",
        ));
    }
    Ok(out)
}

/// Every member gets `message` as it is.
fn relay(
    message: &[u8],
    mail_from: &str,
    recipients: &[&String],
    envelope: Option<&Envelope>,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let cipher = envelope
        .and_then(|e| e.cipher().ok())
        .unwrap_or(ContentCipher::Aes256Cbc);
    for (i, member) in recipients.iter().enumerate() {
        let summary = EnvelopeSummary {
            kind: sealpost::smime::bcc::EnvelopeKind::Visible,
            mail_from: mail_from.to_string(),
            rcpt_to: vec![(*member).clone()],
            cipher,
            key_transport: KeyTransport::default(),
            recipient_infos: Vec::new(),
            bytes: message.len() as u64,
        };
        sink.begin(i, &summary)?;
        sink.write(message)?;
        sink.end()?;
    }
    Ok(())
}

/// Copies queued in the outbox this many at a time (bounded memory).
const QUEUE_BATCH: usize = 64;

/// Where the copies go.
enum Sink {
    Bsmtp {
        out: BsmtpOut,
        count: usize,
        bytes: u64,
    },
    Outbox(Box<Queue>),
}

struct Queue {
    outbox: Outbox,
    account: sealpost::store::account::Account,
    /// The input message: with the member, it names each copy.
    input_hash: String,
    current: Option<(String, sealpost::smime::bsmtp::Transaction)>,
    batch: Vec<(String, sealpost::smime::bsmtp::Transaction)>,
    queued: Vec<Entry>,
    already: usize,
    count: usize,
    bytes: u64,
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
        let account = account::choose(&store, Some(name))?;
        use sha2::Digest;
        Ok(Sink::Outbox(Box::new(Queue {
            outbox: Outbox::open(&ks.root().join("outbox"))?,
            account,
            input_hash: hex::encode(sha2::Sha256::digest(message)),
            current: None,
            batch: Vec::new(),
            queued: Vec::new(),
            already: 0,
            count: 0,
            bytes: 0,
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
            Sink::Outbox(mut q) => {
                q.flush()?;
                (q.count, q.bytes, Some(q), None)
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
        if let Some(q) = queue {
            summary["queued"] = json!(q.queued.len());
            summary["already_queued"] = json!(q.already);
            let report = if q.queued.is_empty() {
                None
            } else {
                let entries = q.queued.clone();
                match super::submit::send(
                    &q.outbox,
                    &q.account,
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

impl Queue {
    fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let (new, skipped) =
            self.outbox
                .enqueue_once(&self.account.name, &self.batch, unix_now() as i64)?;
        self.queued.extend(new);
        self.already += skipped;
        self.batch.clear();
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
            Sink::Outbox(q) => {
                q.current = Some((
                    ex::copy_key(q.input_hash.as_bytes(), &env.rcpt_to.join(",")),
                    sealpost::smime::bsmtp::Transaction {
                        mail_from: env.mail_from.clone(),
                        rcpt_to: env.rcpt_to.clone(),
                        data: Vec::new(),
                    },
                ));
                Ok(())
            }
        }
    }

    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match self {
            Sink::Bsmtp { out, bytes, .. } => {
                *bytes += data.len() as u64;
                out.write(data)
            }
            Sink::Outbox(q) => match &mut q.current {
                Some((_, t)) => {
                    t.data.extend_from_slice(data);
                    Ok(())
                }
                None => Err(fail(Exit::Software, "write outside a copy")),
            },
        }
    }

    fn end(&mut self) -> anyhow::Result<()> {
        match self {
            Sink::Bsmtp { out, .. } => out.end(),
            Sink::Outbox(q) => {
                let (key, t) = q
                    .current
                    .take()
                    .ok_or_else(|| fail(Exit::Software, "end outside a copy"))?;
                q.count += 1;
                q.bytes += t.data.len() as u64;
                q.batch.push((key, t));
                if q.batch.len() >= QUEUE_BATCH {
                    q.flush()?;
                }
                Ok(())
            }
        }
    }
}
