//! What the pipeline writes to and reports: [`EnvelopeOutput`], where the
//! envelopes go one after the other, and [`StreamEncrypted`], what was made.

use super::Envelope;
use crate::error::{fail, Exit};
use crate::smime::bcc::EnvelopeKind;
use crate::smime::envelope::{ContentCipher, KeyTransport};

/// One envelope written by [`StreamPlan::encrypt`](super::StreamPlan::encrypt): everything [`Envelope`]
/// holds except the message itself, and the message's length.
#[derive(Debug, Clone)]
pub struct EnvelopeSummary {
    pub kind: EnvelopeKind,
    /// MAIL FROM.
    pub mail_from: String,
    /// RCPT TO: exactly this envelope's recipients.
    pub rcpt_to: Vec<String>,
    pub cipher: ContentCipher,
    pub key_transport: KeyTransport,
    /// (address, certificate fingerprint) for each RecipientInfo, in order.
    pub recipient_infos: Vec<(String, String)>,
    /// Length of the complete S/MIME message (0 until it is written).
    pub bytes: u64,
}

impl From<&Envelope> for EnvelopeSummary {
    fn from(e: &Envelope) -> Self {
        EnvelopeSummary {
            kind: e.kind,
            mail_from: e.mail_from.clone(),
            rcpt_to: e.rcpt_to.clone(),
            cipher: e.cipher,
            key_transport: e.key_transport,
            recipient_infos: e.recipient_infos.clone(),
            bytes: e.message.len() as u64,
        }
    }
}

/// Where [`StreamPlan::encrypt`](super::StreamPlan::encrypt) writes the envelopes, one after the other.
pub trait EnvelopeOutput {
    /// Envelope number `index` starts (its SMTP envelope is known, its length not yet).
    fn begin(&mut self, index: usize, envelope: &EnvelopeSummary) -> anyhow::Result<()>;
    /// The next bytes of its S/MIME message.
    fn write(&mut self, data: &[u8]) -> anyhow::Result<()>;
    /// The envelope is complete.
    fn end(&mut self) -> anyhow::Result<()>;
}

/// What a streamed encryption produced.
#[derive(Debug, Clone)]
pub struct StreamEncrypted {
    pub envelopes: Vec<EnvelopeSummary>,
    /// Addresses dropped by `skip_unknown`, with the reason.
    pub skipped: Vec<(String, String)>,
    /// How many times content was encrypted (one per distinct cipher).
    pub content_encryptions: usize,
    /// Whether the envelopes carry a signed entity ([`StreamPlan::sign`](super::StreamPlan::sign)).
    pub signed: bool,
}

/// Envelopes kept in memory, in order.
#[derive(Default)]
pub(super) struct InMemory(pub(super) Vec<Vec<u8>>);

impl EnvelopeOutput for InMemory {
    fn begin(&mut self, _: usize, _: &EnvelopeSummary) -> anyhow::Result<()> {
        self.0.push(Vec::new());
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match self.0.last_mut() {
            Some(message) => message.extend_from_slice(data),
            None => return Err(fail(Exit::Software, "write outside an envelope")),
        }
        Ok(())
    }
    fn end(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}
