//! The calls and deposits, in process: every role and refusal of the
//! new operations, with real keys (the fixtures) and a real store.

use std::sync::Arc;
use std::time::Instant;

use cms::enveloped_data::RecipientInfo;
use der::{Decode, Encode};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::{Answer, Limits, Service, MAX_DEPOSIT_LIFETIME};
use crate::group::admin::{self, NewGroup};
use crate::group::release::calls::{
    DepositAnswer, DepositPayload, MembersAnswer, MembersPayload, Op, Readers, RevokeAnswer,
    RevokePayload, RewrapAnswer, RewrapPayload, SecretsAnswer, SecretsPayload,
};
use crate::group::release::client::{sign_call, sign_request};
use crate::group::release::protocol::{RefusalCode, ReleaseGrant};
use crate::group::store::{DepositState, Role, SqliteStore, Store, RELEASED};
use crate::smime::envelope::{
    kek_recipient, key_trans_recipient, unwrap_kekri_bytes, unwrap_key_bytes, ContentCipher,
    ContentKey, KEK_LEN,
};
use crate::smime::keyref::{parse_id, KeyRef, KeyRefKind, KEY_ID_LEN};

/// Anonymous release (issue #17): passes issued, used, refused.
mod passes;

const PASS: &str = "server passphrase";
const NOW: u64 = 1_800_000_000;

struct Who {
    key: rsa::RsaPrivateKey,
    cert: Certificate,
    pem: Vec<u8>,
}

fn who(name: &str) -> Who {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
    let key = std::fs::read_to_string(format!("{dir}{name}.key.pem")).unwrap();
    let pem = std::fs::read(format!("{dir}{name}.cert.pem")).unwrap();
    let info = crate::smime::certs::parse_bundle(&pem).unwrap().remove(0);
    Who {
        key: crate::smime::privkey::open_rsa(&key, None, name).unwrap(),
        cert: info.cert,
        pem,
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    service: Service,
    group_cert: Certificate,
}

/// Group `list` with bob and carol as members, erin the exploder,
/// alice a sender; dave is nobody.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("g.sqlite3")).unwrap());
    let spec = NewGroup {
        name: "list",
        email: "list@example.org",
        bits: 2048,
        days: 30,
    };
    let group = admin::create_group(&*store, &spec, PASS, NOW as i64 - 10, &mut OsRng).unwrap();
    for (name, role) in [
        ("bob", Role::Member),
        ("carol", Role::Member),
        ("erin", Role::Exploder),
        ("alice", Role::Sender),
    ] {
        admin::add_member(&*store, "list", &who(name).pem, role, 0).unwrap();
    }
    let service = Service::start(
        Arc::clone(&store) as Arc<dyn Store>,
        Zeroizing::new(PASS.to_string()),
        Limits {
            rate: 1000.0,
            burst: 1000,
        },
        NOW,
    )
    .unwrap();
    World {
        _dir: dir,
        store,
        service,
        group_cert: Certificate::from_der(&group.certificate).unwrap(),
    }
}

impl World {
    fn call(&self, op: Op, by: &Who, payload: &impl serde::Serialize, now: u64) -> Answer {
        let call = sign_call(
            op,
            "list",
            serde_json::to_vec(payload).unwrap(),
            by.cert.to_der().unwrap(),
            &by.key,
            now,
            &mut OsRng,
        )
        .unwrap();
        self.service
            .handle_call(op, &call.to_json(), "test", now, Instant::now())
    }

    fn release(&self, by: &Who, entry: &RecipientInfo, now: u64) -> Answer {
        let req = sign_request(
            "list",
            entry.to_der().unwrap(),
            by.cert.to_der().unwrap(),
            &by.key,
            now,
            &mut OsRng,
        )
        .unwrap();
        self.service
            .handle(&req.to_json(), "test", now, Instant::now())
    }

    /// The message key wrapped to the group certificate.
    fn group_entry(&self, cek: &ContentKey) -> RecipientInfo {
        key_trans_recipient(&self.group_cert, cek, Default::default(), &mut OsRng).unwrap()
    }
}

fn refused(a: &Answer) -> Option<RefusalCode> {
    a.refusal
}

/// The content key in a release grant, opened with `by`'s key.
fn granted_key(a: &Answer, by: &Who) -> Vec<u8> {
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let grant = ReleaseGrant::from_json(&a.body).unwrap();
    let ri = RecipientInfo::from_der(&grant.recipient_info).unwrap();
    unwrap_key_bytes(&ri, &by.cert, &by.key, 32, &mut OsRng)
        .unwrap()
        .to_vec()
}

