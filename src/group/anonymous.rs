//! Making a group anonymous (issue #17), the administrator's side: its
//! members read list mail with membership passes instead of their
//! identity (`group create --anonymous`, `group set GROUP anonymous=on`),
//! and `group remove-member --now` withdraws every outstanding pass.
//!
//! Turning it on makes the group's pass seed (32 random bytes, sealed by
//! the store's vault under the server passphrase), from which the server
//! derives one issuing key per period ([`crate::group::pass::derive`]).
//! Turning it off keeps the seed, so that turning it on again needs no
//! passphrase and gives the same keys.
//!
//! May use: the store, the vault, the pass core's limits.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::admin::{check_server_passphrase, existing_group};
use super::pass::derive::SEED_LEN;
use super::pass::{Period, DEFAULT_LIFETIME};
use super::service::seed_purpose;
use super::store::{PassIssuerRecord, Store};
use super::vault::Vault;
use crate::error::{fail, fail_hint, Exit};

/// What to change; `None` keeps the current value.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnonymousChange {
    pub enabled: Option<bool>,
    /// Seconds: whole hours from one hour to a week.
    pub lifetime: Option<u64>,
}

/// Applies `change` to `group`. The passphrase is asked for (through
/// `passphrase`) only when the seed must be made.
pub fn set_anonymous(
    store: &dyn Store,
    group: &str,
    change: AnonymousChange,
    passphrase: &mut dyn FnMut() -> anyhow::Result<String>,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<PassIssuerRecord> {
    existing_group(store, group)?;
    if let Some(lifetime) = change.lifetime {
        Period::containing(0, lifetime).map_err(|_| {
            fail_hint(
                Exit::Usage,
                "a pass lifetime must be whole hours from 1h to 7d",
                "for example pass-lifetime=24h",
            )
        })?;
    }
    let record = match store.pass_issuer(group)? {
        Some(mut record) => {
            if let Some(enabled) = change.enabled {
                record.enabled = enabled;
            }
            if let Some(lifetime) = change.lifetime {
                record.lifetime = lifetime as i64;
            }
            record
        }
        None => {
            if change.enabled != Some(true) {
                return Err(fail_hint(
                    Exit::Usage,
                    format!("group {group} is not anonymous"),
                    format!("turn it on with `sealpost group set {group} anonymous=on`"),
                ));
            }
            let passphrase = Zeroizing::new(passphrase()?);
            check_server_passphrase(store, &passphrase)?;
            let vault = Vault::open_or_create(store, &passphrase, rng)?;
            let mut seed = Zeroizing::new([0u8; SEED_LEN]);
            rng.fill_bytes(&mut seed[..]);
            PassIssuerRecord {
                enabled: true,
                lifetime: change.lifetime.unwrap_or(DEFAULT_LIFETIME) as i64,
                epoch: 0,
                sealed_seed: vault.seal(&seed_purpose(group), &seed[..], rng)?,
            }
        }
    };
    store.set_pass_issuer(group, &record)?;
    Ok(record)
}

/// `remove-member --now`: replaces every issuing key of `group`, so that
/// every pass issued so far is refused at its next use (current members
/// fetch a new one on their own). False when the group is not anonymous.
pub fn withdraw_passes(store: &dyn Store, group: &str) -> anyhow::Result<bool> {
    existing_group(store, group)?;
    store.bump_pass_epoch(group)
}

/// Reads `anonymous=on|off` and `pass-lifetime=DURATION` settings.
pub fn parse_settings(settings: &[String]) -> anyhow::Result<AnonymousChange> {
    let mut change = AnonymousChange::default();
    for setting in settings {
        let (key, value) = setting.split_once('=').ok_or_else(|| {
            fail_hint(
                Exit::Usage,
                format!("{setting:?} is not KEY=VALUE"),
                "for example anonymous=on or pass-lifetime=24h",
            )
        })?;
        match key {
            "anonymous" => {
                change.enabled = Some(match value {
                    "on" | "true" | "yes" => true,
                    "off" | "false" | "no" => false,
                    _ => return Err(fail(Exit::Usage, "anonymous= takes on or off")),
                })
            }
            "pass-lifetime" => {
                let seconds = super::admin::parse_duration(value)
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(|| {
                        fail(Exit::Usage, "pass-lifetime= takes a duration such as 24h")
                    })?;
                change.lifetime = Some(seconds);
            }
            _ => {
                return Err(fail_hint(
                    Exit::Usage,
                    format!("unknown setting {key:?}"),
                    "the settings are anonymous=on|off and pass-lifetime=DURATION",
                ))
            }
        }
    }
    Ok(change)
}
