//! Names on a certification path: comparing distinguished names as RFC
//! 5280 §7.1 asks (string attributes case-folded, white space collapsed,
//! any string type), and name constraints (§4.2.1.10) for directory names,
//! rfc822Name, dNSName and URIs.

use const_oid::db::rfc3280::EMAIL_ADDRESS;
use der::{Tag, Tagged};
use x509_cert::ext::pkix::constraints::name::GeneralSubtrees;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// One attribute of a name, normalized.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Attr {
    oid: Vec<u8>,
    value: Vec<u8>,
}

/// The string of a directory string attribute, if it is one.
fn attr_string(value: &der::Any) -> Option<String> {
    let bytes = value.value();
    match value.tag() {
        Tag::PrintableString | Tag::Utf8String | Tag::Ia5String | Tag::TeletexString => {
            String::from_utf8(bytes.to_vec()).ok()
        }
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// RFC 4518 in short: case folded, inner white space one space, no leading
/// or trailing white space.
fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A name as a sequence of RDNs, each a sorted set of normalized attributes.
type Normal = Vec<Vec<Attr>>;

fn normalize(name: &Name) -> Normal {
    name.0
        .iter()
        .map(|rdn| {
            let mut attrs: Vec<Attr> = rdn
                .0
                .iter()
                .map(|atv| Attr {
                    oid: atv.oid.as_bytes().to_vec(),
                    value: match attr_string(&atv.value) {
                        Some(s) => fold(&s).into_bytes(),
                        None => [&[0xff][..], atv.value.value()].concat(),
                    },
                })
                .collect();
            attrs.sort();
            attrs
        })
        .collect()
}

/// A name made ready for comparing with [`same`]'s rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Normalized(Normal);

pub(super) fn normalized(name: &Name) -> Normalized {
    Normalized(normalize(name))
}

/// Whether two names are the same name.
pub(super) fn same(a: &Name, b: &Name) -> bool {
    normalize(a) == normalize(b)
}

/// The e-mail addresses of a certificate's subject: emailAddress attributes.
pub(super) fn subject_emails(name: &Name) -> Vec<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == EMAIL_ADDRESS)
        .filter_map(|atv| attr_string(&atv.value))
        .collect()
}

/// The names a certificate presents to name constraints.
pub(super) struct Presented<'a> {
    pub subject: &'a Name,
    pub alt_names: Vec<GeneralName>,
}

/// Checks `names` against one CA's constraints: `true` when allowed.
pub(super) fn allowed(
    names: &Presented<'_>,
    permitted: Option<&GeneralSubtrees>,
    excluded: Option<&GeneralSubtrees>,
) -> bool {
    let mut presented: Vec<GeneralName> = names.alt_names.clone();
    if !names.subject.0.is_empty() {
        presented.push(GeneralName::DirectoryName(names.subject.clone()));
    }
    for email in subject_emails(names.subject) {
        if let Ok(s) = der::asn1::Ia5String::new(&email) {
            presented.push(GeneralName::Rfc822Name(s));
        }
    }
    for name in &presented {
        if let Some(excluded) = excluded {
            if excluded
                .iter()
                .any(|t| matches(name, &t.base) == Some(true))
            {
                return false;
            }
        }
        if let Some(permitted) = permitted {
            let same_type: Vec<Option<bool>> =
                permitted.iter().map(|t| matches(name, &t.base)).collect();
            if same_type.iter().any(Option::is_some) && !same_type.contains(&Some(true)) {
                return false;
            }
        }
    }
    true
}

