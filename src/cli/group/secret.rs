//! `sealpost group secret fetch | list`: the member's copy of a list's
//! group secrets.

use clap::{Args, Subcommand};
use serde_json::json;

use super::Context;
use crate::cli::decrypt::{unix_now, KeystoreKeys};
use sealpost::error::{fail, single_line, Exit};
use sealpost::group::release::calls::{Op, SecretsAnswer, SecretsPayload};
use sealpost::group::release::joined::Memberships;
use sealpost::group::release::secrets::{open_secret, SecretStore};

/// Group secrets: read list mail the exploder re-wrapped, offline
///
/// When the list exploder runs with --rewrap, each message carries its key
/// wrapped under the group's current secret as well. A member who holds
/// that secret decrypts such mail without asking the group server.
#[derive(Debug, Args)]
pub struct SecretArgs {
    #[command(subcommand)]
    pub command: SecretCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    Fetch(FetchArgs),
    List(ListArgs),
}

/// Fetch a joined group's secrets from its server (membership is checked)
///
/// Each secret arrives wrapped to the member's own certificate and is
/// stored so, in KEYSTORE/secrets/NAME/: at rest it is as safe as the
/// member's private key. Run it again after the list operator rotates the
/// secret; secrets already held are kept, so old mail stays readable.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The joined group
    pub name: String,
}

/// List the ids of a group's secrets this keystore holds
#[derive(Debug, Args)]
pub struct ListArgs {
    pub name: String,
}

pub fn run(args: SecretArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        SecretCommand::Fetch(a) => fetch(a, ctx),
        SecretCommand::List(a) => list(a, ctx),
    }
}

fn fetch(args: FetchArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let group = Memberships::new(ks.root()).get(&args.name)?;
    let mut keys = KeystoreKeys::new(&ks, ctx, false)?;
    let (member, key) = keys.member_of(&group)?;
    let (answer, server): (SecretsAnswer, _) = sealpost::group::release::call(
        &group,
        Op::Secrets,
        &SecretsPayload {},
        &member.cert.cert,
        &key,
        unix_now(),
        &mut rand_core::OsRng,
    )?;
    let store = SecretStore::new(ks.root());
    let mut new = 0;
    let mut current = None;
    for secret in &answer.secrets {
        // Keep only what really opens with our key: a server mistake must
        // not leave a secret that fails when mail arrives.
        open_secret(&secret.recipient_info, &member.cert.cert, &key).map_err(|e| {
            fail(
                Exit::DataErr,
                format!(
                    "{server} sent a secret that does not open: {}",
                    single_line(&e)
                ),
            )
        })?;
        if store.save(&group.name, &secret.key_id, &secret.recipient_info)? {
            new += 1;
        }
        if secret.current {
            current = Some(secret.key_id.clone());
        }
    }
    if ctx.global.json {
        return ctx.print_json(
            "group secret fetch",
            json!({
                "group": group.name,
                "server": server.to_string(),
                "secrets": answer.secrets.iter().map(|s| json!({
                    "key_id": s.key_id,
                    "created": crate::cli::json::time(s.created),
                    "current": s.current,
                })).collect::<Vec<_>>(),
                "new": new,
            }),
        );
    }
    match current {
        Some(id) => ctx.note(format!(
            "group {}: {} secret(s) from {server}, {new} new; current {id}",
            group.name,
            answer.secrets.len()
        )),
        None => ctx.note(format!(
            "group {} has no group secret yet (the operator creates one with `sealpost group rotate-secret`)",
            group.name
        )),
    }
    Ok(())
}

fn list(args: ListArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    Memberships::new(ks.root()).get(&args.name)?;
    let ids = SecretStore::new(ks.root()).ids(&args.name)?;
    if ctx.global.json {
        return ctx.print_json(
            "group secret list",
            json!({"group": args.name, "key_ids": ids}),
        );
    }
    let mut out = String::new();
    for id in ids {
        out.push_str(&id);
        out.push('\n');
    }
    crate::cli::write_stdout(out.as_bytes(), false)
}
