//! The tables of the SQLite store, as created by each schema version;
//! `sqlite.rs` applies them in order (`PRAGMA user_version`).
/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 3;

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
