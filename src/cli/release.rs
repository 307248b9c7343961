//! `sealpost release`: obtain a group message's key once, and keep it in
//! the message for the member's own key.

use std::path::PathBuf;

use clap::Args;
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::group::release::with_recipient_added;
use sealpost::smime::decrypt::{cms_payload, KeySource};
use sealpost::smime::envelope::Envelope;
use serde_json::json;
use zeroize::Zeroizing;

use super::decrypt::KeystoreKeys;
use super::{read_input, Context};

/// Ask the group server for a message's key and add an entry for your own key
///
/// For mail encrypted to a joined group's certificate (see `sealpost group
/// join`): performs the key release, checks that the released key opens
/// the message, and writes the message back with one more recipient entry,
/// for the member's own certificate (RSAES-OAEP SHA-256). Nothing else
/// changes: headers, ciphertext and the other entries stay as they were.
/// From then on the message can be decrypted offline, by `sealpost decrypt
/// --offline` or by any S/MIME client holding the member's key, e.g.
/// `openssl cms -decrypt -recip me.pem -inkey me.key`.
///
/// A message your own key already opens is written back unchanged.
/// No plaintext is ever written.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The message (- for stdin): S/MIME, PEM or DER
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// Write the message to FILE (atomically; may be the input) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE of --output if it exists (not needed when it is the input itself)
    #[arg(long, requires = "output")]
    pub force: bool,
}

pub fn run(args: ReleaseArgs, ctx: &Context) -> anyhow::Result<()> {
    // Releasing in place (-o naming the input) is what the command is for.
    let in_place = args.output.as_deref().is_some_and(|out| {
        args.file.as_os_str() != "-"
            && std::fs::canonicalize(out).ok() == std::fs::canonicalize(&args.file).ok()
    });
    super::check_output_free(args.output.as_deref(), args.force || in_place)?;
    let input = read_input(&args.file)?;
    let payload = cms_payload(&input)?.ok_or_else(|| {
        fail(
            Exit::DataErr,
            "not an encrypted message: its outer layer is not application/pkcs7-mime",
        )
    })?;
    let envelope = Envelope::parse(&payload)?;
    let ks = ctx.keystore()?;
    let mut keys = KeystoreKeys::new(&ks, ctx, false)?;
    let own = keys
        .certificates()
        .into_iter()
        .find(|c| envelope.recipient_for(&c.cert).is_some());
    let (output, summary) = match own {
        Some(cert) => {
            ctx.note(format!(
                "the message is already for your key ({}); nothing to release",
                cert.emails.join(", ")
            ));
            (
                input,
                json!({
                    "released": false,
                    "readable_by": cert.fingerprint,
                    "group": null,
                    "server": null,
                    "key_hash": null,
                }),
            )
        }
        None => {
            let Some(cek) = keys.content_key_elsewhere(&envelope)? else {
                return Err(fail_hint(
                    Exit::NoUser,
                    "the message is not for a joined group (nor for your own keys)",
                    "join the list's group with `sealpost group join NAME --cert FILE --server URL`",
                ));
            };
            // The grant's entry unwrapped; now prove the key opens the
            // content before promising the member an offline copy.
            drop(Zeroizing::new(envelope.decrypt(&cek)?));
            let (group, released) = keys
                .released
                .pop()
                .ok_or_else(|| fail(Exit::Software, "release made no record"))?;
            let output = with_recipient_added(&input, released.granted.clone())?;
            ctx.note(format!(
                "key of group {group} released by {}; the message now opens with your own key",
                released.server
            ));
            (
                output,
                json!({
                    "released": true,
                    "readable_by": null,
                    "group": group,
                    "server": released.server.to_string(),
                    "key_hash": released.key_hash,
                }),
            )
        }
    };
    match &args.output {
        Some(path) => sealpost::store::fsutil::atomic_write(path, &output, 0o644)?,
        None if !ctx.global.json => super::write_stdout(&output, output.first() == Some(&0x30))?,
        None => {}
    }
    if ctx.global.json {
        // The message as text (S/MIME is ASCII), or base64 for bare DER.
        let mut summary = summary;
        let (message, message_base64) = match &args.output {
            Some(_) => (json!(null), json!(null)),
            None => super::json::text_or_base64(&output),
        };
        summary["file"] = json!(args.output);
        summary["message"] = message;
        summary["message_base64"] = message_base64;
        ctx.print_json("release", summary)?;
    }
    Ok(())
}
