//! The release decision: every check of a release request, in the order the
//! protocol fixes, then the unwrap and re-wrap, and the audit row that must
//! be durable before the answer leaves. Transport-free: [`super::server`]
//! feeds it request bodies, tests can call it directly.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use cms::enveloped_data::RecipientInfo;
use der::Decode;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use super::audit::AuditWriter;
use super::keys::{verify_pss, wrap_for, GroupKey};
use super::limits::{NonceCache, RateLimiter};
use super::store::{AuditRecord, GroupRecord, Store, RELEASED};
use crate::envelope::{check_ktri_version, rid_matches};
use crate::privkey::Passphrase;
use crate::release::protocol::{
    Refusal, RefusalCode, ReleaseGrant, ReleaseRequest, MAX_CLOCK_SKEW,
};

/// Per-member rate limit.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Sustained requests per second per member.
    pub rate: f64,
    /// Requests a member may make at once.
    pub burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rate: 5.0,
            burst: 20,
        }
    }
}

/// What to send back, and what happened (for the log line).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub retry_after: Option<u64>,
    /// The refusal, `None` for a release.
    pub refusal: Option<RefusalCode>,
    /// The audit row as written (no key material in it).
    pub row: AuditRecord,
}

struct Refused {
    code: RefusalCode,
    retry_after: Option<u64>,
}

impl From<RefusalCode> for Refused {
    fn from(code: RefusalCode) -> Self {
        Refused {
            code,
            retry_after: None,
        }
    }
}

/// The group server's state shared by all connections.
pub struct Service {
    store: Arc<dyn Store>,
    /// Kept to open the keys of groups created after the start.
    passphrase: Passphrase,
    keys: RwLock<HashMap<String, Arc<GroupKey>>>,
    nonces: NonceCache,
    limiter: RateLimiter,
    audit: AuditWriter,
}

/// Opens a group's private key with the server passphrase.
pub fn open_group_key(group: &GroupRecord, passphrase: &str) -> anyhow::Result<GroupKey> {
    let key = crate::privkey::open(
        &group.sealed_key,
        Some(passphrase),
        &format!("the private key of group {}", group.name),
    )?;
    GroupKey::new(&key, &group.certificate)
}

impl Service {
    /// Opens every group key (a wrong passphrase fails here, not on the first
    /// request), reloads the nonces consumed within the replay window before
    /// `now`, and starts the audit writer.
    pub fn start(
        store: Arc<dyn Store>,
        passphrase: Passphrase,
        limits: Limits,
        now: u64,
    ) -> anyhow::Result<Service> {
        let mut keys = HashMap::new();
        for group in store.groups()? {
            let key = open_group_key(&group, &passphrase)?;
            keys.insert(group.name, Arc::new(key));
        }
        let nonces = NonceCache::default();
        let since = now.saturating_sub(2 * MAX_CLOCK_SKEW) as i64;
        for (nonce, received) in store.used_nonces(since)? {
            nonces.load(nonce, received.max(0) as u64);
        }
        let audit = AuditWriter::start(Arc::clone(&store))?;
        Ok(Service {
            store,
            passphrase,
            keys: RwLock::new(keys),
            nonces,
            limiter: RateLimiter::new(limits.rate, limits.burst),
            audit,
        })
    }

    /// How many groups have their key open.
    pub fn group_count(&self) -> usize {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The key of `name`; a group created since the start is looked up in the
    /// store and opened on first use.
    fn group_key(&self, name: &str) -> Result<Option<Arc<GroupKey>>, RefusalCode> {
        if let Some(k) = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(Some(Arc::clone(k)));
        }
        let Some(group) = self.store.group(name).map_err(|_| RefusalCode::Internal)? else {
            return Ok(None);
        };
        let key =
            Arc::new(open_group_key(&group, &self.passphrase).map_err(|_| RefusalCode::Internal)?);
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(group.name, Arc::clone(&key));
        Ok(Some(key))
    }

