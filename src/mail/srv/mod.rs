//! Server discovery from DNS SRV records (RFC 6186, RFC 8314) for accounts
//! that name only a mail domain, with a small stub resolver.
//!
//! The resolver is hand-written rather than a crate: every maintained Rust
//! resolver brings an async runtime, and sealpost needs one question type
//! (SRV) asked of the nameservers in /etc/resolv.conf. It sends one UDP
//! query at a time, checks the reply's ID, flags and question before
//! believing it (so a stray or forged datagram is ignored, not parsed),
//! retries over TCP when the reply is truncated, and bounds every size and
//! loop, so garbage from the network is an error and never a panic.
//!
//! Discovery turns records into [`Endpoint`]s for the existing failover:
//! implicit TLS services (`_submissions`, `_imaps`, `_pop3s`) first, then the
//! STARTTLS ones, each ordered by priority and weight (RFC 2782).
//!
//! NOTE: an SRV answer is not authenticated (no DNSSEC here), so whoever can
//! forge DNS answers chooses the host sealpost connects to, and the TLS
//! check is made against that host's name. RFC 6186 §6 and RFC 7817 §3
//! therefore let a client trust a target only if it is the mail domain
//! itself, or if the user confirmed it. sealpost accepts targets that are
//! the domain or inside it; any other target is refused with a hint to name
//! it explicitly (which is the user's confirmation).
//!
//! The parts, each depending only on the ones before it:
//! - `wire.rs`: the DNS message codec — an SRV query, and a reply checked and
//!   parsed into records;
//! - `resolver.rs`: the stub resolver — nameservers from resolv.conf, UDP
//!   with the TCP retry, deadlines;
//! - `discovery.rs`: the RFC 6186 policy — which services to ask for, in
//!   which order, and which targets to trust.
//!
//! The records and the [`Lookup`] trait they share live here.

mod discovery;
mod resolver;
mod wire;

pub use discovery::{discover, order, services};
pub use resolver::Resolver;
pub use wire::{build_query, parse_reply, Parse};

/// One SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Lower case, without the final dot; "." (the root) means "not offered".
    pub target: String,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Records(Vec<SrvRecord>),
    /// NXDOMAIN, or the name exists without SRV records.
    NoRecords,
}

/// Anything that answers SRV questions: the network resolver, or a table in tests.
pub trait Lookup {
    /// SRV records at `name`; an error when no nameserver gave an answer.
    fn srv(&self, name: &str) -> Result<Answer, String>;
}

#[cfg(test)]
mod tests;
