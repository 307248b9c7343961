//! The path engine: building candidate paths from the signer to a trust
//! anchor and validating each as RFC 5280 §6.1 says, with the default
//! inputs (initial-policy-set anyPolicy, no explicit policy required, policy
//! mapping and anyPolicy allowed), on x509-cert with signatures checked by
//! aws-lc-rs. Revocation (§6.3) is in `revocation.rs`.
//!
//! Checked for every certificate: its signature by the working public key
//! (RSA 2048 bits or more with SHA-256/384/512, PKCS#1 v1.5 or PSS; ECDSA
//! P-256/P-384 with SHA-256/384/512; Ed25519), validity at the given time, issuer name chaining (names
//! compared as §7.1 asks), unknown critical extensions. For CAs:
//! basicConstraints cA, pathLenConstraint (self-issued certificates not
//! counted), keyUsage keyCertSign, name constraints (directoryName,
//! rfc822Name, dNSName, URI, IP), certificate policies with mappings,
//! requireExplicitPolicy, inhibitPolicyMapping and inhibitAnyPolicy. For the
//! signer: extendedKeyUsage emailProtection, anyExtendedKeyUsage or none.
//! Not supported: DSA keys and parameter inheritance, SHA-1 signatures
//! (refused: chosen-prefix collisions).

use const_oid::db::rfc5280::{ANY_EXTENDED_KEY_USAGE, ID_KP_EMAIL_PROTECTION};
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, ID_RSASSA_PSS,
    RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1, SHA_256_WITH_RSA_ENCRYPTION,
    SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode, Reader, SliceReader};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::pkix::constraints::name::GeneralSubtrees;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, CertificatePolicies, ExtendedKeyUsage, InhibitAnyPolicy, KeyUsage,
    NameConstraints, PolicyConstraints, PolicyMappings, SubjectAltName,
};
use x509_cert::Certificate;

use super::model::{Anchor, Distrust};
use super::names::{self, Presented};
use super::policy::Tree;
use crate::smime::certs::{CertInfo, UnixTime};
use crate::smime::privkey::key::ID_ED25519;
use crate::smime::signed::PssParams;

/// Longest path tried, anchor excluded.
const MAX_DEPTH: usize = 8;
/// Most candidate paths tried for one signer.
const MAX_PATHS: usize = 64;

/// Extensions this engine processes; another marked critical fails the path.
const KNOWN: &[&str] = &[
    "2.5.29.14", // subjectKeyIdentifier
    "2.5.29.15", // keyUsage
    "2.5.29.17", // subjectAltName
    "2.5.29.18", // issuerAltName
    "2.5.29.19", // basicConstraints
    "2.5.29.30", // nameConstraints
    "2.5.29.31", // cRLDistributionPoints
    "2.5.29.32", // certificatePolicies
    "2.5.29.33", // policyMappings
    "2.5.29.35", // authorityKeyIdentifier
    "2.5.29.36", // policyConstraints
    "2.5.29.37", // extKeyUsage
    "2.5.29.54", // inhibitAnyPolicy
    "2.5.29.46", // freshestCRL
];

/// The signed bytes, algorithm and signature of a SIGNED{…} structure
/// (certificate or CRL), as transmitted.
pub(super) fn signed_parts(der: &[u8]) -> Option<(&[u8], AlgorithmIdentifierOwned, Vec<u8>)> {
    let mut outer = SliceReader::new(der).ok()?;
    let seq = outer.tlv_bytes().ok()?;
    let header_len = {
        let mut r = SliceReader::new(seq).ok()?;
        let header = der::Header::decode(&mut r).ok()?;
        seq.len() - usize::try_from(header.length).ok()?
    };
    let mut r = SliceReader::new(&seq[header_len..]).ok()?;
    let tbs = r.tlv_bytes().ok()?;
    let alg = AlgorithmIdentifierOwned::decode(&mut r).ok()?;
    let sig = der::asn1::BitString::decode(&mut r).ok()?;
    Some((tbs, alg, sig.raw_bytes().to_vec()))
}

