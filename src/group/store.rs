//! Where the group server keeps its state: groups (certificate and sealed
//! private key), members (certificates, each in a role), group secrets,
//! key deposits, and the audit log.
//!
//! [`Store`] is the interface the server and the admin commands use, so that
//! another backend (a replicated database) can be added without touching
//! them; [`SqliteStore`] is the embedded default.
//!
//! The SQLite file is in WAL mode with `synchronous=FULL`: a committed
//! transaction has been fsynced, so after `kill -9` or a power cut no group,
//! member or audit row that was acknowledged is lost. (NORMAL would only fsync
//! at checkpoints, and a key released just before a crash could lose its
//! audit row, which the server promises never happens.) Membership is read
//! from the database on every request and never cached, so a `remove-member`
//! run by another process applies to the very next request.
//!
//! The audit log is the only table requests grow. Its retention is the
//! operator's: `group audit --prune AGE` deletes old rows, and `group serve
//! --audit-max-rows N` keeps at most N (deleting the oldest, never a row
//! whose nonce is still inside the replay window). Deleted pages are reused,
//! so the file stops growing; it does not shrink.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{fail, fail_hint, Exit};
use crate::group::release::protocol::NONCE_LEN;
use crate::store::fsutil;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 2;

/// The store's file name in the keystore directory.
pub const DEFAULT_FILE: &str = "groups.sqlite3";

/// A group: its certificate (what senders encrypt to) and its private key,
/// sealed under the server passphrase ([`crate::smime::privkey::seal`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    pub name: String,
    pub email: String,
    pub certificate: Vec<u8>,
    /// Encrypted PKCS#8 PEM; never plaintext.
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
}

/// The SQLite backend: a small pool of connections (readers run in
/// parallel in WAL mode), opened on demand.
pub struct SqliteStore {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
}

fn db_error(path: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    fail(Exit::IoErr, format!("group store {}: {e}", path.display()))
}

const SCHEMA: &str = "
CREATE TABLE groups (
    name TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    certificate BLOB NOT NULL,
    sealed_key TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE members (
    grp TEXT NOT NULL REFERENCES groups(name),
    fingerprint TEXT NOT NULL,
    address TEXT NOT NULL,
    certificate BLOB NOT NULL,
    added INTEGER NOT NULL,
    PRIMARY KEY (grp, fingerprint)
);
CREATE INDEX members_by_address ON members(grp, address);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    grp TEXT,
    member_fingerprint TEXT,
    member_address TEXT,
    key_hash TEXT,
    outcome TEXT NOT NULL,
    remote TEXT,
    nonce TEXT,
    nonce_used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_by_group ON audit(grp, time);
CREATE INDEX audit_used_nonces ON audit(time) WHERE nonce_used = 1;
";

/// Version 1 to 2: roles, the vault, group secrets, deposits.
const SCHEMA_2: &str = "
ALTER TABLE members ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE audit ADD COLUMN op TEXT NOT NULL DEFAULT 'release';
CREATE TABLE vault (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed_key BLOB NOT NULL,
    check_value BLOB NOT NULL
);
CREATE TABLE secrets (
    grp TEXT NOT NULL REFERENCES groups(name),
    id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (grp, id)
);
CREATE TABLE deposits (
    id TEXT PRIMARY KEY NOT NULL,
    grp TEXT NOT NULL REFERENCES groups(name),
    depositor TEXT NOT NULL,
    readers TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER,
    sealed_kek BLOB,
    state TEXT NOT NULL,
    ended INTEGER
);
CREATE INDEX deposits_live_by_expiry ON deposits(expires) WHERE state = 'live';
";

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

impl SqliteStore {
    /// Opens (creating, with mode 0600 in a 0700 directory) the store at `path`
    /// and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fsutil::private_dir(dir, "group store directory")?;
        }
        // Create the file ourselves so that it is 0600 from the first byte;
        // SQLite gives the -wal and -shm files the database file's mode.
        fsutil::open_state_file(path, OpenOptions::new().read(true).write(true))?;
        fsutil::check_private_file(path, "group store")?;
        let store = SqliteStore {
            path: path.to_path_buf(),
            pool: Mutex::new(Vec::new()),
        };
        let mut conn = store.connect()?;
        migrate(&mut conn, path)?;
        store.give_back(conn);
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> anyhow::Result<Connection> {
        let conn = Connection::open(&self.path).map_err(|e| db_error(&self.path, e))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| db_error(&self.path, e))?;
        // secure_delete: a revoked deposit's sealed key is overwritten with
        // zeros in the file, not left in a free page.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; \
             PRAGMA secure_delete=ON;",
        )
        .map_err(|e| db_error(&self.path, e))?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 16 {
            pool.push(conn);
        }
    }

    /// Runs `f` on a pooled connection; an SQLite error becomes a classified failure.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> anyhow::Result<T> {
        let conn = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match conn {
            Some(c) => c,
            None => self.connect()?,
        };
        let result = f(&mut conn).map_err(|e| db_error(&self.path, e));
        self.give_back(conn);
        result
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> anyhow::Result<()> {
    let err = |e| db_error(path, e);
    // IMMEDIATE: two processes opening a new store at once must not both create it.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if version < SCHEMA_VERSION {
        if version == 0 {
            tx.execute_batch(SCHEMA).map_err(err)?;
        }
        if version < 2 {
            tx.execute_batch(SCHEMA_2).map_err(err)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(err)?;
    } else if version > SCHEMA_VERSION {
        return Err(fail_hint(
            Exit::Config,
            format!(
                "group store {} has schema version {version}, newer than this sealpost understands ({SCHEMA_VERSION})",
                path.display()
            ),
            "upgrade sealpost",
        ));
    }
    tx.commit().map_err(err)
}

