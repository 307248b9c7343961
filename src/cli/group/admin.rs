//! `sealpost group create | cert | add-member | remove-member | members |
//! audit`: administering the group server's store.

use std::path::PathBuf;
use std::sync::Arc;

use clap::builder::TypedValueParser;
use clap::Args;
use serde_json::json;

use super::Context;
use crate::cli::secrets::TokenPinArgs;
use crate::cli::{json, printable, read_input, write_stdout, Ask};
use sealpost::error::{fail_hint, Exit};
use sealpost::group::admin::{self, existing_group, NewGroup};
use sealpost::group::anonymous;
use sealpost::group::store::{
    self as store, AuditRecord, GroupRecord, Location, MemberRecord, MemberSelector, Role, Store,
};
use sealpost::group::token::{self, Pkcs11Uri, TokenKey};
use sealpost::smime::certs::{format_time, now, pem_encode};

/// Where the group store is; shared by every server-side subcommand.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The group store: an SQLite file (PATH or sqlite:PATH), or a
    /// PostgreSQL database shared by several servers (postgres://USER@HOST/DB).
    /// TLS to PostgreSQL as libpq's sslmode says: prefer (the default, as in
    /// libpq: encrypted if offered, certificate unchecked), disable, require,
    /// verify-ca, verify-full (checks the chain and the host name: use it
    /// over any network), with sslrootcert=FILE for a private CA, e.g.
    /// postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem
    /// [default: KEYSTORE/groups.sqlite3]
    // hide_env_values: a database URL may hold a password; --help must not show it.
    #[arg(
        long = "store",
        value_name = "PATH|URL",
        env = "SEALPOST_GROUP_STORE",
        hide_env_values = true
    )]
    pub location: Option<String>,
}

impl StoreArgs {
    /// Where the store is: --store, or the keystore's SQLite file.
    pub fn location(&self, ctx: &Context) -> anyhow::Result<Location> {
        if let Some(text) = &self.location {
            return Ok(Location::parse(text));
        }
        let dir = match &ctx.global.keystore {
            Some(dir) => dir.clone(),
            None => sealpost::store::keystore::default_dir().ok_or_else(|| {
                fail_hint(
                    Exit::Config,
                    "cannot determine a default group store (no home directory)",
                    "give one with --store PATH or SEALPOST_GROUP_STORE",
                )
            })?,
        };
        Ok(Location::Sqlite(
            dir.join(sealpost::group::store::DEFAULT_FILE),
        ))
    }

    pub fn open(&self, ctx: &Context) -> anyhow::Result<Arc<dyn Store>> {
        store::open(&self.location(ctx)?)
    }
}

