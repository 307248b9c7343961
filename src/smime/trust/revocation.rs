//! Revocation from CRLs (RFC 5280 §6.3), offline: the CRLs a message
//! carries and those the user imported. For each certificate on a validated
//! path: the CRLs of its issuer (direct, or indirect through the
//! certificate's cRLIssuer), in scope (issuing distribution point, only
//! user/CA certificates, reasons), current at the validation time, signed by
//! the issuer or by a certificate of the same name that itself has a valid
//! path to the same anchor and may sign CRLs; a current delta CRL of the
//! same issuer and scope updates a complete one (it revokes, or removes a
//! hold).

use std::cell::Cell;

use der::Decode;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::{DistributionPoint, IssuingDistributionPoint};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName, GeneralNames};
use x509_cert::ext::pkix::{BasicConstraints, CrlDistributionPoints, KeyUsage};
use x509_cert::name::Name;

use super::model::{Anchor, Distrust, Revocation};
use super::names;
use super::pkix::{self, general_names_eq};
use crate::smime::certs::{CertInfo, UnixTime};

const ID_CRL_NUMBER: &str = "2.5.29.20";
const ID_DELTA_CRL_INDICATOR: &str = "2.5.29.27";
const ID_ISSUING_DISTRIBUTION_POINT: &str = "2.5.29.28";
const ID_CERTIFICATE_ISSUER: &str = "2.5.29.29";
const ID_REASON_CODE: &str = "2.5.29.21";
const ID_INVALIDITY_DATE: &str = "2.5.29.24";
/// CRL extensions understood; another marked critical makes a CRL unusable.
const KNOWN_CRL: &[&str] = &[
    ID_CRL_NUMBER,
    "2.5.29.35", // authorityKeyIdentifier
    ID_ISSUING_DISTRIBUTION_POINT,
    "2.5.29.18", // issuerAltName
    "2.5.29.46", // freshestCRL
];
/// keyCompromise … aACompromise: all reasons but `unused`.
const ALL_REASONS: u16 = 0x1fe;
/// reasonCode removeFromCRL.
const REMOVE_FROM_CRL: u8 = 8;

/// A CRL parsed once.
pub(super) struct Crl {
    der: Vec<u8>,
    list: CertificateList,
}

impl Crl {
    pub(super) fn parse(der: &[u8]) -> Option<Crl> {
        Some(Crl {
            list: CertificateList::from_der(der).ok()?,
            der: der.to_vec(),
        })
    }

    fn ext(&self, oid: &str) -> Option<&x509_cert::ext::Extension> {
        self.list
            .tbs_cert_list
            .crl_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id.to_string() == oid)
    }
}

fn unix(t: &x509_cert::time::Time) -> UnixTime {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn is_ca(cert: &CertInfo) -> bool {
    matches!(
        cert.cert.tbs_certificate.get::<BasicConstraints>(),
        Ok(Some((_, bc))) if bc.ca
    )
}

/// The names of a distribution point, the relative form resolved against
/// `issuer`.
fn dp_names(name: &DistributionPointName, issuer: &Name) -> Vec<GeneralName> {
    match name {
        DistributionPointName::FullName(names) => names.clone(),
        DistributionPointName::NameRelativeToCRLIssuer(rdn) => {
            let mut full = issuer.clone();
            full.0.push(rdn.clone());
            vec![GeneralName::DirectoryName(full)]
        }
    }
}

/// What everything else needs to know to check a path's revocation.
pub(super) struct Context<'a> {
    pub crls: &'a [Crl],
    pub pool: &'a [&'a CertInfo],
    pub anchors: &'a [Anchor],
    pub time: UnixTime,
    /// Checking a CRL signer's own path: no further separate signers, so
    /// the search ends.
    pub nested: bool,
    /// CRL signature checks left for this signer: a message can carry many
    /// CRLs and certificates of one name, each pairing a check.
    pub budget: &'a Cell<usize>,
}

impl<'a> Context<'a> {
    /// The context of a signer's paths (not a CRL signer's).
    pub fn new(
        crls: &'a [Crl],
        pool: &'a [&'a CertInfo],
        inputs: &super::model::PathInputs<'a>,
        budget: &'a Cell<usize>,
    ) -> Context<'a> {
        Context {
            crls,
            pool,
            anchors: inputs.anchors,
            time: inputs.time,
            nested: false,
            budget,
        }
    }
}

