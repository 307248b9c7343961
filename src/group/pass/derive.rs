//! The group server's issuing keys, derived rather than stored: one
//! RSA-3072 blind-signing key per group, epoch and period, computed from
//! the group's sealed seed. Every replica that can open the seed computes
//! the same key for the same period, so nothing per period is written,
//! shared or cleaned up, and bumping the epoch (`remove-member --now`)
//! replaces every key at once.
//!
//! The derivation: HMAC-SHA256 keyed with the 32-byte seed over a domain
//! string and the group, epoch, period start and lifetime (each
//! length-prefixed), seeding a ChaCha20 generator from which the `rsa`
//! crate draws the primes. Deterministic for a given `rsa` and
//! `rand_chacha` version — replicas of one deployment run one sealpost
//! version (a replica of another version computes another key, and its
//! passes are refused by the others as issued under another key, a
//! visible failure rather than a silent one).
//!
//! May use: the pass core ([`super`]), rsa, hmac, sha2, rand_chacha.

use hmac::{Hmac, Mac};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Issuer, PassError, Period};

/// The size of the derived issuing keys.
pub const ISSUING_KEY_BITS: usize = 3072;
/// The seed's length.
pub const SEED_LEN: usize = 32;

const DOMAIN: &[u8] = b"sealpost pass issuing key v1\0";

/// The issuing key of `group` for `period` at `epoch`.
pub fn issuing_key(
    seed: &[u8; SEED_LEN],
    group: &str,
    epoch: u64,
    period: Period,
) -> Result<Issuer, PassError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(seed).map_err(|_| PassError::Malformed)?;
    mac.update(DOMAIN);
    for field in [
        group.as_bytes(),
        &epoch.to_be_bytes(),
        &period.start().to_be_bytes(),
        &(period.end() - period.start()).to_be_bytes(),
    ] {
        mac.update(&(field.len() as u32).to_be_bytes());
        mac.update(field);
    }
    let rng_seed = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
    let mut rng = ChaCha20Rng::from_seed(*rng_seed);
    // RsaPrivateKey wipes itself on drop.
    let key =
        rsa::RsaPrivateKey::new(&mut rng, ISSUING_KEY_BITS).map_err(|_| PassError::Malformed)?;
    Issuer::new(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_inputs_give_the_same_key_and_any_change_another() {
        let seed = [7u8; SEED_LEN];
        let period = Period::containing(1_800_000_000, 24 * 3600).unwrap();
        let a = issuing_key(&seed, "list", 0, period).unwrap();
        let b = issuing_key(&seed, "list", 0, period).unwrap();
        assert_eq!(a.public().id(), b.public().id());
        for other in [
            issuing_key(&seed, "list", 1, period).unwrap(),
            issuing_key(&seed, "lisu", 0, period).unwrap(),
            issuing_key(&seed, "list", 0, period.next()).unwrap(),
            issuing_key(&[8u8; SEED_LEN], "list", 0, period).unwrap(),
        ] {
            assert_ne!(a.public().id(), other.public().id());
        }
    }
}
