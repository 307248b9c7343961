//! Private keys at rest and on import.
//!
//! At rest a key is PKCS#8, encrypted with PBES2 (scrypt, AES-256-CBC) under
//! the keystore passphrase, or, when the user asked for it explicitly, plain
//! PKCS#8 for unattended hosts. On import sealpost reads PKCS#8 (plain or
//! encrypted; RSA, P-256, P-384, Ed25519, X25519), PKCS#1, SEC1 and PKCS#12
//! (modern PBES2/AES and legacy 3DES/RC2; DER, NSS's BER, or GnuTLS's PEM,
//! see `limits/normalise.rs`). The key types are in `key.rs`.

use der::{Decode, Encode};
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo};
use rand_core::{OsRng, RngCore};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::RsaPrivateKey;
use zeroize::Zeroizing;

use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::{pem_blocks, pem_encode, CertInfo};

pub mod export;
pub mod key;
pub mod limits;
pub mod signer;

pub use key::{Curve, KeyKind, PrivateKey};

/// A passphrase, wiped from memory when dropped.
pub type Passphrase = Zeroizing<String>;

/// scrypt cost for keys at rest: N = 2^14, r = 8, p = 1 (16 MiB), the same as
/// `openssl pkcs8 -scrypt`. NOTE: N = 2^15 needs exactly 32 MiB, which OpenSSL's
/// PBE memory cap refuses, so `openssl pkey` could no longer read our key files.
const SCRYPT_LOG_N: u8 = 14;

const PEM_ENCRYPTED: &str = "ENCRYPTED PRIVATE KEY";
const PEM_PLAIN: &str = "PRIVATE KEY";
const PEM_PKCS1: &str = "RSA PRIVATE KEY";
const PEM_SEC1: &str = "EC PRIVATE KEY";

/// Serialises `key` as PEM: encrypted PKCS#8 with `passphrase`, plain PKCS#8 without.
pub fn seal(key: &PrivateKey, passphrase: Option<&str>) -> anyhow::Result<Zeroizing<String>> {
    let doc = key.to_pkcs8_der()?;
    let Some(pass) = passphrase else {
        return Ok(Zeroizing::new(pem_encode(PEM_PLAIN, &doc)));
    };
    let scrypt = pkcs5::scrypt::Params::new(SCRYPT_LOG_N, 8, 1, 32)
        .map_err(|e| fail(Exit::Software, format!("scrypt parameters: {e}")))?;
    encrypt_pkcs8(&doc, pass, |salt, iv| {
        pkcs5::pbes2::Parameters::scrypt_aes256cbc(scrypt, salt, iv)
    })
}

/// Encrypts the PKCS#8 `der` with PBES2 under `pass`, as an ENCRYPTED
/// PRIVATE KEY PEM; `params` picks the KDF for a fresh salt and IV.
pub(crate) fn encrypt_pkcs8(
    der: &[u8],
    pass: &str,
    params: impl for<'a> FnOnce(&'a [u8], &'a [u8; 16]) -> pkcs5::Result<pkcs5::pbes2::Parameters<'a>>,
) -> anyhow::Result<Zeroizing<String>> {
    let info = PrivateKeyInfo::try_from(der)
        .map_err(|e| fail(Exit::Software, format!("cannot encode private key: {e}")))?;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut iv);
    let params =
        params(&salt, &iv).map_err(|e| fail(Exit::Software, format!("PBES2 parameters: {e}")))?;
    let sealed = info
        .encrypt_with_params(params, pass.as_bytes())
        .map_err(|e| fail(Exit::Software, format!("cannot encrypt private key: {e}")))?;
    Ok(Zeroizing::new(pem_encode(PEM_ENCRYPTED, sealed.as_bytes())))
}

/// Whether a stored key needs a passphrase.
pub fn is_encrypted(pem: &str) -> bool {
    pem.contains(&format!("-----BEGIN {PEM_ENCRYPTED}-----"))
}

/// [`open`] for a key that must be RSA (a group's key, a group member's):
/// any other kind is a one-line `DataErr` naming `what`.
pub fn open_rsa(pem: &str, passphrase: Option<&str>, what: &str) -> anyhow::Result<RsaPrivateKey> {
    open(pem, passphrase, what)?.into_rsa(what)
}

