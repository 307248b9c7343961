//! Byte-exact header fields, and splitting a message for encryption.

use std::borrow::Cow;

use crate::error::{fail, fail_hint, Exit};

/// Turns every LF not preceded by CR into CRLF. Borrows when there is none.
pub fn to_crlf(input: &[u8]) -> Cow<'_, [u8]> {
    let bare = input
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || input[i - 1] != b'\r'))
        .count();
    if bare == 0 {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() + bare);
    for (i, &b) in input.iter().enumerate() {
        if b == b'\n' && (i == 0 || input[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    Cow::Owned(out)
}

/// One header field exactly as it appeared (after LF → CRLF): name, colon,
/// value with its folding, and the final CRLF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    name: String,
    raw: Vec<u8>,
}

impl HeaderField {
    /// The field name as written (without trailing whitespace or colon).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole field: `Name: value\r\n`, folding included.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The raw value: everything after the colon, without the final CRLF.
    pub fn raw_value(&self) -> &[u8] {
        let colon = self.raw.iter().position(|&b| b == b':').unwrap_or(0);
        let end = self.raw.len().saturating_sub(2);
        &self.raw[colon + 1..end.max(colon + 1)]
    }

    /// Case-insensitive name comparison.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// `Content-*` fields: the ones that describe the MIME entity.
    pub fn is_content(&self) -> bool {
        self.name.len() > 8 && self.name[..8].eq_ignore_ascii_case("content-")
    }

    /// Fields that name blind recipients: `Bcc` and `Resent-Bcc`.
    pub fn is_bcc(&self) -> bool {
        self.is("Bcc") || self.is("Resent-Bcc")
    }
}

/// A message taken apart into its header fields and body, CRLF throughout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub fields: Vec<HeaderField>,
    /// Everything after the blank line that ends the header (empty if none).
    pub body: Vec<u8>,
}

impl RawMessage {
    /// Splits a message (CRLF or bare LF, see [`to_crlf`]) into header fields
    /// and body. A field's continuation lines start with space or tab. A line
    /// that is neither a field nor a continuation, an empty message, or one
    /// without header fields is an [`Exit::DataErr`].
    pub fn parse(message: &[u8]) -> anyhow::Result<RawMessage> {
        let message = to_crlf(message);
        let message: &[u8] = &message;
        if message.is_empty() {
            return Err(fail(Exit::DataErr, "the message is empty"));
        }
        let mut fields: Vec<HeaderField> = Vec::new();
        let mut pos = 0;
        let mut line_no = 0;
        let mut body_start = message.len();
        while pos < message.len() {
            line_no += 1;
            let end = find_crlf(&message[pos..]).map_or(message.len(), |at| pos + at + 2);
            let line = &message[pos..end];
            if line == b"\r\n" {
                body_start = end;
                break;
            }
            if matches!(line[0], b' ' | b'\t') {
                let Some(last) = fields.last_mut() else {
                    return Err(fail(
                        Exit::DataErr,
                        "malformed message: it starts with a continuation line",
                    ));
                };
                last.raw.extend_from_slice(line);
            } else {
                let name = field_name(line).ok_or_else(|| not_a_field(line_no, line))?;
                fields.push(HeaderField {
                    name,
                    raw: line.to_vec(),
                });
            }
            pos = end;
        }
        if fields.is_empty() {
            return Err(fail(
                Exit::DataErr,
                "malformed message: no header fields before the body",
            ));
        }
        // A last field without a line break gets one, so raw() always ends in CRLF.
        if let Some(last) = fields.last_mut() {
            if !last.raw.ends_with(b"\r\n") {
                last.raw.extend_from_slice(b"\r\n");
            }
        }
        Ok(RawMessage {
            fields,
            body: message[body_start..].to_vec(),
        })
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

/// The name of a field line: printable ASCII except ':' up to the colon,
/// optionally followed by white space before it (RFC 5322 obs-optional).
fn field_name(line: &[u8]) -> Option<String> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    let trimmed_len = name
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    let name = &name[..trimmed_len];
    if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
        return None;
    }
    String::from_utf8(name.to_vec()).ok()
}

fn not_a_field(line_no: usize, line: &[u8]) -> anyhow::Error {
    let text = String::from_utf8_lossy(line);
    let mut shown: String = text.trim_end().chars().take(60).collect();
    if text.trim_end().chars().count() > 60 {
        shown.push('…');
    }
    if line.starts_with(b"From ") {
        return fail_hint(
            Exit::DataErr,
            format!("malformed message: line {line_no} is not a header field: {shown:?}"),
            "this looks like an mbox file; give one message without its 'From ' line",
        );
    }
    fail(
        Exit::DataErr,
        format!("malformed message: line {line_no} is not a header field: {shown:?}"),
    )
}

