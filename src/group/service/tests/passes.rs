//! Passes in process, with the clock in the test's hands: issuance once
//! per member and period, releases that name no member, and every way a
//! pass is refused.

use super::*;
use crate::group::anonymous::{parse_settings, set_anonymous, withdraw_passes};
use crate::group::pass::{IssuerPublicKey, Pass, PassRequest, Period, DEFAULT_LIFETIME};
use crate::group::release::client::sign;
use crate::group::release::protocol::pass::{
    PassAnswer, PassKeyAnswer, PassKeyRequest, PassPayload, PassReleaseRequest,
};

fn anonymous_world() -> World {
    let w = world();
    set_anonymous(
        &*w.store,
        "list",
        parse_settings(&["anonymous=on".into()]).unwrap(),
        &mut || Ok(PASS.to_string()),
        &mut OsRng,
    )
    .unwrap();
    w
}

/// A pass key pair, made once for the whole module (RSA key generation is
/// the slow part).
fn pass_key() -> rsa::RsaPrivateKey {
    static KEY: std::sync::OnceLock<rsa::RsaPrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| crate::group::pass::generate_pass_key(&mut OsRng).unwrap())
        .clone()
}

impl World {
    /// The published issuing key of the period containing `now`, or of the
    /// next one when `ahead`.
    fn issuing_key(&self, now: u64, ahead: bool) -> (IssuerPublicKey, String, Period) {
        let body = serde_json::to_vec(&PassKeyRequest::new("list")).unwrap();
        let a = self.service.handle_pass_key(&body, "test", now);
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert!(!a.audited);
        let keys: PassKeyAnswer = serde_json::from_slice(&a.body).unwrap();
        let mut period = Period::containing(now, keys.lifetime).unwrap();
        if ahead {
            period = period.next();
        }
        let k = keys
            .keys
            .iter()
            .find(|k| k.not_before == period.start())
            .unwrap();
        (
            IssuerPublicKey::from_pkcs1_der(&k.public_key).unwrap(),
            k.key_id.clone(),
            period,
        )
    }

    /// `by` asks for a pass: the issuance call's answer, and the pass when
    /// it was granted.
    fn fetch(&self, by: &Who, now: u64) -> (Answer, Option<Pass>) {
        self.fetch_for(by, now, false)
    }

    fn fetch_for(&self, by: &Who, now: u64, ahead: bool) -> (Answer, Option<Pass>) {
        let (issuer, key_id, period) = self.issuing_key(now, ahead);
        let key = pass_key();
        let request = PassRequest::new(&mut OsRng, "list", &issuer, period, key.as_ref()).unwrap();
        let payload = PassPayload {
            key_id,
            blinded: request.blinded().to_vec(),
        };
        let a = self.call(Op::Pass, by, &payload, now);
        if a.status != 200 {
            return (a, None);
        }
        let answer: PassAnswer = serde_json::from_slice(&a.body).unwrap();
        let pass = request.finish(&issuer, &answer.blind_signature).unwrap();
        (a, Some(pass))
    }

    fn release_with(&self, pass: &[u8], entry: &RecipientInfo, now: u64) -> Answer {
        pass_release(&self.service, pass, entry, now)
    }
}

/// A release with `pass` (signed by the module's pass key) from `service`.
fn pass_release(service: &Service, pass: &[u8], entry: &RecipientInfo, now: u64) -> Answer {
    let mut req = PassReleaseRequest {
        group: "list".into(),
        recipient_info: entry.to_der().unwrap(),
        pass: pass.to_vec(),
        timestamp: now,
        nonce: rand::random(),
        signature: Vec::new(),
    };
    req.signature = sign(&pass_key(), &req.signed_bytes(), &mut OsRng).unwrap();
    service.handle_pass_release(&req.to_json(), "test", now, Instant::now())
}

/// The content key of a release to a pass, opened with the pass key.
fn opened_with_pass(a: &Answer, pass: &Pass) -> Vec<u8> {
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let grant = ReleaseGrant::from_json(&a.body).unwrap();
    let ri = RecipientInfo::from_der(&grant.recipient_info).unwrap();
    let RecipientInfo::Ktri(k) = &ri else {
        panic!("not a key transport entry")
    };
    let cms::enveloped_data::RecipientIdentifier::SubjectKeyIdentifier(ski) = &k.rid else {
        panic!("not named by a key identifier")
    };
    assert_eq!(ski.0.as_bytes(), pass.id());
    crate::smime::envelope::unwrap_ktri_bytes(k, &pass_key(), 32, &mut OsRng)
        .unwrap()
        .to_vec()
}

