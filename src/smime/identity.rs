//! New identities: a key (RSA, P-256, P-384, or an Ed25519 signing key with
//! an X25519 encryption key beside it) and a self-issued S/MIME certificate carrying
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
use spki::AlgorithmIdentifierOwned;
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
use crate::smime::privkey::signer::{CertSigner, ExternalRsaSigner, RawSignature};
use crate::smime::privkey::{Curve, KeyKind, PrivateKey};

/// RSA sizes sealpost generates.
pub const ALLOWED_BITS: &[usize] = &[2048, 3072, 4096];

/// Which key a new identity gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// RSA of this many bits (one of [`ALLOWED_BITS`]): signs and decrypts.
    Rsa(usize),
    /// One ECDSA/ECDH key on a NIST curve: signs and decrypts (key agreement).
    Ec(Curve),
    /// An Ed25519 key that signs and an X25519 key that decrypts, each with
    /// its own certificate (RFC 8551 §2 wants the two uses on separate keys;
    /// the X25519 certificate is issued by the Ed25519 key).
    Ed25519,
}

impl KeyAlgorithm {
    /// The command-line name: `rsa2048`, `rsa3072`, `rsa4096`, `p256`, `p384`, `ed25519`.
    pub fn name(self) -> String {
        match self {
            Self::Rsa(bits) => format!("rsa{bits}"),
            Self::Ec(curve) => curve.name().to_owned(),
            Self::Ed25519 => "ed25519".to_owned(),
        }
    }
}

/// What to put in a new identity.
pub struct NewIdentity<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub algorithm: KeyAlgorithm,
    pub days: u32,
}

// The capability OIDs live in `certs`, which reads them from certificates;
// re-exported here, where sealpost's own capabilities are built from them.
pub use super::certs::{
    ID_AES128_CBC, ID_AES128_GCM, ID_AES256_CBC, ID_AES256_GCM, ID_CHACHA20_POLY1305,
    ID_RSAES_OAEP, ID_SMIME_CAPABILITIES,
};

