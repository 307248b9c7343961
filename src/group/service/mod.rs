//! The release decision: every check of a release request, in the order the
//! protocol fixes, then the unwrap and re-wrap, and the audit row that must
//! be durable before the answer leaves. Transport-free: [`super::server`]
//! feeds it request bodies, tests can call it directly.
//!
//! # What a caller without a key learns, and what is stored for them
//!
//! The signature is checked against the certificate the request carries
//! before anything about groups or members is looked up: without the
//! private key of some certificate, every request gets `bad_signature`,
//! byte for byte the same whether the certificate is a member's, a
//! stranger's, or the group does not exist. A caller who does hold a key
//! (anyone can make a self-signed certificate) learns only "not a member"
//! for a group that does not exist, as for one they are not in.
//!
//! Only a request whose signature verifies by a certificate the group knows
//! (a registered member, exploder or sender, a deposit's depositor or named
//! reader) gets an audit row. Everything else is refused from memory and
//! writes nothing, so an unauthenticated flood cannot fill the disk; the
//! server's per-address rate limit sits in front of the signature check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use cms::enveloped_data::{KekRecipientInfo, RecipientInfo};
use der::{Decode, Encode};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::admin::secret_purpose;
use super::audit::AuditWriter;
use super::keys::{verify_pss, wrap_for, GroupKey, CONTENT_KEY_LENGTHS};
use super::limits::{NonceCache, RateLimiter};
use super::store::{
    AuditRecord, DepositRecord, DepositState, GroupRecord, MemberRecord, Role, Store, RELEASED,
};
use super::vault::{purpose, Vault};
use crate::group::release::calls::{
    DepositAnswer, DepositPayload, MemberEntry, MembersAnswer, Op, Readers, RevokeAnswer,
    RevokePayload, RewrapAnswer, RewrapPayload, SecretEntry, SecretsAnswer, SignedCall,
};
use crate::group::release::protocol::{
    key_hash, Refusal, RefusalCode, ReleaseGrant, ReleaseRequest, MAX_CLOCK_SKEW, NONCE_LEN,
};
use crate::smime::envelope::{
    check_ktri_version, kek_recipient_for_bytes, rid_matches, unwrap_kekri_bytes, KEK_LEN,
};
use crate::smime::keyref::{parse_id, KeyRef, KeyRefKind, KEY_ID_LEN};
use crate::smime::privkey::Passphrase;

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
    /// The audit row (no key material in it); written only if `audited`.
    pub row: AuditRecord,
    /// Whether the row is in the audit log (see the module documentation).
    pub audited: bool,
    /// Why the server failed, for an `internal` refusal; for the log only.
    pub cause: Option<String>,
}

impl Answer {
    /// The operator's log line for a refused request (`None` for an answer that
    /// is no refusal): who asked for what, and for an `internal` refusal, why
    /// the server failed. The row holds no key material, and the causes name
    /// files and operations, never key bytes.
    pub fn log_line(&self) -> Option<String> {
        let code = self.refusal?;
        let row = &self.row;
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let cause = self
            .cause
            .as_deref()
            .map(|c| format!(": {}", c.escape_debug()))
            .unwrap_or_default();
        Some(format!(
            "refused {code} group={} member={} fingerprint={} key={} from {}{}{cause}",
            or_dash(&row.group).escape_debug(),
            or_dash(&row.member_address),
            or_dash(&row.member_fingerprint),
            or_dash(&row.key_hash),
            or_dash(&row.remote),
            if self.audited { "" } else { " (not audited)" },
        ))
    }
}

struct Refused {
    code: RefusalCode,
    retry_after: Option<u64>,
    /// For [`RefusalCode::Internal`]: what failed, for the operator's log.
    cause: Option<String>,
}

impl From<RefusalCode> for Refused {
    fn from(code: RefusalCode) -> Self {
        Refused {
            code,
            retry_after: None,
            cause: None,
        }
    }
}

/// An internal failure, keeping its cause for the log (never for the
/// client). The causes are store and key-handling errors, which name files
/// and operations, never key bytes.
fn internal(cause: impl std::fmt::Display) -> Refused {
    Refused {
        code: RefusalCode::Internal,
        retry_after: None,
        cause: Some(cause.to_string()),
    }
}

/// The audit row being filled in, and whether it is to be stored: only
/// once the caller proved to hold the key of a certificate the group knows.
#[derive(Default)]
struct Trail {
    row: AuditRecord,
    known: bool,
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
    /// Opened on first need (group secrets, deposits).
    vault: Mutex<Option<Arc<Vault>>>,
}

