//! Checking one SignerInfo's signature with the signer's public key: RSA
//! (PKCS#1 v1.5 and PSS, on the `rsa` crate, which takes the prehash), ECDSA
//! on P-256 and P-384 and Ed25519 (on aws-lc-rs, which hashes the signed
//! bytes itself, as `trust::pkix` does for certificates).
//!
//! The signature algorithm must fit the key, and a hash the algorithm
//! names must be the digest algorithm: a signature whose hash differs from
//! the messageDigest's is refused rather than guessed at.

use aws_lc_rs::signature as s;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, ID_MGF_1,
    ID_RSASSA_PSS, RSA_ENCRYPTION, SHA_1_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION,
    SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use der::{Decode, Encode};
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pss::Pss;
use rsa::traits::PublicKeyParts;
use spki::AlgorithmIdentifierOwned;

use super::{DigestAlgorithm, PssParams, MAX_PSS_SALT_LEN};
use crate::error::{fail, Exit};
use crate::smime::certs::{rsa_public_key, CertInfo};
use crate::smime::privkey::key::ID_ED25519;
use crate::smime::privkey::{Curve, KeyKind};

/// The signature algorithm of a verified message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    RsaPkcs1v15,
    RsaPss,
    Ecdsa(Curve),
    Ed25519,
}

impl SignatureAlgorithm {
    /// `RSA`, `RSA-PSS`, `ECDSA P-256`, `ECDSA P-384`, `Ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaPkcs1v15 => "RSA",
            Self::RsaPss => "RSA-PSS",
            Self::Ecdsa(Curve::P256) => "ECDSA P-256",
            Self::Ecdsa(Curve::P384) => "ECDSA P-384",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// The name with the digest, as reports print it: `ECDSA P-256/SHA-256`.
    /// Ed25519 with the SHA-512 RFC 8419 requires is just `Ed25519`: its
    /// signature has no hash of its own to name.
    pub fn with_digest(self, digest: DigestAlgorithm) -> String {
        match (self, digest) {
            (Self::Ed25519, DigestAlgorithm::Sha512) => self.name().to_string(),
            _ => format!("{}/{}", self.name(), digest.name()),
        }
    }
}

fn malformed(what: &str) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed signed message: {what}"))
}

fn unsupported(alg: &AlgorithmIdentifierOwned, kind: KeyKind) -> anyhow::Error {
    fail(
        Exit::DataErr,
        format!(
            "unsupported signature algorithm {} for the signer's {} key",
            alg.oid,
            kind.name()
        ),
    )
}

fn mismatch() -> anyhow::Error {
    fail(
        Exit::DataErr,
        "bad signature: the signature does not match the signer's certificate",
    )
}

/// Checks `signature`, made with `alg`, over `signed` (the signed
/// attributes as sent, or the content when there are none) with the key of
/// `cert`, `digest` being the SignerInfo's digest algorithm.
pub(super) fn check_signature(
    cert: &CertInfo,
    alg: &AlgorithmIdentifierOwned,
    digest: DigestAlgorithm,
    signed: &[u8],
    signature: &[u8],
) -> anyhow::Result<SignatureAlgorithm> {
    let kind = cert.key_kind.clone().map_err(|why| {
        fail(
            Exit::DataErr,
            format!("the signer's certificate cannot be used: {why}"),
        )
    })?;
    let spki = &cert.cert.tbs_certificate.subject_public_key_info;
    let (verifier, found): (&dyn s::VerificationAlgorithm, _) = match kind {
        KeyKind::Rsa => return check_rsa(cert, alg, digest, &digest.hash(signed), signature),
        KeyKind::Ec(curve) => {
            // ecdsa-with-SHAx names its hash; id-ecPublicKey (written by
            // some clients) leaves it to the digest algorithm.
            let named = match alg.oid {
                ECDSA_WITH_SHA_256 => DigestAlgorithm::Sha256,
                ECDSA_WITH_SHA_384 => DigestAlgorithm::Sha384,
                ECDSA_WITH_SHA_512 => DigestAlgorithm::Sha512,
                ID_EC_PUBLIC_KEY => digest,
                _ => return Err(unsupported(alg, kind)),
            };
            if named != digest {
                return Err(malformed(
                    "the signature algorithm's digest differs from the digest algorithm",
                ));
            }
            let verifier: &dyn s::VerificationAlgorithm = match (curve, digest) {
                (Curve::P256, DigestAlgorithm::Sha256) => &s::ECDSA_P256_SHA256_ASN1,
                (Curve::P256, DigestAlgorithm::Sha384) => &s::ECDSA_P256_SHA384_ASN1,
                (Curve::P256, DigestAlgorithm::Sha512) => &s::ECDSA_P256_SHA512_ASN1,
                (Curve::P384, DigestAlgorithm::Sha256) => &s::ECDSA_P384_SHA256_ASN1,
                (Curve::P384, DigestAlgorithm::Sha384) => &s::ECDSA_P384_SHA384_ASN1,
                (Curve::P384, DigestAlgorithm::Sha512) => &s::ECDSA_P384_SHA512_ASN1,
                (_, DigestAlgorithm::Sha1) => {
                    return Err(fail(
                        Exit::DataErr,
                        "unsupported signature algorithm: ECDSA with SHA-1",
                    ))
                }
            };
            (verifier, SignatureAlgorithm::Ecdsa(curve))
        }
        // RFC 8419 §3: pure Ed25519 over the signed bytes; the digest
        // algorithm only made the messageDigest, already checked.
        KeyKind::Ed25519 if alg.oid == ID_ED25519 => (&s::ED25519, SignatureAlgorithm::Ed25519),
        KeyKind::Ed25519 | KeyKind::X25519 => return Err(unsupported(alg, kind)),
    };
    s::UnparsedPublicKey::new(verifier, spki.subject_public_key.raw_bytes())
        .verify(signed, signature)
        .map_err(|_| mismatch())?;
    Ok(found)
}

