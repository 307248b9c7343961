//! Limits on the password-based key derivation a key file may ask for,
//! checked before any derivation runs, and the one other unbounded thing
//! a PKCS#12 file could make p12-keystore do (a certificate chain that loops,
//! see [`chain_loops`]).
//!
//! An encrypted key file names its own KDF parameters, and whoever wrote the
//! file chose them: a PKCS#12 file with 2^31−1 MAC iterations ran for
//! minutes, and scrypt with N = 2^40 aborted the process on allocation. Every
//! path that derives a key from a password checks here first: encrypted
//! PKCS#8 on import and the keystore's own key files at rest (a planted file
//! is attacker-written too), and PKCS#12 (its MAC, each encrypted bag, each
//! shrouded key bag, inside encrypted contents as well).
//!
//! The limits, and why no real exporter reaches them:
//! - PBKDF2 and PKCS#12 KDF iterations ≤ [`MAX_ITERATIONS`] (10,000,000).
//!   OpenSSL writes 2048 (PKCS#12 and PKCS#8), Windows 2000–10,000, NSS
//!   `pk12util` 600,000 since 2023, the OWASP recommendation for
//!   PBKDF2-HMAC-SHA256 is 600,000: 16 times the largest is still below the
//!   limit. 10^7 PBKDF2-HMAC-SHA-256 iterations take 2.3 s of CPU here
//!   (`openssl kdf ... -kdfopt iter:10000000 PBKDF2`).
//! - scrypt memory 128·N·r ≤ [`MAX_SCRYPT_MEMORY`] (256 MiB) and work
//!   N·r·p ≤ [`MAX_ITERATIONS`]. `openssl pkcs8 -scrypt` writes N = 2^14,
//!   r = 8, p = 1 (16 MiB), and OpenSSL refuses more than 32 MiB by default
//!   (EVP_PBE_scrypt maxmem), so no file it writes or reads exceeds an eighth
//!   of the limit; sealpost itself writes N = 2^14.
//! - a PKCS#12 file derives several keys (MAC, certificate bag, key bag):
//!   all of them together ≤ [`MAX_PKCS12_ITERATIONS`] (4 × the single limit;
//!   a file from NSS uses 2,400,000).

use der::asn1::{ContextSpecific, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use crate::error::{fail, Exit};

/// PBKDF2 / PKCS#12 KDF iterations of one derivation (and scrypt N·r·p).
pub const MAX_ITERATIONS: u64 = 10_000_000;
/// scrypt's memory, 128·N·r bytes.
pub const MAX_SCRYPT_MEMORY: u64 = 256 << 20;
/// Every derivation one PKCS#12 file asks for, together.
pub const MAX_PKCS12_ITERATIONS: u64 = 4 * MAX_ITERATIONS;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
/// pbeWithSHAAnd3-KeyTripleDES-CBC and pbeWithSHAAnd40BitRC2-CBC (RFC 7292
/// appendix C), the legacy schemes p12-keystore decrypts.
const PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");

/// The derivations of one file, counted against a total.
pub(crate) struct KdfBudget<'a> {
    what: &'a str,
    left: u64,
}

impl<'a> KdfBudget<'a> {
    /// For a file that derives one key (encrypted PKCS#8).
    pub(crate) fn single(what: &'a str) -> Self {
        KdfBudget {
            what,
            left: MAX_ITERATIONS,
        }
    }

    fn pkcs12(what: &'a str) -> Self {
        KdfBudget {
            what,
            left: MAX_PKCS12_ITERATIONS,
        }
    }

    fn too_much(
        &self,
        parameter: &str,
        value: impl std::fmt::Display,
        limit: u64,
    ) -> anyhow::Error {
        fail(
            Exit::DataErr,
            format!(
                "{}: refused before deriving the key: {parameter} is {value}, above sealpost's limit of {limit} (no known exporter uses more)",
                self.what
            ),
        )
    }

