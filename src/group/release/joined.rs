//! Groups this keystore has joined: which group certificate is released by
//! which servers (in failover order), trusting which extra CA, and which own
//! identity is the member.
//!
//! One TOML file per group, `KEYSTORE/joined/NAME.toml`, written atomically,
//! holding the group certificate and CA inline so that the record stays
//! valid when the files it was made from move or vanish.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::client::ServerUrl;
use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::{self, CertInfo};
use crate::store::fsutil;

/// One joined group.
#[derive(Clone, Debug)]
pub struct JoinedGroup {
    /// The group's name on its servers.
    pub name: String,
    /// The group certificate senders encrypt to.
    pub cert: CertInfo,
    /// Release servers, tried in this order.
    pub servers: Vec<ServerUrl>,
    /// Extra trust anchors (PEM) for the servers.
    pub ca_pem: Option<Vec<u8>>,
    /// Fingerprint of the own identity that is the member.
    pub member: String,
    /// Certificates the group had before a key rotation (`group rotate-key`
    /// on the server), newest first: mail encrypted to them is still the
    /// group's, released while the server keeps the old key.
    pub older: Vec<CertInfo>,
    /// Whether the group is anonymous (its keys are released to membership
    /// passes only): learned from `group pass fetch` or the server's
    /// `pass_required`, so that no identity release is even tried.
    pub anonymous: bool,
}

/// The most older certificates a joined group keeps (a rotation a year
/// for longer than any keep-old window).
pub const MAX_OLDER_CERTIFICATES: usize = 16;

impl JoinedGroup {
    /// The current certificate, then the older ones.
    pub fn certs(&self) -> impl Iterator<Item = &CertInfo> {
        std::iter::once(&self.cert).chain(&self.older)
    }

