//! `group migrate`: every table of an SQLite store copied into an empty
//! PostgreSQL store, in one PostgreSQL transaction (all or nothing).
//!
//! Rows are copied as they are, audit ids included (the PostgreSQL
//! sequence is moved past them), so `group audit` reads the same before and
//! after. A target that holds any group, audit row, vault or deposit is
//! refused, checked inside the transaction under the migration lock, so
//! running the same migration twice (or two at once) copies once. Stop the
//! server on the SQLite file first: rows it writes during the copy are not
//! in the target.

use rusqlite::Connection;

use super::{PostgresStore, SqliteStore};
use crate::error::{fail_hint, Exit};

/// How many rows of each table were copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub groups: usize,
    pub members: usize,
    pub secrets: usize,
    pub deposits: usize,
    pub audit: usize,
    pub vault: usize,
    pub retired_keys: usize,
    pub pass_issuers: usize,
}

/// The SQLite tables, read in full (a store the operator migrates fits in memory).
struct Tables {
    groups: Vec<(String, String, Vec<u8>, String, i64)>,
    members: Vec<(String, String, String, Vec<u8>, i64, String)>,
    secrets: Vec<(String, String, Vec<u8>, i64)>,
    #[allow(clippy::type_complexity)]
    deposits: Vec<(
        String,
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<Vec<u8>>,
        String,
        Option<i64>,
    )>,
    #[allow(clippy::type_complexity)]
    audit: Vec<(
        i64,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        bool,
        String,
    )>,
    vault: Vec<(Vec<u8>, Vec<u8>)>,
    #[allow(clippy::type_complexity)]
    retired_keys: Vec<(String, i64, Vec<u8>, String, i64, i64, i64)>,
    pass_issuers: Vec<(String, bool, i64, i64, Vec<u8>)>,
    pass_issued: Vec<(String, String, String, i64)>,
}

/// Every row `sql` selects, each made by `f`.
fn all<T>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    tx.prepare(sql)?.query_map([], f)?.collect()
}

fn read(c: &mut Connection) -> rusqlite::Result<Tables> {
    // One read transaction: a consistent snapshot even if something writes.
    let tx = c.transaction()?;
    let t = Tables {
        groups: all(
            &tx,
            "SELECT name, email, certificate, sealed_key, created FROM groups ORDER BY name",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?,
        members: all(
            &tx,
            "SELECT grp, fingerprint, address, certificate, added, role FROM members ORDER BY rowid",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )?,
        secrets: all(
            &tx,
            "SELECT grp, id, sealed, created FROM secrets ORDER BY created, rowid",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?,
        deposits: all(
            &tx,
            "SELECT id, grp, depositor, readers, created, expires, sealed_kek, state, ended \
             FROM deposits ORDER BY rowid",
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            },
        )?,
        audit: all(
            &tx,
            "SELECT id, time, grp, member_fingerprint, member_address, key_hash, outcome, \
             remote, nonce, nonce_used, op FROM audit ORDER BY id",
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            },
        )?,
        vault: all(&tx, "SELECT sealed_key, check_value FROM vault", |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?,
        retired_keys: all(
            &tx,
            "SELECT grp, generation, certificate, sealed_key, created, retired, expires \
             FROM retired_keys ORDER BY grp, generation",
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )?,
        pass_issuers: all(
            &tx,
            "SELECT grp, enabled, lifetime, epoch, sealed_seed FROM pass_issuers ORDER BY grp",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?,
        pass_issued: all(
            &tx,
            "SELECT grp, key_id, member, until FROM pass_issued ORDER BY grp",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?,
    };
    tx.finish()?;
    Ok(t)
}

/// Copies every table of `from` into `to`, which must hold no data.
pub fn sqlite_to_postgres(from: &SqliteStore, to: &PostgresStore) -> anyhow::Result<Copied> {
    let t = from.with(read)?;
    let refused = to.transaction(|tx| {
        tx.execute("SELECT pg_advisory_xact_lock(1397048652)", &[])?;
        let has_data: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM groups) OR EXISTS (SELECT 1 FROM audit) \
                 OR EXISTS (SELECT 1 FROM vault) OR EXISTS (SELECT 1 FROM deposits)",
                &[],
            )?
            .get(0);
        if has_data {
            return Ok(true);
        }
        for g in &t.groups {
            tx.execute(
                "INSERT INTO groups (name, email, certificate, sealed_key, created) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[&g.0, &g.1, &g.2, &g.3, &g.4],
            )?;
        }
        for k in &t.retired_keys {
            tx.execute(
                "INSERT INTO retired_keys \
                 (grp, generation, certificate, sealed_key, created, retired, expires) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&k.0, &k.1, &k.2, &k.3, &k.4, &k.5, &k.6],
            )?;
        }
        for p in &t.pass_issuers {
            tx.execute(
                "INSERT INTO pass_issuers (grp, enabled, lifetime, epoch, sealed_seed) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[&p.0, &p.1, &p.2, &p.3, &p.4],
            )?;
        }
        for p in &t.pass_issued {
            tx.execute(
                "INSERT INTO pass_issued (grp, key_id, member, until) VALUES ($1, $2, $3, $4)",
                &[&p.0, &p.1, &p.2, &p.3],
            )?;
        }
        for m in &t.members {
            tx.execute(
                "INSERT INTO members (grp, fingerprint, address, certificate, added, role) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&m.0, &m.1, &m.2, &m.3, &m.4, &m.5],
            )?;
        }
        for s in &t.secrets {
            tx.execute(
                "INSERT INTO secrets (grp, id, sealed, created) VALUES ($1, $2, $3, $4)",
                &[&s.0, &s.1, &s.2, &s.3],
            )?;
        }
        for d in &t.deposits {
            tx.execute(
                "INSERT INTO deposits (id, grp, depositor, readers, created, expires, \
                 sealed_kek, state, ended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[&d.0, &d.1, &d.2, &d.3, &d.4, &d.5, &d.6, &d.7, &d.8],
            )?;
        }
        let insert = tx.prepare(
            "INSERT INTO audit (id, time, grp, member_fingerprint, member_address, key_hash, \
             outcome, remote, nonce, nonce_used, op) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )?;
        for a in &t.audit {
            tx.execute(
                &insert,
                &[
                    &a.0, &a.1, &a.2, &a.3, &a.4, &a.5, &a.6, &a.7, &a.8, &a.9, &a.10,
                ],
            )?;
        }
        // New rows continue after the copied ids.
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('audit', 'id'), \
             (SELECT COALESCE(max(id), 0) + 1 FROM audit), false)",
            &[],
        )?;
        for v in &t.vault {
            tx.execute(
                "INSERT INTO vault (id, sealed_key, check_value) VALUES (1, $1, $2)",
                &[&v.0, &v.1],
            )?;
        }
        Ok(false)
    })?;
    if refused {
        return Err(fail_hint(
            Exit::CantCreate,
            format!(
                "{} already holds group store data; nothing was copied",
                to.describe()
            ),
            "migrate into an empty database (a store that was migrated once needs no second run)",
        ));
    }
    Ok(Copied {
        groups: t.groups.len(),
        members: t.members.len(),
        secrets: t.secrets.len(),
        deposits: t.deposits.len(),
        audit: t.audit.len(),
        vault: t.vault.len(),
        retired_keys: t.retired_keys.len(),
        pass_issuers: t.pass_issuers.len(),
    })
}
