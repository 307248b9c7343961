//! `sealpost compose`, run as a program; the output is parsed back with
//! mail-parser and checked header by header.

use std::path::Path;

use assert_cmd::Command;
use mail_parser::{Address, Message, MessageParser, MimeHeaders};

fn compose() -> Command {
    let mut cmd = Command::cargo_bin("sealpost").unwrap();
    cmd.arg("compose");
    // Keep the user's keystore and environment out of it.
    cmd.env_remove("SEALPOST_KEYSTORE");
    cmd
}

/// Runs to success and returns stdout.
fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn parse(bytes: &[u8]) -> Message<'_> {
    MessageParser::new()
        .parse(bytes)
        .expect("output parses as a message")
}

fn mailboxes(addr: Option<&Address<'_>>) -> Vec<(Option<String>, String)> {
    addr.expect("header present")
        .iter()
        .map(|a| (a.name().map(str::to_owned), a.address().unwrap().to_owned()))
        .collect()
}

fn assert_crlf_only(bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at byte {i}");
        }
    }
    assert!(bytes.is_ascii(), "composed message is not 7-bit");
}

#[test]
fn headers_and_body_round_trip() {
    let body = "Hallo Bob,\nGrüße aus Köln – 日本語のテキスト.\n\n-- \nAlice\n";
    let before = time::OffsetDateTime::now_utc().unix_timestamp();
    let out = run_ok(
        compose()
            .args([
                "--from",
                "Alice Ärger <alice@Example.ORG>",
                "--to",
                "Bob <bob@example.net>, \"Doe, Jane\" <jane@example.com>",
                "--to",
                "erin@example.net",
                "--cc",
                "carol@example.com",
                "--bcc",
                "dave@example.com,frank@example.com",
                "--reply-to",
                "Replies <replies@example.org>",
                "--subject",
                "Grüße – 日本",
                "--header",
                "X-Sealpost-Test: eins, zwei",
                "-H",
                "In-Reply-To: <parent@example.net>",
            ])
            .write_stdin(body),
    );
    let after = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_crlf_only(&out);
    let m = parse(&out);

    assert_eq!(
        mailboxes(m.from()),
        [(Some("Alice Ärger".into()), "alice@example.org".into())]
    );
    assert_eq!(
        mailboxes(m.to()),
        [
            (Some("Bob".into()), "bob@example.net".into()),
            (Some("Doe, Jane".into()), "jane@example.com".into()),
            (None, "erin@example.net".into()),
        ]
    );
    assert_eq!(mailboxes(m.cc()), [(None, "carol@example.com".into())]);
    assert_eq!(
        mailboxes(m.bcc()),
        [
            (None, "dave@example.com".into()),
            (None, "frank@example.com".into())
        ],
        "the Bcc header is kept for encrypt"
    );
    assert_eq!(
        mailboxes(m.reply_to()),
        [(Some("Replies".into()), "replies@example.org".into())]
    );
    assert_eq!(m.subject(), Some("Grüße – 日本"));

    let date = m.date().expect("Date parses");
    assert!(
        (before - 1..=after + 1).contains(&date.to_timestamp()),
        "{date:?}"
    );
    let id = m.message_id().expect("Message-ID present");
    assert!(id.ends_with("@example.org"), "{id}");
    assert!(id.len() > "@example.org".len() + 8, "{id}");

    assert_eq!(
        m.header_raw("X-Sealpost-Test").map(str::trim),
        Some("eins, zwei")
    );
    assert_eq!(m.in_reply_to().as_text(), Some("parent@example.net"));
    assert_eq!(m.mime_version().as_text(), Some("1.0"));

    let ct = m.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert_eq!(ct.attribute("charset"), Some("utf-8"));
    assert_eq!(m.body_text(0).unwrap(), body.replace('\n', "\r\n"));
    assert_eq!(m.attachment_count(), 0);
}