/// Opens a group's private key with the server passphrase.
pub fn open_group_key(group: &GroupRecord, passphrase: &str) -> anyhow::Result<GroupKey> {
    let key = crate::smime::privkey::open(
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
            vault: Mutex::new(None),
        })
    }

    /// How many groups have their key open.
    pub fn group_count(&self) -> usize {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The key of `name`; a group created since the start is looked up in the
    /// store and opened on first use.
    fn group_key(&self, name: &str) -> Result<Option<Arc<GroupKey>>, Refused> {
        if let Some(k) = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(Some(Arc::clone(k)));
        }
        let Some(group) = self.store.group(name).map_err(internal)? else {
            return Ok(None);
        };
        let key = Arc::new(open_group_key(&group, &self.passphrase).map_err(internal)?);
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(group.name, Arc::clone(&key));
        Ok(Some(key))
    }

    /// Answers one request body received from `remote`. `now` is the Unix
    /// time, `instant` the monotonic clock for the rate limit.
    pub fn handle(&self, body: &[u8], remote: &str, now: u64, instant: Instant) -> Answer {
        let mut trail = Trail::new(now, remote, "release");
        let result = self
            .decide(body, now, instant, &mut trail)
            .map(|grant| grant.to_json());
        self.answer(trail, result)
    }

    /// Refuses a request that never reached [`Self::handle`] (too large, not
    /// HTTP, over the address's rate): nothing is stored for it.
    pub fn refuse(
        &self,
        code: RefusalCode,
        retry_after: Option<u64>,
        remote: &str,
        now: u64,
    ) -> Answer {
        let refused = Refused {
            code,
            retry_after,
            cause: None,
        };
        self.answer(Trail::new(now, remote, ""), Err(refused))
    }

    fn answer(&self, trail: Trail, result: Result<Vec<u8>, Refused>) -> Answer {
        let Trail { mut row, known } = trail;
        row.outcome = match &result {
            Ok(_) => RELEASED.to_string(),
            Err(r) => r.code.as_str().to_string(),
        };
        // Nothing is released without a row: a grant implies a known caller.
        let audited = known || result.is_ok();
        // The row must be durable before anything is sent, above all a key.
        let result = match (audited, result) {
            (false, result) => result,
            (true, result) => match self.audit.record(row.clone()) {
                Ok(()) => result,
                Err(e) => Err(internal(format_args!("audit log: {e}"))),
            },
        };
        match result {
            Ok(body) => Answer {
                status: 200,
                body,
                retry_after: None,
                refusal: None,
                row,
                audited,
                cause: None,
            },
            Err(r) => Answer {
                status: r.code.status(),
                body: Refusal::new(r.code).to_json(),
                retry_after: r.retry_after,
                refusal: Some(r.code),
                row,
                audited,
                cause: r.cause,
            },
        }
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
        // Before anything about the group is looked up (module docs).
        caller.authenticate()?;
        let content_key = match &ri {
            // Needs no group key: a deposit of a group that does not exist
            // is as unknown as any other deposit id.
            RecipientInfo::Kekri(k) => {
                self.open_deposit(&req.group, k, &caller, now, instant, trail)?
            }
            _ => {
                // An unknown group answers as a group the caller is not in.
                let group = self.group_key(&req.group)?.ok_or(RefusalCode::NotMember)?;
                // Read now, never cached: a removal applies to the very next request.
                self.member_in_role(&req.group, &fingerprint, &[Role::Member], trail)?
                    .ok_or(RefusalCode::NotMember)?;
                let RecipientInfo::Ktri(k) = &ri else {
                    return Err(RefusalCode::WrongGroup.into());
                };
                if check_ktri_version(k).is_err() || !rid_matches(&k.rid, &group.certificate) {
                    return Err(RefusalCode::WrongGroup.into());
                }
                self.admit(&req.group, &caller, now, instant, &mut trail.row)?;
                group.unwrap(k).map_err(|_| RefusalCode::UnwrapFailed)?
            }
        };
        let recipient_info = wrap_for(&cert, &content_key).map_err(internal)?;
        Ok(ReleaseGrant {
            recipient_info,
            key_hash: req.key_hash(),
        })
    }

    /// The registration of `fingerprint` with `group` if it has one of
    /// `roles`; `NotAuthorized` if it is registered in another role.
    fn member_in_role(
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
    fn admit(
        &self,
        group: &str,
        caller: &Caller<'_>,
        now: u64,
        instant: Instant,
        row: &mut AuditRecord,
    ) -> Result<(), Refused> {
        if now.abs_diff(caller.timestamp) > MAX_CLOCK_SKEW {
            return Err(RefusalCode::Stale.into());
        }
        if !self.nonces.insert(caller.nonce, caller.timestamp, now) {
            return Err(RefusalCode::Replay.into());
        }
        row.nonce_used = true;
        if let Err(wait) = self
            .limiter
            .check(&format!("{group}\0{}", caller.fingerprint), instant)
        {
            // Not processed: the same signed request may be retried later.
            self.nonces.forget(&caller.nonce);
            row.nonce_used = false;
            return Err(Refused {
                code: RefusalCode::RateLimited,
                retry_after: Some(wait),
                cause: None,
            });
        }
        Ok(())
    }

    /// The vault, opened (or created) on first use with the kept passphrase.
    fn vault(&self) -> Result<Arc<Vault>, Refused> {
        let mut slot = self.vault.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = slot.as_ref() {
            return Ok(Arc::clone(v));
        }
        let vault = Arc::new(
            Vault::open_or_create(&*self.store, &self.passphrase, &mut OsRng).map_err(internal)?,
        );
        *slot = Some(Arc::clone(&vault));
        Ok(vault)
    }

    /// A deposit release: the reader must be allowed by the deposit, the
    /// deposit live and unexpired; then its key-encryption key opens the
    /// message's entry.
    fn open_deposit(
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
        // Before anything about the group is looked up (module docs).
        caller.authenticate()?;
        let (roles, unregistered): (&[Role], RefusalCode) = match op {
            Op::Members | Op::Rewrap => (&[Role::Exploder], RefusalCode::NotAuthorized),
            Op::Secrets => (&[Role::Member], RefusalCode::NotMember),
            Op::Deposit => (&[Role::Member, Role::Sender], RefusalCode::NotAuthorized),
            // Whoever deposited may revoke, registered or not (any more).
            Op::Revoke => (&[], RefusalCode::NotAuthorized),
        };
        if op == Op::Revoke {
            // No group lookup: a deposit of a group that does not exist is
            // as unknown as any other deposit id.
            return self.revoke(&call, &caller, now, instant, trail);
        }
        // An unknown group answers as a group the caller is not registered in.
        let group = self.group_key(&call.group)?.ok_or(unregistered)?;
        self.member_in_role(&call.group, &fingerprint, roles, trail)?
            .ok_or(unregistered)?;
        self.admit(&call.group, &caller, now, instant, &mut trail.row)?;
        let row = &mut trail.row;
        match op {
            Op::Members => {
                let members = self
                    .store
                    .members(&call.group)
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
            Op::Rewrap => {
                let payload: RewrapPayload =
                    call.payload_as().map_err(|_| RefusalCode::Malformed)?;
                row.key_hash = Some(key_hash(&payload.recipient_info));
                let ktri = match RecipientInfo::from_der(&payload.recipient_info) {
                    Ok(RecipientInfo::Ktri(k))
                        if check_ktri_version(&k).is_ok()
                            && rid_matches(&k.rid, &group.certificate) =>
                    {
                        k
                    }
                    Ok(_) => return Err(RefusalCode::WrongGroup.into()),
                    Err(_) => return Err(RefusalCode::Malformed.into()),
                };
                let secret = self
                    .store
                    .secrets(&call.group)
                    .map_err(internal)?
                    .pop()
                    .ok_or(RefusalCode::NoSecret)?;
                let content_key = group.unwrap(&ktri).map_err(|_| RefusalCode::UnwrapFailed)?;
                let secret_bytes = self
                    .vault()?
                    .unseal(&secret_purpose(&call.group, &secret.id), &secret.sealed)
                    .map_err(internal)?;
                let id =
                    parse_id(&secret.id).ok_or_else(|| internal("a stored id is not an id"))?;
                let keyref = KeyRef::new(KeyRefKind::GroupSecret, &call.group, id);
                let ri = kek_recipient_for_bytes(&keyref.to_der(), &secret_bytes, &content_key)
                    .map_err(internal)?;
                Ok(json(&RewrapAnswer {
                    recipient_info: ri.to_der().map_err(internal)?,
                    key_id: secret.id,
                }))
            }
            Op::Secrets => {
                let records = self.store.secrets(&call.group).map_err(internal)?;
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
                        .unseal(&secret_purpose(&call.group, &r.id), &r.sealed)
                        .map_err(internal)?;
                    secrets.push(SecretEntry {
                        current: Some(&r.id) == newest.as_ref(),
                        recipient_info: wrap_for(&cert, &bytes).map_err(internal)?,
                        key_id: r.id,
                        created: r.created,
                    });
                }
                Ok(json(&SecretsAnswer { secrets }))
            }
            Op::Deposit => {
                let payload: DepositPayload =
                    call.payload_as().map_err(|_| RefusalCode::Malformed)?;
                check_readers(&payload, now)?;
                let mut id = [0u8; KEY_ID_LEN];
                OsRng.fill_bytes(&mut id);
                let id = hex::encode(id);
                row.key_hash = Some(id.clone());
                let mut kek = Zeroizing::new([0u8; KEK_LEN]);
                OsRng.fill_bytes(&mut kek[..]);
                let sealed = self
                    .vault()?
                    .seal(&deposit_purpose(&call.group, &id), &kek[..], &mut OsRng)
                    .map_err(internal)?;
                let key = wrap_for(&cert, &kek[..]).map_err(internal)?;
                self.store
                    .create_deposit(&DepositRecord {
                        id: id.clone(),
                        group: call.group.clone(),
                        depositor: fingerprint.clone(),
                        readers: serde_json::to_string(&payload.readers).map_err(internal)?,
                        created: now as i64,
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
            Op::Revoke => Err(internal("revoke is answered before the group lookup")),
        }
    }

    /// `revoke`: only the depositor, and only an existing deposit of the group.
    fn revoke(
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

/// Who is asking, and what they signed.
struct Caller<'a> {
    cert: &'a Certificate,
    fingerprint: &'a str,
    signed: Vec<u8>,
    signature: &'a [u8],
    timestamp: u64,
    nonce: [u8; NONCE_LEN],
}

impl Caller<'_> {
    /// The signature by the key of the certificate presented: the first
    /// check after parsing, so that a caller without that key learns nothing.
    fn authenticate(&self) -> Result<(), Refused> {
        if verify_pss(self.cert, &self.signed, self.signature) {
            Ok(())
        } else {
            Err(RefusalCode::BadSignature.into())
        }
    }
}

impl Trail {
    fn new(now: u64, remote: &str, op: &str) -> Trail {
        Trail {
            row: AuditRecord {
                // The server's clock, seconds; in range until the year 2^63.
                time: i64::try_from(now).unwrap_or(i64::MAX),
                remote: Some(remote.to_string()),
                op: op.to_string(),
                ..Default::default()
            },
            known: false,
        }
    }
}

/// An answer body: they are all plain data.
fn json(answer: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(answer).expect("answers are plain data")
}

#[cfg(test)]
mod tests {
    //! The calls and deposits, in process: every role and refusal of the
    //! new operations, with real keys (the fixtures) and a real store.

    use super::*;
    use crate::group::admin::{self, NewGroup};
    use crate::group::release::calls::{MembersPayload, SecretsPayload};
    use crate::group::release::client::{sign_call, sign_request};
    use crate::group::release::protocol::ReleaseGrant;
    use crate::group::store::SqliteStore;
    use crate::smime::envelope::{
        kek_recipient, key_trans_recipient, unwrap_key_bytes, ContentCipher, ContentKey,
    };

    const PASS: &str = "server passphrase";
    const NOW: u64 = 1_800_000_000;

    struct Who {
        key: rsa::RsaPrivateKey,
        cert: Certificate,
        pem: Vec<u8>,
    }

    fn who(name: &str) -> Who {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
        let key = std::fs::read_to_string(format!("{dir}{name}.key.pem")).unwrap();
        let pem = std::fs::read(format!("{dir}{name}.cert.pem")).unwrap();
        let info = crate::smime::certs::parse_bundle(&pem).unwrap().remove(0);
        Who {
            key: crate::smime::privkey::open(&key, None, name).unwrap(),
            cert: info.cert,
            pem,
        }
    }

    struct World {
        _dir: tempfile::TempDir,
        store: Arc<SqliteStore>,
        service: Service,
        group_cert: Certificate,
    }

    /// Group `list` with bob and carol as members, erin the exploder,
    /// alice a sender; dave is nobody.
    fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("g.sqlite3")).unwrap());
        let spec = NewGroup {
            name: "list",
            email: "list@example.org",
            bits: 2048,
            days: 30,
        };
        let group = admin::create_group(&*store, &spec, PASS, NOW as i64 - 10, &mut OsRng).unwrap();
        for (name, role) in [
            ("bob", Role::Member),
            ("carol", Role::Member),
            ("erin", Role::Exploder),
            ("alice", Role::Sender),
        ] {
            admin::add_member(&*store, "list", &who(name).pem, role, 0).unwrap();
        }
        let service = Service::start(
            Arc::clone(&store) as Arc<dyn Store>,
            Zeroizing::new(PASS.to_string()),
            Limits {
                rate: 1000.0,
                burst: 1000,
            },
            NOW,
        )
        .unwrap();
        World {
            _dir: dir,
            store,
            service,
            group_cert: Certificate::from_der(&group.certificate).unwrap(),
        }
    }

    impl World {
        fn call(&self, op: Op, by: &Who, payload: &impl serde::Serialize, now: u64) -> Answer {
            let call = sign_call(
                op,
                "list",
                serde_json::to_vec(payload).unwrap(),
                by.cert.to_der().unwrap(),
                &by.key,
                now,
                &mut OsRng,
            )
            .unwrap();
            self.service
                .handle_call(op, &call.to_json(), "test", now, Instant::now())
        }

        fn release(&self, by: &Who, entry: &RecipientInfo, now: u64) -> Answer {
            let req = sign_request(
                "list",
                entry.to_der().unwrap(),
                by.cert.to_der().unwrap(),
                &by.key,
                now,
                &mut OsRng,
            )
            .unwrap();
            self.service
                .handle(&req.to_json(), "test", now, Instant::now())
        }

        /// The message key wrapped to the group certificate.
        fn group_entry(&self, cek: &ContentKey) -> RecipientInfo {
            key_trans_recipient(&self.group_cert, cek, Default::default(), &mut OsRng).unwrap()
        }
    }

    fn refused(a: &Answer) -> Option<RefusalCode> {
        a.refusal
    }

    /// The content key in a release grant, opened with `by`'s key.
    fn granted_key(a: &Answer, by: &Who) -> Vec<u8> {
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let grant = ReleaseGrant::from_json(&a.body).unwrap();
        let ri = RecipientInfo::from_der(&grant.recipient_info).unwrap();
        unwrap_key_bytes(&ri, &by.cert, &by.key, 32, &mut OsRng)
            .unwrap()
            .to_vec()
    }

    #[test]
    fn roles_decide_who_may_call_what() {
        let w = world();
        let (bob, erin, alice, dave) = (who("bob"), who("erin"), who("alice"), who("dave"));
        let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
        let entry = w.group_entry(&cek);
        // Only members get keys released; the exploder and the sender never do.
        assert_eq!(
            granted_key(&w.release(&bob, &entry, NOW), &bob),
            cek.bytes()
        );
        assert_eq!(
            refused(&w.release(&erin, &entry, NOW)),
            Some(RefusalCode::NotAuthorized)
        );
        assert_eq!(
            refused(&w.release(&alice, &entry, NOW)),
            Some(RefusalCode::NotAuthorized)
        );
        assert_eq!(
            refused(&w.release(&dave, &entry, NOW)),
            Some(RefusalCode::NotMember)
        );

        // The member list is for the exploder alone, and lists members only.
        let a = w.call(Op::Members, &erin, &MembersPayload {}, NOW);
        assert_eq!(a.status, 200);
        let list: MembersAnswer = serde_json::from_slice(&a.body).unwrap();
        let mut addrs: Vec<_> = list.members.iter().map(|m| m.address.as_str()).collect();
        addrs.sort();
        assert_eq!(addrs, ["bob@example.org", "carol@example.org"]);
        for by in [&bob, &alice, &dave] {
            let a = w.call(Op::Members, by, &MembersPayload {}, NOW);
            assert_eq!(refused(&a), Some(RefusalCode::NotAuthorized));
        }
        // Secrets are for members; deposits for members and senders.
        assert_eq!(
            refused(&w.call(Op::Secrets, &erin, &SecretsPayload {}, NOW)),
            Some(RefusalCode::NotAuthorized)
        );
        assert_eq!(
            refused(&w.call(Op::Secrets, &dave, &SecretsPayload {}, NOW)),
            Some(RefusalCode::NotMember)
        );
        let deposit = DepositPayload {
            readers: Readers::Members,
            expires: None,
        };
        assert_eq!(
            refused(&w.call(Op::Deposit, &erin, &deposit, NOW)),
            Some(RefusalCode::NotAuthorized)
        );
        assert_eq!(w.call(Op::Deposit, &alice, &deposit, NOW).status, 200);
        assert_eq!(w.call(Op::Deposit, &bob, &deposit, NOW).status, 200);
        // Every call is audited under its operation.
        let rows = w.store.audit("list", None).unwrap();
        assert!(rows
            .iter()
            .any(|r| r.op == "members" && r.outcome == RELEASED));
        assert!(rows
            .iter()
            .any(|r| r.op == "deposit" && r.outcome == "not_authorized"));
        // dave's not_member is not stored: he is no certificate the group knows.
        assert_eq!(rows.iter().filter(|r| r.op == "release").count(), 3);
    }

    #[test]
    fn an_internal_failure_logs_its_cause_and_no_key_bytes() {
        let w = world();
        let bob = who("bob");
        let mut key_bytes = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut key_bytes);
        let cek = ContentKey::from_bytes(ContentCipher::Aes256Gcm, &key_bytes).unwrap();
        let entry = w.group_entry(&cek);
        // The store breaks under the running service: the member lookup fails.
        let db = rusqlite::Connection::open(w._dir.path().join("g.sqlite3")).unwrap();
        db.execute_batch("ALTER TABLE members RENAME TO members_gone")
            .unwrap();
        let a = w.release(&bob, &entry, NOW);
        assert_eq!(refused(&a), Some(RefusalCode::Internal));
        let body = String::from_utf8_lossy(&a.body);
        assert!(
            !body.contains("members"),
            "the cause reached the client: {body}"
        );
        let line = a.log_line().unwrap();
        assert!(line.starts_with("refused internal"), "{line}");
        assert!(line.contains("no such table: members"), "{line}");
        // Neither the content key nor its wrapped entry, in any spelling.
        let entry_der = entry.to_der().unwrap();
        for secret in [&key_bytes[..], &entry_der[..]] {
            use base64::Engine;
            for text in [
                hex::encode(secret),
                hex::encode_upper(secret),
                base64::engine::general_purpose::STANDARD.encode(secret),
            ] {
                assert!(!line.contains(&text[..16]), "{line}");
            }
        }
    }

    #[test]
    fn rewrap_needs_a_secret_and_members_open_it_with_theirs() {
        let w = world();
        let (bob, erin) = (who("bob"), who("erin"));
        let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
        let rewrap = RewrapPayload {
            recipient_info: w.group_entry(&cek).to_der().unwrap(),
        };
        assert_eq!(
            refused(&w.call(Op::Rewrap, &erin, &rewrap, NOW)),
            Some(RefusalCode::NoSecret)
        );
        admin::rotate_secret(&*w.store, "list", PASS, NOW as i64, &mut OsRng).unwrap();
        let a = w.call(Op::Rewrap, &erin, &rewrap, NOW);
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let rewrapped: RewrapAnswer = serde_json::from_slice(&a.body).unwrap();
        let RecipientInfo::Kekri(kekri) =
            RecipientInfo::from_der(&rewrapped.recipient_info).unwrap()
        else {
            panic!("not a kek entry");
        };
        let keyref = KeyRef::from_der(kekri.kek_id.kek_identifier.as_bytes()).unwrap();
        assert_eq!(keyref.kind, KeyRefKind::GroupSecret);
        assert_eq!(keyref.id_hex(), rewrapped.key_id);
        // bob fetches the secret and opens the entry with it.
        let a = w.call(Op::Secrets, &bob, &SecretsPayload {}, NOW);
        let secrets: SecretsAnswer = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(secrets.secrets.len(), 1);
        assert!(secrets.secrets[0].current);
        let entry = RecipientInfo::from_der(&secrets.secrets[0].recipient_info).unwrap();
        let secret = unwrap_key_bytes(&entry, &bob.cert, &bob.key, KEK_LEN, &mut OsRng).unwrap();
        let opened = unwrap_kekri_bytes(&kekri, &secret).unwrap();
        assert_eq!(&opened[..], cek.bytes());
        // Another certificate's entry, or a broken one.
        let other =
            key_trans_recipient(&who("carol").cert, &cek, Default::default(), &mut OsRng).unwrap();
        let a = w.call(
            Op::Rewrap,
            &erin,
            &RewrapPayload {
                recipient_info: other.to_der().unwrap(),
            },
            NOW,
        );
        assert_eq!(refused(&a), Some(RefusalCode::WrongGroup));
        let RecipientInfo::Ktri(mut broken) = w.group_entry(&cek) else {
            panic!()
        };
        let mut bytes = broken.enc_key.as_bytes().to_vec();
        bytes[5] ^= 1;
        broken.enc_key = der::asn1::OctetString::new(bytes).unwrap();
        let a = w.call(
            Op::Rewrap,
            &erin,
            &RewrapPayload {
                recipient_info: RecipientInfo::Ktri(broken).to_der().unwrap(),
            },
            NOW,
        );
        assert_eq!(refused(&a), Some(RefusalCode::UnwrapFailed));
        // A rotation makes a new current secret; the old one stays.
        admin::rotate_secret(&*w.store, "list", PASS, NOW as i64 + 1, &mut OsRng).unwrap();
        let a = w.call(Op::Secrets, &bob, &SecretsPayload {}, NOW);
        let secrets: SecretsAnswer = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(secrets.secrets.len(), 2);
        assert!(!secrets.secrets[0].current && secrets.secrets[1].current);
        // A wrong passphrase cannot issue secrets.
        assert!(admin::rotate_secret(&*w.store, "list", "wrong", NOW as i64, &mut OsRng).is_err());
    }

    /// The sender's side of a deposit: the key-encryption key, and the
    /// message's entry made with it.
    fn deposit(
        w: &World,
        by: &Who,
        readers: Readers,
        expires: Option<u64>,
    ) -> (String, RecipientInfo, ContentKey) {
        let a = w.call(Op::Deposit, by, &DepositPayload { readers, expires }, NOW);
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let answer: DepositAnswer = serde_json::from_slice(&a.body).unwrap();
        let key = RecipientInfo::from_der(&answer.key).unwrap();
        let kek = unwrap_key_bytes(&key, &by.cert, &by.key, KEK_LEN, &mut OsRng).unwrap();
        let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
        let keyref = KeyRef::new(
            KeyRefKind::Deposit,
            "list",
            parse_id(&answer.deposit_id).unwrap(),
        );
        let entry = kek_recipient(&keyref.to_der(), &kek, &cek).unwrap();
        (answer.deposit_id, entry, cek)
    }

    #[test]
    fn deposits_release_to_their_readers_until_revoked_or_expired() {
        let w = world();
        let (alice, bob, carol, dave) = (who("alice"), who("bob"), who("carol"), who("dave"));
        let bob_fp = hex::encode(Sha256::digest(bob.cert.to_der().unwrap()));

        // Readers by certificate: bob, and the depositor; carol is a member but not a reader.
        let (id, entry, cek) = deposit(&w, &alice, Readers::Certificates(vec![bob_fp]), None);
        assert_eq!(
            granted_key(&w.release(&bob, &entry, NOW), &bob),
            cek.bytes()
        );
        assert_eq!(
            granted_key(&w.release(&alice, &entry, NOW), &alice),
            cek.bytes()
        );
        assert_eq!(
            refused(&w.release(&carol, &entry, NOW)),
            Some(RefusalCode::NotMember)
        );
        assert_eq!(
            refused(&w.release(&dave, &entry, NOW)),
            Some(RefusalCode::NotMember)
        );
        // Only the depositor revokes; then nobody reads, and again is a no-op.
        let revoke = RevokePayload { deposit_id: id };
        assert_eq!(
            refused(&w.call(Op::Revoke, &bob, &revoke, NOW)),
            Some(RefusalCode::NotAuthorized)
        );
        let a = w.call(Op::Revoke, &alice, &revoke, NOW);
        assert!(
            serde_json::from_slice::<RevokeAnswer>(&a.body)
                .unwrap()
                .revoked
        );
        let a = w.call(Op::Revoke, &alice, &revoke, NOW);
        assert!(
            !serde_json::from_slice::<RevokeAnswer>(&a.body)
                .unwrap()
                .revoked
        );
        for by in [&bob, &alice] {
            assert_eq!(
                refused(&w.release(by, &entry, NOW)),
                Some(RefusalCode::Revoked)
            );
        }
        let gone = w.store.deposit(&revoke.deposit_id).unwrap().unwrap();
        assert_eq!(gone.sealed_kek, None, "the revoked key is deleted");

        // Readers = members, with an expiry.
        let (id, entry, cek) = deposit(&w, &alice, Readers::Members, Some(NOW + 60));
        assert_eq!(
            granted_key(&w.release(&carol, &entry, NOW + 59), &carol),
            cek.bytes()
        );
        assert_eq!(
            refused(&w.release(&dave, &entry, NOW)),
            Some(RefusalCode::NotMember)
        );
        assert_eq!(
            refused(&w.release(&carol, &entry, NOW + 60)),
            Some(RefusalCode::Expired)
        );
        assert_eq!(w.store.deposit(&id).unwrap().unwrap().sealed_kek, None);
        // The purge deletes expired keys without a request.
        let (id, _, _) = deposit(&w, &alice, Readers::Members, Some(NOW + 5));
        assert_eq!(w.service.purge_expired(NOW + 4).unwrap(), 0);
        assert_eq!(w.service.purge_expired(NOW + 5).unwrap(), 1);
        assert_eq!(
            w.store.deposit(&id).unwrap().unwrap().state,
            DepositState::Expired
        );

        // Bad deposits and bad references.
        for bad in [
            DepositPayload {
                readers: Readers::Members,
                expires: Some(NOW - 1),
            },
            DepositPayload {
                readers: Readers::Certificates(vec!["not a fingerprint".into()]),
                expires: None,
            },
            DepositPayload {
                readers: Readers::Certificates(Vec::new()),
                expires: None,
            },
        ] {
            assert_eq!(
                refused(&w.call(Op::Deposit, &alice, &bad, NOW)),
                Some(RefusalCode::Malformed)
            );
        }
        let (_, entry, _) = deposit(&w, &alice, Readers::Members, None);
        let RecipientInfo::Kekri(mut kekri) = entry else {
            panic!()
        };
        let unknown = KeyRef::new(KeyRefKind::Deposit, "list", [0; KEY_ID_LEN]);
        kekri.kek_id.kek_identifier = der::asn1::OctetString::new(unknown.to_der()).unwrap();
        assert_eq!(
            refused(&w.release(&bob, &RecipientInfo::Kekri(kekri.clone()), NOW)),
            Some(RefusalCode::UnknownDeposit)
        );
        let elsewhere = KeyRef::new(KeyRefKind::Deposit, "other", [0; KEY_ID_LEN]);
        kekri.kek_id.kek_identifier = der::asn1::OctetString::new(elsewhere.to_der()).unwrap();
        assert_eq!(
            refused(&w.release(&bob, &RecipientInfo::Kekri(kekri), NOW)),
            Some(RefusalCode::WrongGroup)
        );
    }

    /// Issue 11 item 9: an expiry of 2^64-1 was stored as -1 and purged at
    /// once. Every expiry outside (now, now + 100 years] is refused.
    #[test]
    fn deposit_expiries_out_of_range_are_refused() {
        let w = world();
        let alice = who("alice");
        for expires in [
            u64::MAX,
            i64::MAX as u64 + 1,
            i64::MAX as u64,
            NOW + MAX_DEPOSIT_LIFETIME + 1,
            NOW,
            0,
        ] {
            let payload = DepositPayload {
                readers: Readers::Members,
                expires: Some(expires),
            };
            let a = w.call(Op::Deposit, &alice, &payload, NOW);
            assert_eq!(refused(&a), Some(RefusalCode::Malformed), "{expires}");
        }
        let furthest = NOW + MAX_DEPOSIT_LIFETIME;
        let (id, _, _) = deposit(&w, &alice, Readers::Members, Some(furthest));
        let stored = w.store.deposit(&id).unwrap().unwrap();
        assert_eq!(stored.expires, Some(furthest as i64));
        assert_eq!(w.service.purge_expired(NOW + 1).unwrap(), 0);
    }

    /// Issue 11 item 4: refusals before the signature verifies, and those of
    /// certificates the group does not know, store nothing.
    #[test]
    fn only_known_signed_callers_are_audited() {
        let w = world();
        let (bob, dave) = (who("bob"), who("dave"));
        let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
        let entry = w.group_entry(&cek);
        let a = w.service.handle(b"{not json", "test", NOW, Instant::now());
        assert!(!a.audited);
        let a = w.release(&dave, &entry, NOW);
        assert_eq!(
            (refused(&a), a.audited),
            (Some(RefusalCode::NotMember), false)
        );
        let a = w.call(Op::Secrets, &dave, &SecretsPayload {}, NOW);
        assert_eq!(
            (refused(&a), a.audited),
            (Some(RefusalCode::NotMember), false)
        );
        let a = w.release(&bob, &entry, NOW);
        assert!(a.audited && a.refusal.is_none());
        assert_eq!(w.store.audit("list", None).unwrap().len(), 1);
    }
}
