//! Certification path validation (RFC 5280 §6) for a signer's (or a
//! recipient's) certificate,
//! with revocation from CRLs (RFC 5280 §6.3), offline: the answers
//! [`validate`] gives and the inputs it takes. The engine is sealpost's own
//! (`pkix.rs`, `names.rs`, `policy.rs`, `revocation.rs`), on x509-cert with
//! signatures checked by aws-lc-rs.
//!
//! NOTE: why not a library. rustls-webpki (already in the tree for TLS)
//! was tried first and measured on NIST PKITS: 141 of 212 path tests, as
//! it does not process certificate policies (it refuses their critical
//! extensions), compares names byte for byte, refuses an end entity with
//! cA=TRUE, directoryName and rfc822Name constraints and indirect CRLs.
//! certval's release line needs der 0.8 / x509-cert 0.3 and a second
//! RustCrypto generation, which issue #13 just removed. tests/pkits.rs
//! holds the count this engine reaches.

use crate::smime::certs::{CertInfo, UnixTime};

use super::model::{Anchor, AnchorSource, Distrust, PathInputs, PathOutcome, Revocation, Trust};
use super::revocation::{self, Crl};
use super::{names, pkix};

/// More certificates than this (carried, keystore) are not considered: a
/// message can carry thousands, and path building is a search.
const MAX_CANDIDATES: usize = 256;

/// Validates a path from `signer` to one of `inputs.anchors`, building it
/// from `carried` (the message's certificates) and the keystore's, and
/// checks revocation with `carried_crls` and the keystore's CRLs.
pub fn validate(
    signer: &CertInfo,
    carried: &[CertInfo],
    carried_crls: &[Vec<u8>],
    inputs: &PathInputs<'_>,
) -> PathOutcome {
    if let Some(e) = signer_key_usage(signer) {
        return PathOutcome {
            trust: Err(e),
            revocation: Revocation::Unknown,
        };
    }
    validate_end_entity(signer, carried, carried_crls, inputs)
}

/// [`validate`] without the signer's keyUsage: for any end entity's
/// certificate (a signer's, a recipient's), whose keyUsage for its purpose
/// the caller checks.
pub(super) fn validate_end_entity(
    signer: &CertInfo,
    carried: &[CertInfo],
    carried_crls: &[Vec<u8>],
    inputs: &PathInputs<'_>,
) -> PathOutcome {
    let explicit = inputs
        .explicit
        .iter()
        .any(|c| c.fingerprint == signer.fingerprint);
    let unknown = |trust| PathOutcome {
        trust,
        revocation: Revocation::Unknown,
    };
    let path = build(signer, carried, carried_crls, inputs);
    match path {
        Ok(outcome) => outcome,
        // The user accepted this very certificate: trusted as it is, if
        // it is valid at the time (nothing else vouches for it).
        Err(_) if explicit => unknown(explicit_validity(signer, inputs.time)),
        Err(e) => unknown(Err(e)),
    }
}

/// The revocation of `cert` by a CRL among `inputs.crls` that a known
/// certificate of its issuer's name signed (an anchor, a keystore
/// certificate, or `cert` itself when self-signed), found without a path
/// to an anchor: a revocation its issuer published counts even when
/// nothing vouches for the issuer. `None` when no such CRL lists it.
pub(super) fn revoked_by_issuer(cert: &CertInfo, inputs: &PathInputs<'_>) -> Option<Distrust> {
    let crls: Vec<Crl> = inputs.crls.iter().filter_map(|d| Crl::parse(d)).collect();
    if crls.is_empty() {
        return None;
    }
    let issuer_name = &cert.cert.tbs_certificate.issuer;
    let budget = std::cell::Cell::new(revocation::CRL_SIGNATURE_BUDGET);
    let issuers = inputs
        .anchors
        .iter()
        .map(|a| &a.cert)
        .chain(inputs.intermediates)
        .chain(inputs.explicit)
        .chain(std::iter::once(cert))
        .filter(|c| names::same(&c.cert.tbs_certificate.subject, issuer_name))
        .take(MAX_CANDIDATES);
    for issuer in issuers {
        // The issuer stands in for the anchor: only its own key may sign
        // the CRL (`nested`: no separate CRL signer, which needs a path).
        let anchor = [Anchor {
            cert: issuer.clone(),
            source: AnchorSource::Keystore,
        }];
        let cx = revocation::Context {
            crls: &crls,
            pool: &[],
            anchors: &anchor,
            time: inputs.time,
            nested: true,
            budget: &budget,
        };
        if let Err(e @ Distrust::Revoked { .. }) = revocation::check_path(&anchor[0], &[cert], &cx)
        {
            return Some(e);
        }
    }
    None
}

/// The signer's keyUsage must allow signatures (RFC 8550 §4.4.2).
fn signer_key_usage(signer: &CertInfo) -> Option<Distrust> {
    let ku = signer.key_usage.as_ref()?;
    (!ku.digital_signature() && !ku.non_repudiation()).then(|| {
        Distrust::KeyUsage(
            "the signer's keyUsage allows neither digitalSignature nor nonRepudiation".into(),
        )
    })
}

