//! Certificate requests (PKCS#10, RFC 2986) for an own key, so that a CA can
//! issue the certificate Outlook, Thunderbird and organisations trust in
//! place of the self-signed one: subject CN and emailAddress, and an
//! extensionRequest with the same S/MIME extensions sealpost puts in its own
//! certificates (subjectAltName rfc822Name, keyUsage, extendedKeyUsage
//! emailProtection), signed by the key itself (proof of possession).
//!
//! May use: what its parent `identity` uses.

use der::Encode;
use x509_cert::builder::{Builder, RequestBuilder};

use super::{subject_name, SmimeUsage};
use crate::error::{fail, Exit};
use crate::smime::certs::validate_address;
use crate::smime::privkey::signer::{CertSigner, RawSignature};
use crate::smime::privkey::PrivateKey;

/// What to ask a CA for.
pub struct NewRequest<'a> {
    pub email: &'a str,
    /// The subject's common name [default: the address].
    pub name: Option<&'a str>,
}

/// A PKCS#10 request (DER) for `key`, signed with it (as [`CertSigner`]
/// signs: RSA PKCS#1 v1.5 SHA-256, ECDSA, Ed25519). A key that cannot sign
/// (X25519) cannot prove it holds the key: refused as [`Exit::Usage`].
pub fn certificate_request(key: &PrivateKey, spec: &NewRequest<'_>) -> anyhow::Result<Vec<u8>> {
    let email = validate_address(spec.email)?;
    let err = |what: &str, e: &dyn std::fmt::Display| {
        fail(
            Exit::Software,
            format!("cannot build certificate request ({what}): {e}"),
        )
    };
    let subject = subject_name(spec.name.unwrap_or(&email), Some(&email))?;
    let signer = CertSigner::new(key)?.ok_or_else(|| {
        fail(
            Exit::Usage,
            format!(
                "a {} key cannot sign a certificate request; request one for the identity's signing key",
                key.kind().name()
            ),
        )
    })?;
    let mut builder = RequestBuilder::new(subject, &signer).map_err(|e| err("builder", &e))?;
    SmimeUsage::new(key.kind(), &email)?.add_to(&mut builder, err)?;
    let request = builder
        .build::<RawSignature>()
        .map_err(|e| err("signing", &e))?;
    request.to_der().map_err(|e| err("encoding", &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;
    use x509_cert::request::CertReq;

    #[test]
    fn the_request_names_the_address_and_asks_for_email_protection() {
        let pem = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/alice.key.pem"
        ))
        .unwrap();
        let key = crate::smime::privkey::open(&pem, None, "alice").unwrap();
        let spec = NewRequest {
            email: "alice@example.org",
            name: Some("Alice Liddell"),
        };
        let der = certificate_request(&key, &spec).unwrap();
        let req = CertReq::from_der(&der).unwrap();
        let subject = req.info.subject.to_string();
        assert!(subject.contains("CN=Alice Liddell"), "{subject}");
        assert_eq!(
            req.info.public_key.to_der().unwrap(),
            crate::smime::privkey::public_key_der(&key).unwrap()
        );
        assert_eq!(req.info.attributes.len(), 1, "one extensionRequest");
        let text = String::from_utf8_lossy(&der);
        assert!(text.contains("alice@example.org"));
    }
}
