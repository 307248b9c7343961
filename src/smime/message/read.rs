//! Reading the envelope-relevant headers of any RFC 5322 message (mail-parser).

use mail_parser::{Address, MessageParser};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::address::Mailbox;
use crate::error::{fail, Exit};

/// What a message says about itself: sender, recipients, subject, date, id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// The one mailbox in From.
    pub from: Mailbox,
    /// Recipients by kind; group members are flattened into the list, empty
    /// groups (`undisclosed-recipients:;`) contribute nothing. Repeated
    /// header fields are merged, in order.
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
    /// Decoded (RFC 2047) and unfolded.
    pub subject: Option<String>,
    /// With the offset the message gave; `None` if absent or unparseable.
    pub date: Option<OffsetDateTime>,
    /// Without angle brackets.
    pub message_id: Option<String>,
}

impl MessageInfo {
    /// To, Cc and Bcc recipients in that order, each address once.
    pub fn recipients(&self) -> Vec<&Mailbox> {
        // A set, not a scan of `out`: a header may list 100,000 addresses.
        let mut seen = std::collections::HashSet::new();
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .filter(|m| seen.insert(m.address.as_str()))
            .collect()
    }
}

/// Parses the header of a message (CRLF or LF): display names, quoted
/// strings, comments, encoded words, folding and groups are handled by
/// mail-parser; every address is then validated and normalised (domain
/// lowercased). A missing From, a From with more than one mailbox, or an
/// invalid address (named in the message) is an [`Exit::DataErr`].
pub fn parse_message(raw: &[u8]) -> anyhow::Result<MessageInfo> {
    let message = MessageParser::new()
        .parse_headers(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or_else(|| fail(Exit::DataErr, "malformed message: no header fields"))?;

    let mut from = mailboxes(
        "From",
        message.header_values("From").filter_map(|v| v.as_address()),
    )?;
    let from = match from.len() {
        1 => from.remove(0),
        0 => return Err(fail(Exit::DataErr, "the message has no From address")),
        n => {
            return Err(fail(
                Exit::DataErr,
                format!("the message's From names {n} mailboxes; sealpost needs exactly one"),
            ))
        }
    };
    let to = mailboxes("To", message.all_to())?;
    let cc = mailboxes("Cc", message.all_cc())?;
    let bcc = mailboxes("Bcc", message.all_bcc())?;
    let date = message.date().and_then(to_offset_datetime);
    Ok(MessageInfo {
        from,
        to,
        cc,
        bcc,
        subject: message.subject().map(str::to_owned),
        date,
        message_id: message.message_id().map(str::to_owned),
    })
}

fn mailboxes<'a, 'x: 'a>(
    field: &str,
    values: impl Iterator<Item = &'a Address<'x>>,
) -> anyhow::Result<Vec<Mailbox>> {
    let mut out = Vec::new();
    for value in values {
        for addr in value.iter() {
            let Some(address) = addr.address() else {
                let shown = addr.name().unwrap_or_default();
                return Err(fail(
                    Exit::DataErr,
                    format!("{field}: invalid address {shown:?}: no '@' in it"),
                ));
            };
            let mailbox = Mailbox::new(addr.name(), address)
                .map_err(|e| fail(Exit::DataErr, format!("{field}: {e}")))?;
            out.push(mailbox);
        }
    }
    Ok(out)
}

