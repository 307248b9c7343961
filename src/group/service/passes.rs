//! Anonymous release (issue #17), the server's side: the public lookup of
//! a group's pass-issuing keys, the issuance of a blind-signed pass to an
//! authenticated member (one per member address and period), and the
//! release of a message key to a pass.
//!
//! What each call leaves behind:
//!
//! - the lookup is public data and stores nothing;
//! - issuance is a signed call like any other: its audit row names the
//!   member, the time and the period's key id, which every pass of the
//!   period shares; the blinded message and the answer are not stored;
//! - a release to a pass is audited under the pass (`pass:` and the pass
//!   id in the fingerprint column), with the key hash of the message and
//!   the remote address, never a member: the request carries no identity,
//!   and a pass, blind-signed, cannot be matched to its issuance.
//!
//! The issuing keys are derived per group, epoch and period
//! ([`crate::group::pass::derive`]) and kept here for the period; the
//! first request of a period pays one RSA-3072 key generation (about a
//! second), under a lock that other pass requests wait on.
//!
//! An anonymous group releases to passes only: an identity release is
//! refused `pass_required` before the member is looked up, so no audit row
//! links a member to a message.
//!
//! May use: the pass core, the store's pass records, the vault (the seed),
//! the group's keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use cms::enveloped_data::{RecipientIdentifier, RecipientInfo};
use der::asn1::OctetString;
use der::Decode;
use rsa::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use zeroize::Zeroizing;

use super::answer::{internal, json, Answer, Refused, Trail};
use super::auth::Admission;
use super::calls::Admitted;
use super::Service;
use crate::group::keys::{verify_pss_key, wrap_to_key};
use crate::group::pass::derive::{issuing_key, SEED_LEN};
use crate::group::pass::{self, Issuer, PassError, Period};
use crate::group::release::protocol::pass::{
    PassAnswer, PassKeyAnswer, PassKeyRequest, PassPayload, PassReleaseRequest, PublishedKey,
};
use crate::group::release::protocol::{RefusalCode, ReleaseGrant, MAX_CLOCK_SKEW};
use crate::group::store::{AuditRecord, PassIssuerRecord};
use crate::group::vault::purpose;

/// How long before a period begins its key is published and used to issue
/// passes, so that members can renew ahead of the boundary.
pub const RENEW_AHEAD: u64 = 3600;

/// The vault purpose of a group's pass seed.
pub fn seed_purpose(group: &str) -> Vec<u8> {
    purpose("pass-seed", group, "")
}

/// What an issuing key derives from: group, epoch, period start,
/// lifetime, and the hash of the sealed seed.
type IssuerSlot = (String, i64, u64, u64, [u8; 32]);

/// Derived issuing keys, by what they derive from.
#[derive(Default)]
pub(super) struct IssuerCache {
    keys: HashMap<IssuerSlot, Arc<Issuer>>,
    /// How many keys were derived since the start (each an RSA key
    /// generation: a live key must never be derived twice).
    derived: u64,
}

impl IssuerCache {
    #[cfg(test)]
    pub(super) fn derived(&self) -> u64 {
        self.derived
    }
}

impl Service {
    /// The group's pass issuance if it is anonymous now.
    fn anonymous(&self, group: &str) -> Result<Option<PassIssuerRecord>, Refused> {
        Ok(self
            .store
            .pass_issuer(group)
            .map_err(internal)?
            .filter(|r| r.enabled))
    }

    /// Whether identity releases of `group` are refused (`pass_required`).
    pub(super) fn requires_pass(&self, group: &str) -> Result<bool, Refused> {
        Ok(self.anonymous(group)?.is_some())
    }

