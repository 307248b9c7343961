//! Unit tests for the envelope module, using the RSA fixtures in tests/data.

use std::path::Path;
use std::sync::OnceLock;

use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{EnvelopedData, RecipientIdentifier, RecipientInfo};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, DecodePem, Encode};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

use super::content::DECRYPTION_FAILED;
use super::recipient::subject_key_id;
use super::*;
use crate::error::{classify, Exit};

struct Fixture {
    cert: Certificate,
    key: crate::smime::privkey::PrivateKey,
}

impl Fixture {
    fn own(&self) -> OwnKey<'_> {
        OwnKey {
            cert: &self.cert,
            key: &self.key,
        }
    }
}

fn fixture(who: &str) -> &'static Fixture {
    static ALL: OnceLock<Vec<(String, Fixture)>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        ["alice", "bob", "carol", "dave"]
            .iter()
            .map(|w| {
                let cert = std::fs::read_to_string(dir.join(format!("{w}.cert.pem"))).unwrap();
                let key = std::fs::read_to_string(dir.join(format!("{w}.key.pem"))).unwrap();
                (
                    w.to_string(),
                    Fixture {
                        cert: Certificate::from_pem(cert.as_bytes()).unwrap(),
                        key: RsaPrivateKey::from_pkcs8_pem(&key).unwrap().into(),
                    },
                )
            })
            .collect()
    });
    &all.iter().find(|(w, _)| w == who).unwrap().1
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

const MIME: &[u8] =
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello \xc3\xa9 world\r\nbare lf\nend\r\n";

fn ias_id(cert: &Certificate) -> RecipientId {
    RecipientId::IssuerSerial {
        issuer: cert.tbs_certificate.issuer.to_string(),
        serial: hex::encode(cert.tbs_certificate.serial_number.as_bytes()),
    }
}

fn ski_id(cert: &Certificate) -> RecipientId {
    RecipientId::KeyId(hex::encode(subject_key_id(cert).unwrap().0.as_bytes()))
}

fn id_for(cert: &Certificate, rid: RecipientIdKind) -> RecipientId {
    match rid {
        RecipientIdKind::IssuerAndSerial => ias_id(cert),
        RecipientIdKind::SubjectKeyId => ski_id(cert),
    }
}

const TRANSPORTS: [KeyTransport; 2] = [KeyTransport::RsaOaepSha256, KeyTransport::RsaPkcs1v15];
const RIDS: [RecipientIdKind; 2] = [
    RecipientIdKind::IssuerAndSerial,
    RecipientIdKind::SubjectKeyId,
];

fn seal(cipher: ContentCipher, who: &[&str], options: RecipientOptions, seed: u64) -> Vec<u8> {
    let mut r = rng(seed);
    let cek = ContentKey::generate(cipher, &mut r).unwrap();
    let content = cek.encrypt(MIME, &mut r).unwrap();
    let certs: Vec<&Certificate> = who.iter().map(|w| &fixture(w).cert).collect();
    seal_for(&content, &cek, &certs, options, &mut r).unwrap()
}

fn exit_of(err: &anyhow::Error) -> Exit {
    classify(err).0
}

#[test]
fn round_trip_every_cipher_transport_and_rid() {
    let alice = fixture("alice");
    let bob = fixture("bob");
    let mut seed = 0;
    for cipher in ContentCipher::FOR_ENCRYPTION {
        for transport in TRANSPORTS {
            for rid in RIDS {
                for len in [0usize, 1, 15, 16, 17, 1000] {
                    seed += 1;
                    let plain: Vec<u8> = MIME.iter().copied().cycle().take(len).collect();
                    let mut r = rng(seed);
                    let cek = ContentKey::generate(cipher, &mut r).unwrap();
                    let content = cek.encrypt(&plain, &mut r).unwrap();
                    assert_eq!(content.cipher(), cipher);
                    assert_eq!(content.mac().is_some(), cipher.is_authenticated());
                    let options = RecipientOptions { transport, rid };
                    let der = seal_for(&content, &cek, &[&alice.cert], options, &mut r).unwrap();
                    let env = Envelope::parse(&der).unwrap();
                    let what = format!("{cipher} {transport:?} {rid:?} len {len}");
                    assert_eq!(env.cipher().unwrap(), cipher, "{what}");
                    assert_eq!(
                        env.kind(),
                        if cipher.is_authenticated() {
                            EnvelopeKind::AuthEnveloped
                        } else {
                            EnvelopeKind::Enveloped
                        }
                    );
                    let summary = env.recipients();
                    assert_eq!(summary.len(), 1);
                    assert_eq!(summary[0].kind, RecipientKind::KeyTransport);
                    assert_eq!(summary[0].ids, vec![id_for(&alice.cert, rid)], "{what}");
                    assert_eq!(
                        summary[0].algorithm,
                        match transport {
                            KeyTransport::RsaOaepSha256 => "rsaes-oaep sha-256 mgf1-sha-256",
                            KeyTransport::RsaPkcs1v15 => "rsaes-pkcs1-v1_5",
                        }
                    );
                    // What `encrypt --json` calls it is what `inspect` reads.
                    assert_eq!(summary[0].algorithm, transport.name());
                    // Bob's key comes first: matching must still pick Alice's.
                    let out = env.open(&[bob.own(), alice.own()], &mut r).unwrap();
                    assert_eq!(out, plain, "{what}");
                    let err = env.open(&[bob.own()], &mut r).unwrap_err();
                    assert_eq!(exit_of(&err), Exit::NoUser, "{what}");
                }
            }
        }
    }
}

