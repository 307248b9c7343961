//! X.509 certificates as S/MIME needs them: reading bundles, the facts a user
//! or the encryptor needs (addresses, validity, key usage), and choosing the
//! certificates that may be used to encrypt to an address.

use std::fmt;

use const_oid::db::rfc3280::EMAIL_ADDRESS as ID_EMAIL_ADDRESS;
use const_oid::db::rfc5280::{ANY_EXTENDED_KEY_USAGE, ID_KP_EMAIL_PROTECTION};
use const_oid::db::rfc5912::RSA_ENCRYPTION;
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, SubjectAltName, SubjectKeyIdentifier};
use x509_cert::Certificate;

use crate::error::{fail, fail_hint, Exit};
use crate::smime::privkey::key::KeyKind;

/// OIDs of the algorithms sealpost advertises, strongest first (RFC 8551 §2.5.2 order).
pub const ID_AES256_GCM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.46");
pub const ID_AES128_GCM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.6");
pub const ID_AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");
pub const ID_AES128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
/// id-alg-AEADChaCha20Poly1305 (RFC 8103 §2).
pub const ID_CHACHA20_POLY1305: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.3.18");
pub const ID_RSAES_OAEP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7");
/// smimeCapabilities (RFC 4262 certificate extension, RFC 8551 signed attribute).
pub const ID_SMIME_CAPABILITIES: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.15");

/// Seconds since the Unix epoch: the clock is passed in so tests can pin it.
pub type UnixTime = i64;

/// The current time as [`UnixTime`].
pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An e-mail address normalised for comparison: the local part kept as
/// written (RFC 5321 leaves its case to the receiving host), the domain
/// lowercased (domains are case-insensitive).
pub fn normalize_address(addr: &str) -> String {
    let addr = addr.trim();
    match addr.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => addr.to_string(),
    }
}

/// Checks that a string given on the command line is one e-mail address
/// (the validator every address passes, [`crate::smime::message::normalize_address`]),
/// so it can be used as a keystore name and matched against certificates.
pub fn validate_address(addr: &str) -> anyhow::Result<String> {
    let a = addr.trim();
    match crate::smime::message::normalize_address(a) {
        Ok(_) => Ok(normalize_address(a)),
        Err(e) => Err(fail(
            Exit::Usage,
            format!(
                "'{}' is not an e-mail address (expected local@domain): {}",
                a.escape_debug(),
                crate::error::single_line(&e)
            ),
        )),
    }
}

/// A parsed certificate and the facts about it that sealpost uses.
#[derive(Clone)]
pub struct CertInfo {
    pub cert: Certificate,
    pub der: Vec<u8>,
    /// SHA-256 of the DER encoding, lowercase hex: the name users see.
    pub fingerprint: String,
    pub subject: String,
    pub issuer: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// Addresses from subjectAltName rfc822Name (normalised); the legacy
    /// emailAddress attribute of the subject only when there is no SAN email.
    pub emails: Vec<String>,
    pub not_before: UnixTime,
    pub not_after: UnixTime,
    pub key_usage: Option<KeyUsage>,
    pub extended_key_usage: Option<Vec<const_oid::ObjectIdentifier>>,
    pub subject_key_id: Option<Vec<u8>>,
    /// RSA modulus size in bits; `None` for other keys.
    pub rsa_bits: Option<usize>,
    /// What the public key is, or why sealpost cannot use it.
    pub key_kind: Result<KeyKind, String>,
    /// Algorithms from an SMIMECapabilities extension (RFC 4262), if any.
    pub advertised_capabilities: Vec<const_oid::ObjectIdentifier>,
}

impl fmt::Debug for CertInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertInfo")
            .field("fingerprint", &self.fingerprint)
            .field("subject", &self.subject)
            .field("emails", &self.emails)
            .finish()
    }
}

/// What a correspondent's software is known to read beyond the algorithms
/// every S/MIME client reads (AES-CBC, RSAES-PKCS1-v1_5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Support {
    /// AES-256-GCM in AuthEnvelopedData (RFC 5083/5084).
    pub aes_gcm: bool,
    /// RSAES-OAEP key transport (RFC 3560/4055).
    pub rsa_oaep: bool,
}

impl Support {
    pub const MODERN: Support = Support {
        aes_gcm: true,
        rsa_oaep: true,
    };

