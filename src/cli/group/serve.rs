//! `sealpost group serve`: the key release server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::admin::StoreArgs;
use super::Context;
use crate::cli::secrets::TokenPinArgs;
use crate::cli::{read_input, Ask};
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::group::release::protocol::MAX_CLOCK_SKEW;
use sealpost::group::server::{tls_config, Server, ServerOptions};
use sealpost::group::service::{Limits, Service};
use sealpost::group::shutdown::StopSignal;
use sealpost::group::store::{free_space, SqliteStore, Store};

/// Serve key releases over HTTPS (POST /v1/release)
///
/// Opens every group's private key with the server passphrase at start
/// (groups created later are opened on their first request), a key in a
/// PKCS#11 token by logging in with its PIN (read once), then answers
/// release requests from current members. Every release and refusal is in
/// the audit log (`sealpost group audit`) before the answer is sent. Prints
/// `listening on ADDR` on stderr once ready; with -v, one line per refusal.
///
/// `GET /health` on the same address answers 200 when the store answers,
/// every group key opens and the store has --min-free-space left, 503
/// naming the failing check otherwise (never a group).
///
/// On SIGTERM or SIGINT it stops accepting connections, finishes the
/// requests already begun (within --request-timeout), and exits 0.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:8443 (port 0: any free port)
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The server's TLS certificate chain (PEM)
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// The TLS certificate's private key (PEM, unencrypted)
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    /// Requests per second each member may make, sustained
    #[arg(long, value_name = "N[/s]", default_value = "5/s", value_parser = parse_rate)]
    pub rate_limit: f64,
    /// Requests a member may make at once, above the sustained rate
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: u32,
    /// Most simultaneous connections; at the limit, the connection that has
    /// waited longest without a complete request is closed to make room
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections: u64,
    /// Most simultaneous connections from one IP address (as above, the
    /// address's longest-waiting one is closed to make room)
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections_per_address: u64,
    /// Seconds a kept-alive connection may wait for its next request
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
    /// Seconds one request may take to arrive in full: TLS handshake, head and body
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Requests per second from one IP address, sustained, counted before
    /// any signature is checked
    #[arg(long, value_name = "N[/s]", default_value = "50/s", value_parser = parse_rate)]
    pub address_rate_limit: f64,
    /// Requests one IP address may make at once, above its sustained rate
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub address_burst: u32,
    /// Keep at most this many audit rows, deleting the oldest once a minute
    /// (never a row still needed against replays); 0 keeps every row
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    pub audit_max_rows: u64,
    /// Refuse to start with less free space than this on the store's file
    /// system, in MiB, and warn once a minute while below it
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub min_free_space: u64,
    /// How the server writes its lines on stderr: text, or one JSON object
    /// per line ({"time","level","message"}) for a log collector
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
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

fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.strip_suffix("/s").unwrap_or(text);
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!("{text:?} is not a rate such as 5/s")),
    }
}

pub fn run(args: ServeArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = Arc::new(args.store.open(ctx)?);
    let min_free = args.min_free_space.saturating_mul(1 << 20);
    let free = store_free_space(&store)?;
    if free < min_free {
        return Err(fail_hint(
            Exit::IoErr,
            format!(
                "only {} MiB free for the group store {} (--min-free-space {} MiB): \
                 the audit log could not be written",
                free >> 20,
                store.path().display(),
                args.min_free_space
            ),
            "free some space, or prune the audit log with `sealpost group audit --prune 90d`",
        ));
    }
    let tls = tls_config(&read_input(&args.tls_cert)?, &read_input(&args.tls_key)?)?;
    let passphrase = Zeroizing::new(ctx.passphrase(Ask::Existing)?.to_string());
    let limits = Limits {
        rate: args.rate_limit,
        burst: args.burst,
    };
    let service = Service::start_with_pins(
        Arc::clone(&store) as Arc<dyn Store>,
        passphrase,
        args.pin.source(ctx.can_prompt()),
        limits,
        sealpost::smime::certs::now().max(0) as u64,
    )?;
    let groups = service.group_count();
    let verbose = ctx.global.verbose > 0 && !ctx.global.quiet;
    let format = args.log_format;
    let log = Arc::new(move |line: &str| {
        if verbose {
            format.info(line);
        }
    });
    let options = ServerOptions {
        max_connections: args.max_connections as usize,
        max_per_address: args.max_connections_per_address as usize,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        request_timeout: Duration::from_secs(args.request_timeout),
        address_rate: args.address_rate_limit,
        address_burst: args.address_burst,
    };
    let disk_store = Arc::clone(&store);
    let disk_check = move || match store_free_space(&disk_store) {
        Ok(free) if free < min_free => Err(format!(
            "only {} MiB free for the group store (--min-free-space {} MiB)",
            free >> 20,
            min_free >> 20
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{e:#}")),
    };
    let max_rows = args.audit_max_rows;
    let housekeeping = move || {
        // Rows younger than twice the clock skew hold nonces a restart reloads.
        let keep_since = sealpost::smime::certs::now() - 2 * MAX_CLOCK_SKEW as i64;
        if max_rows > 0 {
            if let Err(e) = store.trim_audit(max_rows, keep_since) {
                format.warn(&format!("audit retention: {e:#}"));
            }
        }
        match store_free_space(&store) {
            Ok(free) if free < min_free => format.warn(&format!(
                "only {} MiB free for the group store {}; \
                 when it is full every release fails (prune with `sealpost group audit --prune AGE`)",
                free >> 20,
                store.path().display()
            )),
            Ok(_) => {}
            Err(e) => format.warn(&format!("cannot read the store's free space: {e}")),
        }
    };
    let mut server = Server::bind(&args.listen, tls, Arc::new(service), options, log)?
        .with_housekeeping(Arc::new(housekeeping))
        .with_disk_check(Arc::new(disk_check));
    if let Some(addr) = &args.metrics {
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

/// Free bytes on the file system of the store.
fn store_free_space(store: &SqliteStore) -> anyhow::Result<u64> {
    let dir = store
        .path()
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    free_space(dir).map_err(|e| {
        fail(
            Exit::IoErr,
            format!("cannot read the free space of {}: {e}", dir.display()),
        )
    })
}
