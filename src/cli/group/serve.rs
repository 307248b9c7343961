//! `sealpost group serve`: the key release server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::admin::StoreArgs;
use super::Context;
use crate::cli::secrets::{read_secret, SecretSources, TokenPinArgs};
use crate::cli::{read_input, Ask, PASSPHRASE_ENV};
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::group::config::{self, ServeConfig};
use sealpost::group::release::protocol::MAX_CLOCK_SKEW;
use sealpost::group::server::{tls_config, Server, ServerOptions};
use sealpost::group::service::{Limits, Service};
use sealpost::group::shutdown::StopSignal;
use sealpost::group::store::{self as store, free_space, Location};
use sealpost::smime::privkey::Passphrase;

/// Serve key releases over HTTPS (POST /v1/release)
///
/// Opens every group's private key with the server passphrase at start
/// (groups created later are opened on their first request; a key rotated
/// by `group rotate-key` is picked up at the next request), a key in a
/// PKCS#11 token by logging in with its PIN (read once), then answers
/// release requests from current members (for an anonymous group, from
/// membership passes: POST /v1/pass-key, /v1/pass, /v1/pass-release).
/// Every release and every refusal of a known caller is in the audit log
/// (`sealpost group audit`) before the answer is sent. Prints
/// `listening on ADDR` on stderr once ready; with -v, one line per refusal.
///
/// Every option can also be set in a config file (--config FILE, TOML): the
/// option's name with '_' for '-' as a top-level key (`rate_limit =
/// "10/s"`, `burst = 40`), plus `passphrase_file` for the server
/// passphrase (never the passphrase itself). Flags on the command line
/// (and SEALPOST_GROUP_STORE, --passphrase-file, --passphrase-fd,
/// SEALPOST_PASSPHRASE) override the file. An unknown key is an error
/// naming it and its line; the file may be at most 64 KiB. Example:
/// contrib/sealpost-group.toml.
///
/// `GET /health` on the same address answers 200 when the store answers,
/// every group key opens and the store has --min-free-space left, 503
/// naming the failing check otherwise (never a group).
///
/// On SIGTERM or SIGINT it stops accepting connections, finishes the
/// requests already begun (within --request-timeout), and exits 0.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Read settings from this TOML file; flags given here override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0:8443 (port 0: any free port);
    /// required, here or in the config file
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The server's TLS certificate chain (PEM); required, here or in the
    /// config file
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS certificate's private key (PEM, unencrypted); required, here
    /// or in the config file
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Requests per second each member may make, sustained [default: 5/s]
    #[arg(long, value_name = "N[/s]", value_parser = config::parse_rate)]
    pub rate_limit: Option<f64>,
    /// Requests a member may make at once, above the sustained rate
    /// [default: 20]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: Option<u32>,
    /// Most simultaneous connections; at the limit, the connection that has
    /// waited longest without a complete request is closed to make room
    /// [default: 256]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections: Option<u64>,
    /// Most simultaneous connections from one IP address (as above, the
    /// address's longest-waiting one is closed to make room) [default: 64]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections_per_address: Option<u64>,
    /// Seconds a kept-alive connection may wait for its next request
    /// [default: 30]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: Option<u64>,
    /// Seconds one request may take to arrive in full: TLS handshake, head
    /// and body [default: 10]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: Option<u64>,
    /// Requests per second from one IP address, sustained, counted before
    /// any signature is checked [default: 50/s]
    #[arg(long, value_name = "N[/s]", value_parser = config::parse_rate)]
    pub address_rate_limit: Option<f64>,
    /// Requests one IP address may make at once, above its sustained rate
    /// [default: 100]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub address_burst: Option<u32>,
    /// Keep at most this many audit rows, deleting the oldest once a minute
    /// (never a row still needed against replays); 0 keeps every row
    /// [default: 10000000]
    #[arg(long, value_name = "N")]
    pub audit_max_rows: Option<u64>,
    /// Refuse to start with less free space than this on the store's file
    /// system, in MiB, and warn once a minute while below it [default: 64]
    #[arg(long, value_name = "MIB")]
    pub min_free_space: Option<u64>,
    /// How the server writes its lines on stderr: text, or one JSON object
    /// per line ({"time","level","message"}) for a log collector
    /// [default: text]
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Also serve Prometheus metrics (GET /metrics, plain HTTP) on this
    /// address, e.g. 127.0.0.1:9464; keep it off the members' network
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The PIN of tokens holding group keys (groups made with --pkcs11)
    #[command(flatten)]
    pub pin: TokenPinArgs,
}

/// The settings `group serve` runs with: each from its flag, else the
/// config file, else the default.
struct Settings {
    listen: String,
    tls_cert: PathBuf,
    tls_key: PathBuf,
    rate_limit: f64,
    burst: u32,
    max_connections: u64,
    max_connections_per_address: u64,
    idle_timeout: u64,
    request_timeout: u64,
    address_rate_limit: f64,
    address_burst: u32,
    audit_max_rows: u64,
    min_free_space: u64,
    log_format: LogFormat,
    metrics: Option<String>,
    /// The config file's `passphrase_file`.
    passphrase_file: Option<PathBuf>,
}

