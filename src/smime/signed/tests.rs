use super::sign::{attribute, digest_ai, encode_signing_time};
use super::verify::parse;
use super::*;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{CertificateSet, SignedData, SignerIdentifier, SignerInfo, SignerInfos};
use const_oid::db::rfc5911::{
    ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
use const_oid::db::rfc5912::{ID_MGF_1, ID_RSASSA_PSS, ID_SHA_256};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

use crate::error::{classify, Exit};
use crate::smime::certs::{CertInfo, UnixTime};
use crate::smime::identity::{
    generate, own_capabilities, KeyAlgorithm, NewIdentity, ID_AES256_CBC, ID_SMIME_CAPABILITIES,
};
use crate::smime::privkey::Curve;

const T: UnixTime = 1_750_000_000;
const CONTENT: &[u8] = b"Content-Type: text/plain\r\n\r\nHello, Bob.\r\n";

/// A test key and certificate from tests/data.
pub(crate) fn fixture(name: &str) -> (crate::smime::privkey::PrivateKey, CertInfo) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
    let key_pem = std::fs::read_to_string(format!("{dir}{name}.key.pem")).unwrap();
    let key = crate::smime::privkey::open(&key_pem, None, "x").unwrap();
    let certs = std::fs::read(format!("{dir}{name}.cert.pem")).unwrap();
    let cert = crate::smime::certs::parse_bundle(&certs).unwrap().remove(0);
    (key, cert)
}

/// A new key of `algorithm` for alice@example.org with its self-signed
/// certificate (for Ed25519, the signing one).
pub(crate) fn generated(algorithm: KeyAlgorithm) -> (crate::smime::privkey::PrivateKey, CertInfo) {
    let spec = NewIdentity {
        email: "alice@example.org",
        name: None,
        algorithm,
        days: 30,
    };
    generate(&spec, T - 86_400, &mut rand_core::OsRng)
        .unwrap()
        .remove(0)
}

fn sign_as(name: &str, scheme: SignatureScheme, chain: &[CertInfo]) -> (Vec<u8>, CertInfo) {
    let (key, cert) = fixture(name);
    let der = sign(
        CONTENT,
        &key,
        &cert,
        chain,
        scheme,
        T,
        &mut rand_core::OsRng,
    )
    .unwrap();
    (der, cert)
}

fn signed_data(der: &[u8]) -> SignedData {
    let info = ContentInfo::from_der(der).unwrap();
    info.content.decode_as::<SignedData>().unwrap()
}

/// Decodes the message, lets `f` change it, re-encodes it.
fn mutate(der: &[u8], f: impl FnOnce(&mut SignedData)) -> Vec<u8> {
    let mut sd = signed_data(der);
    f(&mut sd);
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// Replaces the first SignerInfo through `f`.
fn mutate_signer(der: &[u8], f: impl FnOnce(&mut SignerInfo)) -> Vec<u8> {
    mutate(der, |sd| {
        let mut infos: Vec<SignerInfo> = sd.signer_infos.0.iter().cloned().collect();
        f(&mut infos[0]);
        sd.signer_infos = SignerInfos::try_from(infos).unwrap();
    })
}

/// The message with its signingTime attribute changed to `t` (the
/// signature left as it was).
fn with_signing_time(der: &[u8], t: UnixTime) -> Vec<u8> {
    mutate_signer(der, |si| {
        let attrs: Vec<Attribute> = si
            .signed_attrs
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| match a.oid {
                ID_SIGNING_TIME => {
                    attribute(ID_SIGNING_TIME, encode_signing_time(t).unwrap()).unwrap()
                }
                _ => a.clone(),
            })
            .collect();
        si.signed_attrs = Some(SetOfVec::try_from(attrs).unwrap());
    })
}

fn assert_data_err(result: anyhow::Result<Verified>, needle: &str) {
    let err = result.expect_err("verification should fail");
    assert_eq!(classify(&err).0, Exit::DataErr, "{err:#}");
    let text = format!("{err:#}");
    assert!(text.contains(needle), "expected {needle:?} in {text:?}");
}