/// Certificates other than the issuer tried as one CRL's signer.
const MAX_OTHER_SIGNERS: usize = 4;

/// CRL signature checks (and CRL signers' paths) for one signer, at most.
pub(super) const CRL_SIGNATURE_BUDGET: usize = 4096;

/// Revocation of every certificate on `path` (issued by `anchor`).
pub(super) fn check_path(
    anchor: &Anchor,
    path: &[&CertInfo],
    cx: &Context<'_>,
) -> Result<Revocation, Distrust> {
    let mut all_checked = true;
    for (i, cert) in path.iter().enumerate() {
        let issuer = if i == 0 { &anchor.cert } else { path[i - 1] };
        match status(cert, issuer, anchor, cx)? {
            Status::Good => {}
            Status::Unknown => all_checked = false,
        }
    }
    Ok(if all_checked {
        Revocation::Checked
    } else {
        Revocation::Unknown
    })
}

/// The certificates on `path` (issued by `anchor`) whose revocation no
/// CRL at hand settles.
pub(super) fn unsettled<'p>(
    anchor: &Anchor,
    path: &[&'p CertInfo],
    cx: &Context<'_>,
) -> Vec<&'p CertInfo> {
    (0..path.len())
        .filter(|&i| {
            let issuer = if i == 0 { &anchor.cert } else { path[i - 1] };
            matches!(status(path[i], issuer, anchor, cx), Ok(Status::Unknown))
        })
        .map(|i| path[i])
        .collect()
}

/// The URIs among the fullNames of `cert`'s cRLDistributionPoints.
pub(super) fn distribution_point_uris(cert: &CertInfo) -> Vec<String> {
    distribution_points(cert)
        .iter()
        .filter_map(|dp| match &dp.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(names),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            _ => None,
        })
        .collect()
}

fn distribution_points(cert: &CertInfo) -> Vec<DistributionPoint> {
    cert.cert
        .tbs_certificate
        .get::<CrlDistributionPoints>()
        .ok()
        .flatten()
        .map(|(_, d)| d.0)
        .unwrap_or_default()
}

enum Status {
    Good,
    Unknown,
}

