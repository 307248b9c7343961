//! `sealpost encrypt`: a message into Bcc-private S/MIME envelopes.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use sealpost::bcc::{BccMode, EnvelopeKind};
use sealpost::certs;
use sealpost::encrypt::{self, Encrypted, Options, ReaderCert};
use sealpost::envelope::{ContentCipher, KeyTransport, RecipientIdKind};
use sealpost::error::{fail_hint, Exit};
use sealpost::fsutil;
use serde_json::json;

use super::{read_input, Context};

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
/// Algorithms: AES-256-GCM with RSA-OAEP for an envelope whose every reader
/// is known to read them (their certificate or signed mail says so, or `sealpost
/// cert prefer`), otherwise AES-256-CBC with RSA PKCS#1 v1.5, which every
/// S/MIME client reads.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    sealpost compose --from me@example.org --to a@example.org --bcc b@example.org <body.txt | sealpost encrypt >out.bsmtp\n  \
    sealpost encrypt --outdir outgoing/ message.eml\n  \
    sealpost encrypt --sign --eml message.eml >encrypted.eml")]
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
    /// Leave out recipients without a usable certificate (and report them) instead of failing
    #[arg(long)]
    pub skip_unknown: bool,
    /// Force the content cipher for every envelope
    #[arg(long, value_enum)]
    pub cipher: Option<CipherArg>,
    /// Force the RSA key transport for every recipient
    #[arg(long, value_enum)]
    pub key_transport: Option<KeyTransportArg>,
    /// Name recipients by subjectKeyIdentifier instead of issuer and serial number
    #[arg(long)]
    pub keyid: bool,
    /// Sign with the sender's key before encrypting (SHA-256, RSA PKCS#1 v1.5)
    #[arg(long)]
    pub sign: bool,
    /// With --sign: RSASSA-PSS instead of PKCS#1 v1.5
    #[arg(long, requires = "sign")]
    pub pss: bool,
    /// Write the Batch SMTP stream (or with --eml, the message) to FILE instead of stdout
    #[arg(short, long, value_name = "FILE", conflicts_with = "outdir")]
    pub output: Option<PathBuf>,
    /// Write one .eml file per envelope and manifest.json into DIR
    #[arg(long, value_name = "DIR", conflicts_with = "eml")]
    pub outdir: Option<PathBuf>,
    /// Write the encrypted message itself (fails unless there is exactly one envelope)
    #[arg(long)]
    pub eml: bool,
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
        }
    }
}

pub fn run(args: EncryptArgs, ctx: &Context) -> anyhow::Result<()> {
    if ctx.global.json && args.outdir.is_none() && args.output.is_none() {
        return Err(fail_hint(
            Exit::Usage,
            "--json needs --output or --outdir: stdout carries the encrypted mail",
            "add -o FILE (or --outdir DIR) to get the JSON summary on stdout",
        ));
    }
    let raw = read_input(&args.file)?;
    let ks = ctx.keystore()?;
    let now = certs::now();
    let options = Options {
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
    let mut lookup = |addr: &str| -> anyhow::Result<Vec<ReaderCert>> {
        ks.encryption_certificates(addr, now)?
            .into_iter()
            .map(|cert| {
                Ok(ReaderCert {
                    support: ks.support_for(&cert)?,
                    cert,
                })
            })
            .collect()
    };
    let mut signer = if args.sign {
        Some(super::sign::inner_signer(ctx, &ks, &raw, args.pss, now)?)
    } else {
        None
    };
    let result = encrypt::encrypt(
        &raw,
        &options,
        &mut lookup,
        signer.as_deref_mut(),
        &mut rand_core::OsRng,
    )?;
    for (addr, why) in &result.skipped {
        ctx.warn(format!("left out {addr}: {why}"));
    }
    let files = write_output(&args, &result)?;
    for env in &result.envelopes {
        ctx.detail(format!(
            "envelope to {}: {}, {}",
            env.rcpt_to.join(", "),
            env.cipher,
            transport_name(env.key_transport)
        ));
    }
    if ctx.global.json {
        return ctx.print_json(&summary(&result, &files));
    }
    ctx.note(format!(
        "encrypted into {} envelope{} for {} recipient{}",
        result.envelopes.len(),
        if result.envelopes.len() == 1 { "" } else { "s" },
        result
            .envelopes
            .iter()
            .map(|e| e.rcpt_to.len())
            .sum::<usize>(),
        if result
            .envelopes
            .iter()
            .map(|e| e.rcpt_to.len())
            .sum::<usize>()
            == 1
        {
            ""
        } else {
            "s"
        },
    ));
    Ok(())
}

fn transport_name(t: KeyTransport) -> &'static str {
    match t {
        KeyTransport::RsaOaepSha256 => "rsaes-oaep-sha256",
        KeyTransport::RsaPkcs1v15 => "rsaes-pkcs1-v1_5",
    }
}

