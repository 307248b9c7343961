//! Composing a message from a [`Compose`] spec, with mail-builder.
//!
//! The spec and the assembly of the message are here; the user's extra
//! header fields, checked, are in `header.rs`, attachments and the
//! `--attach` argument, with their media types, in `attachment.rs`.

mod attachment;
mod header;

pub use attachment::{AttachSpec, Attachment};
pub use header::ExtraHeader;

use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::text::Text;
use mail_builder::MessageBuilder;
use rand::RngCore;
use time::OffsetDateTime;

use super::address::Mailbox;
use crate::error::{fail, Exit};

/// Everything a composed message is made of. The CLI fills it in; tests build
/// it directly. `date` is the clock, passed in.
#[derive(Debug, Clone)]
pub struct Compose {
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Kept as a `Bcc` header in the composed message (see the module docs).
    pub bcc: Vec<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    /// `None` writes no Subject header.
    pub subject: Option<String>,
    /// Written as the Date header, in UTC.
    pub date: OffsetDateTime,
    /// Without angle brackets; `None` generates `<time.random@from-domain>`.
    pub message_id: Option<String>,
    /// Further header fields, in order, after the standard ones.
    pub headers: Vec<ExtraHeader>,
    /// The text/plain body (UTF-8). Line endings are written as CRLF.
    pub body: String,
    /// Each one makes the message multipart/mixed.
    pub attachments: Vec<Attachment>,
}

/// The composed message.
#[derive(Debug, Clone)]
pub struct Composed {
    /// The message, CRLF line endings, 7-bit clean.
    pub bytes: Vec<u8>,
    /// Its Message-ID, without angle brackets.
    pub message_id: String,
}

impl Compose {
    /// A spec with only a sender and a date; fill in the rest.
    pub fn new(from: Mailbox, date: OffsetDateTime) -> Compose {
        Compose {
            from,
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            reply_to: Vec::new(),
            subject: None,
            date,
            message_id: None,
            headers: Vec::new(),
            body: String::new(),
            attachments: Vec::new(),
        }
    }

    /// To, Cc and Bcc recipients in that order, each address once.
    pub fn recipients(&self) -> Vec<&Mailbox> {
        unique(self.to.iter().chain(&self.cc).chain(&self.bcc))
    }

    /// Writes the message: From, Reply-To, To, Cc, Bcc, Subject, Date,
    /// Message-ID, the extra headers, MIME-Version, then a text/plain body, or
    /// multipart/mixed with the body first and the attachments after it.
    ///
    /// Fails with [`Exit::Usage`] when there is no recipient at all, and with
    /// [`Exit::DataErr`] for a subject with a line break, a malformed
    /// Message-ID, or an attachment whose content type is malformed.
    pub fn build(&self) -> anyhow::Result<Composed> {
        if self.recipients().is_empty() {
            return Err(fail(
                Exit::Usage,
                "no recipients: give at least one To, Cc or Bcc address",
            ));
        }
        if let Some(subject) = &self.subject {
            if subject.contains(['\r', '\n']) {
                return Err(fail(Exit::DataErr, "the subject contains a line break"));
            }
        }
        let message_id = match &self.message_id {
            Some(id) => check_message_id(id)?,
            None => generate_message_id(self.from.domain(), self.date),
        };

        let mut builder = MessageBuilder::new().from(to_address(std::slice::from_ref(&self.from)));
        for (name, list) in [
            ("Reply-To", &self.reply_to),
            ("To", &self.to),
            ("Cc", &self.cc),
            ("Bcc", &self.bcc),
        ] {
            if !list.is_empty() {
                builder = builder.header(name, to_address(list));
            }
        }
        if let Some(subject) = &self.subject {
            builder = builder.subject(Text::new(subject.as_str()));
        }
        builder = builder
            .date(Date::new(self.date.unix_timestamp()))
            .message_id(MessageId::new(message_id.as_str()));
        for header in &self.headers {
            builder = builder.header(header.name(), Text::new(header.value()));
        }
        builder = builder.text_body(crlf_text(&self.body));
        for attachment in &self.attachments {
            builder = builder.attachment(
                attachment.mail_content_type()?,
                attachment.filename.as_str(),
                attachment.data.as_slice(),
            );
        }
        let bytes = builder
            .write_to_vec()
            .map_err(|e| fail(Exit::Software, format!("writing the message: {e}")))?;
        Ok(Composed { bytes, message_id })
    }
}

fn to_address(list: &[Mailbox]) -> Address<'_> {
    let items: Vec<Address<'_>> = list
        .iter()
        .map(|m| Address::new_address(m.name.as_deref(), m.address.as_str()))
        .collect();
    match <[_; 1]>::try_from(items) {
        Ok([one]) => one,
        Err(items) => Address::new_list(items),
    }
}

fn unique<'a>(list: impl Iterator<Item = &'a Mailbox>) -> Vec<&'a Mailbox> {
    let mut out: Vec<&Mailbox> = Vec::new();
    for m in list {
        if !out.iter().any(|o| o.address == m.address) {
            out.push(m);
        }
    }
    out
}

/// Bare LF → CRLF, so that whatever encoding mail-builder picks, the body
/// has CRLF line endings.
fn crlf_text(text: &str) -> String {
    let bytes = super::split::to_crlf(text.as_bytes()).into_owned();
    String::from_utf8(bytes).expect("inserting CR keeps UTF-8 valid")
}

