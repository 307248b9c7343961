//! `sealpost key`: own identities (private key + certificate): made here
//! (`generate`), brought in (`import`), listed; moved out (`export`, in
//! `key/export.rs`), and certified by a CA (`csr`, `import-cert`, in
//! `key/csr.rs` and `key/import_cert.rs`).

use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser as _;
use clap::{Args, Subcommand};
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::smime::certs::{self, format_time, CertInfo};
use sealpost::smime::identity::{self, KeyAlgorithm, NewIdentity};
use sealpost::smime::privkey;
use sealpost::smime::privkey::{Curve, KeyKind};
use sealpost::store::fsutil;
use sealpost::store::keystore::{Identity, Keystore};
use serde_json::json;

use super::secrets::{read_secret, SecretSources};
use super::{json, printable, read_input, write_stdout, Ask, Context};

mod csr;
mod export;
mod import_cert;

/// Manage your own keys and certificates (identities)
#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    pub command: KeyCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    Generate(GenerateArgs),
    Import(ImportArgs),
    List(ListArgs),
    Export(export::ExportArgs),
    Csr(csr::CsrArgs),
    ImportCert(import_cert::ImportCertArgs),
}

/// Create a key and a self-signed S/MIME certificate
///
/// RSA (3072 bits by default), an ECDSA/ECDH key on P-256 or P-384 (one key
/// that signs and receives), or Ed25519: an Ed25519 key that signs plus an
/// X25519 key that receives, each with its own certificate (the X25519 one
/// issued by the Ed25519 key), as RFC 8551 asks for separate keys.
/// The certificate carries what S/MIME peers expect: keyUsage
/// digitalSignature and keyEncipherment (keyAgreement for EC), extendedKeyUsage emailProtection,
/// the address as subjectAltName, a subjectKeyIdentifier, and the
/// SMIMECapabilities sealpost can read (AES-GCM, RSA-OAEP). The private key
/// is stored encrypted under the keystore passphrase.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The e-mail address the certificate is for
    #[arg(long, value_name = "ADDR")]
    pub email: String,
    /// A display name for the certificate's subject [default: the address]
    #[arg(long)]
    pub name: Option<String>,
    /// Key algorithm
    #[arg(long, value_name = "ALG", default_value = "rsa3072", value_parser = ["rsa2048", "rsa3072", "rsa4096", "p256", "p384", "ed25519"])]
    pub algorithm: String,
    /// RSA key size (the same as --algorithm rsaBITS)
    #[arg(long, conflicts_with = "algorithm", value_parser = clap::builder::PossibleValuesParser::new(["2048", "3072", "4096"]).map(|s| s.parse::<usize>().unwrap_or(3072)))]
    pub bits: Option<usize>,
    /// Days the certificate is valid
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: u32,
    /// Store the private key unencrypted (for unattended hosts; shown in `key list`)
    #[arg(long)]
    pub no_passphrase: bool,
}

/// Import a key and certificate from PKCS#12 or PEM
///
/// FILE is a PKCS#12 file (.p12/.pfx, as certificate authorities hand out,
/// AES-based or legacy 3DES/RC2; DER, BER as NSS/Thunderbird export it, or
/// PEM as GnuTLS certtool writes it), or, with --cert, a PEM or DER private key
/// (PKCS#8, encrypted PKCS#8, or PKCS#1). Use - for stdin. The key is
/// re-encrypted under the keystore passphrase.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// PKCS#12 file, or private key file with --cert (- for stdin)
    pub file: PathBuf,
    /// The certificate for a PEM/DER private key
    #[arg(long, value_name = "CERT")]
    pub cert: Option<PathBuf>,
    /// Read the PKCS#12 password from the first line of FILE
    #[arg(long, value_name = "FILE", conflicts_with = "p12_password_fd")]
    pub p12_password_file: Option<PathBuf>,
    /// Read the PKCS#12 password from file descriptor N
    #[arg(long, value_name = "N")]
    pub p12_password_fd: Option<i32>,
    /// Read the passphrase of an encrypted PEM key being imported from FILE
    #[arg(long, value_name = "FILE")]
    pub key_password_file: Option<PathBuf>,
    /// Store the private key unencrypted (for unattended hosts)
    #[arg(long)]
    pub no_passphrase: bool,
}

