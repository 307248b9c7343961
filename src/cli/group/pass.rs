//! `sealpost group pass fetch | show` (the member) and `sealpost group set`
//! (the operator): anonymous release with membership passes.

use clap::{Args, Subcommand};
use serde_json::json;

use super::admin::StoreArgs;
use super::Context;
use crate::cli::{json, Ask};
use sealpost::group::anonymous::{parse_settings, set_anonymous};
use sealpost::group::release::joined::Memberships;
use sealpost::group::release::keys::KeystoreKeys;
use sealpost::group::release::passes::PassStore;
use sealpost::smime::certs::{format_time, now};

/// Membership passes: read an anonymous list's mail without telling its
/// server who reads
///
/// An anonymous group releases message keys to passes only. A pass says
/// "a current member holds this key" and names nobody: it is signed blind,
/// so even the server that checked your membership when it signed cannot
/// recognise it later. `decrypt` fetches and uses passes by itself; one
/// pass per period (24 h by default) per member.
#[derive(Debug, Args)]
pub struct PassArgs {
    #[command(subcommand)]
    pub command: PassCommand,
}

#[derive(Debug, Subcommand)]
pub enum PassCommand {
    Fetch(FetchArgs),
    Show(ShowArgs),
}

/// Fetch this period's pass for a joined group (membership is checked)
///
/// The pass and its key (sealed like your own key) go to
/// KEYSTORE/passes/NAME/. The server allows one pass per member per
/// period: fetching again in the same period is refused (pass_issued).
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The joined group
    pub name: String,
}

/// Show the pass held for a joined group, if one is valid now
#[derive(Debug, Args)]
pub struct ShowArgs {
    pub name: String,
}

pub fn run(args: PassArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        PassCommand::Fetch(a) => fetch(a, ctx),
        PassCommand::Show(a) => show(a, ctx),
    }
}

fn fetch(args: FetchArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let group = Memberships::new(ks.root()).get(&args.name)?;
    let mut keys = KeystoreKeys::new(&ks, ctx, false)?;
    let held = keys.fetch_pass(&group, now().max(0) as u64)?;
    print_pass(ctx, "group pass fetch", &args.name, Some(&held))
}

fn show(args: ShowArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    Memberships::new(ks.root()).get(&args.name)?;
    let held = PassStore::new(ks.root()).current(&args.name, now().max(0) as u64)?;
    print_pass(ctx, "group pass show", &args.name, held.as_ref())
}

fn print_pass(
    ctx: &Context,
    command: &str,
    group: &str,
    held: Option<&sealpost::group::release::passes::HeldPass>,
) -> anyhow::Result<()> {
    let window = held.map(|h| h.pass.window());
    if ctx.global.json {
        let pass = held.map(|h| {
            let (not_before, not_after) = h.pass.window();
            json!({
                "id": hex::encode(h.pass.id()),
                "not_before": json::time(not_before as i64),
                "not_after": json::time(not_after as i64),
            })
        });
        return ctx.print_json(command, json!({ "group": group, "pass": pass }));
    }
    match window {
        Some((not_before, not_after)) => ctx.note(format!(
            "group {group}: membership pass valid from {} until {}",
            format_time(not_before as i64),
            format_time(not_after as i64)
        )),
        None => ctx.note(format!(
            "group {group}: no membership pass valid now (`sealpost group pass fetch {group}`)"
        )),
    }
    Ok(())
}

/// Change a group's settings: anonymous=on|off, pass-lifetime=DURATION
///
/// anonymous=on: members read list mail with membership passes only, and
/// the server's audit log records passes, never members, for releases.
/// The first time needs the server passphrase (a seed is made for the
/// pass-issuing keys). pass-lifetime: the period of a pass, whole hours
/// from 1h to 7d (default 24h); a removed member's passes work until the
/// end of their period unless `remove-member --now` withdraws them all.
#[derive(Debug, Args)]
pub struct SetArgs {
    pub name: String,
    /// anonymous=on|off, pass-lifetime=DURATION
    #[arg(required = true, value_name = "SETTING")]
    pub settings: Vec<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn set(args: SetArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = args.store.open(ctx)?;
    let change = parse_settings(&args.settings)?;
    let record = set_anonymous(
        &*store,
        &args.name,
        change,
        &mut || Ok(ctx.passphrase(Ask::Existing)?.to_string()),
        &mut rand_core::OsRng,
    )?;
    print_settings(ctx, "group set", &args.name, &record)
}

/// The anonymous settings of a group, as `group set` and `group create
/// --anonymous` print them.
pub fn print_settings(
    ctx: &Context,
    command: &str,
    group: &str,
    record: &sealpost::group::store::PassIssuerRecord,
) -> anyhow::Result<()> {
    if ctx.global.json {
        return ctx.print_json(
            command,
            json!({
                "group": group,
                "anonymous": record.enabled,
                "pass_lifetime": record.lifetime,
            }),
        );
    }
    ctx.note(format!(
        "group {group}: anonymous {}, pass lifetime {} h",
        if record.enabled { "on" } else { "off" },
        record.lifetime / 3600
    ));
    Ok(())
}