#[test]
fn one_ciphertext_in_two_envelopes_with_disjoint_recipients() {
    for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes128Cbc] {
        let mut r = rng(7);
        let cek = ContentKey::generate(cipher, &mut r).unwrap();
        let content = cek.encrypt(MIME, &mut r).unwrap();
        let (alice, bob, carol, dave) = (
            fixture("alice"),
            fixture("bob"),
            fixture("carol"),
            fixture("dave"),
        );
        let visible = seal_for(
            &content,
            &cek,
            &[&alice.cert, &bob.cert],
            RecipientOptions::default(),
            &mut r,
        )
        .unwrap();
        let bcc = seal_for(
            &content,
            &cek,
            &[&carol.cert],
            RecipientOptions {
                transport: KeyTransport::RsaPkcs1v15,
                rid: RecipientIdKind::SubjectKeyId,
            },
            &mut r,
        )
        .unwrap();

        // Same ciphertext, bit for bit, in both.
        let ciphertext = content
            .info()
            .encrypted_content
            .as_ref()
            .unwrap()
            .as_bytes();
        let contains = |hay: &[u8]| hay.windows(ciphertext.len()).any(|w| w == ciphertext);
        assert!(contains(&visible) && contains(&bcc));

        let ev = Envelope::parse(&visible).unwrap();
        let eb = Envelope::parse(&bcc).unwrap();
        let mut ids: Vec<RecipientId> = ev.recipients().into_iter().flat_map(|s| s.ids).collect();
        ids.sort_by_key(|i| i.to_string());
        let mut want = vec![ias_id(&alice.cert), ias_id(&bob.cert)];
        want.sort_by_key(|i| i.to_string());
        assert_eq!(ids, want);
        let ids: Vec<RecipientId> = eb.recipients().into_iter().flat_map(|s| s.ids).collect();
        assert_eq!(ids, vec![ski_id(&carol.cert)]);

        for (env, opens, not) in [
            (&ev, vec![alice, bob], vec![carol, dave]),
            (&eb, vec![carol], vec![alice, bob, dave]),
        ] {
            for f in opens {
                assert_eq!(env.open(&[f.own()], &mut r).unwrap(), MIME);
            }
            for f in not {
                let err = env.open(&[f.own()], &mut r).unwrap_err();
                assert_eq!(exit_of(&err), Exit::NoUser);
            }
        }
    }
}

#[test]
fn no_matching_key_names_the_recipients() {
    let (alice, bob, carol) = (fixture("alice"), fixture("bob"), fixture("carol"));
    let mut r = rng(3);
    let cek = ContentKey::generate(ContentCipher::Aes128Gcm, &mut r).unwrap();
    let content = cek.encrypt(MIME, &mut r).unwrap();
    let ktris = vec![
        key_trans_recipient(&alice.cert, &cek, RecipientOptions::default(), &mut r).unwrap(),
        key_trans_recipient(
            &bob.cert,
            &cek,
            RecipientOptions {
                rid: RecipientIdKind::SubjectKeyId,
                ..Default::default()
            },
            &mut r,
        )
        .unwrap(),
    ];
    let der = assemble(&content, ktris).unwrap();
    let err = open(&der, &[carol.own()], &mut r).unwrap_err();
    assert_eq!(exit_of(&err), Exit::NoUser);
    let msg = err.to_string();
    assert!(!msg.contains('\n'));
    let alice_serial = hex::encode(alice.cert.tbs_certificate.serial_number.as_bytes());
    let bob_ski = hex::encode(subject_key_id(&bob.cert).unwrap().0.as_bytes());
    assert!(msg.contains(&alice_serial), "{msg}");
    assert!(msg.contains("CN=alice test"), "{msg}");
    assert!(msg.contains(&bob_ski), "{msg}");
    assert!(!msg.contains("carol"), "{msg}");
    // No keys at all: the same class.
    let err = open(&der, &[], &mut r).unwrap_err();
    assert_eq!(exit_of(&err), Exit::NoUser);
}

#[test]
fn wrong_private_key_for_a_matching_certificate_fails_uniformly() {
    // Alice's certificate paired with Bob's key: the rid matches, RSA fails.
    let (alice, bob) = (fixture("alice"), fixture("bob"));
    let impostor = OwnKey {
        cert: &alice.cert,
        key: &bob.key,
    };
    for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes128Gcm] {
        for transport in TRANSPORTS {
            let der = seal(
                cipher,
                &["alice"],
                RecipientOptions {
                    transport,
                    ..Default::default()
                },
                11,
            );
            let err = open(&der, &[impostor], &mut rng(5)).unwrap_err();
            assert_eq!(exit_of(&err), Exit::DataErr);
            assert_eq!(err.to_string(), DECRYPTION_FAILED, "{transport:?}");
        }
    }
}

