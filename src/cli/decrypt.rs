//! `sealpost decrypt`: an S/MIME message to its plaintext MIME entity.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use sealpost::error::{fail, Exit};
use sealpost::group::release::keys::KeystoreKeys;
use sealpost::group::release::Released;
use sealpost::smime::decrypt::{self, Opened, Rereading, SignatureOutcome, Streamed};
use sealpost::smime::trust::{Status, Trust, Verdict};
use sealpost::store::keystore::{SignerTrust, Standing};
use serde_json::json;

use super::trust::{signer_text, OnlineArgs, TrustArgs};
use super::{printable, read_input, Context};

/// Decrypt an S/MIME message
///
/// Reads an S/MIME message (application/pkcs7-mime or x-pkcs7-mime, base64 or
/// binary), or bare CMS data (DER, BER such as `openssl cms -stream` writes,
/// or PEM), and writes the decrypted MIME entity byte for byte. Every own key
/// the keystore ever held is tried, so old mail stays readable.
///
/// An opaque signature (inside the encryption or around it) is verified and
/// removed; a multipart/signed result is verified and written as it is. The
/// signer and the verdict are reported on stderr (and in --json): a BAD
/// signature (the content is not what was signed) fails with exit 65 and
/// writes nothing, unless --allow-bad-signature; a good signature by a signer
/// that is not trusted (no certification path to a trust anchor, expired,
/// revoked, wrong key usage) or whose certificate does not name the sender
/// writes the plaintext with a warning.
///
/// A signer is trusted through a certification path (RFC 5280) to a trust
/// anchor: the keystore's (`cert trust`), --trust-anchor, the system's CA
/// store; or when its certificate is one you accepted (your own, `cert
/// import`, `cert accept`). Revocation is checked with the CRLs the message
/// carries and those of `cert crl import`; nothing is fetched.
///
/// A good signature proves only that the key of the certificate it carries
/// signed; anyone can make a certificate naming any address. The signer is
/// called "known certificate" only when its certificate is your own or one
/// you accepted (`cert import`, `cert accept`); otherwise the report says
/// "certificate NOT verified" unless a path vouches for it.
///
/// What is learned (--no-learn: nothing): a signer trusted through a path to
/// a keystore or system anchor (not --trust-anchor), whose certificate names
/// the sender, is *validated*: encrypt uses its certificate from then on,
/// unless another one already serves one of its addresses (then a warning
/// names both and the commands that replace it). Any other new
/// correspondent's certificate is only learned (shown by `cert list`), used
/// to encrypt only after `cert accept`, and only when no other certificate
/// names its address. The algorithms a signer's software reads
/// (SMIMECapabilities) are recorded for accepted and validated certificates.
///
/// On any failure nothing at all is written to stdout.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The message (- for stdin)
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// Fail unless the message carries a good signature by a trusted signer
    /// whose certificate names the sender (exit 65 unsigned or bad, 79 not
    /// trusted, 80 sender mismatch)
    #[arg(long)]
    pub require_signature: bool,
    /// Write the plaintext even when a signature is BAD (the content is not
    /// what was signed), with a warning
    #[arg(long)]
    pub allow_bad_signature: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub online: OnlineArgs,
    /// Do not record the signer's certificate (as validated or learned) and capabilities
    #[arg(long)]
    pub no_learn: bool,
    /// Write the plaintext to FILE (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE of --output if it exists
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Make no network request: a message that needs a group key release fails instead
    #[arg(long)]
    pub offline: bool,
    /// Decrypt only part N of a plain message: an encrypted message attached
    /// to it or forwarded in it (message/rfc822), which decrypt names when the
    /// message itself is not encrypted. Parts are numbered from 1 as IMAP
    /// does, nested ones joined with dots (2.1); a forwarded message stands
    /// for its part. The part is opened as a message of its own: nothing
    /// around it is written.
    #[arg(long, value_name = "N")]
    pub part: Option<String>,
}

