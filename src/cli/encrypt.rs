//! `sealpost encrypt`: a message into Bcc-private S/MIME envelopes.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::smime::bcc::{BccMode, EnvelopeKind};
use sealpost::smime::certs;
use sealpost::smime::encrypt::{
    self, EnvelopeOutput, EnvelopeSummary, Options, ReaderCert, StreamEncrypted,
};
use sealpost::smime::envelope::{ContentCipher, ContentKey, KeyTransport, RecipientIdKind};
use sealpost::smime::trust::RecipientRules;
use sealpost::store::fsutil;
use sealpost::store::keystore::CertIndex;
use serde_json::json;

use super::output::{BsmtpOut, Dest, EmlOut};
use super::trust::TrustArgs;
use super::Context;
use input::{Body, Input};
use sealpost::group::release::deposit::{DepositReaders, Depositor};
use sealpost::group::release::secrets::DepositNote;

mod input;

/// Encrypt a message as S/MIME, keeping Bcc recipients private
///
/// Reads an RFC 5322 message (as `sealpost compose` writes it, or any other)
/// and encrypts its body once. Recipients are split into envelopes so that no
/// Bcc recipient is ever revealed: one envelope for To and Cc, and one per Bcc
/// recipient (or one for all of them with --bcc-mode shared), each naming
/// only its own readers in its RecipientInfos, headers and SMTP envelope. The
/// sender gets a RecipientInfo in every envelope (the sender copy, --no-self
/// to omit) but is not an SMTP recipient.
///
/// Output is a Batch SMTP stream (RFC 2442), one transaction per envelope,
/// which `sealpost submit` and `exim -bS` read; --outdir writes one .eml file
/// per envelope and a manifest.json; --eml writes the message itself when
/// there is exactly one envelope.
///
/// Readers' certificates: own ones, those you accepted (`cert import`,
/// `cert accept`) and those validated from signed mail (a path to a
/// keystore or system anchor), never one only learned; a recipient with
/// only a learned certificate fails with exit 67 and the `cert accept`
/// command to run once you have checked its fingerprint.
///
/// Checked for each reader's certificate: keyUsage keyEncipherment and
/// extendedKeyUsage emailProtection (or none), else it is not usable (exit
/// 67); that it is valid today and not revoked by a CRL kept with `cert crl
/// import` (signed by its issuer, or along its path to a trust anchor),
/// else the recipient is refused with exit 79, naming the certificate and
/// the reason. A recipient with several certificates is written to with
/// those that pass. With --require-trusted-recipients, each certificate
/// also needs a valid certification path (RFC 5280) to a trust anchor
/// (`cert trust`, --trust-anchor, the system's CA store), checked now:
/// having imported it (or validated it when it was learned) is not
/// enough; a self-signed correspondent's certificate passes once you
/// `cert trust` it.
/// With --require-revocation-check, revocation must have been checked
/// along that path (exit 81 otherwise). Nothing is written when a
/// recipient is refused, unless --skip-unknown leaves them out.
///
/// Algorithms: AES-256-GCM with RSA-OAEP for an envelope whose every reader
/// is known to read them (their certificate or their signed mail under an
/// accepted or validated certificate says so, or `sealpost cert prefer`), otherwise
/// AES-256-CBC with RSA PKCS#1 v1.5, which every S/MIME client reads.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The message to encrypt (- for stdin)
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// How to group Bcc recipients: one envelope each, or one shared by all of them
    #[arg(long, value_enum, default_value_t = BccModeArg::Separate)]
    pub bcc_mode: BccModeArg,
    /// Do not add the sender's own certificate (the sender cannot read their sent copy)
    #[arg(long)]
    pub no_self: bool,
    /// Give each Bcc recipient's copy a Bcc header naming only that recipient
    #[arg(long)]
    pub bcc_self_header: bool,
    /// Leave out recipients without a usable certificate, or whose certificates are refused
    /// (expired, revoked, untrusted), and report them, instead of failing
    #[arg(long)]
    pub skip_unknown: bool,
    /// Force the content cipher for every envelope. Without it: AES-256-GCM
    /// when every reader's certificate advertises AES-256-GCM and RSA-OAEP,
    /// else AES-256-CBC; ChaCha20-Poly1305 (RFC 8103) only when chosen here
    #[arg(long, value_enum)]
    pub cipher: Option<CipherArg>,
    /// Force the RSA key transport for every recipient
    #[arg(long, value_enum)]
    pub key_transport: Option<KeyTransportArg>,
    /// Name recipients by subjectKeyIdentifier instead of issuer and serial number
    #[arg(long)]
    pub keyid: bool,
    /// Sign with the sender's key before encrypting (RSA PKCS#1 v1.5, ECDSA or Ed25519, as the key is)
    #[arg(long)]
    pub sign: bool,
    /// With --sign and an RSA key: RSASSA-PSS instead of PKCS#1 v1.5
    #[arg(long, requires = "sign")]
    pub pss: bool,
    /// Write the Batch SMTP stream (or with --eml, the message) to FILE instead of stdout
    #[arg(short, long, value_name = "FILE", conflicts_with = "outdir")]
    pub output: Option<PathBuf>,
    /// Replace FILE of --output if it exists
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Write one .eml file per envelope and manifest.json into DIR
    #[arg(long, value_name = "DIR", conflicts_with = "eml")]
    pub outdir: Option<PathBuf>,
    /// Write the encrypted message itself (fails unless there is exactly one envelope)
    #[arg(long)]
    pub eml: bool,
    /// Deposit the message's key at the server of GROUP (a joined group)
    /// instead of wrapping it to certificates: each reader's `sealpost
    /// decrypt` asks the server, which checks who they are (and that the
    /// deposit has not expired) before it releases the key; `sealpost revoke`
    /// deletes it. The copies carry one entry naming the deposit (no reader),
    /// AES-256-GCM, and no sender copy: the sender reads like the others.
    #[arg(long, value_name = "GROUP", conflicts_with_all = ["cipher", "key_transport", "keyid", "no_self"])]
    pub deposit: Option<String>,
    /// With --deposit: who may read: the group's members at the time they
    /// ask, or each envelope's own recipients (one deposit per envelope)
    #[arg(long, value_enum, default_value_t = ReadersArg::Members, requires = "deposit")]
    pub readers: ReadersArg,
    /// With --deposit: delete the key after DURATION (e.g. 12h, 7d); nobody
    /// can read the message afterwards
    #[arg(long, value_name = "DURATION", requires = "deposit")]
    pub expires: Option<String>,
    /// Refuse (exit 79) a recipient whose certificate has no valid
    /// certification path to a trust anchor (`cert trust`, --trust-anchor,
    /// the system's CA store); an imported certificate alone is not enough
    #[arg(long, help_heading = "Trust")]
    pub require_trusted_recipients: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BccModeArg {
    Separate,
    Shared,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CipherArg {
    #[value(name = "aes128-gcm")]
    Aes128Gcm,
    #[value(name = "aes256-gcm")]
    Aes256Gcm,
    #[value(name = "aes128-cbc")]
    Aes128Cbc,
    #[value(name = "aes192-cbc")]
    Aes192Cbc,
    #[value(name = "aes256-cbc")]
    Aes256Cbc,
    #[value(name = "chacha20-poly1305")]
    ChaCha20Poly1305,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyTransportArg {
    /// RSAES-OAEP with SHA-256
    Oaep,
    /// RSAES-PKCS1-v1_5
    Pkcs1,
}

impl From<CipherArg> for ContentCipher {
    fn from(c: CipherArg) -> Self {
        match c {
            CipherArg::Aes128Gcm => ContentCipher::Aes128Gcm,
            CipherArg::Aes256Gcm => ContentCipher::Aes256Gcm,
            CipherArg::Aes128Cbc => ContentCipher::Aes128Cbc,
            CipherArg::Aes192Cbc => ContentCipher::Aes192Cbc,
            CipherArg::Aes256Cbc => ContentCipher::Aes256Cbc,
            CipherArg::ChaCha20Poly1305 => ContentCipher::ChaCha20Poly1305,
        }
    }
}

pub fn run(args: EncryptArgs, ctx: &Context) -> anyhow::Result<()> {
    super::check_output_free(args.output.as_deref(), args.force)?;
    let Input {
        head,
        body,
        body_len,
    } = input::open(&args.file, args.sign)?;
    let ks = ctx.keystore()?;
    let now = certs::now();
    let options = options(&args);
    let index = ks.certificate_index()?;
    let sources = args
        .trust
        .recipient_sources(&ks, args.require_trusted_recipients)?;
    let rules = args
        .trust
        .recipient_rules(&sources, args.require_trusted_recipients, now);
    let mut lookup = |addr: &str| reader_certs(&index, addr, &rules);
    let mut plan = encrypt::plan_stream(&head, &options, &mut lookup)?;
    for (addr, why) in plan.skipped() {
        ctx.warn(format!("left out {addr}: {why}"));
    }
    let (mut body, body_len): (Box<dyn Read + Send>, _) = match body {
        Body::Rewindable(mut body) => {
            // --sign: a first pass over the body digests the inner entity.
            let mut signer = sealpost::store::signer::inner_signer(
                &ks,
                || ctx.passphrase(super::Ask::Existing),
                &head,
                args.pss,
                now,
            )?;
            let len = plan.sign(&mut *body, &mut signer)?;
            (Box::new(body), Some(len))
        }
        Body::Once(body) => (body, body_len),
    };
    let mut depositor = depositor(&args, ctx, &ks, &head)?;
    let mut wrap = depositor
        .as_mut()
        .map(|d| move |r: &[(&String, &ReaderCert)], k: &ContentKey| d.wrap(r, k));
    let deposit = wrap.as_mut().map(|w| w as &mut encrypt::DepositWrap<'_>);
    let count = plan.envelope_count();
    let encrypt = |out: &mut dyn EnvelopeOutput| {
        plan.encrypt(&mut body, body_len, out, deposit, &mut rand_core::OsRng)
    };
    let (result, written) = write_envelopes(&args, ctx.global.json, count, encrypt)?;
    finish_report(
        ctx,
        &args,
        &result.envelopes,
        &written,
        &result.skipped,
        result.content_encryptions,
        result.signed,
        depositor
            .as_ref()
            .map(|d| d.made.as_slice())
            .unwrap_or_default(),
    )
}

/// The depositor for `--deposit`, which needs the message's Message-ID
/// (from `head`, its header section) for the record `revoke` reads.
fn depositor(
    args: &EncryptArgs,
    ctx: &Context,
    ks: &sealpost::store::keystore::Keystore,
    head: &[u8],
) -> anyhow::Result<Option<Depositor>> {
    let Some(group) = &args.deposit else {
        return Ok(None);
    };
    let expires = match &args.expires {
        Some(text) => {
            let secs = sealpost::mail::outbox::parse_duration(text)?;
            Some(sealpost::smime::certs::now() as u64 + secs.max(1) as u64)
        }
        None => None,
    };
    let message_id = sealpost::smime::message::parse_message(head)?.message_id;
    Depositor::new(ctx, ks, group, args.readers.into(), expires, message_id).map(Some)
}

/// Who may read a deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadersArg {
    /// Whoever is a member of the group when they ask
    Members,
    /// The envelope's own recipients, by their certificates
    Recipients,
}

impl From<ReadersArg> for DepositReaders {
    fn from(arg: ReadersArg) -> Self {
        match arg {
            ReadersArg::Members => DepositReaders::Members,
            ReadersArg::Recipients => DepositReaders::Recipients,
        }
    }
}

fn options(args: &EncryptArgs) -> Options {
    let mut options = Options {
        bcc_mode: match args.bcc_mode {
            BccModeArg::Separate => BccMode::Separate,
            BccModeArg::Shared => BccMode::Shared,
        },
        sender_copy: !args.no_self,
        bcc_self_header: args.bcc_self_header,
        skip_unknown: args.skip_unknown,
        cipher: args.cipher.map(Into::into),
        key_transport: args.key_transport.map(|k| match k {
            KeyTransportArg::Oaep => KeyTransport::RsaOaepSha256,
            KeyTransportArg::Pkcs1 => KeyTransport::RsaPkcs1v15,
        }),
        rid: if args.keyid {
            RecipientIdKind::SubjectKeyId
        } else {
            RecipientIdKind::IssuerAndSerial
        },
    };
    if args.deposit.is_some() {
        // Only sealpost reads a deposit entry, and it reads GCM; the sender
        // reads through the server like everyone else, so that a revoked
        // key locks everyone out.
        options.cipher = Some(ContentCipher::Aes256Gcm);
        options.sender_copy = false;
    }
    options
}

/// Where the envelopes went: the file of each (if any), and with `--json`
/// without a file, the output itself, for the document.
struct Written {
    files: Vec<Option<PathBuf>>,
    captured: Option<Vec<u8>>,
}

/// The per-envelope details and the closing note (or the JSON summary).
#[allow(clippy::too_many_arguments)]
fn finish_report(
    ctx: &Context,
    args: &EncryptArgs,
    envelopes: &[EnvelopeSummary],
    written: &Written,
    skipped: &[(String, String)],
    content_encryptions: usize,
    signed: bool,
    deposits: &[DepositNote],
) -> anyhow::Result<()> {
    for env in envelopes {
        ctx.detail(format!(
            "envelope to {}: {}, {}",
            env.rcpt_to.join(", "),
            env.cipher,
            env.key_transport.name()
        ));
    }
    if ctx.global.json {
        let mut value = summary(
            envelopes,
            &written.files,
            skipped,
            content_encryptions,
            signed,
        );
        value["deposits"] = deposits.iter().map(deposit_json).collect();
        let captured = written.captured.as_deref().map(String::from_utf8_lossy);
        let file = args.output.as_ref().filter(|p| p.as_os_str() != "-");
        value["file"] = json!(file);
        value["outdir"] = json!(args.outdir);
        value["bsmtp"] = json!(captured.as_ref().filter(|_| !args.eml));
        value["message"] = json!(captured.as_ref().filter(|_| args.eml));
        return ctx.print_json("encrypt", value);
    }
    for d in deposits {
        ctx.note(format!(
            "key deposited at {} as {}{}; `sealpost revoke {}` deletes it",
            d.server,
            d.id,
            d.expires
                .map(|e| format!(", until {}", certs::format_time(e)))
                .unwrap_or_default(),
            d.id
        ));
    }
    let recipients = envelopes.iter().map(|e| e.rcpt_to.len()).sum::<usize>();
    ctx.note(format!(
        "encrypted into {} envelope{} for {} recipient{}",
        envelopes.len(),
        if envelopes.len() == 1 { "" } else { "s" },
        recipients,
        if recipients == 1 { "" } else { "s" },
    ));
    Ok(())
}

/// A key deposit in `--json`.
fn deposit_json(d: &DepositNote) -> serde_json::Value {
    json!({
        "id": d.id,
        "group": d.group,
        "message_id": d.message_id,
        "created": super::json::time(d.created),
        "expires": super::json::time_opt(d.expires),
        "server": d.server,
    })
}

/// `manifest.json` of `--outdir`, written last: its presence says the
/// directory is complete. It carries the `--json` schema version, as its
/// members follow the same rules.
fn write_manifest<'a>(
    path: &Path,
    envelopes: impl Iterator<Item = (&'a str, &'a str, &'a [String], EnvelopeKind)>,
) -> anyhow::Result<()> {
    let manifest: Vec<_> = envelopes
        .map(|(file, mail_from, rcpt_to, kind)| {
            json!({"file": file, "mail_from": mail_from, "rcpt_to": rcpt_to, "kind": kind_name(kind)})
        })
        .collect();
    let mut text = serde_json::to_vec_pretty(&json!({
        "schema_version": super::json::SCHEMA_VERSION,
        "envelopes": manifest,
    }))?;
    text.push(b'\n');
    fsutil::atomic_write(path, &text, fsutil::PUBLIC_FILE)
}

/// Refuses an `--outdir` that already holds a complete run.
fn manifest_path(dir: &Path) -> anyhow::Result<PathBuf> {
    fsutil::create_private_dir(dir)?;
    let path = dir.join("manifest.json");
    if path.exists() {
        return Err(fail_hint(
            Exit::CantCreate,
            format!("{} already holds a manifest.json", dir.display()),
            "choose an empty or new directory",
        ));
    }
    Ok(path)
}

fn kind_name(k: EnvelopeKind) -> &'static str {
    match k {
        EnvelopeKind::Visible => "to-cc",
        EnvelopeKind::Bcc => "bcc",
    }
}

fn summary(
    envelopes: &[EnvelopeSummary],
    files: &[Option<PathBuf>],
    skipped: &[(String, String)],
    content_encryptions: usize,
    signed: bool,
) -> serde_json::Value {
    let envelopes: Vec<_> = envelopes
        .iter()
        .zip(files)
        .map(|(e, file)| {
            json!({
                "kind": kind_name(e.kind),
                "mail_from": e.mail_from,
                "rcpt_to": e.rcpt_to,
                "content_encryption": e.cipher.name(),
                "key_encryption": e.key_transport.name(),
                "recipient_infos": e.recipient_infos.iter().map(|(a, fp)| json!({"address": a, "fingerprint": fp})).collect::<Vec<_>>(),
                "bytes": e.bytes,
                "file": file,
            })
        })
        .collect();
    json!({
        "envelopes": envelopes,
        "skipped": skipped.iter().map(|(a, r)| json!({"address": a, "reason": r})).collect::<Vec<_>>(),
        "content_encryptions": content_encryptions,
        "signed": signed,
    })
}

/// The certificates `encrypt` may use for `addr`, with what each holder reads.
fn reader_certs(
    index: &CertIndex,
    addr: &str,
    rules: &RecipientRules<'_>,
) -> anyhow::Result<Vec<ReaderCert>> {
    Ok(index
        .encryption_certificates(addr, rules)?
        .into_iter()
        .map(|cert| ReaderCert {
            support: index.support_for(&cert),
            cert,
        })
        .collect())
}

/// `--outdir`: one file per envelope.
struct DirOut {
    dir: PathBuf,
    current: Option<fsutil::AtomicFile>,
    files: Vec<(String, EnvelopeSummary)>,
}

impl encrypt::EnvelopeOutput for DirOut {
    fn begin(&mut self, index: usize, env: &EnvelopeSummary) -> anyhow::Result<()> {
        let name = format!("{:03}-{}.eml", index + 1, kind_name(env.kind));
        self.current = Some(fsutil::AtomicFile::create(
            &self.dir.join(&name),
            fsutil::PUBLIC_FILE,
        )?);
        self.files.push((name, env.clone()));
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match &mut self.current {
            Some(f) => f.write(data),
            None => Err(fail(Exit::Software, "write outside an envelope")),
        }
    }
    fn end(&mut self) -> anyhow::Result<()> {
        self.current
            .take()
            .map_or(Ok(()), fsutil::AtomicFile::commit)
    }
}

/// Writes the envelopes `encrypt` makes where asked; with `capture`
/// (`--json`), what would go to stdout is kept for the document instead.
fn write_envelopes(
    args: &EncryptArgs,
    capture: bool,
    count: usize,
    encrypt: impl FnOnce(&mut dyn EnvelopeOutput) -> anyhow::Result<StreamEncrypted>,
) -> anyhow::Result<(StreamEncrypted, Written)> {
    if let Some(dir) = &args.outdir {
        let manifest_path = manifest_path(dir)?;
        let mut out = DirOut {
            dir: dir.clone(),
            current: None,
            files: Vec::new(),
        };
        let result = encrypt(&mut out)?;
        write_manifest(
            &manifest_path,
            out.files.iter().map(|(name, env)| {
                (
                    name.as_str(),
                    env.mail_from.as_str(),
                    env.rcpt_to.as_slice(),
                    env.kind,
                )
            }),
        )?;
        let files = out.files.iter().map(|(n, _)| Some(dir.join(n))).collect();
        let written = Written {
            files,
            captured: None,
        };
        return Ok((result, written));
    }
    if args.eml && count != 1 {
        return Err(fail_hint(
            Exit::Usage,
            format!("--eml needs exactly one envelope, this message makes {count}"),
            "use --outdir DIR, or the default Batch SMTP output",
        ));
    }
    let file = match &args.output {
        Some(path) if path.as_os_str() != "-" => Some(path.clone()),
        _ => None,
    };
    let dest = Dest::new(&args.output, capture)?;
    let (result, captured) = if args.eml {
        let mut out = EmlOut(dest);
        let result = encrypt(&mut out)?;
        (result, out.0.finish()?)
    } else {
        let mut out = BsmtpOut {
            dest,
            line_start: true,
        };
        let result = encrypt(&mut out)?;
        (result, out.dest.finish()?)
    };
    let written = Written {
        files: vec![file; count],
        captured,
    };
    Ok((result, written))
}
