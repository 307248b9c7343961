//! Key deposits (`encrypt --deposit`): the envelopes' one recipient entry
//! is a key deposit at a joined group's server, made while the message is
//! encrypted, and recorded so that it can be revoked.

use cms::enveloped_data::RecipientInfo;
use rsa::RsaPrivateKey;

use crate::error::{fail, Exit};
use crate::smime::encrypt::ReaderCert;
use crate::smime::envelope::{kek_recipient, unwrap_key_bytes, ContentKey, KEK_LEN};
use crate::store::keystore::{Identity, Keystore};

use super::calls::{DepositAnswer, DepositPayload, Op, Readers};
use super::joined::{JoinedGroup, Memberships};
use super::keys::{Caller, KeystoreKeys};
use super::secrets::{DepositNote, DepositNotes};
use crate::smime::keyref::{parse_id, KeyRef, KeyRefKind};

/// Who may read a deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositReaders {
    /// Whoever is a member of the group when they ask.
    Members,
    /// The envelope's own recipients, by their certificates.
    Recipients,
}

/// Makes deposits for one message, as the group's joined identity.
pub struct Depositor {
    group: JoinedGroup,
    identity: Identity,
    key: RsaPrivateKey,
    readers: DepositReaders,
    expires: Option<u64>,
    message_id: Option<String>,
    notes: DepositNotes,
    /// With members as readers one deposit serves every envelope.
    shared: Option<RecipientInfo>,
    pub made: Vec<DepositNote>,
}

impl Depositor {
    pub fn new(
        caller: &dyn Caller,
        ks: &Keystore,
        group: &str,
        readers: DepositReaders,
        expires: Option<u64>,
        message_id: Option<String>,
    ) -> anyhow::Result<Depositor> {
        let group = Memberships::new(ks.root()).get(group)?;
        let (identity, key) = KeystoreKeys::new(ks, caller, false)?.member_of(&group)?;
        Ok(Depositor {
            group,
            identity,
            key,
            readers,
            expires,
            message_id,
            notes: DepositNotes::new(ks.root()),
            shared: None,
            made: Vec::new(),
        })
    }

    /// The recipient entry of one envelope whose readers are `readers`.
    pub fn wrap(
        &mut self,
        readers: &[(&String, &ReaderCert)],
        cek: &ContentKey,
    ) -> anyhow::Result<RecipientInfo> {
        if let Some(ri) = &self.shared {
            return Ok(ri.clone());
        }
        let who = match self.readers {
            DepositReaders::Members => Readers::Members,
            DepositReaders::Recipients => {
                let mut fps: Vec<String> = readers
                    .iter()
                    .map(|(_, c)| c.cert.fingerprint.clone())
                    .collect();
                fps.sort();
                fps.dedup();
                Readers::Certificates(fps)
            }
        };
        let payload = DepositPayload {
            readers: who,
            expires: self.expires,
        };
        let mut rng = rand_core::OsRng;
        let (answer, server): (DepositAnswer, _) = super::call(
            &self.group,
            Op::Deposit,
            &payload,
            &self.identity.cert.cert,
            &self.key,
            crate::smime::certs::now() as u64,
            &mut rng,
        )?;
        let bad = || {
            fail(
                Exit::DataErr,
                format!("{server} answered a malformed deposit"),
            )
        };
        let id = parse_id(&answer.deposit_id).ok_or_else(bad)?;
        let entry = <RecipientInfo as der::Decode>::from_der(&answer.key).map_err(|_| bad())?;
        let kek = unwrap_key_bytes(
            &entry,
            &self.identity.cert.cert,
            &self.key,
            KEK_LEN,
            &mut rng,
        )?;
        let keyref = KeyRef::new(KeyRefKind::Deposit, &self.group.name, id);
        let ri = kek_recipient(&keyref.to_der(), &kek, cek)?;
        // Recorded before any copy leaves, so that it can always be revoked.
        let note = DepositNote {
            id: keyref.id_hex(),
            group: self.group.name.clone(),
            message_id: self.message_id.clone(),
            created: crate::smime::certs::now(),
            expires: answer.expires.map(|e| e as i64),
            server: server.to_string(),
        };
        self.notes.record(&note)?;
        self.made.push(note);
        if self.readers == DepositReaders::Members {
            self.shared = Some(ri.clone());
        }
        Ok(ri)
    }
}