pub fn run(args: DecryptArgs, ctx: &Context) -> anyhow::Result<()> {
    super::check_output_free(args.output.as_deref(), args.force)?;
    // --json without -o puts the content into the JSON: that needs it in memory.
    let input = if (ctx.global.json && args.output.is_none()) || args.part.is_some() {
        read_input(&args.file)?
    } else {
        match open_input(&args.file)? {
            Input::Whole(data) => data,
            Input::Large(mut file, rereading) => {
                match run_streaming(&args, ctx, &mut file, rereading)? {
                    true => return Ok(()),
                    false => read_whole(&mut file)?,
                }
            }
        }
    };
    let input = match &args.part {
        Some(number) => decrypt::select_part(&input, number)?,
        None => input,
    };
    let ks = ctx.keystore()?;
    let mut keys = KeystoreKeys::new(&ks, ctx, args.offline)?;
    keys.require_own_key()?;
    let opened = decrypt::open(&input, &mut keys, true, &mut rand_core::OsRng)?;
    let verdicts = super::trust::judge_all(
        &opened.signatures,
        super::trust::sender(&input).as_deref(),
        Some(&ks),
        &args.trust,
        &args.online,
    )?;
    check_signatures(&args, &verdicts)?;
    let trust = super::trust::signer_trust(&ks, &opened.signatures, &verdicts, !args.no_learn)?;
    // Every check passed: only now does plaintext leave the process.
    if let Some(path) = &args.output {
        sealpost::store::fsutil::atomic_write(path, &opened.plaintext, 0o600)?;
    }
    if ctx.global.json {
        return ctx.print_json(
            "decrypt",
            summary(
                &opened,
                &trust,
                &verdicts,
                args.output.as_deref(),
                &keys.released,
            ),
        );
    }
    if args.output.is_none() {
        super::write_stdout(&opened.plaintext, false)?;
    }
    report(ctx, &opened, &trust, &verdicts, &keys.released);
    Ok(())
}

/// Fail-closed: a BAD signature stops the plaintext (unless
/// --allow-bad-signature), and --require-signature wants one signature
/// that is good, trusted and by the sender.
fn check_signatures(args: &DecryptArgs, verdicts: &[Verdict]) -> anyhow::Result<()> {
    if !args.allow_bad_signature {
        if let Some(bad) = verdicts.iter().find(|v| v.status == Status::BadSignature) {
            return Err(sealpost::error::fail_hint(
                Exit::DataErr,
                bad.explain(),
                "nothing was written; --allow-bad-signature writes the plaintext anyway",
            ));
        }
    }
    if !args.require_signature {
        return Ok(());
    }
    let mut refusals = verdicts
        .iter()
        .map(|v| super::trust::refusal(v, &args.trust));
    match refusals.next() {
        None => Err(fail(
            Exit::DataErr,
            "signature required: the message is not signed",
        )),
        Some(None) => Ok(()),
        // Any one signature that passes is enough (RFC 5652 §5.6).
        Some(Some(first)) => match refusals.all(|r| r.is_some()) {
            true => Err(first),
            false => Ok(()),
        },
    }
}

/// Reports a good signature: whose certificate it is, as far as the user
/// vouched for it, and what was learned.
fn report_good_signature(
    ctx: &Context,
    s: &SignatureOutcome,
    trust: &SignerTrust,
    verdict: &Verdict,
) {
    let who = signer_text(s);
    if let Some(Trust::Path { .. }) = verdict.trust() {
        ctx.note(format!("{} from {who}", verdict.explain()));
        report_sender(ctx, verdict);
        super::trust::report_learning(ctx, s, trust);
        return;
    }
    if let Some(why) = verdict.distrust() {
        ctx.warn(format!("signer NOT trusted: {why}"));
    }
    report_sender(ctx, verdict);
    match trust.standing {
        Standing::Own => ctx.note(format!("good signature (your own certificate) from {who}")),
        Standing::Accepted => ctx.note(format!("good signature (known certificate) from {who}")),
        Standing::Validated => ctx.note(format!(
            "good signature (certificate validated earlier, NOT trusted now) from {who}"
        )),
        Standing::Learned | Standing::Unknown if !trust.others.is_empty() => {
            let others: Vec<String> = trust
                .others
                .iter()
                .map(|(addr, fp)| format!("{} {}", printable(addr), &fp[..16]))
                .collect();
            ctx.warn(format!(
                "good signature (certificate NOT verified) from {who}, which is NOT the certificate you have ({}); it was not learned",
                others.join(", ")
            ));
        }
        Standing::Learned | Standing::Unknown => ctx.note(format!(
            "good signature (certificate NOT verified) from {who}"
        )),
    }
    super::trust::report_learning(ctx, s, trust);
}