    /// Keeps `previous`'s certificates (a re-join after a rotation) as
    /// older ones, without the current one or repeats, at most
    /// [`MAX_OLDER_CERTIFICATES`].
    pub fn keep_older(&mut self, previous: &JoinedGroup) {
        let mut older: Vec<CertInfo> = Vec::new();
        for c in previous.certs().chain(&self.older) {
            if c.fingerprint != self.cert.fingerprint
                && older.iter().all(|o| o.fingerprint != c.fingerprint)
            {
                older.push(c.clone());
            }
        }
        older.truncate(MAX_OLDER_CERTIFICATES);
        self.older = older;
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    name: String,
    servers: Vec<String>,
    member: String,
    certificate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ca: Option<String>,
    /// PEM, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    older_certificates: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    anonymous: bool,
}

/// Group names: what account names allow (they become file names).
pub fn check_group_name(name: &str) -> Result<()> {
    crate::store::fsutil::check_name_for_file("group", name)
}

/// The `joined/` directory of a keystore.
pub struct Memberships {
    dir: PathBuf,
}

impl Memberships {
    pub fn new(keystore_root: &Path) -> Self {
        Self {
            dir: keystore_root.join("joined"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.toml"))
    }

    /// Records (or replaces) a joined group.
    pub fn join(&self, group: &JoinedGroup) -> Result<()> {
        check_group_name(&group.name)?;
        let record = Record {
            name: group.name.clone(),
            servers: group.servers.iter().map(ToString::to_string).collect(),
            member: group.member.clone(),
            certificate: group.cert.to_pem(),
            ca: group
                .ca_pem
                .as_ref()
                .map(|pem| String::from_utf8_lossy(pem).into_owned()),
            older_certificates: group.older.iter().map(CertInfo::to_pem).collect(),
            anonymous: group.anonymous,
        };
        let text = toml::to_string(&record).map_err(|e| {
            fail(
                Exit::Software,
                format!("cannot encode the group record: {e}"),
            )
        })?;
        fsutil::private_dir(&self.dir, "keystore")?;
        fsutil::atomic_write(
            &self.path(&group.name),
            text.as_bytes(),
            fsutil::PUBLIC_FILE,
        )
    }

    /// Forgets a joined group; `false` if it was not joined.
    pub fn leave(&self, name: &str) -> Result<bool> {
        check_group_name(name)?;
        let path = self.path(name);
        if !path.exists() {
            return Ok(false);
        }
        fsutil::durable_remove(&path)?;
        Ok(true)
    }

    /// One joined group by name.
    pub fn get(&self, name: &str) -> Result<JoinedGroup> {
        check_group_name(name)?;
        let path = self.path(name);
        if !path.exists() {
            return Err(fail_hint(
                Exit::Config,
                format!("group {name:?} is not joined"),
                "join it with `sealpost group join NAME --cert FILE --server URL`",
            ));
        }
        Self::read(&path)
    }

    /// Every joined group, sorted by name.
    pub fn list(&self) -> Result<Vec<JoinedGroup>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(fail(
                    Exit::IoErr,
                    format!("cannot read {}: {e}", self.dir.display()),
                ))
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| {
                    fail(
                        Exit::IoErr,
                        format!("cannot read {}: {e}", self.dir.display()),
                    )
                })?
                .path();
            // Temp files of an interrupted write are not records.
            if path.extension().is_some_and(|x| x == "toml") {
                out.push(Self::read(&path)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read(path: &Path) -> Result<JoinedGroup> {
        let bad = |why: String| fail(Exit::Config, format!("{}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let record: Record = toml::from_str(&text)
            .map_err(|e| bad(e.to_string().lines().next().unwrap_or_default().to_string()))?;
        let cert = certs::parse_bundle(record.certificate.as_bytes())
            .map_err(|e| bad(crate::error::single_line(&e)))?
            .into_iter()
            .next()
            .ok_or_else(|| bad("no group certificate".into()))?;
        let mut older = Vec::new();
        for pem in record
            .older_certificates
            .iter()
            .take(MAX_OLDER_CERTIFICATES)
        {
            let mut found = certs::parse_bundle(pem.as_bytes())
                .map_err(|e| bad(crate::error::single_line(&e)))?;
            if found.len() != 1 {
                return Err(bad(
                    "an older certificate entry is not one certificate".into()
                ));
            }
            older.push(found.remove(0));
        }
        let servers = record
            .servers
            .iter()
            .map(|s| s.parse::<ServerUrl>())
            .collect::<Result<Vec<_>>>()
            .map_err(|e| bad(crate::error::single_line(&e)))?;
        Ok(JoinedGroup {
            name: record.name,
            cert,
            servers,
            ca_pem: record.ca.map(String::into_bytes),
            member: record.member,
            older,
            anonymous: record.anonymous,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert() -> CertInfo {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/alice.cert.pem"
        ))
        .unwrap();
        certs::parse_bundle(&pem).unwrap().remove(0)
    }

    #[test]
    fn join_list_get_leave_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let m = Memberships::new(dir.path());
        assert!(m.list().unwrap().is_empty());
        let group = JoinedGroup {
            name: "crypto-list".into(),
            cert: cert(),
            servers: vec![
                "https://a.example:8443".parse().unwrap(),
                "https://b.example".parse().unwrap(),
            ],
            ca_pem: Some(b"-----BEGIN CERTIFICATE-----\n".to_vec()),
            member: "ab".repeat(32),
            older: Vec::new(),
            anonymous: true,
        };
        m.join(&group).unwrap();
        let back = m.get("crypto-list").unwrap();
        assert_eq!(back.servers, group.servers);
        assert_eq!(back.cert.fingerprint, group.cert.fingerprint);
        assert_eq!(back.member, group.member);
        assert_eq!(back.ca_pem, group.ca_pem);
        assert_eq!(m.list().unwrap().len(), 1);
        assert!(m.leave("crypto-list").unwrap());
        assert!(!m.leave("crypto-list").unwrap());
        let err = m.get("crypto-list").unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::Config);
    }

    #[test]
    fn names_that_are_not_file_names_are_refused() {
        for bad in ["", "../x", "a/b", ".hidden", &"x".repeat(65)] {
            assert!(check_group_name(bad).is_err(), "{bad}");
        }
        check_group_name("list-1.example_org").unwrap();
    }
}
