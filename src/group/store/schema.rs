//! The tables of the stores: SQLite's as created by each schema version
//! (`sqlite.rs` applies them in order, `PRAGMA user_version`), and
//! PostgreSQL's at the current version (`postgres/`).
/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 4;

pub(super) const SCHEMA: &str = "
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
pub(super) const SCHEMA_2: &str = "
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

/// Version 2 to 3: the retired keys of groups whose key was rotated. The
/// current key stays in `groups`; a rotation moves it here with the time
/// until which messages encrypted to it are still released.
pub(super) const SCHEMA_3: &str = "
CREATE TABLE retired_keys (
    grp TEXT NOT NULL REFERENCES groups(name),
    generation INTEGER NOT NULL,
    certificate BLOB NOT NULL,
    sealed_key TEXT NOT NULL,
    created INTEGER NOT NULL,
    retired INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (grp, generation)
);
";

/// Version 3 to 4: anonymous groups (issue #17). A row per group that
/// issues membership passes: whether it does now, the pass lifetime, the
/// epoch (bumped by `remove-member --now`, which replaces every issuing
/// key) and the seed the issuing keys derive from, sealed by the vault;
/// and the passes issued, one per member address and issuing key (kept
/// until the period ends).
pub(super) const SCHEMA_4: &str = "
CREATE TABLE pass_issuers (
    grp TEXT PRIMARY KEY NOT NULL REFERENCES groups(name),
    enabled INTEGER NOT NULL,
    lifetime INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    sealed_seed BLOB NOT NULL
);
CREATE TABLE pass_issued (
    grp TEXT NOT NULL REFERENCES groups(name),
    key_id TEXT NOT NULL,
    member TEXT NOT NULL,
    until INTEGER NOT NULL,
    PRIMARY KEY (grp, key_id, member)
);
CREATE INDEX pass_issued_by_until ON pass_issued(until);
";

/// PostgreSQL's step from version 3 to 4 (as [`SCHEMA_4`]).
pub(super) const POSTGRES_SCHEMA_4: &str = "
CREATE TABLE pass_issuers (
    grp TEXT PRIMARY KEY NOT NULL REFERENCES groups(name),
    enabled BOOLEAN NOT NULL,
    lifetime BIGINT NOT NULL,
    epoch BIGINT NOT NULL,
    sealed_seed BYTEA NOT NULL
);
CREATE TABLE pass_issued (
    grp TEXT NOT NULL REFERENCES groups(name),
    key_id TEXT NOT NULL,
    member TEXT NOT NULL,
    until BIGINT NOT NULL,
    PRIMARY KEY (grp, key_id, member)
);
CREATE INDEX pass_issued_by_until ON pass_issued(until);
";

/// The PostgreSQL store's tables at version 3 (then [`POSTGRES_SCHEMA_4`]): SQLite's, with
/// PostgreSQL's types, plus `nonces` (the replay record every replica
/// shares) and `sealpost_schema` (the version, as `user_version` is in
/// SQLite). `secrets.seq` orders secrets created in the same second, as
/// SQLite's rowid does.
pub(super) const POSTGRES_SCHEMA: &str = "
CREATE TABLE sealpost_schema (version BIGINT NOT NULL);
CREATE TABLE groups (
    name TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    certificate BYTEA NOT NULL,
    sealed_key TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE TABLE members (
    grp TEXT NOT NULL REFERENCES groups(name),
    fingerprint TEXT NOT NULL,
    address TEXT NOT NULL,
    certificate BYTEA NOT NULL,
    added BIGINT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member',
    PRIMARY KEY (grp, fingerprint)
);
CREATE INDEX members_by_address ON members(grp, address);
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    time BIGINT NOT NULL,
    grp TEXT,
    member_fingerprint TEXT,
    member_address TEXT,
    key_hash TEXT,
    outcome TEXT NOT NULL,
    remote TEXT,
    nonce TEXT,
    nonce_used BOOLEAN NOT NULL DEFAULT FALSE,
    op TEXT NOT NULL DEFAULT 'release'
);
CREATE INDEX audit_by_group ON audit(grp, time);
CREATE INDEX audit_used_nonces ON audit(time) WHERE nonce_used;
CREATE TABLE vault (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed_key BYTEA NOT NULL,
    check_value BYTEA NOT NULL
);
CREATE TABLE secrets (
    grp TEXT NOT NULL REFERENCES groups(name),
    id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    created BIGINT NOT NULL,
    seq BIGSERIAL,
    PRIMARY KEY (grp, id)
);
CREATE TABLE deposits (
    id TEXT PRIMARY KEY NOT NULL,
    grp TEXT NOT NULL REFERENCES groups(name),
    depositor TEXT NOT NULL,
    readers TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT,
    sealed_kek BYTEA,
    state TEXT NOT NULL,
    ended BIGINT
);
CREATE INDEX deposits_live_by_expiry ON deposits(expires) WHERE state = 'live';
CREATE TABLE nonces (
    nonce BYTEA PRIMARY KEY NOT NULL,
    until BIGINT NOT NULL
);
CREATE INDEX nonces_by_until ON nonces(until);
CREATE TABLE retired_keys (
    grp TEXT NOT NULL REFERENCES groups(name),
    generation BIGINT NOT NULL,
    certificate BYTEA NOT NULL,
    sealed_key TEXT NOT NULL,
    created BIGINT NOT NULL,
    retired BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    PRIMARY KEY (grp, generation)
);
";
