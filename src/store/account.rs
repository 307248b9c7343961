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

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{fail, fail_hint, Exit};
use crate::store::fsutil::{self, PRIVATE_FILE};

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
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(fail(
            Exit::Usage,
            format!(
                "invalid account name {name:?}: use letters, digits, '-', '_' and '.' (at most 64)"
            ),
        ))
    }
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

/// The accounts in a keystore's `config.toml`.
pub struct AccountStore {
    path: PathBuf,
    doc: toml_edit::DocumentMut,
    /// The file held only comments when loaded (a new keystore's header).
    comments_only: bool,
}

impl AccountStore {
    /// Reads `config.toml` (a missing file is an empty configuration).
    pub fn load(path: &Path) -> anyhow::Result<AccountStore> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(fail(
                    Exit::Config,
                    format!("cannot read {}: {e}", path.display()),
                ))
            }
        };
        let doc = text.parse::<toml_edit::DocumentMut>().map_err(|e| {
            fail(
                Exit::Config,
                format!(
                    "{} is not valid TOML: {}",
                    path.display(),
                    e.to_string().lines().next().unwrap_or_default()
                ),
            )
        })?;
        Ok(AccountStore {
            path: path.to_path_buf(),
            comments_only: doc.is_empty(),
            doc,
        })
    }

    /// Every account, sorted by name.
    pub fn list(&self) -> anyhow::Result<Vec<Account>> {
        let Some(table) = self.doc.get("accounts").and_then(|t| t.as_table_like()) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<Account> = table
            .iter()
            .map(|(name, item)| self.decode(name, item))
            .collect::<anyhow::Result<_>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One account by name.
    pub fn get(&self, name: &str) -> anyhow::Result<Account> {
        let item = self
            .doc
            .get("accounts")
            .and_then(|t| t.as_table_like())
            .and_then(|t| t.get(name))
            .ok_or_else(|| {
                fail_hint(
                    Exit::Config,
                    format!("no account named {name:?}"),
                    "see `sealpost account list`, or add one with `sealpost account add`",
                )
            })?;
        self.decode(name, item)
    }

    /// Adds an account; an existing one of the same name is replaced only with `replace`.
    pub fn add(&mut self, account: &Account, replace: bool) -> anyhow::Result<()> {
        account.validate()?;
        if !self.doc.contains_key("accounts") {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            self.doc.insert("accounts", toml_edit::Item::Table(t));
        }
        let accounts = self.doc["accounts"].as_table_mut().ok_or_else(|| {
            fail(
                Exit::Config,
                format!("{}: 'accounts' is not a table", self.path.display()),
            )
        })?;
        if accounts.contains_key(&account.name) && !replace {
            return Err(fail_hint(
                Exit::CantCreate,
                format!("account {:?} exists already", account.name),
                "use --replace to overwrite it, or `sealpost account remove` first",
            ));
        }
        let mut t = toml_edit::Table::new();
        t["user"] = toml_edit::value(account.user.as_str());
        if let Some(d) = &account.domain {
            t["domain"] = toml_edit::value(d.as_str());
        }
        if account.sends() {
            t["smtp"] = servers_value(&account.smtp);
        }
        if let Some(protocol) = account.incoming.protocol() {
            t[protocol.name()] = servers_value(account.incoming.endpoints());
        }
        if let Some(ca) = &account.ca_file {
            t["ca_file"] = toml_edit::value(path_str(ca)?);
        }
        if account.insecure_plaintext {
            t["insecure_plaintext"] = toml_edit::value(true);
        }
        if let Some(f) = &account.password_file {
            t["password_file"] = toml_edit::value(path_str(f)?);
        }
        if let Some(p) = &account.stored_password {
            t["password"] = toml_edit::value(p.as_str());
        }
        if let Some(m) = &account.maildir {
            t["maildir"] = toml_edit::value(path_str(m)?);
        }
        // Settings only written by hand survive a replacement.
        if let Some(limit) = accounts
            .get(&account.name)
            .and_then(|old| old.get("max_message_size"))
        {
            t["max_message_size"] = limit.clone();
        }
        accounts.insert(&account.name, toml_edit::Item::Table(t));
        Ok(())
    }

    /// How long records of sent envelopes are kept, in seconds, from
    /// `[outbox] keep_sent` ("30d", "12h", …; "forever" keeps them):
    /// `Ok(None)` for forever, the outbox default when unset.
    pub fn keep_sent(&self) -> anyhow::Result<Option<i64>> {
        let Some(v) = self.doc.get("outbox").and_then(|t| t.get("keep_sent")) else {
            return Ok(Some(DEFAULT_KEEP_SENT));
        };
        let bad = || {
            fail_hint(
                Exit::Config,
                format!(
                    "{}: [outbox] keep_sent must be a duration like \"30d\", or \"forever\"",
                    self.path.display()
                ),
                "units: s, m, h, d, w",
            )
        };
        let text = v.as_str().ok_or_else(bad)?;
        if text.trim() == "forever" {
            return Ok(None);
        }
        parse_duration(text).map(Some).map_err(|_| bad())
    }

    /// The largest message `fetch` accepts for account `name`, in bytes: its
    /// `max_message_size`, else `[fetch] max_message_size`, else
    /// [`DEFAULT_MAX_MESSAGE_SIZE`]. A setting is a number of
    /// bytes or a size like "512M" (see [`parse_size`]).
    pub fn max_message_size(&self, name: &str) -> anyhow::Result<u64> {
        let per_account = self
            .doc
            .get("accounts")
            .and_then(|t| t.get(name))
            .and_then(|t| t.get("max_message_size"));
        let (v, place) = match per_account {
            Some(v) => (v, format!("account {name:?}")),
            None => match self
                .doc
                .get("fetch")
                .and_then(|t| t.get("max_message_size"))
            {
                Some(v) => (v, "[fetch]".to_string()),
                None => return Ok(DEFAULT_MAX_MESSAGE_SIZE),
            },
        };
        let parsed = match (v.as_integer(), v.as_str()) {
            (Some(n), _) => u64::try_from(n)
                .map_err(|_| anyhow::anyhow!("negative"))
                .and_then(check_size),
            (None, Some(text)) => parse_size(text),
            _ => Err(anyhow::anyhow!("not a size")),
        };
        parsed.map_err(|e| {
            fail_hint(
                Exit::Config,
                format!(
                    "{}: {place}: max_message_size: {}",
                    self.path.display(),
                    crate::error::single_line(&e)
                ),
                "write a number of bytes or a size like \"512M\" (K, M, G: powers of 1024)",
            )
        })
    }

    /// Removes an account; fails when there is none of that name.
    pub fn remove(&mut self, name: &str) -> anyhow::Result<()> {
        let removed = self
            .doc
            .get_mut("accounts")
            .and_then(|t| t.as_table_like_mut())
            .and_then(|t| t.remove(name));
        if removed.is_none() {
            return Err(fail(Exit::Config, format!("no account named {name:?}")));
        }
        Ok(())
    }

    /// Writes the configuration back atomically, mode 0600 (it may hold passwords).
    pub fn save(&self) -> anyhow::Result<()> {
        fsutil::atomic_write(&self.path, self.render().as_bytes(), PRIVATE_FILE)
    }

    /// The file's text. A file that held only comments (the header a new
    /// keystore starts with) parses into a document whose comments trail
    /// every item added later; they are put back on top, where they were.
    fn render(&self) -> String {
        let trailing = self.doc.trailing().as_str().unwrap_or_default();
        if !self.comments_only || self.doc.is_empty() || trailing.trim().is_empty() {
            return self.doc.to_string();
        }
        let mut body = self.doc.clone();
        body.set_trailing("");
        let mut text = format!("{}\n{}", trailing.trim(), body.to_string().trim_start());
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }

    fn decode(&self, name: &str, item: &toml_edit::Item) -> anyhow::Result<Account> {
        let bad = |why: String| {
            fail(
                Exit::Config,
                format!("{}: account {name:?}: {why}", self.path.display()),
            )
        };
        let t = item
            .as_table_like()
            .ok_or_else(|| bad("not a table".into()))?;
        let string = |key: &str| -> anyhow::Result<Option<String>> {
            match t.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .ok_or_else(|| bad(format!("'{key}' must be a string"))),
            }
        };
        let urls = |key: &str, protocol: Protocol| -> anyhow::Result<Option<Vec<Endpoint>>> {
            let Some(v) = t.get(key) else {
                return Ok(None);
            };
            let list: Vec<&str> = if let Some(s) = v.as_str() {
                if s.trim().eq_ignore_ascii_case(SRV) {
                    return Ok(Some(Vec::new()));
                }
                vec![s]
            } else if let Some(a) = v.as_array() {
                a.iter()
                    .map(|x| x.as_str())
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(format!("'{key}' must be a list of URLs")))?
            } else {
                return Err(bad(format!("'{key}' must be a list of URLs")));
            };
            Endpoint::parse_list(protocol, &list.join(","))
                .map(Some)
                .map_err(|e| bad(crate::error::single_line(&e)))
        };
        let user = string("user")?.ok_or_else(|| bad("no 'user'".into()))?;
        // With a domain, a missing setting means "srv" (IMAP for incoming mail).
        let domain = string("domain")?;
        let discovered = || domain.is_some().then(Vec::new);
        // Without a domain, a missing 'smtp' is a fetch-only account and
        // missing 'imap' and 'pop3' a send-only one; "srv" needs a domain.
        let smtp = match urls("smtp", Protocol::Smtp)?.or_else(discovered) {
            Some(list) if list.is_empty() && domain.is_none() => {
                return Err(bad("'smtp = \"srv\"' needs a 'domain'".into()))
            }
            Some(list) => list,
            None => Vec::new(),
        };
        let incoming = match (urls("imap", Protocol::Imap)?, urls("pop3", Protocol::Pop3)?) {
            (Some(i), None) => Incoming::Imap(i),
            (None, Some(p)) => Incoming::Pop3(p),
            (None, None) if domain.is_some() => Incoming::Imap(Vec::new()),
            (None, None) => Incoming::None,
            _ => return Err(bad("only one of 'imap' and 'pop3' may be given".into())),
        };
        let insecure_plaintext = match t.get("insecure_plaintext") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| bad("'insecure_plaintext' must be true or false".into()))?,
        };
        let account = Account {
            name: name.to_string(),
            user,
            domain,
            smtp,
            incoming,
            ca_file: string("ca_file")?.map(PathBuf::from),
            insecure_plaintext,
            password_file: string("password_file")?.map(PathBuf::from),
            stored_password: string("password")?,
            maildir: string("maildir")?.map(PathBuf::from),
        };
        account
            .validate()
            .map_err(|e| bad(crate::error::single_line(&e)))?;
        Ok(account)
    }
}

