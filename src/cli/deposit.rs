//! `encrypt --deposit`: the envelopes' one recipient entry is a key deposit
//! at a joined group's server, made while the message is encrypted.

use cms::enveloped_data::RecipientInfo;
use rsa::RsaPrivateKey;
use sealpost::error::{fail, Exit};
use sealpost::group::release::calls::{DepositAnswer, DepositPayload, Op, Readers};
use sealpost::group::release::joined::{JoinedGroup, Memberships};
use sealpost::group::release::secrets::{DepositNote, DepositNotes};
use sealpost::smime::encrypt::ReaderCert;
use sealpost::smime::envelope::{kek_recipient, unwrap_key_bytes, ContentKey, KEK_LEN};
use sealpost::smime::keyref::{parse_id, KeyRef, KeyRefKind};
use sealpost::store::keystore::{Identity, Keystore};

use super::decrypt::{unix_now, KeystoreKeys};
use super::Context;

/// Who may read a deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadersArg {
    /// Whoever is a member of the group when they ask
    Members,
    /// The envelope's own recipients, by their certificates
    Recipients,
}

/// Makes deposits for one message, as the group's joined identity.
pub struct Depositor {
    group: JoinedGroup,
    identity: Identity,
    key: RsaPrivateKey,
    readers: ReadersArg,
    expires: Option<u64>,
    message_id: Option<String>,
    notes: DepositNotes,
    /// With members as readers one deposit serves every envelope.
    shared: Option<RecipientInfo>,
    pub made: Vec<DepositNote>,
}

impl Depositor {
    pub fn new(
        ctx: &Context,
        ks: &Keystore,
        group: &str,
        readers: ReadersArg,
        expires: Option<u64>,
        message_id: Option<String>,
    ) -> anyhow::Result<Depositor> {
        let group = Memberships::new(ks.root()).get(group)?;
        let (identity, key) = KeystoreKeys::new(ks, ctx, false)?.member_of(&group)?;
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
            ReadersArg::Members => Readers::Members,
            ReadersArg::Recipients => {
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
        let (answer, server): (DepositAnswer, _) = sealpost::group::release::call(
            &self.group,
            Op::Deposit,
            &payload,
            &self.identity.cert.cert,
            &self.key,
            unix_now(),
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
            created: unix_now() as i64,
            expires: answer.expires.map(|e| e as i64),
            server: server.to_string(),
        };
        self.notes.record(&note)?;
        self.made.push(note);
        if self.readers == ReadersArg::Members {
            self.shared = Some(ri.clone());
        }
        Ok(ri)
    }
}
