//! Key deposits, their whole life: made by a member or sender (`deposit`,
//! its readers and expiry checked), released to those readers (a message
//! entry that is a `KEKRecipientInfo`), ended by their depositor (`revoke`)
//! or by their expiry (on the next release, or by the purge). An ended
//! deposit's key is deleted; the record stays for the audit.
//!
//! May use: the group's store and keys, the vault (a deposit's key at rest).

use std::time::Instant;

use cms::enveloped_data::KekRecipientInfo;
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use super::answer::{internal, json, Refused, Trail};
use super::auth::Caller;
use super::calls::Admitted;
use super::Service;
use crate::group::keys::{wrap_for, CONTENT_KEY_LENGTHS};
use crate::group::release::calls::{
    DepositAnswer, DepositPayload, Readers, RevokeAnswer, RevokePayload, SignedCall,
};
use crate::group::release::protocol::RefusalCode;
use crate::group::store::{AuditRecord, DepositRecord, DepositState, Role};
use crate::group::vault::purpose;
use crate::smime::envelope::{unwrap_kekri_bytes, KEK_LEN};
use crate::smime::keyref::{parse_id, KeyRef, KeyRefKind, KEY_ID_LEN};

/// Most certificates a deposit may name as readers.
pub const MAX_DEPOSIT_READERS: usize = 256;
/// Furthest a deposit's expiry may lie ahead, seconds (100 years). Beyond
/// it, and above all beyond the store's signed 64-bit times (a `u64` of
/// 2^64-1 was once stored as -1 and purged at once), an expiry is refused.
pub const MAX_DEPOSIT_LIFETIME: u64 = 100 * 365 * 24 * 3600;