#[test]
fn pkcs1_wrong_key_length_continues_with_a_random_key() {
    // The RSA block holds a valid 16-byte key but the content is AES-256:
    // no distinct error, just the generic failure from the content layer.
    let alice = fixture("alice");
    let mut r = rng(21);
    let short = ContentKey::generate(ContentCipher::Aes128Gcm, &mut r).unwrap();
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut r).unwrap();
    let content = cek.encrypt(MIME, &mut r).unwrap();
    let options = RecipientOptions {
        transport: KeyTransport::RsaPkcs1v15,
        ..Default::default()
    };
    let ktri = key_trans_recipient(&alice.cert, &short, options, &mut r).unwrap();
    let der = assemble(&content, vec![ktri]).unwrap();
    let err = open(&der, &[alice.own()], &mut r).unwrap_err();
    assert_eq!(exit_of(&err), Exit::DataErr);
    assert_eq!(err.to_string(), DECRYPTION_FAILED);

    // Same for a garbled RSA block with CBC content (seeded: deterministic).
    let cek = ContentKey::generate(ContentCipher::Aes256Cbc, &mut r).unwrap();
    let content = cek.encrypt(MIME, &mut r).unwrap();
    let mut ktri = key_trans_recipient(&alice.cert, &cek, options, &mut r).unwrap();
    if let RecipientInfo::Ktri(k) = &mut ktri {
        let mut bytes = k.enc_key.as_bytes().to_vec();
        bytes[10] ^= 0x40;
        k.enc_key = OctetString::new(bytes).unwrap();
    }
    let der = assemble(&content, vec![ktri]).unwrap();
    let err = open(&der, &[alice.own()], &mut r).unwrap_err();
    assert_eq!(err.to_string(), DECRYPTION_FAILED);
}

#[test]
fn versions_and_parameters_follow_the_rfcs() {
    let alice = fixture("alice");
    let bob = fixture("bob");
    let mut r = rng(9);
    let cek = ContentKey::generate(ContentCipher::Aes192Cbc, &mut r).unwrap();
    let content = cek.encrypt(MIME, &mut r).unwrap();
    let ias = RecipientOptions::default();
    let ski = RecipientOptions {
        rid: RecipientIdKind::SubjectKeyId,
        ..Default::default()
    };
    let ed_version = |ris: Vec<RecipientInfo>| {
        let der = assemble(&content, ris).unwrap();
        let ci = ContentInfo::from_der(&der).unwrap();
        assert_eq!(
            ci.content_type,
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3")
        );
        ci.content.decode_as::<EnvelopedData>().unwrap()
    };
    let a_ias = key_trans_recipient(&alice.cert, &cek, ias, &mut r).unwrap();
    let b_ias = key_trans_recipient(&bob.cert, &cek, ias, &mut r).unwrap();
    let b_ski = key_trans_recipient(&bob.cert, &cek, ski, &mut r).unwrap();
    let ed = ed_version(vec![a_ias.clone(), b_ias]);
    assert_eq!(ed.version, CmsVersion::V0);
    let ed = ed_version(vec![a_ias, b_ski]);
    assert_eq!(ed.version, CmsVersion::V2);
    for ri in ed.recip_infos.0.iter() {
        let RecipientInfo::Ktri(k) = ri else { panic!() };
        match k.rid {
            RecipientIdentifier::IssuerAndSerialNumber(_) => assert_eq!(k.version, CmsVersion::V0),
            RecipientIdentifier::SubjectKeyIdentifier(_) => assert_eq!(k.version, CmsVersion::V2),
        }
        // RSAES-OAEP-params: [0] sha256, [1] mgf1(sha256), label omitted (DEFAULT).
        assert_eq!(
            k.key_enc_alg.oid,
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7")
        );
        let sha256 = "300b0609608648016503040201";
        let mgf1 = format!("301806092a864886f70d010108{sha256}");
        let expect = format!("302ba00d{sha256}a11a{mgf1}");
        assert_eq!(
            hex::encode(k.key_enc_alg.parameters.as_ref().unwrap().to_der().unwrap()),
            expect
        );
    }
    // CBC parameters: the IV as OCTET STRING.
    let p = content.info().content_enc_alg.parameters.as_ref().unwrap();
    assert_eq!(p.decode_as::<OctetString>().unwrap().as_bytes().len(), 16);

    // AuthEnvelopedData: version 0, a 16-byte tag, no attributes.
    let mut auth_enveloped = |cipher, options| {
        let cek = ContentKey::generate(cipher, &mut r).unwrap();
        let content = cek.encrypt(MIME, &mut r).unwrap();
        let ktri = key_trans_recipient(&alice.cert, &cek, options, &mut r).unwrap();
        let der = assemble(&content, vec![ktri]).unwrap();
        let ci = ContentInfo::from_der(&der).unwrap();
        assert_eq!(
            ci.content_type,
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.23")
        );
        let aed = ci.content.decode_as::<AuthEnvelopedData>().unwrap();
        assert_eq!(aed.version, CmsVersion::V0);
        assert_eq!(aed.mac.as_bytes().len(), 16);
        assert!(aed.auth_attrs.is_none() && aed.unauth_attrs.is_none());
        aed
    };
    // AES-GCM: GCMParameters with ICVlen 16 written.
    let aed = auth_enveloped(ContentCipher::Aes256Gcm, ski);
    let params = aed
        .auth_encrypted_content
        .content_enc_alg
        .parameters
        .unwrap()
        .to_der()
        .unwrap();
    assert_eq!(params.len(), 2 + 14 + 3);
    assert_eq!(&params[..4], &[0x30, 0x11, 0x04, 0x0c]);
    assert_eq!(&params[16..], &[0x02, 0x01, 0x10]);
    assert_eq!(
        aed.auth_encrypted_content.content_type,
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1")
    );

    // ChaCha20-Poly1305 (RFC 8103 §2): id-alg-AEADChaCha20Poly1305, the
    // nonce as a 12-byte OCTET STRING, the 16-byte tag in mac.
    let aed = auth_enveloped(ContentCipher::ChaCha20Poly1305, ias);
    let alg = aed.auth_encrypted_content.content_enc_alg;
    assert_eq!(
        alg.oid,
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.3.18")
    );
    let params = alg.parameters.unwrap().to_der().unwrap();
    assert_eq!(params.len(), 14);
    assert_eq!(&params[..2], &[0x04, 0x0c]);
    assert_eq!(
        aed.auth_encrypted_content
            .encrypted_content
            .unwrap()
            .as_bytes()
            .len(),
        MIME.len()
    );
}

