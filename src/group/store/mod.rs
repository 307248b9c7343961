//! Where the group server keeps its state: groups (certificate and sealed
//! private key), members (certificates, each in a role), group secrets,
//! key deposits, and the audit log.
//!
//! [`Store`] is the interface the server and the admin commands use;
//! [`SqliteStore`] is the embedded default (one server process on one
//! file), [`PostgresStore`] the shared database of several replicas
//! (`postgres/` says what it shares and how it fails). [`open`] picks one
//! from a `--store` value.
//!
//! The SQLite file is in WAL mode with `synchronous=FULL`: a committed
//! transaction has been fsynced, so after `kill -9` or a power cut no group,
//! member or audit row that was acknowledged is lost. (NORMAL would only fsync
//! at checkpoints, and a key released just before a crash could lose its
//! audit row, which the server promises never happens.) Membership is read
//! from the database on every request and never cached, so a `remove-member`
//! run by another process applies to the very next request. A group's key
//! generation (how many times `group rotate-key` replaced its key) is read
//! per request too, one index lookup, so a rotation applies at the next
//! request; the keys themselves are reloaded only when it changed. Retired
//! keys stay in the store, sealed as the current one, after their window.
//!
//! The audit log is the only table requests grow. Its retention is the
//! operator's: `group audit --prune AGE` deletes old rows, and `group serve
//! --audit-max-rows N` keeps at most N (deleting the oldest, never a row
//! whose nonce is still inside the replay window). Deleted pages are reused,
//! so the file stops growing; it does not shrink.
//!
//! Replays: a nonce is consumed through [`Store::consume_nonce`] before a
//! key is unwrapped. With SQLite, one server process owns the file: its
//! in-memory cache (reloaded from the audit log at start) is the record,
//! and the store accepts every nonce the cache did. With PostgreSQL the
//! database is the record, so a replay on another replica is refused.
//!
//! The records and the [`Store`] interface are here; the backends are in
//! `sqlite.rs` and `postgres/`, their tables in `schema.rs`, the copy
//! from one to the other (`group migrate`) in `migrate.rs`.

mod migrate;
mod postgres;
mod schema;
mod sqlite;

pub use migrate::{sqlite_to_postgres, Copied};
pub use postgres::{is_postgres_url, PostgresStore};
pub use schema::SCHEMA_VERSION;
pub use sqlite::SqliteStore;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::group::release::protocol::NONCE_LEN;

/// The store's file name in the keystore directory.
pub const DEFAULT_FILE: &str = "groups.sqlite3";

/// A group: its certificate (what senders encrypt to) and its private key,
/// sealed under the server passphrase ([`crate::smime::privkey::seal`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    pub name: String,
    pub email: String,
    pub certificate: Vec<u8>,
    /// Encrypted PKCS#8 PEM (never plaintext), or an RFC 7512 `pkcs11:`
    /// URI naming the key in a token ([`crate::group::token`]).
    pub sealed_key: String,
    pub created: i64,
}

/// What a certificate registered with a group may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Role {
    /// Reads the list's mail: key releases, group secrets, deposits for members.
    #[default]
    Member,
    /// May deposit keys for the list's mail, reads nothing.
    Sender,
    /// The list exploder: may read the member list and have keys re-wrapped
    /// under the group secret, and never gets a key released.
    Exploder,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Member, Role::Sender, Role::Exploder];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Sender => "sender",
            Role::Exploder => "exploder",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A certificate registered with a group (a member, or a sender or
/// exploder), identified by its SHA-256 fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    /// SHA-256 of the certificate DER, lowercase hex.
    pub fingerprint: String,
    pub address: String,
    pub certificate: Vec<u8>,
    pub added: i64,
    pub role: Role,
}

/// A group secret, sealed by the store's vault ([`super::vault`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRecord {
    /// The random id, hex.
    pub id: String,
    pub sealed: Vec<u8>,
    pub created: i64,
}

/// Whether a deposit's key still exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepositState {
    Live,
    Revoked,
    Expired,
}

impl DepositState {
    pub fn as_str(self) -> &'static str {
        match self {
            DepositState::Live => "live",
            DepositState::Revoked => "revoked",
            DepositState::Expired => "expired",
        }
    }

    fn parse(text: &str) -> DepositState {
        match text {
            "live" => DepositState::Live,
            "revoked" => DepositState::Revoked,
            // Anything else is treated as gone: fail closed.
            _ => DepositState::Expired,
        }
    }
}

/// A key deposit: the key-encryption key that opens one message's key,
/// who may have it, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepositRecord {
    /// The random id, hex.
    pub id: String,
    pub group: String,
    /// Fingerprint of the depositor's certificate: the one who may revoke.
    pub depositor: String,
    /// [`crate::group::release::calls::Readers`] as JSON.
    pub readers: String,
    pub created: i64,
    pub expires: Option<i64>,
    /// Sealed by the vault; `None` once revoked or expired.
    pub sealed_kek: Option<Vec<u8>>,
    pub state: DepositState,
    /// When it was revoked or expired.
    pub ended: Option<i64>,
}

