//! `sealpost group key export | import`: the group's private key handed to
//! one member, for reading list mail with no group server (issue #17,
//! option C). The export runs on the group server's store, the import in
//! the member's keystore; the work is in `sealpost::group::offline`.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;

use super::admin::StoreArgs;
use super::Context;
use crate::cli::{announce_terminal_stdin, check_output_free, json, printable, write_stdout, Ask};
use sealpost::error::{fail, Exit};
use sealpost::group::offline::{self, MAX_EXPORT};
use sealpost::smime::certs::now;
use sealpost::store::fsutil;

/// The group's private key, for members who must read list mail offline
///
/// Normally the group server keeps the key and releases each message's key
/// to current members, one audited request at a time. A member who must
/// read without the server (on a plane, say) can instead hold the group key
/// itself: `export` wraps it to that member's certificate, `import` stores
/// it in the member's keystore, and `sealpost decrypt` then reads mail to
/// the list with no server at all.
///
/// That member can read all list mail encrypted to this key, for as long as
/// they keep it, and the server's audit log sees none of it. Removing them
/// then takes a new group key (`sealpost group rotate-key`); every member
/// holding the old key who stays on the list imports the new one.
#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    pub command: KeyCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    Export(ExportArgs),
    Import(ImportArgs),
}

/// Wrap the group's private key to one member (on the group server)
///
/// MEMBER_CERT must be the certificate of a current member of NAME (role
/// member). The output is an S/MIME envelope (PEM, `-----BEGIN CMS-----`;
/// AES-256-GCM) that only that member's key opens, holding the group
/// certificate and private key; give it to the member, who runs `sealpost
/// group key import`. Needs the server passphrase, as `group create` does.
/// Leaves a `key_export` row in the group's audit log, and warns: the
/// member can read all list mail to this key without the server, unaudited,
/// until the key is rotated (`sealpost group rotate-key`; the members then
/// re-import). A key the store does not hold as sealed PKCS#8 (a hardware
/// token's `pkcs11:` reference) cannot be exported.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The group
    pub name: String,
    /// The member's certificate, PEM or DER (- for stdin)
    #[arg(long, value_name = "MEMBER_CERT")]
    pub to: PathBuf,
    /// Where the export goes: a new file (an existing one is never replaced), or - for stdout
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Import a group key exported to you (member side)
///
/// FILE (- for stdin) is what `sealpost group key export` wrote for one of
/// your certificates; your key for it opens it. The group key and
/// certificate are stored as one more identity, sealed under the keystore
/// passphrase like any imported key, and `sealpost decrypt` then reads mail
/// to the list without asking the group server. An altered export is
/// refused. After the group key is rotated, import the new export.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export (- for stdin)
    pub file: PathBuf,
    /// Store the group key unencrypted (only in a keystore whose keys are unprotected)
    #[arg(long)]
    pub no_passphrase: bool,
}

pub fn run(args: KeyArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        KeyCommand::Export(a) => export(a, ctx),
        KeyCommand::Import(a) => import(a, ctx),
    }
}

fn export(args: ExportArgs, ctx: &Context) -> anyhow::Result<()> {
    let to_stdout = args.output.as_os_str() == "-";
    // Checked before the export: its audit row must stand for a file that exists.
    check_output_free(Some(&args.output), false)?;
    let store = args.store.open(ctx)?;
    let member_cert = read_bounded(&args.to, "member certificate")?;
    let passphrase = ctx.passphrase(Ask::Existing)?;
    let made = offline::export_key(
        &*store,
        &args.name,
        &member_cert,
        passphrase,
        now(),
        &mut rand_core::OsRng,
    )?;
    let who = format!(
        "{} ({})",
        printable(&made.member.address),
        made.member.fingerprint
    );
    if !to_stdout {
        fsutil::atomic_write(&args.output, made.armored.as_bytes(), fsutil::PRIVATE_FILE)?;
    }
    // Loud, and after the fact: the key has left.
    ctx.warn(format!(
        "the private key of group {} is now exported to {who}",
        args.name
    ));
    ctx.warn("they can read ALL list mail encrypted to this key, without the group server, for as long as they keep it");
    ctx.warn("no audit row will exist for anything they read with it (only this export is logged)");
    ctx.warn(format!(
        "removing them later requires `sealpost group rotate-key {}`, after which the remaining members re-import",
        args.name
    ));
    if ctx.global.json {
        return ctx.print_json(
            "group key export",
            json!({
                "group": args.name,
                "fingerprint": made.group.fingerprint,
                "member": {
                    "address": made.member.address,
                    "fingerprint": made.member.fingerprint,
                },
                "pem": if to_stdout { Some(&made.armored) } else { None },
                "file": if to_stdout { None } else { Some(&args.output) },
            }),
        );
    }
    if to_stdout {
        write_stdout(made.armored.as_bytes(), false)
    } else {
        ctx.note(format!(
            "wrote the group key of {} for {who} to {}",
            args.name,
            args.output.display()
        ));
        Ok(())
    }
}

fn import(args: ImportArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let data = zeroize::Zeroizing::new(read_bounded(&args.file, "group key export")?);
    // One passphrase for the member's key and for sealing the group key:
    // the keystore's, as `key import` asks for it.
    let protected = ks.needs_passphrase()?;
    if protected && args.no_passphrase {
        return Err(fail(
            Exit::Usage,
            "--no-passphrase: this keystore's keys are passphrase-protected, so the group key is too",
        ));
    }
    let passphrase = match (protected, args.no_passphrase) {
        (true, _) => Some(ctx.passphrase(Ask::Existing)?),
        (false, true) => None,
        (false, false) => Some(ctx.passphrase(Ask::New)?),
    };
    let ident = offline::import_key(
        &ks,
        &data,
        |me| {
            let unlock = if me.encrypted { passphrase } else { None };
            ks.unlock(me, unlock)
        },
        passphrase,
        &mut rand_core::OsRng,
    )?;
    if ctx.global.json {
        return ctx.print_json(
            "group key import",
            json!({ "identity": json::identity(&ident), "identities": [json::identity(&ident)] }),
        );
    }
    ctx.note(format!(
        "imported the group key {} for {}{}; `sealpost decrypt` now reads its mail without the group server",
        ident.cert.fingerprint,
        printable(&ident.cert.emails.join(", ")),
        if ident.encrypted {
            ""
        } else {
            " (key NOT passphrase-protected)"
        }
    ));
    Ok(())
}

/// Reads a small input whole (a file, or stdin for `-`), refusing one larger
/// than any export before holding more of it.
fn read_bounded(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let mut data = Vec::new();
    let limit = MAX_EXPORT as u64 + 1;
    let read = if path.as_os_str() == "-" {
        announce_terminal_stdin();
        std::io::stdin().lock().take(limit).read_to_end(&mut data)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut data))
    };
    read.map_err(|e| {
        let exit = match e.kind() {
            std::io::ErrorKind::NotFound => Exit::NoInput,
            std::io::ErrorKind::PermissionDenied => Exit::NoPerm,
            _ => Exit::IoErr,
        };
        fail(exit, format!("cannot read {}: {e}", path.display()))
    })?;
    if data.len() > MAX_EXPORT {
        return Err(fail(
            Exit::DataErr,
            format!(
                "{}: too large for a {what} (over {} KiB)",
                path.display(),
                MAX_EXPORT >> 10
            ),
        ));
    }
    Ok(data)
}