#[test]
fn round_trip_both_schemes() {
    for (scheme, algorithm) in [
        (
            SignatureScheme::Pkcs1v15Sha256,
            SignatureAlgorithm::RsaPkcs1v15,
        ),
        (SignatureScheme::PssSha256, SignatureAlgorithm::RsaPss),
    ] {
        let (der, alice) = sign_as("alice", scheme, &[]);
        let v = verify(&der).unwrap();
        assert_eq!(v.content, CONTENT);
        assert!(!v.detached);
        assert_eq!(v.signer.fingerprint, alice.fingerprint);
        assert_eq!(v.signing_time, Some(T));
        assert_eq!(v.algorithm, algorithm);
        assert_eq!(v.digest, DigestAlgorithm::Sha256);
        assert_eq!(v.certificates.len(), 1);
        let report = v.report();
        assert!(report.contains(&alice.emails[0]), "{report}");
        assert!(report.contains(&alice.fingerprint[..16]), "{report}");
        assert!(report.contains("2025-06-15"), "{report}");
        assert!(!report.contains("trust"), "{report}");
        assert!(report.contains("not verified"), "{report}");
    }
}

#[test]
fn pss_parameters_are_rfc4056() {
    let (der, _) = sign_as("alice", SignatureScheme::PssSha256, &[]);
    let sd = signed_data(&der);
    let si = sd.signer_infos.0.get(0).unwrap();
    assert_eq!(si.signature_algorithm.oid, ID_RSASSA_PSS);
    let params: PssParams = si
        .signature_algorithm
        .parameters
        .as_ref()
        .unwrap()
        .decode_as()
        .unwrap();
    assert_eq!(params.hash.unwrap().oid, ID_SHA_256);
    let mgf = params.mask_gen.unwrap();
    assert_eq!(mgf.oid, ID_MGF_1);
    let mgf_hash: AlgorithmIdentifierOwned = mgf.parameters.unwrap().decode_as().unwrap();
    assert_eq!(mgf_hash.oid, ID_SHA_256);
    assert_eq!(params.salt_len, Some(32));
    assert_eq!(params.trailer_field, None);
    assert_eq!(si.digest_alg, digest_ai(DigestAlgorithm::Sha256));
}

#[test]
fn signed_attributes_are_der_sorted_and_complete() {
    let (der, _) = sign_as("alice", SignatureScheme::Pkcs1v15Sha256, &[]);
    let sd = signed_data(&der);
    let si = sd.signer_infos.0.get(0).unwrap();
    let attrs = si.signed_attrs.as_ref().unwrap();
    let encoded: Vec<Vec<u8>> = attrs.iter().map(|a| a.to_der().unwrap()).collect();
    let mut sorted = encoded.clone();
    sorted.sort();
    assert_eq!(encoded, sorted);
    // The raw bytes in the message are in that order too.
    let raw = parse(&der).unwrap().signers.remove(0).signed_attrs.unwrap();
    assert_eq!(raw, attrs.to_der().unwrap());
    let oids: Vec<_> = attrs.iter().map(|a| a.oid).collect();
    for oid in [
        ID_CONTENT_TYPE,
        ID_MESSAGE_DIGEST,
        ID_SIGNING_TIME,
        ID_SMIME_CAPABILITIES,
    ] {
        assert!(oids.contains(&oid), "missing {oid}");
    }
    assert_eq!(oids.len(), 4);
    assert!(matches!(si.sid, SignerIdentifier::IssuerAndSerialNumber(_)));
    assert_eq!(sd.encap_content_info.econtent_type, ID_DATA);
}

#[test]
fn tampered_content_is_refused() {
    let (der, _) = sign_as("alice", SignatureScheme::Pkcs1v15Sha256, &[]);
    let bad = mutate(&der, |sd| {
        sd.encap_content_info.econtent =
            Some(Any::new(Tag::OctetString, b"Hello, Eve.".to_vec()).unwrap());
    });
    assert_data_err(verify(&bad), "bad signature");
    assert_eq!(unverified_content(&bad).unwrap(), b"Hello, Eve.");
    assert_eq!(unverified_content(&der).unwrap(), CONTENT);
    assert!(unverified_content(&der[..der.len() - 1]).is_err());
}