    /// From an SMIMECapabilities list (certificate extension or signed attribute).
    pub fn from_capabilities(oids: &[const_oid::ObjectIdentifier]) -> Support {
        Support {
            aes_gcm: oids.contains(&ID_AES256_GCM),
            rsa_oaep: oids.contains(&ID_RSAES_OAEP),
        }
    }
}

/// Why a certificate may not be used to encrypt to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    NotYetValid(UnixTime),
    Expired(UnixTime),
    NoKeyEncipherment,
    NoKeyAgreement,
    NoEmailProtection,
    /// The key only signs (Ed25519): mail is encrypted to its X25519 partner.
    SigningOnly,
    UnsupportedKey(String),
    AddressMismatch,
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::NotYetValid(t) => write!(f, "not valid before {}", format_time(*t)),
            Unusable::Expired(t) => write!(f, "expired {}", format_time(*t)),
            Unusable::NoKeyEncipherment => f.write_str("key usage does not allow key encipherment"),
            Unusable::NoEmailProtection => {
                f.write_str("extended key usage does not include emailProtection")
            }
            Unusable::NoKeyAgreement => f.write_str("key usage does not allow key agreement"),
            Unusable::SigningOnly => {
                f.write_str("an Ed25519 key only signs (encrypt to its X25519 certificate)")
            }
            Unusable::UnsupportedKey(why) => f.write_str(why),
            Unusable::AddressMismatch => f.write_str("not issued for this address"),
        }
    }
}

/// Formats a Unix time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(t: UnixTime) -> String {
    let fmt =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&fmt).ok())
        .unwrap_or_else(|| t.to_string())
}

impl CertInfo {
    pub fn from_der(der: &[u8]) -> anyhow::Result<CertInfo> {
        let cert = Certificate::from_der(der)
            .map_err(|e| fail(Exit::DataErr, format!("malformed certificate: {e}")))?;
        Self::from_cert(cert)
    }

