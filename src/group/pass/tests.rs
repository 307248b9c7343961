//! The pass core: issuance round trip, every refusal with its own error,
//! and what the issuer's records share with a presented pass (nothing).

use num_bigint_dig::{BigUint, ModInverse};
use rand::rngs::OsRng;
use rsa::pkcs8::DecodePrivateKey;

use super::*;

/// 2026-12-06 10:00 UTC: inside the day period starting at midnight.
const NOW: u64 = 1_796_551_200;
const DAY: u64 = DEFAULT_LIFETIME;

fn key(name: &str) -> rsa::RsaPrivateKey {
    let pem = match name {
        "alice" => include_str!("../../../tests/data/alice.key.pem"),
        "bob" => include_str!("../../../tests/data/bob.key.pem"),
        "carol" => include_str!("../../../tests/data/carol.key.pem"),
        "dave" => include_str!("../../../tests/data/dave.key.pem"),
        _ => unreachable!(),
    };
    rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap()
}

/// The group's issuer (alice's test key stands in for the issuing key).
fn issuer() -> Issuer {
    Issuer::new(&key("alice")).unwrap()
}

/// The record the issuer keeps of one issuance, and the pass its member
/// ends up with.
struct Issued {
    member: &'static str,
    blinded: Vec<u8>,
    answer: Vec<u8>,
    pass: Pass,
}

/// One member's whole issuance under `issuer` for the day of [`NOW`].
fn fetch(issuer: &Issuer, member: &'static str, pass_key: &str) -> Issued {
    let period = Period::containing(NOW, DAY).unwrap();
    let pass_key = rsa::RsaPublicKey::from(&key(pass_key));
    let request =
        PassRequest::new(&mut OsRng, "staff", issuer.public(), period, &pass_key).unwrap();
    let blinded = request.blinded().to_vec();
    let answer = issuer.issue(&blinded).unwrap();
    let pass = request.finish(issuer.public(), &answer).unwrap();
    Issued {
        member,
        blinded,
        answer,
        pass,
    }
}

/// Why `der` is refused as a "staff" pass under `issuer` at [`NOW`]
/// (`None`: accepted).
fn refusal(der: &[u8], issuer: &Issuer) -> Option<PassError> {
    verify(der, "staff", issuer.public(), DAY, NOW).err()
}

/// Re-encodes a pass after `edit` changes its DER structure.
fn reencoded(pass: &Pass, edit: impl FnOnce(&mut PassDer)) -> Vec<u8> {
    let mut der = PassDer::from_der(pass.to_der()).unwrap();
    edit(&mut der);
    der.to_der().unwrap()
}

#[test]
fn a_pass_round_trips_and_verifies() {
    let issuer = issuer();
    let issued = fetch(&issuer, "member-a", "carol");
    let pass = verify(issued.pass.to_der(), "staff", issuer.public(), DAY, NOW).unwrap();
    assert_eq!(pass.group(), "staff");
    assert_eq!(pass.window(), (NOW - NOW % DAY, NOW - NOW % DAY + DAY));
    assert_eq!(pass.pass_key(), &rsa::RsaPublicKey::from(&key("carol")));
    assert_eq!(pass.id(), issued.pass.id());
    // The whole period, and not a second beyond.
    let (start, end) = pass.window();
    verify(pass.to_der(), "staff", issuer.public(), DAY, start).unwrap();
    verify(pass.to_der(), "staff", issuer.public(), DAY, end - 1).unwrap();
}

#[test]
fn a_pass_for_another_group_is_refused() {
    let issuer = issuer();
    let issued = fetch(&issuer, "member-a", "carol");
    assert_eq!(
        verify(issued.pass.to_der(), "board", issuer.public(), DAY, NOW).err(),
        Some(PassError::WrongGroup)
    );
}

#[test]
fn an_expired_or_future_pass_is_refused() {
    let issuer = issuer();
    let der = fetch(&issuer, "member-a", "carol").pass.to_der().to_vec();
    let (start, end) = Period::containing(NOW, DAY)
        .map(|p| (p.start(), p.end()))
        .unwrap();
    let at = |now| verify(&der, "staff", issuer.public(), DAY, now).err();
    assert_eq!(at(end), Some(PassError::Expired));
    assert_eq!(at(end + 30 * DAY), Some(PassError::Expired));
    assert_eq!(at(start - 1), Some(PassError::NotYetValid));
}