fn status(
    cert: &CertInfo,
    issuer: &CertInfo,
    anchor: &Anchor,
    cx: &Context<'_>,
) -> Result<Status, Distrust> {
    let cert_issuer = &cert.cert.tbs_certificate.issuer;
    let dps = distribution_points(cert);
    let mut reasons: u16 = 0;
    for crl in cx.crls {
        let tbs = &crl.list.tbs_cert_list;
        if crl.ext(ID_DELTA_CRL_INDICATOR).is_some() {
            continue;
        }
        if tbs
            .crl_extensions
            .iter()
            .flatten()
            .any(|e| e.critical && !KNOWN_CRL.contains(&e.extn_id.to_string().as_str()))
        {
            continue;
        }
        let idp = match crl.ext(ID_ISSUING_DISTRIBUTION_POINT) {
            Some(e) => match IssuingDistributionPoint::from_der(e.extn_value.as_bytes()) {
                Ok(idp) => Some(idp),
                Err(_) => continue,
            },
            None => None,
        };
        let indirect = idp.as_ref().is_some_and(|i| i.indirect_crl);
        // Which distribution point of the certificate this CRL serves.
        let direct = names::same(&tbs.issuer, cert_issuer);
        let crl_issuer_named = |dp: &DistributionPoint| {
            dp.crl_issuer.as_ref().is_some_and(|names| {
                names.iter().any(
                    |n| matches!(n, GeneralName::DirectoryName(d) if names::same(d, &tbs.issuer)),
                )
            })
        };
        let serving: Vec<&DistributionPoint> = dps
            .iter()
            .filter(|dp| {
                if dp.crl_issuer.is_some() {
                    indirect && crl_issuer_named(dp)
                } else {
                    direct
                }
            })
            .collect();
        if dps.is_empty() && !direct {
            continue;
        }
        if !dps.is_empty() && serving.is_empty() {
            continue;
        }
        // Scope (§6.3.3 (b)).
        if let Some(idp) = &idp {
            if idp.only_contains_attribute_certs
                || (idp.only_contains_user_certs && is_ca(cert))
                || (idp.only_contains_ca_certs && !is_ca(cert))
            {
                continue;
            }
            if let Some(name) = &idp.distribution_point {
                let idp_names = dp_names(name, &tbs.issuer);
                let cert_names: Vec<GeneralName> = if serving.is_empty() {
                    vec![GeneralName::DirectoryName(cert_issuer.clone())]
                } else {
                    serving
                        .iter()
                        .flat_map(|dp| {
                            // A relative name is relative to the cRLIssuer
                            // when there is one (RFC 5280 §4.2.1.13).
                            let base = dp
                                .crl_issuer
                                .iter()
                                .flatten()
                                .find_map(|n| match n {
                                    GeneralName::DirectoryName(d) => Some(d),
                                    _ => None,
                                })
                                .unwrap_or(cert_issuer);
                            match &dp.distribution_point {
                                Some(n) => dp_names(n, base),
                                None => dp.crl_issuer.clone().unwrap_or_default(),
                            }
                        })
                        .collect()
                };
                if !idp_names
                    .iter()
                    .any(|a| cert_names.iter().any(|b| general_names_eq(a, b)))
                {
                    continue;
                }
            }
        }
        let mut interim: u16 = idp
            .as_ref()
            .and_then(|i| i.only_some_reasons)
            .map_or(ALL_REASONS, |r| r.bits() & ALL_REASONS);
        if let Some(dp_reasons) = serving
            .iter()
            .map(|dp| dp.reasons.map_or(ALL_REASONS, |r| r.bits() & ALL_REASONS))
            .reduce(|a, b| a | b)
        {
            interim &= dp_reasons;
        }
        if interim & !reasons == 0 {
            continue;
        }
        // Current (§6.3.3 (a)).
        if unix(&tbs.this_update) > cx.time
            || tbs.next_update.as_ref().is_some_and(|n| unix(n) < cx.time)
        {
            continue;
        }
        if !signed_by_issuer(crl, issuer, anchor, cx) {
            continue;
        }
        // The entries (§6.3.3 (i)), a current delta CRL's first (§6.3.3 (g)):
        // it may revoke, or remove a hold.
        let listed = match delta_entry(crl, cert, issuer, anchor, cx, indirect)? {
            Some(entry) => Some(entry),
            None => entry_for(crl, cert, indirect)?,
        };
        if let Some(entry) = listed.filter(|e| e.reason != Some(REMOVE_FROM_CRL)) {
            return Err(Distrust::Revoked {
                date: entry.date,
                reason: entry.reason,
            });
        }
        reasons |= interim;
        if reasons == ALL_REASONS {
            return Ok(Status::Good);
        }
    }
    Ok(Status::Unknown)
}

/// A CRL's entry for a certificate.
struct Entry {
    /// revocationDate.
    date: UnixTime,
    /// reasonCode, if the entry has one.
    reason: Option<u8>,
}

/// The entry of `crl` for `cert`, if it lists it.
fn entry_for(crl: &Crl, cert: &CertInfo, indirect: bool) -> Result<Option<Entry>, Distrust> {
    let tbs = &crl.list.tbs_cert_list;
    let serial = &cert.cert.tbs_certificate.serial_number;
    let mut entry_issuer: Name = tbs.issuer.clone();
    for entry in tbs.revoked_certificates.iter().flatten() {
        let mut reason_code = None;
        for ext in entry.crl_entry_extensions.iter().flatten() {
            match ext.extn_id.to_string().as_str() {
                ID_CERTIFICATE_ISSUER if indirect => {
                    if let Some(GeneralName::DirectoryName(n)) =
                        GeneralNames::from_der(ext.extn_value.as_bytes())
                            .ok()
                            .and_then(|g| g.into_iter().next())
                    {
                        entry_issuer = n;
                    }
                }
                ID_REASON_CODE => {
                    reason_code = ext.extn_value.as_bytes().last().copied();
                }
                ID_INVALIDITY_DATE | ID_CERTIFICATE_ISSUER => {}
                _ if ext.critical && entry.serial_number == *serial => {
                    return Err(Distrust::Invalid(
                        "a CRL entry for a certificate on the path has an unsupported \
                         critical extension"
                            .into(),
                    ));
                }
                _ => {}
            }
        }
        if entry.serial_number == *serial
            && names::same(&entry_issuer, &cert.cert.tbs_certificate.issuer)
        {
            return Ok(Some(Entry {
                date: unix(&entry.revocation_date),
                reason: reason_code,
            }));
        }
    }
    Ok(None)
}

