//! The private keys sealpost holds: RSA, ECDSA/ECDH on P-256 and P-384,
//! Ed25519 (signing only) and X25519 (key agreement only).
//!
//! Everything but RSA runs on aws-lc-rs, the one native crypto library of the
//! tree (constant-time, already linked for TLS and RSA unwrapping): a key is
//! kept as its PKCS#8 DER, zeroized on drop, and handed to aws-lc for each
//! operation. RSA keys stay `rsa` crate keys (public operations and PSS
//! signing); their private decryption goes through `envelope::rsa_unwrap`.

use aws_lc_rs::encoding::{AsBigEndian, Curve25519SeedBin};
use aws_lc_rs::signature::{self as sig, KeyPair};
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1};
use const_oid::ObjectIdentifier;
use der::asn1::OctetStringRef;
use der::{Decode, Encode};
use pkcs8::PrivateKeyInfo;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::RsaPrivateKey;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use crate::error::{fail, Exit};

/// id-X25519 (RFC 8410).
pub const ID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
/// id-X448 (RFC 8410): recognised to be refused by name.
pub const ID_X448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.111");
/// id-Ed25519 (RFC 8410).
pub const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-Ed448 (RFC 8410): recognised to be refused by name.
pub const ID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

/// A NIST curve sealpost uses for ECDSA and ECDH.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
}

impl Curve {
    /// The curve named by an id-ecPublicKey parameter.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            SECP_256_R_1 => Some(Self::P256),
            SECP_384_R_1 => Some(Self::P384),
            _ => None,
        }
    }

    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::P256 => SECP_256_R_1,
            Self::P384 => SECP_384_R_1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "p256",
            Self::P384 => "p384",
        }
    }

    /// The ECDSA signing algorithm: the curve's own hash size (aws-lc pairs
    /// P-384 only with SHA-384), which is also the message digest then.
    fn signing(self) -> &'static sig::EcdsaSigningAlgorithm {
        match self {
            Self::P256 => &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            Self::P384 => &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }

    /// The ECDH algorithm of aws-lc.
    pub fn agreement(self) -> &'static aws_lc_rs::agreement::Algorithm {
        match self {
            Self::P256 => &aws_lc_rs::agreement::ECDH_P256,
            Self::P384 => &aws_lc_rs::agreement::ECDH_P384,
        }
    }
}

/// What a key is, for names, choices and errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Rsa,
    Ec(Curve),
    Ed25519,
    X25519,
}

impl KeyKind {
    /// The short name used on the command line and in JSON: `rsa`, `p256`,
    /// `p384`, `ed25519`, `x25519`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa => "rsa",
            Self::Ec(c) => c.name(),
            Self::Ed25519 => "ed25519",
            Self::X25519 => "x25519",
        }
    }

    /// Whether the key can sign (RSA, ECDSA, Ed25519).
    pub fn can_sign(self) -> bool {
        self != Self::X25519
    }

    /// Whether the key can receive encrypted mail (RSA key transport,
    /// ECDH or X25519 key agreement).
    pub fn can_decrypt(self) -> bool {
        self != Self::Ed25519
    }

    /// The kind of the key in a SubjectPublicKeyInfo, or a one-line reason
    /// why sealpost cannot use it.
    pub fn of_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, String> {
        let oid = spki.algorithm.oid;
        match oid {
            RSA_ENCRYPTION => Ok(Self::Rsa),
            ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                match curve.as_ref().and_then(Curve::from_oid) {
                    Some(c) => Ok(Self::Ec(c)),
                    None => Err(format!(
                        "unsupported elliptic curve {} (P-256 and P-384 are supported)",
                        curve
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "(unnamed)".into())
                    )),
                }
            }
            ID_ED25519 => Ok(Self::Ed25519),
            ID_X25519 => Ok(Self::X25519),
            ID_X448 => Err("X448 keys are not supported (aws-lc has no X448)".into()),
            ID_ED448 => Err("Ed448 keys are not supported (aws-lc has no Ed448)".into()),
            other => Err(format!(
                "unsupported key algorithm {other} (RSA, P-256, P-384, Ed25519 and X25519 are supported)"
            )),
        }
    }
}

/// A private key. Non-RSA keys are their PKCS#8 DER (wiped on drop).
// One key is held per operation, so boxing the larger RSA variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub enum PrivateKey {
    Rsa(RsaPrivateKey),
    Ec {
        curve: Curve,
        pkcs8: Zeroizing<Vec<u8>>,
    },
    Ed25519 {
        pkcs8: Zeroizing<Vec<u8>>,
    },
    X25519 {
        seed: Zeroizing<[u8; 32]>,
    },
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({})", self.kind().name())
    }
}

