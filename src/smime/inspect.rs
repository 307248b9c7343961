//! What a message reveals without being decrypted: its algorithms, whom each
//! RecipientInfo names (matched to known certificates where possible), the
//! certificates it carries, its recipient headers, and which identities a
//! copy discloses to its readers beyond the people it was addressed to.
//!
//! A copy's addressees are its visible header addresses (From, To, Cc), its
//! SMTP recipients when known (a Batch SMTP stream, `--rcpt`, an `--outdir`
//! manifest) and the reader: a RecipientInfo naming one of the reader's own
//! certificates is how a Bcc copy reaches its one Bcc recipient, who is no
//! leak to themselves. A RecipientInfo naming a certificate the reader does
//! not know is *unidentified*: it can only be proven to reach beyond the
//! addressees when there are more of them than addressees left unmatched.

use std::collections::HashSet;

use serde::Serialize;

use crate::error::{fail, Exit};
use crate::smime::certs::CertInfo;
use crate::smime::decrypt::cms_payload;
use crate::smime::envelope::{Envelope, RecipientKind};
use crate::smime::keyref::{KeyRef, KeyRefKind};
use crate::smime::message;

/// One RecipientInfo as seen from outside.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientView {
    pub kind: String,
    pub id: String,
    pub algorithm: String,
    /// Addresses of the known certificate it names (empty when unknown).
    pub known_as: Vec<String>,
    pub fingerprint: Option<String>,
    /// It names one of the reader's own certificates: this copy is for them.
    pub reader: bool,
}

/// What one message shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub content_type: String,
    /// enveloped-data, authEnveloped-data, signed-data, or none.
    pub cms_type: Option<String>,
    pub content_cipher: Option<String>,
    pub recipients: Vec<RecipientView>,
    /// Subjects and fingerprints of certificates carried in SignedData.
    pub certificates: Vec<String>,
    pub header_from: Vec<String>,
    pub header_to: Vec<String>,
    pub header_cc: Vec<String>,
    pub header_bcc: Vec<String>,
    /// RCPT TO of this copy, when known.
    pub rcpt_to: Option<Vec<String>>,
    /// Every identity a reader of this copy can see: header addresses and
    /// the holders of the certificates its RecipientInfos name.
    pub disclosed: Vec<String>,
    /// Disclosed identities that are neither in the visible headers nor
    /// among this copy's own recipients (nor the reader): what a Bcc-leaking
    /// client exposes. When unidentified RecipientInfos outnumber the
    /// addressees no known certificate accounts for, those are listed too.
    pub disclosed_beyond_addressees: Vec<String>,
    /// RecipientInfos naming certificates the keystore does not know; each
    /// may be an addressee's or someone else's.
    pub unidentified: Vec<String>,
}

/// The certificates a reader knows: correspondents' and their own.
pub struct Knowledge<'a> {
    pub correspondents: &'a [CertInfo],
    /// The reader's own certificates (keystore identities).
    pub own: &'a [CertInfo],
}

