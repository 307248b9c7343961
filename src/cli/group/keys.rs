//! `sealpost group rotate-key | show`: a group's key generations.

use clap::Args;
use serde_json::json;

use super::admin::StoreArgs;
use super::Context;
use crate::cli::secrets::TokenPinArgs;
use crate::cli::{json, write_stdout, Ask};
use sealpost::error::{fail, Exit};
use sealpost::group::admin::{self, existing_group, DEFAULT_KEEP_OLD};
use sealpost::group::token::is_pkcs11_uri;
use sealpost::smime::certs::{format_time, now, CertInfo};

/// Replace a group's key: a new key pair and group certificate
///
/// The new key has the size of the old one, and its certificate is valid
/// as long as the old one was. Senders must encrypt to the new certificate
/// from now on: give them `sealpost group cert NAME`. The old key is
/// retired, not deleted: a running server still releases messages
/// encrypted to it for --keep-old (at its next request; no restart), then
/// refuses them (`key_retired`). Needs the server passphrase.
///
/// A key in a PKCS#11 token is replaced by a new key pair generated in the
/// same token (never extractable), labelled after the old one with -gN for
/// generation N and given a fresh random id; the retired key stays in the
/// token and is used for its window. Needs the token's PIN (as for
/// `group create --pkcs11`), not the passphrase.
#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    pub name: String,
    /// How long messages encrypted to the old key stay readable: a
    /// duration such as 90d, 12h, 30m (0s: refuse them at once)
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_KEEP_OLD, value_parser = parse_keep_old)]
    pub keep_old: i64,
    #[command(flatten)]
    pub pin: TokenPinArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn parse_keep_old(text: &str) -> Result<i64, String> {
    admin::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration such as 90d, 12h, 30m or 45s"))
}

pub fn rotate_key(args: RotateKeyArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = args.store.open(ctx)?;
    let group = existing_group(&*store, &args.name)?;
    let rotated = if is_pkcs11_uri(&group.sealed_key) {
        let pins = args.pin.source(ctx.can_prompt());
        admin::rotate_key_in_token(
            &*store,
            &args.name,
            &*pins,
            args.keep_old,
            now(),
            &mut rand_core::OsRng,
        )?
    } else {
        let passphrase = ctx.passphrase(Ask::Existing)?;
        admin::rotate_key(
            &*store,
            &args.name,
            passphrase,
            args.keep_old,
            now(),
            &mut rand_core::OsRng,
        )?
    };
    let info = CertInfo::from_der(&rotated.group.certificate)?;
    if ctx.global.json {
        return ctx.print_json(
            "group rotate-key",
            json!({
                "group": args.name,
                "generation": rotated.generation,
                "fingerprint": info.fingerprint,
                "not_after": json::time(info.not_after),
                "old_kept_until": json::time(rotated.keep_until),
            }),
        );
    }
    ctx.note(format!(
        "group {} has a new key (generation {}), certificate {}; the old key is kept until {}",
        args.name,
        rotated.generation,
        info.fingerprint,
        format_time(rotated.keep_until)
    ));
    if is_pkcs11_uri(&rotated.group.sealed_key) {
        ctx.detail(format!(
            "new group key in the token: {}",
            rotated.group.sealed_key
        ));
    }
    ctx.note(format!(
        "give senders the new certificate: sealpost group cert {} > {}.pem",
        args.name, args.name
    ));
    Ok(())
}

/// Show a group: its address, members, and key generations
///
/// Lists the current key and every key a rotation retired, with the time
/// until which messages encrypted to it are still released.
#[derive(Debug, Args)]
pub struct ShowArgs {
    pub name: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// One key generation as `group show` lists it.
struct KeyRow {
    generation: i64,
    fingerprint: String,
    created: i64,
    not_after: i64,
    /// None for the current key.
    retired_until: Option<i64>,
}

impl KeyRow {
    fn state(&self, now: i64) -> &'static str {
        match self.retired_until {
            None => "current",
            Some(until) if now < until => "retired",
            Some(_) => "expired",
        }
    }
}

pub fn show(args: ShowArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = args.store.open(ctx)?;
    let group = existing_group(&*store, &args.name)?;
    let members = store.members(&args.name)?.len();
    let retired = store.retired_keys(&args.name)?;
    let current = CertInfo::from_der(&group.certificate)?;
    let mut keys = vec![KeyRow {
        generation: store.key_generation(&args.name)?,
        fingerprint: current.fingerprint,
        created: retired.last().map_or(group.created, |r| r.retired),
        not_after: current.not_after,
        retired_until: None,
    }];
    for r in retired.iter().rev() {
        let info = CertInfo::from_der(&r.certificate).map_err(|e| {
            fail(
                Exit::DataErr,
                format!("retired key {} of group {}: {e:#}", r.generation, args.name),
            )
        })?;
        keys.push(KeyRow {
            generation: r.generation,
            fingerprint: info.fingerprint,
            created: r.created,
            not_after: info.not_after,
            retired_until: Some(r.expires),
        });
    }
    let anonymous = store.pass_issuer(&args.name)?.filter(|p| p.enabled);
    let t = now();
    if ctx.global.json {
        let keys: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({
                    "generation": k.generation,
                    "fingerprint": k.fingerprint,
                    "created": json::time(k.created),
                    "not_after": json::time(k.not_after),
                    "state": k.state(t),
                    "retired_until": json::time_opt(k.retired_until),
                })
            })
            .collect();
        return ctx.print_json(
            "group show",
            json!({
                "group": group.name,
                "email": group.email,
                "created": json::time(group.created),
                "members": members,
                "keys": keys,
                "anonymous": anonymous.is_some(),
                "pass_lifetime": anonymous.as_ref().map(|p| p.lifetime),
            }),
        );
    }
    let mut out = format!(
        "group {} <{}>, created {}, {members} registered certificates{}\n",
        group.name,
        group.email,
        format_time(group.created),
        match &anonymous {
            Some(p) => format!(", anonymous (passes of {} h)", p.lifetime / 3600),
            None => String::new(),
        }
    );
    for k in &keys {
        let state = match k.retired_until {
            None => "current".to_string(),
            Some(until) if t < until => format!("retired, released until {}", format_time(until)),
            Some(until) => format!("expired {}, refused", format_time(until)),
        };
        out.push_str(&format!(
            "key {}  {}  since {}  {state}\n",
            k.generation,
            k.fingerprint,
            format_time(k.created),
        ));
    }
    write_stdout(out.as_bytes(), false)
}