fn group_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GroupRecord> {
    Ok(GroupRecord {
        name: r.get(0)?,
        email: r.get(1)?,
        certificate: r.get(2)?,
        sealed_key: r.get(3)?,
        created: r.get(4)?,
    })
}

fn member_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MemberRecord> {
    let role: String = r.get(4)?;
    Ok(MemberRecord {
        fingerprint: r.get(0)?,
        address: r.get(1)?,
        certificate: r.get(2)?,
        added: r.get(3)?,
        // An unknown role grants nothing a member could not do... so none at all.
        role: Role::parse(&role).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                4,
                rusqlite::types::Type::Text,
                format!("unknown role {role:?}").into(),
            )
        })?,
    })
}

fn deposit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DepositRecord> {
    let state: String = r.get(7)?;
    Ok(DepositRecord {
        id: r.get(0)?,
        group: r.get(1)?,
        depositor: r.get(2)?,
        readers: r.get(3)?,
        created: r.get(4)?,
        expires: r.get(5)?,
        sealed_kek: r.get(6)?,
        state: DepositState::parse(&state),
        ended: r.get(8)?,
    })
}

fn parse_nonce(text: Option<String>) -> Option<[u8; NONCE_LEN]> {
    text.and_then(|t| hex::decode(t).ok())
        .and_then(|b| b.try_into().ok())
}

const GROUP_COLUMNS: &str = "name, email, certificate, sealed_key, created";
const MEMBER_COLUMNS: &str = "fingerprint, address, certificate, added, role";
const DEPOSIT_COLUMNS: &str =
    "id, grp, depositor, readers, created, expires, sealed_kek, state, ended";

