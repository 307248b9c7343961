//! `sealpost inspect`: what a message reveals, without decrypting it.

use std::path::PathBuf;

use clap::Args;
use sealpost::smime::inspect::{self, Report};
use serde_json::json;

use super::{printable, read_input, write_stdout, Context};

/// Show what an S/MIME message reveals without decrypting it
///
/// Prints the content type, the algorithms, each RecipientInfo (whom it names,
/// matched to keystore certificates where known, "you" for your own), the
/// certificates carried in signed data, and the recipient headers. It lists
/// every identity a copy discloses to its readers beyond the people it is
/// addressed to: the visible headers, the SMTP recipients when known (a Batch
/// SMTP stream as `sealpost encrypt` writes, --rcpt, or the manifest.json
/// beside a file that `encrypt --outdir` wrote), and you, when the copy is
/// encrypted to your own key (a Bcc copy). For sealpost's own output that
/// list is always empty. RecipientInfos naming certificates your keystore
/// does not know are listed as unidentified: they count as beyond the
/// addressees only when they outnumber the addressees left unmatched.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The message or Batch SMTP stream (- for stdin)
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// The SMTP recipients of this copy (when the input is a single message)
    #[arg(long, value_name = "ADDR", value_delimiter = ',')]
    pub rcpt: Vec<String>,
}

pub fn run(args: InspectArgs, ctx: &Context) -> anyhow::Result<()> {
    let data = read_input(&args.file)?;
    let ks = ctx.keystore()?;
    let correspondents = ks.certificates()?;
    let own: Vec<_> = ks.identities()?.into_iter().map(|i| i.cert).collect();
    let knowledge = inspect::Knowledge {
        correspondents: &correspondents,
        own: &own,
    };
    let mut reports = Vec::new();
    if sealpost::smime::bsmtp::looks_like(&data) {
        for t in sealpost::smime::bsmtp::parse(&data)? {
            reports.push(inspect::inspect(&t.data, &knowledge, Some(&t.rcpt_to))?);
        }
    } else {
        let rcpt = if args.rcpt.is_empty() {
            inspect::rcpt_from_manifest(&args.file)
        } else {
            Some(args.rcpt.clone())
        };
        reports.push(inspect::inspect(&data, &knowledge, rcpt.as_deref())?);
    }
    if ctx.global.json {
        let messages: Vec<_> = reports.iter().map(report_json).collect();
        return ctx.print_json("inspect", json!({ "messages": messages }));
    }
    let mut out = String::new();
    for (i, r) in reports.iter().enumerate() {
        if reports.len() > 1 {
            out.push_str(&format!("message {}:\n", i + 1));
        }
        describe(r, &mut out);
    }
    write_stdout(out.as_bytes(), false)
}

/// A report in `--json`, with the member names `encrypt --json` uses for the
/// same things (`content_encryption`, `key_encryption`, `recipient_infos`).
fn report_json(r: &Report) -> serde_json::Value {
    json!({
        "content_type": r.content_type,
        "cms_type": r.cms_type,
        "content_encryption": r.content_cipher,
        "recipient_infos": r.recipients.iter().map(|ri| json!({
            "kind": ri.kind,
            "id": ri.id,
            "key_encryption": ri.algorithm,
            "known_as": ri.known_as,
            "fingerprint": ri.fingerprint,
            "reader": ri.reader,
        })).collect::<Vec<_>>(),
        "certificates": r.certificates,
        "header_from": r.header_from,
        "header_to": r.header_to,
        "header_cc": r.header_cc,
        "header_bcc": r.header_bcc,
        "rcpt_to": r.rcpt_to,
        "disclosed": r.disclosed,
        "disclosed_beyond_addressees": r.disclosed_beyond_addressees,
        "unidentified": r.unidentified,
    })
}

fn describe(r: &Report, out: &mut String) {
    let line =
        |out: &mut String, k: &str, v: &str| out.push_str(&format!("  {k:<22} {}\n", printable(v)));
    line(out, "content type", &r.content_type);
    line(out, "cms type", r.cms_type.as_deref().unwrap_or("none"));
    if let Some(c) = &r.content_cipher {
        line(out, "content cipher", c);
    }
    for ri in &r.recipients {
        let who = if ri.known_as.is_empty() {
            "unknown".to_string()
        } else if ri.reader {
            format!("{} (you)", ri.known_as.join(", "))
        } else {
            ri.known_as.join(", ")
        };
        line(
            out,
            "recipient info",
            &format!("{who}: {} ({}, {})", ri.id, ri.kind, ri.algorithm),
        );
    }
    for c in &r.certificates {
        line(out, "certificate", c);
    }
    for (k, v) in [
        ("from", &r.header_from),
        ("to", &r.header_to),
        ("cc", &r.header_cc),
        ("bcc", &r.header_bcc),
    ] {
        if !v.is_empty() {
            line(out, &format!("header {k}"), &v.join(", "));
        }
    }
    if let Some(rcpt) = &r.rcpt_to {
        line(out, "smtp rcpt to", &rcpt.join(", "));
    }
    line(out, "disclosed to readers", &r.disclosed.join(", "));
    if !r.unidentified.is_empty() {
        line(
            out,
            "unidentified",
            &format!(
                "{} RecipientInfo(s) naming certificates not in your keystore",
                r.unidentified.len()
            ),
        );
    }
    line(
        out,
        "beyond its addressees",
        &if r.disclosed_beyond_addressees.is_empty() {
            "none".to_string()
        } else {
            r.disclosed_beyond_addressees.join(", ")
        },
    );
}
