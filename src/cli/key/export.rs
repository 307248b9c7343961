//! `sealpost key export`: an identity's certificate for correspondents, or
//! (`--p12`, `--pkcs8`) its private key, to move it into another program.

use std::path::PathBuf;

use clap::Args;
use sealpost::error::{fail, Exit};
use sealpost::smime::privkey::export::{self, P12Scheme};
use serde_json::json;

use super::super::secrets::{read_secret, SecretSources};
use super::super::{write_stdout, Ask, Context};
use super::{check_output_new, choose_identity, passphrase_for, write_output, Payload};
use sealpost::store::keystore::Identity;

/// The environment variable holding the export password, for scripts.
pub const EXPORT_PASSWORD_ENV: &str = "SEALPOST_EXPORT_PASSWORD";

/// Print an identity's certificate, or export its private key
///
/// Without --p12 or --pkcs8: the certificate (PEM, or DER with --der) on
/// stdout, to send to correspondents. By address, for an Ed25519 identity,
/// that is its X25519 certificate, the one others encrypt to (the Ed25519
/// one travels in every signed message).
///
/// --p12 writes a PKCS#12 file (.p12/.pfx) with the private key, its
/// certificate and the CA certificates the keystore holds for it, for
/// Thunderbird, Outlook, NSS, gpgsm, OpenSSL or another sealpost. It is
/// protected with PBES2 (PBKDF2-HMAC-SHA256, 600,000 iterations,
/// AES-256-CBC) and an HMAC-SHA-256 MAC; --legacy uses
/// pbeWithSHAAnd3-KeyTripleDES-CBC and an HMAC-SHA-1 MAC instead, for
/// importers that know nothing newer (gpgsm 2.2, Windows before 10 1709,
/// Java 8; OpenSSL 3 then reads it with -legacy). --pkcs8 writes the private
/// key alone as encrypted PKCS#8 PEM (PBES2, PBKDF2-HMAC-SHA256,
/// AES-256-CBC), for `openssl pkey` and servers.
///
/// The keystore passphrase unlocks the key; a separate export password
/// protects the file: from --export-password-file FILE,
/// --export-password-fd N, SEALPOST_EXPORT_PASSWORD (other processes of the
/// same user can read it from /proc), or asked twice on the terminal. The
/// file given with -o is created new with mode 0600 (an existing one is
/// never replaced); -o - writes to stdout, which may be a terminal only for
/// --pkcs8 and only with --to-terminal.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("private").args(["p12", "pkcs8"]))]
pub struct ExportArgs {
    /// Address or fingerprint (at least 8 hex digits) of the identity
    pub who: String,
    /// The certificate in DER instead of PEM
    #[arg(long, conflicts_with = "private")]
    pub der: bool,
    /// Export key, certificate and chain as PKCS#12 (needs -o)
    #[arg(long, requires = "output")]
    pub p12: bool,
    /// With --p12: 3DES and a SHA-1 MAC, for old importers (gpgsm 2.2, old Windows, Java 8)
    #[arg(long, requires = "p12")]
    pub legacy: bool,
    /// Export the private key as encrypted PKCS#8 PEM (needs -o)
    #[arg(long, requires = "output")]
    pub pkcs8: bool,
    /// Where the key goes: a new file (mode 0600), or - for stdout
    #[arg(short, long, value_name = "FILE", requires = "private")]
    pub output: Option<PathBuf>,
    /// Read the export password from the first line of FILE
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "export_password_fd",
        requires = "private"
    )]
    pub export_password_file: Option<PathBuf>,
    /// Read the export password from file descriptor N
    #[arg(long, value_name = "N", requires = "private")]
    pub export_password_fd: Option<i32>,
    /// With --pkcs8 -o -: write the key even when stdout is a terminal
    #[arg(long, requires = "pkcs8")]
    pub to_terminal: bool,
}

pub fn run(args: ExportArgs, ctx: &Context) -> anyhow::Result<()> {
    match (&args.output, args.p12 || args.pkcs8) {
        (Some(out), true) => export_key(&args, out, ctx),
        _ => export_certificate(&args, ctx),
    }
}