/// Warns when a trusted certificate does not name the sender.
fn report_sender(ctx: &Context, verdict: &Verdict) {
    if verdict.status == Status::SenderMismatch {
        ctx.warn(verdict.explain());
    }
}

fn report(
    ctx: &Context,
    opened: &Opened,
    trust: &[Option<SignerTrust>],
    verdicts: &[Verdict],
    released: &[(String, Released)],
) {
    for (group, r) in released {
        ctx.note(format!("key of group {group} released by {}", r.server));
    }
    for (cipher, by) in &opened.decryptions {
        match by {
            Some(c) => ctx.note(format!(
                "decrypted ({cipher}) with the key of {}",
                printable(&c.emails.join(", "))
            )),
            None => ctx.note(format!("decrypted ({cipher})")),
        }
    }
    if opened.signatures.is_empty() {
        ctx.note("not signed");
    }
    for ((s, trust), verdict) in opened.signatures.iter().zip(trust).zip(verdicts) {
        match (&s.result, trust) {
            (Ok(()), Some(trust)) => report_good_signature(ctx, s, trust, verdict),
            // A good signature without a certificate to show: not produced today.
            (Ok(()), None) => ctx.note("good signature (certificate NOT verified)"),
            (Err(why), _) => ctx.warn(format!("BAD signature from {}: {why}", signer_text(s))),
        }
    }
}

/// The `--json` document; the plaintext is in it unless it went to `file`.
fn summary(
    opened: &Opened,
    trust: &[Option<SignerTrust>],
    verdicts: &[Verdict],
    file: Option<&Path>,
    released: &[(String, Released)],
) -> serde_json::Value {
    let mut v = json!({
        "released": released.iter().map(|(group, r)| json!({
            "group": group,
            "server": r.server.to_string(),
            "key_hash": r.key_hash,
        })).collect::<Vec<_>>(),
        "decrypted_with": opened.decryptions.iter().map(|(cipher, by)| json!({
            "content_encryption": cipher.name(),
            "fingerprint": by.as_ref().map(|c| c.fingerprint.clone()),
            "emails": by.as_ref().map(|c| c.emails.clone()),
        })).collect::<Vec<_>>(),
        "signatures": opened.signatures.iter().zip(trust).zip(verdicts).map(|((s, trust), verdict)| json!({
            "valid": s.result.is_ok(),
            "error": s.result.as_ref().err(),
            "signer": super::trust::signer_json(s, trust.as_ref()),
            "signing_time": super::json::time_opt(s.signing_time),
            "detached": s.detached,
            "verdict": super::trust::verdict_json(verdict),
        })).collect::<Vec<_>>(),
    });
    // The plaintext as text when it is UTF-8, else as base64: the other is null.
    let (content, content_base64) = match file {
        Some(_) => (json!(null), json!(null)),
        None => super::json::text_or_base64(&opened.plaintext),
    };
    v["file"] = json!(file);
    v["content"] = content;
    v["content_base64"] = content_base64;
    v
}

// ---------------------------------------------------------------------------
// Streaming large messages
// ---------------------------------------------------------------------------

/// Messages up to this size are decrypted in memory; larger ones stream
/// (through a temporary copy of the raw input when it comes from stdin).
const STREAM_THRESHOLD: usize = 4 << 20;

enum Input {
    Whole(Vec<u8>),
    /// A large message in a file that can be read more than once, and who
    /// could change it between the reads.
    Large(File, Rereading),
}

fn read_err(path: &Path, e: std::io::Error) -> anyhow::Error {
    if path.as_os_str() == "-" {
        return fail(Exit::IoErr, format!("cannot read stdin: {e}"));
    }
    let exit = match e.kind() {
        std::io::ErrorKind::NotFound => Exit::NoInput,
        std::io::ErrorKind::PermissionDenied => Exit::NoPerm,
        _ => Exit::IoErr,
    };
    fail(exit, format!("cannot read {}: {e}", path.display()))
}