#[test]
fn roles_decide_who_may_call_what() {
    let w = world();
    let (bob, erin, alice, dave) = (who("bob"), who("erin"), who("alice"), who("dave"));
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
    let entry = w.group_entry(&cek);
    // Only members get keys released; the exploder and the sender never do.
    assert_eq!(
        granted_key(&w.release(&bob, &entry, NOW), &bob),
        cek.bytes()
    );
    assert_eq!(
        refused(&w.release(&erin, &entry, NOW)),
        Some(RefusalCode::NotAuthorized)
    );
    assert_eq!(
        refused(&w.release(&alice, &entry, NOW)),
        Some(RefusalCode::NotAuthorized)
    );
    assert_eq!(
        refused(&w.release(&dave, &entry, NOW)),
        Some(RefusalCode::NotMember)
    );

    // The member list is for the exploder alone, and lists members only.
    let a = w.call(Op::Members, &erin, &MembersPayload {}, NOW);
    assert_eq!(a.status, 200);
    let list: MembersAnswer = serde_json::from_slice(&a.body).unwrap();
    let mut addrs: Vec<_> = list.members.iter().map(|m| m.address.as_str()).collect();
    addrs.sort();
    assert_eq!(addrs, ["bob@example.org", "carol@example.org"]);
    for by in [&bob, &alice, &dave] {
        let a = w.call(Op::Members, by, &MembersPayload {}, NOW);
        assert_eq!(refused(&a), Some(RefusalCode::NotAuthorized));
    }
    // Secrets are for members; deposits for members and senders.
    assert_eq!(
        refused(&w.call(Op::Secrets, &erin, &SecretsPayload {}, NOW)),
        Some(RefusalCode::NotAuthorized)
    );
    assert_eq!(
        refused(&w.call(Op::Secrets, &dave, &SecretsPayload {}, NOW)),
        Some(RefusalCode::NotMember)
    );
    let deposit = DepositPayload {
        readers: Readers::Members,
        expires: None,
    };
    assert_eq!(
        refused(&w.call(Op::Deposit, &erin, &deposit, NOW)),
        Some(RefusalCode::NotAuthorized)
    );
    assert_eq!(w.call(Op::Deposit, &alice, &deposit, NOW).status, 200);
    assert_eq!(w.call(Op::Deposit, &bob, &deposit, NOW).status, 200);
    // Every call is audited under its operation.
    let rows = w.store.audit("list", None).unwrap();
    assert!(rows
        .iter()
        .any(|r| r.op == "members" && r.outcome == RELEASED));
    assert!(rows
        .iter()
        .any(|r| r.op == "deposit" && r.outcome == "not_authorized"));
    // dave's not_member is not stored: he is no certificate the group knows.
    assert_eq!(rows.iter().filter(|r| r.op == "release").count(), 3);
}

#[test]
fn an_internal_failure_logs_its_cause_and_no_key_bytes() {
    let w = world();
    let bob = who("bob");
    let mut key_bytes = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut key_bytes);
    let cek = ContentKey::from_bytes(ContentCipher::Aes256Gcm, &key_bytes).unwrap();
    let entry = w.group_entry(&cek);
    // The store breaks under the running service: the member lookup fails.
    let db = rusqlite::Connection::open(w._dir.path().join("g.sqlite3")).unwrap();
    db.execute_batch("ALTER TABLE members RENAME TO members_gone")
        .unwrap();
    let a = w.release(&bob, &entry, NOW);
    assert_eq!(refused(&a), Some(RefusalCode::Internal));
    let body = String::from_utf8_lossy(&a.body);
    assert!(
        !body.contains("members"),
        "the cause reached the client: {body}"
    );
    let line = a.log_line().unwrap();
    assert!(line.starts_with("refused internal"), "{line}");
    assert!(line.contains("no such table: members"), "{line}");
    // Neither the content key nor its wrapped entry, in any spelling.
    let entry_der = entry.to_der().unwrap();
    for secret in [&key_bytes[..], &entry_der[..]] {
        use base64::Engine;
        for text in [
            hex::encode(secret),
            hex::encode_upper(secret),
            base64::engine::general_purpose::STANDARD.encode(secret),
        ] {
            assert!(!line.contains(&text[..16]), "{line}");
        }
    }
}