/// Whether `name` is within `base`; `None` when they are different forms.
fn matches(name: &GeneralName, base: &GeneralName) -> Option<bool> {
    match (name, base) {
        (GeneralName::DirectoryName(n), GeneralName::DirectoryName(b)) => {
            let (n, b) = (normalize(n), normalize(b));
            Some(n.len() >= b.len() && n[..b.len()] == b[..])
        }
        (GeneralName::Rfc822Name(n), GeneralName::Rfc822Name(b)) => {
            Some(email_within(n.as_str(), b.as_str()))
        }
        (GeneralName::DnsName(n), GeneralName::DnsName(b)) => {
            Some(host_within(n.as_str(), b.as_str(), true))
        }
        (GeneralName::UniformResourceIdentifier(n), GeneralName::UniformResourceIdentifier(b)) => {
            Some(uri_host(n.as_str()).is_some_and(|h| host_within(h, b.as_str(), false)))
        }
        (GeneralName::IpAddress(n), GeneralName::IpAddress(b)) => {
            let (n, b) = (n.as_bytes(), b.as_bytes());
            Some(
                b.len() == n.len() * 2
                    && n.iter()
                        .zip(&b[..n.len()])
                        .zip(&b[n.len()..])
                        .all(|((a, net), mask)| a & mask == net & mask),
            )
        }
        (GeneralName::OtherName(_), GeneralName::OtherName(_))
        | (GeneralName::EdiPartyName(_), GeneralName::EdiPartyName(_))
        | (GeneralName::RegisteredId(_), GeneralName::RegisteredId(_)) => Some(false),
        _ => None,
    }
}

/// rfc822Name constraints: a mailbox, a host (`example.com`), or every
/// host of a domain (`.example.com`).
fn email_within(addr: &str, base: &str) -> bool {
    let Some((_, host)) = addr.rsplit_once('@') else {
        return false;
    };
    if base.contains('@') {
        return addr.eq_ignore_ascii_case(base);
    }
    if base.starts_with('.') {
        return ends_with_ignore_case(host, base);
    }
    host.eq_ignore_ascii_case(base)
}

/// dNSName constraints add any number of labels; URI host constraints
/// only with a leading `.`.
fn host_within(host: &str, base: &str, dns: bool) -> bool {
    if base.is_empty() {
        return true;
    }
    if host.eq_ignore_ascii_case(base) && !base.starts_with('.') {
        return true;
    }
    let suffix = if base.starts_with('.') {
        base.to_string()
    } else if dns {
        format!(".{base}")
    } else {
        return false;
    };
    ends_with_ignore_case(host, &suffix)
}

/// `text` is longer than `suffix` and ends with it, ASCII case ignored.
fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    let (t, s) = (text.as_bytes(), suffix.as_bytes());
    t.len() > s.len() && t[t.len() - s.len()..].eq_ignore_ascii_case(s)
}

/// The host of `scheme://host[:port]/…`.
fn uri_host(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(host.split(':').next().unwrap_or(host))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn names_compare_without_case_space_or_string_type() {
        let a = Name::from_str("CN=Good  CA,O=Test Certificates 2011,C=US").unwrap();
        let b = Name::from_str("CN=good ca,O=Test Certificates 2011,C=US").unwrap();
        let c = Name::from_str("CN=Other CA,O=Test Certificates 2011,C=US").unwrap();
        assert!(same(&a, &b));
        assert!(!same(&a, &c));
    }

    #[test]
    fn rfc822_constraints_take_mailboxes_hosts_and_domains() {
        assert!(email_within("alice@example.org", "example.org"));
        assert!(!email_within("alice@mail.example.org", "example.org"));
        assert!(email_within("alice@mail.example.org", ".example.org"));
        assert!(!email_within("alice@example.org", ".example.org"));
        assert!(email_within("Alice@Example.org", "alice@example.org"));
        assert!(!email_within("bob@example.org", "alice@example.org"));
        // Not ASCII: compared as bytes, never sliced inside a character.
        assert!(!email_within("a@é.org", ".example.org"));
        assert!(host_within("www.example.org", "example.org", true));
        assert!(!host_within("www.example.org", "example.org", false));
        assert_eq!(
            uri_host("https://user@Host.example:8443/x"),
            Some("Host.example")
        );
    }
}