    /// Charges one derivation of `iterations`, after checking the single limit.
    fn charge(&mut self, parameter: &str, iterations: u64) -> anyhow::Result<()> {
        if iterations > MAX_ITERATIONS {
            return Err(self.too_much(parameter, iterations, MAX_ITERATIONS));
        }
        if iterations > self.left {
            return Err(self.too_much(
                "the key derivation of the whole file",
                format!("more than {MAX_PKCS12_ITERATIONS} iterations"),
                MAX_PKCS12_ITERATIONS,
            ));
        }
        self.left -= iterations;
        Ok(())
    }

    /// Checks (and charges) a PBES2 scheme's KDF; other schemes run none
    /// here (PBES1 is refused by the pkcs5 crate without deriving).
    pub(crate) fn scheme(&mut self, scheme: &pkcs5::EncryptionScheme<'_>) -> anyhow::Result<()> {
        let Some(pbes2) = scheme.pbes2() else {
            return Ok(());
        };
        match &pbes2.kdf {
            pkcs5::pbes2::Kdf::Pbkdf2(p) => {
                self.charge("the PBKDF2 iteration count", u64::from(p.iteration_count))
            }
            pkcs5::pbes2::Kdf::Scrypt(p) => {
                let (n, r, p) = (
                    p.cost_parameter,
                    u64::from(p.block_size),
                    u64::from(p.parallelization),
                );
                let memory = 128u128 * u128::from(n) * u128::from(r);
                if memory > u128::from(MAX_SCRYPT_MEMORY) {
                    return Err(self.too_much(
                        &format!("the scrypt memory 128·N·r (N = {n}, r = {r}), in bytes,"),
                        memory,
                        MAX_SCRYPT_MEMORY,
                    ));
                }
                let work = u128::from(n) * u128::from(r) * u128::from(p);
                if work > u128::from(MAX_ITERATIONS) {
                    return Err(self.too_much(
                        &format!("the scrypt work N·r·p (N = {n}, r = {r}, p = {p})"),
                        work,
                        MAX_ITERATIONS,
                    ));
                }
                self.charge("the scrypt work N·r·p", work as u64)
            }
            // A KDF pkcs5 does not know it does not run either.
            _ => Ok(()),
        }
    }

    /// Checks an AlgorithmIdentifier of a PKCS#12 file: PBES2, or a legacy
    /// PKCS#12 PBE scheme (its KDF runs three times: key, IV, and once more
    /// for 3DES's longer key; counted as one, the cost is the iterations).
    fn algorithm(&mut self, alg: &AlgorithmIdentifierOwned) -> anyhow::Result<()> {
        if alg.oid == PBES2 {
            let der = alg.to_der().map_err(|e| self.malformed(e))?;
            let scheme =
                pkcs5::EncryptionScheme::try_from(der.as_slice()).map_err(|e| self.malformed(e))?;
            return self.scheme(&scheme);
        }
        if alg.oid == PBE_SHA1_3DES || alg.oid == PBE_SHA1_RC2_40 {
            let params = legacy_params(alg).map_err(|e| self.malformed(e))?;
            let iterations = positive(&params.iterations).ok_or_else(|| {
                self.too_much(
                    "the PKCS#12 PBE iteration count",
                    "out of range",
                    MAX_ITERATIONS,
                )
            })?;
            return self.charge("the PKCS#12 PBE iteration count", iterations);
        }
        Ok(())
    }

    fn malformed(&self, e: impl std::fmt::Display) -> anyhow::Error {
        fail(
            Exit::DataErr,
            format!("{}: cannot read PKCS#12: {e}", self.what),
        )
    }
}

/// PKCS12PbeParams with the iteration count as any INTEGER: the crate that
/// decrypts reads it as u64, so a count above i32 must be seen here too.
#[derive(der::Sequence)]
struct LegacyPbeParams {
    salt: OctetString,
    iterations: der::asn1::Int,
}

fn legacy_params(alg: &AlgorithmIdentifierOwned) -> der::Result<LegacyPbeParams> {
    let params = alg
        .parameters
        .as_ref()
        .ok_or_else(|| der::Tag::Sequence.value_error())?;
    LegacyPbeParams::from_der(&params.to_der()?)
}

