//! The list exploder: what kind of list mail a message is and so how it is
//! exploded ([`ListMail`]), who the members are (a member file, or the group
//! server through [`Exploder`]), and the copies, one per member, each naming
//! that member alone, written to any [`EnvelopeOutput`] (a Batch SMTP
//! stream, or the outbox through [`OutboxQueue`]).
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
use crate::group::release::calls::{
    MembersAnswer, MembersPayload, Op, RewrapAnswer, RewrapPayload,
};
use crate::group::release::joined::JoinedGroup;
use crate::group::release::keys::{Caller, KeystoreKeys};
use crate::group::release::with_recipient_added;
use crate::mail::outbox::{Entry, Outbox};
use crate::smime::bsmtp::Transaction;
use crate::smime::certs::CertInfo;
use crate::smime::decrypt::KeySource;
use crate::smime::encrypt::{EnvelopeOutput, EnvelopeSummary, Options, ReaderCert};
use crate::smime::envelope::{rid_matches, ContentCipher, Envelope, KeyTransport, OwnKey};
use crate::smime::keyref::{KeyRef, KeyRefKind};
use crate::smime::message::{normalize_address, RawMessage, SmtpAddress};
use crate::store::keystore::Keystore;

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

// ---------------------------------------------------------------------------
// The pipeline: which mode, the members, and the copies
// ---------------------------------------------------------------------------

/// What the caller asked for (`sealpost explode` flags).
#[derive(Clone, Copy, Debug, Default)]
pub struct Wanted {
    pub rewrap: bool,
    pub reencrypt: bool,
    pub pass_through: bool,
}

/// How the copies are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Relay,
    Rewrap,
    Reencrypt,
    /// Not list mail, forwarded as it is.
    PassThrough,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Relay => "relay",
            Mode::Rewrap => "rewrap",
            Mode::Reencrypt => "reencrypt",
            Mode::PassThrough => "pass-through",
        }
    }
}

/// A message as it reached the list, and what kind of list mail it is.
pub struct ListMail<'m> {
    message: &'m [u8],
    envelope: Option<Envelope>,
    /// The own certificate the message is encrypted to (the list's key).
    own: Option<CertInfo>,
    entry: Option<ListEntry>,
    pub mode: Mode,
}

impl<'m> ListMail<'m> {
    /// Decides the mode for `message` (without its mbox line) sent to
    /// `group`, whose own certificates are `own_certs`: what kind of list
    /// mail it is and what was `wanted`. Mail that is not for the group (or,
    /// for re-encryption, the list's key) is refused unless passed through.
    pub fn classify(
        message: &'m [u8],
        group: &JoinedGroup,
        own_certs: &[CertInfo],
        wanted: Wanted,
    ) -> anyhow::Result<ListMail<'m>> {
        let envelope = crate::smime::decrypt::cms_payload(message)
            .ok()
            .flatten()
            .and_then(|p| Envelope::parse(&p).ok());
        let own = envelope.as_ref().and_then(|e| {
            own_certs
                .iter()
                .find(|c| e.recipient_for(&c.cert).is_some())
                .cloned()
        });
        let entry = envelope
            .as_ref()
            .and_then(|e| list_entry(e, &group.name, &group.cert.cert));
        let mode = match (wanted.reencrypt, own.is_some(), entry) {
            (true, true, _) => Mode::Reencrypt,
            (false, _, Some(ListEntry::Group(_))) if wanted.rewrap => Mode::Rewrap,
            (false, _, Some(_)) => Mode::Relay,
            _ if wanted.pass_through => Mode::PassThrough,
            _ => {
                let to_what = if wanted.reencrypt {
                    "the list's own key in this keystore".to_string()
                } else {
                    format!("group {}", group.name)
                };
                return Err(crate::error::fail_hint(
                    Exit::DataErr,
                    format!("refused: the message is not encrypted to {to_what}"),
                    "--pass-through forwards such mail to the members unchanged",
                ));
            }
        };
        Ok(ListMail {
            message,
            envelope,
            own,
            entry,
            mode,
        })
    }

    /// Writes one copy per recipient to `out`, as the mode says: relayed,
    /// rewrapped by the group server, or re-encrypted to each member's
    /// certificate. Returns the members left out (address, why).
    pub fn write_copies(
        &self,
        exploder: &mut Exploder<'_>,
        mail_from: &str,
        recipients: &[&String],
        members: &Members,
        out: &mut dyn EnvelopeOutput,
    ) -> anyhow::Result<Vec<(String, String)>> {
        match self.mode {
            Mode::Relay | Mode::PassThrough => {
                relay(
                    self.message,
                    mail_from,
                    recipients,
                    self.envelope.as_ref(),
                    out,
                )?;
                Ok(Vec::new())
            }
            Mode::Rewrap => {
                let (Some(ListEntry::Group(index)), Some(envelope)) =
                    (self.entry, self.envelope.as_ref())
                else {
                    return Err(fail(Exit::Software, "rewrap without the group's entry"));
                };
                let rewrapped = exploder.rewrap(self.message, envelope, index)?;
                relay(&rewrapped, mail_from, recipients, Some(envelope), out)?;
                Ok(Vec::new())
            }
            Mode::Reencrypt => {
                let envelope = self
                    .envelope
                    .as_ref()
                    .ok_or_else(|| fail(Exit::Software, "reencrypt without an envelope"))?;
                let own = self
                    .own
                    .as_ref()
                    .ok_or_else(|| fail(Exit::Software, "reencrypt without a key"))?;
                let key = exploder.keys.unlock(&own.fingerprint)?;
                let content_key = envelope
                    .find_key(&[OwnKey {
                        cert: &own.cert,
                        key: &key,
                    }])
                    .ok_or_else(|| fail(Exit::Software, "the key matched, then did not"))
                    .and_then(|m| envelope.unwrap_key(&m, &mut rand_core::OsRng))?;
                // The outer layer only: whatever it holds (a signature) stays as it is.
                let inner = zeroize::Zeroizing::new(envelope.decrypt(&content_key)?);
                let (readers, left_out) = member_certs(recipients, members, exploder.ks)?;
                let outer = RawMessage::parse(self.message)?.fields;
                let plan = crate::smime::encrypt::plan_members(
                    outer,
                    mail_from,
                    readers,
                    &Options::default(),
                )?;
                plan.encrypt(
                    &mut &inner[..],
                    Some(inner.len() as u64),
                    out,
                    None,
                    &mut rand_core::OsRng,
                )?;
                Ok(left_out)
            }
        }
    }
}

