//! Releases to members, refusal of others, and removal taking effect at once.

use sealpost::group::release::protocol::RefusalCode;
use sealpost::smime::envelope::KeyTransport;

use super::harness::{
    assert_granted, assert_refused, member, now, open_grant, request, seal, unwrap_grant, List,
    LIST,
};

#[test]
fn two_members_get_the_content_key_the_sender_wrapped_to_the_group() {
    let l = List::start(&[]);
    let (bob, carol) = (member("bob"), member("carol"));
    for transport in [KeyTransport::RsaPkcs1v15, KeyTransport::RsaOaepSha256] {
        let sealed = seal(&l.cert, transport);
        let mut grants = Vec::new();
        for m in [&bob, &carol] {
            let answer = l.release(&request(m, LIST, &sealed.entry, now()));
            assert_granted(&answer, m, &sealed);
            grants.push(answer);
        }
        // Each grant is for its requester alone: bob's does not open with carol's key.
        let sealpost::group::release::client::Answer::Granted(bobs) = &grants[0] else {
            unreachable!()
        };
        assert_eq!(open_grant(bobs, &bob), sealed.content_key);
        assert_eq!(unwrap_grant(bobs, &carol.key), None);
    }
}

#[test]
fn a_non_member_is_refused_not_member() {
    let l = List::start(&[]);
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    let answer = l.release(&request(&member("dave"), LIST, &sealed.entry, now()));
    assert_refused(&answer, RefusalCode::NotMember);
}

#[test]
fn a_removed_member_is_refused_on_the_very_next_request() {
    let l = List::start(&[]);
    let (bob, carol) = (member("bob"), member("carol"));
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    // Keep-alive connections that stay open across the removal.
    let (mut to_bob, mut to_carol) = (l.connect(), l.connect());
    for (conn, m) in [(&mut to_bob, &bob), (&mut to_carol, &carol)] {
        let answer = conn
            .release(&request(m, LIST, &sealed.entry, now()))
            .unwrap();
        assert_granted(&answer, m, &sealed);
    }
    // Another process removes carol while the server keeps running.
    l.op.run(&["group", "remove-member", LIST, &carol.address]);
    assert_eq!(l.op.members(LIST), [bob.address.as_str()]);

    let answer = to_carol
        .release(&request(&carol, LIST, &sealed.entry, now()))
        .unwrap();
    assert_refused(&answer, RefusalCode::NotMember);
    let answer = l.release(&request(&carol, LIST, &sealed.entry, now()));
    assert_refused(&answer, RefusalCode::NotMember);
    let answer = to_bob
        .release(&request(&bob, LIST, &sealed.entry, now()))
        .unwrap();
    assert_granted(&answer, &bob, &sealed);
}
