//! The release decision and the signed calls: every check of a request, in
//! the order the protocol fixes, then the unwrap and re-wrap, and the audit
//! row that must be durable before the answer leaves. Transport-free:
//! [`super::server`] feeds it request bodies, tests can call it directly.
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
//!
//! # Parts
//!
//! This module holds the state all connections share ([`Service`]: the
//! store, the open group keys, the replay cache, the rate limiter, the audit
//! writer, the vault) and re-exports the public items of its parts:
//!
//! - `release`: the release path ([`Service::handle`]): a message's entry
//!   for the group key, or for a deposit, opened and re-wrapped;
//! - `calls`: the signed calls ([`Service::handle_call`]): the gate each
//!   kind of call passes (roles, membership), then one function per kind;
//! - `deposits`: key deposits, their whole life: made, checked, released,
//!   revoked, expired;
//! - `auth`: who is asking (the signature), their registration and role,
//!   and the clock, nonce and rate-limit checks every request ends with;
//! - `generations`: a group's current and retired keys, and which one an
//!   entry is for;
//! - `passes`: anonymous release (issue #17): the public issuing keys, the
//!   issuance of membership passes, and releases to a pass;
//! - `health`: `GET /health`'s checks ([`Service::health`]), which name no
//!   group;
//! - `answer`: the refusal and audit plumbing: a refusal with its cause,
//!   the audit row filled in along the way, and the [`Answer`], which
//!   leaves only once that row is durable;
//! - `tests`: the calls and deposits in process, with real keys and store.
//!
//! May use: the server's store, keys, limits, audit writer and vault, the
//! release protocol's messages, and [`crate::smime`] for CMS entries and
//! key references.

mod answer;
mod auth;
mod calls;
mod deposits;
mod generations;
mod health;
mod passes;
mod release;
#[cfg(test)]
mod tests;

pub use answer::Answer;
pub use deposits::{MAX_DEPOSIT_LIFETIME, MAX_DEPOSIT_READERS};
pub use health::{Check, Health};
pub use passes::{seed_purpose, RENEW_AHEAD};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use der::Decode;
use rand_core::OsRng;
use x509_cert::Certificate;

use super::audit::AuditWriter;
use super::keys::GroupKey;
use super::limits::{NonceCache, RateLimiter};
use super::store::{GroupRecord, Store};
use super::token::{is_pkcs11_uri, module_path, PinSource, Pkcs11Uri, TokenKey};
use super::vault::Vault;
use crate::error::{fail, Exit};
use crate::group::release::protocol::MAX_CLOCK_SKEW;
use crate::group::token::default_pin;
use crate::smime::privkey::Passphrase;
use answer::{internal, Refused};
use generations::{GroupKeys, Retired};

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

/// The group server's state shared by all connections.
pub struct Service {
    store: Arc<dyn Store>,
    /// Kept to open the keys of groups created after the start.
    passphrase: Passphrase,
    /// Every group's key generations, reloaded when the store's generation
    /// differs (a rotation by the admin command).
    keys: RwLock<HashMap<String, Arc<GroupKeys>>>,
    /// The PINs of tokens holding group keys.
    pins: Arc<PinSource>,
    nonces: NonceCache,
    limiter: RateLimiter,
    audit: AuditWriter,
    /// Opened on first need (group secrets, deposits, pass seeds).
    vault: Mutex<Option<Arc<Vault>>>,
    /// The pass-issuing keys derived so far (anonymous groups).
    issuers: Mutex<passes::IssuerCache>,
}

/// Opens a group's private key: sealed with the server passphrase, or in
/// the token its `pkcs11:` URI names, logged in with the PIN from `pins`.
pub fn open_group_key(
    group: &GroupRecord,
    passphrase: &str,
    pins: &PinSource,
) -> anyhow::Result<GroupKey> {
    if is_pkcs11_uri(&group.sealed_key) {
        let uri = Pkcs11Uri::parse(&group.sealed_key)?;
        let module = module_path(&uri, None)?;
        let pin = pins(&uri)?;
        let key = TokenKey::open(&uri, &module, &pin).map_err(|e| {
            let exit = crate::error::classify(&e).0;
            fail(
                exit,
                format!(
                    "the key of group {}: {}",
                    group.name,
                    crate::error::single_line(&e)
                ),
            )
        })?;
        return GroupKey::in_token(key, &group.certificate);
    }
    let key = crate::smime::privkey::open(
        &group.sealed_key,
        Some(passphrase),
        &format!("the private key of group {}", group.name),
    )?;
    GroupKey::new(key.rsa("a group key")?, &group.certificate)
}

/// Opens a group's current key and the retired keys still inside their
/// keep-old window at `now` (the others keep only their certificate).
fn load_keys(
    store: &dyn Store,
    group: &GroupRecord,
    passphrase: &str,
    pins: &PinSource,
    now: u64,
) -> anyhow::Result<GroupKeys> {
    // Read before the keys: a rotation in between is seen at the next request.
    let generation = store.key_generation(&group.name)?;
    let current = open_group_key(group, passphrase, pins)?;
    let mut retired = Vec::new();
    for old in store.retired_keys(&group.name)? {
        let certificate = Certificate::from_der(&old.certificate).map_err(|e| {
            fail(
                Exit::DataErr,
                format!("malformed retired certificate of group {}: {e}", group.name),
            )
        })?;
        let key = if now < u64::try_from(old.expires).unwrap_or(0) {
            let record = GroupRecord {
                certificate: old.certificate,
                sealed_key: old.sealed_key,
                ..group.clone()
            };
            Some(open_group_key(&record, passphrase, pins)?)
        } else {
            None
        };
        retired.push(Retired {
            certificate,
            key,
            expires: old.expires,
        });
    }
    Ok(GroupKeys {
        generation,
        current,
        retired,
    })
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
        Service::start_with_pins(store, passphrase, Arc::new(default_pin), limits, now)
    }

    /// [`Service::start`], with the PINs of tokens from `pins` (asked once
    /// per group key in a token, at the start or on first use).
    pub fn start_with_pins(
        store: Arc<dyn Store>,
        passphrase: Passphrase,
        pins: Arc<PinSource>,
        limits: Limits,
        now: u64,
    ) -> anyhow::Result<Service> {
        let mut keys = HashMap::new();
        for group in store.groups()? {
            let generations = load_keys(&*store, &group, &passphrase, &*pins, now)?;
            keys.insert(group.name, Arc::new(generations));
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
            pins,
            nonces,
            limiter: RateLimiter::new(limits.rate, limits.burst),
            audit,
            vault: Mutex::new(None),
            issuers: Mutex::new(passes::IssuerCache::default()),
        })
    }

    /// How many groups have their key open.
    pub fn group_count(&self) -> usize {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The keys of `name`; a group created since the start is looked up in
    /// the store and opened on first use, and a group whose key was rotated
    /// since they were loaded is reloaded. The check is one indexed read of
    /// the store per request, as membership is.
    fn group_key(&self, name: &str, now: u64) -> Result<Option<Arc<GroupKeys>>, Refused> {
        let cached = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned();
        if let Some(keys) = cached {
            let generation = self.store.key_generation(name).map_err(internal)?;
            if generation == keys.generation {
                return Ok(Some(keys));
            }
        }
        let Some(group) = self.store.group(name).map_err(internal)? else {
            return Ok(None);
        };
        let keys = Arc::new(
            load_keys(&*self.store, &group, &self.passphrase, &*self.pins, now)
                .map_err(internal)?,
        );
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(group.name, Arc::clone(&keys));
        Ok(Some(keys))
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
}