#[test]
fn one_pass_per_member_and_period_and_releases_name_no_member() {
    let w = anonymous_world();
    let (bob, carol) = (who("bob"), who("carol"));
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
    let entry = w.group_entry(&cek);

    let (_, bobs) = w.fetch(&bob, NOW);
    let bobs = bobs.unwrap();
    let (_, carols) = w.fetch(&carol, NOW);
    let carols = carols.unwrap();
    // A second pass in the same period is refused, whatever is blinded.
    let (again, _) = w.fetch(&bob, NOW + 60);
    assert_eq!(refused(&again), Some(RefusalCode::PassIssued));
    // The next period's key issues again (renewal ahead of the boundary).
    let period = Period::containing(NOW, DEFAULT_LIFETIME).unwrap();
    let (next, _) = w.fetch_for(&bob, period.end() - 60, true);
    assert_eq!(next.status, 200);
    let (again, _) = w.fetch_for(&bob, period.end() - 50, true);
    assert_eq!(refused(&again), Some(RefusalCode::PassIssued));
    // Both keys stay derived in that hour: a lookup does not evict the
    // other (an unauthenticated caller could otherwise make the server
    // generate two RSA keys per request). This period's and the next.
    assert_eq!(w.service.issuers.lock().unwrap().derived(), 2);

    for pass in [&bobs, &carols] {
        let a = w.release_with(pass.to_der(), &entry, NOW + 5);
        assert_eq!(opened_with_pass(&a, pass), cek.bytes());
    }
    // An anonymous group's key is never released to an identity, and that
    // refusal is not audited.
    let before = w.store.audit("list", None).unwrap().len();
    let a = w.release(&bob, &entry, NOW + 5);
    assert_eq!(refused(&a), Some(RefusalCode::PassRequired));
    assert!(!a.audited);
    assert!(a.log_line().unwrap().contains("fingerprint=- key=-"));
    assert_eq!(w.store.audit("list", None).unwrap().len(), before);

    // What each side recorded. The issuer: the member, the time, the
    // period's key id (one for every pass of the period). The release:
    // the pass, the message. Nothing appears in both but the group.
    let rows = w.store.audit("list", None).unwrap();
    let fingerprint = |w: &Who| hex::encode(Sha256::digest(w.cert.to_der().unwrap()));
    let issued: Vec<_> = rows.iter().filter(|r| r.op == "pass").collect();
    let released: Vec<_> = rows.iter().filter(|r| r.op == "pass-release").collect();
    assert_eq!(released.len(), 2);
    let period_keys: std::collections::HashSet<_> =
        issued.iter().map(|r| r.key_hash.clone()).collect();
    assert_eq!(period_keys.len(), 2, "this period's key and the next one's");
    for r in &released {
        assert_eq!(r.outcome, RELEASED);
        assert_eq!(r.member_address, None);
        let named = r.member_fingerprint.as_deref().unwrap();
        assert!(named.starts_with("pass:"));
        assert_ne!(named, format!("pass:{}", fingerprint(&bob)));
        assert_ne!(named, format!("pass:{}", fingerprint(&carol)));
        for i in &issued {
            assert_ne!(i.key_hash, r.key_hash);
            assert_ne!(i.nonce, r.nonce);
            assert_ne!(i.member_fingerprint, r.member_fingerprint);
        }
    }
}

