//! Every key derivation a PKCS#12 (PFX) file asks for, found as
//! p12-keystore would run them: the MAC, each encrypted content, and each
//! shrouded key or secret bag, including those inside encrypted contents,
//! which are decrypted here (as the crate decrypts them) to be seen. The
//! certificate bags met on the way go to the chain check (`chain.rs`).

use der::asn1::{ContextSpecific, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use super::chain::{chain_link, chain_loops, ChainLink};
use super::{legacy_params, positive, KdfBudget, MAX_ITERATIONS, PBES2, PBE_SHA1_3DES};
use crate::error::{fail, Exit};

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");

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
    use subtle::ConstantTimeEq;
    let tags = mac_tags(mac, password, &[auth_safe])?;
    Some(bool::from(tags[0].ct_eq(mac.mac.digest.as_bytes())))
}

/// The PKCS#12 MAC of each of `data` under the key `mac` and `password`
/// derive (derived once); `None` for a digest it does not know. The caller
/// has checked the iteration count.
pub(super) fn mac_tags(
    mac: &pkcs12::mac_data::MacData,
    password: &str,
    data: &[&[u8]],
) -> Option<Vec<Vec<u8>>> {
    fn tags<D>(
        mac: &pkcs12::mac_data::MacData,
        password: &str,
        data: &[&[u8]],
    ) -> Option<Vec<Vec<u8>>>
    where
        D: sha2::Digest
            + sha2::digest::FixedOutputReset
            + sha2::digest::core_api::BlockSizeUser
            + Clone,
    {
        use hmac::Mac;
        let key = zeroize::Zeroizing::new(
            pkcs12::kdf::derive_key_utf8::<D>(
                password,
                mac.mac_salt.as_bytes(),
                pkcs12::kdf::Pkcs12KeyType::Mac,
                mac.iterations,
                <D as sha2::Digest>::output_size(),
            )
            .ok()?,
        );
        data.iter()
            .map(|data| {
                let mut hmac =
                    <hmac::SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(&key).ok()?;
                hmac.update(data);
                Some(hmac.finalize().into_bytes().to_vec())
            })
            .collect()
    }
    let oid = mac.mac.algorithm.oid;
    if oid == const_oid::db::rfc5912::ID_SHA_1 {
        tags::<sha1::Sha1>(mac, password, data)
    } else if oid == const_oid::db::rfc5912::ID_SHA_256 {
        tags::<sha2::Sha256>(mac, password, data)
    } else if oid == const_oid::db::rfc5912::ID_SHA_384 {
        tags::<sha2::Sha384>(mac, password, data)
    } else if oid == const_oid::db::rfc5912::ID_SHA_512 {
        tags::<sha2::Sha512>(mac, password, data)
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
}
