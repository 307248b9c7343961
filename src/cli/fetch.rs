//! `sealpost fetch`: new mail from IMAP or POP3 into a Maildir per account.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use sealpost::error::{fail, fail_hint, single_line, Exit};
use sealpost::mail::fetch::{self, imap::Imap, pop3::Pop3, Remote, Summary};
use sealpost::mail::tls::{self, TlsSetup};
use sealpost::store::account::{Account, AccountStore, Incoming, Protocol};
use serde_json::json;

use super::account::{self, PasswordArgs};
use super::Context;

/// Download new mail into a local Maildir, losing and doubling nothing
///
/// Each account's mail goes to its Maildir (KEYSTORE/mail/NAME unless
/// `account add --maildir` chose another). IMAP (INBOX) is fetched by UID
/// and UIDVALIDITY, POP3 by UIDL. Every message is written to tmp/, fsynced
/// and renamed into new/ before it is recorded as fetched, and its file name
/// comes from the server's identity for it, so a run interrupted at any
/// moment is resumed by the next with no message lost or stored twice. When
/// the server's UIDVALIDITY changes the whole mailbox is fetched again and
/// messages already stored (same SHA-256) are skipped.
///
/// Several accounts (--all, or more than one named) are fetched at the same
/// time, each over its own connection; passwords are gathered first.
///
/// With --delete, messages are removed from the server only once they are
/// durable locally; if the connection drops before the server commits the
/// deletion, the next --delete run finishes it.
///
/// With --exec CMD each new message is piped to `sh -c CMD` and what CMD
/// writes to its standard output is stored instead of the message (for
/// example `--exec 'sealpost decrypt'`). When CMD fails on a message (non-zero
/// exit, killed, or no output), that message is stored as received, so
/// nothing is lost; it is named on standard error (and under `exec_failed`
/// with --json), is not piped again by later runs, and the run exits with
/// status 65 once every account is done. CMD's standard error is shown.
///
/// A message larger than the maximum message size (--max-message-size, or
/// `max_message_size` in the account's or the `[fetch]` section of
/// config.toml; default 256M) is not fetched: it stays on the server, is
/// named on standard error (and under `too_large` with --json), and the run
/// exits with status 65. A server that sends more than it announced, or
/// answers with endless lines or responses, is cut off (exit status 65 for
/// the message, 69 for the server). A message is written to disk as it
/// arrives, never held whole in memory.
///
/// IMAP connections are compressed (COMPRESS=DEFLATE, RFC 4978) when the
/// server offers it after login, unless --no-compress; -v and --json report
/// per account the bytes on the wire (after TLS, compressed) and the same
/// bytes uncompressed.
///
/// Exit status 69 when no server of an account could be used, 75 when a
/// connection broke mid-run (run again: it resumes), 77 for a refused login,
/// 65 when --exec failed on some message (stored as received) or a message
/// was too large.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Accounts to fetch [default: the only account]
    #[arg(value_name = "ACCOUNT", conflicts_with = "all")]
    pub accounts: Vec<String>,
    /// Fetch every account
    #[arg(long)]
    pub all: bool,
    /// Delete fetched messages from the server (only once stored locally)
    #[arg(long)]
    pub delete: bool,
    /// Seconds to wait for a connection or a reply
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Pipe each new message to `sh -c CMD` and store its output instead
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Do not use IMAP COMPRESS=DEFLATE even when the server offers it
    #[arg(long)]
    pub no_compress: bool,
    /// Largest message to fetch: bytes, or a number with K, M or G
    /// [default: the account's max_message_size, else 256M]
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub max_message_size: Option<u64>,
    #[command(flatten)]
    pub password: PasswordArgs,
}

fn parse_size_arg(text: &str) -> Result<u64, String> {
    sealpost::store::account::parse_size(text).map_err(|e| single_line(&e))
}

