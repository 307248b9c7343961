//! The list exploder's decisions, without I/O: what kind of list mail a
//! message is, who the members are (from a member file), and the copies to
//! send, one per member, each naming that member alone.
//!
//! Three ways to explode (see `sealpost explode`):
//!
//! - **relay** (with key deposits too): every member gets the message as it
//!   arrived. The exploder holds no key that opens it.
//! - **rewrap**: the same, with one more recipient entry, the message key
//!   under the group secret (made by the group server, not here).
//! - **reencrypt**: the exploder holds the list's private key, decrypts the
//!   outer layer and encrypts the content again for each member
//!   ([`crate::smime::encrypt::plan_members`]).

use cms::enveloped_data::RecipientInfo;
use x509_cert::Certificate;

use crate::error::{fail, Exit};
use crate::smime::bsmtp::Transaction;
use crate::smime::envelope::{rid_matches, Envelope};
use crate::smime::keyref::{KeyRef, KeyRefKind};
use crate::smime::message::{normalize_address, SmtpAddress};

/// What the exploder found in a message's recipient entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListEntry {
    /// A key transport entry for the group certificate, at this index.
    Group(usize),
    /// A key deposit at this group's server, at this index.
    Deposit(usize),
}

/// The first entry that makes `envelope` mail to the group `group` with
/// certificate `group_cert`: its own entry, else a deposit naming it.
pub fn list_entry(envelope: &Envelope, group: &str, group_cert: &Certificate) -> Option<ListEntry> {
    let infos = envelope.recipient_infos();
    infos
        .iter()
        .position(|ri| matches!(ri, RecipientInfo::Ktri(k) if rid_matches(&k.rid, group_cert)))
        .map(ListEntry::Group)
        .or_else(|| {
            infos
                .iter()
                .position(|ri| {
                    matches!(ri, RecipientInfo::Kekri(k)
                    if KeyRef::from_der(k.kek_id.kek_identifier.as_bytes())
                        .is_some_and(|r| r.kind == KeyRefKind::Deposit && r.group == group))
                })
                .map(ListEntry::Deposit)
        })
}

/// Member addresses from a member file: one address per line; blank lines
/// and lines starting with `#` are ignored; each address once, in order.
/// An invalid address refuses the whole file (naming its line): nothing is
/// sent for a member list that is not what its author meant.
pub fn parse_member_file(text: &str) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let addr = normalize_address(line).map_err(|e| {
            fail(
                Exit::DataErr,
                format!(
                    "member file line {}: {}",
                    n + 1,
                    crate::error::single_line(&e)
                ),
            )
        })?;
        if seen.insert(addr.to_ascii_lowercase()) {
            out.push(addr);
        }
    }
    Ok(out)
}

/// Member addresses as a group server listed them: each once, in order.
/// The server is not trusted to have checked them: an address that is not a
/// valid RFC 5321 mailbox refuses the whole list (naming it), before any
/// copy is written, as an invalid line of a member file does.
pub fn server_member_addresses<'a>(
    listed: impl IntoIterator<Item = &'a str>,
) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for addr in listed {
        SmtpAddress::parse(addr).map_err(|e| {
            crate::error::fail_hint(
                Exit::DataErr,
                format!(
                    "the group server lists a member that cannot be mailed: {}",
                    crate::error::single_line(&e)
                ),
                "remove that member on the server (sealpost group remove-member), or give --members FILE",
            )
        })?;
        if seen.insert(addr.to_ascii_lowercase()) {
            out.push(addr.to_owned());
        }
    }
    Ok(out)
}

/// The members minus the list itself and the message's sender (who wrote
/// it and needs no copy), each once.
pub fn recipients<'a>(members: &'a [String], list: &str, sender: Option<&str>) -> Vec<&'a String> {
    let mut out: Vec<&String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for m in members {
        let skip =
            m.eq_ignore_ascii_case(list) || sender.is_some_and(|s| m.eq_ignore_ascii_case(s));
        if !skip && seen.insert(m.to_ascii_lowercase()) {
            out.push(m);
        }
    }
    out
}

/// A message as an MTA pipes it may start with an mbox `From ` line: that
/// is no header field, and goes.
pub fn strip_mbox_line(message: &[u8]) -> &[u8] {
    if message.starts_with(b"From ") {
        if let Some(end) = message.iter().position(|&b| b == b'\n') {
            return &message[end + 1..];
        }
    }
    message
}

/// One copy per member of `message`, unchanged, from `mail_from`.
pub fn relay_copies(message: &[u8], mail_from: &str, members: &[&String]) -> Vec<Transaction> {
    members
        .iter()
        .map(|m| Transaction {
            mail_from: mail_from.to_string(),
            rcpt_to: vec![(*m).clone()],
            data: message.to_vec(),
        })
        .collect()
}

/// The key naming one member's copy in the outbox: the same message to the
/// same member is queued once, however often the MTA retries.
pub fn copy_key(message: &[u8], member: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"sealpost explode copy\0");
    h.update(message);
    h.update([0]);
    h.update(member.to_ascii_lowercase().as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_files_and_recipients() {
        let members = parse_member_file(
            "# the list\nbob@example.org\n\n  Carol@Example.ORG \nbob@example.org\nlist@example.org\nalice@example.org\n",
        )
        .unwrap();
        assert_eq!(
            members,
            [
                "bob@example.org",
                "Carol@example.org",
                "list@example.org",
                "alice@example.org"
            ]
        );
        let r = recipients(&members, "list@example.org", Some("alice@example.org"));
        assert_eq!(r, [&members[0], &members[1]]);
        let err = parse_member_file("bob@example.org\nnot an address\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn member_lists_refuse_addresses_that_cannot_be_mailed() {
        // A bare CR escaped inside a quoted local part passed before.
        let err =
            parse_member_file("bob@example.org\n\"a\\\rRCPT TO:<x@example.net>\"@example.org\n")
                .unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let listed = [
            "bob@example.org",
            "m@example.org>\r\nRCPT TO:<x@example.net",
        ];
        let err = server_member_addresses(listed).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::DataErr);
        assert!(!err.to_string().contains('\r'), "{err}");
        let ok =
            server_member_addresses(["b@example.org", "B@EXAMPLE.ORG", "c@example.org"]).unwrap();
        assert_eq!(ok, ["b@example.org", "c@example.org"]);
    }

    #[test]
    fn mbox_lines_go_and_copy_keys_differ_per_member() {
        assert_eq!(
            strip_mbox_line(b"From x Mon\nSubject: a\n"),
            b"Subject: a\n"
        );
        assert_eq!(strip_mbox_line(b"Subject: a\n"), b"Subject: a\n");
        assert_ne!(copy_key(b"m", "a@x"), copy_key(b"m", "b@x"));
        assert_eq!(copy_key(b"m", "A@x"), copy_key(b"m", "a@x"));
        assert_ne!(copy_key(b"m", "a@x"), copy_key(b"n", "a@x"));
        let copies = relay_copies(b"msg", "list-bounces@x", &[&"a@x".to_string()]);
        assert_eq!(copies[0].rcpt_to, ["a@x"]);
    }
}
