//! Several `group serve` replicas on one PostgreSQL database (issue 16), a
//! real cluster started by the test (tests/support/postgres.rs; skipped
//! with a printed reason where the binaries are absent): what one replica
//! or an admin command changes applies at the next request on another, a
//! nonce is consumed for all of them, `kill -9` of a replica under load
//! loses no audit row and grants nothing twice, a database restart is
//! answered with 503 and `Retry-After`, and `group migrate` copies an
//! SQLite store over.

use std::collections::HashSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sealpost::group::release::client::{release_with_failover, Answer, ServerUrl};
use sealpost::group::release::protocol::{RefusalCode, ReleaseRequest};
use sealpost::smime::envelope::KeyTransport;

use super::harness::{
    assert_granted, assert_refused, member, now, request, seal, Operator, LIST, UNLIMITED,
};
use crate::postgres::Postgres;

const SERVE: &[&str] = UNLIMITED;

/// A cluster, a database for this test, and an operator whose commands use it.
fn setup(test: &str) -> Option<(Postgres, Operator)> {
    let pg = Postgres::start(test)?;
    let url = pg.database("groups");
    let op = Operator::on_store(&url);
    op.create_group(LIST);
    for name in ["bob", "carol"] {
        op.add_member(LIST, &member(name));
    }
    Some((pg, op))
}

#[test]
fn a_removal_and_a_nonce_apply_across_replicas() {
    let Some((_pg, op)) = setup("a_removal_and_a_nonce_apply_across_replicas") else {
        return;
    };
    let cert = op.group_cert(LIST);
    let (a, b) = (op.serve(SERVE), op.serve(SERVE));
    let bob = member("bob");
    let sealed = seal(&cert, KeyTransport::RsaOaepSha256);

    let req = request(&bob, LIST, &sealed.entry, now());
    assert_granted(&op.connect(&a).release(&req).unwrap(), &bob, &sealed);
    // The same signed request on the other replica: its nonce is taken.
    assert_refused(&op.connect(&b).release(&req).unwrap(), RefusalCode::Replay);
    let fresh = request(&bob, LIST, &sealed.entry, now());
    assert_granted(&op.connect(&b).release(&fresh).unwrap(), &bob, &sealed);

    // Removed through an admin command (a third process): both replicas
    // refuse bob's very next request.
    op.run(&["group", "remove-member", LIST, "bob@example.org"]);
    for server in [&a, &b] {
        let req = request(&bob, LIST, &sealed.entry, now());
        assert_refused(
            &op.connect(server).release(&req).unwrap(),
            RefusalCode::NotMember,
        );
    }
    // Every decision about a known certificate is in the one audit log,
    // whichever replica made it (the removed bob is a stranger now: his
    // refusals are not recorded, as on one server).
    let outcomes: Vec<String> = op
        .audit(LIST)
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["released", "replay", "released"]);
}

#[test]
fn kill_9_of_a_replica_under_load_loses_no_audit_row_and_grants_nothing_twice() {
    let Some((_pg, op)) = setup("kill_9_of_a_replica_under_load") else {
        return;
    };
    let cert = op.group_cert(LIST);
    let mut a = op.serve(SERVE);
    let b = op.serve(SERVE);
    let sealed = seal(&cert, KeyTransport::RsaOaepSha256);
    let client = op.client();
    let urls: Vec<ServerUrl> = [&a, &b].iter().map(|s| s.url().parse().unwrap()).collect();
    let (tx, rx) = mpsc::channel::<ReleaseRequest>();
    let deadline = Instant::now() + Duration::from_secs(4);
    // Each client sends every request to both replicas (a replay attempt
    // on the second), so a nonce granted twice would show.
    let threads: Vec<_> = (0..4)
        .map(|c| {
            let (client, urls, tx) = (client.clone(), urls.clone(), tx.clone());
            let m = member(["bob", "carol"][c % 2]);
            let entry = sealed.entry.clone();
            std::thread::spawn(move || {
                let mut granted_twice = 0;
                while Instant::now() < deadline {
                    let req = request(&m, LIST, &entry, now());
                    let mut grants = 0;
                    for url in urls.iter().cycle().skip(c).take(2) {
                        let Ok(mut conn) = client.connect(url) else {
                            continue;
                        };
                        if let Ok(Answer::Granted(_)) = conn.release(&req) {
                            grants += 1;
                            let _ = tx.send(req.clone());
                        }
                    }
                    if grants > 1 {
                        granted_twice += 1;
                    }
                }
                granted_twice
            })
        })
        .collect();
    drop(tx);
    std::thread::sleep(Duration::from_millis(1500));
    a.kill();
    let twice: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let granted: Vec<ReleaseRequest> = rx.iter().collect();
    assert_eq!(twice, 0, "a request was granted by both replicas");
    assert!(granted.len() > 10, "too few releases: {}", granted.len());

    // Every grant a client holds has its `released` row, and no nonce has two.
    let rows = op.audit(LIST);
    let released: Vec<&str> = rows
        .iter()
        .filter(|r| r["outcome"] == "released")
        .map(|r| r["nonce"].as_str().unwrap())
        .collect();
    let distinct: HashSet<&str> = released.iter().copied().collect();
    assert_eq!(distinct.len(), released.len(), "a nonce released twice");
    for req in &granted {
        assert!(
            distinct.contains(hex::encode(req.nonce).as_str()),
            "a grant without its audit row"
        );
    }
    // Rows of grants whose answer died with the replica are the only extra ones.
    assert!(released.len() <= granted.len() + 4);
    // The survivor still serves.
    let bob = member("bob");
    let req = request(&bob, LIST, &sealed.entry, now());
    assert_granted(&op.connect(&b).release(&req).unwrap(), &bob, &sealed);
}