impl Store for SqliteStore {
    fn create_group(&self, g: &GroupRecord) -> anyhow::Result<()> {
        let inserted = self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO groups (name, email, certificate, sealed_key, created) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![g.name, g.email, g.certificate, g.sealed_key, g.created],
            )
        })?;
        if inserted == 0 {
            return Err(fail(
                Exit::CantCreate,
                format!("group {} already exists", g.name),
            ));
        }
        Ok(())
    }

    fn group(&self, name: &str) -> anyhow::Result<Option<GroupRecord>> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {GROUP_COLUMNS} FROM groups WHERE name = ?1"
            ))?
            .query_row([name], group_row)
            .optional()
        })
    }

    fn groups(&self) -> anyhow::Result<Vec<GroupRecord>> {
        self.with(|c| {
            c.prepare_cached(&format!("SELECT {GROUP_COLUMNS} FROM groups ORDER BY name"))?
                .query_map([], group_row)?
                .collect()
        })
    }

    fn add_member(&self, group: &str, m: &MemberRecord) -> anyhow::Result<bool> {
        let n = self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO members (grp, fingerprint, address, certificate, added, role) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![group, m.fingerprint, m.address, m.certificate, m.added, m.role.as_str()],
            )
        })?;
        Ok(n == 1)
    }

    fn remove_members(
        &self,
        group: &str,
        which: &MemberSelector,
    ) -> anyhow::Result<Vec<MemberRecord>> {
        let (column, value) = match which {
            MemberSelector::Address(a) => ("address", a.as_str()),
            MemberSelector::Fingerprint(f) => ("fingerprint", f.as_str()),
        };
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let removed: Vec<MemberRecord> = tx
                .prepare(&format!(
                    "SELECT {MEMBER_COLUMNS} FROM members WHERE grp = ?1 AND {column} = ?2"
                ))?
                .query_map([group, value], member_row)?
                .collect::<rusqlite::Result<_>>()?;
            tx.execute(
                &format!("DELETE FROM members WHERE grp = ?1 AND {column} = ?2"),
                [group, value],
            )?;
            tx.commit()?;
            Ok(removed)
        })
    }

    fn members(&self, group: &str) -> anyhow::Result<Vec<MemberRecord>> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE grp = ?1 ORDER BY address, added"
            ))?
            .query_map([group], member_row)?
            .collect()
        })
    }

    fn member(&self, group: &str, fingerprint: &str) -> anyhow::Result<Option<MemberRecord>> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE grp = ?1 AND fingerprint = ?2"
            ))?
            .query_row([group, fingerprint], member_row)
            .optional()
        })
    }

    fn append_audit(&self, rows: &[AuditRecord]) -> anyhow::Result<()> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO audit (time, grp, member_fingerprint, member_address, key_hash, \
                     outcome, remote, nonce, nonce_used, op) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                for r in rows {
                    insert.execute(params![
                        r.time,
                        r.group,
                        r.member_fingerprint,
                        r.member_address,
                        r.key_hash,
                        r.outcome,
                        r.remote,
                        r.nonce.map(hex::encode),
                        r.nonce_used,
                        if r.op.is_empty() {
                            "release"
                        } else {
                            r.op.as_str()
                        },
                    ])?;
                }
            }
            tx.commit()
        })
    }

    fn audit(&self, group: &str, since: Option<i64>) -> anyhow::Result<Vec<AuditRecord>> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT id, time, grp, member_fingerprint, member_address, key_hash, outcome, \
                 remote, nonce, nonce_used, op FROM audit WHERE grp = ?1 AND time >= ?2 ORDER BY id",
            )?
            .query_map(params![group, since.unwrap_or(i64::MIN)], |r| {
                Ok(AuditRecord {
                    id: r.get(0)?,
                    time: r.get(1)?,
                    group: r.get(2)?,
                    member_fingerprint: r.get(3)?,
                    member_address: r.get(4)?,
                    key_hash: r.get(5)?,
                    outcome: r.get(6)?,
                    remote: r.get(7)?,
                    nonce: parse_nonce(r.get(8)?),
                    nonce_used: r.get(9)?,
                    op: r.get(10)?,
                })
            })?
            .collect()
        })
    }

    fn used_nonces(&self, since: i64) -> anyhow::Result<Vec<([u8; NONCE_LEN], i64)>> {
        let rows: Vec<(Option<String>, i64)> = self.with(|c| {
            c.prepare_cached("SELECT nonce, time FROM audit WHERE nonce_used = 1 AND time >= ?1")?
                .query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(n, t)| parse_nonce(n).map(|n| (n, t)))
            .collect())
    }

    fn prune_audit(&self, before: i64, group: Option<&str>) -> anyhow::Result<usize> {
        self.with(|c| {
            c.execute(
                "DELETE FROM audit WHERE time < ?1 AND (?2 IS NULL OR grp = ?2)",
                params![before, group],
            )
        })
    }

    fn trim_audit(&self, max_rows: u64, keep_since: i64) -> anyhow::Result<usize> {
        // The row that is the max_rows-th newest; everything older goes.
        let offset = i64::try_from(max_rows).unwrap_or(i64::MAX);
        self.with(|c| {
            c.execute(
                "DELETE FROM audit WHERE time < ?2 AND id <= \
                 (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?1)",
                params![offset, keep_since],
            )
        })
    }

    fn vault(&self) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.with(|c| {
            c.prepare_cached("SELECT sealed_key, check_value FROM vault WHERE id = 1")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
    }

    fn create_vault(&self, sealed_key: &[u8], check: &[u8]) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO vault (id, sealed_key, check_value) VALUES (1, ?1, ?2)",
                params![sealed_key, check],
            )
        })?;
        Ok(())
    }

    fn add_secret(&self, group: &str, secret: &SecretRecord) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO secrets (grp, id, sealed, created) VALUES (?1, ?2, ?3, ?4)",
                params![group, secret.id, secret.sealed, secret.created],
            )
        })?;
        Ok(())
    }

    fn secrets(&self, group: &str) -> anyhow::Result<Vec<SecretRecord>> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT id, sealed, created FROM secrets WHERE grp = ?1 ORDER BY created, rowid",
            )?
            .query_map([group], |r| {
                Ok(SecretRecord {
                    id: r.get(0)?,
                    sealed: r.get(1)?,
                    created: r.get(2)?,
                })
            })?
            .collect()
        })
    }

    fn create_deposit(&self, d: &DepositRecord) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                &format!("INSERT INTO deposits ({DEPOSIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![
                    d.id,
                    d.group,
                    d.depositor,
                    d.readers,
                    d.created,
                    d.expires,
                    d.sealed_kek,
                    d.state.as_str(),
                    d.ended
                ],
            )
        })?;
        Ok(())
    }

    fn deposit(&self, id: &str) -> anyhow::Result<Option<DepositRecord>> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE id = ?1"
            ))?
            .query_row([id], deposit_row)
            .optional()
        })
    }

    fn end_deposit(&self, id: &str, state: DepositState, now: i64) -> anyhow::Result<bool> {
        let n = self.with(|c| {
            c.execute(
                "UPDATE deposits SET sealed_kek = NULL, state = ?2, ended = ?3 \
                 WHERE id = ?1 AND state = 'live'",
                params![id, state.as_str(), now],
            )
        })?;
        Ok(n == 1)
    }

    fn expire_deposits(&self, now: i64) -> anyhow::Result<usize> {
        self.with(|c| {
            c.execute(
                "UPDATE deposits SET sealed_kek = NULL, state = 'expired', ended = ?1 \
                 WHERE state = 'live' AND expires IS NOT NULL AND expires <= ?1",
                [now],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn group(name: &str) -> GroupRecord {
        GroupRecord {
            name: name.into(),
            email: format!("{name}@lists.example"),
            certificate: vec![0x30, 0],
            sealed_key: "sealed".into(),
            created: 1,
        }
    }

    fn member(fp: &str, addr: &str) -> MemberRecord {
        MemberRecord {
            fingerprint: fp.into(),
            address: addr.into(),
            certificate: vec![1],
            added: 2,
            role: Role::Member,
        }
    }

    /// Issue 11: the audit log has a retention (by age, and a maximum that
    /// never deletes rows still needed against replays).
    #[test]
    fn audit_rows_are_pruned_by_age_and_trimmed_to_a_maximum() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("g.sqlite3")).unwrap();
        store.create_group(&group("list")).unwrap();
        store.create_group(&group("other")).unwrap();
        let row = |time: i64, grp: &str| AuditRecord {
            time,
            group: Some(grp.into()),
            outcome: RELEASED.into(),
            ..Default::default()
        };
        let rows: Vec<_> = (0..10).map(|t| row(100 + t, "list")).collect();
        store.append_audit(&rows).unwrap();
        store.append_audit(&[row(100, "other")]).unwrap();
        // By age, one group only, then all.
        assert_eq!(store.prune_audit(102, Some("list")).unwrap(), 2);
        assert_eq!(store.audit("other", None).unwrap().len(), 1);
        assert_eq!(store.prune_audit(101, None).unwrap(), 1);
        // At most 5 rows, but nothing at or after 108 (the replay window).
        store.append_audit(&[row(120, "list")]).unwrap();
        let times = || -> Vec<i64> {
            let rows = store.audit("list", None).unwrap();
            rows.iter().map(|r| r.time).collect()
        };
        assert_eq!(store.trim_audit(5, 200).unwrap(), 4);
        assert_eq!(times(), [106, 107, 108, 109, 120]);
        assert_eq!(store.trim_audit(2, 108).unwrap(), 2);
        assert_eq!(times(), [108, 109, 120]);
        assert_eq!(store.trim_audit(100, 1000).unwrap(), 0);
        assert!(free_space(dir.path()).unwrap() > 0);
    }

    #[test]
    fn groups_members_and_audit_persist_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/groups.sqlite3");
        let store = SqliteStore::open(&path).unwrap();
        store.create_group(&group("list")).unwrap();
        assert!(store.create_group(&group("list")).is_err());
        assert!(store.add_member("list", &member("aa", "a@x")).unwrap());
        assert!(!store.add_member("list", &member("aa", "a@x")).unwrap());
        assert!(store.add_member("list", &member("bb", "b@x")).unwrap());
        assert!(store.add_member("list", &member("cc", "b@x")).unwrap());
        // A member of a group that does not exist is refused by the foreign key.
        assert!(store.add_member("nope", &member("dd", "d@x")).is_err());
        let row = AuditRecord {
            time: 100,
            group: Some("list".into()),
            outcome: RELEASED.into(),
            nonce: Some([7; NONCE_LEN]),
            nonce_used: true,
            ..Default::default()
        };
        store.append_audit(&[row.clone(), row.clone()]).unwrap();
        drop(store);

        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.groups().unwrap(), vec![group("list")]);
        assert_eq!(store.members("list").unwrap().len(), 3);
        let removed = store
            .remove_members("list", &MemberSelector::Address("b@x".into()))
            .unwrap();
        assert_eq!(removed.len(), 2);
        assert!(store.member("list", "bb").unwrap().is_none());
        assert!(store.member("list", "aa").unwrap().is_some());
        let audit = store.audit("list", None).unwrap();
        assert_eq!(audit.len(), 2);
        assert_eq!(audit[0].nonce, Some([7; NONCE_LEN]));
        assert!(store.audit("list", Some(101)).unwrap().is_empty());
        assert_eq!(store.used_nonces(50).unwrap().len(), 2);
        assert!(store.used_nonces(101).unwrap().is_empty());
    }

    #[test]
    fn a_version_1_store_is_migrated_and_keeps_its_members() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("groups.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(SCHEMA).unwrap();
            c.execute_batch("PRAGMA user_version = 1").unwrap();
            c.execute(
                "INSERT INTO groups VALUES ('list', 'l@x', x'3000', 'sealed', 1)",
                [],
            )
            .unwrap();
            c.execute(
                "INSERT INTO members VALUES ('list', 'aa', 'a@x', x'01', 2)",
                [],
            )
            .unwrap();
            c.execute(
                "INSERT INTO audit (time, grp, outcome) VALUES (3, 'list', 'released')",
                [],
            )
            .unwrap();
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let store = SqliteStore::open(&path).unwrap();
        let m = store.member("list", "aa").unwrap().unwrap();
        assert_eq!(m.role, Role::Member);
        assert_eq!(store.audit("list", None).unwrap()[0].op, "release");
        assert!(store.secrets("list").unwrap().is_empty());
        assert!(store.vault().unwrap().is_none());
        let version: i64 = store
            .with(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn deposits_end_once_and_lose_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("g.sqlite3")).unwrap();
        store.create_group(&group("list")).unwrap();
        let deposit = |id: &str, expires| DepositRecord {
            id: id.into(),
            group: "list".into(),
            depositor: "fp".into(),
            readers: "\"members\"".into(),
            created: 1,
            expires,
            sealed_kek: Some(vec![9; 40]),
            state: DepositState::Live,
            ended: None,
        };
        store.create_deposit(&deposit("a", None)).unwrap();
        store.create_deposit(&deposit("b", Some(50))).unwrap();
        assert!(store.create_deposit(&deposit("a", None)).is_err());
        assert!(store.end_deposit("a", DepositState::Revoked, 10).unwrap());
        assert!(!store.end_deposit("a", DepositState::Revoked, 11).unwrap());
        let a = store.deposit("a").unwrap().unwrap();
        assert_eq!(
            (a.state, a.sealed_kek, a.ended),
            (DepositState::Revoked, None, Some(10))
        );
        assert_eq!(store.expire_deposits(49).unwrap(), 0);
        assert_eq!(store.expire_deposits(50).unwrap(), 1);
        assert_eq!(
            store.deposit("b").unwrap().unwrap().state,
            DepositState::Expired
        );
        assert!(store.deposit("c").unwrap().is_none());
    }

    #[test]
    fn refuses_a_store_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("groups.sqlite3");
        SqliteStore::open(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(SqliteStore::open(&path).is_err());
    }
}