#[test]
fn rewrap_needs_a_secret_and_members_open_it_with_theirs() {
    let w = world();
    let (bob, erin) = (who("bob"), who("erin"));
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
    let rewrap = RewrapPayload {
        recipient_info: w.group_entry(&cek).to_der().unwrap(),
    };
    assert_eq!(
        refused(&w.call(Op::Rewrap, &erin, &rewrap, NOW)),
        Some(RefusalCode::NoSecret)
    );
    admin::rotate_secret(&*w.store, "list", PASS, NOW as i64, &mut OsRng).unwrap();
    let a = w.call(Op::Rewrap, &erin, &rewrap, NOW);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let rewrapped: RewrapAnswer = serde_json::from_slice(&a.body).unwrap();
    let RecipientInfo::Kekri(kekri) = RecipientInfo::from_der(&rewrapped.recipient_info).unwrap()
    else {
        panic!("not a kek entry");
    };
    let keyref = KeyRef::from_der(kekri.kek_id.kek_identifier.as_bytes()).unwrap();
    assert_eq!(keyref.kind, KeyRefKind::GroupSecret);
    assert_eq!(keyref.id_hex(), rewrapped.key_id);
    // bob fetches the secret and opens the entry with it.
    let a = w.call(Op::Secrets, &bob, &SecretsPayload {}, NOW);
    let secrets: SecretsAnswer = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(secrets.secrets.len(), 1);
    assert!(secrets.secrets[0].current);
    let entry = RecipientInfo::from_der(&secrets.secrets[0].recipient_info).unwrap();
    let secret = unwrap_key_bytes(&entry, &bob.cert, &bob.key, KEK_LEN, &mut OsRng).unwrap();
    let opened = unwrap_kekri_bytes(&kekri, &secret).unwrap();
    assert_eq!(&opened[..], cek.bytes());
    // Another certificate's entry, or a broken one.
    let other =
        key_trans_recipient(&who("carol").cert, &cek, Default::default(), &mut OsRng).unwrap();
    let a = w.call(
        Op::Rewrap,
        &erin,
        &RewrapPayload {
            recipient_info: other.to_der().unwrap(),
        },
        NOW,
    );
    assert_eq!(refused(&a), Some(RefusalCode::WrongGroup));
    let RecipientInfo::Ktri(mut broken) = w.group_entry(&cek) else {
        panic!()
    };
    let mut bytes = broken.enc_key.as_bytes().to_vec();
    bytes[5] ^= 1;
    broken.enc_key = der::asn1::OctetString::new(bytes).unwrap();
    let a = w.call(
        Op::Rewrap,
        &erin,
        &RewrapPayload {
            recipient_info: RecipientInfo::Ktri(broken).to_der().unwrap(),
        },
        NOW,
    );
    assert_eq!(refused(&a), Some(RefusalCode::UnwrapFailed));
    // A rotation makes a new current secret; the old one stays.
    admin::rotate_secret(&*w.store, "list", PASS, NOW as i64 + 1, &mut OsRng).unwrap();
    let a = w.call(Op::Secrets, &bob, &SecretsPayload {}, NOW);
    let secrets: SecretsAnswer = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(secrets.secrets.len(), 2);
    assert!(!secrets.secrets[0].current && secrets.secrets[1].current);
    // A wrong passphrase cannot issue secrets.
    assert!(admin::rotate_secret(&*w.store, "list", "wrong", NOW as i64, &mut OsRng).is_err());
}

/// The sender's side of a deposit: the key-encryption key, and the
/// message's entry made with it.
fn deposit(
    w: &World,
    by: &Who,
    readers: Readers,
    expires: Option<u64>,
) -> (String, RecipientInfo, ContentKey) {
    let a = w.call(Op::Deposit, by, &DepositPayload { readers, expires }, NOW);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let answer: DepositAnswer = serde_json::from_slice(&a.body).unwrap();
    let key = RecipientInfo::from_der(&answer.key).unwrap();
    let kek = unwrap_key_bytes(&key, &by.cert, &by.key, KEK_LEN, &mut OsRng).unwrap();
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
    let keyref = KeyRef::new(
        KeyRefKind::Deposit,
        "list",
        parse_id(&answer.deposit_id).unwrap(),
    );
    let entry = kek_recipient(&keyref.to_der(), &kek, &cek).unwrap();
    (answer.deposit_id, entry, cek)
}