#[test]
fn tampered_signed_attribute_is_refused() {
    for scheme in [SignatureScheme::Pkcs1v15Sha256, SignatureScheme::PssSha256] {
        let (der, _) = sign_as("alice", scheme, &[]);
        let bad = with_signing_time(&der, T + 3600);
        assert_ne!(bad, der);
        assert_data_err(verify(&bad), "bad signature");
    }
}

#[test]
fn wrong_content_type_attribute_is_refused() {
    let (der, _) = sign_as("alice", SignatureScheme::Pkcs1v15Sha256, &[]);
    let bad = mutate(&der, |sd| {
        sd.encap_content_info.econtent_type = ID_SIGNED_DATA;
    });
    assert_data_err(verify(&bad), "contentType");
}

#[test]
fn tampered_signature_is_refused() {
    for scheme in [SignatureScheme::Pkcs1v15Sha256, SignatureScheme::PssSha256] {
        let (der, _) = sign_as("alice", scheme, &[]);
        let bad = mutate_signer(&der, |si| {
            let mut sig = si.signature.as_bytes().to_vec();
            sig[100] ^= 0x01;
            si.signature = OctetString::new(sig).unwrap();
        });
        assert_data_err(verify(&bad), "bad signature");
    }
}

#[test]
fn signature_with_someone_elses_certificate_is_refused() {
    let (der, _) = sign_as("alice", SignatureScheme::Pkcs1v15Sha256, &[]);
    let (_, bob) = fixture("bob");
    let bad = mutate(&der, |sd| {
        sd.certificates = Some(
            CertificateSet::try_from(vec![CertificateChoices::Certificate(bob.cert.clone())])
                .unwrap(),
        );
        let mut infos: Vec<SignerInfo> = sd.signer_infos.0.iter().cloned().collect();
        infos[0].sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: bob.cert.tbs_certificate.issuer.clone(),
            serial_number: bob.cert.tbs_certificate.serial_number.clone(),
        });
        sd.signer_infos = SignerInfos::try_from(infos).unwrap();
    });
    assert_data_err(verify(&bad), "bad signature");

    // Alice's certificate removed, Bob's carried but the sid still Alice's:
    // the signer is missing, not silently Bob.
    let missing = mutate(&der, |sd| {
        sd.certificates = Some(
            CertificateSet::try_from(vec![CertificateChoices::Certificate(bob.cert.clone())])
                .unwrap(),
        );
    });
    assert_data_err(verify(&missing), "not included");
    // ... unless the caller knows Alice's certificate.
    let (_, alice) = fixture("alice");
    let v = verify_with_certs(&missing, None, &[bob.clone(), alice.clone()]).unwrap();
    assert_eq!(v.signer.fingerprint, alice.fingerprint);
}

#[test]
fn signing_with_a_key_that_does_not_match_the_certificate_is_refused() {
    let (alice_key, _) = fixture("alice");
    let (_, bob) = fixture("bob");
    let err = sign(
        CONTENT,
        &alice_key,
        &bob,
        &[],
        SignatureScheme::Pkcs1v15Sha256,
        T,
        &mut rand_core::OsRng,
    )
    .unwrap_err();
    assert_eq!(classify(&err).0, Exit::NoUser);
}

#[test]
fn certificates_carried_are_exactly_signer_and_chain() {
    let (_, alice) = fixture("alice");
    let (_, carol) = fixture("carol");
    let (_, dave) = fixture("dave");
    let (der, _) = sign_as(
        "alice",
        SignatureScheme::Pkcs1v15Sha256,
        &[carol.clone(), dave.clone(), alice.clone()],
    );
    let sd = signed_data(&der);
    let mut carried: Vec<Vec<u8>> = sd
        .certificates
        .unwrap()
        .0
        .iter()
        .map(|c| match c {
            CertificateChoices::Certificate(c) => c.to_der().unwrap(),
            _ => panic!("unexpected certificate choice"),
        })
        .collect();
    carried.sort();
    let mut expected = vec![alice.der.clone(), carol.der.clone(), dave.der.clone()];
    expected.sort();
    assert_eq!(carried, expected);

    let v = verify(&der).unwrap();
    assert_eq!(v.certificates.len(), 3);
    assert_eq!(v.signer.fingerprint, alice.fingerprint);

    let (der, _) = sign_as("alice", SignatureScheme::Pkcs1v15Sha256, &[]);
    let sd = signed_data(&der);
    assert_eq!(sd.certificates.unwrap().0.len(), 1);
}

