//! The SQLite backend of [`Store`]: one file in WAL mode with
//! `synchronous=FULL`, a small pool of connections, the schema migrated on
//! open, and each [`Store`] call one statement or transaction.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::schema::{SCHEMA, SCHEMA_2, SCHEMA_3, SCHEMA_4, SCHEMA_VERSION};
use super::{
    parse_nonce, AuditRecord, DepositRecord, DepositState, GroupRecord, KeyRotation, MemberRecord,
    MemberSelector, PassIssuerRecord, RetiredKeyRecord, Role, SecretRecord, Store,
};
use crate::error::{fail, fail_hint, Exit};
use crate::group::release::protocol::NONCE_LEN;
use crate::store::fsutil;

/// The SQLite backend: a small pool of connections (readers run in
/// parallel in WAL mode), opened on demand.
pub struct SqliteStore {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
}

fn db_error(path: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    fail(Exit::IoErr, format!("group store {}: {e}", path.display()))
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
    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> anyhow::Result<T> {
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
        if version < 3 {
            tx.execute_batch(SCHEMA_3).map_err(err)?;
        }
        if version < 4 {
            tx.execute_batch(SCHEMA_4).map_err(err)?;
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

    // One server process per file: its in-memory cache, reloaded from the
    // audit log at start, is the replay record (the module docs).
    fn consume_nonce(&self, _: &[u8; NONCE_LEN], _: i64, _: i64) -> anyhow::Result<bool> {
        Ok(true)
    }

    fn release_nonce(&self, _: &[u8; NONCE_LEN]) -> anyhow::Result<()> {
        Ok(())
    }

    fn prune_nonces(&self, _: i64) -> anyhow::Result<usize> {
        Ok(0)
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

    fn rotate_group_key(&self, group: &str, rotation: &KeyRotation) -> anyhow::Result<i64> {
        let outcome = self.with(|c| {
            // IMMEDIATE: two rotations at once must not both retire the same key.
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let current: Option<(Vec<u8>, String, i64)> = tx
                .query_row(
                    "SELECT certificate, sealed_key, created FROM groups WHERE name = ?1",
                    [group],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((certificate, sealed_key, group_created)) = current else {
                return Ok(None);
            };
            if certificate != rotation.old_certificate {
                return Ok(Some(Err(())));
            }
            let (generation, since): (i64, Option<i64>) = tx.query_row(
                "SELECT COALESCE(MAX(generation), 0) + 1, MAX(retired) FROM retired_keys \
                 WHERE grp = ?1",
                [group],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            tx.execute(
                "INSERT INTO retired_keys \
                 (grp, generation, certificate, sealed_key, created, retired, expires) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    group,
                    generation,
                    certificate,
                    sealed_key,
                    since.unwrap_or(group_created),
                    rotation.time,
                    rotation.keep_until
                ],
            )?;
            tx.execute(
                "UPDATE groups SET certificate = ?2, sealed_key = ?3 WHERE name = ?1",
                params![group, rotation.certificate, rotation.sealed_key],
            )?;
            tx.commit()?;
            Ok(Some(Ok(generation + 1)))
        })?;
        super::rotation_outcome(group, outcome)
    }

    fn retired_keys(&self, group: &str) -> anyhow::Result<Vec<RetiredKeyRecord>> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT generation, certificate, sealed_key, created, retired, expires \
                 FROM retired_keys WHERE grp = ?1 ORDER BY generation",
            )?
            .query_map([group], |r| {
                Ok(RetiredKeyRecord {
                    generation: r.get(0)?,
                    certificate: r.get(1)?,
                    sealed_key: r.get(2)?,
                    created: r.get(3)?,
                    retired: r.get(4)?,
                    expires: r.get(5)?,
                })
            })?
            .collect()
        })
    }

    fn key_generation(&self, group: &str) -> anyhow::Result<i64> {
        // The primary key's index answers this without reading a row.
        self.with(|c| {
            c.prepare_cached(
                "SELECT COALESCE(MAX(generation), 0) + 1 FROM retired_keys WHERE grp = ?1",
            )?
            .query_row([group], |r| r.get(0))
        })
    }

    fn pass_issuer(&self, group: &str) -> anyhow::Result<Option<PassIssuerRecord>> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT enabled, lifetime, epoch, sealed_seed FROM pass_issuers WHERE grp = ?1",
            )?
            .query_row([group], |r| {
                Ok(PassIssuerRecord {
                    enabled: r.get(0)?,
                    lifetime: r.get(1)?,
                    epoch: r.get(2)?,
                    sealed_seed: r.get(3)?,
                })
            })
            .optional()
        })
    }

    fn set_pass_issuer(&self, group: &str, issuer: &PassIssuerRecord) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO pass_issuers (grp, enabled, lifetime, epoch, sealed_seed) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    group,
                    issuer.enabled,
                    issuer.lifetime,
                    issuer.epoch,
                    issuer.sealed_seed
                ],
            )
            .map(|_| ())
        })
    }

    fn bump_pass_epoch(&self, group: &str) -> anyhow::Result<bool> {
        self.with(|c| {
            c.execute(
                "UPDATE pass_issuers SET epoch = epoch + 1 WHERE grp = ?1",
                [group],
            )
            .map(|n| n > 0)
        })
    }

    fn record_pass_issuance(
        &self,
        group: &str,
        key_id: &str,
        member: &str,
        until: i64,
        now: i64,
    ) -> anyhow::Result<bool> {
        self.with(|c| {
            c.execute("DELETE FROM pass_issued WHERE until <= ?1", [now])?;
            c.execute(
                "INSERT OR IGNORE INTO pass_issued (grp, key_id, member, until) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![group, key_id, member, until],
            )
            .map(|n| n == 1)
        })
    }

    fn forget_pass_issuance(&self, group: &str, key_id: &str, member: &str) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM pass_issued WHERE grp = ?1 AND key_id = ?2 AND member = ?3",
                [group, key_id, member],
            )
            .map(|_| ())
        })
    }
}
