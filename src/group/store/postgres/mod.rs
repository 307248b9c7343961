//! The PostgreSQL backend of [`Store`](super::Store) (the calls themselves
//! in `store_impl.rs`; here the connections), for several `group serve` replicas
//! on one database (issue 16): every replica reads and writes the same
//! rows, so what one does (a removal, a consumed nonce, a deposit) the
//! others see at their next statement.
//!
//! # Durability and what a failure answers
//!
//! Each [`Store`](super::Store) call is one statement or one transaction; a call returns
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
//! its macros into code that never awaits.
//!
//! Connections are TCP or a Unix socket, with TLS as the URL's `sslmode`
//! and `sslrootcert` say (libpq's meanings; the default is libpq's
//! `prefer`, which does not check the server's certificate: over any
//! network, say `sslmode=verify-full`). The table of modes, and why the
//! TLS adapter is sealpost's own, are in `tls.rs`.
//!
//! # Nonces and rate limits
//!
//! A consumed nonce is a row in `nonces` (primary key: the nonce), inserted
//! before the key is unwrapped; a second replica inserting the same nonce
//! finds it and refuses the request as a replay. Rows live until their
//! request's timestamp plus the clock skew, and are deleted by the
//! housekeeping of any replica ([`Store::prune_nonces`](super::Store::prune_nonces)).
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
use postgres::{Client, Config, Row, Statement};

use super::schema::{POSTGRES_SCHEMA, POSTGRES_SCHEMA_4, SCHEMA_VERSION};
use crate::error::{fail, fail_hint, Exit};

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
    /// TLS as the URL asks (`sslmode`, `sslrootcert`).
    tls: tls::Connector,
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
        let url = tls::split_url(url)?;
        let mut config = Config::from_str(&url.url).map_err(|e| {
            // The driver's message never repeats the URL (or its password).
            fail_hint(
                Exit::Usage,
                format!("bad PostgreSQL URL: {e}"),
                "write it as postgres://USER@HOST:PORT/DATABASE[?sslmode=verify-full&sslrootcert=FILE]",
            )
        })?;
        let (tls, mode) = tls::Connector::new(url.mode, url.root.as_deref())?;
        config.ssl_mode(mode);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.keepalives(true);
        config.application_name("sealpost group server");
        config.options(&format!("-c statement_timeout={STATEMENT_TIMEOUT_MS}"));
        let store = PostgresStore {
            shown: shown(&config),
            config,
            tls,
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
        let client = self
            .config
            .connect(self.tls.clone())
            .map_err(|e| self.error(&e))?;
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
                tx.execute("INSERT INTO sealpost_schema (version) VALUES (3)", &[])?;
            }
            let mut version: i64 = tx
                .query_one("SELECT max(version) FROM sealpost_schema", &[])?
                .get(0);
            // The upgrades, in order, as the SQLite backend applies them.
            if version == 3 {
                tx.batch_execute(POSTGRES_SCHEMA_4)?;
                tx.execute("UPDATE sealpost_schema SET version = 4", &[])?;
                version = 4;
            }
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

mod store_impl;
mod tls;