    pub fn from_cert(cert: Certificate) -> anyhow::Result<CertInfo> {
        let der = cert
            .to_der()
            .map_err(|e| fail(Exit::DataErr, format!("cannot encode certificate: {e}")))?;
        let tbs = &cert.tbs_certificate;
        let bad_ext = |what: &str, e: der::Error| {
            fail(
                Exit::DataErr,
                format!("certificate has a malformed {what} extension: {e}"),
            )
        };
        let san = tbs
            .get::<SubjectAltName>()
            .map_err(|e| bad_ext("subjectAltName", e))?;
        let mut emails: Vec<String> = san
            .iter()
            .flat_map(|(_, san)| san.0.iter())
            .filter_map(|name| match name {
                GeneralName::Rfc822Name(s) => Some(normalize_address(s.as_str())),
                _ => None,
            })
            .collect();
        if emails.is_empty() {
            emails = subject_email_attributes(&cert);
        }
        emails.dedup();
        let key_usage = tbs
            .get::<KeyUsage>()
            .map_err(|e| bad_ext("keyUsage", e))?
            .map(|(_, ku)| ku);
        let extended_key_usage = tbs
            .get::<ExtendedKeyUsage>()
            .map_err(|e| bad_ext("extendedKeyUsage", e))?
            .map(|(_, eku)| eku.0);
        let subject_key_id = tbs
            .get::<SubjectKeyIdentifier>()
            .map_err(|e| bad_ext("subjectKeyIdentifier", e))?
            .map(|(_, ski)| ski.0.as_bytes().to_vec());
        let advertised_capabilities = tbs
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == ID_SMIME_CAPABILITIES)
            .map(|e| {
                Vec::<spki::AlgorithmIdentifierOwned>::from_der(e.extn_value.as_bytes())
                    .map(|caps| caps.into_iter().map(|c| c.oid).collect())
                    .map_err(|e| bad_ext("smimeCapabilities", e))
            })
            .transpose()?
            .unwrap_or_default();
        let rsa_bits = rsa_public_key(&cert).ok().map(|k| {
            use rsa::traits::PublicKeyParts;
            k.n().bits()
        });
        Ok(CertInfo {
            fingerprint: hex::encode(Sha256::digest(&der)),
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            serial: hex::encode(tbs.serial_number.as_bytes()),
            emails,
            not_before: tbs.validity.not_before.to_unix_duration().as_secs() as i64,
            not_after: tbs.validity.not_after.to_unix_duration().as_secs() as i64,
            key_usage,
            extended_key_usage,
            subject_key_id,
            rsa_bits,
            key_kind: KeyKind::of_spki(&tbs.subject_public_key_info),
            advertised_capabilities,
            der,
            cert,
        })
    }

    /// Refuses a certificate naming an address that is not a valid RFC 5321
    /// mailbox ([`crate::smime::message::SmtpAddress`]): such an address, once
    /// imported or registered, would be mailed to. Issuers are not trusted
    /// to have checked: rfc822Name is an IA5String, and CR LF fit in one.
    pub fn check_addresses(&self) -> anyhow::Result<()> {
        for addr in &self.emails {
            crate::smime::message::SmtpAddress::parse(addr).map_err(|e| {
                fail(
                    Exit::DataErr,
                    format!(
                        "certificate {} names an address that cannot be mailed: {}",
                        &self.fingerprint[..16],
                        crate::error::single_line(&e)
                    ),
                )
            })?;
        }
        Ok(())
    }

    /// The certificate as PEM text.
    pub fn to_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }

    /// Whether the certificate says it is a CA (basicConstraints cA).
    pub fn is_ca(&self) -> bool {
        matches!(
            self.cert.tbs_certificate.get::<x509_cert::ext::pkix::BasicConstraints>(),
            Ok(Some((_, bc))) if bc.ca
        )
    }

    pub fn matches_address(&self, addr: &str) -> bool {
        let addr = normalize_address(addr);
        self.emails.contains(&addr)
    }

    /// Every reason this certificate may not encrypt mail for `addr` at `now`.
    pub fn encryption_problems(&self, addr: &str, now: UnixTime) -> Vec<Unusable> {
        let mut problems = Vec::new();
        if !self.matches_address(addr) {
            problems.push(Unusable::AddressMismatch);
        }
        if now < self.not_before {
            problems.push(Unusable::NotYetValid(self.not_before));
        }
        if now > self.not_after {
            problems.push(Unusable::Expired(self.not_after));
        }
        match &self.key_kind {
            Ok(KeyKind::Rsa) => {
                if self
                    .key_usage
                    .as_ref()
                    .is_some_and(|ku| !ku.key_encipherment())
                {
                    problems.push(Unusable::NoKeyEncipherment);
                }
            }
            Ok(KeyKind::Ec(_) | KeyKind::X25519) => {
                if self
                    .key_usage
                    .as_ref()
                    .is_some_and(|ku| !ku.key_agreement())
                {
                    problems.push(Unusable::NoKeyAgreement);
                }
            }
            Ok(KeyKind::Ed25519) => problems.push(Unusable::SigningOnly),
            Err(why) => problems.push(Unusable::UnsupportedKey(why.clone())),
        }
        if let Some(eku) = &self.extended_key_usage {
            if !eku
                .iter()
                .any(|o| *o == ID_KP_EMAIL_PROTECTION || *o == ANY_EXTENDED_KEY_USAGE)
            {
                problems.push(Unusable::NoEmailProtection);
            }
        }
        problems
    }

    /// A short description for listings: addresses, subject, validity.
    pub fn summary(&self) -> String {
        format!(
            "{} {} (valid {} to {})",
            &self.fingerprint[..16],
            self.emails.join(","),
            format_time(self.not_before),
            format_time(self.not_after)
        )
    }
}

fn subject_email_attributes(cert: &Certificate) -> Vec<String> {
    let mut out = Vec::new();
    for rdn in cert.tbs_certificate.subject.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == ID_EMAIL_ADDRESS {
                if let Ok(s) = der::asn1::Ia5StringRef::try_from(&atv.value) {
                    out.push(normalize_address(s.as_str()));
                }
            }
        }
    }
    out
}

/// The RSA public key of a certificate.
pub fn rsa_public_key(cert: &Certificate) -> anyhow::Result<rsa::RsaPublicKey> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(fail(
            Exit::DataErr,
            format!("unsupported public key algorithm {}", spki.algorithm.oid),
        ));
    }
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| fail(Exit::DataErr, "malformed RSA public key"))?;
    use rsa::pkcs1::DecodeRsaPublicKey;
    rsa::RsaPublicKey::from_pkcs1_der(bytes)
        .map_err(|e| fail(Exit::DataErr, format!("malformed RSA public key: {e}")))
}