/// A positive INTEGER as u64; `None` for zero, negative or above u64.
fn positive(n: &der::asn1::Int) -> Option<u64> {
    let bytes = n.as_bytes();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let digits: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

/// A shrouded key bag's or secret bag's encrypted key: `[0] EXPLICIT`
/// around it in the bag.
type ExplicitKey = ContextSpecific<pkcs12::pbe_params::EncryptedPrivateKeyInfo>;

/// The secret bag p12-keystore opens (its inner value an encrypted PKCS#8).
#[derive(der::Sequence)]
struct SecretBag {
    _kind: ObjectIdentifier,
    #[asn1(context_specific = "0")]
    encrypted: OctetString,
}

const PKCS8_SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const SECRET_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.5");

/// Checks every key derivation a PKCS#12 file asks for, as p12-keystore
/// would run them: the MAC, each encrypted content, and each shrouded key
/// or secret bag, including those inside encrypted contents, which are
/// decrypted here to be seen (within the limits just checked, and counted).
/// A structure this cannot read is left to the crate to refuse.
pub(crate) fn check_pkcs12(data: &[u8], password: &str, what: &str) -> anyhow::Result<()> {
    let mut budget = KdfBudget::pkcs12(what);
    let mut certs = Vec::new();
    let pfx = pkcs12::pfx::Pfx::from_der(data).map_err(|e| budget.malformed(e))?;
    if let Some(mac) = &pfx.mac_data {
        // The crate casts the i32 to u64: a negative count is astronomical.
        let iterations = u64::try_from(mac.iterations)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                budget.too_much(
                    "the PKCS#12 MAC iteration count",
                    mac.iterations,
                    MAX_ITERATIONS,
                )
            })?;
        budget.charge("the PKCS#12 MAC iteration count", iterations)?;
    }
    if pfx.auth_safe.content_type != ID_DATA {
        return Ok(());
    }
    let safes = octets(&pfx.auth_safe.content).map_err(|e| budget.malformed(e))?;
    // A wrong password is for the crate to report. Without this, one wrong
    // password in about 256 "decrypts" an encrypted content below to garbage
    // with valid padding, and the garbage would be reported as malformed.
    if let Some(mac) = &pfx.mac_data {
        if mac_verifies(mac, &safes, password) == Some(false) {
            return Ok(());
        }
    }
    let safes =
        Vec::<cms::content_info::ContentInfo>::from_der(&safes).map_err(|e| budget.malformed(e))?;
    for safe in &safes {
        if safe.content_type == ID_DATA {
            let bags = octets(&safe.content).map_err(|e| budget.malformed(e))?;
            check_bags(&bags, &mut budget, &mut certs)?;
        } else if safe.content_type == ID_ENCRYPTED_DATA {
            let der = safe.content.to_der().map_err(|e| budget.malformed(e))?;
            let encrypted = cms::encrypted_data::EncryptedData::from_der(&der)
                .map_err(|e| budget.malformed(e))?;
            let info = &encrypted.enc_content_info;
            // Once for the crate's decryption, once for ours below.
            budget.algorithm(&info.content_enc_alg)?;
            budget.algorithm(&info.content_enc_alg)?;
            let Some(content) = &info.encrypted_content else {
                continue;
            };
            // A wrong password or an unknown scheme: the crate says so.
            if let Some(bags) = decrypt(&info.content_enc_alg, content.as_bytes(), password) {
                check_bags(&bags, &mut budget, &mut certs)?;
            }
        }
    }
    if chain_loops(&certs) {
        return Err(fail(
            Exit::DataErr,
            format!("{what}: refused: its certificates name each other as issuers in a loop"),
        ));
    }
    Ok(())
}

/// A certificate bag as p12-keystore sees it when it builds a chain.
pub(crate) struct ChainLink {
    subject: String,
    issuer: String,
    /// Marked trusted (Oracle's trusted key usage): never taken as an issuer.
    trusted: bool,
}