    /// The issuing key of `period` for the group `record` describes, at `now`.
    fn issuer(
        &self,
        group: &str,
        record: &PassIssuerRecord,
        period: Period,
        now: u64,
    ) -> Result<Arc<Issuer>, Refused> {
        let seed_hash: [u8; 32] = Sha256::digest(&record.sealed_seed).into();
        let lifetime = period.end() - period.start();
        let slot = (
            group.to_owned(),
            record.epoch,
            period.start(),
            lifetime,
            seed_hash,
        );
        let mut cache = self.issuers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(issuer) = cache.keys.get(&slot) {
            return Ok(Arc::clone(issuer));
        }
        let seed = self
            .vault()?
            .unseal(&seed_purpose(group), &record.sealed_seed)
            .map_err(internal)?;
        let seed: Zeroizing<[u8; SEED_LEN]> = Zeroizing::new(
            seed.as_slice()
                .try_into()
                .map_err(|_| internal("a pass seed of the wrong length"))?,
        );
        let epoch = u64::try_from(record.epoch).map_err(|_| internal("a negative pass epoch"))?;
        let issuer = Arc::new(issuing_key(&seed, group, epoch, period).map_err(internal)?);
        // Keys of periods that ended are dropped as new ones come (by the
        // clock, not by the period asked for: the current and the next
        // period's keys are both live in the hour before a boundary).
        cache.keys.retain(|k, _| k.2.saturating_add(k.3) > now);
        cache.keys.insert(slot, Arc::clone(&issuer));
        cache.derived += 1;
        Ok(issuer)
    }

    /// The periods whose keys issue passes at `now`: the current one, and
    /// the next in the [`RENEW_AHEAD`] before it begins.
    fn issuing_periods(record: &PassIssuerRecord, now: u64) -> Result<Vec<Period>, Refused> {
        let lifetime = u64::try_from(record.lifetime).map_err(|_| internal("bad lifetime"))?;
        let current = Period::containing(now, lifetime).map_err(internal)?;
        let mut periods = vec![current];
        if now.saturating_add(RENEW_AHEAD) >= current.end() {
            periods.push(current.next());
        }
        Ok(periods)
    }

    /// `POST /v1/pass-key`: the group's issuing keys, the same for everyone.
    /// Unauthenticated and stored nowhere; a group that does not exist and
    /// one that is not anonymous get the same refusal.
    pub fn handle_pass_key(&self, body: &[u8], remote: &str, now: u64) -> Answer {
        let mut trail = Trail::new(now, remote, "pass-key");
        let result = (|| {
            let req = PassKeyRequest::from_json(body).map_err(|_| RefusalCode::Malformed)?;
            trail.row.group = Some(req.group.clone());
            let record = self
                .anonymous(&req.group)?
                .ok_or(RefusalCode::NotAnonymous)?;
            let mut keys = Vec::new();
            for period in Self::issuing_periods(&record, now)? {
                let issuer = self.issuer(&req.group, &record, period, now)?;
                keys.push(PublishedKey {
                    not_before: period.start(),
                    not_after: period.end(),
                    key_id: hex::encode(issuer.public().id()),
                    public_key: issuer.public().to_pkcs1_der().to_vec(),
                });
            }
            Ok(json(&PassKeyAnswer {
                group: req.group,
                lifetime: record.lifetime.unsigned_abs(),
                keys,
            }))
        })();
        self.answer_public(trail, result)
    }

    /// The `pass` call: a member (checked by the call's gate) has a pass
    /// blind-signed, once per address and issuing key.
    pub(super) fn pass(
        &self,
        req: &Admitted<'_>,
        row: &mut AuditRecord,
    ) -> Result<Vec<u8>, Refused> {
        let group = &req.call.group;
        let payload: PassPayload = req.call.payload_as().map_err(|_| RefusalCode::Malformed)?;
        let record = self.anonymous(group)?.ok_or(RefusalCode::NotAnonymous)?;
        row.key_hash = Some(payload.key_id.clone());
        let mut found = None;
        for period in Self::issuing_periods(&record, req.now)? {
            let issuer = self.issuer(group, &record, period, req.now)?;
            if hex::encode(issuer.public().id()) == payload.key_id {
                found = Some((period, issuer));
            }
        }
        // A key of a past period, or of a replaced epoch.
        let (period, issuer) = found.ok_or(RefusalCode::PassExpired)?;
        let member = row
            .member_address
            .clone()
            .ok_or_else(|| internal("a pass call without a member"))?;
        let clock = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
        let recorded = self
            .store
            .record_pass_issuance(
                group,
                &payload.key_id,
                &member,
                clock(period.end().saturating_add(MAX_CLOCK_SKEW)),
                clock(req.now),
            )
            .map_err(internal)?;
        if !recorded {
            return Err(RefusalCode::PassIssued.into());
        }
        match issuer.issue(&payload.blinded) {
            Ok(blind_signature) => Ok(json(&PassAnswer { blind_signature })),
            Err(e) => {
                // Nothing was issued: the member may try again.
                let _ = self
                    .store
                    .forget_pass_issuance(group, &payload.key_id, &member);
                Err(match e {
                    PassError::Blind(_) | PassError::Malformed => RefusalCode::Malformed.into(),
                    other => internal(other),
                })
            }
        }
    }