/// Create a group: a key pair and a self-signed group certificate
///
/// The certificate has the S/MIME extensions of an identity, for LIST_ADDR.
/// The private key is stored in the group store, encrypted with the server
/// passphrase (the keystore passphrase sources: --passphrase-file,
/// --passphrase-fd, SEALPOST_PASSPHRASE, or the terminal). Every group on a
/// server shares that passphrase.
///
/// With --pkcs11 the private key is in a PKCS#11 token (an HSM) and never
/// leaves it: the certificate is signed there, and the store holds only the
/// RFC 7512 URI. The PIN comes from --pin-file, --pin-fd, pin-source= in
/// the URI, SEALPOST_PKCS11_PIN, or the terminal; `group serve` needs it
/// again at start.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The group's name (lower-case letters, digits, '.', '_', '-')
    pub name: String,
    /// The list's address, which senders write to
    #[arg(long, value_name = "LIST_ADDR")]
    pub email: String,
    /// RSA key size
    #[arg(long, default_value_t = 3072, value_parser = clap::builder::PossibleValuesParser::new(["2048", "3072", "4096"]).map(|s| s.parse::<usize>().unwrap_or(3072)))]
    pub bits: usize,
    /// Days the group certificate is valid
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: u32,
    /// Use the RSA key in a PKCS#11 token that URI names, e.g.
    /// 'pkcs11:token=lists;object=list-key?pin-source=file:/etc/sealpost/pin'
    #[arg(long, value_name = "URI")]
    pub pkcs11: Option<String>,
    /// Generate the key in the token (--bits; CKA_SENSITIVE, never
    /// extractable) instead of using one already there
    #[arg(long, requires = "pkcs11")]
    pub generate: bool,
    /// The PKCS#11 module [default: module-path= in the URI, else SoftHSM2's
    /// or p11-kit's proxy]
    #[arg(long, value_name = "FILE", requires = "pkcs11")]
    pub pkcs11_module: Option<PathBuf>,
    #[command(flatten)]
    pub pin: TokenPinArgs,
    /// Make the group anonymous: members read its mail with membership
    /// passes, and the server's audit names no member for a release
    /// (`group set NAME anonymous=on` later does the same)
    #[arg(long)]
    pub anonymous: bool,
    /// With --anonymous: how long a pass lasts (its period), whole hours
    /// from 1h to 7d
    #[arg(
        long,
        value_name = "DURATION",
        requires = "anonymous",
        default_value = "24h"
    )]
    pub pass_lifetime: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn create(args: CreateArgs, ctx: &Context) -> anyhow::Result<()> {
    admin::validate_name(&args.name)?;
    let store = args.store.open(ctx)?;
    let spec = NewGroup {
        name: &args.name,
        email: &args.email,
        bits: args.bits,
        days: args.days,
    };
    let group = match &args.pkcs11 {
        Some(uri) => create_in_token(&args, uri, &*store, &spec, ctx)?,
        None => {
            let ask = if store.groups()?.is_empty() {
                Ask::New
            } else {
                Ask::Existing
            };
            let passphrase = ctx.passphrase(ask)?;
            admin::create_group(&*store, &spec, passphrase, now(), &mut rand_core::OsRng)?
        }
    };
    if args.anonymous {
        let settings = [
            "anonymous=on".to_string(),
            format!("pass-lifetime={}", args.pass_lifetime),
        ];
        anonymous::set_anonymous(
            &*store,
            &group.name,
            anonymous::parse_settings(&settings)?,
            &mut || Ok(ctx.passphrase(Ask::Existing)?.to_string()),
            &mut rand_core::OsRng,
        )?;
    }
    let info = sealpost::smime::certs::CertInfo::from_der(&group.certificate)?;
    if ctx.global.json {
        return ctx.print_json(
            "group create",
            json!({
                "group": group.name,
                "email": group.email,
                "fingerprint": info.fingerprint,
                "not_after": json::time(info.not_after),
                "anonymous": args.anonymous,
            }),
        );
    }
    ctx.note(format!(
        "created group {} <{}>, certificate {}{}",
        group.name,
        group.email,
        info.fingerprint,
        if args.anonymous { ", anonymous" } else { "" }
    ));
    ctx.note(format!(
        "senders import it with: sealpost group cert {} > {}.pem && sealpost cert import {}.pem",
        group.name, group.name, group.name
    ));
    Ok(())
}

/// `group create --pkcs11`: the key found (or made) in the token, the
/// store given the URI, with the module named when it came from the
/// command line (so that `group serve` finds it).
fn create_in_token(
    args: &CreateArgs,
    text: &str,
    store: &dyn Store,
    spec: &NewGroup<'_>,
    ctx: &Context,
) -> anyhow::Result<GroupRecord> {
    let uri = Pkcs11Uri::parse(text)?;
    let module = token::module_path(&uri, args.pkcs11_module.as_deref())?;
    let stored = match (&uri.module_path, &args.pkcs11_module) {
        (None, Some(_)) => token::with_module_path(&uri, &module),
        _ => uri.text.clone(),
    };
    // Before anything is made in the token.
    admin::check_new_group(store, spec.name)?;
    let pin = args.pin.source(ctx.can_prompt())(&uri)?;
    let key = if args.generate {
        TokenKey::generate(&uri, &module, &pin, args.bits)?
    } else {
        TokenKey::open(&uri, &module, &pin)?
    };
    ctx.detail(format!("group key in the token: {stored}"));
    admin::create_group_in_token(store, spec, &key, &stored, now(), &mut rand_core::OsRng)
}

/// Print a group's certificate (PEM), for senders and members
#[derive(Debug, Args)]
pub struct CertArgs {
    pub name: String,
    /// DER instead of PEM
    #[arg(long)]
    pub der: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn cert(args: CertArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = args.store.open(ctx)?;
    let group = existing_group(&*store, &args.name)?;
    if ctx.global.json {
        // The certificate goes into the document instead of onto stdout.
        use base64::Engine;
        let info = sealpost::smime::certs::CertInfo::from_der(&group.certificate)?;
        let (pem, der) = if args.der {
            let der = base64::engine::general_purpose::STANDARD.encode(&group.certificate);
            (None, Some(der))
        } else {
            (Some(pem_encode("CERTIFICATE", &group.certificate)), None)
        };
        return ctx.print_json(
            "group cert",
            json!({
                "group": group.name,
                "fingerprint": info.fingerprint,
                "pem": pem,
                "der_base64": der,
            }),
        );
    }
    if args.der {
        write_stdout(&group.certificate, true)
    } else {
        write_stdout(
            pem_encode("CERTIFICATE", &group.certificate).as_bytes(),
            false,
        )
    }
}

/// Add a member: a certificate whose e-mail address is the member's
///
/// Takes effect on the server's next request, without a restart.
#[derive(Debug, Args)]
pub struct AddMemberArgs {
    pub name: String,
    /// The member's certificate, PEM or DER (- for stdin)
    pub cert_file: PathBuf,
    /// What the certificate may do: member (read the list's mail), sender
    /// (deposit keys for it, read nothing), exploder (the list exploder: get
    /// the member list and keys re-wrapped under the group secret, read
    /// nothing)
    #[arg(long, default_value = "member", value_parser = parse_role)]
    pub role: Role,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("{text:?} is not a role: member, sender or exploder"))
}