/// Whether p12-keystore's chain building would never end. From a key's
/// certificate it follows "the first untrusted certificate whose subject is
/// this one's issuer" until a self-issued one, pushing a copy of each onto
/// the chain: certificates issued by each other in a circle made it loop
/// for ever, growing memory until the process aborted. Names are compared
/// as that crate compares them (x509-parser's rendering). Linear: each
/// certificate is followed once.
pub(crate) fn chain_loops(certs: &[ChainLink]) -> bool {
    let mut first_by_subject = std::collections::HashMap::new();
    for (i, c) in certs.iter().enumerate() {
        if !c.trusted {
            first_by_subject.entry(c.subject.as_str()).or_insert(i);
        }
    }
    // Where the walk goes from certificate i (None: it stops there).
    let next = |i: usize| {
        let issuer = *first_by_subject.get(certs[i].issuer.as_str())?;
        (certs[issuer].issuer != certs[issuer].subject).then_some(issuer)
    };
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        Not,
        OnPath,
        Ends,
    }
    let mut seen = vec![Seen::Not; certs.len()];
    for start in 0..certs.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match seen[i] {
                Seen::Ends => break,
                Seen::OnPath => return true,
                Seen::Not => {
                    seen[i] = Seen::OnPath;
                    path.push(i);
                    at = next(i);
                }
            }
        }
        for i in path {
            seen[i] = Seen::Ends;
        }
    }
    false
}

const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const ORACLE_TRUSTED_KEY_USAGE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.113894.746875.1.1");
const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// A certificate bag's link, as p12-keystore reads it; `None` if it would
/// not read it (then it refuses the file itself).
fn chain_link(bag: &pkcs12::safe_bag::SafeBag) -> Option<ChainLink> {
    let cert_bag = ContextSpecific::<pkcs12::cert_type::CertBag>::from_der(&bag.bag_value).ok()?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(cert_bag.value.cert_value.as_bytes()).ok()?;
    let trusted = bag.bag_attributes.iter().flat_map(|a| a.iter()).any(|a| {
        a.oid == ORACLE_TRUSTED_KEY_USAGE
            && a.values.iter().next().is_some_and(|v| {
                v.decode_as::<ObjectIdentifier>().ok() == Some(ANY_EXTENDED_KEY_USAGE)
            })
    });
    Some(ChainLink {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        trusted,
    })
}

fn octets(any: &der::Any) -> der::Result<Vec<u8>> {
    Ok(OctetString::from_der(&any.to_der()?)?.into_bytes())
}

fn check_bags(
    der: &[u8],
    budget: &mut KdfBudget<'_>,
    certs: &mut Vec<ChainLink>,
) -> anyhow::Result<()> {
    let bags = pkcs12::safe_bag::SafeContents::from_der(der).map_err(|e| budget.malformed(e))?;
    for bag in &bags {
        if bag.bag_id == CERT_BAG {
            certs.extend(chain_link(bag));
            continue;
        }
        let key = if bag.bag_id == PKCS8_SHROUDED_KEY_BAG {
            ExplicitKey::from_der(&bag.bag_value).ok().map(|k| k.value)
        } else if bag.bag_id == SECRET_BAG {
            der::Any::from_der(&bag.bag_value)
                .ok()
                .and_then(|any| SecretBag::from_der(any.value()).ok())
                .and_then(|s| {
                    pkcs12::pbe_params::EncryptedPrivateKeyInfo::from_der(s.encrypted.as_bytes())
                        .ok()
                })
        } else {
            None
        };
        if let Some(key) = key {
            budget.algorithm(&key.encryption_algorithm)?;
        }
    }
    Ok(())
}

