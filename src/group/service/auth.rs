//! Who is asking, and may they: the signature by the certificate presented
//! (the first check, see the parent module), the caller's registration and
//! role in the group, and the clock, nonce and rate limit every admitted
//! request ends with, in the protocol's order.
//!
//! May use: the group's keys (signature check) and store (registrations).

use std::time::Instant;

use x509_cert::Certificate;

use super::answer::{internal, Refused, Trail};
use super::Service;
use crate::group::keys::verify_pss;
use crate::group::release::protocol::{RefusalCode, MAX_CLOCK_SKEW, NONCE_LEN};
use crate::group::store::{AuditRecord, MemberRecord, Role};

/// Who is asking, and what they signed.
pub(super) struct Caller<'a> {
    pub(super) cert: &'a Certificate,
    pub(super) fingerprint: &'a str,
    pub(super) signed: Vec<u8>,
    pub(super) signature: &'a [u8],
    pub(super) timestamp: u64,
    pub(super) nonce: [u8; NONCE_LEN],
}

impl Caller<'_> {
    /// The signature by the key of the certificate presented: the first
    /// check after parsing, so that a caller without that key learns nothing.
    pub(super) fn authenticate(&self) -> Result<(), Refused> {
        if verify_pss(self.cert, &self.signed, self.signature) {
            Ok(())
        } else {
            Err(RefusalCode::BadSignature.into())
        }
    }
}

impl Service {
    /// The registration of `fingerprint` with `group` if it has one of
    /// `roles`; `NotAuthorized` if it is registered in another role.
    pub(super) fn member_in_role(
        &self,
        group: &str,
        fingerprint: &str,
        roles: &[Role],
        trail: &mut Trail,
    ) -> Result<Option<MemberRecord>, Refused> {
        let Some(member) = self.store.member(group, fingerprint).map_err(internal)? else {
            return Ok(None);
        };
        // Registered, and (checked before this) holding the key: audited.
        trail.known = true;
        trail.row.member_address = Some(member.address.clone());
        if !roles.contains(&member.role) {
            // An exploder or sender never gets a key released.
            return Err(RefusalCode::NotAuthorized.into());
        }
        Ok(Some(member))
    }

    /// The checks every request ends with, in the protocol's order: the
    /// clock, the nonce, the rate limit (the signature was checked first).
    pub(super) fn admit(
        &self,
        group: &str,
        caller: &Caller<'_>,
        now: u64,
        instant: Instant,
        row: &mut AuditRecord,
    ) -> Result<(), Refused> {
        let admission = Admission {
            who: caller.fingerprint,
            timestamp: caller.timestamp,
            nonce: caller.nonce,
        };
        self.admit_as(group, admission, now, instant, row)
    }

    /// [`Self::admit`] for whoever `admission.who` names: a certificate's
    /// fingerprint, or a pass (`pass:` and its id).
    pub(super) fn admit_as(
        &self,
        group: &str,
        admission: Admission<'_>,
        now: u64,
        instant: Instant,
        row: &mut AuditRecord,
    ) -> Result<(), Refused> {
        let Admission {
            who,
            timestamp,
            nonce,
        } = admission;
        if now.abs_diff(timestamp) > MAX_CLOCK_SKEW {
            return Err(RefusalCode::Stale.into());
        }
        if !self.nonces.insert(nonce, timestamp, now) {
            return Err(RefusalCode::Replay.into());
        }
        // This process's cache refuses its own replays without a round
        // trip; the store refuses those seen by other replicas (with
        // PostgreSQL, a unique key in the database).
        let until = timestamp.saturating_add(MAX_CLOCK_SKEW);
        let clock = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
        match self.store.consume_nonce(&nonce, clock(until), clock(now)) {
            Ok(true) => {}
            Ok(false) => return Err(RefusalCode::Replay.into()),
            Err(e) => {
                // Not consumed anywhere: the request may be retried.
                self.nonces.forget(&nonce);
                return Err(internal(e));
            }
        }
        row.nonce_used = true;
        if let Err(wait) = self.limiter.check(&format!("{group}\0{who}"), instant) {
            // Not processed: the same signed request may be retried later.
            self.nonces.forget(&nonce);
            // If giving it back fails, a retry of these very bytes is a
            // replay; a client signs each attempt anew anyway.
            let _ = self.store.release_nonce(&nonce);
            row.nonce_used = false;
            return Err(Refused::retry_after(RefusalCode::RateLimited, Some(wait)));
        }
        Ok(())
    }
}

/// Who a request is admitted as (the rate limit's key) and its replay
/// protection.
pub(super) struct Admission<'a> {
    pub(super) who: &'a str,
    pub(super) timestamp: u64,
    pub(super) nonce: [u8; NONCE_LEN],
}