/// Readers must be fingerprints (64 hex digits), not too many; an expiry
/// must lie in the future, and within [`MAX_DEPOSIT_LIFETIME`].
fn check_readers(payload: &DepositPayload, now: u64) -> Result<(), Refused> {
    if let Readers::Certificates(list) = &payload.readers {
        let fingerprint = |f: &String| {
            f.len() == 64
                && f.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if list.is_empty() || list.len() > MAX_DEPOSIT_READERS || !list.iter().all(fingerprint) {
            return Err(RefusalCode::Malformed.into());
        }
    }
    if payload
        .expires
        .is_some_and(|e| e <= now || e - now > MAX_DEPOSIT_LIFETIME || i64::try_from(e).is_err())
    {
        return Err(RefusalCode::Malformed.into());
    }
    Ok(())
}

/// The vault purpose of a deposit's key-encryption key.
fn deposit_purpose(group: &str, id: &str) -> Vec<u8> {
    purpose("deposit", group, id)
}

impl Service {
    /// `deposit`, for a member or sender: a new key-encryption key, sealed
    /// in the vault and wrapped to the caller's certificate.
    pub(super) fn deposit(
        &self,
        req: &Admitted<'_>,
        row: &mut AuditRecord,
    ) -> Result<Vec<u8>, Refused> {
        let payload: DepositPayload = req.call.payload_as().map_err(|_| RefusalCode::Malformed)?;
        check_readers(&payload, req.now)?;
        let mut id = [0u8; KEY_ID_LEN];
        OsRng.fill_bytes(&mut id);
        let id = hex::encode(id);
        row.key_hash = Some(id.clone());
        let mut kek = Zeroizing::new([0u8; KEK_LEN]);
        OsRng.fill_bytes(&mut kek[..]);
        let sealed = self
            .vault()?
            .seal(&deposit_purpose(&req.call.group, &id), &kek[..], &mut OsRng)
            .map_err(internal)?;
        let key = wrap_for(req.caller.cert, &kek[..]).map_err(internal)?;
        self.store
            .create_deposit(&DepositRecord {
                id: id.clone(),
                group: req.call.group.clone(),
                depositor: req.caller.fingerprint.to_string(),
                readers: serde_json::to_string(&payload.readers).map_err(internal)?,
                created: req.now as i64,
                // In range: check_readers.
                expires: payload.expires.and_then(|e| i64::try_from(e).ok()),
                sealed_kek: Some(sealed),
                state: DepositState::Live,
                ended: None,
            })
            .map_err(internal)?;
        Ok(json(&DepositAnswer {
            deposit_id: id,
            key,
            expires: payload.expires,
        }))
    }

    /// A deposit release: the reader must be allowed by the deposit, the
    /// deposit live and unexpired; then its key-encryption key opens the
    /// message's entry.
    pub(super) fn open_deposit(
        &self,
        group: &str,
        kekri: &KekRecipientInfo,
        caller: &Caller<'_>,
        now: u64,
        instant: Instant,
        trail: &mut Trail,
    ) -> Result<Zeroizing<Vec<u8>>, Refused> {
        let keyref = KeyRef::from_der(kekri.kek_id.kek_identifier.as_bytes())
            .filter(|r| r.kind == KeyRefKind::Deposit)
            .ok_or(RefusalCode::WrongGroup)?;
        if keyref.group != group {
            return Err(RefusalCode::WrongGroup.into());
        }
        let deposit = self
            .store
            .deposit(&keyref.id_hex())
            .map_err(internal)?
            .filter(|d| d.group == group)
            .ok_or(RefusalCode::UnknownDeposit)?;
        trail.row.key_hash = Some(deposit.id.clone());
        let readers: Readers = serde_json::from_str(&deposit.readers).map_err(internal)?;
        let allowed = caller.fingerprint == deposit.depositor
            || match &readers {
                Readers::Members => self
                    .member_in_role(group, caller.fingerprint, &[Role::Member], trail)?
                    .is_some(),
                Readers::Certificates(list) => list.iter().any(|f| f == caller.fingerprint),
            };
        if !allowed {
            return Err(RefusalCode::NotMember.into());
        }
        trail.known = true;
        self.admit(group, caller, now, instant, &mut trail.row)?;
        let sealed = self.live_deposit_key(&deposit, now)?;
        let kek = self
            .vault()?
            .unseal(&deposit_purpose(group, &deposit.id), &sealed)
            .map_err(internal)?;
        let content_key = unwrap_kekri_bytes(kekri, &kek).map_err(|_| RefusalCode::UnwrapFailed)?;
        if !CONTENT_KEY_LENGTHS.contains(&content_key.len()) {
            return Err(RefusalCode::UnwrapFailed.into());
        }
        Ok(content_key)
    }

    /// The sealed key of a deposit that is still live; an expired one is
    /// ended here (its key deleted) if the purge has not done it yet.
    fn live_deposit_key(&self, deposit: &DepositRecord, now: u64) -> Result<Vec<u8>, Refused> {
        match deposit.state {
            DepositState::Revoked => return Err(RefusalCode::Revoked.into()),
            DepositState::Expired => return Err(RefusalCode::Expired.into()),
            DepositState::Live => {}
        }
        if deposit.expires.is_some_and(|e| e <= now as i64) {
            let _ = self
                .store
                .end_deposit(&deposit.id, DepositState::Expired, now as i64);
            return Err(RefusalCode::Expired.into());
        }
        deposit
            .sealed_kek
            .clone()
            .ok_or_else(|| RefusalCode::Expired.into())
    }

    /// Deletes the keys of deposits that expired by `now`; returns how many.
    pub fn purge_expired(&self, now: u64) -> anyhow::Result<usize> {
        self.store.expire_deposits(now as i64)
    }

    /// `revoke`: only the depositor, and only an existing deposit of the group.
    pub(super) fn revoke(
        &self,
        call: &SignedCall,
        caller: &Caller<'_>,
        now: u64,
        instant: Instant,
        trail: &mut Trail,
    ) -> Result<Vec<u8>, Refused> {
        let payload: RevokePayload = call.payload_as().map_err(|_| RefusalCode::Malformed)?;
        // An id is 32 hex digits; anything else is not stored in the audit row.
        parse_id(&payload.deposit_id).ok_or(RefusalCode::Malformed)?;
        trail.row.key_hash = Some(payload.deposit_id.clone());
        let deposit = self
            .store
            .deposit(&payload.deposit_id)
            .map_err(internal)?
            .filter(|d| d.group == call.group)
            .ok_or(RefusalCode::UnknownDeposit)?;
        if deposit.depositor != caller.fingerprint {
            return Err(RefusalCode::NotAuthorized.into());
        }
        trail.known = true;
        self.admit(&call.group, caller, now, instant, &mut trail.row)?;
        let revoked = self
            .store
            .end_deposit(&deposit.id, DepositState::Revoked, now as i64)
            .map_err(internal)?;
        Ok(json(&RevokeAnswer { revoked }))
    }
}