fn to_offset_datetime(dt: &mail_parser::DateTime) -> Option<OffsetDateTime> {
    let date =
        Date::from_calendar_date(i32::from(dt.year), Month::try_from(dt.month).ok()?, dt.day)
            .ok()?;
    let time = Time::from_hms(dt.hour, dt.minute, dt.second).ok()?;
    let sign: i32 = if dt.tz_before_gmt { -1 } else { 1 };
    let offset = UtcOffset::from_whole_seconds(
        sign * (i32::from(dt.tz_hour) * 3600 + i32::from(dt.tz_minute) * 60),
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;

    fn addrs(list: &[Mailbox]) -> Vec<&str> {
        list.iter().map(|m| m.address.as_str()).collect()
    }

    #[test]
    fn groups_names_encoded_words_and_folding() {
        let raw = b"From: \"Doe, John\" <John@EXAMPLE.com>\n\
To: Team: a@X.org, \"Q \\\"uote\\\", Esq.\" <b@y.org>;, c@z.org\n\
Cc: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j@x.org>,\n  undisclosed-recipients:;,\n\tlast@Fold.ORG\n\
Bcc: (comment) d@e.org\n\
Date: Mon, 1 Jan 2024 10:00:00 -0230\n\
Message-ID: <abc@def.example>\n\
Subject: =?utf-8?b?R3LDvMOfZQ==?=\n x\n\
\n\
body\n";
        let info = parse_message(raw).unwrap();
        assert_eq!(info.from.name.as_deref(), Some("Doe, John"));
        assert_eq!(info.from.address, "John@example.com");
        assert_eq!(addrs(&info.to), ["a@x.org", "b@y.org", "c@z.org"]);
        assert_eq!(info.to[1].name.as_deref(), Some("Q \"uote\", Esq."));
        assert_eq!(addrs(&info.cc), ["j@x.org", "last@fold.org"]);
        assert_eq!(info.cc[0].name.as_deref(), Some("Jörg Müller"));
        assert_eq!(addrs(&info.bcc), ["d@e.org"]);
        assert_eq!(info.subject.as_deref(), Some("Grüße x"));
        assert_eq!(info.message_id.as_deref(), Some("abc@def.example"));
        let date = info.date.unwrap();
        assert_eq!(date.unix_timestamp(), 1_704_103_200 + 2 * 3600 + 30 * 60);
        assert_eq!(date.offset().whole_minutes(), -150);
        assert_eq!(info.recipients().len(), 6);
    }

    #[test]
    fn crlf_and_lf_give_the_same_answer() {
        let lf = b"From: a@example.org\nTo: b@example.org,\n c@example.org\nSubject: hi\n\nx\n";
        let crlf = super::super::to_crlf(lf).into_owned();
        assert_eq!(parse_message(lf).unwrap(), parse_message(&crlf).unwrap());
        assert_eq!(
            addrs(&parse_message(lf).unwrap().to),
            ["b@example.org", "c@example.org"]
        );
    }

    #[test]
    fn repeated_fields_merge_and_recipients_dedupe() {
        let raw = b"From: a@example.org\r\nTo: b@example.org\r\nTo: c@example.org\r\nCc: b@EXAMPLE.org\r\n\r\n";
        let info = parse_message(raw).unwrap();
        assert_eq!(addrs(&info.to), ["b@example.org", "c@example.org"]);
        let all: Vec<_> = info
            .recipients()
            .iter()
            .map(|m| m.address.as_str())
            .collect();
        assert_eq!(all, ["b@example.org", "c@example.org"]);
        assert_eq!(info.date, None);
        assert_eq!(info.subject, None);
    }

    /// Issue #11, item 7: no input makes a command superlinear. Recipients
    /// were de-duplicated by scanning the list so far: 200,000 addresses in
    /// a header cost 2·10^10 comparisons (minutes); with a set, milliseconds.
    /// The watchdog is generous.
    #[test]
    fn recipients_dedupe_in_linear_time() {
        let many: Vec<Mailbox> = (0..200_000)
            .map(|i| Mailbox::new(None, &format!("u{i}@example.org")).unwrap())
            .collect();
        let info = MessageInfo {
            from: many[0].clone(),
            to: many.clone(),
            cc: many[..10].to_vec(),
            bcc: Vec::new(),
            subject: None,
            date: None,
            message_id: None,
        };
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(info.recipients().len());
        });
        let n = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("de-duplicating 200,000 recipients took more than 20 s");
        assert_eq!(n, 200_000);
    }

    #[test]
    fn bad_senders_and_addresses() {
        for raw in [
            &b"To: b@example.org\r\n\r\n"[..],
            b"From: a@example.org, b@example.org\r\nTo: c@example.org\r\n\r\n",
            b"From: a@example.org\r\nTo: not-an-address\r\n\r\n",
            b"From: a@example.org\r\nCc: x@exa_mple.org\r\n\r\n",
            b"",
        ] {
            let err = parse_message(raw).unwrap_err();
            assert_eq!(
                classify(&err).0,
                Exit::DataErr,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
        let err = parse_message(b"From: a@example.org\r\nTo: not-an-address\r\n\r\n").unwrap_err();
        assert!(
            err.to_string().contains("not-an-address") && err.to_string().contains("To"),
            "{err}"
        );
    }
}
