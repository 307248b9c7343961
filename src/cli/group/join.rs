//! `sealpost group join`: record which servers release a group's keys.

use std::path::PathBuf;

use clap::Args;
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::group::release::client::ServerUrl;
use sealpost::group::release::joined::{check_group_name, JoinedGroup, Memberships};
use sealpost::smime::certs;
use sealpost::store::keystore::Identity;
use serde_json::json;

use super::super::{read_input, Context};

/// Record a group certificate, its release servers and which own identity is the member
///
/// After joining, `sealpost decrypt` opens mail encrypted to the group
/// certificate by asking the servers (in the order given, moving on when one
/// is unreachable) to release the message's key to this member. The group
/// certificate is also imported, so that mail to the list address can be
/// encrypted. Joining again replaces the record, except that a group
/// certificate it held before is kept as an older one: after the server's
/// `group rotate-key`, join again with the new certificate, and mail
/// encrypted to the old one stays readable while the server keeps its key.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The group's name on the server
    pub name: String,
    /// The group certificate (PEM or DER; - for stdin), as `sealpost group cert` prints it
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// A release server, https://HOST[:PORT]; several (URL1,URL2,… or the
    /// option repeated) are the group's replicas, tried in order: the next
    /// when one is unreachable or answers 503 (none: for an exploder whose
    /// members come from a file, or a list re-encrypted by its exploder)
    #[arg(long = "server", value_name = "URL", value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Trust this CA (PEM) for the servers besides the system roots
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The own identity (address or fingerprint prefix) that is the member [default: the only one]
    #[arg(long = "as", value_name = "ADDR")]
    pub member: Option<String>,
}

fn choose_member(identities: Vec<Identity>, selector: Option<&str>) -> anyhow::Result<Identity> {
    let candidates: Vec<Identity> = match selector {
        Some(sel) => {
            let lower = sel.to_ascii_lowercase();
            identities
                .into_iter()
                .filter(|i| {
                    i.cert.matches_address(sel)
                        || (lower.len() >= 8 && i.cert.fingerprint.starts_with(&lower))
                })
                .collect()
        }
        None => identities,
    };
    match candidates.len() {
        1 => Ok(candidates.into_iter().next().expect("one candidate")),
        0 => Err(fail_hint(
            Exit::NoUser,
            match selector {
                Some(sel) => format!("no own identity matches {sel:?}"),
                None => "the keystore holds no own identity to be the member".into(),
            },
            "list them with `sealpost key list`",
        )),
        n => Err(fail_hint(
            Exit::Usage,
            format!("{n} own identities match; say which one is the member"),
            "use --as ADDR or --as FINGERPRINT (at least 8 hex digits)",
        )),
    }
}

pub fn run(args: JoinArgs, ctx: &Context) -> anyhow::Result<()> {
    check_group_name(&args.name)?;
    let servers = args
        .servers
        .iter()
        .map(|s| s.parse::<ServerUrl>())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut found = certs::parse_bundle(&read_input(&args.cert)?)?;
    if found.len() != 1 {
        return Err(fail(
            Exit::DataErr,
            format!(
                "{} holds {} certificates; give exactly the group certificate",
                args.cert.display(),
                found.len()
            ),
        ));
    }
    let cert = found.remove(0);
    let ca_pem = match &args.ca_file {
        Some(path) => {
            let pem = read_input(path)?;
            // Refuse a CA file that would fail at the first release.
            sealpost::mail::tls::TlsSetup::new(Some(&pem))?;
            Some(pem)
        }
        None => None,
    };
    let ks = ctx.keystore_or_create()?;
    // A member who holds the group key (`group key import`) has it as an
    // identity too: without --as it is not the member while another
    // identity can be (an exploder joins as the list's own key, its only one).
    let mut own = ks.identities()?;
    if args.member.is_none() && own.iter().any(|i| i.cert.fingerprint != cert.fingerprint) {
        own.retain(|i| i.cert.fingerprint != cert.fingerprint);
    }
    let member = choose_member(own, args.member.as_deref())?;
    let mut group = JoinedGroup {
        name: args.name.clone(),
        cert: cert.clone(),
        servers: servers.clone(),
        ca_pem,
        member: member.cert.fingerprint.clone(),
        older: Vec::new(),
        anonymous: false,
    };
    let memberships = Memberships::new(ks.root());
    // Joining again with a new certificate (the group's key was rotated)
    // keeps the old ones: mail encrypted to them is still the group's.
    if memberships.list()?.iter().any(|g| g.name == args.name) {
        let previous = memberships.get(&args.name)?;
        group.keep_older(&previous);
        group.anonymous = previous.anonymous;
    }
    memberships.join(&group)?;
    ks.import_certificates(std::slice::from_ref(&cert))?;
    if ctx.global.json {
        return ctx.print_json(
            "group join",
            json!({
                "group": args.name,
                "certificate": {"fingerprint": cert.fingerprint, "emails": cert.emails},
                "servers": servers.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "member": {"fingerprint": member.cert.fingerprint, "emails": member.cert.emails},
            }),
        );
    }
    let released_by = if servers.is_empty() {
        "no release server".to_string()
    } else {
        let list: Vec<String> = servers.iter().map(ToString::to_string).collect();
        format!("released by {}", list.join(", "))
    };
    ctx.note(format!(
        "joined group {} ({}) as {}; {released_by}",
        args.name,
        cert.emails.join(", "),
        member.cert.emails.join(", "),
    ));
    Ok(())
}
