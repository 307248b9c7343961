//! Any [`PrivateKey`] that can sign, as the `signature` traits x509-cert's
//! builders want: for self-issued certificates (`identity`) and certificate
//! requests. RSA signs PKCS#1 v1.5 with SHA-256, ECDSA with the curve's hash,
//! Ed25519 pure.

use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, SHA_256_WITH_RSA_ENCRYPTION};
use der::asn1::BitString;
use der::{Any, Encode};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SignatureBitStringEncoding, SubjectPublicKeyInfoOwned,
};

use super::key::{Curve, PrivateKey, ID_ED25519};

/// A signature as bytes (DER for ECDSA, raw for RSA and Ed25519).
#[derive(Clone, Debug)]
pub struct RawSignature(Box<[u8]>);

impl TryFrom<&[u8]> for RawSignature {
    type Error = signature::Error;
    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Ok(Self(bytes.into()))
    }
}

impl From<RawSignature> for Box<[u8]> {
    fn from(s: RawSignature) -> Self {
        s.0
    }
}

impl signature::SignatureEncoding for RawSignature {
    type Repr = Box<[u8]>;
}

impl SignatureBitStringEncoding for RawSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

/// The public half, encoded as the builders ask.
#[derive(Clone, Debug)]
pub struct PublicHalf(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for PublicHalf {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::try_from(self.0.to_der()?)?)
    }
}

/// A private key that signs certificates and requests.
pub struct CertSigner<'a> {
    key: &'a PrivateKey,
    public: PublicHalf,
}

impl<'a> CertSigner<'a> {
    /// `None` for keys that cannot sign (X25519).
    pub fn new(key: &'a PrivateKey) -> anyhow::Result<Option<Self>> {
        if !key.kind().can_sign() {
            return Ok(None);
        }
        Ok(Some(Self {
            key,
            public: PublicHalf(key.public_key_info()?),
        }))
    }
}

impl signature::Keypair for CertSigner<'_> {
    type VerifyingKey = PublicHalf;
    fn verifying_key(&self) -> PublicHalf {
        self.public.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for CertSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(match self.key {
            // RFC 4055 §5: sha256WithRSAEncryption carries NULL parameters.
            PrivateKey::Rsa(_) => AlgorithmIdentifierOwned {
                oid: SHA_256_WITH_RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            // RFC 5758 §3.2 and RFC 8410 §3: parameters absent.
            PrivateKey::Ec { curve, .. } => AlgorithmIdentifierOwned {
                oid: match curve {
                    Curve::P256 => ECDSA_WITH_SHA_256,
                    Curve::P384 => ECDSA_WITH_SHA_384,
                },
                parameters: None,
            },
            PrivateKey::Ed25519 { .. } => AlgorithmIdentifierOwned {
                oid: ID_ED25519,
                parameters: None,
            },
            PrivateKey::X25519 { .. } => return Err(spki::Error::KeyMalformed),
        })
    }
}

impl signature::Signer<RawSignature> for CertSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<RawSignature, signature::Error> {
        let bytes = match self.key {
            PrivateKey::Rsa(key) => {
                use signature::SignatureEncoding;
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
                signer.try_sign(msg)?.to_vec()
            }
            other => other.sign_ec(msg).map_err(|_| signature::Error::new())?,
        };
        Ok(RawSignature(bytes.into()))
    }
}

/// An RSA key held elsewhere (a PKCS#11 token) that signs PKCS#1 v1.5
/// with SHA-256 through `sign`, for the certificate builders.
pub struct ExternalRsaSigner<'a> {
    public: PublicHalf,
    sign: &'a (dyn Fn(&[u8]) -> anyhow::Result<Vec<u8>> + 'a),
}

impl<'a> ExternalRsaSigner<'a> {
    pub fn new(
        public: SubjectPublicKeyInfoOwned,
        sign: &'a (dyn Fn(&[u8]) -> anyhow::Result<Vec<u8>> + 'a),
    ) -> Self {
        Self {
            public: PublicHalf(public),
            sign,
        }
    }
}

impl signature::Keypair for ExternalRsaSigner<'_> {
    type VerifyingKey = PublicHalf;
    fn verifying_key(&self) -> PublicHalf {
        self.public.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for ExternalRsaSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(AlgorithmIdentifierOwned {
            oid: SHA_256_WITH_RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        })
    }
}

impl signature::Signer<RawSignature> for ExternalRsaSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<RawSignature, signature::Error> {
        let bytes = (self.sign)(msg).map_err(|_| signature::Error::new())?;
        Ok(RawSignature(bytes.into()))
    }
}