#[test]
fn body_file_and_explicit_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.txt");
    std::fs::write(&file, "Ünïcödé body from a file\r\nsecond line\r\n").unwrap();
    let out = run_ok(
        compose()
            .args(["--from", "a@example.org", "--to", "b@example.org"])
            .arg("--body-file")
            .arg(&file)
            .write_stdin("stdin is ignored"),
    );
    assert_eq!(
        parse(&out).body_text(0).unwrap(),
        "Ünïcödé body from a file\r\nsecond line\r\n"
    );

    let out = run_ok(
        compose()
            .args([
                "--from",
                "a@example.org",
                "--to",
                "b@example.org",
                "--body-file",
                "-",
            ])
            .write_stdin("from stdin\n"),
    );
    assert_eq!(parse(&out).body_text(0).unwrap(), "from stdin\r\n");
}

#[test]
fn attachments_with_detected_and_given_types() {
    let dir = tempfile::tempdir().unwrap();
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let png = dir.path().join("picture.png");
    std::fs::write(&png, &binary).unwrap();
    let colon = dir.path().join("a:b;c.bin");
    std::fs::write(&colon, [0u8, 0xff, 0x0d, 0x0a, 0x00]).unwrap();
    let utf8_name = dir.path().join("Grüße 日本.txt");
    std::fs::write(&utf8_name, "zeile ü\n").unwrap();
    let data = dir.path().join("data");
    std::fs::write(&data, b"%PDF-1.4 fake").unwrap();

    let out = run_ok(
        compose()
            .args([
                "--from",
                "a@example.org",
                "--to",
                "b@example.org",
                "-s",
                "files",
            ])
            .arg("--attach")
            .arg(&png)
            .arg("--attach")
            .arg(&colon)
            .arg("--attach")
            .arg(&utf8_name)
            .arg("--attach")
            .arg(format!(
                "{};type=application/pdf;name=Bericht März.pdf",
                data.display()
            ))
            .write_stdin("see attached\n"),
    );
    assert_crlf_only(&out);
    let m = parse(&out);
    let ct = m.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("mixed")));
    assert_eq!(m.body_text(0).unwrap(), "see attached\r\n");
    assert_eq!(m.attachment_count(), 4);

    let expect = [
        ("picture.png", "image", "png", binary.as_slice()),
        (
            "a:b;c.bin",
            "application",
            "octet-stream",
            &[0, 0xff, 0x0d, 0x0a, 0][..],
        ),
        ("Grüße 日本.txt", "text", "plain", "zeile ü\n".as_bytes()),
        ("Bericht März.pdf", "application", "pdf", b"%PDF-1.4 fake"),
    ];
    for (i, (name, ty, sub, contents)) in expect.iter().enumerate() {
        let part = m.attachment(i as u32).unwrap();
        assert_eq!(part.attachment_name(), Some(*name), "attachment {i}");
        let ct = part.content_type().unwrap();
        assert_eq!(
            (ct.ctype(), ct.subtype()),
            (*ty, Some(*sub)),
            "attachment {i}"
        );
        assert_eq!(part.contents(), *contents, "attachment {i}");
        assert!(part.content_disposition().unwrap().is_attachment());
    }
    assert_eq!(
        m.attachment(2)
            .unwrap()
            .content_type()
            .unwrap()
            .attribute("charset"),
        Some("utf-8")
    );
}

#[test]
fn json_output_describes_the_message() {
    let out = run_ok(
        compose()
            .args([
                "--json",
                "--from",
                "Alice <alice@EXAMPLE.org>",
                "--to",
                "bob@example.net",
                "--cc",
                "carol@example.com",
                "--bcc",
                "dave@example.com, bob@example.net",
            ])
            .write_stdin("hi\n"),
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["schema_version"], "1.4");
    assert_eq!(v["command"], "compose");
    let message = v["message"].as_str().unwrap();
    assert_eq!(v["bytes"].as_u64().unwrap() as usize, message.len());
    let m = parse(message.as_bytes());
    assert_eq!(v["message_id"].as_str(), m.message_id());
    assert_eq!(v["from"], "alice@example.org");
    assert_eq!(
        v["recipients"]["to"],
        serde_json::json!(["bob@example.net"])
    );
    assert_eq!(
        v["recipients"]["cc"],
        serde_json::json!(["carol@example.com"])
    );
    assert_eq!(
        v["recipients"]["bcc"],
        serde_json::json!(["dave@example.com", "bob@example.net"])
    );
    assert_eq!(
        v["envelope"],
        serde_json::json!(["bob@example.net", "carol@example.com", "dave@example.com"])
    );
}

