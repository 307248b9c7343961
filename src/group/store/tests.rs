use super::schema::SCHEMA;
use super::*;
use rusqlite::Connection;
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

/// Issue 16: a rotation retires the current key with its keep-old window,
/// in one step, and only when the caller saw the key it replaces.
#[test]
fn a_rotation_retires_the_current_key_and_counts_generations() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("g.sqlite3")).unwrap();
    store.create_group(&group("list")).unwrap();
    store.create_group(&group("other")).unwrap();
    assert_eq!(store.key_generation("list").unwrap(), 1);
    let rotation = |old: &[u8], new: u8, time| KeyRotation {
        old_certificate: old.to_vec(),
        certificate: vec![0x30, new],
        sealed_key: format!("sealed{new}"),
        time,
        keep_until: time + 100,
    };
    assert_eq!(
        store
            .rotate_group_key("list", &rotation(&[0x30, 0], 1, 10))
            .unwrap(),
        2
    );
    // A second rotation from the same (now retired) key changes nothing.
    assert!(store
        .rotate_group_key("list", &rotation(&[0x30, 0], 9, 15))
        .is_err());
    assert!(store
        .rotate_group_key("nope", &rotation(&[0x30, 0], 9, 15))
        .is_err());
    assert_eq!(
        store
            .rotate_group_key("list", &rotation(&[0x30, 1], 2, 20))
            .unwrap(),
        3
    );
    let g = store.group("list").unwrap().unwrap();
    assert_eq!(
        (g.certificate, g.sealed_key),
        (vec![0x30, 2], "sealed2".into())
    );
    let retired = store.retired_keys("list").unwrap();
    let summary: Vec<_> = retired
        .iter()
        .map(|r| {
            (
                r.generation,
                r.certificate.clone(),
                r.created,
                r.retired,
                r.expires,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, vec![0x30, 0], 1, 10, 110),
            (2, vec![0x30, 1], 10, 20, 120)
        ]
    );
    assert_eq!(retired[0].sealed_key, "sealed");
    assert_eq!(store.key_generation("list").unwrap(), 3);
    assert_eq!(store.key_generation("other").unwrap(), 1);
    assert!(store.retired_keys("other").unwrap().is_empty());
}

#[test]
fn a_version_2_store_is_migrated_to_hold_retired_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("groups.sqlite3");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(SCHEMA).unwrap();
        c.execute_batch(super::schema::SCHEMA_2).unwrap();
        c.execute_batch("PRAGMA user_version = 2").unwrap();
        c.execute(
            "INSERT INTO groups VALUES ('list', 'l@x', x'3000', 'sealed', 1)",
            [],
        )
        .unwrap();
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.key_generation("list").unwrap(), 1);
    let rotation = KeyRotation {
        old_certificate: vec![0x30, 0],
        certificate: vec![0x30, 1],
        sealed_key: "new".into(),
        time: 5,
        keep_until: 6,
    };
    assert_eq!(store.rotate_group_key("list", &rotation).unwrap(), 2);
    assert_eq!(store.retired_keys("list").unwrap()[0].created, 1);
    let version: i64 = store
        .with(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_version_3_store_is_migrated_to_hold_anonymous_groups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("groups.sqlite3");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(SCHEMA).unwrap();
        c.execute_batch(super::schema::SCHEMA_2).unwrap();
        c.execute_batch(super::schema::SCHEMA_3).unwrap();
        c.execute_batch("PRAGMA user_version = 3").unwrap();
        c.execute(
            "INSERT INTO groups VALUES ('list', 'l@x', x'3000', 'sealed', 1)",
            [],
        )
        .unwrap();
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.pass_issuer("list").unwrap(), None);
    assert!(!store.bump_pass_epoch("list").unwrap());
    let issuer = PassIssuerRecord {
        enabled: true,
        lifetime: 3600,
        epoch: 0,
        sealed_seed: vec![1, 2, 3],
    };
    store.set_pass_issuer("list", &issuer).unwrap();
    assert!(store.bump_pass_epoch("list").unwrap());
    assert_eq!(store.pass_issuer("list").unwrap().unwrap().epoch, 1);
    // One pass per member and key, forgotten when its time is over.
    assert!(store
        .record_pass_issuance("list", "k1", "bob@x", 100, 10)
        .unwrap());
    assert!(!store
        .record_pass_issuance("list", "k1", "bob@x", 100, 20)
        .unwrap());
    assert!(store
        .record_pass_issuance("list", "k2", "bob@x", 100, 20)
        .unwrap());
    store.forget_pass_issuance("list", "k2", "bob@x").unwrap();
    assert!(store
        .record_pass_issuance("list", "k2", "bob@x", 100, 20)
        .unwrap());
    assert!(store
        .record_pass_issuance("list", "k1", "bob@x", 200, 100)
        .unwrap());
    let version: i64 = store
        .with(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}
