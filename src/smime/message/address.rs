//! Mailboxes: `Name <local@domain>` or a bare `local@domain`, and the
//! addresses that may be written into an SMTP command.
//!
//! There is one address validator here, [`normalize_address`], and every
//! address sealpost uses passes it, whatever its source: header fields,
//! command-line arguments, member files, member lists from a group server,
//! certificates. It accepts an RFC 5321 `Mailbox` (§4.1.2: a dot-string or
//! quoted-string local part; a domain of letter-digit-hyphen labels or an
//! address literal), with UTF-8 allowed as in RFC 6531, at most 254 octets
//! (a path is at most 256 with its angle brackets, §4.5.3.1.3). That is
//! stricter than the RFC 5322 `addr-spec`, on purpose: an address that a
//! header may carry but an SMTP command may not would be accepted on the way
//! in and refused (or, worse, written) on the way out. No control character,
//! space outside a quoted local part, or angle bracket gets through, so an
//! address can never end an SMTP command line early (CR LF injection).
//!
//! Addresses are normalised by lowercasing the domain; the local part is kept
//! as written, since only the receiving domain may decide whether it is
//! case-sensitive.
//!
//! [`SmtpAddress`] is what the SMTP writers take: a live session
//! ([`crate::mail::smtp`]) and Batch SMTP ([`crate::smime::bsmtp`]) build `MAIL FROM` and
//! `RCPT TO` only from it, and it can only be made by the validator.

use std::fmt;

use crate::error::{fail, fail_hint, Exit};

/// One mailbox: an optional display name and a normalised address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// The display name, decoded (no quotes, no encoded words).
    pub name: Option<String>,
    /// The address, `local@domain`, domain lowercased.
    pub address: String,
}

impl Mailbox {
    /// A mailbox from an already separated name and address; validates and
    /// normalises the address. An empty name counts as none.
    pub fn new(name: Option<&str>, address: &str) -> anyhow::Result<Mailbox> {
        let address = normalize_address(address)?;
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = name {
            if n.chars().any(|c| c.is_control() && c != '\t') {
                return Err(fail(
                    Exit::DataErr,
                    format!(
                        "invalid display name {n:?} for {address}: it contains a control character"
                    ),
                ));
            }
        }
        Ok(Mailbox {
            name: name.map(str::to_owned),
            address,
        })
    }

    /// Parses one mailbox as typed by a person: `Name <addr>`,
    /// `"Last, First" <addr>`, `<addr>` or a bare `addr`.
    /// Fails with [`Exit::DataErr`] naming the input.
    pub fn parse(input: &str) -> anyhow::Result<Mailbox> {
        let text = input.trim();
        let bad = |why: &str| fail(Exit::DataErr, format!("invalid address {text:?}: {why}"));
        if text.is_empty() {
            return Err(fail(Exit::DataErr, "invalid address \"\": it is empty"));
        }
        if text.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad("it contains a control character"));
        }
        if let Some(inner) = text.strip_suffix('>') {
            let open = last_unquoted(inner, '<').ok_or_else(|| bad("'>' without '<'"))?;
            let (name, addr) = (inner[..open].trim(), inner[open + 1..].trim());
            if addr.contains(['<', '>']) {
                return Err(bad("unbalanced angle brackets"));
            }
            let name = parse_display_name(name).map_err(|why| bad(&why))?;
            let address = addr_spec(addr).map_err(|why| bad(&why))?;
            return Ok(Mailbox { name, address });
        }
        if text.contains(['<', '>']) {
            return Err(bad("unbalanced angle brackets"));
        }
        let address = normalize_address(text)?;
        Ok(Mailbox {
            name: None,
            address,
        })
    }

    /// Parses a comma-separated list of mailboxes (commas inside quotes or
    /// angle brackets do not separate). Empty items are skipped, but the list
    /// as a whole must name at least one mailbox.
    pub fn parse_list(input: &str) -> anyhow::Result<Vec<Mailbox>> {
        let mut out = Vec::new();
        for item in split_list(input) {
            if item.trim().is_empty() {
                continue;
            }
            out.push(Mailbox::parse(item).map_err(|e| {
                if item.contains(['<', '@']) {
                    return e;
                }
                let hint =
                    "quote display names that contain commas: '\"Doe, Jane\" <jane@example.org>'";
                fail_hint(Exit::DataErr, e.to_string(), hint)
            })?);
        }
        if out.is_empty() {
            return Err(fail(
                Exit::DataErr,
                format!(
                    "invalid address list {:?}: it names no address",
                    input.trim()
                ),
            ));
        }
        Ok(out)
    }

    /// The (lowercased) domain part of the address.
    pub fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or_default()
    }
}

