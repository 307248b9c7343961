//! The signed calls other than a release (`members`, `rewrap`, `secrets`,
//! `deposit`, `revoke`): parsed and authenticated like a release, then
//! passed through the gate of their kind (which roles may make it, what a
//! certificate not registered at all is told), then answered by one
//! function per kind. The deposit calls live with the rest of a deposit's
//! life in [`super::deposits`].
//!
//! May use: the group's keys and store, the vault (group secrets).

use std::time::Instant;

use cms::enveloped_data::RecipientInfo;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use super::answer::{internal, json, Answer, Refused, Trail};
use super::auth::Caller;
use super::generations::GroupKeys;
use super::Service;
use crate::group::admin::secret_purpose;
use crate::group::keys::wrap_for;
use crate::group::release::calls::{
    MemberEntry, MembersAnswer, Op, RewrapAnswer, RewrapPayload, SecretEntry, SecretsAnswer,
    SignedCall,
};
use crate::group::release::protocol::{key_hash, RefusalCode};
use crate::group::store::{AuditRecord, Role};
use crate::smime::envelope::kek_recipient_for_bytes;
use crate::smime::keyref::{parse_id, KeyRef, KeyRefKind};

/// A call that passed its gate: what was asked, by whom, of which group
/// (its key), and when.
pub(super) struct Admitted<'a> {
    pub(super) call: &'a SignedCall,
    pub(super) caller: &'a Caller<'a>,
    pub(super) keys: &'a GroupKeys,
    pub(super) now: u64,
}