#[test]
fn forged_tampered_expired_and_withdrawn_passes_are_refused() {
    let w = anonymous_world();
    let bob = who("bob");
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
    let entry = w.group_entry(&cek);
    let (_, pass) = w.fetch(&bob, NOW);
    let pass = pass.unwrap();
    assert_eq!(w.release_with(pass.to_der(), &entry, NOW).status, 200);

    // Forged: a pass the forger signed with an issuing key of its own.
    let forger = crate::group::pass::Issuer::new(&pass_key()).unwrap();
    let period = Period::containing(NOW, DEFAULT_LIFETIME).unwrap();
    let request = PassRequest::new(
        &mut OsRng,
        "list",
        forger.public(),
        period,
        pass_key().as_ref(),
    )
    .unwrap();
    let sig = forger.issue(request.blinded()).unwrap();
    let forged = request.finish(forger.public(), &sig).unwrap();
    let a = w.release_with(forged.to_der(), &entry, NOW);
    assert!(matches!(
        refused(&a),
        Some(RefusalCode::PassExpired | RefusalCode::BadPass)
    ));
    // Tampered: one bit of the genuine pass's signature.
    let mut tampered = pass.to_der().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        refused(&w.release_with(&tampered, &entry, NOW)),
        Some(RefusalCode::BadPass)
    );
    assert_eq!(
        refused(&w.release_with(b"\x30\x00", &entry, NOW)),
        Some(RefusalCode::BadPass)
    );
    // Expired: the period is over.
    assert_eq!(
        refused(&w.release_with(pass.to_der(), &entry, period.end() + 1)),
        Some(RefusalCode::PassExpired)
    );
    // A request signed by another key than the pass's.
    let mut req = PassReleaseRequest {
        group: "list".into(),
        recipient_info: entry.to_der().unwrap(),
        pass: pass.to_der().to_vec(),
        timestamp: NOW,
        nonce: rand::random(),
        signature: Vec::new(),
    };
    req.signature = sign(&bob.key, &req.signed_bytes(), &mut OsRng).unwrap();
    let a = w
        .service
        .handle_pass_release(&req.to_json(), "test", NOW, Instant::now());
    assert_eq!(refused(&a), Some(RefusalCode::BadSignature));
    assert!(!a.audited);

    // Withdrawn: remove-member --now replaces the issuing key at once.
    admin::remove_members(
        &*w.store,
        "list",
        &crate::group::store::MemberSelector::Address("carol@example.org".into()),
    )
    .unwrap();
    assert!(withdraw_passes(&*w.store, "list").unwrap());
    assert_eq!(
        refused(&w.release_with(pass.to_der(), &entry, NOW + 1)),
        Some(RefusalCode::PassExpired)
    );
    // bob, still a member, gets a new pass in the same period; carol none.
    let (_, renewed) = w.fetch(&bob, NOW + 2);
    let renewed = renewed.unwrap();
    assert_eq!(
        w.release_with(renewed.to_der(), &entry, NOW + 3).status,
        200
    );
    let (a, _) = w.fetch(&who("carol"), NOW + 2);
    assert_eq!(refused(&a), Some(RefusalCode::NotMember));
}

#[test]
fn strangers_and_non_anonymous_groups_are_refused_from_memory() {
    let w = world();
    // Not anonymous, and no such group: the same answer.
    let lookup = |group: &str| {
        let body = serde_json::to_vec(&PassKeyRequest::new(group)).unwrap();
        w.service.handle_pass_key(&body, "test", NOW)
    };
    let (list, none) = (lookup("list"), lookup("nosuch"));
    assert_eq!((list.status, &list.body), (none.status, &none.body));
    assert_eq!(refused(&list), Some(RefusalCode::NotAnonymous));
    assert!(!list.audited && !none.audited);

    let w = anonymous_world();
    let before = w.store.audit("list", None).unwrap().len();
    // dave is nobody: refused before anything is signed or stored.
    let (a, _) = w.fetch(&who("dave"), NOW);
    assert_eq!(refused(&a), Some(RefusalCode::NotMember));
    assert!(!a.audited);
    // A signature that does not verify.
    let mut call = sign_call(
        Op::Pass,
        "list",
        b"{}".to_vec(),
        who("bob").cert.to_der().unwrap(),
        &who("bob").key,
        NOW,
        &mut OsRng,
    )
    .unwrap();
    call.signature[10] ^= 1;
    let a = w
        .service
        .handle_call(Op::Pass, &call.to_json(), "test", NOW, Instant::now());
    assert_eq!(refused(&a), Some(RefusalCode::BadSignature));
    assert!(!a.audited);
    // A pass release with garbage.
    let a = w
        .service
        .handle_pass_release(b"{\"version\":1}", "test", NOW, Instant::now());
    assert_eq!(refused(&a), Some(RefusalCode::Malformed));
    assert_eq!(w.store.audit("list", None).unwrap().len(), before);
}

#[test]
fn the_rate_limit_counts_per_pass() {
    let w = anonymous_world();
    let (bob, carol) = (who("bob"), who("carol"));
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
    let entry = w.group_entry(&cek);
    let (_, bobs) = w.fetch(&bob, NOW);
    let (_, carols) = w.fetch(&carol, NOW);
    // A second server on the same store, with a burst of two per caller.
    let limited = Service::start(
        Arc::clone(&w.store) as Arc<dyn Store>,
        Zeroizing::new(PASS.to_string()),
        Limits {
            rate: 0.001,
            burst: 2,
        },
        NOW,
    )
    .unwrap();
    let bobs = bobs.unwrap();
    for _ in 0..2 {
        assert_eq!(
            pass_release(&limited, bobs.to_der(), &entry, NOW).status,
            200
        );
    }
    assert_eq!(
        refused(&pass_release(&limited, bobs.to_der(), &entry, NOW)),
        Some(RefusalCode::RateLimited)
    );
    // Another pass is another caller.
    let carols = carols.unwrap();
    assert_eq!(
        pass_release(&limited, carols.to_der(), &entry, NOW).status,
        200
    );
}