impl PartialEq for PrivateKey {
    /// Two keys are equal when their public halves are (no secret compared).
    fn eq(&self, other: &Self) -> bool {
        match (self.public_key_info(), other.public_key_info()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

impl From<RsaPrivateKey> for PrivateKey {
    fn from(key: RsaPrivateKey) -> Self {
        Self::Rsa(key)
    }
}

fn rejected(what: &str, kind: &str) -> anyhow::Error {
    fail(
        Exit::DataErr,
        format!("{what}: not a valid {kind} private key"),
    )
}

fn internal(what: &str) -> anyhow::Error {
    fail(Exit::Software, format!("cannot encode {what}"))
}

impl PrivateKey {
    /// What the key is.
    pub fn kind(&self) -> KeyKind {
        match self {
            Self::Rsa(_) => KeyKind::Rsa,
            Self::Ec { curve, .. } => KeyKind::Ec(*curve),
            Self::Ed25519 { .. } => KeyKind::Ed25519,
            Self::X25519 { .. } => KeyKind::X25519,
        }
    }

    /// The RSA key, or a one-line error naming `purpose` for other kinds.
    pub fn rsa(&self, purpose: &str) -> anyhow::Result<&RsaPrivateKey> {
        match self {
            Self::Rsa(key) => Ok(key),
            other => Err(fail(
                Exit::DataErr,
                format!(
                    "{purpose} needs an RSA key; this is a {} key",
                    other.kind().name()
                ),
            )),
        }
    }

    /// Owned [`Self::rsa`].
    pub fn into_rsa(self, purpose: &str) -> anyhow::Result<RsaPrivateKey> {
        match self {
            Self::Rsa(key) => Ok(key),
            other => other.rsa(purpose).cloned(),
        }
    }

    /// A new key of `kind` (RSA keys are made by `identity`, which picks the size).
    pub fn generate(kind: KeyKind) -> anyhow::Result<Self> {
        let failed = || {
            fail(
                Exit::Software,
                format!("{} key generation failed", kind.name()),
            )
        };
        match kind {
            KeyKind::Rsa => Err(fail(Exit::Software, "RSA keys are generated with a size")),
            KeyKind::Ec(curve) => {
                let pair = sig::EcdsaKeyPair::generate(curve.signing()).map_err(|_| failed())?;
                let doc = pair.to_pkcs8v1().map_err(|_| failed())?;
                Ok(Self::Ec {
                    curve,
                    pkcs8: Zeroizing::new(doc.as_ref().to_vec()),
                })
            }
            KeyKind::Ed25519 => {
                let pair = sig::Ed25519KeyPair::generate().map_err(|_| failed())?;
                let doc = pair.to_pkcs8v1().map_err(|_| failed())?;
                Ok(Self::Ed25519 {
                    pkcs8: Zeroizing::new(doc.as_ref().to_vec()),
                })
            }
            KeyKind::X25519 => {
                let key = aws_lc_rs::agreement::PrivateKey::generate(&aws_lc_rs::agreement::X25519)
                    .map_err(|_| failed())?;
                let seed: Curve25519SeedBin<'_> = key.as_be_bytes().map_err(|_| failed())?;
                let mut out = Zeroizing::new([0u8; 32]);
                out.copy_from_slice(seed.as_ref());
                Ok(Self::X25519 { seed: out })
            }
        }
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (plain DER) of any supported kind.
    pub fn from_pkcs8_der(der: &[u8], what: &str) -> anyhow::Result<Self> {
        let info = PrivateKeyInfo::from_der(der).map_err(|e| {
            fail(
                Exit::DataErr,
                format!("{what}: malformed PKCS#8 private key: {e}"),
            )
        })?;
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: info.algorithm.oid,
                parameters: info.algorithm.parameters.map(Into::into),
            },
            subject_public_key: der::asn1::BitString::new(0, Vec::new())
                .map_err(|_| internal("key"))?,
        };
        let kind =
            KeyKind::of_spki(&spki).map_err(|why| fail(Exit::DataErr, format!("{what}: {why}")))?;
        match kind {
            KeyKind::Rsa => {
                let key = RsaPrivateKey::from_pkcs8_der(der).map_err(|e| {
                    fail(
                        Exit::DataErr,
                        format!("{what}: not an RSA private key sealpost can use: {e}"),
                    )
                })?;
                key.validate().map_err(|e| {
                    fail(Exit::DataErr, format!("{what}: inconsistent RSA key: {e}"))
                })?;
                Ok(Self::Rsa(key))
            }
            KeyKind::Ec(curve) => {
                // Re-encoded by aws-lc, so that the public key is always there.
                let pair = sig::EcdsaKeyPair::from_pkcs8(curve.signing(), der)
                    .map_err(|_| rejected(what, curve.name()))?;
                let doc = pair.to_pkcs8v1().map_err(|_| internal("key"))?;
                Ok(Self::Ec {
                    curve,
                    pkcs8: Zeroizing::new(doc.as_ref().to_vec()),
                })
            }
            KeyKind::Ed25519 => {
                let pair = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|_| rejected(what, "Ed25519"))?;
                let doc = pair.to_pkcs8v1().map_err(|_| internal("key"))?;
                Ok(Self::Ed25519 {
                    pkcs8: Zeroizing::new(doc.as_ref().to_vec()),
                })
            }
            KeyKind::X25519 => {
                // RFC 8410 §7: CurvePrivateKey ::= OCTET STRING, inside privateKey.
                let inner = OctetStringRef::from_der(info.private_key)
                    .map_err(|_| rejected(what, "X25519"))?;
                let bytes: [u8; 32] = inner
                    .as_bytes()
                    .try_into()
                    .map_err(|_| rejected(what, "X25519"))?;
                let seed = Zeroizing::new(bytes);
                aws_lc_rs::agreement::PrivateKey::from_private_key(
                    &aws_lc_rs::agreement::X25519,
                    seed.as_slice(),
                )
                .map_err(|_| rejected(what, "X25519"))?;
                Ok(Self::X25519 { seed })
            }
        }
    }

    /// Reads an RFC 5915 `ECPrivateKey` ("EC PRIVATE KEY" PEM), P-256 or P-384.
    pub fn from_sec1_der(der: &[u8], what: &str) -> anyhow::Result<Self> {
        for curve in [Curve::P256, Curve::P384] {
            if let Ok(pair) = sig::EcdsaKeyPair::from_private_key_der(curve.signing(), der) {
                let doc = pair.to_pkcs8v1().map_err(|_| internal("key"))?;
                return Ok(Self::Ec {
                    curve,
                    pkcs8: Zeroizing::new(doc.as_ref().to_vec()),
                });
            }
        }
        Err(fail(
            Exit::DataErr,
            format!("{what}: not an EC private key on P-256 or P-384"),
        ))
    }

    /// The key as PKCS#8 `PrivateKeyInfo` DER.
    pub fn to_pkcs8_der(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        match self {
            Self::Rsa(key) => Ok(Zeroizing::new(
                key.to_pkcs8_der()
                    .map_err(|e| fail(Exit::Software, format!("cannot encode private key: {e}")))?
                    .as_bytes()
                    .to_vec(),
            )),
            Self::Ec { pkcs8, .. } | Self::Ed25519 { pkcs8 } => Ok(pkcs8.clone()),
            Self::X25519 { seed } => {
                let inner = Zeroizing::new(
                    OctetStringRef::new(seed.as_slice())
                        .and_then(|o| o.to_der())
                        .map_err(|_| internal("key"))?,
                );
                let info = PrivateKeyInfo::new(
                    pkcs8::AlgorithmIdentifierRef {
                        oid: ID_X25519,
                        parameters: None,
                    },
                    &inner,
                );
                Ok(Zeroizing::new(info.to_der().map_err(|_| internal("key"))?))
            }
        }
    }

    /// The public half as a SubjectPublicKeyInfo.
    pub fn public_key_info(&self) -> anyhow::Result<SubjectPublicKeyInfoOwned> {
        let (oid, params, bits): (ObjectIdentifier, Option<der::Any>, Vec<u8>) = match self {
            Self::Rsa(key) => {
                let der = key
                    .to_public_key()
                    .to_public_key_der()
                    .map_err(|_| internal("public key"))?;
                return SubjectPublicKeyInfoOwned::from_der(der.as_bytes())
                    .map_err(|_| internal("public key"));
            }
            Self::Ec { curve, pkcs8 } => {
                let pair = sig::EcdsaKeyPair::from_pkcs8(curve.signing(), pkcs8)
                    .map_err(|_| internal("public key"))?;
                (
                    ID_EC_PUBLIC_KEY,
                    Some(der::Any::encode_from(&curve.oid()).map_err(|_| internal("public key"))?),
                    pair.public_key().as_ref().to_vec(),
                )
            }
            Self::Ed25519 { pkcs8 } => {
                let pair = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                    .map_err(|_| internal("public key"))?;
                (ID_ED25519, None, pair.public_key().as_ref().to_vec())
            }
            Self::X25519 { .. } => {
                let public = self
                    .agreement_key()?
                    .compute_public_key()
                    .map_err(|_| internal("public key"))?;
                (ID_X25519, None, public.as_ref().to_vec())
            }
        };
        Ok(SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: params,
            },
            subject_public_key: der::asn1::BitString::from_bytes(&bits)
                .map_err(|_| internal("public key"))?,
        })
    }

    /// Whether `spki` (a certificate's key) is this key's public half:
    /// the same algorithm, curve and key bits.
    pub fn matches(&self, spki: &SubjectPublicKeyInfoOwned) -> bool {
        let Ok(own) = self.public_key_info() else {
            return false;
        };
        let curve = |s: &SubjectPublicKeyInfoOwned| {
            s.algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        };
        own.algorithm.oid == spki.algorithm.oid
            && (own.algorithm.oid != ID_EC_PUBLIC_KEY || curve(&own) == curve(spki))
            && own.subject_public_key.raw_bytes() == spki.subject_public_key.raw_bytes()
    }

    /// The ECDH / X25519 private key for key agreement, or an error for
    /// keys that only sign.
    pub fn agreement_key(&self) -> anyhow::Result<aws_lc_rs::agreement::PrivateKey> {
        let unusable = || {
            fail(
                Exit::DataErr,
                "the private key is not usable for key agreement",
            )
        };
        match self {
            Self::Ec { curve, pkcs8 } => {
                aws_lc_rs::agreement::PrivateKey::from_private_key_der(curve.agreement(), pkcs8)
                    .map_err(|_| unusable())
            }
            Self::X25519 { seed } => aws_lc_rs::agreement::PrivateKey::from_private_key(
                &aws_lc_rs::agreement::X25519,
                seed.as_slice(),
            )
            .map_err(|_| unusable()),
            other => Err(fail(
                Exit::DataErr,
                format!("a {} key cannot do key agreement", other.kind().name()),
            )),
        }
    }

    /// Signs `message` with ECDSA (DER signature, the curve's hash) or
    /// Ed25519 (pure). RSA signing stays with `signed::sign`, which picks
    /// the padding.
    pub fn sign_ec(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let failed = || fail(Exit::Software, "signing failed");
        match self {
            Self::Ec { curve, pkcs8 } => {
                let pair =
                    sig::EcdsaKeyPair::from_pkcs8(curve.signing(), pkcs8).map_err(|_| failed())?;
                let rng = aws_lc_rs::rand::SystemRandom::new();
                Ok(pair
                    .sign(&rng, message)
                    .map_err(|_| failed())?
                    .as_ref()
                    .to_vec())
            }
            Self::Ed25519 { pkcs8 } => {
                let pair =
                    sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(|_| failed())?;
                Ok(pair.sign(message).as_ref().to_vec())
            }
            other => Err(fail(
                Exit::DataErr,
                format!("a {} key cannot sign here", other.kind().name()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_kind_survives_pkcs8_and_matches_its_public_key() {
        for kind in [
            KeyKind::Ec(Curve::P256),
            KeyKind::Ec(Curve::P384),
            KeyKind::Ed25519,
            KeyKind::X25519,
        ] {
            let key = PrivateKey::generate(kind).unwrap();
            assert_eq!(key.kind(), kind);
            let der = key.to_pkcs8_der().unwrap();
            let back = PrivateKey::from_pkcs8_der(&der, "k").unwrap();
            assert_eq!(back.kind(), kind);
            let spki = key.public_key_info().unwrap();
            assert!(back.matches(&spki), "{kind:?}");
            let other = PrivateKey::generate(kind).unwrap();
            assert!(!other.matches(&spki), "{kind:?}");
        }
    }

    #[test]
    fn x448_and_ed448_are_refused_by_name() {
        for (oid, name) in [(ID_X448, "X448"), (ID_ED448, "Ed448")] {
            let info = PrivateKeyInfo::new(
                pkcs8::AlgorithmIdentifierRef {
                    oid,
                    parameters: None,
                },
                &[4, 2, 0, 0],
            );
            let err = PrivateKey::from_pkcs8_der(&info.to_der().unwrap(), "k").unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
            assert!(!err.to_string().contains("rsaEncryption"), "{err}");
        }
    }
}
