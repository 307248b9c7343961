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

/// The recipients' fixtures (tests/data/recipients/README).
mod recipients {
    use super::*;
    use crate::error::{classify, Exit};

    fn cert(name: &str) -> CertInfo {
        let pem: &[u8] = match name {
            "ca" => include_bytes!("../../../tests/data/recipients/ca.cert.pem"),
            "good" => include_bytes!("../../../tests/data/recipients/grace-good.cert.pem"),
            _ => include_bytes!("../../../tests/data/recipients/grace-revoked.cert.pem"),
        };
        parse_bundle(pem).unwrap().remove(0)
    }

    fn crl() -> Vec<Vec<u8>> {
        let pem = include_bytes!("../../../tests/data/recipients/ca.crl.pem");
        vec![CrlInfo::parse(pem).unwrap().der]
    }

    fn rules<'a>(inputs: PathInputs<'a>, require_path: bool) -> RecipientRules<'a> {
        RecipientRules {
            inputs,
            require_path,
            require_revocation_check: false,
        }
    }

    const GRACE: &str = "grace@example.org";

    #[test]
    fn an_expired_or_future_certificate_is_refused_with_its_date() {
        let good = cert("good");
        let late = RecipientRules::validity_only(good.not_after + 1);
        let refusal = check_recipient(&good, &late).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::Certificate(Distrust::Expired(good.not_after))
        );
        assert_eq!(refusal.to_string(), "expired on 2099-01-01 00:00:00 UTC");
        assert_eq!(refusal.exit(), Exit::Untrusted);
        let early = RecipientRules::validity_only(good.not_before - 1);
        assert!(matches!(
            check_recipient(&good, &early),
            Err(Refusal::Certificate(Distrust::NotYetValid(_)))
        ));
        // Through the selection: exit 79, the address and the fingerprint named.
        let all = [good.clone()];
        let err = select_recipients(GRACE, &all, &late).unwrap_err();
        assert_eq!(classify(&err).0, Exit::Untrusted);
        let text = err.to_string();
        assert!(
            text.contains(GRACE) && text.contains(&good.fingerprint[..16]),
            "{text}"
        );
    }

    #[test]
    fn a_crl_of_the_issuer_revokes_without_a_path() {
        let (ca, good, revoked) = (cert("ca"), cert("good"), cert("revoked"));
        let crls = crl();
        // The issuer is only a keystore certificate: no anchor, no path.
        let intermediates = [ca];
        let known = PathInputs {
            intermediates: &intermediates,
            crls: &crls,
            ..inputs(&[], &[])
        };
        let refusal = check_recipient(&revoked, &rules(known, false)).unwrap_err();
        assert!(
            matches!(
                refusal,
                Refusal::Certificate(Distrust::Revoked {
                    reason: Some(1),
                    ..
                })
            ),
            "{refusal:?}"
        );
        let text = refusal.to_string();
        assert!(
            text.starts_with("revoked on 2026-12-05") && text.ends_with("(keyCompromise)"),
            "{text}"
        );
        assert_eq!(check_recipient(&good, &rules(known, false)), Ok(None));
        // One good certificate of two: it is the one used.
        let both = [revoked.clone(), good.clone()];
        let chosen = select_recipients(GRACE, &both, &rules(known, false)).unwrap();
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].fingerprint, good.fingerprint);
        // Without the issuer's certificate, the CRL cannot be checked.
        let blind = PathInputs {
            crls: &crls,
            ..inputs(&[], &[])
        };
        assert_eq!(check_recipient(&revoked, &rules(blind, false)), Ok(None));
    }

    #[test]
    fn a_path_is_required_only_when_asked_and_acceptance_is_not_one() {
        let (ca, good) = (cert("ca"), cert("good"));
        let accepted = [good.clone()];
        // Accepted but no anchor: fine by default, refused when a path is required.
        let none = inputs(&[], &accepted);
        assert_eq!(check_recipient(&good, &rules(none, false)), Ok(None));
        let refusal = check_recipient(&good, &rules(none, true)).unwrap_err();
        assert!(
            matches!(refusal, Refusal::Path(Distrust::NoPath { .. })),
            "{refusal:?}"
        );
        assert_eq!(refusal.exit(), Exit::Untrusted);
        // The CA as an anchor: a path of two.
        let anchors = [Anchor {
            cert: ca.clone(),
            source: AnchorSource::Keystore,
        }];
        let trusted = check_recipient(&good, &rules(inputs(&anchors, &[]), true)).unwrap();
        assert!(
            matches!(trusted, Some(Trust::Path { length: 2, .. })),
            "{trusted:?}"
        );
        // The CA only known, not an anchor: the chain ends at an unknown root.
        let intermediates = [ca];
        let unknown = PathInputs {
            intermediates: &intermediates,
            ..inputs(&[], &[])
        };
        assert!(matches!(
            check_recipient(&good, &rules(unknown, true)),
            Err(Refusal::Path(Distrust::UnknownAnchor { .. }))
        ));
        // A self-signed correspondent made an anchor of itself.
        let alice = fixture("alice");
        let own = [Anchor {
            cert: alice.clone(),
            source: AnchorSource::Keystore,
        }];
        assert!(check_recipient(&alice, &rules(inputs(&own, &[]), true)).is_ok());
    }

    #[test]
    fn revocation_is_checked_along_the_path_or_reported_unknown() {
        let (ca, good, revoked) = (cert("ca"), cert("good"), cert("revoked"));
        let anchors = [Anchor {
            cert: ca,
            source: AnchorSource::Keystore,
        }];
        let crls = crl();
        let strict = |inputs| RecipientRules {
            inputs,
            require_path: true,
            require_revocation_check: true,
        };
        let with_crl = PathInputs {
            crls: &crls,
            ..inputs(&anchors, &[])
        };
        assert!(check_recipient(&good, &strict(with_crl)).is_ok());
        assert!(matches!(
            check_recipient(&revoked, &strict(with_crl)),
            Err(Refusal::Certificate(Distrust::Revoked { .. }))
        ));
        let refusal = check_recipient(&good, &strict(inputs(&anchors, &[]))).unwrap_err();
        assert_eq!(refusal, Refusal::RevocationUnknown);
        assert_eq!(refusal.exit(), Exit::RevocationUnknown);
        let all = [good];
        let err = select_recipients(GRACE, &all, &strict(inputs(&anchors, &[]))).unwrap_err();
        assert_eq!(classify(&err).0, Exit::RevocationUnknown);
    }
}