/// The SMIMECapabilities sealpost advertises for its own keys, in order of
/// preference (RFC 8551 §2.5.2): ChaCha20-Poly1305 (RFC 8103 §4: no
/// parameters) after the AES-GCM sealpost writes by default.
pub fn own_capabilities() -> Vec<AlgorithmIdentifierOwned> {
    [
        ID_AES256_GCM,
        ID_AES128_GCM,
        ID_CHACHA20_POLY1305,
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

/// Generates the keys of a new identity and their certificates, valid from
/// `now` for `days`: one key for RSA and the NIST curves; for Ed25519 the
/// signing key first, then the X25519 key that receives mail.
pub fn generate(
    spec: &NewIdentity<'_>,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Vec<(PrivateKey, CertInfo)>> {
    match spec.algorithm {
        KeyAlgorithm::Rsa(bits) => {
            let key = PrivateKey::Rsa(generate_rsa(bits, rng)?);
            let cert = self_signed_certificate(&key, spec, now, rng)?;
            Ok(vec![(key, cert)])
        }
        KeyAlgorithm::Ec(curve) => {
            let key = PrivateKey::generate(KeyKind::Ec(curve))?;
            let cert = self_signed_certificate(&key, spec, now, rng)?;
            Ok(vec![(key, cert)])
        }
        KeyAlgorithm::Ed25519 => {
            let signing = PrivateKey::generate(KeyKind::Ed25519)?;
            let signing_cert = self_signed_certificate(&signing, spec, now, rng)?;
            let receiving = PrivateKey::generate(KeyKind::X25519)?;
            let receiving_cert =
                certificate(&receiving, Some((&signing, &signing_cert)), spec, now, rng)?;
            Ok(vec![(signing, signing_cert), (receiving, receiving_cert)])
        }
    }
}

/// A new RSA key of one of the [`ALLOWED_BITS`] sizes.
pub fn generate_rsa(bits: usize, rng: &mut impl CryptoRngCore) -> anyhow::Result<RsaPrivateKey> {
    if !ALLOWED_BITS.contains(&bits) {
        return Err(fail(
            Exit::Usage,
            format!("unsupported key size {bits} (choose 2048, 3072 or 4096)"),
        ));
    }
    RsaPrivateKey::new(rng, bits)
        .map_err(|e| fail(Exit::Software, format!("RSA key generation failed: {e}")))
}

/// A self-signed S/MIME certificate for an existing key that can sign.
pub fn self_signed_certificate(
    key: &PrivateKey,
    spec: &NewIdentity<'_>,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<CertInfo> {
    certificate(key, None, spec, now, rng)
}

/// The key usages a certificate for `kind` asserts (RFC 8550 §4.4.2).
fn key_usages(kind: KeyKind) -> KeyUsage {
    KeyUsage(match kind {
        KeyKind::Rsa => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        KeyKind::Ec(_) => KeyUsages::DigitalSignature | KeyUsages::KeyAgreement,
        KeyKind::Ed25519 => KeyUsages::DigitalSignature.into(),
        KeyKind::X25519 => KeyUsages::KeyAgreement.into(),
    })
}

/// The subject of sealpost's own certificates and requests: a common name,
/// and in a request also the address as emailAddress (PKCS #9), which
/// some CAs still look for beside the subjectAltName.
fn subject_name(common_name: &str, email: Option<&str>) -> anyhow::Result<Name> {
    let err = |e: der::Error| {
        fail(
            Exit::Usage,
            format!("cannot use {common_name:?} as a name: {e}"),
        )
    };
    let mut rdns = vec![RelativeDistinguishedName(
        SetOfVec::try_from(vec![AttributeTypeAndValue {
            oid: ID_AT_COMMON_NAME,
            value: Any::from(Utf8StringRef::new(common_name).map_err(err)?),
        }])
        .map_err(err)?,
    )];
    if let Some(email) = email {
        rdns.push(RelativeDistinguishedName(
            SetOfVec::try_from(vec![AttributeTypeAndValue {
                oid: const_oid::db::rfc3280::EMAIL_ADDRESS,
                value: Any::encode_from(&ascii_address(email)?).map_err(err)?,
            }])
            .map_err(err)?,
        ));
    }
    Ok(Name::from(RdnSequence(rdns)))
}

fn ascii_address(email: &str) -> anyhow::Result<Ia5String> {
    Ia5String::new(email).map_err(|_| {
        fail(
            Exit::Usage,
            format!("'{email}' must be ASCII for a certificate"),
        )
    })
}

/// The extensions that make a certificate (or request one) for S/MIME:
/// what the key may do, for e-mail protection, for which address.
struct SmimeUsage {
    key_usage: KeyUsage,
    extended: WithCriticality<ExtendedKeyUsage>,
    alt_name: SubjectAltName,
}

impl SmimeUsage {
    fn new(kind: KeyKind, email: &str) -> anyhow::Result<SmimeUsage> {
        Ok(SmimeUsage {
            key_usage: key_usages(kind),
            extended: WithCriticality {
                value: ExtendedKeyUsage(vec![ID_KP_EMAIL_PROTECTION]),
                critical: false,
            },
            alt_name: SubjectAltName(vec![GeneralName::Rfc822Name(ascii_address(email)?)]),
        })
    }

    /// Adds the three extensions to a certificate or a request; `err`
    /// names the one that failed.
    fn add_to(
        &self,
        builder: &mut impl AddExtension,
        err: impl Fn(&str, &dyn std::fmt::Display) -> anyhow::Error,
    ) -> anyhow::Result<()> {
        builder
            .add(&self.key_usage)
            .map_err(|e| err("keyUsage", &e))?;
        builder
            .add(&self.extended)
            .map_err(|e| err("extendedKeyUsage", &e))?;
        builder
            .add(&self.alt_name)
            .map_err(|e| err("subjectAltName", &e))
    }
}

/// What certificates and requests have in common: extensions are added to
/// both (x509-cert has no trait for it).
trait AddExtension {
    fn add<E: AsExtension>(&mut self, extension: &E) -> Result<(), x509_cert::builder::Error>;
}

impl<S> AddExtension for CertificateBuilder<'_, S>
where
    S: signature::Keypair + spki::DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: spki::EncodePublicKey,
{
    fn add<E: AsExtension>(&mut self, extension: &E) -> Result<(), x509_cert::builder::Error> {
        self.add_extension(extension)
    }
}

impl<S> AddExtension for x509_cert::builder::RequestBuilder<'_, S>
where
    S: signature::Keypair + spki::DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: spki::EncodePublicKey,
{
    fn add<E: AsExtension>(&mut self, extension: &E) -> Result<(), x509_cert::builder::Error> {
        self.add_extension(extension)
    }
}

/// A certificate for `key`, signed by `issuer` (key and certificate) or,
/// without one, by `key` itself.
fn certificate(
    key: &PrivateKey,
    issuer: Option<(&PrivateKey, &CertInfo)>,
    spec: &NewIdentity<'_>,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<CertInfo> {
    let email = validate_address(spec.email)?;
    let base_name = spec.name.unwrap_or(&email);
    // A certificate issued by our own signing key gets a name of its own, so
    // that no path builder takes it for the self-signed one.
    let common_name = match issuer {
        Some(_) => format!("{base_name} (encryption)"),
        None => base_name.to_owned(),
    };
    let spki = key.public_key_info()?;
    let (signing_key, issuer) = match issuer {
        Some((k, c)) => (
            k,
            Some((
                c.cert.tbs_certificate.subject.clone(),
                c.cert.tbs_certificate.subject_public_key_info.clone(),
            )),
        ),
        None => (key, None),
    };
    let signer = CertSigner::new(signing_key)?.ok_or_else(|| {
        fail(
            Exit::Software,
            format!(
                "a {} key cannot sign a certificate",
                signing_key.kind().name()
            ),
        )
    })?;
    build_certificate(
        spki,
        key.kind(),
        issuer,
        &signer,
        common_name,
        spec,
        now,
        rng,
    )
}

/// A self-signed S/MIME certificate for an RSA key held elsewhere (a
/// PKCS#11 token): `sign` makes the PKCS#1 v1.5 SHA-256 signature.
pub fn self_signed_external_rsa(
    public: &rsa::RsaPublicKey,
    sign: &(dyn Fn(&[u8]) -> anyhow::Result<Vec<u8>> + '_),
    spec: &NewIdentity<'_>,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<CertInfo> {
    use rsa::pkcs8::EncodePublicKey;
    use spki::der::Decode;
    let email = validate_address(spec.email)?;
    let der = public
        .to_public_key_der()
        .map_err(|e| fail(Exit::Software, format!("cannot encode the public key: {e}")))?;
    let spki = spki::SubjectPublicKeyInfoOwned::from_der(der.as_bytes())
        .map_err(|e| fail(Exit::Software, format!("cannot encode the public key: {e}")))?;
    let signer = ExternalRsaSigner::new(spki.clone(), sign);
    let common_name = spec.name.unwrap_or(&email).to_owned();
    build_certificate(
        spki,
        KeyKind::Rsa,
        None,
        &signer,
        common_name,
        spec,
        now,
        rng,
    )
}

/// The certificate for `spki` (a key of `kind`) signed by `signer`, whose
/// subject and public key `issuer` gives (self-signed without one).
#[allow(clippy::too_many_arguments)]
fn build_certificate<S>(
    spki: spki::SubjectPublicKeyInfoOwned,
    kind: KeyKind,
    issuer: Option<(Name, spki::SubjectPublicKeyInfoOwned)>,
    signer: &S,
    common_name: String,
    spec: &NewIdentity<'_>,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<CertInfo>
where
    S: signature::Keypair + spki::DynSignatureAlgorithmIdentifier + signature::Signer<RawSignature>,
    S::VerifyingKey: spki::EncodePublicKey,
{
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
    let subject = subject_name(&common_name, None)?;
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
    let (issuer_name, issuer_spki) = match issuer {
        Some((name, spki)) => (Some(name), spki),
        None => (None, spki.clone()),
    };
    let mut builder = CertificateBuilder::new(
        Profile::Manual {
            issuer: issuer_name,
        },
        SerialNumber::new(&serial).map_err(|e| err("serial", &e))?,
        validity,
        subject,
        spki.clone(),
        signer,
    )
    .map_err(|e| err("builder", &e))?;
    let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref()).map_err(|e| err("ski", &e))?;
    let aki =
        AuthorityKeyIdentifier::try_from(issuer_spki.owned_to_ref()).map_err(|e| err("aki", &e))?;
    builder
        .add_extension(&BasicConstraints {
            ca: false,
            path_len_constraint: None,
        })
        .map_err(|e| err("basicConstraints", &e))?;
    SmimeUsage::new(kind, &email)?.add_to(&mut builder, err)?;
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
        .build::<RawSignature>()
        .map_err(|e| err("signing", &e))?;
    CertInfo::from_cert(cert)
}

mod request;

pub use request::{certificate_request, NewRequest};

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
            algorithm: KeyAlgorithm::Rsa(2048),
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
            algorithm: KeyAlgorithm::Rsa(1024),
            days: 1,
        };
        assert!(generate(&spec, 0, &mut rand_core::OsRng).is_err());
    }

    #[test]
    fn every_algorithm_gives_certificates_that_sign_and_receive() {
        let now = crate::smime::certs::now();
        for algorithm in [
            KeyAlgorithm::Ec(Curve::P256),
            KeyAlgorithm::Ec(Curve::P384),
            KeyAlgorithm::Ed25519,
        ] {
            let spec = NewIdentity {
                email: "eve@example.org",
                name: None,
                algorithm,
                days: 2,
            };
            let made = generate(&spec, now, &mut rand_core::OsRng).unwrap();
            for (key, cert) in &made {
                assert!(crate::smime::privkey::key_matches_cert(key, cert));
                assert_eq!(cert.emails, vec!["eve@example.org".to_string()]);
            }
            // Someone can encrypt to the last one.
            let (_, receiving) = made.last().unwrap();
            assert!(
                receiving
                    .encryption_problems("eve@example.org", now)
                    .is_empty(),
                "{algorithm:?}: {:?}",
                receiving.encryption_problems("eve@example.org", now)
            );
        }
    }
}
