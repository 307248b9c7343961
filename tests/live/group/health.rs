//! `GET /health` (issue 16): 200 with every check named when the store
//! answers, every group key opens and the disk has room; 503 naming the
//! failing check otherwise, and never a group, healthy or not (issue 11).

use serde_json::{json, Value};

use super::harness::{List, LIST};

const GET_HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn health(l: &List) -> (u16, Value, String) {
    let response = l.raw().send(GET_HEALTH);
    let text = String::from_utf8(response.body.clone()).unwrap();
    (response.status, serde_json::from_str(&text).unwrap(), text)
}

#[test]
fn health_is_200_and_names_the_checks_but_no_group() {
    let l = List::start(&[]);
    let (status, body, text) = health(&l);
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        body,
        json!({"status": "ok", "failing": [], "checks": {"store": "ok", "keys": "ok", "disk": "ok"}})
    );
    assert!(!text.contains(LIST), "{text}");

    let post = l
        .raw()
        .send(b"POST /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(post.status, 405);
}

#[test]
fn health_is_503_naming_the_keys_when_a_group_key_does_not_open() {
    let mut l = List::start(&["-v"]);
    // A group made since the start (opened on first need), whose sealed
    // key is then damaged on disk.
    l.op.create_group("hidden");
    let db = rusqlite::Connection::open(l.op.keystore().join("groups.sqlite3")).unwrap();
    let damaged = db
        .execute(
            "UPDATE groups SET sealed_key = 'not a key' WHERE name = 'hidden'",
            [],
        )
        .unwrap();
    assert_eq!(damaged, 1);
    let (status, body, text) = health(&l);
    assert_eq!(status, 503, "{text}");
    assert_eq!(body["status"], "failing");
    assert_eq!(body["failing"], json!(["keys"]));
    assert_eq!(body["checks"]["store"], "ok");
    assert!(!text.contains("hidden") && !text.contains(LIST), "{text}");

    // Probes in a burst share a run of the checks (and its failed key
    // derivation), and the cause is the operator's, in the log.
    for _ in 0..5 {
        assert_eq!(health(&l).0, 503);
    }
    let log = l.server.stop();
    let causes: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("health: keys failing"))
        .collect();
    // Six probes: fewer runs, whatever the machine's speed.
    assert!((1..6).contains(&causes.len()), "{log:?}");
    assert!(causes[0].contains("hidden"), "{causes:?}");
}