/// A setting without a default: from the flag, else the config file's key.
fn required<T>(flag: Option<T>, key: Option<T>, name: &str) -> anyhow::Result<T> {
    flag.or(key).ok_or_else(|| {
        fail_hint(
            Exit::Usage,
            format!("group serve needs --{}", name.replace('_', "-")),
            format!("give it on the command line, or as `{name} = …` in --config FILE"),
        )
    })
}

impl ServeArgs {
    fn settings(&mut self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => ServeConfig::load(path)?,
            None => ServeConfig::default(),
        };
        // Checked by ServeConfig::load; a failure here would be a bug there.
        let rate =
            |v: Option<String>| v.map(|v| config::parse_rate(&v).unwrap_or(f64::MIN_POSITIVE));
        let small = |v: Option<u64>| v.map(|v| u32::try_from(v).unwrap_or(u32::MAX));
        if self.store.location.is_none() {
            self.store.location = file.store;
        }
        Ok(Settings {
            listen: required(self.listen.take(), file.listen, "listen")?,
            tls_cert: required(self.tls_cert.take(), file.tls_cert, "tls_cert")?,
            tls_key: required(self.tls_key.take(), file.tls_key, "tls_key")?,
            rate_limit: self.rate_limit.or(rate(file.rate_limit)).unwrap_or(5.0),
            burst: self.burst.or(small(file.burst)).unwrap_or(20),
            max_connections: self.max_connections.or(file.max_connections).unwrap_or(256),
            max_connections_per_address: self
                .max_connections_per_address
                .or(file.max_connections_per_address)
                .unwrap_or(64),
            idle_timeout: self.idle_timeout.or(file.idle_timeout).unwrap_or(30),
            request_timeout: self.request_timeout.or(file.request_timeout).unwrap_or(10),
            address_rate_limit: self
                .address_rate_limit
                .or(rate(file.address_rate_limit))
                .unwrap_or(50.0),
            address_burst: self
                .address_burst
                .or(small(file.address_burst))
                .unwrap_or(100),
            audit_max_rows: self
                .audit_max_rows
                .or(file.audit_max_rows)
                .unwrap_or(10_000_000),
            min_free_space: self.min_free_space.or(file.min_free_space).unwrap_or(64),
            log_format: self
                .log_format
                .or(match file.log_format.as_deref() {
                    Some("json") => Some(LogFormat::Json),
                    Some(_) => Some(LogFormat::Text),
                    None => None,
                })
                .unwrap_or(LogFormat::Text),
            metrics: self.metrics.take().or(file.metrics),
            passphrase_file: file.passphrase_file,
        })
    }
}

/// The shape of the server's stderr lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `sealpost: MESSAGE`, `sealpost: warning: MESSAGE`
    Text,
    /// `{"time":RFC 3339,"level":"info"|"warning","message":MESSAGE}`
    Json,
}

impl LogFormat {
    /// Writes one line on stderr; `warning` marks it as one.
    fn line(self, warning: bool, message: &str) {
        match self {
            LogFormat::Text if warning => eprintln!("sealpost: warning: {message}"),
            LogFormat::Text => eprintln!("sealpost: {message}"),
            LogFormat::Json => {
                let time = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                let level = if warning { "warning" } else { "info" };
                let object = serde_json::json!({"time": time, "level": level, "message": message});
                eprintln!("{object}");
            }
        }
    }

    fn info(self, message: &str) {
        self.line(false, message);
    }

    fn warn(self, message: &str) {
        self.line(true, message);
    }
}

