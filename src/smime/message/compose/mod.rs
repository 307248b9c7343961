//! Composing a message from a [`Compose`] spec, with mail-builder.

use std::path::{Path, PathBuf};

use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::text::Text;
use mail_builder::MessageBuilder;
use rand::RngCore;
use time::OffsetDateTime;

use super::address::Mailbox;
use crate::error::{fail, fail_hint, Exit};

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
            builder = builder.header(header.name.as_str(), Text::new(header.value.as_str()));
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

/// One header field given by the user, checked: a valid field name that is
/// not one sealpost sets itself, and a one-line value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraHeader {
    name: String,
    value: String,
}

impl ExtraHeader {
    /// Checks a name and a value. A structural name (From, To, Cc, Bcc,
    /// Reply-To, Subject, Date, Message-ID, MIME-Version, Content-*) fails with
    /// [`Exit::Usage`] and a hint naming the flag that sets it; a malformed
    /// name or a value with a line break or control character fails with
    /// [`Exit::DataErr`]. The value is trimmed; non-ASCII is allowed
    /// (written as RFC 2047 encoded words).
    pub fn new(name: &str, value: &str) -> anyhow::Result<ExtraHeader> {
        if name.is_empty() {
            return Err(fail(Exit::DataErr, "header field name is empty"));
        }
        if let Some(c) = name.chars().find(|&c| !(c.is_ascii_graphic() && c != ':')) {
            return Err(fail(
                Exit::DataErr,
                format!(
                    "invalid header field name {name:?}: {c:?} is not allowed (printable ASCII except ':' only)"
                ),
            ));
        }
        if let Some(flag) = structural(name) {
            return Err(fail_hint(
                Exit::Usage,
                format!("header {name} cannot be set with --header"),
                flag,
            ));
        }
        let value = value.trim();
        if value.contains(['\r', '\n']) {
            return Err(fail(
                Exit::DataErr,
                format!("the value of header {name} contains a line break"),
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(fail(
                Exit::DataErr,
                format!("the value of header {name} contains a control character"),
            ));
        }
        Ok(ExtraHeader {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }

    /// Parses `Name: value` (see [`ExtraHeader::new`]); no colon is a
    /// [`Exit::DataErr`].
    pub fn parse(field: &str) -> anyhow::Result<ExtraHeader> {
        let (name, value) = field.split_once(':').ok_or_else(|| {
            fail_hint(
                Exit::DataErr,
                format!("malformed header {field:?}: no ':' in it"),
                "write it as 'Name: value', e.g. --header 'X-Priority: 1'",
            )
        })?;
        ExtraHeader::new(name, value)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

/// The hint for a header sealpost sets itself, or `None` if the user may set it.
fn structural(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "from" => "use --from",
        "to" => "use --to",
        "cc" => "use --cc",
        "bcc" => "use --bcc",
        "reply-to" => "use --reply-to",
        "subject" => "use --subject",
        "date" | "message-id" => "sealpost writes Date and Message-ID itself",
        "mime-version" => "sealpost writes the MIME structure itself",
        _ if lower.starts_with("content-") => {
            "sealpost writes the MIME structure itself; use --attach FILE;type=TYPE for a content type"
        }
        _ => return None,
    })
}

/// An attachment: file name shown to the recipient, content type, contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// `type/subtype` with optional `; key=value` parameters.
    pub content_type: String,
    pub data: Vec<u8>,
}

impl Attachment {
    /// An attachment with the given content type, or one guessed from the
    /// file name (mime_guess; `application/octet-stream` if unknown). A
    /// guessed `text/*` type gets `charset=utf-8` when the data is non-ASCII
    /// UTF-8. A malformed given type is a [`Exit::DataErr`].
    pub fn new(
        filename: &str,
        content_type: Option<&str>,
        data: Vec<u8>,
    ) -> anyhow::Result<Attachment> {
        if filename.is_empty() || filename.chars().any(char::is_control) {
            return Err(fail(
                Exit::DataErr,
                format!("invalid attachment file name {filename:?}"),
            ));
        }
        let content_type = match content_type {
            Some(given) => {
                let (essence, params) = parse_media_type(given)?;
                format_media_type(&essence, &params)
            }
            None => {
                let guess = mime_guess::from_path(filename).first_or_octet_stream();
                let essence = guess.essence_str().to_owned();
                if essence.starts_with("text/")
                    && !data.is_ascii()
                    && std::str::from_utf8(&data).is_ok()
                {
                    format!("{essence}; charset=utf-8")
                } else {
                    essence
                }
            }
        };
        Ok(Attachment {
            filename: filename.to_owned(),
            content_type,
            data,
        })
    }

    /// Reads the file an [`AttachSpec`] names. A file that cannot be read is
    /// an [`Exit::NoInput`] naming it.
    pub fn from_spec(spec: &AttachSpec) -> anyhow::Result<Attachment> {
        let data = std::fs::read(&spec.path).map_err(|e| {
            fail(
                Exit::NoInput,
                format!("cannot read attachment {}: {e}", spec.path.display()),
            )
        })?;
        let filename = match &spec.name {
            Some(name) => name.clone(),
            None => file_name(&spec.path)?,
        };
        Attachment::new(&filename, spec.content_type.as_deref(), data)
    }

    fn mail_content_type(&self) -> anyhow::Result<ContentType<'_>> {
        let (essence, params) = parse_media_type(&self.content_type)?;
        let mut ct = ContentType::new(essence);
        for (k, v) in params {
            ct = ct.attribute(k, v);
        }
        Ok(ct)
    }
}

fn file_name(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            fail_hint(
                Exit::Usage,
                format!("attachment {} has no file name", path.display()),
                "give one with ;name=NAME",
            )
        })
}

