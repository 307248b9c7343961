//! The PostgreSQL backend of [`Store`], for several `group serve` replicas
//! on one database (issue 16): every replica reads and writes the same
//! rows, so what one does (a removal, a consumed nonce, a deposit) the
//! others see at their next statement.
//!
//! # Durability and what a failure answers
//!
//! Each [`Store`] call is one statement or one transaction; a call returns
//! once PostgreSQL has committed it, which with the default
//! `synchronous_commit = on` means flushed to its WAL (turning that off
//! would let a crash of the database lose audit rows of keys already
//! released: don't). An error that means the database cannot be reached or
//! is going away (no connection, a closed socket, SQLSTATE classes 08 and
//! 57P, too many connections, a serialization failure) is an
//! [`Exit::TempFail`] failure, which the server answers with 503 and
//! `Retry-After`; any other error is [`Exit::IoErr`] (500). Neither is
//! retried here: a write whose commit was sent but not acknowledged may or
//! may not be in, and the client's retry, with a new nonce, is the one safe
//! repetition.
//!
//! # Connections
//!
//! A bounded pool of blocking connections (a request thread takes one,
//! runs its statements, gives it back; at most 24 per replica, a request
//! waits up to 10 s for one and is then answered 503), with each
//! connection's prepared statements cached on it. No r2d2: the pool is a
//! few dozen lines, and what it must do on failure is specific: when a
//! statement fails because the connection is gone, every idle connection
//! is dropped too (after a restart of the database they are all dead), so
//! one request per replica sees the outage, not one per pooled connection.
//! Unbounded, the pool churned: the benchmark's 64 clients opened and
//! closed a connection per request beyond the kept ones, and served fewer
//! releases than 8 clients did.
//!
//! The driver is the blocking `postgres` crate (sfackler's, maintained with
//! tokio-postgres, which it runs on a private current-thread runtime per
//! connection): the server is thread-per-connection by design
//! ([`crate::group::server`]), and sqlx would bring an async runtime and
//! its macros into code that never awaits. Connections are plain TCP or a
//! Unix socket (`NoTls`): run the database on loopback, a socket, or a
//! private network; a URL asking for `sslmode=require` fails to connect.
//!
//! # Nonces and rate limits
//!
//! A consumed nonce is a row in `nonces` (primary key: the nonce), inserted
//! before the key is unwrapped; a second replica inserting the same nonce
//! finds it and refuses the request as a replay. Rows live until their
//! request's timestamp plus the clock skew, and are deleted by the
//! housekeeping of any replica ([`Store::prune_nonces`]).
//!
//! The per-member rate limit is per replica (a token bucket in each
//! process's memory): behind a load balancer spreading a member over N
//! replicas, the member gets up to N times `--rate-limit`. Size it for
//! that; the limit exists against a runaway client, not as a quota.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row, Statement};

use super::schema::{POSTGRES_SCHEMA, SCHEMA_VERSION};
use super::{
    AuditRecord, DepositRecord, DepositState, GroupRecord, KeyRotation, MemberRecord,
    MemberSelector, RetiredKeyRecord, Role, SecretRecord, Store,
};
use crate::error::{fail, fail_hint, Exit};
use crate::group::release::protocol::NONCE_LEN;

/// How long a new connection may take before the store counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest one statement may run (a stuck lock must not hold a request
/// thread for ever); set on every connection.
const STATEMENT_TIMEOUT_MS: u32 = 15_000;
/// Most connections one replica opens; a request needing one more waits
/// (up to [`POOL_WAIT`]) for one to come back. Replicas × this must stay
/// under the database's `max_connections` (100 by default).
const POOL_SIZE: usize = 24;
/// How long a request waits for a connection before it is answered 503.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// The PostgreSQL backend: a database URL and a pool of connections.
pub struct PostgresStore {
    config: Config,
    /// The URL without its password, for messages.
    shown: String,
    pool: Mutex<Pool>,
    returned: Condvar,
}

/// The idle connections, and how many are open in all (idle or in use).
#[derive(Default)]
struct Pool {
    idle: Vec<Conn>,
    open: usize,
}