#[test]
fn deposits_release_to_their_readers_until_revoked_or_expired() {
    let w = world();
    let (alice, bob, carol, dave) = (who("alice"), who("bob"), who("carol"), who("dave"));
    let bob_fp = hex::encode(Sha256::digest(bob.cert.to_der().unwrap()));

    // Readers by certificate: bob, and the depositor; carol is a member but not a reader.
    let (id, entry, cek) = deposit(&w, &alice, Readers::Certificates(vec![bob_fp]), None);
    assert_eq!(
        granted_key(&w.release(&bob, &entry, NOW), &bob),
        cek.bytes()
    );
    assert_eq!(
        granted_key(&w.release(&alice, &entry, NOW), &alice),
        cek.bytes()
    );
    assert_eq!(
        refused(&w.release(&carol, &entry, NOW)),
        Some(RefusalCode::NotMember)
    );
    assert_eq!(
        refused(&w.release(&dave, &entry, NOW)),
        Some(RefusalCode::NotMember)
    );
    // Only the depositor revokes; then nobody reads, and again is a no-op.
    let revoke = RevokePayload { deposit_id: id };
    assert_eq!(
        refused(&w.call(Op::Revoke, &bob, &revoke, NOW)),
        Some(RefusalCode::NotAuthorized)
    );
    let a = w.call(Op::Revoke, &alice, &revoke, NOW);
    assert!(
        serde_json::from_slice::<RevokeAnswer>(&a.body)
            .unwrap()
            .revoked
    );
    let a = w.call(Op::Revoke, &alice, &revoke, NOW);
    assert!(
        !serde_json::from_slice::<RevokeAnswer>(&a.body)
            .unwrap()
            .revoked
    );
    for by in [&bob, &alice] {
        assert_eq!(
            refused(&w.release(by, &entry, NOW)),
            Some(RefusalCode::Revoked)
        );
    }
    let gone = w.store.deposit(&revoke.deposit_id).unwrap().unwrap();
    assert_eq!(gone.sealed_kek, None, "the revoked key is deleted");

    // Readers = members, with an expiry.
    let (id, entry, cek) = deposit(&w, &alice, Readers::Members, Some(NOW + 60));
    assert_eq!(
        granted_key(&w.release(&carol, &entry, NOW + 59), &carol),
        cek.bytes()
    );
    assert_eq!(
        refused(&w.release(&dave, &entry, NOW)),
        Some(RefusalCode::NotMember)
    );
    assert_eq!(
        refused(&w.release(&carol, &entry, NOW + 60)),
        Some(RefusalCode::Expired)
    );
    assert_eq!(w.store.deposit(&id).unwrap().unwrap().sealed_kek, None);
    // The purge deletes expired keys without a request.
    let (id, _, _) = deposit(&w, &alice, Readers::Members, Some(NOW + 5));
    assert_eq!(w.service.purge_expired(NOW + 4).unwrap(), 0);
    assert_eq!(w.service.purge_expired(NOW + 5).unwrap(), 1);
    assert_eq!(
        w.store.deposit(&id).unwrap().unwrap().state,
        DepositState::Expired
    );

    // Bad deposits and bad references.
    for bad in [
        DepositPayload {
            readers: Readers::Members,
            expires: Some(NOW - 1),
        },
        DepositPayload {
            readers: Readers::Certificates(vec!["not a fingerprint".into()]),
            expires: None,
        },
        DepositPayload {
            readers: Readers::Certificates(Vec::new()),
            expires: None,
        },
    ] {
        assert_eq!(
            refused(&w.call(Op::Deposit, &alice, &bad, NOW)),
            Some(RefusalCode::Malformed)
        );
    }
    let (_, entry, _) = deposit(&w, &alice, Readers::Members, None);
    let RecipientInfo::Kekri(mut kekri) = entry else {
        panic!()
    };
    let unknown = KeyRef::new(KeyRefKind::Deposit, "list", [0; KEY_ID_LEN]);
    kekri.kek_id.kek_identifier = der::asn1::OctetString::new(unknown.to_der()).unwrap();
    assert_eq!(
        refused(&w.release(&bob, &RecipientInfo::Kekri(kekri.clone()), NOW)),
        Some(RefusalCode::UnknownDeposit)
    );
    let elsewhere = KeyRef::new(KeyRefKind::Deposit, "other", [0; KEY_ID_LEN]);
    kekri.kek_id.kek_identifier = der::asn1::OctetString::new(elsewhere.to_der()).unwrap();
    assert_eq!(
        refused(&w.release(&bob, &RecipientInfo::Kekri(kekri), NOW)),
        Some(RefusalCode::WrongGroup)
    );
}