#[test]
fn a_tampered_pass_is_refused() {
    let issuer = issuer();
    let issued = fetch(&issuer, "member-a", "carol");
    // A flipped signature bit.
    let mut der = issued.pass.to_der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1;
    assert_eq!(refusal(&der, &issuer), Some(PassError::BadSignature));
    // Someone else's key in a valid pass: the signature no longer covers it.
    let dave = rsa::RsaPublicKey::from(&key("dave"));
    let swapped = reencoded(&issued.pass, |p| {
        p.body.pass_key =
            SubjectPublicKeyInfoOwned::from_der(dave.to_public_key_der().unwrap().as_bytes())
                .unwrap();
    });
    assert_eq!(refusal(&swapped, &issuer), Some(PassError::BadSignature));
    // A longer window, written in by the holder.
    let stretched = reencoded(&issued.pass, |p| p.body.not_after += DAY);
    assert_eq!(refusal(&stretched, &issuer), Some(PassError::BadPeriod));
}

#[test]
fn a_pass_under_another_issuing_key_is_refused() {
    let ours = issuer();
    let theirs = Issuer::new(&key("bob")).unwrap();
    let issued = fetch(&theirs, "member-a", "carol");
    assert_eq!(
        refusal(issued.pass.to_der(), &ours),
        Some(PassError::WrongIssuer)
    );
    // Claiming our key id does not make their signature ours.
    let relabelled = reencoded(&issued.pass, |p| {
        p.body.issuer_key_id = OctetString::new(ours.public().id().to_vec()).unwrap();
    });
    assert_eq!(refusal(&relabelled, &ours), Some(PassError::BadSignature));
}

#[test]
fn a_window_the_issuer_could_not_see_is_still_refused() {
    // The issuer signs blind, so a member could ask it to sign any window;
    // the verifier is what holds passes to whole periods.
    let issuer = issuer();
    let pass_key = rsa::RsaPublicKey::from(&key("carol"));
    let aligned = Period::containing(NOW, DAY).unwrap();
    for period in [
        Period {
            start: aligned.start() + 17,
            lifetime: DAY,
        },
        Period {
            start: aligned.start(),
            lifetime: 30 * DAY,
        },
    ] {
        let request =
            PassRequest::new(&mut OsRng, "staff", issuer.public(), period, &pass_key).unwrap();
        let answer = issuer.issue(request.blinded()).unwrap();
        let pass = request.finish(issuer.public(), &answer).unwrap();
        assert_eq!(
            verify(pass.to_der(), "staff", issuer.public(), DAY, NOW + 17).err(),
            Some(PassError::BadPeriod)
        );
    }
}

#[test]
fn malformed_passes_are_refused_before_any_signature_check() {
    let issuer = issuer();
    let der = fetch(&issuer, "member-a", "carol").pass.to_der().to_vec();
    let refused = |bytes: &[u8]| refusal(bytes, &issuer);
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(refused(&trailing), Some(PassError::Malformed));
    assert_eq!(refused(&der[..der.len() - 1]), Some(PassError::Malformed));
    assert_eq!(refused(b""), Some(PassError::Malformed));
    assert_eq!(
        refused(&vec![0x30; MAX_PASS_LEN + 1]),
        Some(PassError::Malformed)
    );
    // The outer length in three bytes with a leading zero: BER, not DER.
    assert_eq!(&der[..2], &[0x30, 0x82]);
    let mut long_form = vec![0x30, 0x83, 0x00];
    long_form.extend_from_slice(&der[2..]);
    assert_eq!(refused(&long_form), Some(PassError::Malformed));
    let v2 = reencoded(&Pass::parse(&der).unwrap(), |p| p.body.version = 2);
    assert_eq!(refused(&v2), Some(PassError::Malformed));
}

#[test]
fn finish_refuses_a_wrong_answer() {
    let issuer = issuer();
    let other = Issuer::new(&key("bob")).unwrap();
    let period = Period::containing(NOW, DAY).unwrap();
    let pass_key = rsa::RsaPublicKey::from(&key("carol"));
    let request =
        PassRequest::new(&mut OsRng, "staff", issuer.public(), period, &pass_key).unwrap();
    // The right key's signature over something else.
    let mut wrong = issuer.issue(request.blinded()).unwrap();
    wrong[5] ^= 0x40;
    assert_eq!(
        request.finish(issuer.public(), &wrong).err(),
        Some(PassError::BadSignature)
    );
    // A request blinded for one key, finished against another.
    let request = PassRequest::new(&mut OsRng, "staff", other.public(), period, &pass_key).unwrap();
    let answer = other.issue(request.blinded()).unwrap();
    assert_eq!(
        request.finish(issuer.public(), &answer).err(),
        Some(PassError::WrongIssuer)
    );
}