/// List your identities
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only identities for this address
    pub addr: Option<String>,
}

pub fn run(args: KeyArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        KeyCommand::Generate(a) => generate(a, ctx),
        KeyCommand::Import(a) => import(a, ctx),
        KeyCommand::List(a) => list(a, ctx),
        KeyCommand::Export(a) => export::run(a, ctx),
        KeyCommand::Csr(a) => csr::run(a, ctx),
        KeyCommand::ImportCert(a) => import_cert::run(a, ctx),
    }
}

/// The passphrase for storing a new key: the keystore's, or none on request.
fn passphrase_for_new_key<'c>(
    ctx: &'c Context,
    ks: &Keystore,
    none: bool,
) -> anyhow::Result<Option<&'c str>> {
    if none {
        return Ok(None);
    }
    // With keys already protected, the passphrase is the existing one: ask once.
    let ask = if ks.needs_passphrase()? {
        Ask::Existing
    } else {
        Ask::New
    };
    Ok(Some(ctx.passphrase(ask)?))
}

fn generate(args: GenerateArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore_or_create()?;
    let email = certs::validate_address(&args.email)?;
    // Ask for the passphrase before the slow key generation, so a missing one fails fast.
    let pass = passphrase_for_new_key(ctx, &ks, args.no_passphrase)?;
    if let Some(p) = pass {
        ks.check_keystore_passphrase(p)?;
    }
    let algorithm = match args.bits {
        Some(bits) => KeyAlgorithm::Rsa(bits),
        None => key_algorithm(&args.algorithm)?,
    };
    ctx.note(format!(
        "generating a {} key for {email}…",
        algorithm.name()
    ));
    let spec = NewIdentity {
        email: &email,
        name: args.name.as_deref(),
        algorithm,
        days: args.days,
    };
    let made = identity::generate(&spec, certs::now(), &mut rand_core::OsRng)?;
    let idents = made
        .iter()
        .map(|(key, cert)| ks.add_identity(key, cert, pass))
        .collect::<anyhow::Result<Vec<_>>>()?;
    report_identities(ctx, &idents, "created", "key generate")
}

fn key_algorithm(name: &str) -> anyhow::Result<KeyAlgorithm> {
    Ok(match name {
        "p256" => KeyAlgorithm::Ec(Curve::P256),
        "p384" => KeyAlgorithm::Ec(Curve::P384),
        "ed25519" => KeyAlgorithm::Ed25519,
        rsa => KeyAlgorithm::Rsa(
            rsa.strip_prefix("rsa")
                .and_then(|b| b.parse().ok())
                .ok_or_else(|| fail(Exit::Usage, format!("unknown key algorithm {name}")))?,
        ),
    })
}

