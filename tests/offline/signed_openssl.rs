//! Interoperability of `sealpost::smime::signed` with OpenSSL 3 (`openssl cms`):
//! messages we sign are verified by OpenSSL, and messages OpenSSL signs
//! (opaque DER, streamed BER, detached, PSS, SHA-1, no attributes, key-id
//! signer identifier) are verified by us; tampered ones are refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sealpost::error::{classify, Exit};
use sealpost::smime::certs::{parse_bundle, CertInfo};
use sealpost::smime::signed::{
    sign, verify, verify_detached, DigestAlgorithm, SignatureAlgorithm, SignatureScheme, Verified,
};

/// A MIME entity with CRLF, a bare LF, 8-bit bytes and a NUL: must survive byte for byte.
const MIME: &[u8] = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\xfe\xff caf\xc3\xa9\nline\r\n";

const T: i64 = 1_750_000_000;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn cert(who: &str) -> CertInfo {
    parse_bundle(&std::fs::read(data(&format!("{who}.cert.pem"))).unwrap())
        .unwrap()
        .remove(0)
}

fn key(who: &str) -> sealpost::smime::privkey::PrivateKey {
    let pem = std::fs::read_to_string(data(&format!("{who}.key.pem"))).unwrap();
    sealpost::smime::privkey::open(&pem, None, "x").unwrap()
}

fn run_openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl binary is needed for this test")
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = run_openssl(args);
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn data_str(name: &str) -> String {
    data(name).to_str().unwrap().to_string()
}

#[test]
fn openssl_verifies_what_we_sign() {
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("signed.der");
    let out = dir.path().join("out.bin");
    let alice_cert = data_str("alice.cert.pem");
    let alice = cert("alice");
    let alice_key = key("alice");
    for scheme in [SignatureScheme::Pkcs1v15Sha256, SignatureScheme::PssSha256] {
        let der = sign(
            MIME,
            &alice_key,
            &alice,
            &[],
            scheme,
            T,
            &mut rand_core::OsRng,
        )
        .unwrap();
        std::fs::write(&msg, &der).unwrap();

        // Signature only (-noverify skips the certificate chain).
        let _ = std::fs::remove_file(&out);
        openssl(&[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-binary",
            "-noverify",
            "-in",
            path_str(&msg),
            "-out",
            path_str(&out),
        ]);
        assert_eq!(std::fs::read(&out).unwrap(), MIME, "{scheme:?} -noverify");

        // Full verification with Alice's self-signed certificate as the CA.
        let _ = std::fs::remove_file(&out);
        openssl(&[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-binary",
            "-CAfile",
            &alice_cert,
            "-purpose",
            "any",
            "-in",
            path_str(&msg),
            "-out",
            path_str(&out),
        ]);
        assert_eq!(std::fs::read(&out).unwrap(), MIME, "{scheme:?} -CAfile");

        // OpenSSL sees the attributes we meant to send.
        let printed = String::from_utf8(openssl(&[
            "cms",
            "-cmsout",
            "-print",
            "-inform",
            "DER",
            "-in",
            path_str(&msg),
        ]))
        .unwrap();
        for needle in [
            "contentType",
            "messageDigest",
            "signingTime",
            "S/MIME Capabilities",
        ] {
            assert!(printed.contains(needle), "{needle} missing:\n{printed}");
        }
        if scheme == SignatureScheme::PssSha256 {
            assert!(printed.contains("rsassaPss"), "{printed}");
        }

        // And refuses it once tampered with: flip a byte of the content.
        let pos = der
            .windows(MIME.len())
            .position(|w| w == MIME)
            .expect("content is encapsulated");
        let mut bad = der.clone();
        bad[pos + 10] ^= 0x20;
        std::fs::write(&msg, &bad).unwrap();
        let result = run_openssl(&[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-binary",
            "-noverify",
            "-in",
            path_str(&msg),
            "-out",
            path_str(&out),
        ]);
        assert!(
            !result.status.success(),
            "OpenSSL accepted tampered content"
        );
    }
}

/// Signs MIME with `openssl cms -sign` as Alice with `extra` options.
fn openssl_sign(dir: &Path, extra: &[&str]) -> Vec<u8> {
    let input = dir.join("in.bin");
    let output = dir.join("signed.der");
    std::fs::write(&input, MIME).unwrap();
    let _ = std::fs::remove_file(&output);
    let signer = data_str("alice.cert.pem");
    let inkey = data_str("alice.key.pem");
    let mut args = vec![
        "cms",
        "-sign",
        "-binary",
        "-outform",
        "DER",
        "-signer",
        &signer,
        "-inkey",
        &inkey,
        "-in",
        path_str(&input),
        "-out",
        path_str(&output),
    ];
    args.extend_from_slice(extra);
    openssl(&args);
    std::fs::read(&output).unwrap()
}

fn assert_alice(v: &Verified, padding: SignatureAlgorithm, digest: DigestAlgorithm) {
    assert_eq!(v.content, MIME);
    assert_eq!(v.signer.fingerprint, cert("alice").fingerprint);
    assert_eq!(v.algorithm, padding);
    assert_eq!(v.digest, digest);
}

