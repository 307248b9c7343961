//! `sealpost account add|list|remove`: mail accounts in the keystore's
//! config.toml, and how a command gets an account's password at run time.

use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand};
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::store::account::{self as acct, Account, AccountStore, Endpoint, Incoming, Protocol};
use serde_json::json;
use zeroize::Zeroizing;

use super::secrets::{self, Ask, SecretSources};
use super::{printable, write_stdout, Context};

/// Manage mail accounts (submission and fetch servers)
///
/// An account names the submission servers (SMTP), the servers mail is
/// fetched from (IMAP or POP3), and the user to log in as. Each server
/// setting may list several URLs, separated by commas: they are tried in
/// order, and when all fail the error names each one and why.
///
/// URLs: smtps://HOST[:465] (TLS), smtp://HOST[:587] (STARTTLS, required),
/// imaps://HOST[:993], imap://HOST[:143] (STARTTLS), pop3s://HOST[:995],
/// pop3://HOST[:110] (STLS). A connection without TLS must be asked for twice:
/// the scheme smtp+plain://, imap+plain:// or pop3+plain://, and
/// --insecure-plaintext.
///
/// An account may name only its mail domain (--domain): the servers are
/// then found in the domain's DNS SRV records (RFC 6186), looked up again at
/// every connection so that a provider's changes are followed. Submission
/// tries _submissions._tcp (implicit TLS, RFC 8314) before _submission._tcp
/// (STARTTLS); IMAP _imaps._tcp before _imap._tcp; POP3 _pop3s._tcp before
/// _pop3._tcp; each by priority and weight, with the usual failover. The
/// nameservers are those of /etc/resolv.conf, or SEALPOST_DNS_SERVER. As DNS
/// answers are not authenticated, only servers inside the domain (the
/// domain itself or its subdomains) are used; a server elsewhere must be
/// named with its URL. Any server setting may still be given explicitly;
/// the value "srv" asks for discovery in its place.
///
/// Passwords are not stored unless --store-password says so. At run time a
/// command that logs in takes the password from, in order: its own
/// --password-file or --password-fd, the environment variable
/// SEALPOST_PASSWORD_<NAME> (the account name in upper case, other characters
/// as _), the file given as --password-file to `account add`, the password
/// stored with --store-password, or a prompt on the controlling terminal.
#[derive(Debug, Args)]
pub struct AccountArgs {
    #[command(subcommand)]
    pub command: AccountCommand,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    Add(Box<AddArgs>),
    List(ListArgs),
    Remove(RemoveArgs),
}

