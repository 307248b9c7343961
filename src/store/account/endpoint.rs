//! Server URLs (`smtps://host:port`, …): the protocol, how the connection
//! is secured, and the [`SRV`] setting that asks DNS for the servers instead.

use std::fmt;

use crate::error::{fail, fail_hint, Exit};

/// How a connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (smtps, imaps, pop3s).
    Tls,
    /// Plain connection upgraded with STARTTLS/STLS, which is required.
    StartTls,
    /// No TLS at all: only with `insecure_plaintext`.
    Plain,
}

/// Which protocol a server setting is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Smtp,
    Imap,
    Pop3,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
        }
    }

    /// Default port for a security mode.
    fn default_port(self, security: Security) -> u16 {
        match (self, security) {
            (Protocol::Smtp, Security::Tls) => 465,
            (Protocol::Smtp, _) => 587,
            (Protocol::Imap, Security::Tls) => 993,
            (Protocol::Imap, _) => 143,
            (Protocol::Pop3, Security::Tls) => 995,
            (Protocol::Pop3, _) => 110,
        }
    }
}

/// One server: where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub protocol: Protocol,
    pub security: Security,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// Parses `smtps://host[:port]`, `smtp://host[:port]` (STARTTLS),
    /// `imaps://`, `imap://` (STARTTLS), `pop3s://`, `pop3://` (STLS).
    /// `smtp+plain://`, `imap+plain://` and `pop3+plain://` name a
    /// connection without TLS.
    pub fn parse(protocol: Protocol, url: &str) -> anyhow::Result<Endpoint> {
        let bad = |why: &str| {
            fail_hint(
                Exit::Usage,
                format!("invalid {} URL {url:?}: {why}", protocol.name()),
                format!(
                    "write it as {p}s://host:port (TLS) or {p}://host:port (STARTTLS)",
                    p = protocol.name()
                ),
            )
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let p = protocol.name();
        let scheme = scheme.to_ascii_lowercase();
        let security = if scheme == format!("{p}s") {
            Security::Tls
        } else if scheme == p {
            Security::StartTls
        } else if scheme == format!("{p}+plain") {
            Security::Plain
        } else {
            return Err(bad(&format!("the scheme must be {p}s or {p}")));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '@', '?', '#']) || rest.chars().any(|c| c.is_whitespace()) {
            return Err(bad("only host and port may follow the scheme"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((h, port)) => (h.to_string(), Some(port)),
                None => (rest.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
            None => protocol.default_port(security),
        };
        Ok(Endpoint {
            protocol,
            security,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// A comma-separated list, tried in order.
    pub fn parse_list(protocol: Protocol, urls: &str) -> anyhow::Result<Vec<Endpoint>> {
        let list: Vec<Endpoint> = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| Endpoint::parse(protocol, u))
            .collect::<anyhow::Result<_>>()?;
        if list.is_empty() {
            return Err(fail(
                Exit::Usage,
                format!("no {} server given", protocol.name()),
            ));
        }
        Ok(list)
    }

    /// `host:port` as used in messages (IPv6 in brackets).
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.protocol.name();
        let scheme = match self.security {
            Security::Tls => format!("{p}s"),
            Security::StartTls => p.to_string(),
            Security::Plain => format!("{p}+plain"),
        };
        write!(f, "{scheme}://{}", self.host_port())
    }
}

/// The value of a server setting that asks for DNS SRV discovery.
pub const SRV: &str = "srv";

/// Parses a server setting: URLs (see [`Endpoint::parse_list`]), or
/// [`SRV`] alone, which gives an empty list: the servers are looked up in
/// the DNS SRV records of the account's domain at each connection.
pub fn parse_servers(protocol: Protocol, setting: &str) -> anyhow::Result<Vec<Endpoint>> {
    if setting.trim().eq_ignore_ascii_case(SRV) {
        return Ok(Vec::new());
    }
    Endpoint::parse_list(protocol, setting)
}