fn member_json(m: &MemberRecord) -> serde_json::Value {
    json!({
        "address": m.address,
        "fingerprint": m.fingerprint,
        "added": json::time(m.added),
        "role": m.role.as_str(),
    })
}

pub fn add_member(args: AddMemberArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = args.store.open(ctx)?;
    let data = read_input(&args.cert_file)?;
    let (member, added) = admin::add_member(&*store, &args.name, &data, args.role, now())?;
    if ctx.global.json {
        return ctx.print_json(
            "group add-member",
            json!({ "group": args.name, "member": member_json(&member), "new": added }),
        );
    }
    if added {
        ctx.note(format!(
            "added {} ({}) to group {} as {}",
            printable(&member.address),
            member.fingerprint,
            args.name,
            member.role.as_str()
        ));
    } else {
        ctx.note(format!(
            "{} ({}) already is registered with group {}",
            printable(&member.address),
            member.fingerprint,
            args.name
        ));
    }
    Ok(())
}

/// Remove a member by address (all their certificates) or fingerprint
///
/// The server refuses the removed member's very next request.
#[derive(Debug, Args)]
pub struct RemoveMemberArgs {
    pub name: String,
    /// The member's address
    #[arg(
        required_unless_present = "fingerprint",
        conflicts_with = "fingerprint"
    )]
    pub address: Option<String>,
    /// One certificate's SHA-256 fingerprint (hex, colons allowed)
    #[arg(long, value_name = "FP")]
    pub fingerprint: Option<String>,
    /// In an anonymous group: withdraw every membership pass issued so far
    /// (the removed member's among them), instead of letting them run to
    /// the end of their period; current members fetch new ones by themselves
    #[arg(long)]
    pub now: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn remove_member(args: RemoveMemberArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = args.store.open(ctx)?;
    let which = match (args.address, args.fingerprint) {
        (_, Some(fp)) => MemberSelector::Fingerprint(fp),
        (Some(addr), None) => MemberSelector::Address(addr),
        (None, None) => {
            return Err(sealpost::error::fail(
                Exit::Usage,
                "name the member: ADDR or --fingerprint FP",
            ))
        }
    };
    let removed = admin::remove_members(&*store, &args.name, &which)?;
    let withdrawn = args.now && anonymous::withdraw_passes(&*store, &args.name)?;
    if ctx.global.json {
        let removed: Vec<_> = removed.iter().map(member_json).collect();
        return ctx.print_json(
            "group remove-member",
            json!({ "group": args.name, "removed": removed, "passes_withdrawn": withdrawn }),
        );
    }
    if withdrawn {
        ctx.note(format!(
            "every membership pass of group {} was withdrawn; current members fetch new ones",
            args.name
        ));
    } else if args.now {
        ctx.note(format!(
            "group {} is not anonymous: it has no passes to withdraw",
            args.name
        ));
    } else if store
        .pass_issuer(&args.name)?
        .is_some_and(|issuer| issuer.enabled)
    {
        ctx.note(
            "the removed member's membership pass works until its period ends; `--now` withdraws every pass at once",
        );
    }
    for m in &removed {
        ctx.note(format!(
            "removed {} ({}) from group {}",
            printable(&m.address),
            m.fingerprint,
            args.name
        ));
    }
    let fingerprints: Vec<&str> = removed.iter().map(|m| m.fingerprint.as_str()).collect();
    for holder in sealpost::group::offline::exported_to(&*store, &args.name, &fingerprints)? {
        ctx.warn(format!(
            "the group key of {} was exported to {holder} (group key export): they can still read list mail encrypted to it; run `sealpost group rotate-key {}`",
            args.name, args.name
        ));
    }
    if !store.secrets(&args.name)?.is_empty() {
        ctx.note(format!(
            "the removed member may hold the current group secret: run `sealpost group rotate-secret {}` so that new mail is wrapped under one they do not have",
            args.name
        ));
    }
    Ok(())
}