    /// Answers one request body received from `remote`. `now` is the Unix
    /// time, `instant` the monotonic clock for the rate limit.
    pub fn handle(&self, body: &[u8], remote: &str, now: u64, instant: Instant) -> Answer {
        let mut row = AuditRecord {
            time: now as i64,
            remote: Some(remote.to_string()),
            ..Default::default()
        };
        let result = self.decide(body, now, instant, &mut row);
        self.answer(row, result)
    }

    /// Refuses a request that never reached [`Self::handle`] (too large, not
    /// HTTP), with its audit row.
    pub fn refuse(&self, code: RefusalCode, remote: &str, now: u64) -> Answer {
        let row = AuditRecord {
            time: now as i64,
            remote: Some(remote.to_string()),
            ..Default::default()
        };
        self.answer(row, Err(code.into()))
    }

    fn answer(&self, mut row: AuditRecord, result: Result<ReleaseGrant, Refused>) -> Answer {
        row.outcome = match &result {
            Ok(_) => RELEASED.to_string(),
            Err(r) => r.code.as_str().to_string(),
        };
        // The row must be durable before anything is sent, above all a key.
        let result = if self.audit.record(row.clone()) {
            result
        } else {
            Err(RefusalCode::Internal.into())
        };
        match result {
            Ok(grant) => Answer {
                status: 200,
                body: grant.to_json(),
                retry_after: None,
                refusal: None,
                row,
            },
            Err(r) => Answer {
                status: r.code.status(),
                body: Refusal::new(r.code).to_json(),
                retry_after: r.retry_after,
                refusal: Some(r.code),
                row,
            },
        }
    }

    fn decide(
        &self,
        body: &[u8],
        now: u64,
        instant: Instant,
        row: &mut AuditRecord,
    ) -> Result<ReleaseGrant, Refused> {
        let req = ReleaseRequest::from_json(body).map_err(|_| RefusalCode::Malformed)?;
        row.group = Some(req.group.clone());
        row.key_hash = Some(req.key_hash());
        row.nonce = Some(req.nonce);
        let fingerprint = hex::encode(Sha256::digest(&req.certificate));
        row.member_fingerprint = Some(fingerprint.clone());
        let ri =
            RecipientInfo::from_der(&req.recipient_info).map_err(|_| RefusalCode::Malformed)?;
        let cert = Certificate::from_der(&req.certificate).map_err(|_| RefusalCode::Malformed)?;

        let group = self
            .group_key(&req.group)?
            .ok_or(RefusalCode::UnknownGroup)?;
        let ktri = match &ri {
            RecipientInfo::Ktri(k)
                if check_ktri_version(k).is_ok() && rid_matches(&k.rid, &group.certificate) =>
            {
                k
            }
            _ => return Err(RefusalCode::WrongGroup.into()),
        };
        // Read now, never cached: a removal applies to the very next request.
        let member = self
            .store
            .member(&req.group, &fingerprint)
            .map_err(|_| RefusalCode::Internal)?
            .ok_or(RefusalCode::NotMember)?;
        row.member_address = Some(member.address);
        if !verify_pss(&cert, &req.signed_bytes(), &req.signature) {
            return Err(RefusalCode::BadSignature.into());
        }
        if now.abs_diff(req.timestamp) > MAX_CLOCK_SKEW {
            return Err(RefusalCode::Stale.into());
        }
        if !self.nonces.insert(req.nonce, req.timestamp, now) {
            return Err(RefusalCode::Replay.into());
        }
        row.nonce_used = true;
        if let Err(wait) = self
            .limiter
            .check(&format!("{}\0{fingerprint}", req.group), instant)
        {
            // Not processed: the same signed request may be retried later.
            self.nonces.forget(&req.nonce);
            row.nonce_used = false;
            return Err(Refused {
                code: RefusalCode::RateLimited,
                retry_after: Some(wait),
            });
        }
        let content_key = group.unwrap(ktri).map_err(|_| RefusalCode::UnwrapFailed)?;
        let recipient_info = wrap_for(&cert, &content_key).map_err(|_| RefusalCode::Internal)?;
        Ok(ReleaseGrant {
            recipient_info,
            key_hash: req.key_hash(),
        })
    }
}