#[test]
fn a_database_restart_is_503_with_retry_after_then_serves_again() {
    let Some((pg, op)) = setup("a_database_restart_is_503") else {
        return;
    };
    let cert = op.group_cert(LIST);
    let server = op.serve(SERVE);
    let bob = member("bob");
    let sealed = seal(&cert, KeyTransport::RsaOaepSha256);
    let req = request(&bob, LIST, &sealed.entry, now());
    assert_granted(&op.connect(&server).release(&req).unwrap(), &bob, &sealed);

    pg.stop();
    for _ in 0..3 {
        let req = request(&bob, LIST, &sealed.entry, now());
        match op.connect(&server).release(&req).unwrap() {
            Answer::Refused {
                status,
                code,
                retry_after,
                ..
            } => {
                assert_eq!((status, code), (503, Some(RefusalCode::Unavailable)));
                assert!(retry_after.is_some_and(|s| s > 0), "no Retry-After");
            }
            Answer::Granted(_) => panic!("granted with the database down"),
        }
    }
    pg.resume();
    let req = request(&bob, LIST, &sealed.entry, now());
    assert_granted(&op.connect(&server).release(&req).unwrap(), &bob, &sealed);
    // Nothing was recorded for the refused requests (the database was
    // down), and every grant has its row.
    let outcomes: Vec<String> = op
        .audit(LIST)
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["released", "released"]);
}

#[test]
fn migrate_copies_an_sqlite_store_once() {
    let Some(pg) = Postgres::start("migrate_copies_an_sqlite_store_once") else {
        return;
    };
    let url = pg.database("groups");
    // A store with a group, members, and audit rows, on SQLite.
    let sqlite = Operator::new();
    let cert = sqlite.create_group(LIST);
    for name in ["bob", "carol"] {
        sqlite.add_member(LIST, &member(name));
    }
    let bob = member("bob");
    let sealed = seal(&cert, KeyTransport::RsaOaepSha256);
    {
        let server = sqlite.serve(SERVE);
        let req = request(&bob, LIST, &sealed.entry, now());
        assert_granted(
            &sqlite.connect(&server).release(&req).unwrap(),
            &bob,
            &sealed,
        );
    }
    // A rotated key: the retired one must come along and keep releasing.
    sqlite.run_json("group rotate-key", &["group", "rotate-key", LIST]);
    let cert = sqlite.group_cert(LIST);
    let file = sqlite.keystore().join("groups.sqlite3");
    let from = format!("sqlite:{}", file.display());
    let copied = sqlite.run_json(
        "group migrate",
        &["group", "migrate", "--from", &from, "--to", &url],
    );
    assert_eq!(
        (copied["groups"].as_u64(), copied["members"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(copied["audit_rows"].as_u64(), Some(1));
    assert_eq!(copied["retired_keys"].as_u64(), Some(1));

    let pg_op = Operator::on_store(&url);
    assert_eq!(pg_op.members(LIST), sqlite.members(LIST));
    assert_eq!(pg_op.audit(LIST), sqlite.audit(LIST));
    assert_eq!(pg_op.group_cert(LIST), cert);
    let show = |op: &Operator| op.run_json("group show", &["group", "show", LIST])["keys"].clone();
    assert_eq!(show(&pg_op), show(&sqlite));

    // A second run copies nothing and says so.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_sealpost"))
        .args(["group", "migrate", "--from", &from, "--to", &url])
        .env_remove("SEALPOST_GROUP_STORE")
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(73), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));
    assert_eq!(pg_op.audit(LIST).len(), sqlite.audit(LIST).len());

    // The migrated store serves (the sealed group key came along, and the
    // retired one: this message is encrypted to it), and new audit rows
    // continue after the copied ids.
    let server = pg_op.serve(SERVE);
    let req = request(&bob, LIST, &sealed.entry, now());
    assert_granted(
        &pg_op.connect(&server).release(&req).unwrap(),
        &bob,
        &sealed,
    );
    let ids: Vec<i64> = pg_op
        .audit(LIST)
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[test]
fn a_client_fails_over_to_the_next_replica_when_one_is_down() {
    let Some((_pg, op)) = setup("a_client_fails_over_to_the_next_replica") else {
        return;
    };
    let cert = op.group_cert(LIST);
    let mut a = op.serve(SERVE);
    let b = op.serve(SERVE);
    let servers: Vec<ServerUrl> = [&a, &b].iter().map(|s| s.url().parse().unwrap()).collect();
    let bob = member("bob");
    let sealed = seal(&cert, KeyTransport::RsaOaepSha256);
    let client = op.client();
    let mut make = || Ok(request(&bob, LIST, &sealed.entry, now()));
    let (_, by) = release_with_failover(&client, LIST, &servers, &mut make).unwrap();
    assert_eq!(by, servers[0]);
    a.kill();
    let (grant, by) = release_with_failover(&client, LIST, &servers, &mut make).unwrap();
    assert_eq!(by, servers[1], "not released by the live replica");
    assert_granted(&Answer::Granted(grant), &bob, &sealed);
}
