//! Issue 16, the member's side of a group key rotation: joining the group
//! again with its new certificate keeps the old one, so mail encrypted to
//! either is recognised as the group's (and sent to its server). Offline,
//! that shows as the refusal naming the group; a message the keystore does
//! not connect to the group fails differently.

use crate::common::data;
use crate::world::World;

/// alice's message to `to`, encrypted (carol's and dave's certificates
/// stand in for the group's first and second).
fn message_to(w: &World, to: &str) -> Vec<u8> {
    let composed = w.compose(&[to], &[], &[], "to the list\n");
    let out = w
        .as_("alice")
        .args(["encrypt", "--eml", "--no-self"])
        .write_stdin(composed)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

fn join(w: &World, cert: &str) {
    w.as_("bob")
        .args(["group", "join", "list", "--cert"])
        .arg(data(cert))
        .assert()
        .success();
}

/// The stderr of bob's `decrypt --offline` of `message`.
fn offline_decrypt(w: &World, message: &[u8]) -> String {
    let out = w.decrypt("bob", message, &["--offline"]);
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_rejoined_group_still_claims_mail_to_its_old_certificate() {
    let w = World::new();
    let (old, new) = (message_to(&w, "carol"), message_to(&w, "dave"));
    join(&w, "carol.cert.pem");
    let for_the_group = "the message is for group \"list\"";
    assert!(offline_decrypt(&w, &old).contains(for_the_group));
    assert!(!offline_decrypt(&w, &new).contains(for_the_group));
    // The group's key was rotated: bob joins again with the new certificate.
    join(&w, "dave.cert.pem");
    for message in [&old, &new] {
        let err = offline_decrypt(&w, message);
        assert!(err.contains(for_the_group), "{err}");
    }
}