#[test]
fn we_verify_what_openssl_signs() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], SignatureAlgorithm, DigestAlgorithm)] = &[
        (
            &["-nodetach"],
            SignatureAlgorithm::RsaPkcs1v15,
            DigestAlgorithm::Sha256,
        ),
        (
            &["-nodetach", "-keyopt", "rsa_padding_mode:pss"],
            SignatureAlgorithm::RsaPss,
            DigestAlgorithm::Sha256,
        ),
        (
            &[
                "-nodetach",
                "-keyopt",
                "rsa_padding_mode:pss",
                "-keyopt",
                "rsa_pss_saltlen:32",
            ],
            SignatureAlgorithm::RsaPss,
            DigestAlgorithm::Sha256,
        ),
        (
            &["-nodetach", "-md", "sha256"],
            SignatureAlgorithm::RsaPkcs1v15,
            DigestAlgorithm::Sha256,
        ),
        (
            &["-nodetach", "-md", "sha1"],
            SignatureAlgorithm::RsaPkcs1v15,
            DigestAlgorithm::Sha1,
        ),
        (
            &["-nodetach", "-md", "sha384"],
            SignatureAlgorithm::RsaPkcs1v15,
            DigestAlgorithm::Sha384,
        ),
        (
            &[
                "-nodetach",
                "-md",
                "sha512",
                "-keyopt",
                "rsa_padding_mode:pss",
            ],
            SignatureAlgorithm::RsaPss,
            DigestAlgorithm::Sha512,
        ),
        // Streamed: BER with indefinite lengths and a chunked OCTET STRING.
        (
            &["-nodetach", "-stream"],
            SignatureAlgorithm::RsaPkcs1v15,
            DigestAlgorithm::Sha256,
        ),
        // No signed attributes: the signature is over the content itself.
        (
            &["-nodetach", "-noattr"],
            SignatureAlgorithm::RsaPkcs1v15,
            DigestAlgorithm::Sha256,
        ),
        // subjectKeyIdentifier instead of issuerAndSerialNumber.
        (
            &["-nodetach", "-keyid"],
            SignatureAlgorithm::RsaPkcs1v15,
            DigestAlgorithm::Sha256,
        ),
    ];
    for (extra, padding, digest) in cases {
        let der = openssl_sign(dir.path(), extra);
        let v = verify(&der).unwrap_or_else(|e| panic!("{extra:?}: {e:#}"));
        assert_alice(&v, *padding, *digest);
        assert!(!v.detached);
        if extra.contains(&"-noattr") {
            assert_eq!(v.signing_time, None);
            assert!(v.capabilities.is_none());
        } else {
            assert!(v.signing_time.is_some(), "{extra:?}");
            // OpenSSL advertises AES-CBC but neither GCM nor OAEP.
            let caps = v
                .capabilities
                .as_ref()
                .expect("OpenSSL sends smimeCapabilities");
            assert!(
                caps.aes256_cbc && !caps.aes_gcm() && !caps.rsa_oaep,
                "{caps:?}"
            );
        }
        assert!(!v.report().is_empty());
    }
}

#[test]
fn openssl_certfile_certificates_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let bob = data_str("bob.cert.pem");
    let der = openssl_sign(dir.path(), &["-nodetach", "-certfile", &bob]);
    let v = verify(&der).unwrap();
    assert_alice(&v, SignatureAlgorithm::RsaPkcs1v15, DigestAlgorithm::Sha256);
    let mut carried: Vec<_> = v
        .certificates
        .iter()
        .map(|c| c.fingerprint.clone())
        .collect();
    carried.sort();
    let mut expected = vec![cert("alice").fingerprint, cert("bob").fingerprint];
    expected.sort();
    assert_eq!(carried, expected);
}

#[test]
fn we_verify_openssl_detached_signatures() {
    let dir = tempfile::tempdir().unwrap();
    // (`-stream` is no use here: with `-outform DER` OpenSSL then encapsulates
    // the content even without -nodetach.)
    for extra in [
        &[][..],
        &["-keyopt", "rsa_padding_mode:pss"][..],
        &["-md", "sha1"][..],
    ] {
        let der = openssl_sign(dir.path(), extra);
        let v = verify_detached(&der, MIME).unwrap_or_else(|e| panic!("{extra:?}: {e:#}"));
        assert!(v.detached);
        assert_eq!(v.content, MIME);
        assert_eq!(v.signer.fingerprint, cert("alice").fingerprint);

        // The wrong content, or the content missing, is refused.
        let mut other = MIME.to_vec();
        other[0] = b'c';
        let err = verify_detached(&der, &other).unwrap_err();
        assert_eq!(classify(&err).0, Exit::DataErr);
        assert!(format!("{err:#}").contains("bad signature"), "{err:#}");
        assert_eq!(classify(&verify(&der).unwrap_err()).0, Exit::DataErr);
    }
}

#[test]
fn tampered_openssl_messages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [&["-nodetach"][..], &["-nodetach", "-noattr"][..]] {
        let der = openssl_sign(dir.path(), extra);
        assert!(verify(&der).is_ok());
        let pos = der
            .windows(MIME.len())
            .position(|w| w == MIME)
            .expect("content is encapsulated");
        let mut bad = der.clone();
        bad[pos + 20] ^= 0x01;
        let err = verify(&bad).unwrap_err();
        assert_eq!(classify(&err).0, Exit::DataErr);
        assert!(
            format!("{err:#}").contains("bad signature"),
            "{extra:?}: {err:#}"
        );

        // The last bytes are the signature value.
        let mut bad = der.clone();
        let n = bad.len();
        bad[n - 1] ^= 0x01;
        let err = verify(&bad).unwrap_err();
        assert!(
            format!("{err:#}").contains("bad signature"),
            "{extra:?}: {err:#}"
        );
    }
}
