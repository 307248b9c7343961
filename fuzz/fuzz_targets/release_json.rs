//! Key release and signed-call JSON, both directions: what the group
//! server reads from anyone (release requests, signed calls and their
//! payloads) and what the client reads from a server (grants, refusals,
//! call answers), and anonymous release's: the pass-key lookup and its
//! answer, the issuance payload, the release with a pass, and the pass's
//! DER. Whatever parses must round-trip through our encoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost::group::release::calls::{
    DepositAnswer, DepositPayload, MembersAnswer, MembersPayload, Op, RevokeAnswer, RevokePayload,
    RewrapAnswer, RewrapPayload, SecretsAnswer, SecretsPayload, SignedCall,
};
use sealpost::group::pass::Pass;
use sealpost::group::release::protocol::pass::{
    PassAnswer, PassKeyAnswer, PassKeyRequest, PassPayload, PassReleaseRequest,
};
use sealpost::group::release::protocol::{Refusal, ReleaseGrant, ReleaseRequest};

fn answer<T: for<'de> serde::Deserialize<'de>>(body: &[u8]) {
    let _ = serde_json::from_slice::<T>(body);
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    if let Ok(req) = ReleaseRequest::from_json(body) {
        let _ = req.signed_bytes();
        let _ = req.key_hash();
        assert_eq!(ReleaseRequest::from_json(&req.to_json()).ok(), Some(req));
    }
    if let Ok(grant) = ReleaseGrant::from_json(body) {
        assert_eq!(ReleaseGrant::from_json(&grant.to_json()).ok(), Some(grant));
    }
    if let Ok(refusal) = serde_json::from_slice::<Refusal>(body) {
        let _ = refusal.code().map(|c| (c.status(), c.exit(), c.describe()));
    }
    let op = Op::ALL[usize::from(selector) % Op::ALL.len()];
    if let Ok(call) = SignedCall::from_json(op, body) {
        let _ = call.signed_bytes();
        assert_eq!(
            SignedCall::from_json(op, &call.to_json()).ok(),
            Some(call.clone())
        );
        let _ = call.payload_as::<MembersPayload>();
        let _ = call.payload_as::<RewrapPayload>();
        let _ = call.payload_as::<SecretsPayload>();
        let _ = call.payload_as::<DepositPayload>();
        let _ = call.payload_as::<RevokePayload>();
    }
    answer::<MembersAnswer>(body);
    answer::<RewrapAnswer>(body);
    answer::<SecretsAnswer>(body);
    answer::<DepositAnswer>(body);
    answer::<RevokeAnswer>(body);
    answer::<DepositPayload>(body);
    if let Ok(req) = PassReleaseRequest::from_json(body) {
        let _ = req.signed_bytes();
        assert_eq!(PassReleaseRequest::from_json(&req.to_json()).ok(), Some(req));
    }
    let _ = PassKeyRequest::from_json(body);
    answer::<PassKeyAnswer>(body);
    answer::<PassPayload>(body);
    answer::<PassAnswer>(body);
    if let Ok(pass) = Pass::from_der(body) {
        assert_eq!(pass.to_der(), body);
        let _ = (pass.id(), pass.window(), pass.group());
    }
    let _ = Op::from_path(&String::from_utf8_lossy(body));
});
