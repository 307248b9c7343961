//! Mailboxes: `Name <local@domain>` or a bare `local@domain`.
//!
//! Addresses are validated against the RFC 5322 `addr-spec` (dot-atom or
//! quoted-string local part; dot-atom domain or a domain literal), with UTF-8
//! allowed as in RFC 6532. They are normalised by lowercasing the domain; the
//! local part is kept as written, since only the receiving domain may decide
//! whether it is case-sensitive.

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

/// Validates an `addr-spec` and returns it with the domain lowercased.
/// Fails with [`Exit::DataErr`] naming the address and what is wrong with it.
pub fn normalize_address(addr: &str) -> anyhow::Result<String> {
    addr_spec(addr).map_err(|why| fail(Exit::DataErr, format!("invalid address {addr:?}: {why}")))
}

/// The normalised address, or what is wrong with it.
fn addr_spec(addr: &str) -> Result<String, String> {
    let (local, domain) = addr.rsplit_once('@').ok_or("no '@' in it")?;
    check_local(local)?;
    check_domain(domain)?;
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

fn check_local(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("the part before '@' is empty".into());
    }
    if local.len() > 64 {
        return Err("the part before '@' is longer than 64 bytes".into());
    }
    if let Some(quoted) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                // The guard consumes the escaped character.
                '\\' if chars.next().is_none() => {
                    return Err("the quoted local part ends in a backslash".into());
                }
                '"' => return Err("unescaped '\"' in the quoted local part".into()),
                c if c.is_control() => return Err("a control character in the local part".into()),
                _ => {}
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
        if literal.is_empty()
            || literal
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "[]\\".contains(c))
        {
            return Err("malformed domain literal".into());
        }
        return Ok(());
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
