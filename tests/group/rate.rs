//! The per-member rate limit: a refusal with Retry-After, per member, and a
//! refused request's nonce left unused so that the same signed request can
//! be sent again once the wait is over (src/group/service/auth.rs forgets
//! the nonce).

use std::time::Duration;

use sealpost::group::release::client::Answer;
use sealpost::group::release::protocol::RefusalCode;
use sealpost::smime::envelope::KeyTransport;

use crate::harness::{assert_granted, assert_refused, member, now, request, seal, List, LIST};

#[test]
fn the_third_immediate_request_is_rate_limited_and_may_be_retried() {
    let l = List::start(&["--rate-limit", "1/s", "--burst", "2"]);
    let (bob, carol) = (member("bob"), member("carol"));
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    // Signed up front, so the three go out back to back.
    let reqs: Vec<_> = (0..3)
        .map(|_| request(&bob, LIST, &sealed.entry, now()))
        .collect();
    let mut conn = l.connect();
    for req in &reqs[..2] {
        assert_granted(&conn.release(req).unwrap(), &bob, &sealed);
    }
    let answer = conn.release(&reqs[2]).unwrap();
    assert_refused(&answer, RefusalCode::RateLimited);
    let Answer::Refused {
        retry_after: Some(wait),
        ..
    } = answer
    else {
        panic!("429 without Retry-After: {answer:?}")
    };
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    // The limit is bob's: carol still has her burst.
    let answer = conn
        .release(&request(&carol, LIST, &sealed.entry, now()))
        .unwrap();
    assert_granted(&answer, &carol, &sealed);

    // After the wait the server asked for, the very same signed request is served:
    // its nonce was not consumed by the refusal. (The sleep is the protocol's
    // Retry-After, not a guess at when something else is ready.)
    std::thread::sleep(Duration::from_secs(wait));
    assert_granted(&conn.release(&reqs[2]).unwrap(), &bob, &sealed);
    // Now it is consumed.
    assert_refused(&conn.release(&reqs[2]).unwrap(), RefusalCode::Replay);

    let outcomes: Vec<_> =
        l.op.audit(LIST)
            .iter()
            .map(|r| r["outcome"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(
        outcomes,
        [
            "released",
            "released",
            "rate_limited",
            "released",
            "released",
            "replay"
        ]
    );
}
