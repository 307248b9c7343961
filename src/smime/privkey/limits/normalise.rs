//! PKCS#12 files other programs write, rewritten into the form p12-keystore
//! and the checks in `pfx.rs` read: DER, and PBKDF2's PRF with its NULL.
//!
//! - NSS (`pk12util`, so Thunderbird and Firefox) writes indefinite-length
//!   BER at three levels: the PFX, the AuthenticatedSafe inside its OCTET
//!   STRING, and each SafeContents inside a data content's OCTET STRING,
//!   with chunked (constructed) OCTET STRINGs for the encrypted contents.
//!   What it encrypts (keys, certificate bags) is DER.
//! - GnuTLS (`certtool --to-p12`) writes PBKDF2's `prf` AlgorithmIdentifier
//!   without parameters (RFC 8018 appendix B.1.2 says NULL; absent is the
//!   common reading of RFC 4231), which the pkcs5 crate refuses.
//!
//! Each level goes through the one BER normaliser (`envelope::ber`, bounded
//! in depth and element count, every length checked against its input).
//! NOTE: the PKCS#12 MAC covers the AuthenticatedSafe's bytes, so a
//! rewritten AuthenticatedSafe needs a new MAC. It is computed with the key
//! that verified the original bytes, and only when they verified: a file
//! whose MAC fails keeps it, and is refused later as a wrong password.
//! The MAC's iteration count is checked against the single-derivation
//! limit before that derivation; everything else (the whole file's budget,
//! the encrypted contents, the key bags) is checked on the rewritten file
//! by `check_pkcs12`, as for any other file. DER input that needs no
//! change comes back unchanged and derives nothing here.

use std::borrow::Cow;

use der::asn1::{ContextSpecific, Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use super::pfx::mac_tags;
use super::{MAX_ITERATIONS, PBES2};
use crate::error::{fail, Exit};
use crate::smime::envelope::ber;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const PBKDF2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.12");
const PKCS8_SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
/// hmacWithSHA1 (…2.7) to hmacWithSHA512 (…2.11), RFC 8018 appendix B.1.
const HMAC_ARC: &str = "1.2.840.113549.2.";

/// A SafeBag (RFC 7292 §4.2) as written: pkcs12's own type does not
/// re-encode what it decodes (its bagValue gains a second `[0]`).
#[derive(der::Sequence)]
struct SafeBag {
    id: ObjectIdentifier,
    /// The `[0] EXPLICIT` bagValue, tag included.
    value: der::Any,
    #[asn1(optional = "true")]
    attributes: Option<der::Any>,
}

/// A shrouded key bag's value.
type ExplicitKey = ContextSpecific<pkcs12::pbe_params::EncryptedPrivateKeyInfo>;

/// PBES2-params (RFC 8018 A.4), its two algorithms kept whole.
#[derive(der::Sequence)]
struct Pbes2Params {
    kdf: AlgorithmIdentifierOwned,
    encryption: AlgorithmIdentifierOwned,
}

/// PBKDF2-params (RFC 8018 A.2) as written, so that re-encoding changes
/// nothing but the PRF's parameters.
#[derive(der::Sequence)]
struct Pbkdf2Params {
    salt: der::Any,
    iterations: der::asn1::Int,
    #[asn1(optional = "true")]
    key_length: Option<der::asn1::Int>,
    #[asn1(optional = "true")]
    prf: Option<AlgorithmIdentifierOwned>,
}

/// The PKCS#12 file `data` in DER with PBKDF2 PRFs carrying their NULL, as
/// described in the module doc. `password` is needed only to re-MAC.
pub(crate) fn pkcs12_to_der<'a>(
    data: &'a [u8],
    password: &str,
    what: &str,
) -> anyhow::Result<Cow<'a, [u8]>> {
    let not_pkcs12 = || fail(Exit::DataErr, format!("{what}: not a PKCS#12 file"));
    let outer = ber::to_der(data).map_err(|_| not_pkcs12())?;
    let Ok(mut pfx) = pkcs12::pfx::Pfx::from_der(&outer) else {
        // Not a PFX as the crate reads it: it says why, on the input as given.
        return Ok(Cow::Borrowed(data));
    };
    let malformed = |e: &dyn std::fmt::Display| {
        fail(Exit::DataErr, format!("{what}: cannot read PKCS#12: {e}"))
    };
    if pfx.auth_safe.content_type != ID_DATA {
        return Ok(reuse(data, outer));
    }
    let auth_safe = octets(&pfx.auth_safe.content).map_err(|e| malformed(&e))?;
    let rewritten = auth_safe_to_der(&auth_safe).map_err(|e| malformed(&e))?;
    if rewritten == auth_safe {
        return Ok(reuse(data, outer));
    }
    if let Some(mac) = &mut pfx.mac_data {
        let in_limit =
            u64::try_from(mac.iterations).is_ok_and(|n| (1..=MAX_ITERATIONS).contains(&n));
        if !in_limit {
            // check_pkcs12 refuses it, naming the limit.
            return Ok(Cow::Borrowed(data));
        }
        let Some(tags) = mac_tags(mac, password, &[&auth_safe, &rewritten]) else {
            return Ok(Cow::Borrowed(data));
        };
        use subtle::ConstantTimeEq;
        if bool::from(tags[0].ct_eq(mac.mac.digest.as_bytes())) {
            mac.mac.digest = OctetString::new(tags[1].clone()).map_err(|e| malformed(&e))?;
        }
    }
    let content = OctetString::new(rewritten)
        .and_then(|o| der::Any::encode_from(&o))
        .map_err(|e| malformed(&e))?;
    pfx.auth_safe.content = content;
    Ok(Cow::Owned(pfx.to_der().map_err(|e| malformed(&e))?))
}

