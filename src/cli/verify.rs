//! `sealpost verify`: a signed-only message (opaque, multipart/signed, or a
//! detached CMS signature with its content) to its content, released only
//! when the signature is good and the signer trusted.

use std::path::{Path, PathBuf};

use clap::Args;
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::smime::certs::CertInfo;
use sealpost::smime::decrypt::{self, KeySource, SignatureOutcome};
use sealpost::smime::envelope::{ContentKey, Envelope};
use sealpost::smime::mime::{self, Entity};
use sealpost::smime::signed;
use sealpost::smime::trust::{Status, Verdict};
use sealpost::store::keystore::SignerTrust;
use serde_json::{json, Value};

use super::trust::{OnlineArgs, TrustArgs};
use super::{read_input, Context};

/// Verify a signed message and write its content
///
/// Reads a signed S/MIME message: opaque (application/pkcs7-mime;
/// smime-type=signed-data, or bare CMS as DER, BER or PEM) or
/// multipart/signed; or, with --content FILE, a detached CMS signature
/// (DER, PEM, or an application/pkcs7-signature part) over FILE. Writes the
/// signed content (the first part of a multipart/signed message) only when
/// the signature is good, the signer trusted, and its certificate names the
/// sender (From), when there is one.
///
/// A signer is trusted through a certification path (RFC 5280) to a trust
/// anchor: the keystore's (`cert trust`), --trust-anchor, the system's CA
/// store; or when its certificate is one you accepted (your own, `cert
/// import`, `cert accept`). Revocation is checked with the CRLs the message
/// carries and those of `cert crl import`; nothing is fetched, and the
/// report says whether it was checked. Without a keystore (none at the
/// default place), --trust-anchor and the system's CA store serve.
///
/// When the content is written, the signer is learned as `decrypt` learns
/// it (--no-learn: nothing): a certificate trusted through a path to a
/// keystore or system anchor (not --trust-anchor) that names the sender is
/// validated, and encrypt uses it and the algorithms it announced, unless
/// another certificate already serves its address; any other is only
/// learned, for `cert accept`.
///
/// Exit status: 0 good and trusted; 65 BAD signature (the content is not
/// what was signed), malformed or unsigned input; 79 signer not trusted
/// (unknown anchor, no path, expired, revoked, wrong key usage); 80 the
/// certificate does not name the sender; 81 revocation unknown with
/// --require-revocation-check. With --allow-untrusted, 79, 80 and 81 write
/// the content with a warning and exit 0; a BAD signature never does.
/// --json prints the verdicts in every case.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signed message, or the detached signature with --content (- for stdin)
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// The content a detached CMS signature (FILE) signs, byte for byte
    #[arg(long, value_name = "FILE")]
    pub content: Option<PathBuf>,
    /// Write the content of a good signature even when the signer is not
    /// trusted or does not match the sender, with a warning
    #[arg(long)]
    pub allow_untrusted: bool,
    /// Write the content to FILE (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE of --output if it exists
    #[arg(long, requires = "output")]
    pub force: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub online: OnlineArgs,
    /// Do not record the signer's certificate (as validated or learned) and capabilities
    #[arg(long)]
    pub no_learn: bool,
}

/// `verify` opens no envelope: an encrypted message is for `decrypt`.
struct NoKeys;

impl KeySource for NoKeys {
    fn certificates(&self) -> Vec<CertInfo> {
        Vec::new()
    }

    fn unlock(&mut self, _: &str) -> anyhow::Result<sealpost::smime::privkey::PrivateKey> {
        Err(fail(Exit::Software, "verify unlocks no key"))
    }

    fn content_key_elsewhere(&mut self, _: &Envelope) -> anyhow::Result<Option<ContentKey>> {
        Err(fail_hint(
            Exit::DataErr,
            "the message is encrypted",
            "use `sealpost decrypt`, which verifies the signature inside too",
        ))
    }
}

/// The signature and the content it signs.
fn signatures(args: &VerifyArgs, input: &[u8]) -> anyhow::Result<(Vec<SignatureOutcome>, Vec<u8>)> {
    if let Some(path) = &args.content {
        let content = read_input(path)?;
        let der = detached_signature(input)?;
        let outcome = match signed::verify_detached(&der, &content) {
            Ok(v) => SignatureOutcome::good(v),
            Err(e) if sealpost::error::classify(&e).0 == Exit::DataErr => {
                SignatureOutcome::bad(&e, true)
            }
            Err(e) => return Err(e),
        };
        return Ok((vec![outcome], content));
    }
    let opened = decrypt::open(input, &mut NoKeys, false, &mut rand_core::OsRng)?;
    if opened.signatures.is_empty() {
        return Err(fail(Exit::DataErr, "the message is not signed"));
    }
    // A multipart/signed message's content is its first part, as signed.
    let content = match Entity::parse(&opened.plaintext) {
        Some(e) if e.media_type() == "multipart/signed" => mime::multipart_signed_parts(&e)?.0,
        _ => opened.plaintext,
    };
    Ok((opened.signatures, content))
}