/// Whether the PKCS#12 MAC (RFC 7292 appendix B: an HMAC over the
/// AuthenticatedSafe, keyed by the PKCS#12 KDF) verifies under `password`;
/// `None` for a digest it does not know, which the crate then judges. The
/// iteration count was checked against the budget before this runs.
fn mac_verifies(mac: &pkcs12::mac_data::MacData, auth_safe: &[u8], password: &str) -> Option<bool> {
    fn verify<D>(mac: &pkcs12::mac_data::MacData, data: &[u8], password: &str) -> Option<bool>
    where
        D: sha2::Digest
            + sha2::digest::FixedOutputReset
            + sha2::digest::core_api::BlockSizeUser
            + Clone,
    {
        use hmac::Mac;
        let key = pkcs12::kdf::derive_key_utf8::<D>(
            password,
            mac.mac_salt.as_bytes(),
            pkcs12::kdf::Pkcs12KeyType::Mac,
            mac.iterations,
            <D as sha2::Digest>::output_size(),
        )
        .ok()?;
        let mut hmac = <hmac::SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(&key).ok()?;
        hmac.update(data);
        // verify_slice compares in constant time.
        Some(hmac.verify_slice(mac.mac.digest.as_bytes()).is_ok())
    }
    let oid = mac.mac.algorithm.oid;
    if oid == const_oid::db::rfc5912::ID_SHA_1 {
        verify::<sha1::Sha1>(mac, auth_safe, password)
    } else if oid == const_oid::db::rfc5912::ID_SHA_256 {
        verify::<sha2::Sha256>(mac, auth_safe, password)
    } else if oid == const_oid::db::rfc5912::ID_SHA_384 {
        verify::<sha2::Sha384>(mac, auth_safe, password)
    } else if oid == const_oid::db::rfc5912::ID_SHA_512 {
        verify::<sha2::Sha512>(mac, auth_safe, password)
    } else {
        None
    }
}