/// Add (or with --replace, change) an account
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("incoming").args(["imap", "pop3"])),
    group(ArgGroup::new("servers").args(["smtp", "imap", "pop3", "domain"]).multiple(true).required(true))
)]
pub struct AddArgs {
    /// Account name: letters, digits, '-', '_' and '.'
    pub name: String,
    /// Mail domain whose DNS SRV records name the servers not given as URLs;
    /// with it, --smtp defaults to "srv" and incoming mail to --imap srv
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Submission server URLs, tried in order (smtps://HOST:465, smtp://HOST:587),
    /// or "srv" (needs --domain); without it (and without --domain) the
    /// account only fetches, and without --imap and --pop3 it only sends
    #[arg(long, value_name = "URL[,URL…]|srv")]
    pub smtp: Option<String>,
    /// IMAP server URLs, tried in order (imaps://HOST:993, imap://HOST:143), or "srv"
    #[arg(long, value_name = "URL[,URL…]|srv")]
    pub imap: Option<String>,
    /// POP3 server URLs, tried in order (pop3s://HOST:995, pop3://HOST:110), or "srv"
    #[arg(long, value_name = "URL[,URL…]|srv")]
    pub pop3: Option<String>,
    /// The user name to log in as (often the e-mail address)
    #[arg(long)]
    pub user: String,
    /// A file whose first line is the password. Without --store-password its
    /// path is recorded and the file read at each run; with it, the password
    /// is read now and stored
    #[arg(long, value_name = "FILE", conflicts_with = "password_fd")]
    pub password_file: Option<PathBuf>,
    /// Read the password to store from file descriptor N (needs --store-password)
    #[arg(long, value_name = "N", requires = "store_password")]
    pub password_fd: Option<i32>,
    /// Store the password in config.toml (mode 0600), in plain text
    #[arg(long)]
    pub store_password: bool,
    /// A PEM file with CA certificates to trust besides the system roots
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Allow servers without TLS (URLs with the +plain schemes)
    #[arg(long)]
    pub insecure_plaintext: bool,
    /// Maildir for fetched mail [default: KEYSTORE/mail/NAME]
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,
    /// Replace an existing account of the same name
    #[arg(long)]
    pub replace: bool,
}

/// List the accounts (never their passwords)
#[derive(Debug, Args)]
pub struct ListArgs {}

/// Remove an account (its outbox entries and fetched mail stay)
#[derive(Debug, Args)]
pub struct RemoveArgs {
    pub name: String,
}

/// Run-time password options of the commands that log in.
#[derive(Debug, Args, Clone)]
pub struct PasswordArgs {
    /// Read the account password from the first line of FILE
    #[arg(long, value_name = "FILE", conflicts_with = "password_fd")]
    pub password_file: Option<PathBuf>,
    /// Read the account password from file descriptor N
    #[arg(long, value_name = "N")]
    pub password_fd: Option<i32>,
}

pub fn run(args: AccountArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = match args.command {
        AccountCommand::Add(_) => ctx.keystore_or_create()?,
        _ => ctx.keystore()?,
    };
    let mut store = AccountStore::load(&ks.config_path())?;
    match args.command {
        AccountCommand::Add(a) => add(*a, &mut store, ctx),
        AccountCommand::List(_) => list(&store, ctx),
        AccountCommand::Remove(r) => {
            store.remove(&r.name)?;
            store.save()?;
            if ctx.global.json {
                return ctx.print_json("account remove", json!({ "removed": r.name }));
            }
            ctx.note(format!("removed account {}", r.name));
            Ok(())
        }
    }
}

fn add(a: AddArgs, store: &mut AccountStore, ctx: &Context) -> anyhow::Result<()> {
    acct::check_name(&a.name)?;
    if let Some(d) = &a.domain {
        acct::check_domain(d)?;
    }
    // "srv" asks DNS for the servers of --domain: without one it cannot be
    // told apart from "no server", so it is refused here.
    let srv_without_domain = [&a.smtp, &a.imap, &a.pop3]
        .into_iter()
        .flatten()
        .any(|s| s.trim().eq_ignore_ascii_case(acct::SRV));
    if srv_without_domain && a.domain.is_none() {
        return Err(fail_hint(
            Exit::Usage,
            "servers can be looked up in DNS (srv) only for an account with a domain",
            "give --domain DOMAIN, or the servers' URLs",
        ));
    }
    let srv = || a.domain.as_ref().map(|_| acct::SRV.to_string());
    let smtp = match a.smtp.clone().or_else(srv) {
        Some(setting) => acct::parse_servers(Protocol::Smtp, &setting)?,
        None => Vec::new(), // fetch-only
    };
    let incoming = match (&a.imap, &a.pop3) {
        (Some(i), None) => Incoming::Imap(acct::parse_servers(Protocol::Imap, i)?),
        (None, Some(p)) => Incoming::Pop3(acct::parse_servers(Protocol::Pop3, p)?),
        (None, None) if a.domain.is_some() => Incoming::Imap(Vec::new()),
        (None, None) => Incoming::None,
        _ => return Err(fail(Exit::Usage, "give only one of --imap and --pop3")),
    };
    let ca_file = match &a.ca_file {
        Some(p) => {
            let abs = absolute(p)?;
            let pem = std::fs::read(&abs)
                .map_err(|e| fail(Exit::NoInput, format!("cannot read {}: {e}", abs.display())))?;
            lettre::transport::smtp::client::Certificate::from_pem(&pem).map_err(|_| {
                fail(
                    Exit::DataErr,
                    format!("{} holds no PEM certificate", abs.display()),
                )
            })?;
            Some(abs)
        }
        None => None,
    };
    let mut account = Account {
        name: a.name.clone(),
        user: a.user.clone(),
        domain: a
            .domain
            .as_deref()
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase()),
        smtp,
        incoming,
        ca_file,
        insecure_plaintext: a.insecure_plaintext,
        password_file: None,
        stored_password: None,
        maildir: a.maildir.as_deref().map(absolute).transpose()?,
    };
    if a.store_password {
        let env = account.password_env_var();
        let sources = SecretSources {
            file: a.password_file.as_deref(),
            fd: a.password_fd,
            env_var: Some(&env),
            flags: "--password-file FILE or --password-fd N",
        };
        let pw = secrets::read_secret(&sources, "account password", Ask::New, ctx.can_prompt())?;
        account.stored_password = Some(pw.to_string());
    } else if let Some(p) = &a.password_file {
        let abs = absolute(p)?;
        if !abs.is_file() {
            return Err(fail(
                Exit::NoInput,
                format!("password file {} does not exist", abs.display()),
            ));
        }
        account.password_file = Some(abs);
    }
    store.add(&account, a.replace)?;
    store.save()?;
    if ctx.global.json {
        return ctx.print_json("account add", json!({ "account": account_json(&account) }));
    }
    ctx.note(format!(
        "added account {} ({}: sending {}; fetching {})",
        account.name,
        printable(&account.user),
        sending_text(&account),
        fetching_text(&account),
    ));
    Ok(())
}