#[test]
fn detached_verification() {
    let (der, alice) = sign_as("alice", SignatureScheme::PssSha256, &[]);
    let detached = mutate(&der, |sd| sd.encap_content_info.econtent = None);
    let v = verify_detached(&detached, CONTENT).unwrap();
    assert!(v.detached);
    assert_eq!(v.content, CONTENT);
    assert_eq!(v.signer.fingerprint, alice.fingerprint);
    assert_data_err(
        verify_detached(&detached, b"other content"),
        "bad signature",
    );
    assert_data_err(verify(&detached), "not included");
    assert_data_err(verify_detached(&der, CONTENT), "encapsulates");
}

#[test]
fn capabilities_round_trip() {
    let caps = Capabilities::from_algorithms(&own_capabilities());
    assert!(caps.aes256_gcm && caps.aes128_gcm && caps.aes256_cbc && caps.aes128_cbc);
    assert!(caps.rsa_oaep && caps.aes_gcm());

    let (der, _) = sign_as("alice", SignatureScheme::Pkcs1v15Sha256, &[]);
    let v = verify(&der).unwrap();
    let got = v.capabilities.unwrap();
    assert_eq!(got, caps);
    let expected: Vec<_> = own_capabilities().iter().map(|a| a.oid).collect();
    assert_eq!(got.algorithms, expected, "order of preference kept");

    let cbc_only = Capabilities::from_algorithms(&[AlgorithmIdentifierOwned {
        oid: ID_AES256_CBC,
        parameters: None,
    }]);
    assert!(!cbc_only.aes_gcm() && !cbc_only.rsa_oaep && cbc_only.aes256_cbc);
}