    /// `POST /v1/pass-release`: a message's entry for the group key,
    /// released to the key of a valid pass.
    pub fn handle_pass_release(
        &self,
        body: &[u8],
        remote: &str,
        now: u64,
        instant: Instant,
    ) -> Answer {
        let mut trail = Trail::new(now, remote, "pass-release");
        let result = self
            .decide_pass_release(body, now, instant, &mut trail)
            .map(|grant| grant.to_json());
        self.answer(trail, result)
    }

    fn decide_pass_release(
        &self,
        body: &[u8],
        now: u64,
        instant: Instant,
        trail: &mut Trail,
    ) -> Result<ReleaseGrant, Refused> {
        let req = PassReleaseRequest::from_json(body).map_err(|_| RefusalCode::Malformed)?;
        let ri = match RecipientInfo::from_der(&req.recipient_info) {
            Ok(RecipientInfo::Ktri(k)) => k,
            Ok(_) => return Err(RefusalCode::WrongGroup.into()),
            Err(_) => return Err(RefusalCode::Malformed.into()),
        };
        trail.row.group = Some(req.group.clone());
        trail.row.key_hash = Some(req.key_hash());
        trail.row.nonce = Some(req.nonce);
        // Which pass, and whether it is one: every check is on public data
        // (the pass, its key, the group's published issuing keys).
        let record = self
            .anonymous(&req.group)?
            .ok_or(RefusalCode::NotAnonymous)?;
        let lifetime = record.lifetime.unsigned_abs();
        let period = Period::containing(now, lifetime).map_err(internal)?;
        let issuer = self.issuer(&req.group, &record, period, now)?;
        let pass = pass::verify(&req.pass, &req.group, issuer.public(), lifetime, now).map_err(
            |e| match e {
                PassError::Expired | PassError::NotYetValid | PassError::WrongIssuer => {
                    RefusalCode::PassExpired
                }
                _ => RefusalCode::BadPass,
            },
        )?;
        let spki = pass
            .pass_key()
            .to_public_key_der()
            .map_err(|_| RefusalCode::BadPass)?;
        if !verify_pss_key(spki.as_bytes(), &req.signed_bytes(), &req.signature) {
            return Err(RefusalCode::BadSignature.into());
        }
        // A valid pass: a member's, whichever. Audited under the pass.
        let pass_id = hex::encode(pass.id());
        trail.known = true;
        trail.row.member_fingerprint = Some(format!("pass:{pass_id}"));
        let keys = self
            .group_key(&req.group, now)?
            .ok_or(RefusalCode::NotAnonymous)?;
        let key = keys.for_entry(&ri, now)?;
        self.admit_as(
            &req.group,
            Admission {
                who: &format!("pass:{pass_id}"),
                timestamp: req.timestamp,
                nonce: req.nonce,
            },
            now,
            instant,
            &mut trail.row,
        )?;
        let content_key = key.unwrap(&ri).map_err(super::release::unwrap_refusal)?;
        let rid = RecipientIdentifier::SubjectKeyIdentifier(SubjectKeyIdentifier(
            OctetString::new(pass.id().to_vec()).map_err(internal)?,
        ));
        let recipient_info = wrap_to_key(spki.as_bytes(), rid, &content_key).map_err(internal)?;
        Ok(ReleaseGrant {
            recipient_info,
            key_hash: req.key_hash(),
        })
    }
}
