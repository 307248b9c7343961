//! The one unbounded thing p12-keystore does besides key derivation:
//! building a certificate chain that never ends when the file's
//! certificates name each other as issuers in a loop.

use der::asn1::{ContextSpecific, ObjectIdentifier};
use der::Decode;

/// A certificate bag as p12-keystore sees it when it builds a chain.
pub(super) struct ChainLink {
    subject: String,
    issuer: String,
    /// Marked trusted (Oracle's trusted key usage): never taken as an issuer.
    trusted: bool,
}

/// Whether p12-keystore's chain building would never end. From a key's
/// certificate it follows "the first untrusted certificate whose subject is
/// this one's issuer" until a self-issued one, pushing a copy of each onto
/// the chain: certificates issued by each other in a circle made it loop
/// for ever, growing memory until the process aborted. Names are compared
/// as that crate compares them (x509-parser's rendering). Linear: each
/// certificate is followed once.
pub(super) fn chain_loops(certs: &[ChainLink]) -> bool {
    let mut first_by_subject = std::collections::HashMap::new();
    for (i, c) in certs.iter().enumerate() {
        if !c.trusted {
            first_by_subject.entry(c.subject.as_str()).or_insert(i);
        }
    }
    // Where the walk goes from certificate i (None: it stops there).
    let next = |i: usize| {
        let issuer = *first_by_subject.get(certs[i].issuer.as_str())?;
        (certs[issuer].issuer != certs[issuer].subject).then_some(issuer)
    };
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        Not,
        OnPath,
        Ends,
    }
    let mut seen = vec![Seen::Not; certs.len()];
    for start in 0..certs.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match seen[i] {
                Seen::Ends => break,
                Seen::OnPath => return true,
                Seen::Not => {
                    seen[i] = Seen::OnPath;
                    path.push(i);
                    at = next(i);
                }
            }
        }
        for i in path {
            seen[i] = Seen::Ends;
        }
    }
    false
}

const ORACLE_TRUSTED_KEY_USAGE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.113894.746875.1.1");
const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// A certificate bag's link, as p12-keystore reads it; `None` if it would
/// not read it (then it refuses the file itself).
pub(super) fn chain_link(bag: &pkcs12::safe_bag::SafeBag) -> Option<ChainLink> {
    let cert_bag = ContextSpecific::<pkcs12::cert_type::CertBag>::from_der(&bag.bag_value).ok()?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(cert_bag.value.cert_value.as_bytes()).ok()?;
    let trusted = bag.bag_attributes.iter().flat_map(|a| a.iter()).any(|a| {
        a.oid == ORACLE_TRUSTED_KEY_USAGE
            && a.values.iter().next().is_some_and(|v| {
                v.decode_as::<ObjectIdentifier>().ok() == Some(ANY_EXTENDED_KEY_USAGE)
            })
    });
    Some(ChainLink {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        trusted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_that_loop_are_found() {
        let link = |subject: &str, issuer: &str, trusted| ChainLink {
            subject: subject.into(),
            issuer: issuer.into(),
            trusted,
        };
        let chain = [
            link("leaf", "ca", false),
            link("ca", "root", false),
            link("root", "root", false),
        ];
        assert!(!chain_loops(&chain));
        let circle = [
            link("leaf", "a", false),
            link("a", "b", false),
            link("b", "a", false),
        ];
        assert!(chain_loops(&circle));
        // A trusted certificate is never taken as an issuer: no loop.
        let trusted = [
            link("leaf", "a", false),
            link("a", "b", false),
            link("b", "a", true),
        ];
        assert!(!chain_loops(&trusted));
        // The first certificate with the subject is the one followed.
        let first = [
            link("leaf", "a", false),
            link("a", "a", false),
            link("a", "leaf", false),
        ];
        assert!(!chain_loops(&first));
        assert!(!chain_loops(&[]));
    }
}
