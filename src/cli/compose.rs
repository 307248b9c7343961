//! `sealpost compose`: build an RFC 5322 message and print it.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use sealpost::error::{fail, Exit};
use sealpost::smime::message::{AttachSpec, Attachment, Compose, ExtraHeader, Mailbox};

use super::Context;

/// Compose an RFC 5322 / MIME message and write it to stdout
///
/// The message has From, To, Cc, Bcc, Reply-To, Subject, Date (now, UTC) and a
/// Message-ID on the From address's domain; non-ASCII in names, subject and
/// body is encoded as RFC 2047 encoded words, quoted-printable or base64 as
/// needed, and every line ends in CRLF. The body is text/plain; charset=utf-8,
/// read from stdin unless --body-file is given. With --attach the message is
/// multipart/mixed: the body first, then each file.
///
/// The Bcc header is kept in the composed message on purpose: `sealpost
/// encrypt` reads it to give each Bcc recipient a separate copy, and removes it
/// from everything it sends. Do not send a composed message in the clear.
///
/// Addresses are `addr@example.org`, `Name <addr@example.org>` or `"Last,
/// First" <addr@example.org>`; every address flag may be repeated and takes a
/// comma-separated list. An invalid address is an error naming it (exit 65).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ComposeArgs {
    /// Sender: one address, also the domain of the Message-ID
    #[arg(long, value_name = "ADDR")]
    pub from: String,

    /// Recipient (repeatable; comma-separated lists accepted)
    #[arg(long, value_name = "ADDR")]
    pub to: Vec<String>,

    /// Copy recipient (repeatable; comma-separated lists accepted)
    #[arg(long, value_name = "ADDR")]
    pub cc: Vec<String>,

    /// Blind copy recipient (repeatable; comma-separated lists accepted);
    /// kept as a Bcc header for `sealpost encrypt`
    #[arg(long, value_name = "ADDR")]
    pub bcc: Vec<String>,

    /// Where replies should go (repeatable; comma-separated lists accepted)
    #[arg(long, value_name = "ADDR")]
    pub reply_to: Vec<String>,

    /// Subject line (UTF-8); without it the message has no Subject header
    #[arg(long, short = 's', value_name = "TEXT")]
    pub subject: Option<String>,

    /// Extra header field 'Name: value' (repeatable), e.g. 'In-Reply-To: <id@host>'.
    /// From, To, Cc, Bcc, Reply-To, Subject, Date, Message-ID, MIME-Version
    /// and Content-* are refused (exit 64): use the flags, sealpost writes the rest
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Attach a file (repeatable): FILE[;type=TYPE][;name=NAME]. TYPE is the
    /// content type (default: guessed from the name, else
    /// application/octet-stream); NAME is the file name the recipient sees
    /// (default: FILE's base name). FILE ends at the first ';type=' or
    /// ';name=', so it may contain ':' and ';'
    #[arg(long, short = 'a', value_name = "FILE[;type=TYPE][;name=NAME]")]
    pub attach: Vec<String>,

    /// Read the body (UTF-8 text) from FILE; '-' is stdin [default: stdin]
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
}

const AFTER_HELP: &str = "\
With --json, the message is the member \"message\" of the one JSON document
(see `sealpost man`, JSON OUTPUT); its addresses are bare and normalised
(domain lowercased).

Exit status: 64 for a command-line mistake (no recipient, a refused --header,
a bad --attach syntax), 65 for malformed data (an invalid address, a malformed
--header or content type, a body that is not UTF-8), 66 when the body file or
an attachment cannot be read.";

pub fn run(args: ComposeArgs, ctx: &Context) -> anyhow::Result<()> {
    let mut from = Mailbox::parse_list(&args.from)?;
    if from.len() != 1 {
        return Err(fail(
            Exit::Usage,
            format!("--from takes one address, not {}", from.len()),
        ));
    }
    let from = from.remove(0);
    let mut spec = Compose::new(from, time::OffsetDateTime::now_utc());
    spec.to = mailboxes(&args.to)?;
    spec.cc = mailboxes(&args.cc)?;
    spec.bcc = mailboxes(&args.bcc)?;
    spec.reply_to = mailboxes(&args.reply_to)?;
    spec.subject = args.subject;
    spec.headers = args
        .headers
        .iter()
        .map(|h| ExtraHeader::parse(h))
        .collect::<anyhow::Result<_>>()?;
    if spec.recipients().is_empty() {
        return Err(fail(
            Exit::Usage,
            "no recipients: give at least one --to, --cc or --bcc",
        ));
    }
    // Check all the attachment specs before reading anything.
    let attach_specs = args
        .attach
        .iter()
        .map(|a| AttachSpec::parse(a))
        .collect::<anyhow::Result<Vec<_>>>()?;
    spec.body = read_body(args.body_file.as_deref())?;
    for attach in &attach_specs {
        let attachment = Attachment::from_spec(attach)?;
        ctx.detail(format!(
            "attaching {} as {} ({}, {} bytes)",
            attach.path.display(),
            attachment.filename,
            attachment.content_type,
            attachment.data.len()
        ));
        spec.attachments.push(attachment);
    }

    let composed = spec.build()?;
    if ctx.global.json {
        let addrs = |list: &[Mailbox]| list.iter().map(|m| m.address.clone()).collect::<Vec<_>>();
        let value = serde_json::json!({
            "message": String::from_utf8_lossy(&composed.bytes),
            "message_id": composed.message_id,
            "from": spec.from.address,
            "recipients": {
                "to": addrs(&spec.to),
                "cc": addrs(&spec.cc),
                "bcc": addrs(&spec.bcc),
            },
            "envelope": spec.recipients().iter().map(|m| m.address.clone()).collect::<Vec<_>>(),
            "bytes": composed.bytes.len(),
        });
        ctx.print_json("compose", value)?;
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&composed.bytes)?;
        stdout.flush().context("writing the message to stdout")?;
    }
    ctx.detail(format!(
        "composed <{}>: {} bytes, {} recipient(s)",
        composed.message_id,
        composed.bytes.len(),
        spec.recipients().len()
    ));
    Ok(())
}

/// Every value of a repeatable address flag, each a comma-separated list.
fn mailboxes(values: &[String]) -> anyhow::Result<Vec<Mailbox>> {
    let mut out = Vec::new();
    for value in values {
        out.extend(Mailbox::parse_list(value)?);
    }
    Ok(out)
}

fn read_body(path: Option<&std::path::Path>) -> anyhow::Result<String> {
    let (bytes, what) = match path {
        Some(p) if p.as_os_str() != "-" => {
            let bytes = std::fs::read(p).map_err(|e| {
                fail(
                    Exit::NoInput,
                    format!("cannot read body file {}: {e}", p.display()),
                )
            })?;
            (bytes, format!("body file {}", p.display()))
        }
        _ => {
            super::announce_terminal_stdin();
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| fail(Exit::IoErr, format!("reading the body from stdin: {e}")))?;
            (bytes, "the body on stdin".to_owned())
        }
    };
    String::from_utf8(bytes).map_err(|e| {
        sealpost::error::fail_hint(
            Exit::DataErr,
            format!(
                "{what} is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            "convert it to UTF-8, or send it with --attach instead",
        )
    })
}
