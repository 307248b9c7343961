//! New identities: an RSA key and a self-signed S/MIME certificate carrying
//! the extensions S/MIME peers look for, plus the SMIMECapabilities that tell
//! other sealpost users (and RFC 4262-aware clients) which algorithms we read.

use std::time::Duration;

use const_oid::db::rfc4519::CN as ID_AT_COMMON_NAME;
use const_oid::db::rfc5280::ID_KP_EMAIL_PROTECTION;
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{Any, Ia5String, SetOfVec, Utf8StringRef};
use der::referenced::OwnedToRef;
use der::{Encode, Writer};
use rand_core::CryptoRngCore;
use rsa::RsaPrivateKey;
use sha2::Sha256;
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::error::{fail, Exit};
use crate::smime::certs::{validate_address, CertInfo, UnixTime};

/// RSA sizes sealpost generates.
pub const ALLOWED_BITS: &[usize] = &[2048, 3072, 4096];

/// What to put in a new identity.
pub struct NewIdentity<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub bits: usize,
    pub days: u32,
}

// The capability OIDs live in `certs`, which reads them from certificates;
// re-exported here, where sealpost's own capabilities are built from them.
pub use super::certs::{
    ID_AES128_CBC, ID_AES128_GCM, ID_AES256_CBC, ID_AES256_GCM, ID_RSAES_OAEP,
    ID_SMIME_CAPABILITIES,
};