#[test]
fn garbage_and_truncations_are_errors_not_panics() {
    assert!(verify(b"").is_err());
    assert!(verify(b"hello world").is_err());
    assert!(verify(&[0x30, 0x80]).is_err());
    assert!(verify(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    let mut seed = 0x1234_5678_u32;
    for len in [1usize, 2, 10, 100, 1000, 5000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        assert!(verify(&bytes).is_err());
        assert!(verify_detached(&bytes, CONTENT).is_err());
    }

    let (der, _) = sign_as("alice", SignatureScheme::PssSha256, &[]);
    for cut in 0..der.len() {
        let r = verify(&der[..cut]);
        assert!(r.is_err(), "truncation at {cut} accepted");
        assert_eq!(classify(&r.unwrap_err()).0, Exit::DataErr);
    }
    let mut longer = der.clone();
    longer.push(0);
    assert!(verify(&longer).is_err());

    // Every single-byte corruption: must not panic, and must fail unless it
    // lands in bytes nothing relies on: the carried certificate (trust is
    // out of scope, so its own signature and most fields go unchecked) and
    // the informational digestAlgorithms list.
    let (_, alice) = fixture("alice");
    let cert_at = der
        .windows(alice.der.len())
        .position(|w| w == alice.der.as_slice())
        .unwrap();
    let cert_range = cert_at..cert_at + alice.der.len();
    let digest_algs = SetOfVec::try_from(vec![digest_ai(DigestAlgorithm::Sha256)])
        .unwrap()
        .to_der()
        .unwrap();
    let algs_at = der
        .windows(digest_algs.len())
        .position(|w| w == digest_algs.as_slice())
        .unwrap();
    let algs_range = algs_at + 2..algs_at + digest_algs.len();
    for i in 0..der.len() {
        let mut bad = der.clone();
        bad[i] ^= 0x5a;
        if let Ok(v) = verify(&bad) {
            assert_eq!(v.content, CONTENT);
            assert!(
                cert_range.contains(&i) || algs_range.contains(&i),
                "corruption at {i} (of {}) accepted",
                der.len()
            );
        }
    }
}

#[test]
fn signing_time_encoding() {
    let utc = encode_signing_time(T).unwrap();
    assert_eq!(utc.tag(), Tag::UtcTime);
    let later = encode_signing_time(2_600_000_000).unwrap(); // 2052
    assert_eq!(later.tag(), Tag::GeneralizedTime);
    assert!(encode_signing_time(-1).is_err());
}

#[test]
fn short_signatures_are_padded_and_reports_escape_control_characters() {
    // A signature whose leading zero octets were dropped still verifies.
    let (key, alice) = fixture("alice");
    let mut n = 0u16;
    let der = loop {
        // Find a PKCS#1 v1.5 signature starting with a zero octet (1 in 256).
        let content = [CONTENT, &n.to_be_bytes()].concat();
        let der = sign(
            &content,
            &key,
            &alice,
            &[],
            SignatureScheme::Pkcs1v15Sha256,
            T,
            &mut rand_core::OsRng,
        )
        .unwrap();
        let sd = signed_data(&der);
        if sd.signer_infos.0.get(0).unwrap().signature.as_bytes()[0] == 0 {
            break der;
        }
        n = n
            .checked_add(1)
            .expect("no signature with a leading zero in 256 tries");
    };
    let short = mutate_signer(&der, |si| {
        let sig = si.signature.as_bytes()[1..].to_vec();
        si.signature = OctetString::new(sig).unwrap();
    });
    assert!(verify(&short).is_ok());

    let report = SignerReport {
        who: "mallory\u{1b}[2J@example.org".into(),
        fingerprint: "0123456789abcdef".into(),
        algorithm: "RSA/SHA-1".into(),
        signing_time: None,
        weak_digest: true,
    }
    .to_string();
    assert!(!report.chars().any(|c| c.is_control()), "{report:?}");
    assert!(report.contains("weak"), "{report}");
}

/// The non-RSA keys sealpost signs with, what each must write and how a
/// report names it.
fn ec_cases() -> Vec<(
    KeyAlgorithm,
    ObjectIdentifier,
    DigestAlgorithm,
    SignatureAlgorithm,
    &'static str,
)> {
    use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384};
    vec![
        (
            KeyAlgorithm::Ec(Curve::P256),
            ECDSA_WITH_SHA_256,
            DigestAlgorithm::Sha256,
            SignatureAlgorithm::Ecdsa(Curve::P256),
            "ECDSA P-256/SHA-256)",
        ),
        (
            KeyAlgorithm::Ec(Curve::P384),
            ECDSA_WITH_SHA_384,
            DigestAlgorithm::Sha384,
            SignatureAlgorithm::Ecdsa(Curve::P384),
            "ECDSA P-384/SHA-384)",
        ),
        (
            KeyAlgorithm::Ed25519,
            crate::smime::privkey::key::ID_ED25519,
            DigestAlgorithm::Sha512,
            SignatureAlgorithm::Ed25519,
            "Ed25519)",
        ),
    ]
}

fn sign_with(key: &crate::smime::privkey::PrivateKey, cert: &CertInfo) -> Vec<u8> {
    let scheme = SignatureScheme::for_key(key.kind(), false).unwrap();
    sign(CONTENT, key, cert, &[], scheme, T, &mut rand_core::OsRng).unwrap()
}

#[test]
fn ecdsa_and_ed25519_round_trip_with_matching_digest_and_algorithm() {
    for (alg, sig_oid, digest, algorithm, text) in ec_cases() {
        let (key, cert) = generated(alg);
        let der = sign_with(&key, &cert);
        let sd = signed_data(&der);
        let si = sd.signer_infos.0.get(0).unwrap();
        // RFC 5758 §3.2, RFC 8419 §2.3: absent parameters.
        assert_eq!(si.signature_algorithm.oid, sig_oid, "{alg:?}");
        assert_eq!(si.signature_algorithm.parameters, None, "{alg:?}");
        assert_eq!(si.digest_alg, digest_ai(digest), "{alg:?}");
        assert_eq!(sd.digest_algorithms.as_slice(), &[digest_ai(digest)]);
        let v = verify(&der).unwrap();
        assert_eq!(v.content, CONTENT);
        assert_eq!((v.algorithm, v.digest), (algorithm, digest), "{alg:?}");
        assert_eq!(v.signer.fingerprint, cert.fingerprint);
        let report = v.report();
        assert!(report.contains(&format!(", {text} made")), "{report}");
    }
}

#[test]
fn ecdsa_and_ed25519_tampering_is_refused() {
    for (alg, ..) in ec_cases() {
        let (key, cert) = generated(alg);
        let der = sign_with(&key, &cert);
        let content = mutate(&der, |sd| {
            sd.encap_content_info.econtent =
                Some(Any::new(Tag::OctetString, b"Hello, Eve.".to_vec()).unwrap());
        });
        assert_data_err(verify(&content), "bad signature");
        let signature = mutate_signer(&der, |si| {
            let mut sig = si.signature.as_bytes().to_vec();
            let last = sig.len() - 1;
            sig[last] ^= 0x01;
            si.signature = OctetString::new(sig).unwrap();
        });
        assert_data_err(verify(&signature), "bad signature");
        let time = with_signing_time(&der, T + 1);
        assert_data_err(verify(&time), "bad signature");
        // The same signature named as made by another key of the same kind.
        let (_, other) = generated(alg);
        let swapped = mutate(&der, |sd| {
            sd.certificates = Some(
                CertificateSet::try_from(vec![CertificateChoices::Certificate(other.cert.clone())])
                    .unwrap(),
            );
        });
        let swapped = mutate_signer(&swapped, |si| {
            si.sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: other.cert.tbs_certificate.issuer.clone(),
                serial_number: other.cert.tbs_certificate.serial_number.clone(),
            });
        });
        assert_data_err(verify(&swapped), "bad signature");
    }
}