#[test]
fn subject_key_id_needs_the_extension() {
    let alice = fixture("alice");
    let mut cert = alice.cert.clone();
    let ski_oid = ObjectIdentifier::new_unwrap("2.5.29.14");
    if let Some(exts) = cert.tbs_certificate.extensions.as_mut() {
        exts.retain(|e| e.extn_id != ski_oid);
    }
    let mut r = rng(1);
    let cek = ContentKey::generate(ContentCipher::Aes128Cbc, &mut r).unwrap();
    let options = RecipientOptions {
        rid: RecipientIdKind::SubjectKeyId,
        ..Default::default()
    };
    let err = key_trans_recipient(&cert, &cek, options, &mut r).unwrap_err();
    assert_eq!(exit_of(&err), Exit::DataErr);
    assert!(err.to_string().contains("subject key identifier"), "{err}");
    // issuer and serial still works
    assert!(key_trans_recipient(&cert, &cek, RecipientOptions::default(), &mut r).is_ok());
}

#[test]
fn decrypt_only_ciphers_cannot_encrypt() {
    for c in [ContentCipher::DesEde3Cbc, ContentCipher::Aes192Gcm] {
        assert!(!c.can_encrypt());
        assert!(ContentKey::generate(c, &mut rng(1)).is_err());
    }
    assert!(ContentKey::from_bytes(ContentCipher::Aes128Cbc, &[0; 15]).is_err());
}

#[test]
fn des_ede3_cbc_content_opens() {
    use ::cbc::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
    let alice = fixture("alice");
    let mut r = rng(4);
    let key = [0x5au8; 24];
    let iv = [1u8, 2, 3, 4, 5, 6, 7, 8];
    let ct = ::cbc::Encryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
        .unwrap()
        .encrypt_padded_vec_mut::<Pkcs7>(MIME);
    let cek = ContentKey::from_bytes(ContentCipher::DesEde3Cbc, &key).unwrap();
    let content = EncryptedContent {
        cipher: ContentCipher::DesEde3Cbc,
        info: cms::enveloped_data::EncryptedContentInfo {
            content_type: super::oids::ID_DATA,
            content_enc_alg: spki::AlgorithmIdentifierOwned {
                oid: ContentCipher::DesEde3Cbc.oid(),
                parameters: Some(Any::new(der::Tag::OctetString, iv.to_vec()).unwrap()),
            },
            encrypted_content: Some(OctetString::new(ct).unwrap()),
        },
        mac: None,
    };
    let der = seal_for(
        &content,
        &cek,
        &[&alice.cert],
        RecipientOptions::default(),
        &mut r,
    )
    .unwrap();
    let env = Envelope::parse(&der).unwrap();
    assert_eq!(env.content_algorithm(), "des-ede3-cbc");
    assert_eq!(env.open(&[alice.own()], &mut r).unwrap(), MIME);
}

