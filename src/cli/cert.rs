//! `sealpost cert`: correspondents' certificates.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sealpost::certs::{self, format_time, CertInfo, Support};
use serde_json::json;

use super::{printable, read_input, write_stdout, Context};

/// Manage correspondents' certificates
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    sealpost cert import bob.pem carol.der\n  \
    curl -s https://example.org/team.p7b | sealpost cert import -\n  \
    sealpost cert list bob@example.org\n  \
    sealpost cert remove bob@example.org")]
pub struct CertArgs {
    #[command(subcommand)]
    pub command: CertCommand,
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    Import(ImportArgs),
    List(ListArgs),
    Remove(RemoveArgs),
    Prefer(PreferArgs),
}

/// Say which algorithms a correspondent's software reads
///
/// `encrypt` uses AES-256-GCM (AuthEnvelopedData) with RSA-OAEP only for
/// envelopes whose every reader is known to read them, and AES-256-CBC with
/// RSA PKCS#1 v1.5, which every S/MIME client reads, otherwise. It learns this
/// from the SMIMECapabilities in certificates and in verified signed mail;
/// this command overrides what was learned.
#[derive(Debug, Args)]
pub struct PreferArgs {
    /// An address (all its certificates) or a fingerprint (at least 8 hex digits)
    pub who: String,
    /// modern: AES-GCM and RSA-OAEP; compatible: AES-CBC and PKCS#1 v1.5 only;
    /// auto: forget the override and use what the certificate or mail says
    #[arg(value_enum)]
    pub choice: Preference,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Preference {
    Modern,
    Compatible,
    Auto,
}

/// Import certificates (PEM, DER, or PKCS#7 bundles of several)
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to read; - for stdin
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// List correspondents' certificates and whether each can be used to encrypt
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only certificates for this address
    pub addr: Option<String>,
}

/// Remove certificates by address or fingerprint
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// An address (removes all its certificates) or a fingerprint (at least 8 hex digits)
    pub who: String,
}

pub fn run(args: CertArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        CertCommand::Import(a) => import(a, ctx),
        CertCommand::List(a) => list(a, ctx),
        CertCommand::Remove(a) => remove(a, ctx),
        CertCommand::Prefer(a) => prefer(a, ctx),
    }
}

/// Why a certificate cannot encrypt now, or None when it can.
fn problems(cert: &CertInfo) -> Option<String> {
    let now = certs::now();
    let Some(addr) = cert.emails.first() else {
        return Some("names no e-mail address".into());
    };
    let p = cert.encryption_problems(addr, now);
    (!p.is_empty()).then(|| {
        p.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    })
}

fn cert_json(cert: &CertInfo) -> serde_json::Value {
    json!({
        "fingerprint": cert.fingerprint,
        "emails": cert.emails,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "not_before": format_time(cert.not_before),
        "not_after": format_time(cert.not_after),
        "usable_for_encryption": problems(cert).is_none(),
        "problems": problems(cert),
    })
}

fn prefer(args: PreferArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let certs = ks.select_known_certificates(&args.who)?;
    let mut rows = Vec::new();
    for cert in &certs {
        match args.choice {
            Preference::Modern => {
                ks.record_support(&cert.fingerprint, Support::MODERN, "user", certs::now())?
            }
            Preference::Compatible => {
                ks.record_support(&cert.fingerprint, Support::default(), "user", certs::now())?
            }
            Preference::Auto => ks.forget_support(&cert.fingerprint)?,
        };
        let support = ks.support_for(cert)?;
        rows.push(json!({
            "fingerprint": cert.fingerprint,
            "emails": cert.emails,
            "aes_gcm": support.aes_gcm,
            "rsa_oaep": support.rsa_oaep,
        }));
        ctx.note(format!(
            "{} {}: {}",
            &cert.fingerprint[..16],
            printable(&cert.emails.join(", ")),
            describe(support)
        ));
    }
    if ctx.global.json {
        return ctx.print_json(&serde_json::Value::Array(rows));
    }
    Ok(())
}

/// How `encrypt` will treat a reader with this support.
pub fn describe(support: Support) -> &'static str {
    match (support.aes_gcm, support.rsa_oaep) {
        (true, true) => "AES-GCM and RSA-OAEP",
        (true, false) => "AES-GCM, RSA PKCS#1 v1.5",
        (false, true) => "AES-CBC, RSA-OAEP",
        (false, false) => "AES-CBC and RSA PKCS#1 v1.5 (compatible)",
    }
}

fn import(args: ImportArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    // Read and parse everything first: one bad file imports nothing.
    let mut all = Vec::new();
    for file in &args.files {
        let data = read_input(file)?;
        let certs = certs::parse_bundle(&data).map_err(|e| {
            let (exit, _) = sealpost::error::classify(&e);
            sealpost::error::fail(
                exit,
                format!("{}: {}", file.display(), sealpost::error::single_line(&e)),
            )
        })?;
        for cert in &certs {
            cert.check_addresses().map_err(|e| {
                sealpost::error::fail(
                    sealpost::error::Exit::DataErr,
                    format!("{}: {}", file.display(), sealpost::error::single_line(&e)),
                )
            })?;
        }
        all.extend(certs);
    }
    let results = ks.import_certificates(&all)?;
    if ctx.global.json {
        let rows: Vec<_> = results
            .iter()
            .map(|(c, new)| {
                let mut v = cert_json(c);
                v["new"] = json!(new);
                v
            })
            .collect();
        return ctx.print_json(&serde_json::Value::Array(rows));
    }
    for (cert, new) in &results {
        ctx.note(format!(
            "{} {} {}",
            if *new { "imported" } else { "already present" },
            &cert.fingerprint[..16],
            printable(&cert.emails.join(", "))
        ));
        if let Some(p) = problems(cert) {
            ctx.warn(format!(
                "{} cannot be used to encrypt: {p}",
                &cert.fingerprint[..16]
            ));
        }
    }
    Ok(())
}

fn list(args: ListArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let mut certs = ks.certificates()?;
    if let Some(addr) = &args.addr {
        certs.retain(|c| c.matches_address(addr));
    }
    if ctx.global.json {
        return ctx.print_json(&serde_json::Value::Array(
            certs.iter().map(cert_json).collect(),
        ));
    }
    let mut out = String::new();
    for c in &certs {
        out.push_str(&format!(
            "{}  {}  until {}  {}\n",
            &c.fingerprint[..16],
            printable(&c.emails.join(",")),
            format_time(c.not_after),
            problems(c)
                .map(|p| format!("unusable: {p}"))
                .unwrap_or_else(|| "usable".into())
        ));
    }
    write_stdout(out.as_bytes(), false)
}

fn remove(args: RemoveArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let removed = ks.remove_certificates(&args.who)?;
    if ctx.global.json {
        return ctx.print_json(&serde_json::Value::Array(
            removed.iter().map(cert_json).collect(),
        ));
    }
    for c in &removed {
        ctx.note(format!(
            "removed {} {}",
            &c.fingerprint[..16],
            printable(&c.emails.join(", "))
        ));
    }
    Ok(())
}