/// Issue 11 item 9: an expiry of 2^64-1 was stored as -1 and purged at
/// once. Every expiry outside (now, now + 100 years] is refused.
#[test]
fn deposit_expiries_out_of_range_are_refused() {
    let w = world();
    let alice = who("alice");
    for expires in [
        u64::MAX,
        i64::MAX as u64 + 1,
        i64::MAX as u64,
        NOW + MAX_DEPOSIT_LIFETIME + 1,
        NOW,
        0,
    ] {
        let payload = DepositPayload {
            readers: Readers::Members,
            expires: Some(expires),
        };
        let a = w.call(Op::Deposit, &alice, &payload, NOW);
        assert_eq!(refused(&a), Some(RefusalCode::Malformed), "{expires}");
    }
    let furthest = NOW + MAX_DEPOSIT_LIFETIME;
    let (id, _, _) = deposit(&w, &alice, Readers::Members, Some(furthest));
    let stored = w.store.deposit(&id).unwrap().unwrap();
    assert_eq!(stored.expires, Some(furthest as i64));
    assert_eq!(w.service.purge_expired(NOW + 1).unwrap(), 0);
}

/// Issue 11 item 4: refusals before the signature verifies, and those of
/// certificates the group does not know, store nothing.
#[test]
fn only_known_signed_callers_are_audited() {
    let w = world();
    let (bob, dave) = (who("bob"), who("dave"));
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
    let entry = w.group_entry(&cek);
    let a = w.service.handle(b"{not json", "test", NOW, Instant::now());
    assert!(!a.audited);
    let a = w.release(&dave, &entry, NOW);
    assert_eq!(
        (refused(&a), a.audited),
        (Some(RefusalCode::NotMember), false)
    );
    let a = w.call(Op::Secrets, &dave, &SecretsPayload {}, NOW);
    assert_eq!(
        (refused(&a), a.audited),
        (Some(RefusalCode::NotMember), false)
    );
    let a = w.release(&bob, &entry, NOW);
    assert!(a.audited && a.refusal.is_none());
    assert_eq!(w.store.audit("list", None).unwrap().len(), 1);
}

/// Issue 16: after `group rotate-key`, a running service releases messages
/// to the old key until its keep-old window ends and to the new key, and
/// matches each entry to its key by the recipient identifier.
#[test]
fn a_rotated_key_keeps_releasing_until_its_window_ends() {
    let w = world();
    let (bob, erin) = (who("bob"), who("erin"));
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut OsRng).unwrap();
    let old_entry = w.group_entry(&cek);
    assert_eq!(
        granted_key(&w.release(&bob, &old_entry, NOW), &bob),
        cek.bytes()
    );

    let rotated = admin::rotate_key(&*w.store, "list", PASS, 100, NOW as i64, &mut OsRng).unwrap();
    assert_eq!(rotated.generation, 2);
    let new_cert = Certificate::from_der(&rotated.group.certificate).unwrap();
    assert_ne!(new_cert, w.group_cert);
    let new_entry = key_trans_recipient(&new_cert, &cek, Default::default(), &mut OsRng).unwrap();
    // The service started before the rotation picks it up at this request.
    for entry in [&old_entry, &new_entry] {
        assert_eq!(
            granted_key(&w.release(&bob, entry, NOW + 1), &bob),
            cek.bytes()
        );
    }
    // The exploder's rewrap takes either key too.
    admin::rotate_secret(&*w.store, "list", PASS, NOW as i64, &mut OsRng).unwrap();
    for entry in [&old_entry, &new_entry] {
        let payload = RewrapPayload {
            recipient_info: entry.to_der().unwrap(),
        };
        let a = w.call(Op::Rewrap, &erin, &payload, NOW + 2);
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    }
    // At the end of the window, the old key is refused; the new one is not.
    let late = NOW + 100;
    assert_eq!(
        refused(&w.release(&bob, &old_entry, late)),
        Some(RefusalCode::KeyRetired)
    );
    assert_eq!(
        granted_key(&w.release(&bob, &new_entry, late), &bob),
        cek.bytes()
    );
    // An entry for some other certificate still is the wrong group.
    let stranger =
        key_trans_recipient(&who("dave").cert, &cek, Default::default(), &mut OsRng).unwrap();
    assert_eq!(
        refused(&w.release(&bob, &stranger, late)),
        Some(RefusalCode::WrongGroup)
    );
    // A service started after the window never opens the old key, and
    // still tells its entries apart from a stranger's.
    let restarted = Service::start(
        Arc::clone(&w.store) as Arc<dyn Store>,
        Zeroizing::new(PASS.to_string()),
        Limits::default(),
        late,
    )
    .unwrap();
    let Ok(Some(keys)) = restarted.group_key("list", late) else {
        panic!("no keys for list")
    };
    assert_eq!(keys.generation, 2);
    assert!(keys.retired[0].key.is_none());
    let RecipientInfo::Ktri(k) = &old_entry else {
        unreachable!()
    };
    assert_eq!(keys.for_entry(k, late).err(), Some(RefusalCode::KeyRetired));
}
