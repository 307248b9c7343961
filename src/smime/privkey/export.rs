//! Private keys leaving sealpost: PKCS#12 (key, certificate and chain) and
//! encrypted PKCS#8, each under a password chosen for the export (never the
//! keystore passphrase, which stays with the keystore).
//!
//! PKCS#12 is written by p12-keystore (already the reader of imported
//! files), in one of two schemes:
//! - [`P12Scheme::Modern`]: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for the
//!   key and the certificates, HMAC-SHA-256 MAC; read by OpenSSL 1.1.1+,
//!   NSS 3.31+, Windows 10 1709+, macOS 10.15+.
//! - [`P12Scheme::Legacy`]: pbeWithSHAAnd3-KeyTripleDES-CBC for both, and an
//!   HMAC-SHA-1 MAC, for importers that know nothing newer (gpgsm 2.2, older
//!   Windows, Java 8); OpenSSL 3 reads it only with `-legacy`.
//!
//! May use: `crate::error`, `crate::smime::certs`, its parent `privkey`.

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use super::{encrypt_pkcs8, PrivateKey};
use crate::error::{fail, Exit};
use crate::smime::certs::CertInfo;

/// PBKDF2 iterations of a modern export (PKCS#12 and PKCS#8): the OWASP
/// figure for PBKDF2-HMAC-SHA256, what NSS `pk12util` writes since 2023,
/// and 1/16 of what sealpost's own importer accepts (`limits`).
pub const MODERN_ITERATIONS: u32 = 600_000;

/// PKCS#12 KDF iterations of a legacy export: OpenSSL's `-legacy` default,
/// the count old importers have all been tested against. (The legacy
/// scheme's strength rests on the password, not on this count.)
pub const LEGACY_ITERATIONS: u32 = 2048;

/// How a PKCS#12 export is protected; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P12Scheme {
    Modern,
    Legacy,
}

/// A PKCS#12 file holding `key`, its certificate `cert` and the CA
/// certificates `chain` (issuer first), under `password`. The key bag's
/// friendly name is `name` (importers show it); the key and its
/// certificate share a localKeyId, the SHA-1 of the certificate, as
/// OpenSSL writes it.
pub fn pkcs12(
    key: &PrivateKey,
    cert: &CertInfo,
    chain: &[CertInfo],
    name: &str,
    password: &str,
    scheme: P12Scheme,
) -> anyhow::Result<Vec<u8>> {
    let err =
        |e: &dyn std::fmt::Display| fail(Exit::Software, format!("cannot write PKCS#12: {e}"));
    let certs = std::iter::once(cert)
        .chain(chain)
        .map(|c| p12_keystore::Certificate::from_der(&c.der).map_err(|e| err(&e)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let local_key_id = Sha1::digest(&cert.der);
    // NOTE: p12-keystore copies the key into a Vec it does not wipe; the
    // copy lives only until `store` is dropped at the end of this function.
    let der = key.to_pkcs8_der()?;
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        name,
        p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
            &*der,
            local_key_id,
            certs,
        )),
    );
    let (encryption, mac, iterations) = match scheme {
        P12Scheme::Modern => (
            p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            p12_keystore::MacAlgorithm::HmacSha256,
            MODERN_ITERATIONS,
        ),
        P12Scheme::Legacy => (
            p12_keystore::EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
            p12_keystore::MacAlgorithm::HmacSha1,
            LEGACY_ITERATIONS,
        ),
    };
    store
        .writer(password)
        .encryption_algorithm(encryption)
        .encryption_iterations(iterations.into())
        .mac_algorithm(mac)
        .mac_iterations(iterations.into())
        .write()
        .map_err(|e| err(&e))
}

/// `key` as encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`): PBES2 with
/// PBKDF2-HMAC-SHA256 and AES-256-CBC under `password`, which `openssl
/// pkey`, GnuTLS and Java read. (The keystore's own files use scrypt,
/// which fewer programs read.)
pub fn pkcs8(key: &PrivateKey, password: &str) -> anyhow::Result<Zeroizing<String>> {
    let der = key.to_pkcs8_der()?;
    encrypt_pkcs8(&der, password, |salt, iv| {
        pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(MODERN_ITERATIONS, salt, iv)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (PrivateKey, CertInfo) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
        let pem = std::fs::read_to_string(format!("{dir}/alice.key.pem")).unwrap();
        let cert = std::fs::read(format!("{dir}/alice.cert.pem")).unwrap();
        let key = super::super::open(&pem, None, "alice").unwrap();
        (
            key,
            crate::smime::certs::parse_bundle(&cert).unwrap().remove(0),
        )
    }

    #[test]
    fn pkcs12_exports_open_again_in_both_schemes() {
        let (key, cert) = fixture();
        for scheme in [P12Scheme::Modern, P12Scheme::Legacy] {
            let p12 = pkcs12(&key, &cert, &[], "alice", "export pw", scheme).unwrap();
            let back = super::super::import_pkcs12(&p12, "export pw", "export").unwrap();
            assert_eq!(back.key, key, "{scheme:?}");
            assert_eq!(back.cert.fingerprint, cert.fingerprint);
            assert!(super::super::import_pkcs12(&p12, "wrong", "export").is_err());
        }
    }

    #[test]
    fn pkcs8_export_opens_with_its_password_only() {
        let (key, _) = fixture();
        let pem = pkcs8(&key, "export pw").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert_eq!(
            super::super::open(&pem, Some("export pw"), "k").unwrap(),
            key
        );
        assert!(super::super::open(&pem, Some("wrong"), "k").is_err());
    }
}