/// Whether `key` made `signature` over `signed` with `alg`.
pub(super) fn signature_ok(
    signed: &[u8],
    alg: &AlgorithmIdentifierOwned,
    signature: &[u8],
    key: &SubjectPublicKeyInfoOwned,
) -> bool {
    use aws_lc_rs::signature as s;
    let public = key.subject_public_key.raw_bytes();
    let verifier: &dyn s::VerificationAlgorithm = match (key.algorithm.oid, alg.oid) {
        (RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION) => &s::RSA_PKCS1_2048_8192_SHA256,
        (RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION) => &s::RSA_PKCS1_2048_8192_SHA384,
        (RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION) => &s::RSA_PKCS1_2048_8192_SHA512,
        (RSA_ENCRYPTION, ID_RSASSA_PSS) => match pss_hash(alg) {
            Some(256) => &s::RSA_PSS_2048_8192_SHA256,
            Some(384) => &s::RSA_PSS_2048_8192_SHA384,
            Some(512) => &s::RSA_PSS_2048_8192_SHA512,
            _ => return false,
        },
        (ID_EC_PUBLIC_KEY, ECDSA_WITH_SHA_256 | ECDSA_WITH_SHA_384 | ECDSA_WITH_SHA_512) => {
            let curve = key
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            match (curve, alg.oid) {
                (Some(SECP_256_R_1), ECDSA_WITH_SHA_256) => &s::ECDSA_P256_SHA256_ASN1,
                (Some(SECP_256_R_1), ECDSA_WITH_SHA_384) => &s::ECDSA_P256_SHA384_ASN1,
                (Some(SECP_256_R_1), _) => &s::ECDSA_P256_SHA512_ASN1,
                (Some(SECP_384_R_1), ECDSA_WITH_SHA_256) => &s::ECDSA_P384_SHA256_ASN1,
                (Some(SECP_384_R_1), ECDSA_WITH_SHA_384) => &s::ECDSA_P384_SHA384_ASN1,
                (Some(SECP_384_R_1), _) => &s::ECDSA_P384_SHA512_ASN1,
                _ => return false,
            }
        }
        // RFC 8410 §6: Ed25519 certificates, pure, with absent parameters.
        (ID_ED25519, ID_ED25519) if alg.parameters.is_none() => &s::ED25519,
        _ => return false,
    };
    s::UnparsedPublicKey::new(verifier, public)
        .verify(signed, signature)
        .is_ok()
}

/// The SHA-2 size of RSASSA-PSS parameters.
fn pss_hash(alg: &AlgorithmIdentifierOwned) -> Option<u16> {
    use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384, ID_SHA_512};
    let der = alg.parameters.as_ref()?.to_der().ok()?;
    match PssParams::from_der(&der).ok()?.hash?.oid {
        ID_SHA_256 => Some(256),
        ID_SHA_384 => Some(384),
        ID_SHA_512 => Some(512),
        _ => None,
    }
}

/// A certificate on a candidate path, with what the checks need.
pub(super) struct Node<'a> {
    pub info: &'a CertInfo,
}

impl Node<'_> {
    fn cert(&self) -> &Certificate {
        &self.info.cert
    }

    pub(super) fn self_issued(&self) -> bool {
        names::same(
            &self.cert().tbs_certificate.issuer,
            &self.cert().tbs_certificate.subject,
        )
    }

    fn ext<T: for<'a> Decode<'a> + const_oid::AssociatedOid>(&self) -> Result<Option<T>, ()> {
        self.cert()
            .tbs_certificate
            .get::<T>()
            .map(|o| o.map(|(_, v)| v))
            .map_err(|_| ())
    }
}

/// Every candidate path from `signer` up to an anchor, anchor first in
/// each; the issuers are found by name among `pool` and `anchors`. The
/// search is bounded: [`MAX_DEPTH`], [`MAX_PATHS`], and [`MAX_STEPS`]
/// certificates looked at (a message may carry many of the same name).
pub(super) fn candidate_paths<'a>(
    signer: &'a CertInfo,
    pool: &'a [&'a CertInfo],
    anchors: &'a [Anchor],
) -> Vec<(&'a Anchor, Vec<&'a CertInfo>)> {
    let mut search = Search {
        pool: pool
            .iter()
            .filter(|c| !anchors.iter().any(|a| a.cert.fingerprint == c.fingerprint))
            .map(|c| (*c, names::normalized(&c.cert.tbs_certificate.subject)))
            .collect(),
        anchors: anchors
            .iter()
            .map(|a| (a, names::normalized(&a.cert.cert.tbs_certificate.subject)))
            .collect(),
        out: Vec::new(),
        steps: 0,
    };
    let mut chain = vec![signer];
    search.extend(&mut chain);
    search.out
}

/// Certificates looked at in one path search, at most.
const MAX_STEPS: usize = 20_000;

