//! The exploding itself: which mode a message gets ([`ListMail::classify`]),
//! the group server's member list and rewrap ([`Exploder`]), and the copies
//! written to an [`EnvelopeOutput`]: relayed, rewrapped, or re-encrypted to
//! each member's certificate.

use cms::enveloped_data::RecipientInfo;

use crate::error::{fail, Exit};
use crate::group::release::calls::{
    MembersAnswer, MembersPayload, Op, RewrapAnswer, RewrapPayload,
};
use crate::group::release::joined::JoinedGroup;
use crate::group::release::keys::{Caller, KeystoreKeys};
use crate::group::release::with_recipient_added;
use crate::smime::certs::CertInfo;
use crate::smime::decrypt::KeySource;
use crate::smime::encrypt::{EnvelopeOutput, EnvelopeSummary, Options, ReaderCert};
use crate::smime::envelope::{ContentCipher, Envelope, KeyTransport, OwnKey};
use crate::smime::message::RawMessage;
use crate::smime::trust::RecipientRules;
use crate::store::keystore::Keystore;

use super::{list_entry, parse_member_file, server_member_addresses, ListEntry};

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
        // The entry for any of the group's certificates (older ones after
        // a key rotation), else a deposit's.
        let entry = envelope.as_ref().and_then(|e| {
            group
                .certs()
                .find_map(|c| match list_entry(e, &group.name, &c.cert) {
                    Some(ListEntry::Group(i)) => Some(ListEntry::Group(i)),
                    _ => None,
                })
                .or_else(|| list_entry(e, &group.name, &group.cert.cert))
        });
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
    // As `encrypt` does by default: expired and revoked certificates refused.
    let sources = ks.recipient_trust_sources(Vec::new(), true, false)?;
    let rules = RecipientRules {
        inputs: sources.inputs(now),
        require_path: false,
        require_revocation_check: false,
    };
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
            index.encryption_certificates(addr, &rules)
        } else {
            crate::smime::trust::select_recipients(addr, &from_server, &rules)
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