/// `Name <addr>` with the name quoted when it needs to be, or just `addr`.
/// Meant for people and JSON; headers are written by mail-builder.
impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            None => f.write_str(&self.address),
            Some(name) if name.chars().all(|c| is_atext(c) || c == ' ') => {
                write!(f, "{name} <{}>", self.address)
            }
            Some(name) => {
                f.write_str("\"")?;
                for c in name.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                write!(f, "\" <{}>", self.address)
            }
        }
    }
}

/// An address that may be written into an SMTP command: it passed
/// [`normalize_address`]'s checks (kept as given, not normalised).
///
/// NOTE: the field is private and the only constructor validates, so an
/// SMTP writer that takes `SmtpAddress` cannot be handed an address that
/// would inject a line into its command stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmtpAddress(String);

impl SmtpAddress {
    /// Validates `addr` as an RFC 5321 mailbox. Fails with
    /// [`Exit::DataErr`] naming the address (escaped) and what is wrong.
    pub fn parse(addr: &str) -> anyhow::Result<SmtpAddress> {
        addr_spec(addr).map_err(|why| invalid(addr, &why))?;
        Ok(SmtpAddress(addr.to_owned()))
    }

    /// A reverse-path (`MAIL FROM`): empty is the null path `<>` (bounces).
    pub fn parse_reverse_path(addr: &str) -> anyhow::Result<Option<SmtpAddress>> {
        if addr.is_empty() {
            return Ok(None);
        }
        SmtpAddress::parse(addr).map(Some)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SmtpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates an address and returns it with the domain lowercased.
/// Fails with [`Exit::DataErr`] naming the address and what is wrong with it.
pub fn normalize_address(addr: &str) -> anyhow::Result<String> {
    addr_spec(addr).map_err(|why| invalid(addr, &why))
}

fn invalid(addr: &str, why: &str) -> anyhow::Error {
    // Debug formatting escapes control characters: the error stays one line.
    fail(Exit::DataErr, format!("invalid address {addr:?}: {why}"))
}

/// An RFC 5321 mailbox is at most this long (a path, with its angle
/// brackets, at most 256 octets: RFC 5321 §4.5.3.1.3).
const MAX_ADDRESS_LEN: usize = 254;

/// The normalised address, or what is wrong with it.
fn addr_spec(addr: &str) -> Result<String, String> {
    let (local, domain) = addr.rsplit_once('@').ok_or("no '@' in it")?;
    check_local(local)?;
    check_domain(domain)?;
    if addr.len() > MAX_ADDRESS_LEN {
        return Err(format!("it is longer than {MAX_ADDRESS_LEN} bytes"));
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// RFC 5321 `atext`, and RFC 6531 `UTF8-non-ascii` except white space and
/// control characters (NEL, LINE SEPARATOR and the like end lines too).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || is_utf8_text(c)
}

fn is_utf8_text(c: char) -> bool {
    !c.is_ascii() && !c.is_control() && !c.is_whitespace()
}

fn check_local(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("the part before '@' is empty".into());
    }
    if local.len() > 64 {
        return Err("the part before '@' is longer than 64 bytes".into());
    }
    if let Some(quoted) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        // RFC 5321 qtextSMTP and quoted-pairSMTP (%d92 %d32-126): a
        // backslash escapes a printable character, never a line break.
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    None => return Err("the quoted local part ends in a backslash".into()),
                    Some(' '..='~') => {}
                    Some(_) => {
                        return Err(
                            "a backslash before a control character in the local part".into()
                        )
                    }
                },
                '"' => return Err("unescaped '\"' in the quoted local part".into()),
                ' '..='~' => {}
                c if is_utf8_text(c) => {}
                _ => return Err("a control character in the local part".into()),
            }
        }
        return Ok(());
    }
    for atom in local.split('.') {
        if atom.is_empty() {
            return Err("the part before '@' has an empty dot-separated element".into());
        }
        if let Some(c) = atom.chars().find(|&c| !is_atext(c)) {
            return Err(format!("{c:?} is not allowed before '@' unless quoted"));
        }
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("the domain after '@' is empty".into());
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return check_address_literal(literal);
    }
    if domain.len() > 253 {
        return Err("the domain is longer than 253 bytes".into());
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(format!("the domain {domain:?} has an empty label"));
        }
        if label.len() > 63 {
            return Err(format!("a label of {domain:?} is longer than 63 bytes"));
        }
        if let Some(c) = label.chars().find(|&c| !(c.is_alphanumeric() || c == '-')) {
            return Err(format!("{c:?} is not allowed in the domain"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("a label of {domain:?} starts or ends with '-'"));
        }
    }
    Ok(())
}