struct Search<'a> {
    pool: Vec<(&'a CertInfo, names::Normalized)>,
    anchors: Vec<(&'a Anchor, names::Normalized)>,
    out: Vec<(&'a Anchor, Vec<&'a CertInfo>)>,
    steps: usize,
}

impl<'a> Search<'a> {
    fn extend(&mut self, chain: &mut Vec<&'a CertInfo>) {
        if self.out.len() >= MAX_PATHS {
            return;
        }
        let Some(top) = chain.last().copied() else {
            return;
        };
        let issuer = names::normalized(&top.cert.tbs_certificate.issuer);
        for (anchor, subject) in &self.anchors {
            if *subject == issuer {
                let mut path = chain.clone();
                path.reverse();
                self.out.push((anchor, path));
            }
        }
        if chain.len() > MAX_DEPTH {
            return;
        }
        let next: Vec<&'a CertInfo> = self
            .pool
            .iter()
            .filter(|(c, subject)| {
                *subject == issuer && !chain.iter().any(|x| x.fingerprint == c.fingerprint)
            })
            .map(|(c, _)| *c)
            .collect();
        for candidate in next {
            self.steps += 1;
            if self.steps > MAX_STEPS || self.out.len() >= MAX_PATHS {
                return;
            }
            chain.push(candidate);
            self.extend(chain);
            chain.pop();
        }
    }
}

fn invalid(why: impl Into<String>) -> Distrust {
    Distrust::Invalid(why.into())
}

/// RFC 5280 §6.1 on one path (`path[0]` issued by `anchor`, the signer
/// last) at `time`, and the signer's extendedKeyUsage.
pub(super) fn validate_path(
    anchor: &Anchor,
    path: &[&CertInfo],
    time: UnixTime,
) -> Result<(), Distrust> {
    validate(anchor, path, time)?;
    let signer = Node {
        info: path.last().ok_or_else(|| invalid("empty path"))?,
    };
    email_protection(&signer)
}

/// RFC 5280 §6.1 alone: for the path of a CRL signer.
pub(super) fn validate_path_ca(
    anchor: &Anchor,
    path: &[&CertInfo],
    time: UnixTime,
) -> Result<(), Distrust> {
    validate(anchor, path, time)
}

fn validate(anchor: &Anchor, path: &[&CertInfo], time: UnixTime) -> Result<(), Distrust> {
    let n = path.len() as u32;
    let mut working_key = anchor
        .cert
        .cert
        .tbs_certificate
        .subject_public_key_info
        .clone();
    let mut working_issuer = anchor.cert.cert.tbs_certificate.subject.clone();
    let mut max_path_length = n;
    let mut explicit_policy = n + 1;
    let mut inhibit_any = n + 1;
    let mut policy_mapping = n + 1;
    let mut tree = Tree::new();
    let mut constraints: Vec<(Option<GeneralSubtrees>, Option<GeneralSubtrees>)> = Vec::new();

    for (i, info) in path.iter().enumerate() {
        let node = Node { info };
        let last = i + 1 == path.len();
        let tbs = &info.cert.tbs_certificate;
        let malformed =
            |what: &str| invalid(format!("a certificate on the path has a malformed {what}"));
        // (a) signature, validity, name chaining.
        let (signed, alg, sig) = signed_parts(&info.der).ok_or_else(|| malformed("encoding"))?;
        if alg != tbs.signature {
            return Err(invalid("a certificate's two signature algorithms differ"));
        }
        if !signature_ok(signed, &alg, &sig, &working_key) {
            return Err(invalid(
                "a certificate's signature on the path is invalid (or uses an unsupported \
                 algorithm: DSA, SHA-1, RSA under 2048 bits)",
            ));
        }
        if time > info.not_after {
            return Err(Distrust::Expired(info.not_after));
        }
        if time < info.not_before {
            return Err(Distrust::NotYetValid(info.not_before));
        }
        if !names::same(&tbs.issuer, &working_issuer) {
            return Err(invalid("issuer and subject names do not chain"));
        }
        // (b), (c) name constraints.
        if last || !node.self_issued() {
            let alt_names = node
                .ext::<SubjectAltName>()
                .map_err(|_| malformed("subjectAltName"))?
                .map(|s| s.0)
                .unwrap_or_default();
            let presented = Presented {
                subject: &tbs.subject,
                alt_names,
            };
            if constraints
                .iter()
                .any(|(p, e)| !names::allowed(&presented, p.as_ref(), e.as_ref()))
            {
                return Err(invalid(
                    "a name on the path violates a CA's name constraints",
                ));
            }
        }
        // (d)–(f) policies.
        let policies = node
            .ext::<CertificatePolicies>()
            .map_err(|_| malformed("certificatePolicies"))?;
        tree.process(policies.as_ref(), inhibit_any, last, node.self_issued());
        if explicit_policy == 0 && tree.is_null() {
            return Err(invalid("no acceptable certificate policy on the path"));
        }
        critical_extensions(&node)?;
        if last {
            break;
        }
        // §6.1.4: prepare for the next certificate.
        if let Some(mappings) = node
            .ext::<PolicyMappings>()
            .map_err(|_| malformed("policyMappings"))?
        {
            tree.map(&mappings, policy_mapping > 0)
                .map_err(|()| invalid("a policy mapping to or from anyPolicy"))?;
        }
        working_issuer = tbs.subject.clone();
        working_key = tbs.subject_public_key_info.clone();
        if let Some(nc) = node
            .ext::<NameConstraints>()
            .map_err(|_| malformed("nameConstraints"))?
        {
            constraints.push((nc.permitted_subtrees, nc.excluded_subtrees));
        }
        if !node.self_issued() {
            explicit_policy = explicit_policy.saturating_sub(1);
            policy_mapping = policy_mapping.saturating_sub(1);
            inhibit_any = inhibit_any.saturating_sub(1);
        }
        if let Some(pc) = node
            .ext::<PolicyConstraints>()
            .map_err(|_| malformed("policyConstraints"))?
        {
            if let Some(r) = pc.require_explicit_policy {
                explicit_policy = explicit_policy.min(r);
            }
            if let Some(m) = pc.inhibit_policy_mapping {
                policy_mapping = policy_mapping.min(m);
            }
        }
        if let Some(InhibitAnyPolicy(skip)) = node
            .ext::<InhibitAnyPolicy>()
            .map_err(|_| malformed("inhibitAnyPolicy"))?
        {
            inhibit_any = inhibit_any.min(skip);
        }
        let bc = node
            .ext::<BasicConstraints>()
            .map_err(|_| malformed("basicConstraints"))?;
        if !bc.as_ref().is_some_and(|b| b.ca) {
            return Err(invalid(
                "a certificate on the path is not a CA (basicConstraints)",
            ));
        }
        if !node.self_issued() {
            if max_path_length == 0 {
                return Err(invalid("a CA's pathLenConstraint is exceeded"));
            }
            max_path_length -= 1;
        }
        if let Some(len) = bc.and_then(|b| b.path_len_constraint) {
            max_path_length = max_path_length.min(u32::from(len));
        }
        if let Some(ku) = node.ext::<KeyUsage>().map_err(|_| malformed("keyUsage"))? {
            if !ku.key_cert_sign() {
                return Err(Distrust::KeyUsage(
                    "a CA's keyUsage does not allow certificate signing".into(),
                ));
            }
        }
    }
    // §6.1.5 wrap-up, on the signer's certificate.
    let signer = Node {
        info: path.last().ok_or_else(|| invalid("empty path"))?,
    };
    explicit_policy = explicit_policy.saturating_sub(1);
    if let Some(pc) = signer
        .ext::<PolicyConstraints>()
        .map_err(|_| invalid("malformed policyConstraints"))?
    {
        if pc.require_explicit_policy == Some(0) {
            explicit_policy = 0;
        }
    }
    if explicit_policy == 0 && tree.is_null() {
        return Err(invalid("no acceptable certificate policy on the path"));
    }
    Ok(())
}

/// Extensions marked critical that this engine does not process.
fn critical_extensions(node: &Node<'_>) -> Result<(), Distrust> {
    for ext in node.cert().tbs_certificate.extensions.iter().flatten() {
        if ext.critical && !KNOWN.contains(&ext.extn_id.to_string().as_str()) {
            return Err(invalid(format!(
                "a certificate on the path has an unsupported critical extension {}",
                ext.extn_id
            )));
        }
    }
    Ok(())
}

/// RFC 8550 §4.4.4: extendedKeyUsage, when present, allows e-mail.
fn email_protection(signer: &Node<'_>) -> Result<(), Distrust> {
    match signer.ext::<ExtendedKeyUsage>() {
        Err(()) => Err(invalid("the signer has a malformed extendedKeyUsage")),
        Ok(Some(eku))
            if !eku
                .0
                .iter()
                .any(|o| *o == ID_KP_EMAIL_PROTECTION || *o == ANY_EXTENDED_KEY_USAGE) =>
        {
            Err(Distrust::KeyUsage(
                "the signer's extendedKeyUsage does not include emailProtection".into(),
            ))
        }
        Ok(_) => Ok(()),
    }
}

/// Names a certificate is known by for CRL distribution points.
pub(super) fn general_names_eq(a: &GeneralName, b: &GeneralName) -> bool {
    match (a, b) {
        (GeneralName::DirectoryName(x), GeneralName::DirectoryName(y)) => names::same(x, y),
        _ => a == b,
    }
}