/// A message taken apart for encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The header fields that stay outside the encryption, in their original
    /// order and bytes: everything except `Content-*`, `MIME-Version`, `Bcc`
    /// and `Resent-Bcc`.
    pub outer: Vec<HeaderField>,
    /// The MIME entity to encrypt: the `Content-*` fields in their original
    /// order and bytes (an explicit `Content-Type: text/plain;
    /// charset=us-ascii` first if there is no Content-Type), a blank line,
    /// and the body, byte for byte. CRLF line endings.
    pub inner: Vec<u8>,
}

/// The Content-Type a message without one has (RFC 2045 section 5.2).
const DEFAULT_CONTENT_TYPE: &[u8] = b"Content-Type: text/plain; charset=us-ascii\r\n";

/// Splits a message into outer headers and the inner MIME entity (see
/// [`Split`]). No `Bcc` or `Resent-Bcc` field goes into either part.
/// Bare-LF input is converted to CRLF first ([`to_crlf`]).
pub fn split_for_encryption(message: &[u8]) -> anyhow::Result<Split> {
    let raw = RawMessage::parse(message)?;
    let mut outer = Vec::new();
    let mut content = Vec::new();
    for field in raw.fields {
        if field.is_bcc() || field.is("MIME-Version") {
            continue;
        }
        if field.is_content() {
            content.push(field);
        } else {
            outer.push(field);
        }
    }
    let mut inner = Vec::with_capacity(raw.body.len() + 256);
    if !content.iter().any(|f| f.is("Content-Type")) {
        inner.extend_from_slice(DEFAULT_CONTENT_TYPE);
    }
    for field in &content {
        inner.extend_from_slice(field.raw());
    }
    inner.extend_from_slice(b"\r\n");
    inner.extend_from_slice(&raw.body);
    Ok(Split { outer, inner })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;

    const MULTIPART: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: bob@example.net\r\n\
Bcc: secret@example.com,\r\n\
\x20other-secret@example.com\r\n\
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\
\x20folded part\r\n\
MIME-Version: 1.0\r\n\
Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
Content-Type: multipart/mixed;\r\n\
\tboundary=\"b1\"\r\n\
Message-ID: <id1@example.org>\r\n\
X-Custom :  spaced\r\n\
Resent-Bcc: hidden@example.com\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
preamble\r\n\
--b1\r\n\
Content-Type: text/plain\r\n\
\r\n\
Bcc: this line is body text and stays\r\n\
--b1\r\n\
Content-Type: application/octet-stream\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAEC/w==\r\n\
--b1--\r\n\
epilogue without final newline";

    fn names(fields: &[HeaderField]) -> Vec<&str> {
        fields.iter().map(HeaderField::name).collect()
    }

    #[test]
    fn crlf_conversion() {
        assert!(matches!(to_crlf(b"a\r\nb\r\n"), Cow::Borrowed(_)));
        assert_eq!(&*to_crlf(b"\na\nb\r\nc\n"), b"\r\na\r\nb\r\nc\r\n");
        assert_eq!(&*to_crlf(b"a\rb"), b"a\rb", "lone CR is left alone");
    }

    #[test]
    fn fields_keep_their_bytes_and_folding() {
        let raw = RawMessage::parse(MULTIPART).unwrap();
        assert_eq!(raw.fields.len(), 11);
        let subject = raw.fields.iter().find(|f| f.is("subject")).unwrap();
        assert_eq!(
            subject.raw(),
            b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n folded part\r\n"
        );
        assert_eq!(
            subject.raw_value(),
            b" =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n folded part"
        );
        let custom = raw.fields.iter().find(|f| f.is("x-custom")).unwrap();
        assert_eq!(custom.name(), "X-Custom");
        assert_eq!(custom.raw(), b"X-Custom :  spaced\r\n");
        assert!(raw.body.starts_with(b"preamble\r\n--b1\r\n"));
        assert!(raw.body.ends_with(b"epilogue without final newline"));
    }

    #[test]
    fn split_puts_content_fields_inside_and_drops_bcc() {
        let split = split_for_encryption(MULTIPART).unwrap();
        assert_eq!(
            names(&split.outer),
            ["From", "To", "Subject", "Date", "Message-ID", "X-Custom"]
        );
        let body_at = MULTIPART.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let mut expected = b"Content-Type: multipart/mixed;\r\n\tboundary=\"b1\"\r\n\
Content-Transfer-Encoding: 7bit\r\n\r\n"
            .to_vec();
        expected.extend_from_slice(&MULTIPART[body_at..]);
        assert_eq!(
            String::from_utf8_lossy(&split.inner),
            String::from_utf8_lossy(&expected)
        );
        assert_eq!(split.inner, expected, "body byte-exact");

        let outer: Vec<u8> = split.outer.iter().flat_map(|f| f.raw().to_vec()).collect();
        let outer = String::from_utf8(outer).unwrap().to_ascii_lowercase();
        assert!(!outer.contains("bcc"), "{outer}");
        assert!(
            !outer.contains("secret") && !outer.contains("hidden"),
            "{outer}"
        );
        let inner_head = String::from_utf8_lossy(
            &split.inner[..split.inner.len() - (MULTIPART.len() - body_at)],
        )
        .to_ascii_lowercase();
        assert!(!inner_head.contains("bcc"), "{inner_head}");
        assert!(!inner_head.contains("mime-version"), "{inner_head}");
    }

    #[test]
    fn message_without_content_fields_gets_explicit_text_plain() {
        let split = split_for_encryption(b"From: a@example.org\nBcc: b@example.org\n\nhi\nthere\n")
            .unwrap();
        assert_eq!(names(&split.outer), ["From"]);
        assert_eq!(
            split.inner,
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\nhi\r\nthere\r\n"
        );
        assert_eq!(split.outer[0].raw(), b"From: a@example.org\r\n");

        // A Content-Transfer-Encoding alone still gets the explicit type.
        let split = split_for_encryption(
            b"From: a@x.org\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xc3\xbc",
        )
        .unwrap();
        assert_eq!(
            split.inner,
            b"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xc3\xbc"
        );
    }

    #[test]
    fn composed_message_splits_into_a_parseable_entity() {
        use crate::smime::message::{Attachment, Compose, Mailbox};
        use mail_parser::{MessageParser, MimeHeaders};

        let mut c = Compose::new(
            Mailbox::parse("alice@example.org").unwrap(),
            time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        );
        c.to = vec![Mailbox::parse("bob@example.net").unwrap()];
        c.bcc = vec![Mailbox::parse("Secret Sam <sam@example.com>").unwrap()];
        c.subject = Some("Grüße".into());
        c.body = "hello\n".into();
        c.attachments
            .push(Attachment::new("a.bin", None, vec![1, 2, 3]).unwrap());
        let composed = c.build().unwrap();
        let split = split_for_encryption(&composed.bytes).unwrap();

        assert_eq!(
            names(&split.outer),
            ["From", "To", "Subject", "Date", "Message-ID"]
        );
        let everything = [
            split.outer.iter().flat_map(|f| f.raw().to_vec()).collect(),
            split.inner.clone(),
        ]
        .concat();
        let everything = String::from_utf8(everything).unwrap();
        assert!(
            !everything.contains("sam@") && !everything.contains("Sam"),
            "{everything}"
        );

        // The inner entity is the composed message minus its header section,
        // plus the Content-Type field: byte for byte.
        let body_at = composed
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + 4;
        assert!(split.inner.ends_with(&composed.bytes[body_at..]));
        let entity = MessageParser::new().parse(&split.inner).unwrap();
        assert_eq!(entity.content_type().unwrap().subtype(), Some("mixed"));
        assert_eq!(entity.body_text(0).unwrap(), "hello\r\n");
        assert_eq!(entity.attachment(0).unwrap().contents(), &[1, 2, 3]);
    }

    #[test]
    fn headers_only_and_malformed_messages() {
        let raw = RawMessage::parse(b"From: a@example.org").unwrap();
        assert_eq!(raw.fields[0].raw(), b"From: a@example.org\r\n");
        assert!(raw.body.is_empty());

        for bad in [
            &b""[..],
            b"\r\nbody",
            b" continuation first: x\r\n\r\n",
            b"From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\n\n",
            b"From: a@example.org\r\nnot a header\r\n\r\n",
            b"Bad Name: x\r\n\r\n",
        ] {
            let err = RawMessage::parse(bad).unwrap_err();
            assert_eq!(
                classify(&err).0,
                Exit::DataErr,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
