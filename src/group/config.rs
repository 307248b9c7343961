//! The group server's config file, `sealpost group serve --config FILE`:
//! every `group serve` option as a TOML key of the same name (`--rate-limit`
//! is `rate_limit`), all at the top level. A flag given on the command line
//! overrides the key; a key overrides the built-in default.
//!
//! The file is read whole but never more than [`MAX_CONFIG_BYTES`]; a key
//! this server does not know (a typo, an option of a newer version) is an
//! error naming it and its line, never ignored: a misspelt limit would
//! otherwise silently run with the default. The passphrase is never a key
//! (a config file is read by more people than a credential);
//! `passphrase_file` names the file holding it, as `--passphrase-file` does.
//!
//! Values are checked here as the command-line flags check theirs, with
//! the same ranges ([`RANGES`]), so a file and the flags accept the same.
//!
//! May use: [`crate::error`] only; the CLI applies the values.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{fail, Exit};

/// The largest config file read (64 KiB: a complete file is under 2 KiB).
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The settings of `group serve` a config file may hold; `None` where the
/// file says nothing.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub listen: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// An SQLite file (PATH or sqlite:PATH) or a postgres:// URL.
    pub store: Option<String>,
    /// The file holding the server passphrase (first line).
    pub passphrase_file: Option<PathBuf>,
    pub metrics: Option<String>,
    /// `text` or `json`.
    pub log_format: Option<String>,
    /// `N/s` or `N`, as `--rate-limit`.
    pub rate_limit: Option<String>,
    pub burst: Option<u64>,
    pub max_connections: Option<u64>,
    pub max_connections_per_address: Option<u64>,
    pub idle_timeout: Option<u64>,
    pub request_timeout: Option<u64>,
    pub address_rate_limit: Option<String>,
    pub address_burst: Option<u64>,
    pub audit_max_rows: Option<u64>,
    pub min_free_space: Option<u64>,
}

/// The allowed range of each integer setting, shared with the flags.
pub const RANGES: &[(&str, u64, u64)] = &[
    ("burst", 1, u32::MAX as u64),
    ("max_connections", 1, 65536),
    ("max_connections_per_address", 1, 65536),
    ("idle_timeout", 1, 3600),
    ("request_timeout", 1, 3600),
    ("address_burst", 1, u32::MAX as u64),
    ("audit_max_rows", 0, u64::MAX),
    ("min_free_space", 0, u64::MAX),
];

/// The range of `key` in [`RANGES`].
pub fn range(key: &str) -> std::ops::RangeInclusive<u64> {
    RANGES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map_or(0..=u64::MAX, |(_, lo, hi)| *lo..=*hi)
}

/// Reads a rate such as `5/s` (or `5`): requests per second, above zero.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.strip_suffix("/s").unwrap_or(text);
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!("{text:?} is not a rate such as 5/s")),
    }
}

impl ServeConfig {
    /// Reads and checks the config file at `path`.
    pub fn load(path: &Path) -> anyhow::Result<ServeConfig> {
        let cant = |e: std::io::Error| {
            let exit = match e.kind() {
                std::io::ErrorKind::NotFound => Exit::NoInput,
                std::io::ErrorKind::PermissionDenied => Exit::NoPerm,
                _ => Exit::IoErr,
            };
            fail(exit, format!("cannot read {}: {e}", path.display()))
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(cant)?
            .take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(cant)?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(fail(
                Exit::Config,
                format!(
                    "{} is larger than {} KiB: not a group server config file",
                    path.display(),
                    MAX_CONFIG_BYTES / 1024
                ),
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| fail(Exit::Config, format!("{} is not UTF-8", path.display())))?;
        ServeConfig::parse(&text).map_err(|e| fail(Exit::Config, format!("{}{e}", path.display())))
    }

    /// Parses the text of a config file; an error starts with the line
    /// (`:LINE: MESSAGE`), to follow the file's name.
    pub fn parse(text: &str) -> Result<ServeConfig, String> {
        let config: ServeConfig = toml::from_str(text).map_err(|e| {
            // toml's own rendering spans several lines; ours is one.
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let message = e.message().trim().replace('\n', " ");
            match line {
                Some(n) => format!(":{n}: {message}"),
                None => format!(": {message}"),
            }
        })?;
        config.check().map_err(|e| format!(": {e}"))?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        let integers = [
            ("burst", self.burst),
            ("max_connections", self.max_connections),
            (
                "max_connections_per_address",
                self.max_connections_per_address,
            ),
            ("idle_timeout", self.idle_timeout),
            ("request_timeout", self.request_timeout),
            ("address_burst", self.address_burst),
        ];
        for (key, value) in integers {
            if let Some(v) = value {
                let r = range(key);
                if !r.contains(&v) {
                    return Err(format!(
                        "{key} = {v} is out of range {}..={}",
                        r.start(),
                        r.end()
                    ));
                }
            }
        }
        for (key, value) in [
            ("rate_limit", &self.rate_limit),
            ("address_rate_limit", &self.address_rate_limit),
        ] {
            if let Some(v) = value {
                parse_rate(v).map_err(|e| format!("{key}: {e}"))?;
            }
        }
        if let Some(f) = &self.log_format {
            if f != "text" && f != "json" {
                return Err(format!("log_format = {f:?}: use \"text\" or \"json\""));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in contrib/ sets every key, each to its default.
    #[test]
    fn the_contrib_example_parses_and_sets_every_key() {
        let text = include_str!("../../contrib/sealpost-group.toml");
        let c = ServeConfig::parse(text).unwrap();
        assert_eq!(c.listen.as_deref(), Some("0.0.0.0:8443"));
        assert_eq!(c.burst, Some(20));
        assert_eq!(c.audit_max_rows, Some(10_000_000));
        let every_key_set = format!("{c:?}");
        assert!(!every_key_set.contains("None"), "{every_key_set}");
    }

    #[test]
    fn keys_are_read_and_checked() {
        let c = ServeConfig::parse(
            "listen = \"0.0.0.0:8443\"\nrate_limit = \"10/s\"\nburst = 5\nlog_format = \"json\"\n",
        )
        .unwrap();
        assert_eq!(c.listen.as_deref(), Some("0.0.0.0:8443"));
        assert_eq!(c.burst, Some(5));
        assert_eq!(c.metrics, None);
        assert_eq!(ServeConfig::parse("").unwrap(), ServeConfig::default());
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let err = ServeConfig::parse("listen = \"[::]:8443\"\n\nburts = 5\n").unwrap_err();
        assert!(err.starts_with(":3: unknown field `burts`"), "{err}");
        assert!(!err.contains('\n'));
        // The passphrase itself is no key.
        let err = ServeConfig::parse("passphrase = \"secret\"\n").unwrap_err();
        assert!(err.contains("unknown field `passphrase`"), "{err}");
        assert!(!err.contains("secret\""), "{err}");
    }

    #[test]
    fn values_outside_the_flags_ranges_are_refused() {
        for bad in [
            "burst = 0",
            "max_connections = 70000",
            "idle_timeout = 0",
            "rate_limit = \"0/s\"",
            "rate_limit = 5",
            "log_format = \"xml\"",
            "listen = [1]",
        ] {
            assert!(ServeConfig::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate("2.5/s"), Ok(2.5));
        assert_eq!(range("idle_timeout"), 1..=3600);
    }
}