/// Smallest and largest message size limits accepted: below 1 KiB no mail
/// fits, above 1 TiB the limit means nothing.
pub const MIN_SIZE_LIMIT: u64 = 1 << 10;
pub const MAX_SIZE_LIMIT: u64 = 1 << 40;

/// A size: a number of bytes, or a number with K, M or G (powers of 1024),
/// between [`MIN_SIZE_LIMIT`] and [`MAX_SIZE_LIMIT`].
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let bad = || {
        fail(
            Exit::Usage,
            format!("invalid size {text:?}: write bytes, or a number and K, M or G, like 512M"),
        )
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(bad()),
    };
    check_size(n.checked_mul(scale).ok_or_else(bad)?)
}

fn check_size(n: u64) -> anyhow::Result<u64> {
    if !(MIN_SIZE_LIMIT..=MAX_SIZE_LIMIT).contains(&n) {
        return Err(fail(
            Exit::Usage,
            format!("a size limit must be between 1K and 1024G, not {n} bytes"),
        ));
    }
    Ok(n)
}

fn servers_value(list: &[Endpoint]) -> toml_edit::Item {
    if list.is_empty() {
        return toml_edit::value(SRV);
    }
    toml_edit::value(
        list.iter()
            .map(|e| e.to_string())
            .collect::<toml_edit::Array>(),
    )
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .ok_or_else(|| fail(Exit::Usage, format!("{} is not valid UTF-8", p.display())))
}

