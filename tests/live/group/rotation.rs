//! Issue 16: `group rotate-key` on a running server: mail to the old key is
//! released until the keep-old window ends, mail to the new certificate
//! (`group cert`) from the next request on, without a restart.

use std::time::Duration;

use sealpost::group::release::protocol::RefusalCode;
use sealpost::smime::envelope::KeyTransport;

use super::harness::{assert_granted, assert_refused, member, now, request, seal, List, LIST};

#[test]
fn a_rotated_key_releases_old_mail_until_its_window_ends_and_new_mail_at_once() {
    let l = List::start(&[]);
    let bob = member("bob");
    let old = seal(&l.cert, KeyTransport::RsaOaepSha256);
    assert_granted(
        &l.release(&request(&bob, LIST, &old.entry, now())),
        &bob,
        &old,
    );
    // A keep-alive connection that stays open across the rotation.
    let mut conn = l.connect();

    let keep_old = 4;
    let rotated = l.op.run_json(
        "group rotate-key",
        &[
            "group",
            "rotate-key",
            LIST,
            "--keep-old",
            &format!("{keep_old}s"),
        ],
    );
    let rotated_at = now();
    assert_eq!(rotated["generation"], 2);
    let new_cert = l.op.group_cert(LIST);
    assert_ne!(new_cert, l.cert);
    let new = seal(&new_cert, KeyTransport::RsaPkcs1v15);
    for sealed in [&old, &new] {
        let answer = conn
            .release(&request(&bob, LIST, &sealed.entry, now()))
            .unwrap();
        assert_granted(&answer, &bob, sealed);
    }
    let shown = l.op.run_json("group show", &["group", "show", LIST]);
    let states: Vec<_> = shown["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["generation"].as_i64().unwrap(),
                k["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(states, [(2, "current".into()), (1, "retired".into())]);

    // After the window: the old key is refused, the new one still opens.
    while now() < rotated_at + keep_old + 1 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let answer = conn
        .release(&request(&bob, LIST, &old.entry, now()))
        .unwrap();
    assert_refused(&answer, RefusalCode::KeyRetired);
    assert_granted(
        &l.release(&request(&bob, LIST, &new.entry, now())),
        &bob,
        &new,
    );
    let outcomes: Vec<_> =
        l.op.audit(LIST)
            .iter()
            .map(|r| r["outcome"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(outcomes.last().unwrap(), "released");
    assert!(outcomes.contains(&"key_retired".to_string()));
}
