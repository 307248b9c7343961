//! The release path: a message's entry (a `RecipientInfo`) opened for the
//! caller and re-wrapped to the certificate they presented. An entry for the
//! group's key (`KeyTransRecipientInfo`) is opened here, for members only;
//! an entry for a deposit (`KEKRecipientInfo`) by [`super::deposits`].
//!
//! May use: the group's keys, the CMS entry checks of [`crate::smime`].

use std::time::Instant;

use cms::enveloped_data::RecipientInfo;
use der::Decode;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::answer::{internal, Answer, Refused, Trail};
use super::auth::Caller;
use super::Service;
use crate::group::keys::{wrap_for, UnwrapError};
use crate::group::release::protocol::{RefusalCode, ReleaseGrant, ReleaseRequest};
use crate::group::store::Role;

impl Service {
    /// Answers one request body received from `remote`. `now` is the Unix
    /// time, `instant` the monotonic clock for the rate limit.
    pub fn handle(&self, body: &[u8], remote: &str, now: u64, instant: Instant) -> Answer {
        let mut trail = Trail::new(now, remote, "release");
        let result = self
            .decide(body, now, instant, &mut trail)
            .map(|grant| grant.to_json());
        self.answer(trail, result)
    }

    fn decide(
        &self,
        body: &[u8],
        now: u64,
        instant: Instant,
        trail: &mut Trail,
    ) -> Result<ReleaseGrant, Refused> {
        let req = ReleaseRequest::from_json(body).map_err(|_| RefusalCode::Malformed)?;
        let ri =
            RecipientInfo::from_der(&req.recipient_info).map_err(|_| RefusalCode::Malformed)?;
        let cert = Certificate::from_der(&req.certificate).map_err(|_| RefusalCode::Malformed)?;
        let fingerprint = hex::encode(Sha256::digest(&req.certificate));
        let row = &mut trail.row;
        row.group = Some(req.group.clone());
        row.key_hash = Some(req.key_hash());
        row.nonce = Some(req.nonce);
        row.member_fingerprint = Some(fingerprint.clone());
        let caller = Caller {
            cert: &cert,
            fingerprint: &fingerprint,
            signed: req.signed_bytes(),
            signature: &req.signature,
            timestamp: req.timestamp,
            nonce: req.nonce,
        };
        // Before anything about the group is looked up (the parent module docs).
        caller.authenticate()?;
        let content_key = match &ri {
            // Needs no group key: a deposit of a group that does not exist
            // is as unknown as any other deposit id.
            RecipientInfo::Kekri(k) => {
                self.open_deposit(&req.group, k, &caller, now, instant, trail)?
            }
            _ => self.open_group_entry(&req.group, &ri, &caller, now, instant, trail)?,
        };
        let recipient_info = wrap_for(&cert, &content_key).map_err(internal)?;
        Ok(ReleaseGrant {
            recipient_info,
            key_hash: req.key_hash(),
        })
    }

    /// A release of an entry for the group's key: to a member only, and
    /// only of an entry made for one of this group's certificates: the
    /// current one, or a retired one inside its keep-old window.
    fn open_group_entry(
        &self,
        group: &str,
        ri: &RecipientInfo,
        caller: &Caller<'_>,
        now: u64,
        instant: Instant,
        trail: &mut Trail,
    ) -> Result<Zeroizing<Vec<u8>>, Refused> {
        // An unknown group answers as a group the caller is not in.
        let keys = self.group_key(group, now)?.ok_or(RefusalCode::NotMember)?;
        // An anonymous group's keys go to passes only; refused before the
        // member is looked up, so nothing links this member to the message.
        if self.requires_pass(group)? {
            // Not even the operator's log line pairs this member with the key.
            trail.row.member_fingerprint = None;
            trail.row.key_hash = None;
            return Err(RefusalCode::PassRequired.into());
        }
        // Read now, never cached: a removal applies to the very next request.
        self.member_in_role(group, caller.fingerprint, &[Role::Member], trail)?
            .ok_or(RefusalCode::NotMember)?;
        let RecipientInfo::Ktri(k) = ri else {
            return Err(RefusalCode::WrongGroup.into());
        };
        // By its recipient identifier: the entry names the one key to try.
        let key = keys.for_entry(k, now)?;
        self.admit(group, caller, now, instant, &mut trail.row)?;
        key.unwrap(k).map_err(unwrap_refusal)
    }
}

/// The one refusal for a ciphertext that gives no key; a token failure is
/// an internal error (logged, never shown), the same for any ciphertext.
pub(super) fn unwrap_refusal(e: UnwrapError) -> Refused {
    match e {
        UnwrapError::Failed(_) => RefusalCode::UnwrapFailed.into(),
        UnwrapError::Token(t) => internal(t.0),
    }
}
