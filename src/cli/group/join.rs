//! `sealpost group join`: record which servers release a group's keys.

use std::path::PathBuf;

use clap::Args;

use super::Context;
use sealpost::error::{fail, Exit};

/// Record a group certificate, its release servers and which own identity is the member
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The group's name on the server
    pub name: String,
    /// The group certificate (PEM or DER), as `sealpost group cert` prints it
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// A release server, https://HOST[:PORT]; repeat for failover, tried in order
    #[arg(long = "server", value_name = "URL", required = true)]
    pub servers: Vec<String>,
    /// Trust this CA (PEM) for the servers besides the system roots
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The own identity (address or fingerprint) that is the member [default: the only identity]
    #[arg(long = "as", value_name = "ADDR")]
    pub member: Option<String>,
}

pub fn run(_args: JoinArgs, _ctx: &Context) -> anyhow::Result<()> {
    Err(fail(Exit::Software, "group join is being built"))
}