pub fn run(args: FetchArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let store = AccountStore::load(&ks.config_path())?;
    let accounts: Vec<Account> = if args.all {
        // Send-only accounts have nothing to fetch.
        store.list()?.into_iter().filter(Account::fetches).collect()
    } else if args.accounts.is_empty() {
        vec![account::choose(&store, None)?]
    } else {
        args.accounts
            .iter()
            .map(|n| store.get(n))
            .collect::<anyhow::Result<_>>()?
    };
    if accounts.is_empty() {
        return Err(fail(Exit::Config, "no account configured"));
    }
    // Before any password is asked for.
    if let Some(send_only) = accounts.iter().find(|a| !a.fetches()) {
        return Err(account::no_server(send_only, Protocol::Imap));
    }
    if (args.password.password_file.is_some() || args.password.password_fd.is_some())
        && accounts.len() > 1
    {
        return Err(fail(
            Exit::Usage,
            "--password-file and --password-fd name one account's password: fetch one account",
        ));
    }
    // Passwords first, one account after the other (a prompt must not race
    // another); then every account is fetched at the same time.
    let timeout = Duration::from_secs(args.timeout.max(1));
    let prepared: Vec<anyhow::Result<Prepared>> = accounts
        .iter()
        .map(|acct| {
            Ok(Prepared {
                max_message_size: match args.max_message_size {
                    Some(n) => n,
                    None => store.max_message_size(&acct.name)?,
                },
                password: account::password(acct, &args.password, ctx)?,
                tls: TlsSetup::new(account::ca_pem(acct)?.as_deref())?,
            })
        })
        .collect();
    let bars = (!ctx.global.quiet && !ctx.global.json && std::io::stderr().is_terminal())
        .then(indicatif::MultiProgress::new);
    let outcomes: Vec<anyhow::Result<Summary>> = std::thread::scope(|scope| {
        let handles: Vec<_> = accounts
            .iter()
            .zip(prepared)
            .map(|(acct, prep)| {
                let maildir = acct.maildir_path(ks.root());
                let bars = bars.as_ref();
                let opts = Options {
                    timeout,
                    delete: args.delete,
                    compress: !args.no_compress,
                    exec: args.exec.as_deref(),
                };
                scope.spawn(move || fetch_one(acct, &maildir, prep?, &opts, bars))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(fail(Exit::Software, "a fetch thread panicked")))
            })
            .collect()
    });
    let mut results = Vec::new();
    let mut first_error: Option<anyhow::Error> = None;
    let mut exec_failed = 0;
    let mut too_large = 0;
    for (acct, outcome) in accounts.iter().zip(outcomes) {
        let maildir = acct.maildir_path(ks.root());
        match outcome {
            Ok(sum) => {
                exec_failed += sum.exec_failed.len();
                too_large += sum.too_large.len();
                for m in &sum.too_large {
                    ctx.warn(format!(
                        "{}: message {} is {} bytes, over the maximum message size; \
                         left on the server",
                        acct.name, m.key, m.size
                    ));
                }
                for f in &sum.exec_failed {
                    ctx.warn(format!(
                        "{}: {}; stored as received: {}",
                        acct.name,
                        f.reason,
                        maildir.join("new").join(&f.file).display()
                    ));
                }
                if !ctx.global.json {
                    ctx.note(format!(
                        "{}: {} new message(s) in {}{}{}",
                        acct.name,
                        sum.new,
                        maildir.display(),
                        if sum.deleted > 0 {
                            format!(", {} deleted from the server", sum.deleted)
                        } else {
                            String::new()
                        },
                        if sum.resynced {
                            " (UIDVALIDITY changed: resynchronised)"
                        } else {
                            ""
                        }
                    ));
                    ctx.detail(format!(
                        "{}: {} bytes on the wire, {} uncompressed{}",
                        acct.name,
                        sum.wire_bytes,
                        sum.uncompressed_bytes,
                        if sum.compressed {
                            " (COMPRESS=DEFLATE)"
                        } else {
                            ""
                        }
                    ));
                }
                results.push(json!({
                    "account": acct.name,
                    "maildir": maildir,
                    "error": null,
                    "summary": summary_json(&sum),
                }));
            }
            Err(e) => {
                if accounts.len() > 1 {
                    ctx.warn(format!("{}: {}", acct.name, single_line(&e)));
                }
                results.push(json!({
                    "account": acct.name,
                    "maildir": maildir,
                    "error": single_line(&e),
                    "summary": null,
                }));
                first_error.get_or_insert(e);
            }
        }
    }
    if ctx.global.json {
        ctx.print_json("fetch", json!({ "accounts": results }))?;
    }
    match first_error {
        Some(e) if accounts.len() == 1 => Err(e),
        Some(e) => {
            let (exit, _) = sealpost::error::classify(&e);
            Err(fail(
                exit,
                "some accounts could not be fetched (see the warnings)",
            ))
        }
        None if too_large > 0 => Err(fail_hint(
            Exit::DataErr,
            format!(
                "{too_large} message(s) over the maximum message size were left on the server \
                 (see the warnings)"
            ),
            "fetch them with a larger --max-message-size, or set max_message_size in config.toml",
        )),
        None if exec_failed > 0 => Err(fail(
            Exit::DataErr,
            format!(
                "--exec failed on {exec_failed} message(s), stored as received (see the warnings)"
            ),
        )),
        None => Ok(()),
    }
}