/// The exploder's keys and its group: what talks to the group server.
pub struct Exploder<'a> {
    pub ks: &'a Keystore,
    pub keys: KeystoreKeys<'a>,
    pub group: &'a JoinedGroup,
    caller: &'a dyn Caller,
}

impl<'a> Exploder<'a> {
    pub fn new(
        ks: &'a Keystore,
        caller: &'a dyn Caller,
        group: &'a JoinedGroup,
    ) -> anyhow::Result<Self> {
        Ok(Exploder {
            ks,
            keys: KeystoreKeys::new(ks, caller, false)?,
            group,
            caller,
        })
    }

    /// The members as the group server lists them now (an authenticated
    /// call, so a removal there takes effect on the next message).
    pub fn server_members(&mut self) -> anyhow::Result<Members> {
        let (identity, key) = self.keys.member_of(self.group)?;
        let (answer, server): (MembersAnswer, _) = crate::group::release::call(
            self.group,
            Op::Members,
            &MembersPayload {},
            &identity.cert.cert,
            &key,
            crate::smime::certs::now() as u64,
            &mut rand_core::OsRng,
        )?;
        self.caller.progress(&format!(
            "{server}: {} member(s) of group {}",
            answer.members.len(),
            self.group.name
        ));
        let addresses = server_member_addresses(answer.members.iter().map(|m| m.address.as_str()))?;
        Ok(Members {
            addresses,
            certificates: answer
                .members
                .into_iter()
                .map(|m| (m.address, m.certificate))
                .collect(),
        })
    }

    /// `message` with one more recipient entry: its key wrapped under the
    /// group's current secret, by the group server.
    fn rewrap(
        &mut self,
        message: &[u8],
        envelope: &Envelope,
        index: usize,
    ) -> anyhow::Result<Vec<u8>> {
        let (identity, key) = self.keys.member_of(self.group)?;
        let (answer, server): (RewrapAnswer, _) = crate::group::release::call(
            self.group,
            Op::Rewrap,
            &RewrapPayload {
                recipient_info: envelope.recipient_info_der(index)?,
            },
            &identity.cert.cert,
            &key,
            crate::smime::certs::now() as u64,
            &mut rand_core::OsRng,
        )?;
        let kekri =
            <RecipientInfo as der::Decode>::from_der(&answer.recipient_info).map_err(|_| {
                fail(
                    Exit::DataErr,
                    format!("{server} answered a malformed entry"),
                )
            })?;
        self.caller.progress(&format!(
            "{server} wrapped the key under group secret {}",
            answer.key_id
        ));
        with_recipient_added(message, kekri)
    }
}

/// The members: addresses, and certificates when the server sent them.
pub struct Members {
    pub addresses: Vec<String>,
    pub certificates: Vec<(String, Vec<u8>)>,
}

impl Members {
    /// The members of a member file (see [`parse_member_file`]).
    pub fn from_file(text: &str) -> anyhow::Result<Members> {
        Ok(Members {
            addresses: parse_member_file(text)?,
            certificates: Vec::new(),
        })
    }
}

