//! Mail accounts: server URLs, user name, trust and password settings, kept
//! in the keystore's `config.toml` under `[accounts.NAME]`.
//!
//! ```toml
//! [accounts.work]
//! user = "alice@example.org"
//! smtp = ["smtps://mail.example.org:465", "smtp://backup.example.org:587"]
//! imap = ["imaps://mail.example.org:993"]     # or pop3 = [...]
//! ca_file = "/etc/ssl/my-ca.pem"             # optional extra trust anchor
//! insecure_plaintext = false                 # allow smtp/imap/pop3 without TLS
//! password_file = "/home/alice/.mailpass"    # optional: read at run time
//! password = "..."                           # only with --store-password
//! max_message_size = "512M"                  # largest message fetch accepts
//!
//! [accounts.home]                            # servers from DNS (RFC 6186)
//! user = "alice@example.net"
//! domain = "example.net"
//! smtp = "srv"                               # looked up at each connection
//! pop3 = "srv"
//!
//! [outbox]
//! keep_sent = "30d"                          # see AccountStore::keep_sent
//!
//! [fetch]
//! max_message_size = "256M"                  # every account's default
//! ```
//!
//! The file is edited with `toml_edit`, so comments and every other section
//! stay exactly as they were, and written atomically (0600).
//!
//! The parts: [`Account`] itself and its checks (here); the server URLs
//! (`endpoint.rs`); reading and editing `config.toml` (`config.rs`); the sizes
//! and durations settings are written in (`units.rs`).

mod config;
mod endpoint;
mod units;

pub use config::AccountStore;
pub use endpoint::{parse_servers, Endpoint, Protocol, Security, SRV};
pub use units::{
    parse_duration, parse_size, DEFAULT_KEEP_SENT, DEFAULT_MAX_MESSAGE_SIZE, MAX_SIZE_LIMIT,
    MIN_SIZE_LIMIT,
};

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{fail, fail_hint, Exit};

/// Where incoming mail is fetched from. An empty list means "from the DNS
/// SRV records of the account's domain"; `None`, a send-only account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Imap(Vec<Endpoint>),
    Pop3(Vec<Endpoint>),
    None,
}

impl Incoming {
    /// IMAP or POP3; `None` for a send-only account.
    pub fn protocol(&self) -> Option<Protocol> {
        match self {
            Incoming::Imap(_) => Some(Protocol::Imap),
            Incoming::Pop3(_) => Some(Protocol::Pop3),
            Incoming::None => None,
        }
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        match self {
            Incoming::Imap(v) | Incoming::Pop3(v) => v,
            Incoming::None => &[],
        }
    }
}

/// One account.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub user: String,
    /// The mail domain whose DNS SRV records name the servers not listed.
    pub domain: Option<String>,
    /// Empty: from the DNS SRV records of `domain`; without a domain, a
    /// fetch-only account (see [`Account::sends`]).
    pub smtp: Vec<Endpoint>,
    pub incoming: Incoming,
    pub ca_file: Option<PathBuf>,
    pub insecure_plaintext: bool,
    /// A file whose first line is the password, read at run time.
    pub password_file: Option<PathBuf>,
    /// The password itself, only with `--store-password`.
    pub stored_password: Option<String>,
    /// Where fetched mail goes; default: KEYSTORE/mail/NAME.
    pub maildir: Option<PathBuf>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password, even in debug output.
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("smtp", &self.smtp)
            .field("incoming", &self.incoming)
            .field("ca_file", &self.ca_file)
            .field("insecure_plaintext", &self.insecure_plaintext)
            .field("password_file", &self.password_file)
            .field(
                "stored_password",
                &self.stored_password.as_ref().map(|_| "…"),
            )
            .field("maildir", &self.maildir)
            .finish()
    }
}

impl Account {
    /// Whether mail is submitted through this account (listed servers, or
    /// a domain's SRV records); false for a fetch-only account.
    pub fn sends(&self) -> bool {
        !self.smtp.is_empty() || self.domain.is_some()
    }

    /// Whether mail is fetched through this account; false for a send-only one.
    pub fn fetches(&self) -> bool {
        self.incoming != Incoming::None
    }

    /// Checks the name and refuses plaintext endpoints unless allowed.
    pub fn validate(&self) -> anyhow::Result<()> {
        check_name(&self.name)?;
        if self.user.is_empty() || self.user.chars().any(char::is_control) {
            return Err(fail(
                Exit::Usage,
                "the user name is empty or has control characters",
            ));
        }
        match &self.domain {
            Some(d) => check_domain(d)?,
            None => {
                if !self.sends() && !self.fetches() {
                    return Err(fail_hint(
                        Exit::Usage,
                        "an account needs a submission server, an incoming server, or both",
                        "give --smtp URL (send-only), --imap or --pop3 URL (fetch-only), \
                         or --domain DOMAIN (servers from DNS SRV)",
                    ));
                }
                if self.fetches() && self.incoming.endpoints().is_empty() {
                    return Err(fail_hint(
                        Exit::Usage,
                        "servers can be looked up in DNS (srv) only for an account with a domain",
                        "give --domain DOMAIN, or the servers' URLs",
                    ));
                }
            }
        }
        if !self.insecure_plaintext {
            if let Some(e) = self
                .smtp
                .iter()
                .chain(self.incoming.endpoints())
                .find(|e| e.security == Security::Plain)
            {
                return Err(fail_hint(
                    Exit::Usage,
                    format!(
                        "{e} has no TLS: the password and mail would cross the network in clear"
                    ),
                    "use a TLS URL, or add --insecure-plaintext if you really mean it",
                ));
            }
        }
        Ok(())
    }

    /// The environment variable that may hold this account's password:
    /// `SEALPOST_PASSWORD_` and the name in upper case, other characters as `_`.
    pub fn password_env_var(&self) -> String {
        password_env_var(&self.name)
    }

    /// The Maildir for fetched mail.
    pub fn maildir_path(&self, keystore_root: &Path) -> PathBuf {
        self.maildir
            .clone()
            .unwrap_or_else(|| keystore_root.join("mail").join(&self.name))
    }
}

/// See [`Account::password_env_var`].
pub fn password_env_var(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SEALPOST_PASSWORD_{upper}")
}

/// Account names: letters, digits, `-`, `_`, `.`; 1 to 64 characters.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    crate::store::fsutil::check_name_for_file("account", name)
}

/// Checks a mail domain's syntax (before it is stored).
pub fn check_domain(domain: &str) -> anyhow::Result<()> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(fail(
            Exit::Usage,
            format!("invalid mail domain {domain:?}: write it like example.org"),
        ))
    }
}

#[cfg(test)]
mod tests;