/// Inspects one message (S/MIME MIME message, PEM, or DER/BER).
pub fn inspect(
    data: &[u8],
    knowledge: &Knowledge<'_>,
    rcpt_to: Option<&[String]>,
) -> anyhow::Result<Report> {
    let mut report = Report {
        content_type: String::new(),
        cms_type: None,
        content_cipher: None,
        recipients: Vec::new(),
        certificates: Vec::new(),
        header_from: Vec::new(),
        header_to: Vec::new(),
        header_cc: Vec::new(),
        header_bcc: Vec::new(),
        rcpt_to: rcpt_to.map(|r| r.to_vec()),
        disclosed: Vec::new(),
        disclosed_beyond_addressees: Vec::new(),
        unidentified: Vec::new(),
    };
    if let Some(entity) = crate::smime::mime::Entity::parse(data) {
        report.content_type = entity
            .field("Content-Type")
            .unwrap_or("text/plain")
            .to_string();
        if let Ok(info) = message::parse_message(data) {
            let addrs =
                |l: &[message::Mailbox]| l.iter().map(|m| m.address.clone()).collect::<Vec<_>>();
            report.header_from = vec![info.from.address.clone()];
            report.header_to = addrs(&info.to);
            report.header_cc = addrs(&info.cc);
            report.header_bcc = addrs(&info.bcc);
        }
    } else {
        report.content_type = "(bare CMS)".into();
    }
    if let Some(payload) = cms_payload(data)? {
        let der = crate::smime::envelope::ber::to_der(&payload)?;
        let info = <cms::content_info::ContentInfo as der::Decode>::from_der(&der)
            .map_err(|e| fail(Exit::DataErr, format!("malformed CMS message: {e}")))?;
        if info.content_type == const_oid::db::rfc5911::ID_SIGNED_DATA {
            report.cms_type = Some("signed-data".into());
            let sd: cms::signed_data::SignedData = info
                .content
                .decode_as()
                .map_err(|e| fail(Exit::DataErr, format!("malformed signed-data: {e}")))?;
            for choice in sd.certificates.iter().flat_map(|s| s.0.iter()) {
                if let cms::cert::CertificateChoices::Certificate(c) = choice {
                    let ci = CertInfo::from_cert(c.clone())?;
                    report.certificates.push(format!(
                        "{} {} {}",
                        &ci.fingerprint[..16],
                        ci.emails.join(","),
                        ci.subject
                    ));
                    report.disclosed.extend(ci.emails.iter().cloned());
                }
            }
        } else {
            let envelope = Envelope::parse(&payload)?;
            report.cms_type = Some(
                match envelope.kind() {
                    crate::smime::envelope::EnvelopeKind::Enveloped => "enveloped-data",
                    crate::smime::envelope::EnvelopeKind::AuthEnveloped => "authEnveloped-data",
                }
                .into(),
            );
            report.content_cipher = Some(envelope.content_algorithm());
            let summaries = envelope.recipients();
            for (i, summary) in summaries.iter().enumerate() {
                // A sealpost key reference names a list's key, never a reader.
                if let Some(keyref) = sealpost_keyref(&envelope, i) {
                    let id = match keyref.kind {
                        KeyRefKind::GroupSecret => {
                            format!("group secret {} of group {}", keyref.id_hex(), keyref.group)
                        }
                        KeyRefKind::Deposit => format!(
                            "key deposit {} at the server of group {}",
                            keyref.id_hex(),
                            keyref.group
                        ),
                    };
                    report.recipients.push(RecipientView {
                        kind: summary.kind.to_string(),
                        id,
                        algorithm: summary.algorithm.clone(),
                        known_as: Vec::new(),
                        fingerprint: None,
                        reader: false,
                    });
                    continue;
                }
                let names = |c: &&CertInfo| envelope.recipient_for(&c.cert) == Some(i);
                let own = knowledge.own.iter().find(names);
                let matched = own.or_else(|| knowledge.correspondents.iter().find(names));
                report.recipients.push(RecipientView {
                    kind: summary.kind.to_string(),
                    id: summary
                        .ids
                        .iter()
                        .map(|id| id.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                    algorithm: summary.algorithm.clone(),
                    known_as: matched.map(|c| c.emails.clone()).unwrap_or_default(),
                    fingerprint: matched.map(|c| c.fingerprint.clone()),
                    reader: own.is_some(),
                });
                let shown = &report.recipients[report.recipients.len() - 1];
                match matched {
                    Some(c) => report.disclosed.extend(c.emails.iter().cloned()),
                    None if summary.kind == RecipientKind::Kek => report
                        .disclosed
                        .push(format!("holders of a shared key ({})", shown.id)),
                    None => {
                        let who = format!("unknown certificate ({})", shown.id);
                        report.unidentified.push(who.clone());
                        report.disclosed.push(who);
                    }
                }
            }
        }
    }
    for list in [
        &report.header_from,
        &report.header_to,
        &report.header_cc,
        &report.header_bcc,
    ] {
        report.disclosed.extend(list.iter().cloned());
    }
    dedup_case_insensitive(&mut report.disclosed);
    judge_disclosure(&mut report, rcpt_to.unwrap_or(&[]));
    Ok(report)
}

/// Fills in [`Report::disclosed_beyond_addressees`] from what is disclosed
/// and who the copy is addressed to (see the module doc).
fn judge_disclosure(report: &mut Report, rcpt_to: &[String]) {
    let readers = report
        .recipients
        .iter()
        .filter(|r| r.reader)
        .flat_map(|r| r.known_as.iter());
    let addressed: HashSet<String> = report
        .header_from
        .iter()
        .chain(&report.header_to)
        .chain(&report.header_cc)
        .chain(rcpt_to)
        .chain(readers)
        .map(|a| a.to_ascii_lowercase())
        .collect();
    let unidentified: HashSet<&String> = report.unidentified.iter().collect();
    let mut beyond: Vec<String> = report
        .disclosed
        .iter()
        .filter(|d| !unidentified.contains(d) && !addressed.contains(&d.to_ascii_lowercase()))
        .cloned()
        .collect();
    // Addressees whose certificate no RecipientInfo was matched to: the
    // unidentified RecipientInfos may be theirs, but no more of them.
    let matched: HashSet<String> = report
        .recipients
        .iter()
        .flat_map(|r| r.known_as.iter())
        .map(|a| a.to_ascii_lowercase())
        .collect();
    let unmatched_addressees = addressed.difference(&matched).count();
    if report.unidentified.len() > unmatched_addressees {
        beyond.extend(report.unidentified.iter().cloned());
    }
    report.disclosed_beyond_addressees = beyond;
}

/// The SMTP recipients of a copy that `encrypt --outdir` wrote, from the
/// `manifest.json` beside it; `None` when there is none or it does not list
/// the file (the manifest is only a hint: a missing or foreign one is not an
/// error).
pub fn rcpt_from_manifest(message: &std::path::Path) -> Option<Vec<String>> {
    const MAX_MANIFEST: u64 = 64 << 20;
    let name = message.file_name()?.to_str()?;
    let path = message.parent()?.join("manifest.json");
    let file = std::fs::File::open(path).ok()?;
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_MANIFEST), &mut text).ok()?;
    let manifest: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let entry = manifest["envelopes"]
        .as_array()?
        .iter()
        .find(|e| e["file"].as_str() == Some(name))?;
    entry["rcpt_to"]
        .as_array()?
        .iter()
        .map(|a| a.as_str().map(str::to_string))
        .collect()
}

/// The sealpost key reference of the KEK entry at `index`, if it is one.
fn sealpost_keyref(envelope: &Envelope, index: usize) -> Option<KeyRef> {
    match envelope.recipient_infos().get(index)? {
        cms::enveloped_data::RecipientInfo::Kekri(k) => {
            KeyRef::from_der(k.kek_id.kek_identifier.as_bytes())
        }
        _ => None,
    }
}

fn dedup_case_insensitive(list: &mut Vec<String>) {
    let mut seen = HashSet::new();
    list.retain(|a| seen.insert(a.to_ascii_lowercase()));
}