/// Each recipient's usable certificates: those the server sent, else the
/// keystore's (`cert import`). A member without one is left out, named
/// with the reason.
#[allow(clippy::type_complexity)]
fn member_certs(
    recipients: &[&String],
    members: &Members,
    ks: &Keystore,
) -> anyhow::Result<(Vec<(String, Vec<ReaderCert>)>, Vec<(String, String)>)> {
    let now = crate::smime::certs::now();
    let index = ks.certificate_index()?;
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    for addr in recipients {
        let from_server: Vec<CertInfo> = members
            .certificates
            .iter()
            .filter(|(a, _)| a.eq_ignore_ascii_case(addr))
            .filter_map(|(_, der)| CertInfo::from_der(der).ok())
            .collect();
        let found = if from_server.is_empty() {
            index.encryption_certificates(addr, now)
        } else {
            crate::smime::certs::select_for_encryption(addr, &from_server, now)
                .map(|v| v.into_iter().cloned().collect())
        };
        match found {
            Ok(list) if !list.is_empty() => out.push((
                (*addr).clone(),
                list.into_iter()
                    .map(|cert| ReaderCert {
                        support: index.support_for(&cert),
                        cert,
                    })
                    .collect(),
            )),
            Ok(_) => left_out.push(((*addr).clone(), "no certificate".to_string())),
            Err(e) => left_out.push(((*addr).clone(), crate::error::single_line(&e))),
        }
    }
    if out.is_empty() {
        return Err(fail(
            Exit::NoUser,
            "no member has a usable certificate to re-encrypt to",
        ));
    }
    Ok((out, left_out))
}

/// Every member gets `message` as it is.
fn relay(
    message: &[u8],
    mail_from: &str,
    recipients: &[&String],
    envelope: Option<&Envelope>,
    out: &mut dyn EnvelopeOutput,
) -> anyhow::Result<()> {
    let cipher = envelope
        .and_then(|e| e.cipher().ok())
        .unwrap_or(ContentCipher::Aes256Cbc);
    for (i, member) in recipients.iter().enumerate() {
        let summary = EnvelopeSummary {
            kind: crate::smime::bcc::EnvelopeKind::Visible,
            mail_from: mail_from.to_string(),
            rcpt_to: vec![(*member).clone()],
            cipher,
            key_transport: KeyTransport::default(),
            recipient_infos: Vec::new(),
            bytes: message.len() as u64,
        };
        out.begin(i, &summary)?;
        out.write(message)?;
        out.end()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Queueing the copies in the outbox
// ---------------------------------------------------------------------------

/// Copies queued in the outbox this many at a time (bounded memory).
const QUEUE_BATCH: usize = 64;

/// Queues each copy in the outbox (fsynced), once: a copy already queued by
/// an earlier run on the same message is not queued again.
pub struct OutboxQueue {
    outbox: Outbox,
    account: String,
    /// The input message: with the member, it names each copy.
    input_hash: String,
    current: Option<(String, Transaction)>,
    batch: Vec<(String, Transaction)>,
    /// Entries queued by this run.
    pub queued: Vec<Entry>,
    /// Copies an earlier run had queued.
    pub already: usize,
    pub count: usize,
    pub bytes: u64,
}

impl OutboxQueue {
    pub fn new(outbox: Outbox, account: &str, message: &[u8]) -> OutboxQueue {
        use sha2::Digest;
        OutboxQueue {
            outbox,
            account: account.to_string(),
            input_hash: hex::encode(sha2::Sha256::digest(message)),
            current: None,
            batch: Vec::new(),
            queued: Vec::new(),
            already: 0,
            count: 0,
            bytes: 0,
        }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Queues what is still batched.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let (new, skipped) =
            self.outbox
                .enqueue_once(&self.account, &self.batch, crate::smime::certs::now())?;
        self.queued.extend(new);
        self.already += skipped;
        self.batch.clear();
        Ok(())
    }
}

impl EnvelopeOutput for OutboxQueue {
    fn begin(&mut self, _index: usize, env: &EnvelopeSummary) -> anyhow::Result<()> {
        self.current = Some((
            copy_key(self.input_hash.as_bytes(), &env.rcpt_to.join(",")),
            Transaction {
                mail_from: env.mail_from.clone(),
                rcpt_to: env.rcpt_to.clone(),
                data: Vec::new(),
            },
        ));
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match &mut self.current {
            Some((_, t)) => {
                t.data.extend_from_slice(data);
                Ok(())
            }
            None => Err(fail(Exit::Software, "write outside a copy")),
        }
    }

    fn end(&mut self) -> anyhow::Result<()> {
        let (key, t) = self
            .current
            .take()
            .ok_or_else(|| fail(Exit::Software, "end outside a copy"))?;
        self.count += 1;
        self.bytes += t.data.len() as u64;
        self.batch.push((key, t));
        if self.batch.len() >= QUEUE_BATCH {
            self.flush()?;
        }
        Ok(())
    }
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