/// A connection and the statements prepared on it.
struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    fn prepare(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.prepare(sql)?;
        self.client.execute(&statement, params)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.prepare(sql)?;
        self.client.query(&statement, params)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.prepare(sql)?;
        self.client.query_opt(&statement, params)
    }
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Whether an error means the database is unreachable or going away (the
/// request may succeed later, or on another replica), rather than a fault.
fn unreachable(e: &postgres::Error) -> bool {
    let Some(code) = e.code() else {
        // No SQLSTATE: a connection, I/O or protocol failure.
        return true;
    };
    let c = code.code();
    c.starts_with("08")
        || c.starts_with("57P")
        || c.starts_with("53")
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::QUERY_CANCELED
}

impl PostgresStore {
    /// Connects to the database at `url` and creates or checks its schema.
    pub fn open(url: &str) -> anyhow::Result<PostgresStore> {
        let mut config = Config::from_str(url).map_err(|e| {
            // The driver's message never repeats the URL (or its password).
            fail_hint(
                Exit::Usage,
                format!("bad PostgreSQL URL: {e}"),
                "write it as postgres://USER@HOST:PORT/DATABASE",
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.keepalives(true);
        config.application_name("sealpost group server");
        config.options(&format!("-c statement_timeout={STATEMENT_TIMEOUT_MS}"));
        let store = PostgresStore {
            shown: shown(&config),
            config,
            pool: Mutex::new(Pool::default()),
            returned: Condvar::new(),
        };
        let mut conn = store.take()?;
        let migrated = store.migrate(&mut conn);
        store.give_back(conn, migrated.is_ok());
        migrated.map(|()| store)
    }

    /// The database, as messages name it (no password).
    pub fn describe(&self) -> &str {
        &self.shown
    }

    fn error(&self, e: &postgres::Error) -> anyhow::Error {
        // `{e:#}`-style detail: the server's message, never parameters.
        let detail = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        };
        let message = format!("group store {}: {detail}", self.shown);
        if unreachable(e) {
            fail(Exit::TempFail, message)
        } else {
            fail(Exit::IoErr, message)
        }
    }

    fn connect(&self) -> anyhow::Result<Conn> {
        let client = self.config.connect(NoTls).map_err(|e| self.error(&e))?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection, or a new one while fewer than [`POOL_SIZE`]
    /// are open, or the first one given back within [`POOL_WAIT`].
    fn take(&self) -> anyhow::Result<Conn> {
        let deadline = Instant::now() + POOL_WAIT;
        let mut pool = self.lock();
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(conn);
            }
            if pool.open < POOL_SIZE {
                pool.open += 1;
                drop(pool);
                let conn = self.connect();
                if conn.is_err() {
                    self.lock().open -= 1;
                    self.returned.notify_one();
                }
                return conn;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(fail(
                    Exit::TempFail,
                    format!(
                        "group store {}: all {POOL_SIZE} connections busy for {}s",
                        self.shown,
                        POOL_WAIT.as_secs()
                    ),
                ));
            }
            pool = self
                .returned
                .wait_timeout(pool, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Returns a connection to the pool, or closes it when it is broken
    /// or `keep` is false.
    fn give_back(&self, conn: Conn, keep: bool) {
        let mut pool = self.lock();
        if keep && !conn.client.is_closed() {
            pool.idle.push(conn);
        } else {
            pool.open -= 1;
        }
        drop(pool);
        self.returned.notify_one();
    }

    /// Runs `f` on a pooled connection. A failure that means the database
    /// went away drops this connection and every idle one.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, postgres::Error>,
    ) -> anyhow::Result<T> {
        let mut conn = self.take()?;
        match f(&mut conn) {
            Ok(value) => {
                self.give_back(conn, true);
                Ok(value)
            }
            Err(e) => {
                let gone = unreachable(&e);
                if gone {
                    let mut pool = self.lock();
                    let dropped = pool.idle.len();
                    pool.idle.clear();
                    pool.open -= dropped;
                }
                self.give_back(conn, !gone);
                Err(self.error(&e))
            }
        }
    }

    /// Creates the tables on first open (under an advisory lock, so that
    /// replicas starting together do not race), or checks their version.
    fn migrate(&self, conn: &mut Conn) -> anyhow::Result<()> {
        let version = (|| {
            let mut tx = conn.client.transaction()?;
            // Any constant ("SEAL"): it only serialises sealpost's own migrations.
            tx.execute("SELECT pg_advisory_xact_lock(1397048652)", &[])?;
            let exists: bool = tx
                .query_one("SELECT to_regclass('sealpost_schema') IS NOT NULL", &[])?
                .get(0);
            if !exists {
                tx.batch_execute(POSTGRES_SCHEMA)?;
                tx.execute(
                    "INSERT INTO sealpost_schema (version) VALUES ($1)",
                    &[&SCHEMA_VERSION],
                )?;
            }
            let version: i64 = tx
                .query_one("SELECT max(version) FROM sealpost_schema", &[])?
                .get(0);
            tx.commit()?;
            Ok(version)
        })()
        .map_err(|e: postgres::Error| self.error(&e))?;
        if version > SCHEMA_VERSION {
            return Err(fail_hint(
                Exit::Config,
                format!(
                    "group store {} has schema version {version}, newer than this sealpost understands ({SCHEMA_VERSION})",
                    self.shown
                ),
                "upgrade sealpost",
            ));
        }
        // Versions below the current one would be upgraded here, in order,
        // as the SQLite backend does; version 2 is the first on PostgreSQL.
        Ok(())
    }

    /// Whether the database holds any group, member, secret, deposit or
    /// audit row (`group migrate` refuses to copy onto data).
    pub fn has_data(&self) -> anyhow::Result<bool> {
        self.with(|c| {
            let row = c.client.query_one(
                "SELECT EXISTS (SELECT 1 FROM groups) OR EXISTS (SELECT 1 FROM audit) \
                 OR EXISTS (SELECT 1 FROM vault) OR EXISTS (SELECT 1 FROM deposits)",
                &[],
            )?;
            Ok(row.get(0))
        })
    }

    /// Runs `f` in one transaction on a pooled connection (for `group migrate`).
    pub(super) fn transaction<T>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, postgres::Error>,
    ) -> anyhow::Result<T> {
        self.with(|c| {
            let mut tx = c.client.transaction()?;
            let value = f(&mut tx)?;
            tx.commit()?;
            Ok(value)
        })
    }
}

/// `postgres://USER@HOST:PORT/DB`: the URL as messages show it.
fn shown(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{user}{host}:{port}/{db}")
}

fn group_row(r: &Row) -> Result<GroupRecord, postgres::Error> {
    Ok(GroupRecord {
        name: r.try_get(0)?,
        email: r.try_get(1)?,
        certificate: r.try_get(2)?,
        sealed_key: r.try_get(3)?,
        created: r.try_get(4)?,
    })
}

/// A member row; an unknown role is skipped by the caller (it grants nothing).
fn member_row(r: &Row) -> Result<Option<MemberRecord>, postgres::Error> {
    let role: String = r.try_get(4)?;
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    Ok(Some(MemberRecord {
        fingerprint: r.try_get(0)?,
        address: r.try_get(1)?,
        certificate: r.try_get(2)?,
        added: r.try_get(3)?,
        role,
    }))
}

fn deposit_row(r: &Row) -> Result<DepositRecord, postgres::Error> {
    let state: String = r.try_get(7)?;
    Ok(DepositRecord {
        id: r.try_get(0)?,
        group: r.try_get(1)?,
        depositor: r.try_get(2)?,
        readers: r.try_get(3)?,
        created: r.try_get(4)?,
        expires: r.try_get(5)?,
        sealed_kek: r.try_get(6)?,
        state: DepositState::parse(&state),
        ended: r.try_get(8)?,
    })
}

fn audit_row(r: &Row) -> Result<AuditRecord, postgres::Error> {
    Ok(AuditRecord {
        id: r.try_get(0)?,
        time: r.try_get(1)?,
        group: r.try_get(2)?,
        member_fingerprint: r.try_get(3)?,
        member_address: r.try_get(4)?,
        key_hash: r.try_get(5)?,
        outcome: r.try_get(6)?,
        remote: r.try_get(7)?,
        nonce: super::parse_nonce(r.try_get(8)?),
        nonce_used: r.try_get(9)?,
        op: r.try_get(10)?,
    })
}

fn members_of(rows: Vec<Row>) -> Result<Vec<MemberRecord>, postgres::Error> {
    let mut members = Vec::with_capacity(rows.len());
    for r in &rows {
        members.extend(member_row(r)?);
    }
    Ok(members)
}

impl Store for PostgresStore {
    fn create_group(&self, g: &GroupRecord) -> anyhow::Result<()> {
        let inserted = self.with(|c| {
            c.execute(
                "INSERT INTO groups (name, email, certificate, sealed_key, created) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&g.name, &g.email, &g.certificate, &g.sealed_key, &g.created],
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
            c.query_opt(
                "SELECT name, email, certificate, sealed_key, created FROM groups WHERE name = $1",
                &[&name],
            )?
            .as_ref()
            .map(group_row)
            .transpose()
        })
    }

    fn groups(&self) -> anyhow::Result<Vec<GroupRecord>> {
        self.with(|c| {
            c.query(
                "SELECT name, email, certificate, sealed_key, created FROM groups ORDER BY name",
                &[],
            )?
            .iter()
            .map(group_row)
            .collect()
        })
    }

    fn add_member(&self, group: &str, m: &MemberRecord) -> anyhow::Result<bool> {
        let n = self.with(|c| {
            c.execute(
                "INSERT INTO members (grp, fingerprint, address, certificate, added, role) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &group,
                    &m.fingerprint,
                    &m.address,
                    &m.certificate,
                    &m.added,
                    &m.role.as_str(),
                ],
            )
        })?;
        Ok(n == 1)
    }

    fn remove_members(
        &self,
        group: &str,
        which: &MemberSelector,
    ) -> anyhow::Result<Vec<MemberRecord>> {
        self.with(|c| {
            let rows = match which {
                MemberSelector::Address(a) => c.query(
                    "DELETE FROM members WHERE grp = $1 AND address = $2 \
                     RETURNING fingerprint, address, certificate, added, role",
                    &[&group, a],
                )?,
                MemberSelector::Fingerprint(f) => c.query(
                    "DELETE FROM members WHERE grp = $1 AND fingerprint = $2 \
                     RETURNING fingerprint, address, certificate, added, role",
                    &[&group, f],
                )?,
            };
            members_of(rows)
        })
    }

    fn members(&self, group: &str) -> anyhow::Result<Vec<MemberRecord>> {
        self.with(|c| {
            members_of(c.query(
                "SELECT fingerprint, address, certificate, added, role FROM members \
                 WHERE grp = $1 ORDER BY address, added",
                &[&group],
            )?)
        })
    }

    fn member(&self, group: &str, fingerprint: &str) -> anyhow::Result<Option<MemberRecord>> {
        self.with(|c| {
            match c.query_opt(
                "SELECT fingerprint, address, certificate, added, role FROM members \
                 WHERE grp = $1 AND fingerprint = $2",
                &[&group, &fingerprint],
            )? {
                Some(r) => member_row(&r),
                None => Ok(None),
            }
        })
    }

    fn append_audit(&self, rows: &[AuditRecord]) -> anyhow::Result<()> {
        self.with(|c| {
            let insert = c.prepare(
                "INSERT INTO audit (time, grp, member_fingerprint, member_address, key_hash, \
                 outcome, remote, nonce, nonce_used, op) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )?;
            let mut tx = c.client.transaction()?;
            for r in rows {
                let op = if r.op.is_empty() {
                    "release"
                } else {
                    r.op.as_str()
                };
                tx.execute(
                    &insert,
                    &[
                        &r.time,
                        &r.group,
                        &r.member_fingerprint,
                        &r.member_address,
                        &r.key_hash,
                        &r.outcome,
                        &r.remote,
                        &r.nonce.map(hex::encode),
                        &r.nonce_used,
                        &op,
                    ],
                )?;
            }
            tx.commit()
        })
    }

    fn audit(&self, group: &str, since: Option<i64>) -> anyhow::Result<Vec<AuditRecord>> {
        self.with(|c| {
            c.query(
                "SELECT id, time, grp, member_fingerprint, member_address, key_hash, outcome, \
                 remote, nonce, nonce_used, op FROM audit WHERE grp = $1 AND time >= $2 ORDER BY id",
                &[&group, &since.unwrap_or(i64::MIN)],
            )?
            .iter()
            .map(audit_row)
            .collect()
        })
    }

    fn used_nonces(&self, since: i64) -> anyhow::Result<Vec<([u8; NONCE_LEN], i64)>> {
        let rows: Vec<(Option<String>, i64)> = self.with(|c| {
            c.query(
                "SELECT nonce, time FROM audit WHERE nonce_used AND time >= $1",
                &[&since],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(n, t)| super::parse_nonce(n).map(|n| (n, t)))
            .collect())
    }

    fn consume_nonce(&self, nonce: &[u8; NONCE_LEN], until: i64, now: i64) -> anyhow::Result<bool> {
        // Inserted, or taking over an expired row: consumed. A live row of
        // another request (on any replica): a replay.
        //
        // NOTE: committed without waiting for the WAL flush (one round
        // trip, no fsync per request). That is safe: the request's audit
        // row is committed synchronously later, and flushing the WAL up to
        // it flushes this earlier record too; so a nonce can only be lost
        // in a crash together with a request that released nothing. The
        // values are ours (hex digits, integers), so they are written into
        // the statement, which the simple protocol needs for one round trip.
        let sql = format!(
            "BEGIN; SET LOCAL synchronous_commit = off; \
             INSERT INTO nonces (nonce, until) VALUES ('\\x{}'::bytea, {until}) \
             ON CONFLICT (nonce) DO UPDATE SET until = EXCLUDED.until \
             WHERE nonces.until < {now}; COMMIT",
            hex::encode(nonce)
        );
        let inserted = self.with(|c| {
            let messages = c.client.simple_query(&sql)?;
            // The INSERT's count: the third command's completion.
            Ok(messages
                .iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
                    _ => None,
                })
                .nth(2))
        })?;
        Ok(inserted == Some(1))
    }

    fn release_nonce(&self, nonce: &[u8; NONCE_LEN]) -> anyhow::Result<()> {
        let nonce = &nonce[..];
        self.with(|c| c.execute("DELETE FROM nonces WHERE nonce = $1", &[&nonce]))?;
        Ok(())
    }

    fn prune_nonces(&self, now: i64) -> anyhow::Result<usize> {
        let n = self.with(|c| c.execute("DELETE FROM nonces WHERE until < $1", &[&now]))?;
        Ok(n as usize)
    }

    fn prune_audit(&self, before: i64, group: Option<&str>) -> anyhow::Result<usize> {
        let n = self.with(|c| {
            c.execute(
                "DELETE FROM audit WHERE time < $1 AND ($2::TEXT IS NULL OR grp = $2)",
                &[&before, &group],
            )
        })?;
        Ok(n as usize)
    }

    fn trim_audit(&self, max_rows: u64, keep_since: i64) -> anyhow::Result<usize> {
        let offset = i64::try_from(max_rows).unwrap_or(i64::MAX);
        let n = self.with(|c| {
            c.execute(
                "DELETE FROM audit WHERE time < $2 AND id <= \
                 (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET $1)",
                &[&offset, &keep_since],
            )
        })?;
        Ok(n as usize)
    }

    fn vault(&self) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.with(|c| {
            c.query_opt(
                "SELECT sealed_key, check_value FROM vault WHERE id = 1",
                &[],
            )?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose()
        })
    }

    fn create_vault(&self, sealed_key: &[u8], check: &[u8]) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO vault (id, sealed_key, check_value) VALUES (1, $1, $2) \
                 ON CONFLICT DO NOTHING",
                &[&sealed_key, &check],
            )
        })?;
        Ok(())
    }

    fn add_secret(&self, group: &str, secret: &SecretRecord) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO secrets (grp, id, sealed, created) VALUES ($1, $2, $3, $4)",
                &[&group, &secret.id, &secret.sealed, &secret.created],
            )
        })?;
        Ok(())
    }

    fn secrets(&self, group: &str) -> anyhow::Result<Vec<SecretRecord>> {
        self.with(|c| {
            c.query(
                "SELECT id, sealed, created FROM secrets WHERE grp = $1 ORDER BY created, seq",
                &[&group],
            )?
            .iter()
            .map(|r| {
                Ok(SecretRecord {
                    id: r.try_get(0)?,
                    sealed: r.try_get(1)?,
                    created: r.try_get(2)?,
                })
            })
            .collect()
        })
    }

    fn create_deposit(&self, d: &DepositRecord) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO deposits (id, grp, depositor, readers, created, expires, \
                 sealed_kek, state, ended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &d.id,
                    &d.group,
                    &d.depositor,
                    &d.readers,
                    &d.created,
                    &d.expires,
                    &d.sealed_kek,
                    &d.state.as_str(),
                    &d.ended,
                ],
            )
        })?;
        Ok(())
    }

    fn deposit(&self, id: &str) -> anyhow::Result<Option<DepositRecord>> {
        self.with(|c| {
            c.query_opt(
                "SELECT id, grp, depositor, readers, created, expires, sealed_kek, state, ended \
                 FROM deposits WHERE id = $1",
                &[&id],
            )?
            .as_ref()
            .map(deposit_row)
            .transpose()
        })
    }

    fn end_deposit(&self, id: &str, state: DepositState, now: i64) -> anyhow::Result<bool> {
        let n = self.with(|c| {
            c.execute(
                "UPDATE deposits SET sealed_kek = NULL, state = $2, ended = $3 \
                 WHERE id = $1 AND state = 'live'",
                &[&id, &state.as_str(), &now],
            )
        })?;
        Ok(n == 1)
    }

    fn expire_deposits(&self, now: i64) -> anyhow::Result<usize> {
        let n = self.with(|c| {
            c.execute(
                "UPDATE deposits SET sealed_kek = NULL, state = 'expired', ended = $1 \
                 WHERE state = 'live' AND expires IS NOT NULL AND expires <= $1",
                &[&now],
            )
        })?;
        Ok(n as usize)
    }

    fn rotate_group_key(&self, group: &str, rotation: &KeyRotation) -> anyhow::Result<i64> {
        let outcome = self.transaction(|tx| {
            // FOR UPDATE: two rotations at once (from any machine) must not
            // both retire the same key; the second waits, then sees the new one.
            let Some(row) = tx.query_opt(
                "SELECT certificate, sealed_key, created FROM groups WHERE name = $1 FOR UPDATE",
                &[&group],
            )?
            else {
                return Ok(None);
            };
            let certificate: Vec<u8> = row.get(0);
            let sealed_key: String = row.get(1);
            let group_created: i64 = row.get(2);
            if certificate != rotation.old_certificate {
                return Ok(Some(Err(())));
            }
            let row = tx.query_one(
                "SELECT COALESCE(MAX(generation), 0) + 1, MAX(retired) FROM retired_keys \
                 WHERE grp = $1",
                &[&group],
            )?;
            let generation: i64 = row.get(0);
            let since: Option<i64> = row.get(1);
            tx.execute(
                "INSERT INTO retired_keys \
                 (grp, generation, certificate, sealed_key, created, retired, expires) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &group,
                    &generation,
                    &certificate,
                    &sealed_key,
                    &since.unwrap_or(group_created),
                    &rotation.time,
                    &rotation.keep_until,
                ],
            )?;
            tx.execute(
                "UPDATE groups SET certificate = $2, sealed_key = $3 WHERE name = $1",
                &[&group, &rotation.certificate, &rotation.sealed_key],
            )?;
            Ok(Some(Ok(generation + 1)))
        })?;
        super::rotation_outcome(group, outcome)
    }

    fn retired_keys(&self, group: &str) -> anyhow::Result<Vec<RetiredKeyRecord>> {
        self.with(|c| {
            c.client
                .query(
                    "SELECT generation, certificate, sealed_key, created, retired, expires \
                     FROM retired_keys WHERE grp = $1 ORDER BY generation",
                    &[&group],
                )?
                .iter()
                .map(|r| {
                    Ok(RetiredKeyRecord {
                        generation: r.try_get(0)?,
                        certificate: r.try_get(1)?,
                        sealed_key: r.try_get(2)?,
                        created: r.try_get(3)?,
                        retired: r.try_get(4)?,
                        expires: r.try_get(5)?,
                    })
                })
                .collect()
        })
    }

    fn key_generation(&self, group: &str) -> anyhow::Result<i64> {
        // Read on every request: the primary key's index answers it.
        self.with(|c| {
            c.client
                .query_one(
                    "SELECT COALESCE(MAX(generation), 0) + 1 FROM retired_keys WHERE grp = $1",
                    &[&group],
                )?
                .try_get(0)
        })
    }
}
