//! `sealpost decrypt`: an S/MIME message to its plaintext MIME entity.

use std::path::PathBuf;

use base64::Engine;
use clap::Args;
use rsa::RsaPrivateKey;
use sealpost::certs::{self, CertInfo, Support};
use sealpost::decrypt::{self, KeySource, Opened, SignatureOutcome};
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::keystore::{Identity, Keystore};
use serde_json::json;

use super::{printable, read_input, Ask, Context};

/// Decrypt an S/MIME message
///
/// Reads an S/MIME message (application/pkcs7-mime or x-pkcs7-mime, base64 or
/// binary), or bare CMS data (DER, BER such as `openssl cms -stream` writes,
/// or PEM), and writes the decrypted MIME entity byte for byte. Every own key
/// the keystore ever held is tried, so old mail stays readable.
///
/// An opaque signature (inside the encryption or around it) is verified and
/// removed; a multipart/signed result is verified and written as it is. The
/// signer and the result are reported on stderr (and in --json). A verified
/// signature teaches sealpost the signer's certificate and the algorithms
/// their software reads (--no-learn to skip).
///
/// On any failure nothing at all is written to stdout.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    sealpost decrypt message.eml > message.txt\n  \
    sealpost decrypt --require-signature < message.eml\n  \
    sealpost --json decrypt message.eml | jq -r .content")]
pub struct DecryptArgs {
    /// The message (- for stdin)
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// Fail unless the message carries a valid signature
    #[arg(long)]
    pub require_signature: bool,
    /// Do not record the signer's certificate and capabilities
    #[arg(long)]
    pub no_learn: bool,
    /// Write the plaintext to FILE (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Own keys from the keystore, each unlocked only when a message names it.
struct KeystoreKeys<'a> {
    ks: &'a Keystore,
    ctx: &'a Context,
    identities: Vec<Identity>,
}

impl KeySource for KeystoreKeys<'_> {
    fn certificates(&self) -> Vec<CertInfo> {
        self.identities.iter().map(|i| i.cert.clone()).collect()
    }

    fn unlock(&mut self, fingerprint: &str) -> anyhow::Result<RsaPrivateKey> {
        let ident = self
            .identities
            .iter()
            .find(|i| i.cert.fingerprint == fingerprint)
            .ok_or_else(|| fail(Exit::Software, "unknown identity"))?;
        let pass = if ident.encrypted {
            Some(self.ctx.passphrase(Ask::Existing)?)
        } else {
            None
        };
        self.ks.unlock(ident, pass)
    }
}

pub fn run(args: DecryptArgs, ctx: &Context) -> anyhow::Result<()> {
    let input = read_input(&args.file)?;
    let ks = ctx.keystore()?;
    let mut keys = KeystoreKeys {
        ks: &ks,
        ctx,
        identities: ks.identities()?,
    };
    if keys.identities.is_empty() {
        return Err(fail_hint(
            Exit::NoUser,
            "the keystore holds no own key to decrypt with",
            "import yours with `sealpost key import`, or create one with `sealpost key generate`",
        ));
    }
    let opened = decrypt::open(&input, &mut keys, true, &mut rand_core::OsRng)?;
    let good_signature = opened.signatures.iter().any(|s| s.result.is_ok());
    if args.require_signature && !good_signature {
        let why = opened
            .signatures
            .iter()
            .find_map(|s| s.result.as_ref().err().cloned())
            .unwrap_or_else(|| "the message is not signed".into());
        return Err(fail(Exit::DataErr, format!("signature required: {why}")));
    }
    if !args.no_learn {
        learn(&ks, &opened.signatures, ctx)?;
    }
    // Every check passed: only now does plaintext leave the process.
    if let Some(path) = &args.output {
        sealpost::fsutil::atomic_write(path, &opened.plaintext, 0o600)?;
    }
    if ctx.global.json {
        return ctx.print_json(&summary(&opened, args.output.is_none()));
    }
    if args.output.is_none() {
        super::write_stdout(&opened.plaintext, false)?;
    }
    report(ctx, &opened);
    Ok(())
}

/// Records verified signers' certificates and what their software reads.
fn learn(ks: &Keystore, signatures: &[SignatureOutcome], ctx: &Context) -> anyhow::Result<()> {
    for sig in signatures.iter().filter(|s| s.result.is_ok()) {
        let Some(signer) = &sig.signer else { continue };
        let own = ks
            .identities()?
            .iter()
            .any(|i| i.cert.fingerprint == signer.fingerprint);
        if own {
            continue;
        }
        if ks
            .import_certificates(std::slice::from_ref(signer))?
            .iter()
            .any(|(_, new)| *new)
        {
            ctx.detail(format!(
                "learned certificate {} for {}",
                &signer.fingerprint[..16],
                signer.emails.join(", ")
            ));
        }
        if !sig.capabilities.is_empty() {
            let support = Support::from_capabilities(&sig.capabilities);
            ks.record_support(&signer.fingerprint, support, "signed mail", certs::now())?;
        }
    }
    Ok(())
}

fn signer_text(s: &SignatureOutcome) -> String {
    match &s.signer {
        Some(c) => format!(
            "{} ({})",
            printable(&c.emails.join(", ")),
            &c.fingerprint[..16]
        ),
        None => "unknown signer".into(),
    }
}

fn report(ctx: &Context, opened: &Opened) {
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
    for s in &opened.signatures {
        match &s.result {
            Ok(()) => ctx.note(format!("good signature from {}", signer_text(s))),
            Err(why) => ctx.warn(format!("BAD signature from {}: {why}", signer_text(s))),
        }
    }
}

fn summary(opened: &Opened, include_content: bool) -> serde_json::Value {
    let mut v = json!({
        "decrypted_with": opened.decryptions.iter().map(|(cipher, by)| json!({
            "cipher": cipher.to_string(),
            "fingerprint": by.as_ref().map(|c| c.fingerprint.clone()),
            "emails": by.as_ref().map(|c| c.emails.clone()),
        })).collect::<Vec<_>>(),
        "signatures": opened.signatures.iter().map(|s| json!({
            "valid": s.result.is_ok(),
            "error": s.result.as_ref().err(),
            "signer": s.signer.as_ref().map(|c| json!({"fingerprint": c.fingerprint, "emails": c.emails, "subject": c.subject})),
            "signing_time": s.signing_time.map(certs::format_time),
            "detached": s.detached,
        })).collect::<Vec<_>>(),
    });
    if include_content {
        match std::str::from_utf8(&opened.plaintext) {
            Ok(text) => v["content"] = json!(text),
            Err(_) => {
                v["content_base64"] =
                    json!(base64::engine::general_purpose::STANDARD.encode(&opened.plaintext))
            }
        }
    }
    v
}