fn explicit_validity(signer: &CertInfo, time: UnixTime) -> Result<Trust, Distrust> {
    if time > signer.not_after {
        Err(Distrust::Expired(signer.not_after))
    } else if time < signer.not_before {
        Err(Distrust::NotYetValid(signer.not_before))
    } else {
        Ok(Trust::Explicit)
    }
}

fn build(
    signer: &CertInfo,
    carried: &[CertInfo],
    carried_crls: &[Vec<u8>],
    inputs: &PathInputs<'_>,
) -> Result<PathOutcome, Distrust> {
    // The signer's certificate is itself an anchor (a self-signed one the
    // user chose to trust): nothing to validate but the time.
    if let Some(anchor) = inputs
        .anchors
        .iter()
        .find(|a| a.cert.fingerprint == signer.fingerprint)
    {
        explicit_validity(signer, inputs.time)?;
        return Ok(PathOutcome {
            trust: Ok(Trust::Path {
                anchor: anchor.cert.subject.clone(),
                source: anchor.source,
                length: 1,
            }),
            revocation: Revocation::Unknown,
        });
    }
    let pool = pool(signer, carried, inputs);
    let crls = parse_crls(carried_crls, inputs);
    let candidates = pkix::candidate_paths(signer, &pool, inputs.anchors);
    let budget = std::cell::Cell::new(revocation::CRL_SIGNATURE_BUDGET);
    let cx = revocation::Context::new(&crls, &pool, inputs, &budget);
    let mut first_error = None;
    for (anchor, path) in &candidates {
        let checked = pkix::validate_path(anchor, path, inputs.time)
            .and_then(|()| revocation::check_path(anchor, path, &cx));
        match checked {
            Ok(revocation) => {
                return Ok(PathOutcome {
                    trust: Ok(Trust::Path {
                        anchor: anchor.cert.subject.clone(),
                        source: anchor.source,
                        length: path.len() + 1,
                    }),
                    revocation,
                })
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| top_of_chain(signer, carried, inputs)))
}

/// The certificates a path may be built from besides the signer's.
fn pool<'a>(
    signer: &CertInfo,
    carried: &'a [CertInfo],
    inputs: &PathInputs<'a>,
) -> Vec<&'a CertInfo> {
    carried
        .iter()
        .chain(inputs.intermediates)
        .filter(|c| c.fingerprint != signer.fingerprint)
        .take(MAX_CANDIDATES)
        .collect()
}

/// The CRLs at hand that parse: the message's and the keystore's.
fn parse_crls(carried_crls: &[Vec<u8>], inputs: &PathInputs<'_>) -> Vec<Crl> {
    carried_crls
        .iter()
        .chain(inputs.crls)
        .filter_map(|der| Crl::parse(der))
        .collect()
}

/// Where revocation could still be learned: the CRL distribution point
/// URIs (every scheme; the caller picks what it can fetch) of the
/// certificates on `signer`'s first valid path whose revocation the CRLs
/// at hand do not settle. Empty when there is no valid path, when
/// revocation is settled (checked, or revoked), or for a signer that is
/// itself an anchor. Fetching is the caller's: this wing uses no network.
pub fn unsettled_crl_urls(
    signer: &CertInfo,
    carried: &[CertInfo],
    carried_crls: &[Vec<u8>],
    inputs: &PathInputs<'_>,
) -> Vec<String> {
    if signer_key_usage(signer).is_some()
        || inputs
            .anchors
            .iter()
            .any(|a| a.cert.fingerprint == signer.fingerprint)
    {
        return Vec::new();
    }
    let pool = pool(signer, carried, inputs);
    let crls = parse_crls(carried_crls, inputs);
    let budget = std::cell::Cell::new(revocation::CRL_SIGNATURE_BUDGET);
    let cx = revocation::Context::new(&crls, &pool, inputs, &budget);
    let candidates = pkix::candidate_paths(signer, &pool, inputs.anchors);
    let Some((anchor, path)) = candidates
        .iter()
        .find(|(anchor, path)| pkix::validate_path(anchor, path, inputs.time).is_ok())
    else {
        return Vec::new();
    };
    let mut urls: Vec<String> = Vec::new();
    if let Ok(Revocation::Unknown) = revocation::check_path(anchor, path, &cx) {
        for cert in revocation::unsettled(anchor, path, &cx) {
            for url in revocation::distribution_point_uris(cert) {
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
        }
    }
    urls
}

/// Follows issuer names from `signer` as far as the known certificates go:
/// a self-signed end is an unknown anchor, else the issuer is missing.
fn top_of_chain(signer: &CertInfo, carried: &[CertInfo], inputs: &PathInputs<'_>) -> Distrust {
    let mut current = signer;
    for _ in 0..16 {
        let tbs = &current.cert.tbs_certificate;
        if tbs.issuer == tbs.subject {
            return Distrust::UnknownAnchor {
                root: current.subject.clone(),
            };
        }
        match carried.iter().chain(inputs.intermediates).find(|c| {
            c.cert.tbs_certificate.subject == tbs.issuer && c.fingerprint != current.fingerprint
        }) {
            Some(next) => current = next,
            None => break,
        }
    }
    Distrust::NoPath {
        missing_issuer: current.issuer.clone(),
    }
}
