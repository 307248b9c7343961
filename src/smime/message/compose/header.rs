//! Header fields the user adds with `--header`: a valid field name that is
//! not one sealpost writes itself, and a one-line value.

use crate::error::{fail, fail_hint, Exit};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;

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
}
