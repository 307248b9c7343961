//! Using an account to reach its servers, and sending what the outbox holds
//! through it: the account a command acts for, the servers to try (listed,
//! or published in DNS SRV records), its extra trust anchors, and one
//! delivery run (lock, connect, deliver, prune old records). The caller
//! supplies the password and the DNS server setting, and hears what
//! happens through [`Event`]s.

use std::net::SocketAddr;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{fail_hint, single_line, Exit};
use crate::mail::outbox::{Entry, Lock, Outbox, Report, State};
use crate::mail::smtp::{Session, SmtpConfig};
use crate::store::account::{Account, AccountStore, Endpoint, Protocol};

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

/// The DNS server to ask for SRV records, when the caller configured one
/// (asked only when discovery is needed); `None`: the system's.
pub type DnsServer<'a> = &'a dyn Fn() -> anyhow::Result<Option<SocketAddr>>;

/// The servers to try for one of the account's settings: its URLs, or
/// those its domain publishes in DNS SRV records now.
pub fn servers(
    account: &Account,
    listed: &[Endpoint],
    protocol: Protocol,
    timeout: Duration,
    dns_server: DnsServer<'_>,
) -> anyhow::Result<Vec<Endpoint>> {
    if !listed.is_empty() {
        return Ok(listed.to_vec());
    }
    let domain = account
        .domain
        .as_deref()
        .ok_or_else(|| no_server(account, protocol))?;
    // DNS answers come fast or not at all; the connection timeout is for servers.
    let dns_timeout = timeout.min(Duration::from_secs(3));
    let resolver = match dns_server()? {
        Some(addr) => crate::mail::srv::Resolver {
            servers: vec![addr],
            timeout: dns_timeout,
        },
        None => crate::mail::srv::Resolver::system(dns_timeout),
    };
    let mut rng = rand::thread_rng();
    crate::mail::srv::discover(&resolver, domain, protocol, &mut |total| {
        rand::Rng::gen_range(&mut rng, 0..=total)
    })
    .map_err(|e| e.context(format!("account {}", account.name)))
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

/// A delivery run that stopped before it could deliver (no password, no
/// server, the outbox locked, the connection refused): the error, and its
/// envelopes, which stay queued.
pub struct Stopped {
    pub error: anyhow::Error,
    pub queued: Vec<Entry>,
}

/// What a delivery run reports while it runs.
pub enum Event<'a> {
    /// Connected to `server`; `envelopes` are about to be sent.
    Connected { server: &'a str, envelopes: usize },
    /// One envelope was tried.
    Tried,
    /// Old records of sent envelopes were removed (how many).
    Pruned(usize),
    /// Old records could not be removed: they are only kept longer.
    PruneFailed(&'a anyhow::Error),
}

/// How to send.
pub struct SendOptions<'a> {
    /// Per connection attempt and per command.
    pub timeout: Duration,
    pub dns_server: DnsServer<'a>,
}

/// Sends queued `entries` of one account: password, connection, delivery,
/// then the pruning of old records (after a run that kept its connection).
/// The password is asked for only here, after the entries are queued.
pub fn send(
    outbox: &Outbox,
    store: &AccountStore,
    acct: &Account,
    entries: Vec<Entry>,
    password: impl FnOnce() -> anyhow::Result<Zeroizing<String>>,
    options: &SendOptions<'_>,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<Report, Stopped> {
    let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
    password()
        .and_then(|pw| send_with(outbox, store, acct, entries, pw, options, events))
        .map_err(|error| stopped(outbox, &ids, error))
}

/// The [`Stopped`] of a run of the entries `ids`: those the outbox still
/// holds as queued, with the failure it recorded.
fn stopped(outbox: &Outbox, ids: &[String], error: anyhow::Error) -> Stopped {
    let queued = outbox
        .list()
        .map(|all| {
            all.into_iter()
                .filter(|e| e.state == State::Queued && ids.contains(&e.id))
                .collect()
        })
        .unwrap_or_default();
    Stopped { error, queued }
}

fn send_with(
    outbox: &Outbox,
    store: &AccountStore,
    acct: &Account,
    mut entries: Vec<Entry>,
    password: Zeroizing<String>,
    options: &SendOptions<'_>,
    events: &mut dyn FnMut(Event<'_>),
) -> anyhow::Result<Report> {
    let now = crate::smime::certs::now;
    let queued = entries.len();
    let lock = outbox.lock().map_err(|e| {
        fail_hint(
            Exit::TempFail,
            single_line(&e),
            "it sends them when done, or run `sealpost outbox flush` later",
        )
    })?;
    let timeout = options.timeout.max(Duration::from_secs(1));
    let endpoints = match servers(
        acct,
        &acct.smtp,
        Protocol::Smtp,
        timeout,
        options.dns_server,
    ) {
        Ok(e) => e,
        Err(e) => {
            outbox.record_failure(&mut entries, &single_line(&e), now())?;
            return Err(e.context(format!("{queued} envelope(s) stay queued")));
        }
    };
    let cfg = SmtpConfig {
        endpoints,
        user: acct.user.clone(),
        password,
        ca_pem: ca_pem(acct)?,
        timeout,
        hello_name: hostname(),
    };
    let mut session = match Session::connect(&cfg) {
        Ok(s) => s,
        Err(e) => {
            outbox.record_failure(&mut entries, &single_line(&e), now())?;
            return Err(e.context(format!("{queued} envelope(s) stay queued")));
        }
    };
    events(Event::Connected {
        server: &crate::mail::smtp::Transport::server(&session),
        envelopes: entries.len(),
    });
    let report = outbox.deliver(&lock, &mut session, entries, now(), &mut |_| {
        events(Event::Tried)
    })?;
    if report.connection_lost.is_none() {
        prune_sent(outbox, store, &lock, events);
    }
    Ok(report)
}

/// Removes sent records past the configured retention. A failure here only
/// keeps records longer, so it is an event, not the run's outcome.
fn prune_sent(
    outbox: &Outbox,
    store: &AccountStore,
    lock: &Lock,
    events: &mut dyn FnMut(Event<'_>),
) {
    let pruned = store.keep_sent().and_then(|keep| match keep {
        Some(secs) => outbox.prune(lock, crate::smime::certs::now(), secs),
        None => Ok(Vec::new()),
    });
    match pruned {
        Ok(ids) if !ids.is_empty() => events(Event::Pruned(ids.len())),
        Ok(_) => {}
        Err(e) => events(Event::PruneFailed(&e)),
    }
}

/// This machine's name for EHLO ("localhost" when it has none usable).
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        name
    } else {
        "localhost".into()
    }
}