fn import(args: ImportArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore_or_create()?;
    let data = zeroize::Zeroizing::new(read_input(&args.file)?);
    let what = if args.file.as_os_str() == "-" {
        "stdin".to_string()
    } else {
        args.file.display().to_string()
    };
    let (key, cert, chain) = match &args.cert {
        Some(cert_path) => {
            let key_pass = match &args.key_password_file {
                Some(f) => Some(read_secret(
                    &SecretSources {
                        file: Some(f),
                        fd: None,
                        env_var: None,
                        flags: "--key-password-file",
                    },
                    "key password",
                    Ask::Existing,
                    false,
                )?),
                None => None,
            };
            let key = privkey::import_key(&data, key_pass.as_deref().map(|s| s.as_str()), &what)
                .map_err(|e| add_key_password_hint(e, &args))?;
            let mut certs = certs::parse_bundle(&read_input(cert_path)?)?;
            // The certificate that belongs to the key; the rest is its chain.
            let pos = certs
                .iter()
                .position(|c| privkey::key_matches_cert(&key, c))
                .ok_or_else(|| {
                    fail(
                        Exit::DataErr,
                        format!(
                            "{} holds no certificate for this private key",
                            cert_path.display()
                        ),
                    )
                })?;
            let cert = certs.remove(pos);
            (key, cert, certs)
        }
        None => {
            let password = read_secret(
                &SecretSources {
                    file: args.p12_password_file.as_deref(),
                    fd: args.p12_password_fd,
                    env_var: None,
                    flags:
                        "--p12-password-file FILE or --p12-password-fd N (or --cert for a PEM key)",
                },
                "PKCS#12 password",
                Ask::Existing,
                ctx.can_prompt(),
            )?;
            let contents = privkey::import_pkcs12(&data, &password, &what)?;
            (contents.key, contents.cert, contents.chain)
        }
    };
    if let Err(why) = &cert.key_kind {
        return Err(fail(Exit::DataErr, format!("{what}: {why}")));
    }
    let pass = passphrase_for_new_key(ctx, &ks, args.no_passphrase)?;
    let ident = ks.add_identity(&key, &cert, pass)?;
    if !chain.is_empty() {
        ks.import_certificates(&chain)?;
    }
    if cert
        .encryption_problems(
            cert.emails.first().map(String::as_str).unwrap_or(""),
            certs::now(),
        )
        .iter()
        .any(|p| !matches!(p, certs::Unusable::AddressMismatch))
        || cert.emails.is_empty()
    {
        ctx.warn(format!(
            "the imported certificate is not usable for encryption now: {}",
            problems_text(&cert)
        ));
    }
    report_identity(ctx, &ident, "imported", "key import")
}

fn add_key_password_hint(e: anyhow::Error, args: &ImportArgs) -> anyhow::Error {
    if args.key_password_file.is_none() && sealpost::error::classify(&e).0 == Exit::Config {
        return fail_hint(
            Exit::Config,
            "the private key file is encrypted",
            "give its password with --key-password-file FILE",
        );
    }
    e
}

fn problems_text(cert: &CertInfo) -> String {
    let Some(addr) = cert.emails.first() else {
        return "it names no e-mail address".to_string();
    };
    cert.encryption_problems(addr, certs::now())
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn report_identity(
    ctx: &Context,
    ident: &Identity,
    verb: &str,
    command: &str,
) -> anyhow::Result<()> {
    report_identities(ctx, std::slice::from_ref(ident), verb, command)
}

/// One line per identity; in JSON `identity` is the first (the one that
/// signs) and `identities` all of them (Ed25519 makes two).
fn report_identities(
    ctx: &Context,
    idents: &[Identity],
    verb: &str,
    command: &str,
) -> anyhow::Result<()> {
    if ctx.global.json {
        let all: Vec<_> = idents.iter().map(json::identity).collect();
        return ctx.print_json(
            command,
            json!({ "identity": all.first(), "identities": all }),
        );
    }
    for ident in idents {
        ctx.note(format!(
            "{verb} identity {} for {}{}{}",
            ident.cert.fingerprint,
            printable(&ident.cert.emails.join(", ")),
            match &ident.cert.key_kind {
                Ok(k) if *k != KeyKind::Rsa => format!(" ({})", k.name()),
                _ => String::new(),
            },
            if ident.encrypted {
                ""
            } else {
                " (key NOT passphrase-protected)"
            }
        ));
    }
    Ok(())
}

fn list(args: ListArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let idents = match &args.addr {
        Some(a) => ks.identities_for(a)?,
        None => ks.identities()?,
    };
    if ctx.global.json {
        return ctx.print_json(
            "key list",
            json!({ "identities": idents.iter().map(json::identity).collect::<Vec<_>>() }),
        );
    }
    let now = certs::now();
    let mut out = String::new();
    for i in &idents {
        let status = if now > i.cert.not_after {
            "expired"
        } else {
            "valid"
        };
        out.push_str(&format!(
            "{}  {}  {} until {}  {}\n",
            &i.cert.fingerprint[..16],
            printable(&i.cert.emails.join(",")),
            status,
            format_time(i.cert.not_after),
            if i.encrypted {
                "protected"
            } else {
                "UNPROTECTED"
            }
        ));
    }
    if idents.is_empty() {
        ctx.note("no identities (create one with: sealpost key generate --email ADDR)");
    }
    write_stdout(out.as_bytes(), false)
}

/// The identity `who` names: by address the newest one valid now (else the
/// newest) among those `fits`, by fingerprint prefix (at least 8 hex
/// digits) that one.
fn choose_identity(
    ks: &Keystore,
    who: &str,
    fits: impl Fn(&Identity) -> bool,
) -> anyhow::Result<Identity> {
    let idents = ks.identities()?;
    let chosen = if who.contains('@') {
        let now = certs::now();
        let mine: Vec<&Identity> = idents
            .iter()
            .filter(|i| i.cert.matches_address(who) && fits(i))
            .collect();
        mine.iter()
            .find(|i| now <= i.cert.not_after)
            .or(mine.first())
            .copied()
    } else {
        let prefix = who.to_ascii_lowercase().replace(':', "");
        if prefix.len() < 8 {
            return Err(fail(
                Exit::Usage,
                "a fingerprint needs at least 8 hex digits",
            ));
        }
        idents
            .iter()
            .find(|i| i.cert.fingerprint.starts_with(&prefix))
    };
    chosen.cloned().ok_or_else(|| {
        fail_hint(
            Exit::NoUser,
            format!("no identity for {who}"),
            "list them with: sealpost key list",
        )
    })
}

/// The keystore passphrase for unlocking `ident`: asked for only when its
/// key file is protected.
fn passphrase_for<'c>(ctx: &'c Context, ident: &Identity) -> anyhow::Result<Option<&'c str>> {
    match ident.encrypted {
        true => Ok(Some(ctx.passphrase(Ask::Existing)?)),
        false => Ok(None),
    }
}

