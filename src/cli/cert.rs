//! `sealpost cert`: correspondents' certificates.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sealpost::smime::certs::{self, format_time, CertInfo, Support};
use sealpost::smime::trust::CrlInfo;
use sealpost::store::keystore::{Keystore, Standing};
use serde_json::json;

use super::{json, printable, read_input, write_stdout, Context};

/// Manage correspondents' certificates
#[derive(Debug, Args)]
pub struct CertArgs {
    #[command(subcommand)]
    pub command: CertCommand,
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    Import(ImportArgs),
    List(ListArgs),
    Accept(AcceptArgs),
    Remove(RemoveArgs),
    Prefer(PreferArgs),
    Trust(TrustArgs),
    Untrust(UntrustArgs),
    Crl(CrlArgs),
}

/// Trust certificates as anchors: signers with a certification path to one are trusted
///
/// `decrypt` and `verify` trust a signer whose certificate has a valid
/// certification path (RFC 5280) to a trust anchor: one added here, one
/// given with --trust-anchor, or the system's CA store. Add your
/// organisation's CA certificate, not a correspondent's own: for a
/// self-signed correspondent, `cert import` accepts that one certificate.
/// An anchor vouches for every address its certificates name; check its
/// fingerprint with its owner before trusting it.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Files of CA certificates (PEM, DER, or PKCS#7 bundles); - for stdin
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Stop trusting anchors added with `cert trust`
#[derive(Debug, Args)]
pub struct UntrustArgs {
    /// A fingerprint (at least 8 hex digits), an address the anchor names,
    /// or a file holding the anchor's certificate
    pub who: String,
}

/// Certificate revocation lists
#[derive(Debug, Args)]
pub struct CrlArgs {
    #[command(subcommand)]
    pub command: CrlCommand,
}

#[derive(Debug, Subcommand)]
pub enum CrlCommand {
    Import(CrlImportArgs),
}

/// Keep CRLs in the keystore, to check signers' revocation offline
///
/// `decrypt` and `verify` check each certificate on a signer's path
/// against the CRLs the message carries and those kept here, and say
/// whether revocation was checked. sealpost fetches nothing: import a CA's
/// current CRL again when it is renewed.
#[derive(Debug, Args)]
pub struct CrlImportArgs {
    /// CRL files (DER or PEM); - for stdin
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Accept a certificate learned from signed mail, so that encrypt uses it
///
/// `decrypt` keeps the certificate of a new correspondent's good signature
/// as learned, not verified: anyone can make a certificate naming any
/// address. Compare its fingerprint (`cert list`) with its holder by another
/// channel, then accept it. `cert import` of the same certificate accepts it
/// too.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// A fingerprint (at least 8 hex digits), or an address with exactly one learned certificate
    pub who: String,
}

/// Say which algorithms a correspondent's software reads
///
/// `encrypt` uses AES-256-GCM (AuthEnvelopedData) with RSA-OAEP only for
/// envelopes whose every reader is known to read them, and AES-256-CBC with
/// RSA PKCS#1 v1.5, which every S/MIME client reads, otherwise. It learns this
/// from the SMIMECapabilities in certificates and in signed mail under an
/// accepted or validated certificate; this command overrides what was learned.
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

/// List correspondents' certificates, accepted, validated or learned, and whether each can be used to encrypt
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only certificates for this address
    pub addr: Option<String>,
    /// List the trust anchors of `cert trust` instead
    #[arg(long)]
    pub anchors: bool,
}

/// Remove certificates, accepted, validated or learned, by address or fingerprint
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// An address (removes all its certificates) or a fingerprint (at least 8 hex digits)
    pub who: String,
}