/// Whether `id`, a CMS SubjectKeyIdentifier naming a recipient or a signer,
/// names `cert`: its subjectKeyIdentifier extension, or for a certificate
/// without one, the SHA-1 of its subjectPublicKey BIT STRING (RFC 5280
/// §4.2.1.2 method 1), which Windows and OpenSSL 3 then use as its key id.
pub fn matches_key_id(cert: &Certificate, id: &[u8]) -> bool {
    match cert.tbs_certificate.get::<SubjectKeyIdentifier>() {
        Ok(Some((_, ski))) => ski.0.as_bytes() == id,
        Ok(None) => {
            let key = cert
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes();
            sha1::Sha1::digest(key).as_slice() == id
        }
        Err(_) => false,
    }
}

/// PEM-encodes `der` under `label`, lines of 64 characters, LF endings.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

/// Reads every certificate from PEM (one or many `CERTIFICATE` blocks, or a
/// `PKCS7` certs-only bundle), a DER certificate, concatenated DER
/// certificates, or a DER PKCS#7 certs-only bundle (`.p7b`, `.p7c`).
pub fn parse_bundle(data: &[u8]) -> anyhow::Result<Vec<CertInfo>> {
    let mut out = Vec::new();
    let text = std::str::from_utf8(data)
        .ok()
        .filter(|t| t.contains("-----BEGIN "));
    if let Some(text) = text {
        for (label, der) in pem_blocks(text)? {
            match label.as_str() {
                "CERTIFICATE" | "X509 CERTIFICATE" => out.push(CertInfo::from_der(&der)?),
                "PKCS7" | "CMS" => out.extend(certs_from_pkcs7(&der)?),
                _ => {} // keys and other blocks in the same file are not certificates
            }
        }
        if out.is_empty() {
            return Err(fail(
                Exit::DataErr,
                "no CERTIFICATE block found in the PEM input",
            ));
        }
        return Ok(out);
    }
    if let Ok(certs) = certs_from_pkcs7(data) {
        return Ok(certs);
    }
    let mut rest = data;
    while !rest.is_empty() {
        let len = der_total_len(rest)
            .ok_or_else(|| fail(Exit::DataErr, "input is neither PEM nor DER certificates"))?;
        out.push(
            CertInfo::from_der(&rest[..len])
                .map_err(|_| fail(Exit::DataErr, "input is neither PEM nor DER certificates"))?,
        );
        rest = &rest[len..];
    }
    if out.is_empty() {
        return Err(fail(Exit::DataErr, "empty input: no certificate"));
    }
    Ok(out)
}

/// All PEM blocks in `text`, decoded, with their labels.
///
/// Read as RFC 7468 §3's lax parsers do: the Base64 may be wrapped at any
/// width (OpenSSL writes 64 columns, GnuTLS and Java 76, some tools one long
/// line) and whitespace anywhere in it is ignored. The label must repeat on
/// the END line; explanatory headers are not Base64 and are refused.
pub fn pem_blocks(text: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    const BEGIN: &str = "-----BEGIN ";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| fail(Exit::DataErr, "malformed PEM: unterminated BEGIN line"))?;
        let label = &after[..label_end];
        if label.contains(['\r', '\n']) {
            return Err(fail(
                Exit::DataErr,
                "malformed PEM: unterminated BEGIN line",
            ));
        }
        let body_and_end = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body_and_end.find(&end_marker).ok_or_else(|| {
            fail(
                Exit::DataErr,
                format!("malformed PEM: no END line for {label}"),
            )
        })?;
        let der = pem_base64(&body_and_end[..end])
            .map_err(|e| fail(Exit::DataErr, format!("malformed PEM block {label}: {e}")))?;
        out.push((label.to_string(), der));
        rest = &body_and_end[end + end_marker.len()..];
    }
    Ok(out)
}

/// A PEM body's Base64 with all whitespace removed, decoded. The copy
/// without whitespace may be a private key's, so it is wiped.
fn pem_base64(body: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine;
    let clean: zeroize::Zeroizing<Vec<u8>> =
        zeroize::Zeroizing::new(body.bytes().filter(|b| !b.is_ascii_whitespace()).collect());
    base64::engine::general_purpose::STANDARD.decode(clean.as_slice())
}

/// The length of the first DER TLV in `data`, when it is a well-formed header.
fn der_total_len(data: &[u8]) -> Option<usize> {
    use der::Reader;
    let mut reader = der::SliceReader::new(data).ok()?;
    let header = der::Header::decode(&mut reader).ok()?;
    let header_len = usize::try_from(reader.position()).ok()?;
    let body = usize::try_from(header.length).ok()?;
    let total = header_len.checked_add(body)?;
    (total <= data.len()).then_some(total)
}