fn kind_name(k: EnvelopeKind) -> &'static str {
    match k {
        EnvelopeKind::Visible => "to-cc",
        EnvelopeKind::Bcc => "bcc",
    }
}

/// Writes the envelopes where asked; returns the file written for each, if any.
fn write_output(args: &EncryptArgs, result: &Encrypted) -> anyhow::Result<Vec<Option<PathBuf>>> {
    if let Some(dir) = &args.outdir {
        fsutil::create_private_dir(dir)?;
        let manifest_path = dir.join("manifest.json");
        if manifest_path.exists() {
            return Err(fail_hint(
                Exit::CantCreate,
                format!("{} already holds a manifest.json", dir.display()),
                "choose an empty or new directory",
            ));
        }
        let mut files = Vec::new();
        let mut manifest = Vec::new();
        for (i, env) in result.envelopes.iter().enumerate() {
            let name = format!("{:03}-{}.eml", i + 1, kind_name(env.kind));
            let path = dir.join(&name);
            fsutil::atomic_write(&path, &env.message, fsutil::PUBLIC_FILE)?;
            manifest.push(json!({"file": name, "mail_from": env.mail_from, "rcpt_to": env.rcpt_to, "kind": kind_name(env.kind)}));
            files.push(Some(path));
        }
        let mut text = serde_json::to_vec_pretty(&json!({ "envelopes": manifest }))?;
        text.push(b'\n');
        // The manifest last: its presence says the directory is complete.
        fsutil::atomic_write(&manifest_path, &text, fsutil::PUBLIC_FILE)?;
        return Ok(files);
    }
    let data = if args.eml {
        if result.envelopes.len() != 1 {
            return Err(fail_hint(
                Exit::Usage,
                format!(
                    "--eml needs exactly one envelope, this message makes {}",
                    result.envelopes.len()
                ),
                "use --outdir DIR, or the default Batch SMTP output",
            ));
        }
        result.envelopes[0].message.clone()
    } else {
        let mut buf = Vec::new();
        let txns: Vec<_> = result.envelopes.iter().map(|e| e.transaction()).collect();
        sealpost::bsmtp::write(&mut buf, &txns)?;
        buf
    };
    match &args.output {
        Some(path) if path.as_os_str() != "-" => {
            fsutil::atomic_write(path, &data, fsutil::PUBLIC_FILE)?;
            Ok(vec![Some(path.clone()); result.envelopes.len()])
        }
        _ => {
            super::write_stdout(&data, false)?;
            Ok(vec![None; result.envelopes.len()])
        }
    }
}

fn summary(result: &Encrypted, files: &[Option<PathBuf>]) -> serde_json::Value {
    let envelopes: Vec<_> = result
        .envelopes
        .iter()
        .zip(files)
        .map(|(e, file)| {
            json!({
                "kind": kind_name(e.kind),
                "mail_from": e.mail_from,
                "rcpt_to": e.rcpt_to,
                "cipher": e.cipher.to_string(),
                "key_transport": transport_name(e.key_transport),
                "recipient_infos": e.recipient_infos.iter().map(|(a, fp)| json!({"address": a, "fingerprint": fp})).collect::<Vec<_>>(),
                "bytes": e.message.len(),
                "file": file,
            })
        })
        .collect();
    json!({
        "envelopes": envelopes,
        "skipped": result.skipped.iter().map(|(a, r)| json!({"address": a, "reason": r})).collect::<Vec<_>>(),
        "content_encryptions": result.content_encryptions,
        "signed": result.signed,
    })
}
