//! NIST PKITS (public domain): the signed S/MIME message of every path test,
//! with the certificates and CRLs it carries, judged against the PKITS trust
//! anchor with the default settings (initial-policy-set anyPolicy, no
//! explicit policy required, policy mapping allowed, revocation required for
//! every certificate, as `openssl cms -verify -crl_check_all` does).
//!
//! The messages are in tests/data/pkits/smime.bundle.gz (see make-bundle.sh
//! there). The test prints every test whose verdict differs from PKITS and
//! fails when fewer pass than [`PASSING`]: raise it when the count goes up.

use std::io::Read;

use sealpost::smime::certs::{parse_bundle, CertInfo};
use sealpost::smime::decrypt::{self, KeySource};
use sealpost::smime::trust::{self, Anchor, AnchorSource, PathInputs, Revocation, Status};

/// How many of the sections 4.1–4.14 tests give PKITS's answer today.
const PASSING: usize = 209;
/// And of sections 4.15 (delta CRLs) and 4.16 (private extensions).
const PASSING_BEYOND: usize = 12;

/// 2020-01-01: inside every PKITS certificate's and CRL's validity that the
/// tests mean to be valid (2010–2030).
const TIME: i64 = 1_577_836_800;

/// PKITS tests without Valid/Invalid in their name whose default-settings
/// answer is "invalid" (PKITS §4.4.1, §4.8).
const INVALID_UNPREFIXED: &[&str] = &[
    "MissingCRLTest1",
    "DifferentPoliciesTest4",
    "DifferentPoliciesTest5",
    "DifferentPoliciesTest7",
    "DifferentPoliciesTest8",
    "DifferentPoliciesTest9",
    "DifferentPoliciesTest12",
];

/// Sections 4.15 (delta CRLs) and 4.16 (private extensions): counted apart.
fn beyond_4_14(name: &str) -> bool {
    name.contains("deltaCRL") || name.contains("CertificateExtensionTest")
}

struct NoKeys;

impl KeySource for NoKeys {
    fn certificates(&self) -> Vec<CertInfo> {
        Vec::new()
    }
    fn unlock(&mut self, _: &str) -> anyhow::Result<sealpost::smime::privkey::PrivateKey> {
        anyhow::bail!("no keys")
    }
}

fn messages() -> Vec<(String, Vec<u8>)> {
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pkits/smime.bundle.gz"
    ))
    .unwrap();
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut text)
        .unwrap();
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for chunk in text.split_inclusive(|&b| b == b'\n') {
        if let Some(name) = chunk
            .strip_prefix(b"=== ")
            .and_then(|r| r.strip_suffix(b" ===\n"))
        {
            out.push((String::from_utf8(name.to_vec()).unwrap(), Vec::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.extend_from_slice(chunk);
        }
    }
    out
}

/// Sealpost's answer for one message: valid when the signature is good,
/// the signer trusted and revocation checked.
fn valid(message: &[u8], anchors: &[Anchor]) -> Result<(), String> {
    let opened = decrypt::open(message, &mut NoKeys, false, &mut rand_core::OsRng)
        .map_err(|e| format!("{e:#}"))?;
    let sig = opened.signatures.first().ok_or("not signed")?;
    let inputs = PathInputs {
        anchors,
        explicit: &[],
        intermediates: &[],
        crls: &[],
        time: TIME,
    };
    // PKITS names its senders differently from its certificates: the
    // sender is not compared here.
    let verdict = trust::judge_outcome(sig, None, &inputs);
    match (verdict.status, verdict.revocation()) {
        (Status::Trusted, Revocation::Checked) => Ok(()),
        (Status::Trusted, Revocation::Unknown) => Err("revocation unknown".into()),
        _ => Err(verdict.explain()),
    }
}

#[test]
fn pkits_default_settings_path_tests() {
    let anchor = parse_bundle(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/pkits/TrustAnchorRootCertificate.crt"
        ))
        .unwrap(),
    )
    .unwrap()
    .remove(0);
    let anchors = [Anchor {
        cert: anchor,
        source: AnchorSource::CommandLine,
    }];
    let (mut passed, mut total, mut passed_beyond, mut total_beyond) = (0, 0, 0, 0);
    for (file, message) in messages() {
        let name = file
            .trim_start_matches("Signed")
            .trim_end_matches(".eml")
            .to_string();
        let expect_valid = if name.starts_with("Valid") {
            true
        } else if name.starts_with("Invalid") {
            false
        } else {
            !INVALID_UNPREFIXED.contains(&name.as_str())
        };
        let got = valid(&message, &anchors);
        let agrees = got.is_ok() == expect_valid;
        if beyond_4_14(&name) {
            total_beyond += 1;
            passed_beyond += usize::from(agrees);
        } else {
            total += 1;
            passed += usize::from(agrees);
        }
        if !agrees {
            println!(
                "DIFFERS {name}: PKITS {}, sealpost {}",
                if expect_valid { "valid" } else { "invalid" },
                match &got {
                    Ok(()) => "valid".to_string(),
                    Err(why) => format!("invalid ({why})"),
                }
            );
        }
    }
    println!("PKITS 4.1-4.14: {passed} of {total} give PKITS's answer");
    println!("PKITS 4.15-4.16: {passed_beyond} of {total_beyond}");
    assert!(total >= 200, "the bundle lost messages: {total}");
    assert!(
        passed >= PASSING,
        "PKITS: {passed} of {total} pass, fewer than the {PASSING} before"
    );
    assert!(
        passed_beyond >= PASSING_BEYOND,
        "PKITS 4.15-4.16: {passed_beyond} pass, fewer than the {PASSING_BEYOND} before"
    );
}
