//! Writing the S/MIME (application/pkcs7-mime) message around a CMS payload.

use mail_builder::headers::address::Address;
use mail_builder::headers::Header;

use super::address::Mailbox;
use super::split::HeaderField;

/// The `smime-type` parameter (RFC 8551 section 3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmimeType {
    /// CMS EnvelopedData (e.g. AES-CBC content encryption).
    EnvelopedData,
    /// CMS AuthEnvelopedData (AES-GCM, RFC 5083 / RFC 8551).
    AuthEnvelopedData,
}

impl SmimeType {
    /// `enveloped-data` or `authEnveloped-data`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmimeType::EnvelopedData => "enveloped-data",
            SmimeType::AuthEnvelopedData => "authEnveloped-data",
        }
    }
}

/// Writes one encrypted copy: the outer header fields byte for byte (any
/// `Bcc`, `Resent-Bcc`, `Content-*` or `MIME-Version` among them is skipped),
/// then `Bcc: <bcc>` if given (the one blind recipient of this copy), then
///
/// ```text
/// MIME-Version: 1.0
/// Content-Type: application/pkcs7-mime; smime-type=enveloped-data;
///  name=smime.p7m
/// Content-Transfer-Encoding: base64
/// Content-Disposition: attachment; filename=smime.p7m
/// ```
///
/// a blank line and `der` in base64, 76 columns a line. CRLF throughout.
/// The Content-Type is folded before `name=` to stay within 78 columns.
pub fn write_smime_message(
    outer: &[HeaderField],
    bcc: Option<&Mailbox>,
    der: &[u8],
    smime_type: SmimeType,
) -> Vec<u8> {
    let mut out = smime_headers(outer, bcc, smime_type);
    crate::smime::mime::encode_base64_lines(der, b"\r\n", &mut out);
    out
}

/// The header section of [`write_smime_message`], blank line included: for
/// writers that stream the base64 body themselves.
pub fn smime_headers(
    outer: &[HeaderField],
    bcc: Option<&Mailbox>,
    smime_type: SmimeType,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    for field in outer {
        if field.is_bcc() || field.is_content() || field.is("MIME-Version") {
            continue;
        }
        out.extend_from_slice(field.raw());
    }
    if let Some(m) = bcc {
        out.extend_from_slice(b"Bcc: ");
        Address::new_address(m.name.as_deref(), m.address.as_str()).write_header(&mut out, 5);
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(b"Content-Type: application/pkcs7-mime; smime-type=");
    out.extend_from_slice(smime_type.as_str().as_bytes());
    out.extend_from_slice(b";\r\n name=smime.p7m\r\n");
    out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
    out.extend_from_slice(b"Content-Disposition: attachment; filename=smime.p7m\r\n");
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smime::message::split_for_encryption;
    use mail_parser::{MessageParser, MimeHeaders};

    const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: bob@example.net\r\n\
Bcc: carol@example.com, dave@example.com\r\n\
Subject: folded\r\n\
\x20subject\r\n\
Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
Message-ID: <id@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
hello\r\n";

    fn der() -> Vec<u8> {
        (0..=255u8).cycle().take(1000).collect()
    }

    #[test]
    fn writes_headers_then_base64_payload() {
        let split = split_for_encryption(MESSAGE).unwrap();
        let out = write_smime_message(&split.outer, None, &der(), SmimeType::EnvelopedData);
        let text = String::from_utf8(out.clone()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head,
            "From: Alice <alice@example.org>\r\n\
To: bob@example.net\r\n\
Subject: folded\r\n subject\r\n\
Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
Message-ID: <id@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n name=smime.p7m\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=smime.p7m"
        );
        assert!(!text.to_ascii_lowercase().contains("bcc"));
        let lines: Vec<&str> = body.split_terminator("\r\n").collect();
        assert!(body.ends_with("\r\n"));
        assert!(lines.iter().all(|l| l.len() <= 76));
        assert!(lines[..lines.len() - 1].iter().all(|l| l.len() == 76));
        assert!(!body.replace("\r\n", "").contains(['\r', '\n']));

        let m = MessageParser::new().parse(&out).unwrap();
        let ct = m.content_type().unwrap();
        assert_eq!(
            (ct.ctype(), ct.subtype()),
            ("application", Some("pkcs7-mime"))
        );
        assert_eq!(ct.attribute("smime-type"), Some("enveloped-data"));
        assert_eq!(ct.attribute("name"), Some("smime.p7m"));
        assert_eq!(m.attachment(0).unwrap().contents(), der().as_slice());
        assert_eq!(m.subject(), Some("folded subject"));
    }

    #[test]
    fn per_copy_bcc_names_only_that_recipient() {
        let split = split_for_encryption(MESSAGE).unwrap();
        let carol = Mailbox::parse("Carol Ü <carol@example.com>").unwrap();
        let out = write_smime_message(
            &split.outer,
            Some(&carol),
            b"x",
            SmimeType::AuthEnvelopedData,
        );
        let m = MessageParser::new().parse(&out).unwrap();
        let bcc: Vec<_> = m.bcc().unwrap().iter().collect();
        assert_eq!(bcc.len(), 1);
        assert_eq!(bcc[0].address(), Some("carol@example.com"));
        assert_eq!(bcc[0].name(), Some("Carol Ü"));
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(!text.contains("dave"), "{text}");
        assert_eq!(
            m.content_type().unwrap().attribute("smime-type"),
            Some("authEnveloped-data")
        );
        assert_eq!(text.matches("MIME-Version").count(), 1);
    }

    #[test]
    fn stray_structural_fields_in_outer_are_skipped() {
        let raw = crate::smime::message::RawMessage::parse(MESSAGE).unwrap();
        let out = write_smime_message(&raw.fields, None, b"x", SmimeType::EnvelopedData);
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains("carol") && !text.contains("text/plain"),
            "{text}"
        );
        assert_eq!(text.matches("MIME-Version").count(), 1);
    }
}