/// What goes to `-o`, for the rules on where it may go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Payload {
    /// Public data (a request): any file mode 0644, any stdout.
    Public { binary: bool },
    /// A private key, however protected: a new file 0600; stdout never a
    /// terminal unless `to_terminal` (and never in binary).
    Secret { binary: bool, to_terminal: bool },
}

/// Writes `data` to `out`: `-` is stdout, anything else a file created
/// new (an existing one is refused, never replaced) and synced.
fn write_output(out: &Path, data: &[u8], payload: Payload) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    let (binary, mode) = match payload {
        Payload::Public { binary } => (binary, fsutil::PUBLIC_FILE),
        Payload::Secret { binary, .. } => (binary, fsutil::PRIVATE_FILE),
    };
    if out.as_os_str() == "-" {
        if let Payload::Secret {
            binary: false,
            to_terminal: false,
        } = payload
        {
            if std::io::stdout().is_terminal() {
                return Err(fail_hint(
                    Exit::Usage,
                    "refusing to show a private key on a terminal",
                    "give -o FILE, redirect stdout, or add --to-terminal",
                ));
            }
        }
        return write_stdout(data, binary);
    }
    let mut file = fsutil::create_exclusive(out, mode).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => output_exists(out),
        _ => fail(
            Exit::CantCreate,
            format!("cannot create {}: {e}", out.display()),
        ),
    })?;
    if let Err(e) = file.write_all(data).and_then(|()| file.sync_all()) {
        // Half a key file is worse than none.
        let _ = std::fs::remove_file(out);
        return Err(fail(
            Exit::IoErr,
            format!("cannot write {}: {e}", out.display()),
        ));
    }
    Ok(())
}

/// Refuses an `-o` file that exists, before anything is asked or unlocked
/// (the file is created exclusively in any case).
fn check_output_new(out: &Path) -> anyhow::Result<()> {
    match out.as_os_str() != "-" && out.symlink_metadata().is_ok() {
        true => Err(output_exists(out)),
        false => Ok(()),
    }
}

fn output_exists(out: &Path) -> anyhow::Error {
    fail_hint(
        Exit::CantCreate,
        format!("{} exists", out.display()),
        "choose a new file name; an existing file is never replaced",
    )
}