fn reuse(data: &[u8], outer: Vec<u8>) -> Cow<'_, [u8]> {
    if outer == data {
        Cow::Borrowed(data)
    } else {
        Cow::Owned(outer)
    }
}

fn octets(any: &der::Any) -> der::Result<Vec<u8>> {
    Ok(OctetString::from_der(&any.to_der()?)?.into_bytes())
}

/// The AuthenticatedSafe in DER, each data content's SafeContents in DER,
/// and PRFs given their NULL in encrypted contents and shrouded key bags.
fn auth_safe_to_der(auth_safe: &[u8]) -> anyhow::Result<Vec<u8>> {
    let der = ber::to_der(auth_safe)?;
    let mut safes = Vec::<cms::content_info::ContentInfo>::from_der(&der)?;
    for safe in &mut safes {
        if safe.content_type == ID_DATA {
            let bags = ber::to_der(&octets(&safe.content)?)?;
            let mut bags = Vec::<SafeBag>::from_der(&bags)?;
            for bag in bags.iter_mut().filter(|b| b.id == PKCS8_SHROUDED_KEY_BAG) {
                let Ok(mut key) = bag.value.to_der().and_then(|d| ExplicitKey::from_der(&d)) else {
                    continue;
                };
                if let Some(alg) = with_prf_null(&key.value.encryption_algorithm)? {
                    key.value.encryption_algorithm = alg;
                    bag.value = der::Any::encode_from(&key)?;
                }
            }
            safe.content = der::Any::encode_from(&OctetString::new(bags.to_der()?)?)?;
        } else if safe.content_type == ID_ENCRYPTED_DATA {
            let mut encrypted = safe
                .content
                .decode_as::<cms::encrypted_data::EncryptedData>()?;
            let info = &mut encrypted.enc_content_info;
            if let Some(alg) = with_prf_null(&info.content_enc_alg)? {
                info.content_enc_alg = alg;
                safe.content = der::Any::encode_from(&encrypted)?;
            }
        }
    }
    Ok(safes.to_der()?)
}

/// `alg` with NULL parameters on a PBES2 scheme's PBKDF2 PRF that has
/// none; `None` when nothing needs to change.
pub(crate) fn with_prf_null(
    alg: &AlgorithmIdentifierOwned,
) -> der::Result<Option<AlgorithmIdentifierOwned>> {
    let Some(params) = alg.parameters.as_ref().filter(|_| alg.oid == PBES2) else {
        return Ok(None);
    };
    let mut pbes2: Pbes2Params = params.decode_as()?;
    let Some(kdf_params) = pbes2
        .kdf
        .parameters
        .as_ref()
        .filter(|_| pbes2.kdf.oid == PBKDF2)
    else {
        return Ok(None);
    };
    let mut pbkdf2: Pbkdf2Params = kdf_params.decode_as()?;
    match &mut pbkdf2.prf {
        Some(prf) if prf.parameters.is_none() && prf.oid.to_string().starts_with(HMAC_ARC) => {
            prf.parameters = Some(der::Any::encode_from(&Null)?);
        }
        _ => return Ok(None),
    }
    pbes2.kdf.parameters = Some(der::Any::encode_from(&pbkdf2)?);
    Ok(Some(AlgorithmIdentifierOwned {
        oid: PBES2,
        parameters: Some(der::Any::encode_from(&pbes2)?),
    }))
}