/// List a group's members
#[derive(Debug, Args)]
pub struct MembersArgs {
    pub name: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn members(args: MembersArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = args.store.open(ctx)?;
    existing_group(&*store, &args.name)?;
    let members = store.members(&args.name)?;
    if ctx.global.json {
        let members: Vec<_> = members.iter().map(member_json).collect();
        return ctx.print_json(
            "group members",
            json!({ "group": args.name, "members": members }),
        );
    }
    let mut out = String::new();
    for m in &members {
        let role = match m.role {
            Role::Member => String::new(),
            other => format!("  ({})", other.as_str()),
        };
        out.push_str(&format!(
            "{}  {}  added {}{role}\n",
            m.fingerprint,
            printable(&m.address),
            format_time(m.added)
        ));
    }
    write_stdout(out.as_bytes(), false)
}

/// Show a group's audit log, or prune old rows from it
///
/// The log has one row for every request by a certificate the group knows
/// (a member, exploder or sender, a deposit's depositor or reader) whose
/// signature verified: every release, and every refusal of such a request.
/// Requests that fail before that (malformed, bad signature, a stranger's
/// certificate, over the address's rate) are refused without a row, so
/// that nobody can fill the disk. With --prune, deletes rows older than
/// AGE (of NAME only, when given) and prints how many.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[arg(required_unless_present = "prune")]
    pub name: Option<String>,
    /// Only rows from this time on: RFC 3339, or a duration back such as 1h, 30m, 2d
    #[arg(long, value_name = "TIME", conflicts_with = "prune")]
    pub since: Option<String>,
    /// Delete the rows older than AGE (a duration such as 90d, or an RFC 3339 time)
    #[arg(long, value_name = "AGE")]
    pub prune: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn audit_json(r: &AuditRecord) -> serde_json::Value {
    json!({
        "id": r.id,
        "time": json::time(r.time),
        "group": r.group,
        "member": r.member_address,
        "fingerprint": r.member_fingerprint,
        "key_hash": r.key_hash,
        "outcome": r.outcome,
        "op": r.op,
        "remote": r.remote,
        "nonce": r.nonce.map(hex::encode),
    })
}

pub fn audit(args: AuditArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = args.store.open(ctx)?;
    if let Some(name) = &args.name {
        existing_group(&*store, name)?;
    }
    if let Some(age) = &args.prune {
        let before = admin::parse_since(age, now())?;
        let deleted = store.prune_audit(before, args.name.as_deref())?;
        if ctx.global.json {
            return ctx.print_json(
                "group audit",
                json!({
                    "group": args.name,
                    "rows": [],
                    "pruned": { "deleted": deleted, "before": json::time(before) },
                }),
            );
        }
        ctx.note(format!(
            "deleted {deleted} audit rows from before {}",
            format_time(before)
        ));
        return Ok(());
    }
    let Some(name) = args.name.as_deref() else {
        // clap requires NAME unless --prune is given.
        return Err(fail_hint(
            Exit::Usage,
            "which group's audit log?",
            "name the group: sealpost group audit NAME",
        ));
    };
    let since = args
        .since
        .as_deref()
        .map(|s| admin::parse_since(s, now()))
        .transpose()?;
    let rows = store.audit(name, since)?;
    if ctx.global.json {
        let rows: Vec<_> = rows.iter().map(audit_json).collect();
        return ctx.print_json(
            "group audit",
            json!({ "group": name, "rows": rows, "pruned": null }),
        );
    }
    let dash = |v: &Option<String>| v.as_deref().map(printable).unwrap_or_else(|| "-".into());
    let mut out = String::new();
    for r in &rows {
        let op = if r.op == "release" {
            String::new()
        } else {
            format!("{} ", r.op)
        };
        out.push_str(&format!(
            "{}  {op}{:<14} {}  key {}  from {}\n",
            format_time(r.time),
            r.outcome,
            dash(&r.member_address),
            dash(&r.key_hash),
            dash(&r.remote),
        ));
    }
    write_stdout(out.as_bytes(), false)
}

/// Issue a new group secret, for list mail re-wrapped by the exploder
///
/// The exploder (`sealpost explode --rewrap`) has each message's key wrapped
/// under the group's current secret; members fetch the secrets once
/// (`sealpost group secret fetch NAME`) and then read such mail offline.
/// Run this after removing a member: new mail is then wrapped under a
/// secret they never had. Older secrets are kept, so mail wrapped under them
/// stays readable to those who hold them. Needs the server passphrase.
#[derive(Debug, Args)]
pub struct RotateSecretArgs {
    pub name: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn rotate_secret(args: RotateSecretArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = args.store.open(ctx)?;
    existing_group(&*store, &args.name)?;
    let passphrase = ctx.passphrase(Ask::Existing)?;
    let secret = admin::rotate_secret(
        &*store,
        &args.name,
        passphrase,
        now(),
        &mut rand_core::OsRng,
    )?;
    if ctx.global.json {
        return ctx.print_json(
            "group rotate-secret",
            json!({
                "group": args.name,
                "key_id": secret.id,
                "created": json::time(secret.created),
            }),
        );
    }
    ctx.note(format!(
        "group {} has a new secret, key id {}; members get it with `sealpost group secret fetch {}`",
        args.name, secret.id, args.name
    ));
    Ok(())
}
