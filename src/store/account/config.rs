//! The accounts in the keystore's `config.toml`: loading, listing, adding,
//! removing and the `[outbox]`/`[fetch]` settings, edited with `toml_edit`
//! so that comments and other sections are kept, and saved atomically (0600).

use std::path::{Path, PathBuf};

use super::endpoint::{Endpoint, Protocol, SRV};
use super::units::{
    check_size, parse_duration, parse_size, DEFAULT_KEEP_SENT, DEFAULT_MAX_MESSAGE_SIZE,
};
use super::{Account, Incoming};
use crate::error::{fail, fail_hint, Exit};
use crate::store::fsutil::{self, PRIVATE_FILE};

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