#[test]
fn lifetimes_are_whole_hours_up_to_a_week() {
    assert_eq!(Period::containing(NOW, 1800), Err(PassError::Lifetime));
    assert_eq!(Period::containing(NOW, 3601), Err(PassError::Lifetime));
    assert_eq!(Period::containing(NOW, 8 * DAY), Err(PassError::Lifetime));
    let hour = Period::containing(NOW, 3600).unwrap();
    assert_eq!(
        (hour.start(), hour.end()),
        (NOW - NOW % 3600, NOW - NOW % 3600 + 3600)
    );
    assert_eq!(hour.next().start(), hour.end());
}

#[test]
fn refusals_have_distinct_messages_and_exit_classes() {
    use crate::error::classify;
    let all = [
        PassError::Malformed,
        PassError::WrongGroup,
        PassError::WrongIssuer,
        PassError::BadPeriod,
        PassError::NotYetValid,
        PassError::Expired,
        PassError::BadSignature,
        PassError::Lifetime,
    ];
    let messages: std::collections::BTreeSet<String> = all.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), all.len());
    assert_eq!(classify(&PassError::Expired.into_error()).0, Exit::TempFail);
    assert_eq!(
        classify(&PassError::BadSignature.into_error()).0,
        Exit::DataErr
    );
    assert_eq!(classify(&PassError::Lifetime.into_error()).0, Exit::Config);
}

/// Every run of 8 bytes of `needle` that occurs in `haystack` (8 random
/// bytes recur by chance with odds around 2^-44 over these sizes).
fn shared_runs(needle: &[u8], haystack: &[u8]) -> usize {
    needle
        .windows(8)
        .filter(|w| haystack.windows(8).any(|h| h == *w))
        .count()
}

#[test]
fn the_issuers_view_shares_nothing_with_the_presented_pass() {
    let issuer = issuer();
    let issued = fetch(&issuer, "alice@example.org", "carol");
    // What the issuer saw and kept: who asked, what it was given, what it
    // answered. What the release server sees: the pass.
    let presented = issued.pass.to_der();
    for seen in [
        issued.member.as_bytes(),
        &issued.blinded[..],
        &issued.answer[..],
    ] {
        assert_eq!(shared_runs(seen, presented), 0);
    }
    // The member's identity is nowhere in the pass, in any form.
    assert!(!presented.windows(5).any(|w| w == b"alice"));
}

#[test]
fn passes_of_one_period_differ_only_in_what_their_members_chose() {
    let issuer = issuer();
    let a = fetch(&issuer, "member-a", "carol").pass;
    let b = fetch(&issuer, "member-b", "dave").pass;
    let (da, db) = (
        PassDer::from_der(a.to_der()).unwrap(),
        PassDer::from_der(b.to_der()).unwrap(),
    );
    assert_eq!(da.body.version, db.body.version);
    assert_eq!(da.body.group, db.body.group);
    assert_eq!(da.body.issuer_key_id, db.body.issuer_key_id);
    assert_eq!(da.body.not_before, db.body.not_before);
    assert_eq!(da.body.not_after, db.body.not_after);
    assert_ne!(da.prefix, db.prefix);
}

#[test]
fn every_transcript_fits_every_pass() {
    // Perfect blindness, shown on real values: for member A's issuance
    // record (blinded_A, answer_A) and member B's pass (sig_B), there is a
    // blinding factor r' = answer_A / sig_B that would have turned B's
    // pass into exactly A's request. The issuer's records plus the release
    // log therefore fit the swapped pairing as well as the true one, and
    // since r is uniform, equally likely: they cannot link a pass to a member.
    let issuer = issuer();
    let a = fetch(&issuer, "member-a", "carol");
    let b = fetch(&issuer, "member-b", "dave");
    let public = rsa::RsaPublicKey::from(&key("alice"));
    let n = BigUint::from_bytes_be(&public.n().to_bytes_be());
    let e = BigUint::from_bytes_be(&public.e().to_bytes_be());
    let int = |bytes: &[u8]| BigUint::from_bytes_be(bytes);
    for (record, pass) in [(&a, &b.pass), (&b, &a.pass), (&a, &a.pass)] {
        let sig = int(&pass.signature);
        let sig_inv = sig
            .clone()
            .mod_inverse(&n)
            .and_then(|i| i.to_biguint())
            .unwrap();
        let r = (int(&record.answer) * sig_inv) % &n;
        // sig^e is the pass's PSS-encoded message m; r'^e * m = blinded.
        let m = sig.modpow(&e, &n);
        assert_eq!((r.modpow(&e, &n) * m) % &n, int(&record.blinded));
    }
}