/// Checks an RSA signature over the prehashed `hashed`.
fn check_rsa(
    cert: &CertInfo,
    alg: &AlgorithmIdentifierOwned,
    digest: DigestAlgorithm,
    hashed: &[u8],
    sig_bytes: &[u8],
) -> anyhow::Result<SignatureAlgorithm> {
    let public = rsa_public_key(&cert.cert)?;
    // Some signers drop leading zero octets; RFC 8017 wants exactly k octets.
    let size = public.size();
    let padded;
    let sig = if sig_bytes.len() < size {
        padded = [vec![0u8; size - sig_bytes.len()], sig_bytes.to_vec()].concat();
        &padded[..]
    } else {
        sig_bytes
    };
    let implied = match alg.oid {
        RSA_ENCRYPTION => Some(None),
        SHA_1_WITH_RSA_ENCRYPTION => Some(Some(DigestAlgorithm::Sha1)),
        SHA_256_WITH_RSA_ENCRYPTION => Some(Some(DigestAlgorithm::Sha256)),
        SHA_384_WITH_RSA_ENCRYPTION => Some(Some(DigestAlgorithm::Sha384)),
        SHA_512_WITH_RSA_ENCRYPTION => Some(Some(DigestAlgorithm::Sha512)),
        _ => None,
    };
    let (found, result) = if let Some(implied) = implied {
        if implied.is_some_and(|d| d != digest) {
            return Err(malformed(
                "the signature algorithm's digest differs from the digest algorithm",
            ));
        }
        let scheme = match digest {
            DigestAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
            DigestAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
            DigestAlgorithm::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
            DigestAlgorithm::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
        };
        (
            SignatureAlgorithm::RsaPkcs1v15,
            public.verify(scheme, hashed, sig),
        )
    } else if alg.oid == ID_RSASSA_PSS {
        let salt = pss_salt_len(alg, digest)?;
        let scheme = match digest {
            DigestAlgorithm::Sha1 => Pss::new_with_salt::<sha1::Sha1>(salt),
            DigestAlgorithm::Sha256 => Pss::new_with_salt::<sha2::Sha256>(salt),
            DigestAlgorithm::Sha384 => Pss::new_with_salt::<sha2::Sha384>(salt),
            DigestAlgorithm::Sha512 => Pss::new_with_salt::<sha2::Sha512>(salt),
        };
        (
            SignatureAlgorithm::RsaPss,
            public.verify(scheme, hashed, sig),
        )
    } else {
        return Err(unsupported(alg, KeyKind::Rsa));
    };
    result.map_err(|_| mismatch())?;
    Ok(found)
}

/// Validates RSASSA-PSS-params against the digest algorithm and returns the
/// salt length. The hash and the MGF1 hash must both be the digest algorithm
/// (RFC 4056 §3 requires the former; the `rsa` crate the latter).
fn pss_salt_len(alg: &AlgorithmIdentifierOwned, digest: DigestAlgorithm) -> anyhow::Result<usize> {
    let params = match &alg.parameters {
        None => PssParams::default(),
        Some(any) => any
            .to_der()
            .and_then(|d| PssParams::from_der(&d))
            .map_err(|e| malformed(&format!("RSASSA-PSS parameters: {e}")))?,
    };
    let hash = params
        .hash
        .as_ref()
        .map_or(Some(DigestAlgorithm::Sha1), |h| {
            DigestAlgorithm::from_oid(&h.oid)
        });
    let mgf_hash = match &params.mask_gen {
        None => Some(DigestAlgorithm::Sha1),
        Some(mgf) if mgf.oid == ID_MGF_1 => mgf
            .parameters
            .as_ref()
            .and_then(|p| p.to_der().ok())
            .and_then(|d| AlgorithmIdentifierOwned::from_der(&d).ok())
            .and_then(|h| DigestAlgorithm::from_oid(&h.oid)),
        Some(_) => None,
    };
    if hash != Some(digest) || mgf_hash != Some(digest) {
        return Err(fail(
            Exit::DataErr,
            "unsupported RSASSA-PSS parameters (hash and MGF1 hash must equal the digest algorithm)",
        ));
    }
    if params.trailer_field.unwrap_or(1) != 1 {
        return Err(malformed("RSASSA-PSS trailer field must be 1"));
    }
    match params.salt_len.unwrap_or(20) {
        salt @ 0..=MAX_PSS_SALT_LEN => Ok(salt as usize),
        salt => Err(malformed(&format!(
            "RSASSA-PSS salt length {salt} is impossible"
        ))),
    }
}