/// What answers one kind of admitted call; it notes in the audit row the
/// key the call concerns, if any.
type Handler = fn(&Service, &Admitted<'_>, &mut AuditRecord) -> Result<Vec<u8>, Refused>;

impl Service {
    /// Answers a call (`op` from the path) received from `remote`.
    pub fn handle_call(
        &self,
        op: Op,
        body: &[u8],
        remote: &str,
        now: u64,
        instant: Instant,
    ) -> Answer {
        let mut trail = Trail::new(now, remote, op.as_str());
        let result = self.decide_call(op, body, now, instant, &mut trail);
        self.answer(trail, result)
    }

    fn decide_call(
        &self,
        op: Op,
        body: &[u8],
        now: u64,
        instant: Instant,
        trail: &mut Trail,
    ) -> Result<Vec<u8>, Refused> {
        let call = SignedCall::from_json(op, body).map_err(|_| RefusalCode::Malformed)?;
        let cert = Certificate::from_der(&call.certificate).map_err(|_| RefusalCode::Malformed)?;
        let fingerprint = hex::encode(Sha256::digest(&call.certificate));
        trail.row.group = Some(call.group.clone());
        trail.row.nonce = Some(call.nonce);
        trail.row.member_fingerprint = Some(fingerprint.clone());
        let caller = Caller {
            cert: &cert,
            fingerprint: &fingerprint,
            signed: call.signed_bytes(),
            signature: &call.signature,
            timestamp: call.timestamp,
            nonce: call.nonce,
        };
        // Before anything about the group is looked up (the parent module docs).
        caller.authenticate()?;
        // The gate of each kind: the roles that may make it, the refusal of
        // a certificate registered in no role, and what answers it.
        let (roles, unregistered, handler): (&[Role], RefusalCode, Handler) = match op {
            Op::Members => (
                &[Role::Exploder],
                RefusalCode::NotAuthorized,
                Service::members,
            ),
            Op::Rewrap => (
                &[Role::Exploder],
                RefusalCode::NotAuthorized,
                Service::rewrap,
            ),
            Op::Secrets => (&[Role::Member], RefusalCode::NotMember, Service::secrets),
            Op::Pass => (&[Role::Member], RefusalCode::NotMember, Service::pass),
            Op::Deposit => (
                &[Role::Member, Role::Sender],
                RefusalCode::NotAuthorized,
                Service::deposit,
            ),
            // Whoever deposited may revoke, registered or not (any more).
            // No group lookup: a deposit of a group that does not exist is
            // as unknown as any other deposit id.
            Op::Revoke => return self.revoke(&call, &caller, now, instant, trail),
        };
        // An unknown group answers as a group the caller is not registered in.
        let keys = self.group_key(&call.group, now)?.ok_or(unregistered)?;
        self.member_in_role(&call.group, &fingerprint, roles, trail)?
            .ok_or(unregistered)?;
        self.admit(&call.group, &caller, now, instant, &mut trail.row)?;
        let admitted = Admitted {
            call: &call,
            caller: &caller,
            keys: &keys,
            now,
        };
        handler(self, &admitted, &mut trail.row)
    }

    /// `members`, for the exploder: the group's members, without its
    /// exploders and senders.
    fn members(&self, req: &Admitted<'_>, _row: &mut AuditRecord) -> Result<Vec<u8>, Refused> {
        let members = self
            .store
            .members(&req.call.group)
            .map_err(internal)?
            .into_iter()
            .filter(|m| m.role == Role::Member)
            .map(|m| MemberEntry {
                address: m.address,
                certificate: m.certificate,
            })
            .collect();
        Ok(json(&MembersAnswer { members }))
    }

    /// `rewrap`, for the exploder: a message's entry for the group key,
    /// re-made for the group's current secret.
    fn rewrap(&self, req: &Admitted<'_>, row: &mut AuditRecord) -> Result<Vec<u8>, Refused> {
        let group = &req.call.group;
        let payload: RewrapPayload = req.call.payload_as().map_err(|_| RefusalCode::Malformed)?;
        row.key_hash = Some(key_hash(&payload.recipient_info));
        let ktri = match RecipientInfo::from_der(&payload.recipient_info) {
            Ok(RecipientInfo::Ktri(k)) => k,
            Ok(_) => return Err(RefusalCode::WrongGroup.into()),
            Err(_) => return Err(RefusalCode::Malformed.into()),
        };
        let key = req.keys.for_entry(&ktri, req.now)?;
        let secret = self
            .store
            .secrets(group)
            .map_err(internal)?
            .pop()
            .ok_or(RefusalCode::NoSecret)?;
        let content_key = key.unwrap(&ktri).map_err(super::release::unwrap_refusal)?;
        let secret_bytes = self
            .vault()?
            .unseal(&secret_purpose(group, &secret.id), &secret.sealed)
            .map_err(internal)?;
        let id = parse_id(&secret.id).ok_or_else(|| internal("a stored id is not an id"))?;
        let keyref = KeyRef::new(KeyRefKind::GroupSecret, group, id);
        let ri = kek_recipient_for_bytes(&keyref.to_der(), &secret_bytes, &content_key)
            .map_err(internal)?;
        Ok(json(&RewrapAnswer {
            recipient_info: ri.to_der().map_err(internal)?,
            key_id: secret.id,
        }))
    }

    /// `secrets`, for a member: every secret of the group, each wrapped to
    /// the caller's certificate, the newest marked current.
    fn secrets(&self, req: &Admitted<'_>, _row: &mut AuditRecord) -> Result<Vec<u8>, Refused> {
        let group = &req.call.group;
        let records = self.store.secrets(group).map_err(internal)?;
        let newest = records.last().map(|r| r.id.clone());
        let vault = if records.is_empty() {
            None
        } else {
            Some(self.vault()?)
        };
        let mut secrets = Vec::with_capacity(records.len());
        for r in records {
            let vault = vault
                .as_ref()
                .ok_or_else(|| internal("a stored id is not an id"))?;
            let bytes = vault
                .unseal(&secret_purpose(group, &r.id), &r.sealed)
                .map_err(internal)?;
            secrets.push(SecretEntry {
                current: Some(&r.id) == newest.as_ref(),
                recipient_info: wrap_for(req.caller.cert, &bytes).map_err(internal)?,
                key_id: r.id,
                created: r.created,
            });
        }
        Ok(json(&SecretsAnswer { secrets }))
    }
}
