//! `sealpost group migrate`: an SQLite group store copied into PostgreSQL.

use clap::Args;
use serde_json::json;

use super::Context;
use crate::cli::write_stdout;
use sealpost::error::{fail_hint, Exit};
use sealpost::group::store::{self, Location, PostgresStore, SqliteStore};

/// Copy a group store from SQLite into an empty PostgreSQL database
///
/// Copies every table (groups and their sealed keys, members, group
/// secrets, the vault, deposits, the audit log with its ids) in one
/// transaction: all of it or nothing. A target that already holds data is
/// refused, so a second run copies nothing. Stop `group serve` on the SQLite
/// file first; then start the servers with `--store postgres://…`. The
/// sealed keys are copied as they are: the servers keep the passphrase.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite store: sqlite:PATH (or PATH)
    #[arg(long, value_name = "sqlite:PATH")]
    pub from: String,
    /// The PostgreSQL database: postgres://USER@HOST:PORT/DB (TLS as
    /// --store's: ?sslmode=verify-full&sslrootcert=FILE)
    #[arg(long, value_name = "URL")]
    pub to: String,
}

pub fn run(args: MigrateArgs, ctx: &Context) -> anyhow::Result<()> {
    let Location::Sqlite(path) = Location::parse(&args.from) else {
        return Err(fail_hint(
            Exit::Usage,
            "--from must be an SQLite store",
            "write it as --from sqlite:PATH",
        ));
    };
    if !store::is_postgres_url(&args.to) {
        return Err(fail_hint(
            Exit::Usage,
            "--to must be a PostgreSQL URL",
            "write it as --to postgres://USER@HOST:PORT/DB",
        ));
    }
    if !path.exists() {
        return Err(fail_hint(
            Exit::NoInput,
            format!("no group store at {}", path.display()),
            "give the SQLite file the server used (KEYSTORE/groups.sqlite3 by default)",
        ));
    }
    let from = SqliteStore::open(&path)?;
    let to = PostgresStore::open(&args.to)?;
    let copied = store::sqlite_to_postgres(&from, &to)?;
    if ctx.global.json {
        return ctx.print_json(
            "group migrate",
            json!({
                "to": to.describe(),
                "groups": copied.groups,
                "members": copied.members,
                "secrets": copied.secrets,
                "deposits": copied.deposits,
                "audit_rows": copied.audit,
                "retired_keys": copied.retired_keys,
                "anonymous_groups": copied.pass_issuers,
            }),
        );
    }
    let line = format!(
        "copied {} groups ({} retired keys, {} anonymous), {} members, {} secrets, \
         {} deposits, {} audit rows to {}\n",
        copied.groups,
        copied.retired_keys,
        copied.pass_issuers,
        copied.members,
        copied.secrets,
        copied.deposits,
        copied.audit,
        to.describe()
    );
    write_stdout(line.as_bytes(), false)
}