fn certs_from_pkcs7(der: &[u8]) -> anyhow::Result<Vec<CertInfo>> {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    let ci = ContentInfo::from_der(der)
        .map_err(|e| fail(Exit::DataErr, format!("malformed PKCS#7 bundle: {e}")))?;
    if ci.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
        return Err(fail(Exit::DataErr, "PKCS#7 bundle is not signed-data"));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| fail(Exit::DataErr, format!("malformed PKCS#7 bundle: {e}")))?;
    let mut out = Vec::new();
    for choice in sd.certificates.iter().flat_map(|set| set.0.iter()) {
        if let cms::cert::CertificateChoices::Certificate(cert) = choice {
            out.push(CertInfo::from_cert(cert.clone())?);
        }
    }
    Ok(out)
}

/// Chooses every certificate among `candidates` that may encrypt to `addr`
/// at `now`. With none, the error names the address and why each candidate
/// was refused (or that there was none at all).
pub fn select_for_encryption<'a>(
    addr: &str,
    candidates: &'a [CertInfo],
    now: UnixTime,
) -> anyhow::Result<Vec<&'a CertInfo>> {
    let mut usable = Vec::new();
    let mut refusals = Vec::new();
    for c in candidates {
        let problems = c.encryption_problems(addr, now);
        if problems.is_empty() {
            usable.push(c);
        } else if !problems.contains(&Unusable::AddressMismatch) {
            let reasons: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            refusals.push(format!("{}: {}", &c.fingerprint[..16], reasons.join(", ")));
        }
    }
    if !usable.is_empty() {
        return Ok(usable);
    }
    if refusals.is_empty() {
        Err(fail_hint(
            Exit::NoUser,
            format!("no certificate for {addr}"),
            format!(
                "import one with: sealpost cert import FILE (e.g. from a signed message by {addr})"
            ),
        ))
    } else {
        Err(fail(
            Exit::NoUser,
            format!("no usable certificate for {addr}: {}", refusals.join("; ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> CertInfo {
        let pem = std::fs::read(format!(
            "{}/tests/data/{name}.cert.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        parse_bundle(&pem).unwrap().remove(0)
    }

    #[test]
    fn reads_facts_from_fixture() {
        let bob = fixture("bob");
        assert_eq!(bob.emails, vec!["bob@example.org".to_string()]);
        assert_eq!(bob.rsa_bits, Some(2048));
        assert!(bob.subject_key_id.is_some());
        assert!(bob.key_usage.as_ref().unwrap().key_encipherment());
        assert_eq!(bob.fingerprint.len(), 64);
    }

    #[test]
    fn address_domain_is_case_insensitive_local_part_is_not() {
        let bob = fixture("bob");
        assert!(bob.matches_address("bob@EXAMPLE.org"));
        assert!(!bob.matches_address("BOB@example.org"));
    }

    #[test]
    fn selection_reports_expiry_and_absence() {
        let bob = fixture("bob");
        let all = vec![bob.clone()];
        assert_eq!(
            select_for_encryption("bob@example.org", &all, now())
                .unwrap()
                .len(),
            1
        );
        let later = bob.not_after + 10;
        let err = select_for_encryption("bob@example.org", &all, later).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoUser);
        assert!(err.to_string().contains("expired"), "{err}");
        let err = select_for_encryption("zed@example.org", &all, now()).unwrap_err();
        assert!(
            err.to_string()
                .contains("no certificate for zed@example.org"),
            "{err}"
        );
    }

    #[test]
    fn bundle_of_pem_and_der_forms() {
        let a = std::fs::read(format!(
            "{}/tests/data/alice.cert.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let b = std::fs::read(format!(
            "{}/tests/data/bob.cert.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let both = [a.clone(), b.clone()].concat();
        assert_eq!(parse_bundle(&both).unwrap().len(), 2);
        let ders: Vec<u8> = parse_bundle(&both)
            .unwrap()
            .iter()
            .flat_map(|c| c.der.clone())
            .collect();
        assert_eq!(parse_bundle(&ders).unwrap().len(), 2);
        assert!(parse_bundle(b"garbage").is_err());
        assert!(parse_bundle(&ders[..ders.len() - 1]).is_err());
    }

    #[test]
    fn validate_address_rejects_junk() {
        assert_eq!(validate_address("a@B.Org").unwrap(), "a@b.org");
        for bad in ["", "a", "@b", "a@", "a b@c", "<a@b>"] {
            assert!(validate_address(bad).is_err(), "{bad}");
        }
    }
}