fn password_source(a: &Account) -> String {
    if a.password_file.is_some() {
        "file".into()
    } else if a.stored_password.is_some() {
        "stored".into()
    } else {
        format!("{} or prompt", a.password_env_var())
    }
}

/// Where mail is sent, for people: "no" for a fetch-only account.
fn sending_text(a: &Account) -> String {
    if a.sends() {
        servers_text(a, &a.smtp)
    } else {
        "no (fetch-only)".into()
    }
}

/// Where mail is fetched from, for people: "no" for a send-only account.
fn fetching_text(a: &Account) -> String {
    match a.incoming.protocol() {
        Some(p) => format!("{} {}", p.name(), servers_text(a, a.incoming.endpoints())),
        None => "no (send-only)".into(),
    }
}

/// A server setting for people: its URLs, or where DNS is asked.
fn servers_text(a: &Account, list: &[Endpoint]) -> String {
    if list.is_empty() {
        return format!("DNS SRV of {}", a.domain.as_deref().unwrap_or("?"));
    }
    list.iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An account in `--json`: servers as URLs, or `dns_srv` when DNS names them.
fn account_json(a: &Account) -> serde_json::Value {
    let servers = |v: &[Endpoint]| {
        json!({
            "urls": v.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            "dns_srv": v.is_empty(),
        })
    };
    json!({
        "name": a.name,
        "user": a.user,
        "domain": a.domain,
        "smtp": a.sends().then(|| servers(&a.smtp)),
        "fetch": a.incoming.protocol().map(|p| json!({
            "protocol": p.name(),
            "servers": servers(a.incoming.endpoints()),
        })),
        "ca_file": a.ca_file,
        "insecure_plaintext": a.insecure_plaintext,
        "password_file": a.password_file,
        "password_stored": a.stored_password.is_some(),
        "password_env": a.password_env_var(),
    })
}

fn list(store: &AccountStore, ctx: &Context) -> anyhow::Result<()> {
    let accounts = store.list()?;
    if ctx.global.json {
        let items: Vec<_> = accounts.iter().map(account_json).collect();
        return ctx.print_json("account list", json!({ "accounts": items }));
    }
    let mut out = String::new();
    for a in &accounts {
        out.push_str(&format!(
            "{}\n  user      {}\n  sends     {}\n  fetches   {}\n  password  {}\n",
            a.name,
            printable(&a.user),
            sending_text(a),
            fetching_text(a),
            password_source(a),
        ));
        if let Some(ca) = &a.ca_file {
            out.push_str(&format!("  ca-file   {}\n", ca.display()));
        }
    }
    if accounts.is_empty() {
        ctx.note("no accounts; add one with `sealpost account add`");
    }
    write_stdout(out.as_bytes(), false)
}

/// The account a command acts for: the one named, else the only one.
pub fn choose(store: &AccountStore, name: Option<&str>) -> anyhow::Result<Account> {
    if let Some(n) = name {
        return store.get(n);
    }
    let all = store.list()?;
    match all.len() {
        1 => Ok(all.into_iter().next().unwrap()),
        0 => Err(fail_hint(
            Exit::Config,
            "no account configured",
            "add one with `sealpost account add NAME --smtp URL --imap URL --user USER`",
        )),
        _ => Err(fail_hint(
            Exit::Usage,
            "several accounts are configured; say which",
            "give --account NAME (see `sealpost account list`)",
        )),
    }
}

/// The account's password, from the sources in the order documented on
/// `sealpost account`.
pub fn password(
    account: &Account,
    args: &PasswordArgs,
    ctx: &Context,
) -> anyhow::Result<Zeroizing<String>> {
    let env = account.password_env_var();
    let what = format!("password of account {}", account.name);
    let flags = "--password-file FILE or --password-fd N";
    if args.password_file.is_some()
        || args.password_fd.is_some()
        || std::env::var_os(&env).is_some()
    {
        let sources = SecretSources {
            file: args.password_file.as_deref(),
            fd: args.password_fd,
            env_var: Some(&env),
            flags,
        };
        return secrets::read_secret(&sources, &what, Ask::Existing, ctx.can_prompt());
    }
    if let Some(file) = &account.password_file {
        let sources = SecretSources {
            file: Some(file),
            fd: None,
            env_var: None,
            flags,
        };
        return secrets::read_secret(&sources, &what, Ask::Existing, ctx.can_prompt());
    }
    if let Some(p) = &account.stored_password {
        return Ok(Zeroizing::new(p.clone()));
    }
    let sources = SecretSources {
        file: None,
        fd: None,
        env_var: Some(&env),
        flags,
    };
    secrets::read_secret(&sources, &what, Ask::Existing, ctx.can_prompt())
}

/// The error for a send-only account asked to fetch, or a fetch-only one
/// asked to send: a setting to change, not a failure to retry.
pub fn no_server(account: &Account, protocol: Protocol) -> anyhow::Error {
    let (what, only) = match protocol {
        Protocol::Smtp => ("submission (SMTP)", "fetch-only"),
        _ => ("incoming (IMAP or POP3)", "send-only"),
    };
    fail_hint(
        Exit::Config,
        format!(
            "account {} has no {what} server: it is {only}",
            account.name
        ),
        "add the server with `sealpost account add NAME --replace …`, or use another account",
    )
}

/// The environment variable naming the DNS server for SRV discovery.
pub const DNS_SERVER_ENV: &str = "SEALPOST_DNS_SERVER";

/// The servers to try for one of the account's settings: its URLs, or
/// those its domain publishes in DNS SRV records now.
pub fn servers(
    account: &Account,
    listed: &[Endpoint],
    protocol: Protocol,
    timeout: std::time::Duration,
) -> anyhow::Result<Vec<Endpoint>> {
    if !listed.is_empty() {
        return Ok(listed.to_vec());
    }
    let domain = account
        .domain
        .as_deref()
        .ok_or_else(|| no_server(account, protocol))?;
    // DNS answers come fast or not at all; the connection timeout is for servers.
    let dns_timeout = timeout.min(std::time::Duration::from_secs(3));
    let resolver = match std::env::var(DNS_SERVER_ENV) {
        Ok(addr) if !addr.is_empty() => sealpost::mail::srv::Resolver {
            servers: vec![parse_dns_server(&addr)?],
            timeout: dns_timeout,
        },
        _ => sealpost::mail::srv::Resolver::system(dns_timeout),
    };
    let mut rng = rand::thread_rng();
    sealpost::mail::srv::discover(&resolver, domain, protocol, &mut |total| {
        rand::Rng::gen_range(&mut rng, 0..=total)
    })
    .map_err(|e| e.context(format!("account {}", account.name)))
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`.
fn parse_dns_server(text: &str) -> anyhow::Result<std::net::SocketAddr> {
    text.parse::<std::net::SocketAddr>()
        .or_else(|_| {
            text.parse::<std::net::IpAddr>()
                .map(|ip| std::net::SocketAddr::new(ip, 53))
        })
        .map_err(|_| {
            fail(
                Exit::Config,
                format!("{DNS_SERVER_ENV}={text:?} is not an address: write IP or IP:PORT"),
            )
        })
}

/// The extra CA certificates of an account, if it names a file.
pub fn ca_pem(account: &Account) -> anyhow::Result<Option<Vec<u8>>> {
    match &account.ca_file {
        None => Ok(None),
        Some(p) => std::fs::read(p).map(Some).map_err(|e| {
            fail_hint(
                Exit::Config,
                format!(
                    "cannot read the CA file {} of account {}: {e}",
                    p.display(),
                    account.name
                ),
                "fix it with `sealpost account add --replace`",
            )
        }),
    }
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p)
        .map_err(|e| fail(Exit::Usage, format!("cannot resolve {}: {e}", p.display())))
}