pub fn run(args: CertArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        CertCommand::Import(a) => import(a, ctx),
        CertCommand::List(a) => list(a, ctx),
        CertCommand::Accept(a) => accept(a, ctx),
        CertCommand::Remove(a) => remove(a, ctx),
        CertCommand::Prefer(a) => prefer(a, ctx),
        CertCommand::Trust(a) => trust(a, ctx),
        CertCommand::Untrust(a) => untrust(a, ctx),
        CertCommand::Crl(CrlArgs {
            command: CrlCommand::Import(a),
        }) => crl_import(a, ctx),
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

/// A certificate in `--json`, as it stands in the keystore: `accepted`
/// only when the user accepted it; one only learned from signed mail is
/// never used to encrypt, a validated one is.
fn cert_json(cert: &CertInfo, standing: Standing) -> serde_json::Value {
    let problems = match (standing, problems(cert)) {
        (Standing::Learned, Some(p)) => Some(format!("{}, {p}", not_accepted(cert))),
        (Standing::Learned, None) => Some(not_accepted(cert)),
        (_, p) => p,
    };
    json!({
        "fingerprint": cert.fingerprint,
        "emails": cert.emails,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "not_before": json::time(cert.not_before),
        "not_after": json::time(cert.not_after),
        "accepted": standing == Standing::Accepted,
        "standing": standing.name(),
        "usable_for_encryption": problems.is_none(),
        "problems": problems,
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
        return ctx.print_json("cert prefer", json!({ "certificates": rows }));
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
    let ks = ctx.keystore_or_create()?;
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
                let mut v = cert_json(c, Standing::Accepted);
                v["new"] = json!(new);
                v
            })
            .collect();
        return ctx.print_json("cert import", json!({ "certificates": rows }));
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

/// Why a learned certificate is not used to encrypt, and what accepts it.
fn not_accepted(cert: &CertInfo) -> String {
    format!(
        "learned from signed mail, NOT accepted (sealpost cert accept {})",
        &cert.fingerprint[..16]
    )
}

fn list(args: ListArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    if args.anchors {
        return list_anchors(&args, ctx, &ks.anchors()?);
    }
    let mut rows: Vec<(CertInfo, Standing)> = Vec::new();
    for (certs, standing) in [
        (ks.certificates()?, Standing::Accepted),
        (ks.validated_certificates()?, Standing::Validated),
        (ks.learned_certificates()?, Standing::Learned),
    ] {
        rows.extend(certs.into_iter().map(|c| (c, standing)));
    }
    if let Some(addr) = &args.addr {
        rows.retain(|(c, _)| c.matches_address(addr));
    }
    if ctx.global.json {
        let certificates: Vec<_> = rows.iter().map(|(c, a)| cert_json(c, *a)).collect();
        return ctx.print_json(
            "cert list",
            json!({ "certificates": certificates, "anchors": null }),
        );
    }
    let mut out = String::new();
    for (c, standing) in &rows {
        let status = match (standing, problems(c)) {
            (Standing::Learned, _) => not_accepted(c),
            (_, Some(p)) => format!("unusable: {p}"),
            // Whom encrypt trusts without the user having accepted them.
            (Standing::Validated, None) => {
                "usable, validated from signed mail (not accepted)".into()
            }
            (_, None) => "usable".into(),
        };
        out.push_str(&format!(
            "{}  {}  until {}  {status}\n",
            &c.fingerprint[..16],
            printable(&c.emails.join(",")),
            format_time(c.not_after),
        ));
    }
    write_stdout(out.as_bytes(), false)
}

fn accept(args: AcceptArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let accepted = ks.accept_learned(&args.who)?;
    for cert in &accepted {
        ctx.note(format!(
            "accepted {} {}",
            &cert.fingerprint[..16],
            printable(&cert.emails.join(", "))
        ));
        for addr in &cert.emails {
            let count = ks.certificates_for(addr)?.len();
            if count > 1 {
                ctx.warn(format!(
                    "{} now has {count} certificates (accepted or validated); encrypt uses every usable one",
                    printable(addr)
                ));
            }
        }
        if let Some(p) = problems(cert) {
            ctx.warn(format!(
                "{} cannot be used to encrypt: {p}",
                &cert.fingerprint[..16]
            ));
        }
    }
    if ctx.global.json {
        let certificates: Vec<_> = accepted
            .iter()
            .map(|c| cert_json(c, Standing::Accepted))
            .collect();
        return ctx.print_json("cert accept", json!({ "certificates": certificates }));
    }
    Ok(())
}

fn remove(args: RemoveArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    // How each stood before, for `accepted` and `standing`.
    let fingerprints = |certs: Vec<CertInfo>| -> Vec<String> {
        certs.into_iter().map(|c| c.fingerprint).collect()
    };
    let accepted = fingerprints(ks.certificates()?);
    let validated = fingerprints(ks.validated_certificates()?);
    let removed = ks.remove_certificates(&args.who)?;
    if ctx.global.json {
        let standing = |c: &CertInfo| match c.fingerprint.as_str() {
            fp if accepted.iter().any(|a| a == fp) => Standing::Accepted,
            fp if validated.iter().any(|v| v == fp) => Standing::Validated,
            _ => Standing::Learned,
        };
        let certificates: Vec<_> = removed.iter().map(|c| cert_json(c, standing(c))).collect();
        return ctx.print_json("cert remove", json!({ "certificates": certificates }));
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

/// Every certificate in `files`, parsed; one bad file fails them all.
fn read_certificates(files: &[PathBuf]) -> anyhow::Result<Vec<CertInfo>> {
    let mut all = Vec::new();
    for file in files {
        all.extend(certs::parse_bundle(&read_input(file)?).map_err(|e| {
            let (exit, _) = sealpost::error::classify(&e);
            sealpost::error::fail(
                exit,
                format!("{}: {}", file.display(), sealpost::error::single_line(&e)),
            )
        })?);
    }
    Ok(all)
}

/// A trust anchor in `--json` (ANCHOR).
fn anchor_json(cert: &CertInfo) -> serde_json::Value {
    json!({
        "fingerprint": cert.fingerprint,
        "subject": cert.subject,
        "emails": cert.emails,
        "not_before": json::time(cert.not_before),
        "not_after": json::time(cert.not_after),
        "ca": cert.is_ca(),
    })
}

fn anchor_line(cert: &CertInfo) -> String {
    format!(
        "{}  {}  until {}{}",
        &cert.fingerprint[..16],
        printable(&cert.subject),
        format_time(cert.not_after),
        if cert.is_ca() {
            ""
        } else {
            "  (not a CA certificate)"
        }
    )
}

fn list_anchors(args: &ListArgs, ctx: &Context, anchors: &[CertInfo]) -> anyhow::Result<()> {
    let shown: Vec<&CertInfo> = anchors
        .iter()
        .filter(|c| args.addr.as_ref().is_none_or(|a| c.matches_address(a)))
        .collect();
    if ctx.global.json {
        let rows: Vec<_> = shown.iter().map(|c| anchor_json(c)).collect();
        return ctx.print_json("cert list", json!({ "certificates": [], "anchors": rows }));
    }
    let out: String = shown.iter().map(|c| anchor_line(c) + "\n").collect();
    write_stdout(out.as_bytes(), false)
}

fn trust(args: TrustArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore_or_create()?;
    let results = ks.add_anchors(&read_certificates(&args.files)?)?;
    if ctx.global.json {
        let rows: Vec<_> = results
            .iter()
            .map(|(c, new)| {
                let mut v = anchor_json(c);
                v["new"] = json!(new);
                v
            })
            .collect();
        return ctx.print_json("cert trust", json!({ "anchors": rows }));
    }
    for (cert, new) in &results {
        ctx.note(format!(
            "{} {}",
            if *new { "trusted" } else { "already trusted" },
            anchor_line(cert)
        ));
        if !cert.is_ca() {
            ctx.warn(format!(
                "{} is not a CA certificate: it vouches only for itself (`cert import` accepts one correspondent's certificate)",
                &cert.fingerprint[..16]
            ));
        }
    }
    Ok(())
}

fn untrust(args: UntrustArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let file = PathBuf::from(&args.who);
    let removed = if file.is_file() {
        let mut removed = Vec::new();
        for cert in read_certificates(&[file])? {
            removed.extend(ks.remove_anchors(&cert.fingerprint)?);
        }
        removed
    } else {
        ks.remove_anchors(&args.who)?
    };
    recheck_validated(&ks)?;
    if ctx.global.json {
        let rows: Vec<_> = removed.iter().map(anchor_json).collect();
        return ctx.print_json("cert untrust", json!({ "anchors": rows }));
    }
    for cert in &removed {
        ctx.note(format!("no longer trusted: {}", anchor_line(cert)));
    }
    Ok(())
}

fn crl_import(args: CrlImportArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore_or_create()?;
    let mut crls = Vec::new();
    for file in &args.files {
        crls.push(CrlInfo::parse(&read_input(file)?).map_err(|e| {
            sealpost::error::fail(
                sealpost::error::Exit::DataErr,
                format!("{}: {}", file.display(), sealpost::error::single_line(&e)),
            )
        })?);
    }
    let mut rows = Vec::new();
    for crl in &crls {
        let new = ks.add_crl(crl)?;
        rows.push(json!({
            "fingerprint": crl.fingerprint,
            "issuer": crl.issuer,
            "this_update": json::time(crl.this_update),
            "next_update": json::time_opt(crl.next_update),
            "revoked": crl.revoked,
            "new": new,
        }));
        ctx.note(format!(
            "{} CRL of {} ({} revoked, next update {})",
            if new { "imported" } else { "already present:" },
            printable(&crl.issuer),
            crl.revoked,
            crl.next_update
                .map_or_else(|| "not given".into(), format_time)
        ));
    }
    recheck_validated(&ks)?;
    if ctx.global.json {
        return ctx.print_json("cert crl import", json!({ "crls": rows }));
    }
    Ok(())
}

/// Warns about each validated certificate that trust taken away moved back
/// to learned (see [`Keystore::recheck_validated`]).
fn recheck_validated(ks: &Keystore) -> anyhow::Result<()> {
    for (cert, why) in ks.recheck_validated(true, certs::now())? {
        super::warn(format!(
            "{} {} is no longer used to encrypt ({why}); it is kept as learned",
            &cert.fingerprint[..16],
            printable(&cert.emails.join(", "))
        ));
    }
    Ok(())
}