fn check_message_id(id: &str) -> anyhow::Result<String> {
    let id = id.trim();
    let id = id
        .strip_prefix('<')
        .and_then(|i| i.strip_suffix('>'))
        .unwrap_or(id);
    let ok = id.split_once('@').is_some_and(|(l, r)| {
        !l.is_empty()
            && !r.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"<>\"\\ ".contains(&b))
            && !r.contains('@')
    });
    if !ok {
        return Err(fail(
            Exit::DataErr,
            format!("invalid Message-ID {id:?}: expected left@right"),
        ));
    }
    Ok(id.to_owned())
}

/// `<unix-time-in-hex>.<128 random bits in hex>@<domain>`, brackets excluded.
fn generate_message_id(domain: &str, date: OffsetDateTime) -> String {
    let mut random = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut random);
    format!(
        "{:x}.{}@{}",
        date.unix_timestamp().max(0),
        hex::encode(random),
        domain
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;
    use mail_parser::{MessageParser, MimeHeaders};

    fn spec() -> Compose {
        let mut c = Compose::new(
            Mailbox::parse("Alice <alice@Example.org>").unwrap(),
            OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        );
        c.to = Mailbox::parse_list("Bob <bob@example.net>").unwrap();
        c.body = "Hello\nworld\n".into();
        c
    }

    #[test]
    fn plain_message_round_trips() {
        let mut c = spec();
        c.cc = Mailbox::parse_list(r#""Doe, Jane" <jane@example.com>, carol@example.com"#).unwrap();
        c.bcc = Mailbox::parse_list("dave@example.com").unwrap();
        c.subject = Some("Grüße – 日本".into());
        c.headers
            .push(ExtraHeader::parse("X-Mailer-Test: yes").unwrap());
        let out = c.build().unwrap();
        let text = String::from_utf8(out.bytes.clone()).unwrap();
        assert!(text.is_ascii(), "{text}");
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in {text:?}"
        );
        assert!(
            out.message_id.ends_with("@example.org"),
            "{}",
            out.message_id
        );

        let m = MessageParser::new().parse(&out.bytes).unwrap();
        assert_eq!(m.subject(), Some("Grüße – 日本"));
        assert_eq!(m.message_id(), Some(out.message_id.as_str()));
        assert_eq!(m.date().unwrap().to_timestamp(), 1_700_000_000);
        let cc: Vec<_> = m.cc().unwrap().iter().collect();
        assert_eq!(cc[0].name(), Some("Doe, Jane"));
        assert_eq!(cc[1].address(), Some("carol@example.com"));
        assert_eq!(
            m.bcc().unwrap().first().unwrap().address(),
            Some("dave@example.com")
        );
        assert_eq!(m.header_raw("X-Mailer-Test").map(str::trim), Some("yes"));
        assert_eq!(m.body_text(0).unwrap(), "Hello\r\nworld\r\n");
    }

    #[test]
    fn recipients_are_unique_and_required() {
        let mut c = spec();
        c.cc = Mailbox::parse_list("bob@example.net, x@example.net").unwrap();
        let r: Vec<_> = c.recipients().iter().map(|m| m.address.as_str()).collect();
        assert_eq!(r, ["bob@example.net", "x@example.net"]);
        c.to.clear();
        c.cc.clear();
        let err = c.build().unwrap_err();
        assert_eq!(classify(&err).0, Exit::Usage);
    }

    #[test]
    fn attachments_make_multipart_mixed() {
        let mut c = spec();
        c.attachments
            .push(Attachment::new("data.bin", None, vec![0, 1, 2, 255]).unwrap());
        c.attachments
            .push(Attachment::new("Grüße.txt", None, "ü\n".as_bytes().to_vec()).unwrap());
        c.attachments.push(
            Attachment::new("x", Some("Application/X-Custom; Foo=bar"), b"abc".to_vec()).unwrap(),
        );
        assert_eq!(c.attachments[1].content_type, "text/plain; charset=utf-8");
        assert_eq!(
            c.attachments[2].content_type,
            "application/x-custom; foo=bar"
        );
        let out = c.build().unwrap();
        let m = MessageParser::new().parse(&out.bytes).unwrap();
        assert_eq!(m.content_type().unwrap().ctype(), "multipart");
        assert_eq!(m.content_type().unwrap().subtype(), Some("mixed"));
        assert_eq!(m.attachment_count(), 3);
        let a = m.attachment(0).unwrap();
        assert_eq!(a.attachment_name(), Some("data.bin"));
        assert_eq!(a.contents(), &[0, 1, 2, 255]);
        assert_eq!(
            m.attachment(1).unwrap().attachment_name(),
            Some("Grüße.txt")
        );
        assert_eq!(m.attachment(1).unwrap().contents(), "ü\n".as_bytes());
        let ct = m.attachment(2).unwrap().content_type().unwrap();
        assert_eq!(ct.attribute("foo"), Some("bar"));
    }

    #[test]
    fn given_message_id_is_checked() {
        let mut c = spec();
        c.message_id = Some("<fixed@example.org>".into());
        assert_eq!(c.build().unwrap().message_id, "fixed@example.org");
        c.message_id = Some("no at sign".into());
        assert_eq!(classify(&c.build().unwrap_err()).0, Exit::DataErr);
    }
}