fn export_certificate(args: &ExportArgs, ctx: &Context) -> anyhow::Result<()> {
    // By address, the certificate correspondents encrypt to: for an Ed25519
    // identity its X25519 partner (the Ed25519 one goes out in signed mail).
    let ks = ctx.keystore()?;
    let receives = |i: &Identity| i.cert.key_kind.as_ref().is_ok_and(|k| k.can_decrypt());
    let ident = choose_identity(&ks, &args.who, receives)
        .or_else(|_| choose_identity(&ks, &args.who, |_| true))?;
    if ctx.global.json {
        // The certificate goes into the document instead of onto stdout.
        use base64::Engine;
        let (pem, der) = if args.der {
            let der = base64::engine::general_purpose::STANDARD.encode(&ident.cert.der);
            (None, Some(der))
        } else {
            (Some(ident.cert.to_pem()), None)
        };
        return ctx.print_json(
            "key export",
            json!({
                "fingerprint": ident.cert.fingerprint,
                "emails": ident.cert.emails,
                "pem": pem,
                "der_base64": der,
                "key_format": null,
                "key_file": null,
            }),
        );
    }
    if args.der {
        write_stdout(&ident.cert.der, true)
    } else {
        write_stdout(ident.cert.to_pem().as_bytes(), false)
    }
}

fn export_key(args: &ExportArgs, out: &std::path::Path, ctx: &Context) -> anyhow::Result<()> {
    let to_stdout = out.as_os_str() == "-";
    if to_stdout && ctx.global.json {
        return Err(fail(
            Exit::Usage,
            "--json prints its document on stdout: give -o FILE for the key",
        ));
    }
    check_output_new(out)?;
    let ks = ctx.keystore()?;
    let ident = choose_identity(&ks, &args.who, |_| true)?;
    let key = ks.unlock(&ident, passphrase_for(ctx, &ident)?)?;
    let password = read_secret(
        &SecretSources {
            file: args.export_password_file.as_deref(),
            fd: args.export_password_fd,
            env_var: Some(EXPORT_PASSWORD_ENV),
            flags: "--export-password-file FILE or --export-password-fd N",
        },
        "export password",
        Ask::New,
        ctx.can_prompt(),
    )?;
    let (data, format) = if args.p12 {
        let chain = ks.chain_for(&ident.cert)?;
        let scheme = match args.legacy {
            true => P12Scheme::Legacy,
            false => P12Scheme::Modern,
        };
        let name = ident
            .cert
            .emails
            .first()
            .cloned()
            .unwrap_or_else(|| ident.cert.subject.clone());
        let der = export::pkcs12(&key, &ident.cert, &chain, &name, &password, scheme)?;
        ctx.detail(format!(
            "PKCS#12 with {} CA certificate(s) from the keystore",
            chain.len()
        ));
        let format = match scheme {
            P12Scheme::Modern => "pkcs12",
            P12Scheme::Legacy => "pkcs12-legacy",
        };
        (zeroize::Zeroizing::new(der), format)
    } else {
        let pem = export::pkcs8(&key, &password)?;
        (zeroize::Zeroizing::new(pem.as_bytes().to_vec()), "pkcs8")
    };
    write_output(out, &data, payload(args))?;
    if ctx.global.json {
        return ctx.print_json(
            "key export",
            json!({
                "fingerprint": ident.cert.fingerprint,
                "emails": ident.cert.emails,
                "pem": null,
                "der_base64": null,
                "key_format": format,
                "key_file": out,
            }),
        );
    }
    if !to_stdout {
        ctx.note(format!(
            "wrote the private key of {} to {}",
            &ident.cert.fingerprint[..16],
            out.display()
        ));
    }
    Ok(())
}

fn payload(args: &ExportArgs) -> Payload {
    Payload::Secret {
        binary: args.p12,
        to_terminal: args.to_terminal,
    }
}