/// RFC 5321 §4.1.3: `[192.0.2.1]`, `[IPv6:2001:db8::1]`, or a
/// standardised tag and printable ASCII (`dcontent`).
fn check_address_literal(literal: &str) -> Result<(), String> {
    let bad = || Err("malformed address literal".to_string());
    if let Some(v6) = literal.strip_prefix("IPv6:") {
        return match v6.parse::<std::net::Ipv6Addr>() {
            Ok(_) => Ok(()),
            Err(_) => bad(),
        };
    }
    if literal.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(());
    }
    match literal.split_once(':') {
        Some((tag, content))
            if !tag.is_empty()
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !tag.ends_with('-')
                && !content.is_empty()
                && content
                    .bytes()
                    .all(|b| (33..=90).contains(&b) || (94..=126).contains(&b)) =>
        {
            Ok(())
        }
        _ => bad(),
    }
}

/// A display name as typed: `"quoted \"string\""` or plain words.
fn parse_display_name(name: &str) -> Result<Option<String>, String> {
    if name.is_empty() {
        return Ok(None);
    }
    if let Some(quoted) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        let mut out = String::with_capacity(quoted.len());
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(next) => out.push(next),
                    None => return Err("the quoted display name ends in a backslash".into()),
                },
                '"' => return Err("unescaped '\"' inside the quoted display name".into()),
                c => out.push(c),
            }
        }
        let out = out.trim().to_owned();
        return Ok((!out.is_empty()).then_some(out));
    }
    if name.contains('"') {
        return Err("a display name with '\"' must be quoted as a whole".into());
    }
    Ok(Some(name.to_owned()))
}

/// Position of the last `needle` outside double quotes.
fn last_unquoted(text: &str, needle: char) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut found = None;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            c if c == needle && !in_quotes => found = Some(i),
            _ => {}
        }
    }
    found
}