pub fn run(mut args: ServeArgs, ctx: &Context) -> anyhow::Result<()> {
    let settings = args.settings()?;
    let location = args.store.location(ctx)?;
    let store = store::open(&location)?;
    // The free-space checks watch the SQLite file's file system; a shared
    // database's disk is watched where the database runs.
    let store_dir = match &location {
        Location::Sqlite(path) => Some(
            path.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."))
                .to_path_buf(),
        ),
        Location::Postgres(_) => None,
    };
    let min_free = settings.min_free_space.saturating_mul(1 << 20);
    if let Some(dir) = &store_dir {
        let free = store_free_space(dir)?;
        if free < min_free {
            return Err(fail_hint(
                Exit::IoErr,
                format!(
                    "only {} MiB free for the group store in {} (--min-free-space {} MiB): \
                     the audit log could not be written",
                    free >> 20,
                    dir.display(),
                    settings.min_free_space
                ),
                "free some space, or prune the audit log with `sealpost group audit --prune 90d`",
            ));
        }
    }
    let tls = tls_config(
        &read_input(&settings.tls_cert)?,
        &read_input(&settings.tls_key)?,
    )?;
    let passphrase = server_passphrase(ctx, settings.passphrase_file.as_deref())?;
    let limits = Limits {
        rate: settings.rate_limit,
        burst: settings.burst,
    };
    let service = Service::start_with_pins(
        Arc::clone(&store),
        passphrase,
        args.pin.source(ctx.can_prompt()),
        limits,
        sealpost::smime::certs::now().max(0) as u64,
    )?;
    let groups = service.group_count();
    let verbose = ctx.global.verbose > 0 && !ctx.global.quiet;
    let format = settings.log_format;
    let log = Arc::new(move |line: &str| {
        if verbose {
            format.info(line);
        }
    });
    let options = ServerOptions {
        max_connections: settings.max_connections as usize,
        max_per_address: settings.max_connections_per_address as usize,
        idle_timeout: Duration::from_secs(settings.idle_timeout),
        request_timeout: Duration::from_secs(settings.request_timeout),
        address_rate: settings.address_rate_limit,
        address_burst: settings.address_burst,
    };
    let disk_dir = store_dir.clone();
    let disk_check = move || match disk_dir.as_deref().map(store_free_space) {
        Some(Ok(free)) if free < min_free => Err(format!(
            "only {} MiB free for the group store (--min-free-space {} MiB)",
            free >> 20,
            min_free >> 20
        )),
        Some(Err(e)) => Err(format!("{e:#}")),
        _ => Ok(()),
    };
    let max_rows = settings.audit_max_rows;
    let housekeeping = move || {
        let now = sealpost::smime::certs::now();
        // Rows younger than twice the clock skew hold nonces a restart reloads.
        let keep_since = now - 2 * MAX_CLOCK_SKEW as i64;
        if max_rows > 0 {
            if let Err(e) = store.trim_audit(max_rows, keep_since) {
                format.warn(&format!("audit retention: {e:#}"));
            }
        }
        if let Err(e) = store.prune_nonces(now) {
            format.warn(&format!("nonce retention: {e:#}"));
        }
        match store_dir.as_deref().map(store_free_space) {
            Some(Ok(free)) if free < min_free => format.warn(&format!(
                "only {} MiB free for the group store; \
                 when it is full every release fails (prune with `sealpost group audit --prune AGE`)",
                free >> 20,
            )),
            Some(Err(e)) => format.warn(&format!("cannot read the store's free space: {e:#}")),
            _ => {}
        }
    };
    let mut server = Server::bind(&settings.listen, tls, Arc::new(service), options, log)?
        .with_housekeeping(Arc::new(housekeeping))
        .with_disk_check(Arc::new(disk_check));
    if let Some(addr) = &settings.metrics {
        server = server.with_metrics(addr)?;
    }
    if let Some(addr) = server.metrics_addr() {
        let addr =
            addr.map_err(|e| fail(Exit::IoErr, format!("cannot read the metrics address: {e}")))?;
        // Before the listening line, which tests and supervisors wait for.
        format.info(&format!("metrics on http://{addr}/metrics"));
    }
    let addr = server.local_addr().map_err(|e| {
        fail(
            Exit::IoErr,
            format!("cannot read the listening address: {e}"),
        )
    })?;
    // Before the listening line: a supervisor may signal as soon as it sees it.
    let stop = StopSignal::install()
        .map_err(|e| fail(Exit::IoErr, format!("cannot handle SIGTERM: {e}")))?;
    // Tests and supervisors wait for this line; print it even with --quiet.
    format.info(&format!("listening on {addr} ({groups} groups)"));
    server.run_until(stop)?;
    format.info("stopped");
    Ok(())
}

/// The server passphrase: from --passphrase-file, --passphrase-fd or
/// SEALPOST_PASSPHRASE when given, else from the config file's
/// `passphrase_file`, else asked for.
fn server_passphrase(ctx: &Context, config_file: Option<&Path>) -> anyhow::Result<Passphrase> {
    let global = &ctx.global;
    let overridden = global.passphrase_file.is_some()
        || global.passphrase_fd.is_some()
        || std::env::var_os(PASSPHRASE_ENV).is_some();
    match config_file {
        Some(file) if !overridden => {
            let sources = SecretSources {
                file: Some(file),
                fd: None,
                env_var: None,
                flags: "passphrase_file in --config",
            };
            read_secret(&sources, "keystore passphrase", Ask::Existing, false)
        }
        _ => Ok(Zeroizing::new(ctx.passphrase(Ask::Existing)?.to_string())),
    }
}

/// Free bytes on the file system of the store's directory.
fn store_free_space(dir: &std::path::Path) -> anyhow::Result<u64> {
    free_space(dir).map_err(|e| {
        fail(
            Exit::IoErr,
            format!("cannot read the free space of {}: {e}", dir.display()),
        )
    })
}