/// One account's run in `--json`; every member always there.
fn summary_json(sum: &Summary) -> serde_json::Value {
    json!({
        "new": sum.new,
        "already_local": sum.already_local,
        "deleted": sum.deleted,
        "on_server": sum.on_server,
        "resynced": sum.resynced,
        "wire_bytes": sum.wire_bytes,
        "uncompressed_bytes": sum.uncompressed_bytes,
        "compressed": sum.compressed,
        "exec_failed": sum.exec_failed.iter().map(|f| json!({"file": f.file, "reason": f.reason})).collect::<Vec<_>>(),
        "too_large": sum.too_large.iter().map(|m| json!({"key": m.key, "bytes": m.size})).collect::<Vec<_>>(),
    })
}

/// What an account's fetch needs from the main thread.
struct Prepared {
    max_message_size: u64,
    password: zeroize::Zeroizing<String>,
    tls: TlsSetup,
}

/// How every account is fetched.
struct Options<'a> {
    timeout: Duration,
    delete: bool,
    compress: bool,
    exec: Option<&'a str>,
}

fn fetch_one(
    acct: &Account,
    maildir: &std::path::Path,
    prep: Prepared,
    opts: &Options<'_>,
    bars: Option<&indicatif::MultiProgress>,
) -> anyhow::Result<Summary> {
    let (timeout, delete) = (opts.timeout, opts.delete);
    let eps = &account::servers(
        acct,
        acct.incoming.endpoints(),
        acct.incoming.protocol().unwrap_or(Protocol::Imap),
        timeout,
    )?;
    let mut remote: Box<dyn Remote> = match &acct.incoming {
        Incoming::Imap(_) => {
            let mut session =
                tls::connect::<Imap>(eps, &prep.tls, &acct.user, &prep.password, timeout)?;
            if opts.compress {
                session.compress()?;
            }
            Box::new(session)
        }
        Incoming::Pop3(_) => Box::new(tls::connect::<Pop3>(
            eps,
            &prep.tls,
            &acct.user,
            &prep.password,
            timeout,
        )?),
        Incoming::None => return Err(account::no_server(acct, Protocol::Imap)),
    };
    let bar = bars.map(|m| {
        let b = m.add(indicatif::ProgressBar::new(0));
        if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
            "{} {{bar:30}} {{pos}}/{{len}} messages",
            acct.name
        )) {
            b.set_style(style);
        }
        b
    });
    let result = fetch::sync(
        &acct.name,
        remote.as_mut(),
        maildir,
        delete,
        opts.exec,
        prep.max_message_size,
        &mut |done, total| {
            if let Some(b) = &bar {
                b.set_length(total as u64);
                b.set_position(done as u64);
            }
        },
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}