/// The CMS bytes of a detached signature: DER/BER, PEM, or an
/// application/pkcs7-signature entity.
fn detached_signature(input: &[u8]) -> anyhow::Result<Vec<u8>> {
    if let Some(entity) = Entity::parse(input) {
        if matches!(
            entity.media_type().as_str(),
            "application/pkcs7-signature" | "application/x-pkcs7-signature"
        ) {
            return entity.decoded_body();
        }
    }
    decrypt::cms_payload(input)?.ok_or_else(|| {
        fail(
            Exit::DataErr,
            "the signature is neither CMS (DER, BER, PEM) nor an application/pkcs7-signature part",
        )
    })
}

pub fn run(args: VerifyArgs, ctx: &Context) -> anyhow::Result<()> {
    super::check_output_free(args.output.as_deref(), args.force)?;
    let input = read_input(&args.file)?;
    let (signatures, content) = signatures(&args, &input)?;
    // A keystore adds anchors, accepted certificates and CRLs; without one
    // (none at the default place), --trust-anchor and the system's serve.
    let ks = match ctx.keystore() {
        Ok(ks) => Some(ks),
        Err(e)
            if ctx.global.keystore.is_none()
                && sealpost::error::classify(&e).0 == Exit::NoInput =>
        {
            None
        }
        Err(e) => return Err(e),
    };
    let verdicts = super::trust::judge_all(
        &signatures,
        super::trust::sender(&input).as_deref(),
        ks.as_ref(),
        &args.trust,
        &args.online,
    )?;
    // Any one signature that passes is enough (RFC 5652 §5.6); else the
    // first one's refusal.
    let refusal = match verdicts
        .iter()
        .map(|v| super::trust::refusal(v, &args.trust))
        .collect::<Option<Vec<_>>>()
    {
        Some(mut all) if !all.is_empty() => Some(all.remove(0)),
        _ => None,
    };
    let bad = verdicts.iter().all(|v| v.status == Status::BadSignature);
    let release = refusal.is_none() || (args.allow_untrusted && !bad);
    // Learned only when the content is released, as `decrypt` learns only
    // when it writes the plaintext: a refused message leaves no trace.
    let trust = match &ks {
        Some(ks) => {
            super::trust::signer_trust(ks, &signatures, &verdicts, release && !args.no_learn)?
        }
        None => vec![None; signatures.len()],
    };
    if release {
        if let Some(path) = &args.output {
            sealpost::store::fsutil::atomic_write(path, &content, 0o600)?;
        }
    }
    if ctx.global.json {
        let shown = (release && args.output.is_none()).then_some(&content[..]);
        ctx.print_json(
            "verify",
            summary(
                &signatures,
                &trust,
                &verdicts,
                release,
                args.output.as_deref(),
                shown,
            ),
        )?;
    } else {
        if release && args.output.is_none() {
            super::write_stdout(&content, false)?;
        }
        // A refusal is the error line: the verdicts are not repeated.
        if release {
            report(ctx, &signatures, &trust, &verdicts);
        }
    }
    match refusal {
        Some(e) if !release => Err(e),
        Some(e) => {
            ctx.warn(format!(
                "content written although: {}",
                sealpost::error::single_line(&e)
            ));
            Ok(())
        }
        None => Ok(()),
    }
}

fn report(
    ctx: &Context,
    signatures: &[SignatureOutcome],
    trust: &[Option<SignerTrust>],
    verdicts: &[Verdict],
) {
    for ((s, trust), v) in signatures.iter().zip(trust).zip(verdicts) {
        let line = format!("{} [signer {}]", v.explain(), super::trust::signer_text(s));
        match v.status {
            Status::Trusted => ctx.note(line),
            _ => ctx.warn(line),
        }
        if let Some(trust) = trust {
            super::trust::report_learning(ctx, s, trust);
        }
    }
}

/// The `--json` document.
fn summary(
    signatures: &[SignatureOutcome],
    trust: &[Option<SignerTrust>],
    verdicts: &[Verdict],
    written: bool,
    file: Option<&Path>,
    content: Option<&[u8]>,
) -> Value {
    let (text, base64) = match content {
        Some(c) => super::json::text_or_base64(c),
        None => (Value::Null, Value::Null),
    };
    json!({
        "status": verdicts.iter().map(|v| v.status).max().map_or("bad_signature", |s| s.name()),
        "written": written,
        "signatures": signatures.iter().zip(trust).zip(verdicts).map(|((s, trust), v)| json!({
            "signer": super::trust::signer_json(s, trust.as_ref()),
            "error": s.result.as_ref().err(),
            "signing_time": super::json::time_opt(s.signing_time),
            "detached": s.detached,
            "verdict": super::trust::verdict_json(v),
        })).collect::<Vec<_>>(),
        "file": if written { file.map(|f| f.display().to_string()) } else { None },
        "content": text,
        "content_base64": base64,
    })
}