/// The `--attach` argument: `PATH[;type=TYPE][;name=NAME]`.
///
/// The path ends at the first `;type=` or `;name=`; each value runs to the
/// next one of those or the end. So paths and names may contain `:` and `;`
/// freely, but not the exact sequences `;type=` and `;name=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachSpec {
    pub path: PathBuf,
    pub content_type: Option<String>,
    pub name: Option<String>,
}

impl AttachSpec {
    /// Parses the argument; an empty path, an empty or repeated key is an
    /// [`Exit::Usage`], a malformed type an [`Exit::DataErr`].
    pub fn parse(spec: &str) -> anyhow::Result<AttachSpec> {
        const KEYS: [&str; 2] = [";type=", ";name="];
        let next_key = |s: &str| {
            KEYS.iter()
                .filter_map(|k| s.find(k).map(|at| (at, *k)))
                .min_by_key(|(at, _)| *at)
        };
        let usage = |why: String| {
            fail_hint(
                Exit::Usage,
                format!("invalid --attach {spec:?}: {why}"),
                "write --attach 'FILE[;type=TYPE][;name=NAME]'",
            )
        };
        let (path, mut rest) = match next_key(spec) {
            Some((at, _)) => (&spec[..at], &spec[at..]),
            None => (spec, ""),
        };
        if path.is_empty() {
            return Err(usage("no file".into()));
        }
        let (mut content_type, mut name) = (None, None);
        while !rest.is_empty() {
            let key = KEYS.iter().find(|k| rest.starts_with(**k)).copied();
            let key = key.expect("rest always starts with a key");
            let after = &rest[key.len()..];
            let (value, tail) = match next_key(after) {
                Some((at, _)) => (&after[..at], &after[at..]),
                None => (after, ""),
            };
            let slot = if key == ";type=" {
                &mut content_type
            } else {
                &mut name
            };
            let key = &key[1..key.len() - 1];
            if value.trim().is_empty() {
                return Err(usage(format!("empty {key}")));
            }
            if slot.replace(value.to_owned()).is_some() {
                return Err(usage(format!("{key} given twice")));
            }
            rest = tail;
        }
        if let Some(ct) = &content_type {
            parse_media_type(ct)?;
        }
        Ok(AttachSpec {
            path: PathBuf::from(path),
            content_type,
            name,
        })
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// `type/subtype; k=v; k2="v 2"` → (lowercased essence, params).
fn parse_media_type(text: &str) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let bad = |why: &str| {
        fail(
            Exit::DataErr,
            format!("invalid content type {text:?}: {why}"),
        )
    };
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let (ty, sub) = essence
        .split_once('/')
        .ok_or_else(|| bad("expected type/subtype"))?;
    if !is_token(ty) || !is_token(sub) {
        return Err(bad("expected type/subtype"));
    }
    if ty.eq_ignore_ascii_case("multipart") || ty.eq_ignore_ascii_case("message") {
        return Err(bad(
            "multipart and message types cannot be attached as files",
        ));
    }
    let mut params = Vec::new();
    for param in parts {
        let (k, v) = param
            .split_once('=')
            .ok_or_else(|| bad("expected key=value after ';'"))?;
        let (k, v) = (k.trim(), v.trim());
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        if !is_token(k)
            || v.is_empty()
            || v.contains(['"', '\\'])
            || v.chars().any(char::is_control)
        {
            return Err(bad("malformed parameter"));
        }
        params.push((k.to_ascii_lowercase(), v.to_owned()));
    }
    Ok((essence.to_ascii_lowercase(), params))
}

fn format_media_type(essence: &str, params: &[(String, String)]) -> String {
    let mut out = essence.to_owned();
    for (k, v) in params {
        if is_token(v) {
            out.push_str(&format!("; {k}={v}"));
        } else {
            out.push_str(&format!("; {k}=\"{v}\""));
        }
    }
    out
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
    fn structural_and_malformed_headers_are_refused() {
        for name in [
            "From",
            "to",
            "BCC",
            "Date",
            "Message-ID",
            "MIME-Version",
            "Content-Type",
            "content-disposition",
        ] {
            let err = ExtraHeader::new(name, "x").unwrap_err();
            assert_eq!(classify(&err).0, Exit::Usage, "{name}");
        }
        for field in [
            "No colon here",
            "Bad Name: x",
            ": x",
            "X-Ok: a\r\nBcc: evil@example.org",
            "Ünï: x",
        ] {
            let err = ExtraHeader::parse(field).unwrap_err();
            assert_eq!(classify(&err).0, Exit::DataErr, "{field:?}");
        }
        let h = ExtraHeader::parse("In-Reply-To:  <abc@example.org> ").unwrap();
        assert_eq!((h.name(), h.value()), ("In-Reply-To", "<abc@example.org>"));
    }

    #[test]
    fn attach_specs() {
        let s = AttachSpec::parse("dir/a:b;c.bin").unwrap();
        assert_eq!(s.path, PathBuf::from("dir/a:b;c.bin"));
        assert_eq!((s.content_type, s.name), (None, None));

        let s = AttachSpec::parse("x.dat;name=Bericht März.pdf;type=application/pdf").unwrap();
        assert_eq!(s.path, PathBuf::from("x.dat"));
        assert_eq!(s.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(s.name.as_deref(), Some("Bericht März.pdf"));

        let s = AttachSpec::parse("notes;type=text/plain; charset=iso-8859-1").unwrap();
        assert_eq!(
            s.content_type.as_deref(),
            Some("text/plain; charset=iso-8859-1")
        );

        for bad in [";type=text/plain", "x;type=", "x;name=a;name=b"] {
            let err = AttachSpec::parse(bad).unwrap_err();
            assert_eq!(classify(&err).0, Exit::Usage, "{bad:?}");
        }
        let err = AttachSpec::parse("x;type=nonsense").unwrap_err();
        assert_eq!(classify(&err).0, Exit::DataErr);
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