/// An AuthEnvelopedData with authenticated attributes, encrypted by hand
/// under `cipher` (AES-128-GCM or ChaCha20-Poly1305). With `short_tag`
/// (GCM), a 12-byte tag and ICVlen left at its DEFAULT (12).
fn aead_with_auth_attrs(cipher: ContentCipher, tamper_attrs: bool, short_tag: bool) -> Vec<u8> {
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    let alice = fixture("alice");
    let mut r = rng(8);
    let cek = ContentKey::generate(cipher, &mut r).unwrap();
    let attr_value = |v: &[u8]| Any::new(der::Tag::OctetString, v.to_vec()).unwrap();
    let make_attrs = |v: &[u8]| {
        let mut values = SetOfVec::new();
        values.insert(attr_value(v)).unwrap();
        let mut attrs = SetOfVec::new();
        attrs
            .insert(Attribute {
                oid: ObjectIdentifier::new_unwrap("1.2.3.4"),
                values,
            })
            .unwrap();
        attrs
    };
    let attrs = make_attrs(b"authenticated");
    let aad = attrs.to_der().unwrap();
    assert_eq!(aad[0], 0x31, "AAD is the SET OF encoding");
    let nonce = [9u8; 12];
    let mut buf = MIME.to_vec();
    let tag: Vec<u8> = if cipher == ContentCipher::ChaCha20Poly1305 {
        let aead = chacha20poly1305::ChaCha20Poly1305::new_from_slice(cek.bytes()).unwrap();
        aead.encrypt_in_place_detached(&nonce.into(), &aad, &mut buf)
            .unwrap()
            .to_vec()
    } else if short_tag {
        type Gcm12 = aes_gcm::AesGcm<
            aes_gcm::aes::Aes128,
            aes_gcm::aead::consts::U12,
            aes_gcm::aead::consts::U12,
        >;
        let gcm = Gcm12::new_from_slice(cek.bytes()).unwrap();
        gcm.encrypt_in_place_detached(&nonce.into(), &aad, &mut buf)
            .unwrap()
            .to_vec()
    } else {
        let gcm = aes_gcm::Aes128Gcm::new_from_slice(cek.bytes()).unwrap();
        gcm.encrypt_in_place_detached(&nonce.into(), &aad, &mut buf)
            .unwrap()
            .to_vec()
    };
    let params = if cipher == ContentCipher::ChaCha20Poly1305 {
        Any::encode_from(&OctetString::new(nonce.to_vec()).unwrap()).unwrap()
    } else {
        Any::encode_from(&super::types::GcmParameters {
            nonce: OctetString::new(nonce.to_vec()).unwrap(),
            icv_len: if short_tag { None } else { Some(16) },
        })
        .unwrap()
    };
    let ktri = key_trans_recipient(&alice.cert, &cek, RecipientOptions::default(), &mut r).unwrap();
    let aed = AuthEnvelopedData {
        version: CmsVersion::V0,
        originator_info: None,
        recip_infos: vec![ktri].try_into().unwrap(),
        auth_encrypted_content: cms::enveloped_data::EncryptedContentInfo {
            content_type: super::oids::ID_DATA,
            content_enc_alg: spki::AlgorithmIdentifierOwned {
                oid: cipher.oid(),
                parameters: Some(params),
            },
            encrypted_content: Some(OctetString::new(buf).unwrap()),
        },
        auth_attrs: Some(if tamper_attrs {
            make_attrs(b"Authenticated")
        } else {
            attrs
        }),
        mac: OctetString::new(tag).unwrap(),
        unauth_attrs: None,
    };
    ContentInfo {
        content_type: super::oids::ID_AUTH_ENVELOPED_DATA,
        content: Any::encode_from(&aed).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn authenticated_attributes_are_aad() {
    let alice = fixture("alice");
    for (cipher, short_tag) in [
        (ContentCipher::Aes128Gcm, false),
        (ContentCipher::Aes128Gcm, true),
        (ContentCipher::ChaCha20Poly1305, false),
    ] {
        let good = aead_with_auth_attrs(cipher, false, short_tag);
        assert_eq!(open(&good, &[alice.own()], &mut rng(1)).unwrap(), MIME);
        let bad = aead_with_auth_attrs(cipher, true, short_tag);
        let err = open(&bad, &[alice.own()], &mut rng(1)).unwrap_err();
        assert_eq!(err.to_string(), DECRYPTION_FAILED, "{cipher}");
    }
}

/// RFC 8103 §2: the parameters are the nonce, an OCTET STRING of exactly 12
/// bytes; anything else is malformed, not a wrong key.
#[test]
fn chacha20_poly1305_parameters_are_checked() {
    let alice = fixture("alice");
    let good = aead_with_auth_attrs(ContentCipher::ChaCha20Poly1305, false, false);
    // Absent, 11 and 16 bytes, and GCM's parameters in their place.
    let ci = ContentInfo::from_der(&good).unwrap();
    let mut aed = ci.content.decode_as::<AuthEnvelopedData>().unwrap();
    for params in [
        None,
        Some(Any::encode_from(&OctetString::new(vec![9u8; 11]).unwrap()).unwrap()),
        Some(Any::encode_from(&OctetString::new(vec![9u8; 16]).unwrap()).unwrap()),
        Some(
            Any::encode_from(&super::types::GcmParameters {
                nonce: OctetString::new(vec![9u8; 12]).unwrap(),
                icv_len: Some(16),
            })
            .unwrap(),
        ),
    ] {
        aed.auth_encrypted_content.content_enc_alg.parameters = params;
        let der = ContentInfo {
            content_type: ci.content_type,
            content: Any::encode_from(&aed).unwrap(),
        }
        .to_der()
        .unwrap();
        let err = open(&der, &[alice.own()], &mut rng(1)).unwrap_err();
        assert_eq!(err.to_string(), "malformed chacha20-poly1305 parameters");
        assert_eq!(exit_of(&err), Exit::DataErr);
    }
}

#[test]
fn aead_bit_flip_at_every_offset_is_an_error() {
    let alice = fixture("alice");
    for (cipher, seed, transport, rid) in [
        (
            ContentCipher::Aes256Gcm,
            31,
            KeyTransport::RsaOaepSha256,
            RecipientIdKind::IssuerAndSerial,
        ),
        (
            ContentCipher::Aes256Gcm,
            32,
            KeyTransport::RsaPkcs1v15,
            RecipientIdKind::SubjectKeyId,
        ),
        // Every bit of the nonce, ciphertext, tag and structure.
        (
            ContentCipher::ChaCha20Poly1305,
            33,
            KeyTransport::RsaOaepSha256,
            RecipientIdKind::SubjectKeyId,
        ),
    ] {
        let der = seal(
            cipher,
            &["alice"],
            RecipientOptions { transport, rid },
            seed,
        );
        assert_eq!(open(&der, &[alice.own()], &mut rng(1)).unwrap(), MIME);
        // Not `seed`: the PKCS#1 fallback key must not replay the sender's CEK.
        let mut r = rng(seed + 1000);
        for i in 0..der.len() {
            for bit in [1u8 << (i % 8), 0x80 >> (i % 8)] {
                let mut t = der.clone();
                t[i] ^= bit;
                match open(&t, &[alice.own()], &mut r) {
                    Ok(p) => panic!(
                        "{cipher} {transport:?} {rid:?}: flipping bit {bit:#04x} of byte {i} still opened ({} bytes)",
                        p.len()
                    ),
                    Err(e) => {
                        let exit = exit_of(&e);
                        assert!(matches!(exit, Exit::DataErr | Exit::NoUser), "{exit:?}: {e}");
                        assert!(!e.to_string().contains('\n'));
                    }
                }
            }
        }
    }
}

#[test]
fn truncation_is_an_error_not_a_panic() {
    let alice = fixture("alice");
    for cipher in [ContentCipher::Aes128Gcm, ContentCipher::Aes256Cbc] {
        let der = seal(cipher, &["alice", "bob"], RecipientOptions::default(), 41);
        let ber = der_to_ber(&der, 7);
        for input in [&der, &ber] {
            for n in 0..input.len() {
                let result = open(&input[..n], &[alice.own()], &mut rng(2));
                assert!(result.is_err(), "prefix of {n} bytes opened");
            }
        }
    }
}

/// A small deterministic generator, independent of any crate's algorithm.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn random_garbage_is_an_error_not_a_panic() {
    let alice = fixture("alice");
    let mut x = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut r = rng(3);
    // Pure noise, with a plausible first byte half the time.
    for _ in 0..2000 {
        let len = x.below(400);
        let mut v: Vec<u8> = (0..len).map(|_| x.next() as u8).collect();
        if len > 0 && x.next().is_multiple_of(2) {
            v[0] = 0x30;
        }
        assert!(open(&v, &[alice.own()], &mut r).is_err());
        let _ = ber::to_der(&v);
    }
    // Valid envelopes (DER and BER) with a few random bytes replaced, inserted or removed.
    let gcm = seal(
        ContentCipher::Aes128Gcm,
        &["alice"],
        RecipientOptions::default(),
        51,
    );
    let cbc = seal(
        ContentCipher::Aes128Cbc,
        &["alice"],
        RecipientOptions::default(),
        52,
    );
    let bases = [
        gcm.clone(),
        der_to_ber(&gcm, 5),
        cbc.clone(),
        der_to_ber(&cbc, 5),
    ];
    for round in 0..2000 {
        let base = &bases[round % bases.len()];
        let authenticated = round % 4 < 2;
        let mut v = base.clone();
        for _ in 0..1 + x.below(4) {
            let at = x.below(v.len());
            match x.below(3) {
                0 => v[at] = x.next() as u8,
                1 => v.insert(at, x.next() as u8),
                _ => {
                    v.remove(at);
                }
            }
        }
        if let Ok(env) = Envelope::parse(&v) {
            let _ = env.recipients();
            let _ = env.cipher();
            let _ = env.content_algorithm();
            let result = env.open(&[alice.own()], &mut r);
            if authenticated && v != *base {
                // A changed GCM message must not open unless the change
                // vanished in BER normalisation.
                if let Ok(p) = result {
                    assert_eq!(p, MIME);
                    assert_eq!(ber::to_der(&v).unwrap(), ber::to_der(base).unwrap());
                }
            }
        }
    }
}

#[test]
fn ber_envelopes_open_and_normalise_to_the_original_der() {
    let alice = fixture("alice");
    for cipher in ContentCipher::FOR_ENCRYPTION {
        let der = seal(cipher, &["alice", "bob"], RecipientOptions::default(), 61);
        for chunk in [1, 7, 1000] {
            let ber = der_to_ber(&der, chunk);
            assert_ne!(ber, der);
            assert_eq!(ber::to_der(&ber).unwrap(), der, "{cipher} chunk {chunk}");
            assert_eq!(open(&ber, &[alice.own()], &mut rng(1)).unwrap(), MIME);
        }
    }
}

#[test]
fn other_content_types_are_refused() {
    let err =
        Envelope::parse(&hex::decode("300f06092a864886f70d010702a0023000").unwrap()).unwrap_err();
    assert_eq!(exit_of(&err), Exit::DataErr);
    assert!(err.to_string().contains("signed"), "{err}");
    let err = Envelope::parse(b"not cms at all").unwrap_err();
    assert_eq!(exit_of(&err), Exit::DataErr);
}

/// Re-encodes DER as BER the way streaming encoders do: every constructed
/// element gets an indefinite length, and `encryptedContent` becomes a
/// constructed `[0]` of OCTET STRING chunks of `chunk` bytes.
fn der_to_ber(der: &[u8], chunk: usize) -> Vec<u8> {
    fn header(d: &[u8]) -> (u8, usize, usize) {
        let tag = d[0];
        let (len, hl) = if d[1] < 0x80 {
            (d[1] as usize, 2)
        } else {
            let n = (d[1] & 0x7f) as usize;
            (
                d[2..2 + n].iter().fold(0usize, |a, b| a << 8 | *b as usize),
                2 + n,
            )
        };
        (tag, hl, len)
    }
    fn elements(mut d: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        while !d.is_empty() {
            let (_, hl, len) = header(d);
            out.push(&d[..hl + len]);
            d = &d[hl + len..];
        }
        out
    }
    fn put_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
    }
    fn walk(e: &[u8], chunk: usize, out: &mut Vec<u8>) {
        let (tag, hl, len) = header(e);
        let body = &e[hl..hl + len];
        if tag & 0x20 == 0 {
            out.extend_from_slice(e);
            return;
        }
        out.extend_from_slice(&[tag, 0x80]);
        let kids = elements(body);
        let eci = tag == 0x30
            && kids.len() == 3
            && kids[0][0] == 0x06
            && kids[1][0] == 0x30
            && kids[2][0] == 0x80;
        for (i, k) in kids.iter().enumerate() {
            if eci && i == 2 {
                let (_, khl, klen) = header(k);
                out.extend_from_slice(&[0xa0, 0x80]);
                for piece in k[khl..khl + klen].chunks(chunk) {
                    out.push(0x04);
                    put_len(out, piece.len());
                    out.extend_from_slice(piece);
                }
                out.extend_from_slice(&[0, 0]);
            } else {
                walk(k, chunk, out);
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
    let mut out = Vec::new();
    walk(der, chunk, &mut out);
    out
}

/// Streamed framing: definite-length DER identical to `assemble`, BER that
/// `Envelope::parse` and `walk` read, the same content either way.
#[test]
fn streamed_envelopes_match_assembled_ones_and_walk_back() {
    struct Collect(Vec<u8>, usize);
    impl ContentSink for Collect {
        fn begin(&mut self, _: &Envelope) -> anyhow::Result<()> {
            self.1 += 1;
            Ok(())
        }
        fn content(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
            self.0.extend_from_slice(chunk);
            Ok(())
        }
    }
    let bob = fixture("bob");
    for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes128Cbc] {
        for len in [0usize, 1, 200, 70_000] {
            let mut rng = StdRng::seed_from_u64(len as u64);
            let cek = ContentKey::generate(cipher, &mut rng).unwrap();
            let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut enc = cek.encryptor(&mut rng).unwrap();
            let mut ct = Vec::new();
            enc.update(&plain, &mut ct).unwrap();
            let done = enc.finish(&mut ct).unwrap();
            let ri = key_trans_recipient(&bob.cert, &cek, RecipientOptions::default(), &mut rng)
                .unwrap();

            // The one-shot content with the same IV/nonce and ciphertext.
            let one_shot = EncryptedContent {
                cipher,
                info: cms::enveloped_data::EncryptedContentInfo {
                    content_type: super::oids::ID_DATA,
                    content_enc_alg: done.alg.clone(),
                    encrypted_content: Some(OctetString::new(ct.clone()).unwrap()),
                },
                mac: done.mac.map(|m| OctetString::new(m.to_vec()).unwrap()),
            };
            let assembled = assemble(&one_shot, vec![ri.clone()]).unwrap();
            let mut definite =
                envelope_prefix(cipher, &done.alg, vec![ri.clone()], Some(done.len)).unwrap();
            definite.extend_from_slice(&ct);
            definite.extend_from_slice(&envelope_suffix(done.mac.as_ref(), true));
            assert_eq!(definite, assembled, "{cipher} {len}");

            let mut ber = envelope_prefix(cipher, &done.alg, vec![ri], None).unwrap();
            for piece in ct.chunks(1000) {
                ber.extend_from_slice(&content_chunk_header(piece.len()));
                ber.extend_from_slice(piece);
            }
            ber.extend_from_slice(&envelope_suffix(done.mac.as_ref(), false));
            for encoding in [&definite, &ber] {
                assert_eq!(open(encoding, &[bob.own()], &mut rng).unwrap(), plain);
                let mut sink = Collect(Vec::new(), 0);
                let Walked::Envelope { envelope, .. } = walk(&encoding[..], &mut sink).unwrap()
                else {
                    panic!("not an envelope")
                };
                assert_eq!(sink.0, ct);
                assert_eq!(sink.1, 1);
                assert_eq!(envelope.mac(), done.mac.as_ref().map(|m| &m[..]));
                // Every truncation is an error, never a panic.
                for cut in (0..encoding.len()).step_by(97) {
                    let mut sink = Collect(Vec::new(), 0);
                    assert!(walk(&encoding[..cut], &mut sink).is_err(), "cut {cut}");
                }
                // Trailing data is refused.
                let mut longer = encoding.clone();
                longer.push(0);
                assert!(walk(&longer[..], &mut Collect(Vec::new(), 0)).is_err());
            }
        }
    }
}

#[test]
fn oaep_with_a_different_mgf1_hash_is_refused_as_unsupported() {
    // SHA-256 with MGF1-SHA-1 (Java's "OAEPWithSHA-256AndMGF1Padding"):
    // aws-lc offers OAEP only with the same hash for both, and handing the
    // other pairs to the `rsa` crate would let a sender pick its timing
    // channel by the algorithm identifier.
    use super::rsa_unwrap::tests::{openssl_encrypt, private_key};
    let alice = fixture("alice");
    let enc = openssl_encrypt(
        &[7u8; 32],
        &[
            "rsa_padding_mode:oaep",
            "rsa_oaep_md:sha256",
            "rsa_mgf1_md:sha1",
        ],
    );
    use spki::AlgorithmIdentifierOwned;
    let sha256 = AlgorithmIdentifierOwned {
        oid: oids::SHA256,
        parameters: None,
    };
    let sha1 = AlgorithmIdentifierOwned {
        oid: oids::SHA1,
        parameters: None,
    };
    let params = super::types::RsaesOaepParams {
        hash: Some(sha256),
        mask_gen: Some(AlgorithmIdentifierOwned {
            oid: oids::MGF1,
            parameters: Some(Any::encode_from(&sha1).unwrap()),
        }),
        p_source: None,
    };
    let ri = RecipientInfo::Ktri(cms::enveloped_data::KeyTransRecipientInfo {
        version: CmsVersion::V0,
        rid: RecipientIdentifier::IssuerAndSerialNumber(cms::cert::IssuerAndSerialNumber {
            issuer: alice.cert.tbs_certificate.issuer.clone(),
            serial_number: alice.cert.tbs_certificate.serial_number.clone(),
        }),
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: oids::RSAES_OAEP,
            parameters: Some(Any::encode_from(&params).unwrap()),
        },
        enc_key: OctetString::new(enc).unwrap(),
    });
    let key = private_key("alice");
    let err = unwrap_key_bytes(&ri, &alice.cert, &key, 32, &mut rng(1)).unwrap_err();
    assert_eq!(exit_of(&err), Exit::DataErr);
    assert_eq!(
        err.to_string(),
        "unsupported key transport rsaes-oaep sha-256 mgf1-sha-1 (rsaes-oaep is supported \
         with sha-1, sha-256, sha-384 or sha-512 and mgf1 of the same hash)"
    );
}

#[test]
fn pkcs1_padding_failure_in_an_openssl_envelope_fails_like_a_wrong_key() {
    use super::rsa_unwrap::tests::{openssl, pkcs1_block, raw_block};
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("msg");
    std::fs::write(&msg, MIME).unwrap();
    let cert_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/alice.cert.pem");
    // openssl cms uses RSAES-PKCS1-v1_5 key transport by default.
    let der = openssl(&[
        "cms",
        "-encrypt",
        "-binary",
        "-aes-256-cbc",
        "-outform",
        "DER",
        "-in",
        msg.to_str().unwrap(),
        cert_path.to_str().unwrap(),
    ]);
    let (alice, bob) = (fixture("alice"), fixture("bob"));
    assert_eq!(open(&der, &[alice.own()], &mut rng(3)).unwrap(), MIME);

    let len = rsa::traits::PublicKeyParts::size(alice.key.rsa("test").unwrap());
    let bad_padding = raw_block(&pkcs1_block(len, 1, &[0x22; 32]));
    let mut info = ContentInfo::from_der(&der).unwrap();
    let mut env: EnvelopedData = info.content.decode_as().unwrap();
    let mut infos: Vec<RecipientInfo> = env.recip_infos.0.into_vec();
    let RecipientInfo::Ktri(ktri) = &mut infos[0] else {
        panic!("openssl wrote no ktri");
    };
    ktri.enc_key = OctetString::new(bad_padding).unwrap();
    env.recip_infos.0 = infos.try_into().unwrap();
    info.content = Any::encode_from(&env).unwrap();
    let tampered = info.to_der().unwrap();
    let err = open(&tampered, &[alice.own()], &mut rng(3)).unwrap_err();
    assert_eq!(exit_of(&err), Exit::DataErr);
    assert_eq!(err.to_string(), DECRYPTION_FAILED);

    // The same message and class as bob's key on alice's entry.
    let impostor = OwnKey {
        cert: &alice.cert,
        key: &bob.key,
    };
    let err = open(&der, &[impostor], &mut rng(3)).unwrap_err();
    assert_eq!(exit_of(&err), Exit::DataErr);
    assert_eq!(err.to_string(), DECRYPTION_FAILED);
}