/// The SMIMECapabilities sealpost advertises for its own keys.
pub fn own_capabilities() -> Vec<AlgorithmIdentifierOwned> {
    [
        ID_AES256_GCM,
        ID_AES128_GCM,
        ID_AES256_CBC,
        ID_AES128_CBC,
        ID_RSAES_OAEP,
    ]
    .into_iter()
    .map(|oid| AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
    .collect()
}

/// The RFC 4262 SMIMECapabilities certificate extension.
struct SmimeCapabilities(Vec<AlgorithmIdentifierOwned>);

impl AssociatedOid for SmimeCapabilities {
    const OID: ObjectIdentifier = ID_SMIME_CAPABILITIES;
}

impl Encode for SmimeCapabilities {
    fn encoded_len(&self) -> der::Result<der::Length> {
        self.0.encoded_len()
    }
    fn encode(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.0.encode(writer)
    }
}

/// An extension with its criticality chosen here rather than by x509-cert's
/// defaults (which mark extendedKeyUsage critical; S/MIME profiles and most
/// CAs leave it non-critical, and some clients reject what they cannot parse).
struct WithCriticality<T> {
    value: T,
    critical: bool,
}

impl<T: AssociatedOid> AssociatedOid for WithCriticality<T> {
    const OID: ObjectIdentifier = T::OID;
}

impl<T: Encode> Encode for WithCriticality<T> {
    fn encoded_len(&self) -> der::Result<der::Length> {
        self.value.encoded_len()
    }
    fn encode(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.value.encode(writer)
    }
}

impl<T: AssociatedOid + Encode> AsExtension for WithCriticality<T> {
    fn critical(&self, _: &Name, _: &[Extension]) -> bool {
        self.critical
    }
}

/// Generates a key pair and a self-signed certificate valid from `now` for `days`.
pub fn generate(
    spec: &NewIdentity<'_>,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<(RsaPrivateKey, CertInfo)> {
    if !ALLOWED_BITS.contains(&spec.bits) {
        return Err(fail(
            Exit::Usage,
            format!(
                "unsupported key size {} (choose 2048, 3072 or 4096)",
                spec.bits
            ),
        ));
    }
    let key = RsaPrivateKey::new(rng, spec.bits)
        .map_err(|e| fail(Exit::Software, format!("RSA key generation failed: {e}")))?;
    let cert = self_signed_certificate(&key, spec, now, rng)?;
    Ok((key, cert))
}

/// A self-signed S/MIME certificate for an existing key.
pub fn self_signed_certificate(
    key: &RsaPrivateKey,
    spec: &NewIdentity<'_>,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<CertInfo> {
    let email = validate_address(spec.email)?;
    if spec.days == 0 {
        return Err(fail(Exit::Usage, "--days must be at least 1"));
    }
    let err = |what: &str, e: &dyn std::fmt::Display| {
        fail(
            Exit::Software,
            format!("cannot build certificate ({what}): {e}"),
        )
    };
    let common_name = spec.name.unwrap_or(&email);
    let subject = Name::from(RdnSequence(vec![RelativeDistinguishedName(
        SetOfVec::try_from(vec![AttributeTypeAndValue {
            oid: ID_AT_COMMON_NAME,
            value: Any::from(Utf8StringRef::new(common_name).map_err(|e| err("name", &e))?),
        }])
        .map_err(|e| err("name", &e))?,
    )]));
    // Back-date by five minutes so that a peer with a slightly slow clock accepts it.
    let start = Duration::from_secs((now.max(300) - 300) as u64);
    let end = Duration::from_secs(now.max(0) as u64 + u64::from(spec.days) * 86_400);
    let validity = Validity {
        not_before: Time::GeneralTime(
            der::asn1::GeneralizedTime::from_unix_duration(start)
                .map_err(|e| err("validity", &e))?,
        ),
        not_after: Time::GeneralTime(
            der::asn1::GeneralizedTime::from_unix_duration(end).map_err(|e| err("validity", &e))?,
        ),
    };
    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x40; // positive, and a full 16 bytes
    let spki =
        SubjectPublicKeyInfoOwned::from_key(key.to_public_key()).map_err(|e| err("key", &e))?;
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    let mut builder = CertificateBuilder::new(
        Profile::Manual { issuer: None },
        SerialNumber::new(&serial).map_err(|e| err("serial", &e))?,
        validity,
        subject,
        spki.clone(),
        &signer,
    )
    .map_err(|e| err("builder", &e))?;
    let spki_ref = spki.owned_to_ref();
    let ski = SubjectKeyIdentifier::try_from(spki_ref.clone()).map_err(|e| err("ski", &e))?;
    let aki = AuthorityKeyIdentifier::try_from(spki_ref).map_err(|e| err("aki", &e))?;
    builder
        .add_extension(&BasicConstraints {
            ca: false,
            path_len_constraint: None,
        })
        .map_err(|e| err("basicConstraints", &e))?;
    builder
        .add_extension(&KeyUsage(
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        ))
        .map_err(|e| err("keyUsage", &e))?;
    builder
        .add_extension(&WithCriticality {
            value: ExtendedKeyUsage(vec![ID_KP_EMAIL_PROTECTION]),
            critical: false,
        })
        .map_err(|e| err("extendedKeyUsage", &e))?;
    builder
        .add_extension(&SubjectAltName(vec![GeneralName::Rfc822Name(
            Ia5String::new(&email).map_err(|_| {
                fail(
                    Exit::Usage,
                    format!("'{email}' must be ASCII for a certificate"),
                )
            })?,
        )]))
        .map_err(|e| err("subjectAltName", &e))?;
    builder
        .add_extension(&ski)
        .map_err(|e| err("subjectKeyIdentifier", &e))?;
    builder
        .add_extension(&aki)
        .map_err(|e| err("authorityKeyIdentifier", &e))?;
    builder
        .add_extension(&WithCriticality {
            value: SmimeCapabilities(own_capabilities()),
            critical: false,
        })
        .map_err(|e| err("smimeCapabilities", &e))?;
    let cert = builder
        .build_with_rng::<rsa::pkcs1v15::Signature>(rng)
        .map_err(|e| err("signing", &e))?;
    // Keep the compiler honest about the trait we rely on for SPKI encoding.
    let _ = key.to_public_key().to_public_key_der();
    CertInfo::from_cert(cert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_is_usable_for_its_address() {
        let pem = std::fs::read_to_string(format!(
            "{}/tests/data/alice.key.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let key = crate::smime::privkey::open(&pem, None, "alice").unwrap();
        let now = crate::smime::certs::now();
        let spec = NewIdentity {
            email: "Alice@Example.ORG",
            name: Some("Alice, Q."),
            bits: 2048,
            days: 30,
        };
        let cert = self_signed_certificate(&key, &spec, now, &mut rand_core::OsRng).unwrap();
        assert_eq!(cert.emails, vec!["Alice@example.org".to_string()]);
        assert!(cert
            .encryption_problems("Alice@example.org", now)
            .is_empty());
        assert!(crate::smime::privkey::key_matches_cert(&key, &cert));
        assert!(cert.not_after - now >= 30 * 86_400);
        assert!(cert.subject.contains("Alice"));
    }

    #[test]
    fn refuses_odd_key_sizes() {
        let spec = NewIdentity {
            email: "a@b.c",
            name: None,
            bits: 1024,
            days: 1,
        };
        assert!(generate(&spec, 0, &mut rand_core::OsRng).is_err());
    }
}
