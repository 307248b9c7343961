//! `sealpost group serve`: the key release server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use zeroize::Zeroizing;

use super::admin::StoreArgs;
use super::Context;
use crate::cli::{read_input, Ask};
use sealpost::error::{fail, Exit};
use sealpost::group::server::{tls_config, Server, ServerOptions};
use sealpost::group::service::{Limits, Service};

/// Serve key releases over HTTPS (POST /v1/release)
///
/// Opens every group's private key with the server passphrase at start
/// (groups created later are opened on their first request), then answers
/// release requests from current members. Every release and refusal is in
/// the audit log (`sealpost group audit`) before the answer is sent. Prints
/// `listening on ADDR` on stderr once ready; with -v, one line per refusal.
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
    /// Most simultaneous connections; more are closed at once
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections: u64,
    /// Seconds a connection may stay idle
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
    #[command(flatten)]
    pub store: StoreArgs,
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
    let tls = tls_config(&read_input(&args.tls_cert)?, &read_input(&args.tls_key)?)?;
    let passphrase = Zeroizing::new(ctx.passphrase(Ask::Existing)?.to_string());
    let limits = Limits {
        rate: args.rate_limit,
        burst: args.burst,
    };
    let service = Service::start(
        store,
        passphrase,
        limits,
        sealpost::certs::now().max(0) as u64,
    )?;
    let groups = service.group_count();
    let verbose = ctx.global.verbose > 0 && !ctx.global.quiet;
    let log = Arc::new(move |line: &str| {
        if verbose {
            eprintln!("sealpost: {line}");
        }
    });
    let options = ServerOptions {
        max_connections: args.max_connections as usize,
        idle_timeout: Duration::from_secs(args.idle_timeout),
    };
    let server = Server::bind(&args.listen, tls, Arc::new(service), options, log)?;
    let addr = server.local_addr().map_err(|e| {
        fail(
            Exit::IoErr,
            format!("cannot read the listening address: {e}"),
        )
    })?;
    // Tests and supervisors wait for this line; print it even with --quiet.
    eprintln!("sealpost: listening on {addr} ({groups} groups)");
    server.run()
}