/// Runs, expects `code`, nothing on stdout, and exactly one
/// `sealpost: error:` line on stderr (plus at most hint lines) containing
/// every `needle`.
fn assert_fails(cmd: &mut Command, code: i32, needles: &[&str]) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("sealpost: error: "))
            .count(),
        1,
        "{stderr}"
    );
    assert!(lines[0].starts_with("sealpost: error: "), "{stderr}");
    assert!(
        lines[1..].iter().all(|l| l.starts_with("sealpost: hint: ")),
        "{stderr}"
    );
    for needle in needles {
        assert!(lines[0].contains(needle), "{needle:?} not in {stderr}");
    }
}

fn base(cmd: &mut Command) -> &mut Command {
    cmd.args(["--from", "a@example.org", "--to", "b@example.org"])
        .write_stdin("body\n")
}

#[test]
fn invalid_addresses_exit_65_naming_them() {
    assert_fails(
        compose()
            .args([
                "--from",
                "a@example.org",
                "--to",
                "b@example.org, not-an-address",
            ])
            .write_stdin("x"),
        65,
        &["not-an-address"],
    );
    assert_fails(
        compose()
            .args(["--from", "a@exa mple.org", "--to", "b@example.org"])
            .write_stdin("x"),
        65,
        &["a@exa mple.org"],
    );
    assert_fails(
        compose()
            .args(["--from", "a@example.org", "--bcc", "Bob <bob@example.net"])
            .write_stdin("x"),
        65,
        &["Bob <bob@example.net"],
    );
}

#[test]
fn missing_files_exit_66_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-attachment.pdf");
    assert_fails(
        base(&mut compose()).arg("--attach").arg(&missing),
        66,
        &["no-such-attachment.pdf"],
    );
    let missing_body = dir.path().join("no-such-body.txt");
    assert_fails(
        base(&mut compose()).arg("--body-file").arg(&missing_body),
        66,
        &["no-such-body.txt"],
    );
}

#[test]
fn refused_and_malformed_headers() {
    for field in [
        "Bcc: x@example.org",
        "from: x@example.org",
        "Date: Mon, 1 Jan 2024 00:00:00 +0000",
        "Message-ID: <x@y>",
        "MIME-Version: 1.0",
        "Content-Type: text/html",
    ] {
        let name = field.split(':').next().unwrap();
        assert_fails(base(&mut compose()).args(["--header", field]), 64, &[name]);
    }
    for field in ["no colon", "Bad Name: x", ": empty name"] {
        assert_fails(base(&mut compose()).args(["--header", field]), 65, &[]);
    }
}

#[test]
fn other_command_line_mistakes() {
    // No recipient at all.
    assert_fails(
        compose().args(["--from", "a@example.org"]).write_stdin("x"),
        64,
        &["recipient"],
    );
    // Two senders.
    assert_fails(
        compose()
            .args([
                "--from",
                "a@example.org, b@example.org",
                "--to",
                "c@example.org",
            ])
            .write_stdin("x"),
        64,
        &["--from"],
    );
    // A body that is not UTF-8.
    assert_fails(
        base(&mut compose()).write_stdin(&b"caf\xe9\n"[..]),
        65,
        &["UTF-8"],
    );
    // Bad --attach syntax: checked before anything is read.
    assert_fails(
        base(&mut compose()).args(["--attach", ";type=text/plain"]),
        64,
        &["--attach"],
    );
    assert!(!Path::new(";type=text/plain").exists());
}