/// Decrypts a PKCS#12 encrypted content as p12-keystore does: PBES2, or
/// the legacy PKCS#12 PBE with SHA-1 and 3DES or 40-bit RC2 (RFC 7292
/// appendix B.2 key derivation). `None` when it cannot (wrong password).
fn decrypt(alg: &AlgorithmIdentifierOwned, data: &[u8], password: &str) -> Option<Vec<u8>> {
    use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, InnerIvInit, KeyIvInit};
    if alg.oid == PBES2 {
        let der = alg.to_der().ok()?;
        let scheme = pkcs5::EncryptionScheme::try_from(der.as_slice()).ok()?;
        return scheme.decrypt(password, data).ok();
    }
    let params = legacy_params(alg).ok()?;
    let rounds = i32::try_from(positive(&params.iterations)?).ok()?;
    let salt = params.salt.as_bytes();
    let derive = |kind, len| {
        pkcs12::kdf::derive_key_utf8::<sha1::Sha1>(password, salt, kind, rounds, len).ok()
    };
    let iv = derive(pkcs12::kdf::Pkcs12KeyType::Iv, 8)?;
    if alg.oid == PBE_SHA1_3DES {
        let key = derive(pkcs12::kdf::Pkcs12KeyType::EncryptionKey, 24)?;
        cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .ok()?
            .decrypt_padded_vec_mut::<Pkcs7>(data)
            .ok()
    } else {
        let key = derive(pkcs12::kdf::Pkcs12KeyType::EncryptionKey, 5)?;
        let cipher = rc2::Rc2::new_with_eff_key_len(&key, 40);
        cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(cipher, &iv)
            .ok()?
            .decrypt_padded_vec_mut::<Pkcs7>(data)
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// alice's key and certificate as `openssl pkcs12 -export` writes them
    /// under the password "pw": legacy (40-bit RC2 and 3DES) or modern
    /// (PBES2), with the MAC digest `mac`.
    fn openssl_p12(legacy: bool, mac: &str) -> Vec<u8> {
        let dir = env!("CARGO_MANIFEST_DIR");
        let out = std::process::Command::new("openssl")
            .args(["pkcs12", "-export", "-passout", "pass:pw", "-macalg", mac])
            .args(["-inkey", &format!("{dir}/tests/data/alice.key.pem")])
            .args(["-in", &format!("{dir}/tests/data/alice.cert.pem")])
            .args(if legacy { &["-legacy"][..] } else { &[][..] })
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The first encrypted content of a PKCS#12 file: its algorithm and bytes.
    fn first_encrypted_content(p12: &[u8]) -> (AlgorithmIdentifierOwned, Vec<u8>) {
        let pfx = pkcs12::pfx::Pfx::from_der(p12).unwrap();
        let safes = octets(&pfx.auth_safe.content).unwrap();
        let safes = Vec::<cms::content_info::ContentInfo>::from_der(&safes).unwrap();
        let encrypted = safes
            .iter()
            .find(|s| s.content_type == ID_ENCRYPTED_DATA)
            .unwrap();
        let encrypted =
            cms::encrypted_data::EncryptedData::from_der(&encrypted.content.to_der().unwrap())
                .unwrap();
        let info = encrypted.enc_content_info;
        let content = info.encrypted_content.as_ref().unwrap().as_bytes().to_vec();
        (info.content_enc_alg, content)
    }

    /// The bags inside encrypted contents are seen: OpenSSL's legacy
    /// (40-bit RC2 for certificates, 3DES for the key) and modern (PBES2)
    /// files decrypt here as they do in p12-keystore.
    #[test]
    fn encrypted_contents_of_openssl_files_are_decrypted_to_be_checked() {
        for legacy in [true, false] {
            let p12 = openssl_p12(legacy, "sha256");
            let (alg, content) = first_encrypted_content(&p12);
            let bags = decrypt(&alg, &content, "pw").expect("decrypted");
            let bags = pkcs12::safe_bag::SafeContents::from_der(&bags).unwrap();
            assert_eq!(
                bags[0].bag_id,
                pkcs12::PKCS_12_CERT_BAG_OID,
                "legacy: {legacy}"
            );
            check_pkcs12(&p12, "pw", "alice.p12").unwrap();
        }
    }

    /// A wrong password whose "decryption" of the legacy encrypted content
    /// happens to end in valid padding (about one password in 256) yields
    /// garbage; that must not be reported as a malformed file (status 65)
    /// but left to the crate, which says "wrong password" (77).
    #[test]
    fn a_wrong_password_is_never_reported_as_a_malformed_file() {
        for (legacy, mac) in [(true, "sha1"), (false, "sha256")] {
            let p12 = openssl_p12(legacy, mac);
            let pfx = pkcs12::pfx::Pfx::from_der(&p12).unwrap();
            let safes = octets(&pfx.auth_safe.content).unwrap();
            let mac_data = pfx.mac_data.as_ref().unwrap();
            assert_eq!(mac_verifies(mac_data, &safes, "pw"), Some(true), "{mac}");
            let (alg, content) = first_encrypted_content(&p12);
            // Find wrong passwords that decrypt to valid padding.
            let lucky: Vec<String> = (0..4000)
                .map(|i| format!("wrong {i}"))
                .filter(|p| decrypt(&alg, &content, p).is_some())
                .take(3)
                .collect();
            assert!(!lucky.is_empty(), "no wrong password decrypted ({mac})");
            for password in &lucky {
                check_pkcs12(&p12, password, "alice.p12").unwrap_or_else(|e| {
                    panic!("{password:?} ({mac}): {e}");
                });
            }
        }
    }

    #[test]
    fn chains_that_loop_are_found() {
        let link = |subject: &str, issuer: &str, trusted| ChainLink {
            subject: subject.into(),
            issuer: issuer.into(),
            trusted,
        };
        let chain = [
            link("leaf", "ca", false),
            link("ca", "root", false),
            link("root", "root", false),
        ];
        assert!(!chain_loops(&chain));
        let circle = [
            link("leaf", "a", false),
            link("a", "b", false),
            link("b", "a", false),
        ];
        assert!(chain_loops(&circle));
        // A trusted certificate is never taken as an issuer: no loop.
        let trusted = [
            link("leaf", "a", false),
            link("a", "b", false),
            link("b", "a", true),
        ];
        assert!(!chain_loops(&trusted));
        // The first certificate with the subject is the one followed.
        let first = [
            link("leaf", "a", false),
            link("a", "a", false),
            link("a", "leaf", false),
        ];
        assert!(!chain_loops(&first));
        assert!(!chain_loops(&[]));
    }

    #[test]
    fn integers_in_range() {
        let int = |bytes: &[u8]| der::asn1::Int::new(bytes).unwrap();
        assert_eq!(positive(&int(&[0x08, 0x00])), Some(2048));
        assert_eq!(positive(&int(&[0x00, 0xff])), Some(255));
        assert_eq!(positive(&int(&[0x00])), None);
        assert_eq!(positive(&int(&[0xff])), None, "negative");
        assert_eq!(positive(&int(&[0x01; 9])), None, "above u64");
    }
}