/// A group key that a rotation replaced: still used to release messages
/// encrypted to it until `expires`, refused after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetiredKeyRecord {
    /// 1 for the group's first key, counting up with each rotation.
    pub generation: i64,
    pub certificate: Vec<u8>,
    /// Encrypted PKCS#8 PEM, as [`GroupRecord::sealed_key`].
    pub sealed_key: String,
    /// When it became the group's key.
    pub created: i64,
    /// When a rotation replaced it.
    pub retired: i64,
    /// The end of its keep-old window: from then on, refused.
    pub expires: i64,
}

/// An anonymous group's pass issuance (issue #17).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassIssuerRecord {
    /// Whether the group issues passes and releases to them only.
    pub enabled: bool,
    /// The pass lifetime (the period), seconds.
    pub lifetime: i64,
    /// Bumped by `remove-member --now`: every issuing key changes.
    pub epoch: i64,
    /// The seed the issuing keys derive from, sealed by the vault.
    pub sealed_seed: Vec<u8>,
}

/// What a backend's rotation transaction found: `None` no such group,
/// `Some(Err(()))` the current key was no longer the one the rotation
/// replaces (another rotation won), else the new generation.
fn rotation_outcome(group: &str, outcome: Option<Result<i64, ()>>) -> anyhow::Result<i64> {
    use crate::error::{fail, fail_hint, Exit};
    match outcome {
        Some(Ok(generation)) => Ok(generation),
        Some(Err(())) => Err(fail_hint(
            Exit::TempFail,
            format!("the key of group {group} was rotated by another process meanwhile"),
            "check with `sealpost group show GROUP`, then run rotate-key again if needed",
        )),
        None => Err(fail(Exit::NoInput, format!("no group named {group}"))),
    }
}

/// A rotation of a group's key: the new key, and how long the old one is kept.
#[derive(Clone, Debug)]
pub struct KeyRotation {
    /// The certificate the rotation replaces; if the group's key is no
    /// longer that one (another rotation came first), nothing changes.
    pub old_certificate: Vec<u8>,
    pub certificate: Vec<u8>,
    /// Encrypted PKCS#8 PEM.
    pub sealed_key: String,
    pub time: i64,
    /// Until when the old key stays usable.
    pub keep_until: i64,
}

/// Which members to remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberSelector {
    /// Every certificate of this address.
    Address(String),
    /// One certificate.
    Fingerprint(String),
}

/// One audit row: a release or a refusal.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AuditRecord {
    /// Assigned by the store; 0 before insertion.
    pub id: i64,
    /// Seconds since the Unix epoch (server clock).
    pub time: i64,
    /// The group named by the request, if it could be read.
    pub group: Option<String>,
    pub member_fingerprint: Option<String>,
    pub member_address: Option<String>,
    /// [`crate::group::release::protocol::key_hash`] of the wrapped key.
    pub key_hash: Option<String>,
    /// `released` or a refusal code.
    pub outcome: String,
    /// The request: `release` (also when empty) or a call's operation.
    pub op: String,
    pub remote: Option<String>,
    pub nonce: Option<[u8; NONCE_LEN]>,
    /// Whether the nonce was consumed (a replay of it is refused); only such
    /// nonces are reloaded at startup.
    pub nonce_used: bool,
}

/// Where a store is: a `--store` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (`PATH` or `sqlite:PATH`).
    Sqlite(PathBuf),
    /// A PostgreSQL database URL (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl Location {
    pub fn parse(text: &str) -> Location {
        if is_postgres_url(text) {
            Location::Postgres(text.to_string())
        } else {
            Location::Sqlite(PathBuf::from(text.strip_prefix("sqlite:").unwrap_or(text)))
        }
    }
}

/// Opens the store at `location`, creating its schema if needed.
pub fn open(location: &Location) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match location {
        Location::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
        Location::Postgres(url) => Arc::new(PostgresStore::open(url)?),
    })
}

/// A nonce as the audit log stores it (hex); anything else is no nonce.
fn parse_nonce(text: Option<String>) -> Option<[u8; NONCE_LEN]> {
    text.and_then(|t| hex::decode(t).ok())
        .and_then(|b| b.try_into().ok())
}

/// The outcome string of a successful release.
pub const RELEASED: &str = "released";

