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
//! ```
//!
//! The file is edited with `toml_edit`, so comments and every other section
//! stay exactly as they were, and written atomically (0600).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{fail, fail_hint, Exit};
use crate::fsutil::{self, PRIVATE_FILE};

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

/// Where incoming mail is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Imap(Vec<Endpoint>),
    Pop3(Vec<Endpoint>),
}

/// One account.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub user: String,
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
    /// Checks the name and refuses plaintext endpoints unless allowed.
    pub fn validate(&self) -> anyhow::Result<()> {
        check_name(&self.name)?;
        if self.user.is_empty() || self.user.chars().any(char::is_control) {
            return Err(fail(
                Exit::Usage,
                "the user name is empty or has control characters",
            ));
        }
        if !self.insecure_plaintext {
            let incoming = match &self.incoming {
                Incoming::Imap(v) | Incoming::Pop3(v) => v,
            };
            if let Some(e) = self
                .smtp
                .iter()
                .chain(incoming)
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

/// The accounts in a keystore's `config.toml`.
pub struct AccountStore {
    path: PathBuf,
    doc: toml_edit::DocumentMut,
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
        t["smtp"] = toml_edit::value(url_array(&account.smtp));
        match &account.incoming {
            Incoming::Imap(v) => t["imap"] = toml_edit::value(url_array(v)),
            Incoming::Pop3(v) => t["pop3"] = toml_edit::value(url_array(v)),
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
        accounts.insert(&account.name, toml_edit::Item::Table(t));
        Ok(())
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
        fsutil::atomic_write(&self.path, self.doc.to_string().as_bytes(), PRIVATE_FILE)
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
        let smtp = urls("smtp", Protocol::Smtp)?.ok_or_else(|| bad("no 'smtp'".into()))?;
        let incoming = match (urls("imap", Protocol::Imap)?, urls("pop3", Protocol::Pop3)?) {
            (Some(i), None) => Incoming::Imap(i),
            (None, Some(p)) => Incoming::Pop3(p),
            _ => return Err(bad("exactly one of 'imap' and 'pop3' is needed".into())),
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

fn url_array(list: &[Endpoint]) -> toml_edit::Array {
    list.iter().map(|e| e.to_string()).collect()
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .ok_or_else(|| fail(Exit::Usage, format!("{} is not valid UTF-8", p.display())))
}

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

    fn account(name: &str) -> Account {
        Account {
            name: name.into(),
            user: "alice@example.org".into(),
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
        std::fs::write(&path, "[[[").unwrap();
        assert_eq!(
            crate::error::classify(&AccountStore::load(&path).err().unwrap()).0,
            Exit::Config
        );
    }
}
