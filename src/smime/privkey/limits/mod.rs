//! Limits on the password-based key derivation a key file may ask for,
//! checked before any derivation runs, and the one other unbounded thing
//! a PKCS#12 file could make p12-keystore do (a certificate chain that loops,
//! see `chain.rs`).
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
//!
//! The limits and the budget they are charged to are here; finding every
//! derivation a PKCS#12 file asks for (its MAC, encrypted contents decrypted
//! to be seen, key bags) is in `pfx.rs`, the certificate chain check in
//! `chain.rs`. Files from NSS (BER) and GnuTLS are rewritten into the form
//! those read by `normalise.rs` first, and checked as rewritten.

mod chain;
mod normalise;
mod pfx;

pub(crate) use normalise::{pkcs12_to_der, with_prf_null};
pub(crate) use pfx::check_pkcs12;

use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use crate::error::{fail, Exit};

/// PBKDF2 / PKCS#12 KDF iterations of one derivation (and scrypt N·r·p).
pub const MAX_ITERATIONS: u64 = 10_000_000;
/// scrypt's memory, 128·N·r bytes.
pub const MAX_SCRYPT_MEMORY: u64 = 256 << 20;
/// Every derivation one PKCS#12 file asks for, together.
pub const MAX_PKCS12_ITERATIONS: u64 = 4 * MAX_ITERATIONS;

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

#[cfg(test)]
mod tests {
    use super::*;

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