fn open_input(path: &Path) -> anyhow::Result<Input> {
    if path.as_os_str() != "-" {
        let file = File::open(path).map_err(|e| read_err(path, e))?;
        let meta = file.metadata().map_err(|e| read_err(path, e))?;
        if meta.is_file() && meta.len() > STREAM_THRESHOLD as u64 {
            let rereading = match sealpost::store::fsutil::only_owner_writes(&meta) {
                true => Rereading::Private,
                false => Rereading::Recheck,
            };
            return Ok(Input::Large(file, rereading));
        }
        return read_input(path).map(Input::Whole);
    }
    // stdin: read ahead; a large message is copied (as it came, encrypted) to
    // an unlinked temporary file, which disappears on every exit path.
    super::announce_terminal_stdin();
    let mut stdin = std::io::stdin().lock();
    let mut data = Vec::new();
    (&mut stdin)
        .take(STREAM_THRESHOLD as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| read_err(path, e))?;
    if data.len() <= STREAM_THRESHOLD {
        return Ok(Input::Whole(data));
    }
    let spool_err = |e: std::io::Error| {
        fail(
            Exit::IoErr,
            format!("cannot write the temporary copy of the message: {e}"),
        )
    };
    let mut spool = tempfile::tempfile().map_err(spool_err)?;
    spool.write_all(&data).map_err(spool_err)?;
    drop(data);
    std::io::copy(&mut stdin, &mut spool).map_err(|e| read_err(path, e))?;
    // Unlinked from the start: nobody else can open it.
    Ok(Input::Large(spool, Rereading::Private))
}

fn read_whole(file: &mut File) -> anyhow::Result<Vec<u8>> {
    let mut data = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut data))
        .map_err(|e| fail(Exit::IoErr, format!("cannot read the message: {e}")))?;
    Ok(data)
}

/// Where streamed plaintext goes: stdout, or `-o FILE` written atomically.
enum PlainOut {
    Stdout(std::io::StdoutLock<'static>),
    File(sealpost::store::fsutil::AtomicFile),
}

impl Write for PlainOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            PlainOut::Stdout(out) => out.write(buf),
            PlainOut::File(f) => {
                f.write(buf).map_err(std::io::Error::other)?;
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            PlainOut::Stdout(out) => out.flush(),
            PlainOut::File(_) => Ok(()),
        }
    }
}

/// Decrypts a large message without holding it in memory. `Ok(false)`: the
/// message is not a plain encrypted one (signed, nested, multipart/signed,
/// PEM); nothing was written and the caller takes the in-memory path.
fn run_streaming(
    args: &DecryptArgs,
    ctx: &Context,
    file: &mut File,
    rereading: Rereading,
) -> anyhow::Result<bool> {
    let ks = ctx.keystore()?;
    let mut keys = KeystoreKeys::new(&ks, ctx, args.offline)?;
    keys.require_own_key()?;
    let mut out = match &args.output {
        Some(path) => PlainOut::File(sealpost::store::fsutil::AtomicFile::create(path, 0o600)?),
        None => PlainOut::Stdout(std::io::stdout().lock()),
    };
    let require_signature = args.require_signature;
    let mut check = |_: &Opened| -> anyhow::Result<()> {
        // The streaming path only takes messages without signatures.
        if require_signature {
            return Err(fail(
                Exit::DataErr,
                "signature required: the message is not signed",
            ));
        }
        Ok(())
    };
    let opened = match decrypt::open_streaming(
        file,
        rereading,
        &mut keys,
        &mut out,
        &mut check,
        &mut rand_core::OsRng,
    )? {
        Streamed::Done(opened) => opened,
        Streamed::NotStreamable => return Ok(false),
    };
    if let PlainOut::File(f) = out {
        f.commit()?;
    }
    if ctx.global.json {
        ctx.print_json(
            "decrypt",
            summary(&opened, &[], &[], args.output.as_deref(), &keys.released),
        )?;
        return Ok(true);
    }
    report(ctx, &opened, &[], &[], &keys.released);
    Ok(true)
}
