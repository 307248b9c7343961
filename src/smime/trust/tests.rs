use super::*;
use crate::smime::certs::{parse_bundle, CertInfo};

fn fixture(name: &str) -> CertInfo {
    let pem = match name {
        "alice" => include_bytes!("../../../tests/data/alice.cert.pem").as_slice(),
        _ => include_bytes!("../../../tests/data/bob.cert.pem").as_slice(),
    };
    parse_bundle(pem).unwrap().remove(0)
}

/// [`judge`] of a good signature by `signer` that carried nothing.
fn good(signer: &CertInfo, from: Option<&str>, inputs: &PathInputs<'_>) -> Verdict {
    judge(Some(signer), Ok(()), &[], &[], from, inputs)
}

/// 2027-01-01, inside the fixtures' validity.
const NOW: i64 = 1_798_761_600;

fn inputs<'a>(anchors: &'a [Anchor], explicit: &'a [CertInfo]) -> PathInputs<'a> {
    PathInputs {
        anchors,
        explicit,
        intermediates: &[],
        crls: &[],
        time: NOW,
    }
}

#[test]
fn a_self_signed_stranger_is_an_unknown_anchor() {
    let alice = fixture("alice");
    let v = good(&alice, Some("alice@example.org"), &inputs(&[], &[]));
    assert_eq!(v.status, Status::Untrusted);
    assert!(
        matches!(v.distrust(), Some(Distrust::UnknownAnchor { .. })),
        "{v:?}"
    );
    assert_eq!(v.revocation(), Revocation::Unknown);
}

#[test]
fn an_accepted_certificate_is_trusted_explicitly_until_it_expires() {
    let alice = fixture("alice");
    let explicit = [alice.clone()];
    let v = good(&alice, Some("alice@example.org"), &inputs(&[], &explicit));
    assert_eq!(v.status, Status::Trusted, "{v:?}");
    assert_eq!(v.trust(), Some(&Trust::Explicit));
    let mut late = inputs(&[], &explicit);
    late.time = alice.not_after + 1;
    let v = good(&alice, None, &late);
    assert_eq!(v.distrust(), Some(&Distrust::Expired(alice.not_after)));
}

#[test]
fn an_anchor_vouches_for_itself_and_the_sender_is_compared() {
    let alice = fixture("alice");
    let anchors = [Anchor {
        cert: alice.clone(),
        source: AnchorSource::CommandLine,
    }];
    let v = good(&alice, Some("alice@example.org"), &inputs(&anchors, &[]));
    assert_eq!(v.status, Status::Trusted, "{v:?}");
    assert!(matches!(v.trust(), Some(Trust::Path { .. })));
    let v = good(&alice, Some("ceo@example.org"), &inputs(&anchors, &[]));
    assert_eq!(v.status, Status::SenderMismatch);
    // Someone else's anchor does not vouch for alice.
    let bob = [Anchor {
        cert: fixture("bob"),
        source: AnchorSource::Keystore,
    }];
    let v = good(&alice, None, &inputs(&bob, &[]));
    assert_eq!(v.status, Status::Untrusted);
}

#[test]
fn a_bad_signature_is_judged_before_anything_else() {
    let alice = fixture("alice");
    let explicit = [alice.clone()];
    let v = judge(
        Some(&alice),
        Err("digest mismatch"),
        &[],
        &[],
        Some("x@example.org"),
        &inputs(&[], &explicit),
    );
    assert_eq!(v.status, Status::BadSignature);
    assert!(v.path.is_none());
}