/// Opens a key sealed by [`seal`] (or any PKCS#8/PKCS#1 PEM key).
/// A wrong passphrase is [`Exit::NoPerm`]; a missing one is [`Exit::Config`].
pub fn open(pem: &str, passphrase: Option<&str>, what: &str) -> anyhow::Result<PrivateKey> {
    let blocks = pem_blocks(pem)?;
    let (label, der) = blocks
        .into_iter()
        .find(|(l, _)| l.ends_with("PRIVATE KEY"))
        .ok_or_else(|| fail(Exit::DataErr, format!("{what}: no private key found")))?;
    let der = Zeroizing::new(der);
    from_der_labelled(&label, &der, passphrase, what)
}

fn from_der_labelled(
    label: &str,
    der: &[u8],
    passphrase: Option<&str>,
    what: &str,
) -> anyhow::Result<PrivateKey> {
    match label {
        PEM_ENCRYPTED => {
            let pass = passphrase.ok_or_else(|| {
                fail(
                    Exit::Config,
                    format!("{what} is encrypted and no passphrase was given"),
                )
            })?;
            // GnuTLS writes PBKDF2's PRF without its NULL, which pkcs8 refuses.
            let fixed = prf_with_null(der);
            let der = fixed.as_deref().unwrap_or(der);
            let info = EncryptedPrivateKeyInfo::from_der(der).map_err(|e| {
                fail(
                    Exit::DataErr,
                    format!("{what}: malformed encrypted key: {e}"),
                )
            })?;
            limits::KdfBudget::single(what).scheme(&info.encryption_algorithm)?;
            let plain = info.decrypt(pass.as_bytes()).map_err(|_| {
                fail_hint(
                    Exit::NoPerm,
                    format!("wrong passphrase for {what}"),
                    "check the passphrase source (--passphrase-file, --passphrase-fd, SEALPOST_PASSPHRASE)",
                )
            })?;
            PrivateKey::from_pkcs8_der(plain.as_bytes(), what)
        }
        PEM_PLAIN => PrivateKey::from_pkcs8_der(der, what),
        PEM_PKCS1 => RsaPrivateKey::from_pkcs1_der(der)
            .map(PrivateKey::Rsa)
            .map_err(|e| fail(Exit::DataErr, format!("{what}: malformed PKCS#1 key: {e}"))),
        PEM_SEC1 => PrivateKey::from_sec1_der(der, what),
        other => Err(fail(
            Exit::DataErr,
            format!("{what}: unsupported key type {other}"),
        )),
    }
}

/// An encrypted PKCS#8 key re-encoded with its PBKDF2 PRF's NULL; `None`
/// when it needs none (or is not one: the caller reports that).
fn prf_with_null(der: &[u8]) -> Option<Vec<u8>> {
    let mut info = pkcs12::pbe_params::EncryptedPrivateKeyInfo::from_der(der).ok()?;
    info.encryption_algorithm = limits::with_prf_null(&info.encryption_algorithm).ok()??;
    info.to_der().ok()
}

/// Reads a key file for import: PEM (PKCS#8 plain or encrypted, PKCS#1,
/// SEC1) or DER (PKCS#8, PKCS#1 or SEC1). `passphrase` opens an encrypted
/// PKCS#8 input.
pub fn import_key(data: &[u8], passphrase: Option<&str>, what: &str) -> anyhow::Result<PrivateKey> {
    if let Ok(text) = std::str::from_utf8(data) {
        if text.contains("-----BEGIN ") {
            return open(text, passphrase, what);
        }
    }
    if PrivateKeyInfo::from_der(data).is_ok() {
        // Its own errors name what is wrong (an unsupported curve, say).
        return PrivateKey::from_pkcs8_der(data, what);
    }
    if let Ok(key) = RsaPrivateKey::from_pkcs1_der(data) {
        return Ok(PrivateKey::Rsa(key));
    }
    if let Ok(key) = PrivateKey::from_sec1_der(data, what) {
        return Ok(key);
    }
    if EncryptedPrivateKeyInfo::from_der(data).is_ok() || prf_with_null(data).is_some() {
        return from_der_labelled(PEM_ENCRYPTED, data, passphrase, what);
    }
    Err(fail(
        Exit::DataErr,
        format!("{what}: not a PEM or DER private key (PKCS#8, PKCS#1 or SEC1)"),
    ))
}

/// What a PKCS#12 file held: the key, its certificate, and any chain.
pub struct Pkcs12Contents {
    pub key: PrivateKey,
    pub cert: CertInfo,
    pub chain: Vec<CertInfo>,
}