/// A CRL number (or a delta CRL's base number) for comparing: the
/// INTEGER's bytes without leading zeros.
fn crl_number(crl: &Crl, oid: &str) -> Option<Vec<u8>> {
    let ext = crl.ext(oid)?;
    let number = der::asn1::Uint::from_der(ext.extn_value.as_bytes()).ok()?;
    let bytes = number.as_bytes();
    let start = bytes.iter().take_while(|b| **b == 0).count();
    Some(bytes[start..].to_vec())
}

/// `a <= b` for [`crl_number`]s.
fn number_le(a: &[u8], b: &[u8]) -> bool {
    (a.len(), a) <= (b.len(), b)
}

/// The entry for `cert` in a current delta CRL (§5.2.4) that updates the
/// complete `base`: same issuer and scope, its base number not above the
/// complete CRL's number, signed as the complete one must be.
fn delta_entry(
    base: &Crl,
    cert: &CertInfo,
    issuer: &CertInfo,
    anchor: &Anchor,
    cx: &Context<'_>,
    indirect: bool,
) -> Result<Option<Entry>, Distrust> {
    let Some(number) = crl_number(base, ID_CRL_NUMBER) else {
        return Ok(None);
    };
    let scope = |c: &Crl| {
        c.ext(ID_ISSUING_DISTRIBUTION_POINT)
            .map(|e| e.extn_value.as_bytes().to_vec())
    };
    for delta in cx.crls {
        let tbs = &delta.list.tbs_cert_list;
        let Some(delta_base) = crl_number(delta, ID_DELTA_CRL_INDICATOR) else {
            continue;
        };
        if !names::same(&tbs.issuer, &base.list.tbs_cert_list.issuer)
            || scope(delta) != scope(base)
            || !number_le(&delta_base, &number)
            || unix(&tbs.this_update) > cx.time
            || tbs.next_update.as_ref().is_some_and(|n| unix(n) < cx.time)
            || !signed_by_issuer(delta, issuer, anchor, cx)
        {
            continue;
        }
        if let Some(entry) = entry_for(delta, cert, indirect)? {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

/// Takes one from `budget`; `false` when none is left.
fn spend(budget: &Cell<usize>) -> bool {
    let left = budget.get();
    budget.set(left.saturating_sub(1));
    left > 0
}

/// Whether `crl` is signed by a key that may speak for the issuer: the
/// issuer's own (if it may sign CRLs), or another certificate named as the
/// CRL issuer with a valid path to the same anchor (§6.3.3 (f)).
fn signed_by_issuer(crl: &Crl, issuer: &CertInfo, anchor: &Anchor, cx: &Context<'_>) -> bool {
    let Some((signed, alg, sig)) = pkix::signed_parts(&crl.der) else {
        return false;
    };
    let crl_issuer = &crl.list.tbs_cert_list.issuer;
    let may_sign = |c: &CertInfo| {
        names::same(&c.cert.tbs_certificate.subject, crl_issuer)
            && c.cert
                .tbs_certificate
                .get::<KeyUsage>()
                .ok()
                .flatten()
                .is_none_or(|(_, ku)| ku.crl_sign())
            && spend(cx.budget)
            && pkix::signature_ok(
                signed,
                &alg,
                &sig,
                &c.cert.tbs_certificate.subject_public_key_info,
            )
    };
    if may_sign(issuer) {
        return true;
    }
    // Another key of the issuer (a separate CRL signing key, a rollover):
    // it needs its own path to the anchor.
    if cx.nested {
        return false;
    }
    let nested = Context {
        nested: true,
        ..*cx
    };
    let anchor_certs: Vec<&CertInfo> = cx.anchors.iter().map(|a| &a.cert).collect();
    cx.pool
        .iter()
        .chain(anchor_certs.iter())
        .filter(|c| c.fingerprint != issuer.fingerprint && may_sign(c))
        .take(MAX_OTHER_SIGNERS)
        .any(|c| {
            cx.anchors
                .iter()
                .any(|a| a.cert.fingerprint == c.fingerprint)
                || pkix::candidate_paths(c, cx.pool, std::slice::from_ref(anchor))
                    .iter()
                    .any(|(a, p)| {
                        // Valid, and not revoked itself (§6.3.3 (f)).
                        spend(cx.budget)
                            && pkix::validate_path_ca(a, p, cx.time).is_ok()
                            && check_path(a, p, &nested).is_ok()
                    })
        })
}