/// The storage interface of the group server.
pub trait Store: Send + Sync {
    /// Adds a group; an existing name is an error ([`Exit::CantCreate`]).
    fn create_group(&self, group: &GroupRecord) -> anyhow::Result<()>;
    fn group(&self, name: &str) -> anyhow::Result<Option<GroupRecord>>;
    fn groups(&self) -> anyhow::Result<Vec<GroupRecord>>;
    /// Adds a member; false when that certificate already is one.
    fn add_member(&self, group: &str, member: &MemberRecord) -> anyhow::Result<bool>;
    /// Removes the selected members, returning them.
    fn remove_members(
        &self,
        group: &str,
        which: &MemberSelector,
    ) -> anyhow::Result<Vec<MemberRecord>>;
    fn members(&self, group: &str) -> anyhow::Result<Vec<MemberRecord>>;
    /// The member with this certificate fingerprint, read now (never cached).
    fn member(&self, group: &str, fingerprint: &str) -> anyhow::Result<Option<MemberRecord>>;
    /// Appends rows in one durable transaction (all or none).
    fn append_audit(&self, rows: &[AuditRecord]) -> anyhow::Result<()>;
    /// A group's audit rows from `since` (inclusive), oldest first.
    fn audit(&self, group: &str, since: Option<i64>) -> anyhow::Result<Vec<AuditRecord>>;
    /// Consumed nonces recorded at or after `since`, with their row's time.
    fn used_nonces(&self, since: i64) -> anyhow::Result<Vec<([u8; NONCE_LEN], i64)>>;
    /// Consumes `nonce` for a request about to be processed at `now`, to
    /// be refused until `until`; false when a request already consumed it
    /// (a replay). See the module docs for what each backend shares.
    fn consume_nonce(&self, nonce: &[u8; NONCE_LEN], until: i64, now: i64) -> anyhow::Result<bool>;
    /// Gives back a nonce whose request was not processed (rate limited),
    /// so that the same signed request may be retried.
    fn release_nonce(&self, nonce: &[u8; NONCE_LEN]) -> anyhow::Result<()>;
    /// Forgets consumed nonces whose time ended before `now`; returns how many.
    fn prune_nonces(&self, now: i64) -> anyhow::Result<usize>;
    /// Deletes audit rows older than `before` (of `group` only, when given);
    /// returns how many.
    fn prune_audit(&self, before: i64, group: Option<&str>) -> anyhow::Result<usize>;
    /// Deletes the oldest audit rows beyond the newest `max_rows`, except
    /// rows at or after `keep_since`; returns how many.
    fn trim_audit(&self, max_rows: u64, keep_since: i64) -> anyhow::Result<usize>;

    /// The vault key (sealed under the passphrase) and its check value.
    fn vault(&self) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>>;
    /// Stores the vault unless one exists (then the existing one stays).
    fn create_vault(&self, sealed_key: &[u8], check: &[u8]) -> anyhow::Result<()>;
    fn add_secret(&self, group: &str, secret: &SecretRecord) -> anyhow::Result<()>;
    /// A group's secrets, oldest first: the last is the current one.
    fn secrets(&self, group: &str) -> anyhow::Result<Vec<SecretRecord>>;
    fn create_deposit(&self, deposit: &DepositRecord) -> anyhow::Result<()>;
    fn deposit(&self, id: &str) -> anyhow::Result<Option<DepositRecord>>;
    /// Deletes a live deposit's key, marking it `state` at `now`; false if
    /// it was not live (or does not exist).
    fn end_deposit(&self, id: &str, state: DepositState, now: i64) -> anyhow::Result<bool>;
    /// Deletes the keys of live deposits whose expiry is at or before `now`;
    /// returns how many.
    fn expire_deposits(&self, now: i64) -> anyhow::Result<usize>;

    /// In one transaction: retires the group's current key (kept until
    /// `rotation.keep_until`) and makes `rotation`'s key the current one;
    /// returns the new key's generation. Fails, changing nothing, when the
    /// current certificate is not `rotation.old_certificate`.
    fn rotate_group_key(&self, group: &str, rotation: &KeyRotation) -> anyhow::Result<i64>;
    /// A group's retired keys, oldest first.
    fn retired_keys(&self, group: &str) -> anyhow::Result<Vec<RetiredKeyRecord>>;
    /// The generation of the group's current key (1 until the first
    /// rotation): read on every request, so it must be cheap.
    fn key_generation(&self, group: &str) -> anyhow::Result<i64>;

    /// The group's pass issuance, if it was ever made anonymous.
    fn pass_issuer(&self, group: &str) -> anyhow::Result<Option<PassIssuerRecord>>;
    /// Creates or replaces the group's pass issuance.
    fn set_pass_issuer(&self, group: &str, issuer: &PassIssuerRecord) -> anyhow::Result<()>;
    /// Adds one to the epoch (in one statement, whoever else bumps it);
    /// false when the group has no pass issuance.
    fn bump_pass_epoch(&self, group: &str) -> anyhow::Result<bool>;
    /// Records that `member` (an address) got a pass under `key_id`, kept
    /// until `until`; false when one was recorded already (in the database,
    /// so that no replica issues a second). Forgets records ended by `now`.
    fn record_pass_issuance(
        &self,
        group: &str,
        key_id: &str,
        member: &str,
        until: i64,
        now: i64,
    ) -> anyhow::Result<bool>;
    /// Takes back a record whose pass was not issued after all.
    fn forget_pass_issuance(&self, group: &str, key_id: &str, member: &str) -> anyhow::Result<()>;
}

/// Bytes available to an unprivileged writer on the file system holding
/// `path` (statvfs `f_bavail × f_frsize`).
pub fn free_space(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is a
    // NUL-terminated string that outlives the call.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stats) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok((stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64))
}

#[cfg(test)]
mod tests;
