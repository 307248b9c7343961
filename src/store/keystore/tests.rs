use super::*;
use crate::smime::certs::Support;
use crate::smime::trust::RecipientRules;
use std::os::unix::fs::PermissionsExt;

/// What a signer announcing AES-GCM and RSA-OAEP sends.
const MODERN: [const_oid::ObjectIdentifier; 2] = [
    crate::smime::identity::ID_AES256_GCM,
    crate::smime::identity::ID_RSAES_OAEP,
];

/// How many certificates `encrypt` would use for `addr` now.
fn usable_for(ks: &Keystore, addr: &str) -> usize {
    ks.encryption_certificates(addr, &RecipientRules::validity_only(certs::now()))
        .unwrap()
        .len()
}

fn fixture(name: &str) -> (crate::smime::privkey::PrivateKey, CertInfo) {
    let base = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let key = privkey::open(
        &fs::read_to_string(format!("{base}.key.pem")).unwrap(),
        None,
        name,
    )
    .unwrap();
    let cert = certs::parse_bundle(&fs::read(format!("{base}.cert.pem")).unwrap())
        .unwrap()
        .remove(0);
    (key, cert)
}

#[test]
fn created_private_and_round_trips_identities() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ks");
    let ks = Keystore::open(&root).unwrap();
    assert_eq!(
        fs::metadata(&root).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let (key, cert) = fixture("alice");
    let ident = ks.add_identity(&key, &cert, Some("pw")).unwrap();
    assert!(ident.encrypted);
    assert_eq!(
        fs::metadata(&ident.key_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let found = ks.identities_for("alice@example.org").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(ks.unlock(&found[0], Some("pw")).unwrap(), key);
    // A second identity must use the same passphrase.
    let (bob_key, bob_cert) = fixture("bob");
    let err = ks
        .add_identity(&bob_key, &bob_cert, Some("other"))
        .unwrap_err();
    assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
    // A world-readable key file is refused.
    fs::set_permissions(&ident.key_path, fs::Permissions::from_mode(0o644)).unwrap();
    let err = ks.unlock(&found[0], Some("pw")).unwrap_err();
    assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
}

#[test]
fn learning_from_mail_neither_accepts_nor_records_capabilities() {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::open(dir.path()).unwrap();
    let (alice_key, alice) = fixture("alice");
    let (_, bob) = fixture("bob");
    let (_, carol) = fixture("carol");
    ks.add_identity(&alice_key, &alice, None).unwrap();
    ks.import_certificates(std::slice::from_ref(&bob)).unwrap();
    let modern = MODERN;
    let now = certs::now();

    // Own and accepted certificates are verified; only an accepted one
    // takes capabilities from mail.
    let own = ks
        .learn_signer(&alice, &[], &modern, Vouched::Signature, now)
        .unwrap();
    assert_eq!((own.standing, own.verified()), (Standing::Own, true));
    assert!(ks.support_record(&alice.fingerprint).unwrap().is_none());
    let known = ks
        .learn_signer(&bob, &[], &modern, Vouched::Signature, now)
        .unwrap();
    assert_eq!(
        (known.standing, known.verified()),
        (Standing::Accepted, true)
    );
    assert_eq!(ks.support_for(&bob).unwrap(), Support::MODERN);

    // A new correspondent is learned, not verified, not for encryption.
    let new = ks
        .learn_signer(&carol, &[], &modern, Vouched::Signature, now)
        .unwrap();
    assert_eq!(new.standing, Standing::Learned);
    assert!(new.learned_now && !new.verified() && new.others.is_empty());
    assert!(ks.support_record(&carol.fingerprint).unwrap().is_none());
    assert_eq!(ks.learned_certificates().unwrap().len(), 1);
    assert!(ks.certificates_for("carol@example.org").unwrap().is_empty());
    for err in [
        ks.encryption_certificates("carol@example.org", &RecipientRules::validity_only(now))
            .unwrap_err(),
        ks.certificate_index()
            .unwrap()
            .encryption_certificates("carol@example.org", &RecipientRules::validity_only(now))
            .unwrap_err(),
    ] {
        assert_eq!(crate::error::classify(&err).0, Exit::NoUser);
        let text = crate::error::single_line(&err);
        assert!(
            text.contains(&format!("sealpost cert accept {}", carol.fingerprint)),
            "{text}"
        );
    }
    let again = ks
        .learn_signer(&carol, &[], &modern, Vouched::Signature, now)
        .unwrap();
    assert_eq!(again.standing, Standing::Learned);
    assert!(!again.learned_now);

    // Accepting promotes it: then it encrypts, and it is no longer learned.
    assert_eq!(ks.accept_learned("carol@example.org").unwrap().len(), 1);
    assert!(ks.learned_certificates().unwrap().is_empty());
    assert_eq!(usable_for(&ks, "carol@example.org"), 1);
    assert_eq!(
        ks.assess_signer(&carol).unwrap().standing,
        Standing::Accepted
    );
    let err = ks.accept_learned("carol@example.org").unwrap_err();
    assert_eq!(crate::error::classify(&err).0, Exit::NoUser);

    // `cert import` accepts a learned certificate too; `cert remove`
    // removes learned ones as well as accepted ones.
    ks.remove_certificates(&carol.fingerprint).unwrap();
    ks.learn_signer(&carol, &[], &[], Vouched::Signature, now)
        .unwrap();
    assert!(
        ks.import_certificates(std::slice::from_ref(&carol))
            .unwrap()[0]
            .1
    );
    assert!(ks.learned_certificates().unwrap().is_empty());
    ks.remove_certificates(&carol.fingerprint).unwrap();
    ks.learn_signer(&carol, &[], &[], Vouched::Signature, now)
        .unwrap();
    assert_eq!(
        ks.remove_certificates("carol@example.org").unwrap().len(),
        1
    );
    assert!(ks.learned_certificates().unwrap().is_empty());
    assert!(ks.certificates_for("carol@example.org").unwrap().is_empty());
}

#[test]
fn certificates_import_select_remove() {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::open(dir.path()).unwrap();
    let (_, bob) = fixture("bob");
    let (_, carol) = fixture("carol");
    let added = ks
        .import_certificates(&[bob.clone(), carol.clone()])
        .unwrap();
    assert!(added.iter().all(|(_, new)| *new));
    assert!(!ks.import_certificates(std::slice::from_ref(&bob)).unwrap()[0].1);
    assert_eq!(
        ks.encryption_certificates(
            "bob@example.org",
            &RecipientRules::validity_only(certs::now())
        )
        .unwrap()
        .len(),
        1
    );
    let removed = ks.remove_certificates(&carol.fingerprint[..12]).unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(ks.certificates().unwrap().len(), 1);
    let index = ks.certificate_index().unwrap();
    assert_eq!(
        index
            .encryption_certificates(
                "bob@EXAMPLE.org",
                &RecipientRules::validity_only(certs::now())
            )
            .unwrap()
            .len(),
        1
    );
    assert!(index
        .encryption_certificates(
            "zed@example.org",
            &RecipientRules::validity_only(certs::now())
        )
        .is_err());
    assert_eq!(index.support_for(&bob), Support::default());
    ks.record_support(&bob.fingerprint, Support::MODERN, "user", certs::now())
        .unwrap();
    assert_eq!(
        ks.certificate_index().unwrap().support_for(&bob),
        Support::MODERN
    );
    assert!(ks.remove_certificates("nobody@example.org").is_err());
    assert!(ks.remove_certificates("abc").is_err());
}

/// A signer trusted through a lasting path becomes usable with what it
/// announced, unless its address already has a usable certificate; a BAD
/// signature teaches nothing.
#[test]
fn a_path_validated_signer_is_used_to_encrypt_unless_its_address_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::open(dir.path()).unwrap();
    let (_, bob) = fixture("bob");
    let (_, carol) = fixture("carol");
    let modern = MODERN;
    let now = certs::now();
    let bad = ks
        .learn_signer(&carol, &[], &modern, Vouched::Nothing, now)
        .unwrap();
    assert_eq!((bad.standing, bad.learned_now), (Standing::Unknown, false));
    // Learned earlier without a path, then validated: promoted.
    ks.learn_signer(&carol, &[], &[], Vouched::Signature, now)
        .unwrap();
    let new = ks
        .learn_signer(&carol, &[], &modern, Vouched::Path, now)
        .unwrap();
    assert_eq!(new.standing, Standing::Validated);
    assert!(new.learned_now && new.capabilities_recorded && !new.verified());
    assert!(ks.learned_certificates().unwrap().is_empty());
    assert_eq!(usable_for(&ks, "carol@example.org"), 1);
    assert_eq!(
        ks.certificate_index().unwrap().support_for(&carol),
        Support::MODERN
    );
    // Not trusted by a path this time: validated stays, nothing recorded.
    ks.forget_support(&carol.fingerprint).unwrap();
    let later = ks
        .learn_signer(&carol, &[], &modern, Vouched::Signature, now)
        .unwrap();
    assert_eq!(later.standing, Standing::Validated);
    assert!(!later.capabilities_recorded);
    assert!(ks.support_record(&carol.fingerprint).unwrap().is_none());

    // An address with an accepted certificate: another path-trusted one is
    // held back, kept only as learned.
    ks.import_certificates(std::slice::from_ref(&bob)).unwrap();
    // A second certificate for bob: only its fingerprint differs.
    let mut other = bob.clone();
    other.fingerprint = "ab".repeat(32);
    let held = ks
        .learn_signer(&other, &[], &modern, Vouched::Path, now)
        .unwrap();
    assert_eq!(held.standing, Standing::Learned);
    assert_eq!(
        held.held_back_by,
        vec![("bob@example.org".to_string(), bob.fingerprint.clone())]
    );
    assert!(!held.capabilities_recorded);
    assert!(ks.support_record(&other.fingerprint).unwrap().is_none());
    assert_eq!(
        ks.encryption_certificates("bob@example.org", &RecipientRules::validity_only(now))
            .unwrap()[0]
            .fingerprint,
        bob.fingerprint
    );
    // `cert import` and `cert remove` reach validated certificates too.
    assert!(
        ks.import_certificates(std::slice::from_ref(&carol))
            .unwrap()[0]
            .1
    );
    assert!(ks.validated_certificates().unwrap().is_empty());
    ks.remove_certificates("carol@example.org").unwrap();
    ks.learn_signer(&carol, &[], &[], Vouched::Path, now)
        .unwrap();
    assert_eq!(ks.validated_certificates().unwrap().len(), 1);
    ks.remove_certificates(&carol.fingerprint).unwrap();
    assert!(ks.validated_certificates().unwrap().is_empty());
}