/// Opens a PKCS#12 file (`.p12`, `.pfx`) with its password.
/// The file may be PEM-armoured (`-----BEGIN PKCS12-----`, as GnuTLS
/// `certtool --to-p12` writes it) and BER (as NSS `pk12util` writes it).
pub fn import_pkcs12(data: &[u8], password: &str, what: &str) -> anyhow::Result<Pkcs12Contents> {
    let armoured = pkcs12_from_pem(data)?;
    let data = limits::pkcs12_to_der(armoured.as_deref().unwrap_or(data), password, what)?;
    let data = &*data;
    if pkcs12_looks_malformed(data) {
        return Err(fail(Exit::DataErr, format!("{what}: not a PKCS#12 file")));
    }
    limits::check_pkcs12(data, password, what)?;
    let store =
        p12_keystore::KeyStore::from_pkcs12(data, password).map_err(|e| {
            use p12_keystore::error::Error as E;
            match e {
            E::MacError(_) | E::UnpadError | E::Pkcs5Error(_) => fail_hint(
                Exit::NoPerm,
                format!("wrong password for {what} (integrity check failed)"),
                "give the PKCS#12 password with --p12-password-file F, or on a terminal when asked",
            ),
            other => fail(Exit::DataErr, format!("{what}: cannot read PKCS#12: {other}")),
        }
        })?;
    let (_, chain) = store.private_key_chain().ok_or_else(|| {
        fail(
            Exit::DataErr,
            format!("{what}: contains no private key with a certificate"),
        )
    })?;
    let key_der = Zeroizing::new(chain.key().to_vec());
    let key = import_key(&key_der, None, what)?;
    let mut certs = chain
        .chain()
        .iter()
        .map(|c| CertInfo::from_der(c.as_der()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if certs.is_empty() {
        return Err(fail(
            Exit::DataErr,
            format!("{what}: no certificate for the private key"),
        ));
    }
    let cert = certs.remove(0);
    Ok(Pkcs12Contents {
        key,
        cert,
        chain: certs,
    })
}

/// The DER inside a `PKCS12` PEM block, when `data` is PEM; `None` for
/// binary input.
fn pkcs12_from_pem(data: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(text) = std::str::from_utf8(data)
        .ok()
        .filter(|t| t.trim_start().starts_with("-----BEGIN "))
    else {
        return Ok(None);
    };
    pem_blocks(text)?
        .into_iter()
        .find(|(label, _)| label == "PKCS12")
        .map(|(_, der)| Some(der))
        .ok_or_else(|| {
            fail(
                Exit::DataErr,
                "PEM input without a PKCS12 block (a PEM private key needs its certificate named with --cert)",
            )
        })
}

/// A cheap structural check so that random files get "not a PKCS#12 file"
/// rather than an obscure ASN.1 message.
fn pkcs12_looks_malformed(data: &[u8]) -> bool {
    let Ok(mut reader) = der::SliceReader::new(data) else {
        return true;
    };
    der::Header::decode(&mut reader)
        .map(|h| h.tag != der::Tag::Sequence)
        .unwrap_or(true)
}

/// Whether a private key belongs to a certificate's public key.
pub fn key_matches_cert(key: &PrivateKey, cert: &CertInfo) -> bool {
    key.matches(&cert.cert.tbs_certificate.subject_public_key_info)
}

/// The DER SubjectPublicKeyInfo of a key (for fingerprints and comparisons).
pub fn public_key_der(key: &PrivateKey) -> anyhow::Result<Vec<u8>> {
    use der::Encode;
    key.public_key_info()?
        .to_der()
        .map_err(|e| fail(Exit::Software, format!("cannot encode public key: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_key() -> PrivateKey {
        let pem = std::fs::read_to_string(format!(
            "{}/tests/data/alice.key.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        open(&pem, None, "alice").unwrap()
    }

    #[test]
    fn seal_and_open_round_trip() {
        let key = fixture_key();
        let sealed = seal(&key, Some("correct horse")).unwrap();
        assert!(is_encrypted(&sealed));
        assert_eq!(open(&sealed, Some("correct horse"), "k").unwrap(), key);
        let err = open(&sealed, Some("wrong"), "k").unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
        let err = open(&sealed, None, "k").unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::Config);
        let plain = seal(&key, None).unwrap();
        assert!(!is_encrypted(&plain));
        assert_eq!(open(&plain, None, "k").unwrap(), key);
    }

    #[test]
    fn import_rejects_garbage() {
        assert!(import_key(b"not a key", None, "x").is_err());
        assert!(import_pkcs12(b"not a p12", "pw", "x").is_err());
    }
}
