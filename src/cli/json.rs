//! `--json`: every command prints exactly one JSON object on stdout, whose
//! first members are `schema_version` and `command`; a failed run ends
//! stderr with one line holding the error as a JSON object. The shapes are
//! documented in [`super::json_schema`], the one source for the man page
//! and the tests.

use std::io::Write;

use sealpost::error::Exit;
use serde::Serialize;
use serde_json::{Map, Value};

pub use super::json_schema::{ACCEPTED_VERSIONS, SCHEMA_VERSION};
use super::json_schema::{COMMANDS, DEFINITIONS, ERROR, EXEMPT};

/// The members every document starts with, then the command's own.
#[derive(Serialize)]
struct Document<'a> {
    schema_version: &'static str,
    command: &'a str,
    #[serde(flatten)]
    body: &'a Map<String, Value>,
}

/// Prints `command`'s document: `body` (an object) after the version and
/// the command's words.
pub fn print(command: &str, body: Value) -> anyhow::Result<()> {
    debug_assert!(
        COMMANDS.iter().any(|(c, _)| *c == command),
        "{command} has no documented JSON shape"
    );
    let Value::Object(body) = body else {
        return Err(sealpost::error::fail(
            Exit::Software,
            "a JSON document must be an object",
        ));
    };
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        command,
        body: &body,
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// The last line on stderr of a run that failed with `--json`.
pub fn error_line(exit: Exit, message: &str, hint: Option<&str>) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        schema_version: &'static str,
        error: Error<'a>,
    }
    #[derive(Serialize)]
    struct Error<'a> {
        message: &'a str,
        hint: Option<&'a str>,
        exit_code: i32,
        exit_name: String,
    }
    let line = Line {
        schema_version: SCHEMA_VERSION,
        error: Error {
            message,
            hint,
            exit_code: exit.code(),
            exit_name: format!("{exit:?}"),
        },
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// A Unix time as every document writes times: RFC 3339 in UTC,
/// `2026-12-05T15:22:43Z`.
pub fn time(t: i64) -> Value {
    let formatted = time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
    match formatted {
        Some(text) => Value::String(text),
        // Outside years 1–9999: no RFC 3339 form; say so rather than lie.
        None => Value::Null,
    }
}

/// [`time`] of an optional time; `null` when there is none.
pub fn time_opt(t: Option<i64>) -> Value {
    t.map_or(Value::Null, time)
}

/// Data that went into the document instead of onto stdout: as text when it
/// is UTF-8 (S/MIME, PEM, Batch SMTP are ASCII), else base64. Returns the
/// values of the `NAME` and `NAME_base64` members; one of them is null.
pub fn text_or_base64(data: &[u8]) -> (Value, Value) {
    use base64::Engine;
    match std::str::from_utf8(data) {
        Ok(text) => (Value::String(text.to_owned()), Value::Null),
        Err(_) => (
            Value::Null,
            Value::String(base64::engine::general_purpose::STANDARD.encode(data)),
        ),
    }
}

/// clap's value parser for `--json-version`.
pub fn parse_version(text: &str) -> Result<String, String> {
    if ACCEPTED_VERSIONS.contains(&text) {
        Ok(SCHEMA_VERSION.to_string())
    } else {
        Err(format!(
            "this sealpost writes JSON schema version {SCHEMA_VERSION} only (accepted: {})",
            ACCEPTED_VERSIONS.join(", ")
        ))
    }
}

/// Whether `--json` is among the options (before any `--`): usage errors
/// found before the options are parsed are then reported as JSON too.
pub fn requested(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    args.into_iter()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// The introduction of the JSON section of `--help` and the man page.
fn introduction() -> String {
    format!(
        "With --json every command prints exactly one JSON object on stdout, whose first \
         members are \"schema_version\": \"{SCHEMA_VERSION}\" and \"command\" (the words of the \
         subcommand, e.g. \"cert list\"). A minor version bump only adds members; a major bump \
         removes or changes one. --json-version VERSION ({}) pins the version a script \
         expects: any other is refused with exit 64. Every member listed is always present \
         (null where it does not apply). Times are RFC 3339 in UTC (2026-12-05T15:22:43Z), \
         sizes are bytes, durations are integer seconds in members named *_seconds. Data that \
         goes to stdout without --json (a certificate, a message, Batch SMTP, plaintext) is a \
         member of the document instead: as a string when it is text, else base64 in a member \
         whose name ends in _base64; with -o FILE or --outdir the document names the file. \
         A failed run ends stderr, after the usual `sealpost: error:` lines, with one line \
         {{\"schema_version\": \"{SCHEMA_VERSION}\", \"error\": ERROR}}, and exits with \
         exit_code; a partial outcome (submit leaving mail queued, say) prints its document \
         first.",
        ACCEPTED_VERSIONS.join(" or ")
    )
}

/// The short JSON paragraph of the top-level `--help`; the man page has it all.
pub fn help_section() -> String {
    let text = format!(
        "With --json every command prints one JSON object on stdout, starting with \
         \"schema_version\": \"{SCHEMA_VERSION}\" and \"command\"; times are RFC 3339 UTC. \
         A failed run ends stderr with the error as one JSON line. --json-version VERSION pins \
         the schema ({}). Each command's document: `sealpost man`, section JSON OUTPUT.",
        ACCEPTED_VERSIONS.join(" or ")
    );
    let mut help = String::from("JSON output:\n");
    for line in wrap(&text, 96) {
        help.push_str(&format!("  {line}\n"));
    }
    help
}

/// The paragraphs of the man page's JSON OUTPUT section: the introduction,
/// then (term, description) pairs.
pub fn man_section() -> (String, Vec<(String, String)>) {
    let mut items = Vec::new();
    for (command, members) in COMMANDS {
        items.push((
            format!("sealpost --json {command}"),
            format!("{{schema_version, command, {members}}}"),
        ));
    }
    items.push(("ERROR".to_string(), ERROR.to_string()));
    for (name, shape) in DEFINITIONS {
        items.push((name.to_string(), shape.to_string()));
    }
    for (command, why) in EXEMPT {
        items.push((
            format!("sealpost {command}"),
            format!("prints no JSON document: {why}"),
        ));
    }
    (
        format!(
            "{} Notation: {{name: TYPE, ...}} is an object with exactly these members, [TYPE] \
             an array, A | B either, NAME + {{...}} NAME with more members; types are string, \
             int, bool, null, time, and the upper-case names defined below.",
            introduction()
        ),
        items,
    )
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// An own identity in `--json` (`IDENTITY`): `key generate`, `key import`,
/// `key list`, `group key import`.
pub fn identity(ident: &sealpost::store::keystore::Identity) -> serde_json::Value {
    serde_json::json!({
        "fingerprint": ident.cert.fingerprint,
        "emails": ident.cert.emails,
        "subject": ident.cert.subject,
        "serial": ident.cert.serial,
        "not_before": time(ident.cert.not_before),
        "not_after": time(ident.cert.not_after),
        "expired": sealpost::smime::certs::now() > ident.cert.not_after,
        "rsa_bits": ident.cert.rsa_bits,
        "key_algorithm": ident.cert.key_kind.as_ref().map(|k| k.name()).ok(),
        "passphrase_protected": ident.encrypted,
        "key_file": ident.key_path,
    })
}

/// An outbox entry in `--json`.
pub fn outbox_entry(e: &sealpost::mail::outbox::Entry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "state": e.state,
        "account": e.account,
        "mail_from": e.mail_from,
        "recipients": e.recipients,
        "pending": e.pending,
        "delivered": e.delivered,
        "refused": e.refused,
        "bytes": e.size,
        "queued_at": time(e.queued_at),
        "next_attempt": time(e.next_attempt),
        "attempts": e.attempts,
        "last_error": e.last_error,
        "server_reply": e.server_reply,
        "server": e.server,
        "sent_at": time_opt(e.sent_at),
    })
}

#[cfg(test)]
mod tests {
    use super::super::json_schema::{self, check, document_shape, parse, Shape};
    use super::*;

    #[test]
    fn every_documented_shape_parses() {
        for (command, _) in COMMANDS {
            assert!(document_shape(command).is_some(), "{command}");
        }
        parse(ERROR).unwrap();
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(time(1_796_484_163), "2026-12-05T15:22:43Z");
        assert!(json_schema::is_rfc3339_utc(time(0).as_str().unwrap()));
        assert_eq!(time(i64::MAX), Value::Null);
    }

    #[test]
    fn the_error_line_has_the_documented_shape() {
        let line: Value =
            serde_json::from_str(&error_line(Exit::DataErr, "bad", Some("fix it"))).unwrap();
        let shape = Shape::Object(vec![
            ("schema_version".into(), Shape::String),
            ("error".into(), parse(ERROR).unwrap()),
        ]);
        check(&line, &shape, "error").unwrap();
        assert_eq!(line["error"]["exit_name"], "DataErr");
        assert_eq!(line["error"]["exit_code"], 65);
    }

    #[test]
    fn the_checker_refuses_what_is_not_documented() {
        let shape = parse("{a: int, b: string | null, t: time}").unwrap();
        let ok = serde_json::json!({"a": 1, "b": null, "t": "2026-12-05T15:22:43Z"});
        check(&ok, &shape, "x").unwrap();
        for bad in [
            serde_json::json!({"a": 1, "b": null}),
            serde_json::json!({"a": 1, "b": null, "t": "2026-12-05 15:22:43 UTC"}),
            serde_json::json!({"a": "1", "b": null, "t": "2026-12-05T15:22:43Z"}),
            serde_json::json!({"a": 1, "b": null, "t": "2026-12-05T15:22:43Z", "c": 2}),
        ] {
            assert!(check(&bad, &shape, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_versions_written_are_accepted() {
        for accepted in ["1", "1.0", "1.1", "1.2", "1.3", "1.4"] {
            assert_eq!(parse_version(accepted).unwrap(), "1.4");
        }
        assert!(parse_version("2").unwrap_err().contains("1.4"));
    }

    #[test]
    fn json_is_requested_only_before_a_double_dash() {
        let args = |list: &[&str]| {
            list.iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>()
        };
        assert!(requested(args(&["sealpost", "cert", "list", "--json"])));
        assert!(!requested(args(&["sealpost", "inspect", "--", "--json"])));
        assert!(!requested(args(&["--json"])));
    }
}