#[test]
fn ecdsa_signature_algorithm_and_digest_must_agree() {
    use const_oid::db::rfc5912::{ECDSA_WITH_SHA_384, ID_EC_PUBLIC_KEY};
    let (key, cert) = generated(KeyAlgorithm::Ec(Curve::P256));
    let der = sign_with(&key, &cert);
    // Some clients write id-ecPublicKey: the digest algorithm names the hash.
    let ec_public_key = mutate_signer(&der, |si| {
        si.signature_algorithm = AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: None,
        };
    });
    let v = verify(&ec_public_key).unwrap();
    assert_eq!(v.algorithm, SignatureAlgorithm::Ecdsa(Curve::P256));
    let mismatch = mutate_signer(&der, |si| {
        si.signature_algorithm.oid = ECDSA_WITH_SHA_384;
    });
    assert_data_err(verify(&mismatch), "differs from the digest algorithm");
    // An RSA algorithm with an EC key.
    let rsa = mutate_signer(&der, |si| {
        si.signature_algorithm = AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        };
    });
    assert_data_err(verify(&rsa), "unsupported signature algorithm");
}

#[test]
fn pss_is_a_usage_error_for_keys_other_than_rsa() {
    use crate::smime::privkey::KeyKind;
    for kind in [
        KeyKind::Ec(Curve::P256),
        KeyKind::Ec(Curve::P384),
        KeyKind::Ed25519,
    ] {
        let err = SignatureScheme::for_key(kind, true).unwrap_err();
        assert_eq!(classify(&err).0, Exit::Usage, "{err:#}");
        assert!(err.to_string().contains("--pss"), "{err}");
    }
    assert_eq!(
        SignatureScheme::for_key(KeyKind::Rsa, true).unwrap(),
        SignatureScheme::PssSha256
    );
    let err = SignatureScheme::for_key(KeyKind::X25519, false).unwrap_err();
    assert_eq!(classify(&err).0, Exit::NoUser, "{err:#}");
}

#[test]
fn a_digest_of_the_wrong_length_is_an_internal_error() {
    let (key, cert) = generated(KeyAlgorithm::Ec(Curve::P384));
    let signer = Signer {
        key: &key,
        cert: &cert,
        chain: &[],
        scheme: SignatureScheme::Ecdsa(Curve::P384),
        signing_time: T,
    };
    let sha256 = DigestAlgorithm::Sha256.hash(CONTENT);
    let err = sign_digest(&sha256, None, &signer, &mut rand_core::OsRng).unwrap_err();
    assert_eq!(classify(&err).0, Exit::Software, "{err:#}");
    let wrong_scheme = Signer {
        scheme: SignatureScheme::Ecdsa(Curve::P256),
        ..signer
    };
    assert!(sign_digest(&sha256, None, &wrong_scheme, &mut rand_core::OsRng).is_err());
}