/// How long sent records are kept unless configured: long enough to answer
/// "did that go out last week?", short enough not to pile up.
pub const DEFAULT_KEEP_SENT: i64 = 30 * 86400;

/// Parses a retention time: a number with a unit, `s`, `m`, `h`, `d` or `w`
/// (`90d`, `12h`); `0` alone means no time at all. Returns seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<i64> {
    let t = text.trim();
    let bad = || {
        fail(
            Exit::Usage,
            format!("invalid duration {text:?}: write a number and a unit, like 30d, 12h, 90m"),
        )
    };
    if t == "0" {
        return Ok(0);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// The default maximum size of one message: far above real mail (providers
/// cap messages at 25 to 150 MB), far below what would fill a disk by
/// surprise. Configurable per account (`max_message_size`) and per run
/// (`fetch --max-message-size`).
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 256 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_defaults_and_security() {
        let e = Endpoint::parse(Protocol::Smtp, "smtps://Mail.Example.org").unwrap();
        assert_eq!(
            (e.security, e.port, e.host.as_str()),
            (Security::Tls, 465, "mail.example.org")
        );
        let e = Endpoint::parse(Protocol::Smtp, "smtp://127.0.0.1:2525").unwrap();
        assert_eq!((e.security, e.port), (Security::StartTls, 2525));
        let e = Endpoint::parse(Protocol::Imap, "imap://h").unwrap();
        assert_eq!((e.security, e.port), (Security::StartTls, 143));
        let e = Endpoint::parse(Protocol::Pop3, "pop3s://[::1]:9995/").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 9995));
        assert_eq!(e.to_string(), "pop3s://[::1]:9995");
        let e = Endpoint::parse(Protocol::Pop3, "pop3+plain://h").unwrap();
        assert_eq!((e.security, e.port), (Security::Plain, 110));
        for bad in [
            "mail.example.org",
            "imaps://h:993",
            "smtps://",
            "smtps://h:0",
            "smtps://h:99999",
            "smtps://user@h",
            "smtps://h/path",
        ] {
            let err = Endpoint::parse(Protocol::Smtp, bad).unwrap_err();
            assert_eq!(crate::error::classify(&err).0, Exit::Usage, "{bad}");
        }
        let list = Endpoint::parse_list(Protocol::Smtp, "smtps://a, smtp://b:25").unwrap();
        assert_eq!(list.len(), 2);
        assert!(Endpoint::parse_list(Protocol::Smtp, " , ").is_err());
    }

    #[test]
    fn sizes_parse_with_units_and_bounds() {
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size(" 2 GiB ").unwrap(), 2 << 30);
        assert_eq!(parse_size("64k").unwrap(), 64 << 10);
        for bad in [
            "",
            "M",
            "-1",
            "12X",
            "1000",
            "2048G",
            "99999999999999999999",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let text = "[fetch]\nmax_message_size = \"1G\"\n[accounts.a]\nmax_message_size = 4096\n";
        std::fs::write(&path, text).unwrap();
        let store = AccountStore::load(&path).unwrap();
        assert_eq!(store.max_message_size("a").unwrap(), 4096);
        assert_eq!(store.max_message_size("b").unwrap(), 1 << 30);
        std::fs::write(&path, "[accounts.a]\nmax_message_size = -5\n").unwrap();
        let store = AccountStore::load(&path).unwrap();
        assert!(store.max_message_size("a").is_err());
        assert_eq!(
            store.max_message_size("b").unwrap(),
            DEFAULT_MAX_MESSAGE_SIZE
        );
    }

    fn account(name: &str) -> Account {
        Account {
            name: name.into(),
            user: "alice@example.org".into(),
            domain: None,
            smtp: Endpoint::parse_list(Protocol::Smtp, "smtps://a:465,smtp://b").unwrap(),
            incoming: Incoming::Imap(Endpoint::parse_list(Protocol::Imap, "imaps://a").unwrap()),
            ca_file: Some("/tmp/ca.pem".into()),
            insecure_plaintext: false,
            password_file: None,
            stored_password: None,
            maildir: None,
        }
    }

    #[test]
    fn send_only_and_fetch_only_accounts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let mut store = AccountStore::load(&path).unwrap();
        let mut send_only = account("reports");
        send_only.incoming = Incoming::None;
        let mut fetch_only = account("reader");
        fetch_only.smtp = Vec::new();
        for a in [&send_only, &fetch_only] {
            a.validate().unwrap();
            store.add(a, false).unwrap();
        }
        store.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("srv"), "nothing is discovered: {text}");
        let store = AccountStore::load(&path).unwrap();
        let (got_send, got_fetch) = (store.get("reports").unwrap(), store.get("reader").unwrap());
        assert!(got_send.sends() && !got_send.fetches());
        assert!(!got_fetch.sends() && got_fetch.fetches());
        assert_eq!((got_send, got_fetch), (send_only, fetch_only));
        // Neither side at all is no account.
        let mut neither = account("neither");
        neither.smtp = Vec::new();
        neither.incoming = Incoming::None;
        assert!(neither.validate().is_err());
    }

    #[test]
    fn store_round_trips_and_keeps_other_sections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original = "# my comment\n[groups.x]\nkey = 1 # keep me\n";
        std::fs::write(&path, original).unwrap();
        let mut store = AccountStore::load(&path).unwrap();
        store.add(&account("work"), false).unwrap();
        let mut home = account("home");
        home.incoming =
            Incoming::Pop3(Endpoint::parse_list(Protocol::Pop3, "pop3s://p:995").unwrap());
        home.stored_password = Some("s3cret".into());
        store.add(&home, false).unwrap();
        assert!(store.add(&home, false).is_err());
        store.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(original), "{text}");
        let store = AccountStore::load(&path).unwrap();
        let list = store.list().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0], home);
        assert_eq!(list[1], account("work"));
        assert!(!format!("{:?}", list[0]).contains("s3cret"));
        let mut store = AccountStore::load(&path).unwrap();
        store.remove("work").unwrap();
        assert!(store.remove("work").is_err());
        store.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("keep me") && !text.contains("[accounts.work]"),
            "{text}"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode_bits(),
            0o600
        );
    }

    #[test]
    fn a_new_keystores_header_stays_on_top() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let header = "# sealpost keystore settings.\n# edit with care.\n";
        std::fs::write(&path, header).unwrap();
        for name in ["work", "home"] {
            let mut store = AccountStore::load(&path).unwrap();
            store.add(&account(name), false).unwrap();
            store.save().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(header), "{text}");
        assert!(
            text.ends_with("\n") && !text.trim_end().ends_with("care."),
            "{text}"
        );
        assert_eq!(AccountStore::load(&path).unwrap().list().unwrap().len(), 2);
        // A comment a user put last, after accounts, stays last.
        std::fs::write(&path, format!("{text}# the end\n")).unwrap();
        let mut store = AccountStore::load(&path).unwrap();
        store.add(&account("third"), false).unwrap();
        store.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(header), "{text}");
    }

    trait ModeBits {
        fn mode_bits(&self) -> u32;
    }
    impl ModeBits for std::fs::Permissions {
        fn mode_bits(&self) -> u32 {
            use std::os::unix::fs::PermissionsExt;
            self.mode() & 0o777
        }
    }

    #[test]
    fn plaintext_needs_the_flag_and_names_are_checked() {
        let mut a = account("x");
        a.smtp = Endpoint::parse_list(Protocol::Smtp, "smtp+plain://h").unwrap();
        assert_eq!(
            crate::error::classify(&a.validate().unwrap_err()).0,
            Exit::Usage
        );
        a.insecure_plaintext = true;
        a.validate().unwrap();
        for bad in ["", ".x", "a b", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(password_env_var("my-work.1"), "SEALPOST_PASSWORD_MY_WORK_1");
        assert!(check_domain("example.org").is_ok());
        for bad in ["", "a..b", "-a.org", "a b.org", "x/y"] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn srv_settings_round_trip_and_need_a_domain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let mut a = account("dns");
        a.smtp = parse_servers(Protocol::Smtp, "SRV").unwrap();
        a.incoming = Incoming::Pop3(parse_servers(Protocol::Pop3, " srv ").unwrap());
        let mut store = AccountStore::load(&path).unwrap();
        assert_eq!(
            crate::error::classify(&store.add(&a, false).unwrap_err()).0,
            Exit::Usage,
            "srv without a domain"
        );
        a.domain = Some("bad domain".into());
        assert!(store.add(&a, false).is_err());
        a.domain = Some("example.org".into());
        store.add(&a, false).unwrap();
        store.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("smtp = \"srv\"") && text.contains("pop3 = \"srv\""),
            "{text}"
        );
        assert_eq!(AccountStore::load(&path).unwrap().get("dns").unwrap(), a);
        // Written by hand: settings left out mean srv, IMAP for incoming mail.
        std::fs::write(
            &path,
            "[accounts.short]\nuser = \"u\"\ndomain = \"example.org\"\n\
             [accounts.mixed]\nuser = \"u\"\ndomain = \"example.org\"\nsmtp = \"smtps://a\"\n\
             [accounts.nodomain]\nuser = \"u\"\nsmtp = \"srv\"\nimap = \"imaps://a\"\n",
        )
        .unwrap();
        let store = AccountStore::load(&path).unwrap();
        let short = store.get("short").unwrap();
        assert!(short.smtp.is_empty());
        assert_eq!(short.incoming, Incoming::Imap(Vec::new()));
        assert_eq!(store.get("mixed").unwrap().smtp.len(), 1);
        assert_eq!(
            crate::error::classify(&store.get("nodomain").unwrap_err()).0,
            Exit::Config
        );
        assert!(parse_servers(Protocol::Smtp, "srv,smtps://a").is_err());
    }

    #[test]
    fn damaged_config_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[accounts.a]\nuser = 1\n").unwrap();
        let store = AccountStore::load(&path).unwrap();
        assert_eq!(
            crate::error::classify(&store.list().unwrap_err()).0,
            Exit::Config
        );
        let store = AccountStore::load(&path).unwrap();
        assert_eq!(store.keep_sent().unwrap(), Some(DEFAULT_KEEP_SENT));
        for (text, want) in [
            ("\"12h\"", Some(Some(43200))),
            ("\"forever\"", Some(None)),
            ("3", None),
            ("\"soon\"", None),
        ] {
            std::fs::write(&path, format!("[outbox]\nkeep_sent = {text}\n")).unwrap();
            let got = AccountStore::load(&path).unwrap().keep_sent();
            match want {
                Some(w) => assert_eq!(got.unwrap(), w, "{text}"),
                None => assert_eq!(crate::error::classify(&got.unwrap_err()).0, Exit::Config),
            }
        }
        std::fs::write(&path, "[[[").unwrap();
        assert_eq!(
            crate::error::classify(&AccountStore::load(&path).err().unwrap()).0,
            Exit::Config
        );
    }
}