/// Splits at commas outside quotes and angle brackets.
fn split_list(input: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut in_quotes, mut escaped, mut angle) = (false, false, 0usize);
    let mut start = 0;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => angle += 1,
            '>' if !in_quotes => angle = angle.saturating_sub(1),
            ',' if !in_quotes && angle == 0 => {
                items.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&input[start..]);
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;

    fn exit_of(err: &anyhow::Error) -> Exit {
        classify(err).0
    }

    #[test]
    fn bare_and_named_mailboxes() {
        let m = Mailbox::parse("alice@Example.ORG").unwrap();
        assert_eq!(m.name, None);
        assert_eq!(m.address, "alice@example.org");

        let m = Mailbox::parse("  Alice Liddell <Alice@Example.org> ").unwrap();
        assert_eq!(m.name.as_deref(), Some("Alice Liddell"));
        assert_eq!(
            m.address, "Alice@example.org",
            "local part kept, domain lowercased"
        );

        let m = Mailbox::parse("<bob@example.org>").unwrap();
        assert_eq!(m.name, None);

        let m = Mailbox::parse(r#""Doe, \"JD\" Jane" <jane@example.org>"#).unwrap();
        assert_eq!(m.name.as_deref(), Some(r#"Doe, "JD" Jane"#));
        assert_eq!(m.to_string(), r#""Doe, \"JD\" Jane" <jane@example.org>"#);

        let m = Mailbox::parse("Jörg Müller <jörg@bücher.example>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Jörg Müller"));
        assert_eq!(m.domain(), "bücher.example");
    }

    #[test]
    fn invalid_addresses_are_data_errors_naming_the_input() {
        for bad in [
            "alice",
            "alice@",
            "@example.org",
            "al ice@example.org",
            "alice@exa mple.org",
            "alice@example..org",
            "alice@-example.org",
            "a..b@example.org",
            "Alice <alice@example.org",
            "Alice alice@example.org>",
            "Al\"ice <alice@example.org>",
            "alice@example.org\r\nBcc: evil@example.org",
            "",
        ] {
            let err = Mailbox::parse(bad).unwrap_err();
            assert_eq!(exit_of(&err), Exit::DataErr, "{bad:?}");
            assert!(
                err.to_string().contains(&format!("{:?}", bad.trim())),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn quoted_local_parts_and_domain_literals() {
        assert_eq!(
            normalize_address("\"john doe\"@EXAMPLE.org").unwrap(),
            "\"john doe\"@example.org"
        );
        assert!(normalize_address("user@[192.0.2.1]").is_ok());
        assert!(normalize_address(r#""a\"b"@example.org"#).is_ok());
        assert!(normalize_address(r#""a"b"@example.org"#).is_err());
        assert!(normalize_address(r#""ab\"@example.org"#).is_err());
        assert!(normalize_address("user@[192.0.2.1").is_err());
    }

    /// Issue #11, item 1: nothing that ends or splits an SMTP command line
    /// passes, however it is wrapped (an escaped CR in a quoted local part
    /// was accepted before).
    #[test]
    fn no_address_can_break_an_smtp_command_line() {
        for bad in [
            "a@example.org\r\nRCPT TO:<x@example.net>",
            "\"a\\\rRCPT TO:<x@example.net>\"@example.org",
            "\"a\\\n\"@example.org",
            "\"a\r\"@example.org",
            "a@[1.2.3.4\r\n]",
            "a\u{85}b@example.org",
            "a\u{2028}b@example.org",
            "a@exa\u{2029}mple.org",
            "\"a\\\u{0}\"@example.org",
            "a>@example.org",
            "<a@example.org",
        ] {
            assert!(normalize_address(bad).is_err(), "{bad:?}");
            let err = SmtpAddress::parse(bad).unwrap_err();
            assert_eq!(exit_of(&err), Exit::DataErr, "{bad:?}");
            assert!(!err.to_string().contains(['\r', '\n']), "{err}");
        }
    }

    #[test]
    fn rfc_5321_mailboxes_pass_and_keep_their_spelling() {
        for good in [
            "Alice@Example.ORG",
            "\"john doe\"@example.org",
            "\"a\\\"b\"@example.org",
            "user@[192.0.2.1]",
            "user@[IPv6:2001:db8::1]",
            "user@[x-tag:printable]",
            "jörg@bücher.example",
        ] {
            assert_eq!(SmtpAddress::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "user@[a]",
            "user@[IPv6:zz]",
            "user@[tag-:x]",
            "user@[tag:]",
            "user@[t:a b]",
        ] {
            assert!(SmtpAddress::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@{}.example", "a".repeat(64), "b".repeat(63));
        assert!(SmtpAddress::parse(&long).is_ok());
        let too_long = format!(
            "{}@{}.example",
            "a".repeat(64),
            vec!["b".repeat(63); 3].join(".")
        );
        assert!(too_long.len() > 254);
        assert!(SmtpAddress::parse(&too_long).is_err());
        assert_eq!(SmtpAddress::parse_reverse_path("").unwrap(), None);
    }

    #[test]
    fn lists_split_outside_quotes_and_brackets() {
        let list = Mailbox::parse_list(
            r#"a@example.org, "Doe, Jane" <jane@example.org>,, <b@example.org>"#,
        )
        .unwrap();
        let addrs: Vec<_> = list.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(
            addrs,
            ["a@example.org", "jane@example.org", "b@example.org"]
        );
        assert_eq!(list[1].name.as_deref(), Some("Doe, Jane"));

        let err = Mailbox::parse_list("Doe, Jane <jane@example.org>").unwrap_err();
        assert!(err.to_string().contains("\"Doe\""), "{err}");
        assert!(Mailbox::parse_list(" , ").is_err());
    }
}
