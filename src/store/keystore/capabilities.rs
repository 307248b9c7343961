//! What each certificate's holder reads, kept per fingerprint in
//! `capabilities.toml`: set by `cert prefer`, or learned from signed mail.

use std::fs;

use anyhow::Context as _;

use super::{Keystore, CAPABILITIES_FILE};
use crate::error::{fail, Exit};
use crate::smime::certs::{self, CertInfo, Support, UnixTime};
use crate::store::fsutil::{self, PUBLIC_FILE};

/// A recorded [`Support`] and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SupportRecord {
    #[serde(flatten)]
    pub support: Support,
    /// "user" (from `cert prefer`) or "signed mail" (learned by `decrypt`).
    pub source: String,
    pub updated: String,
}

impl Keystore {
    pub(super) fn read_support_records(
        &self,
    ) -> anyhow::Result<std::collections::BTreeMap<String, SupportRecord>> {
        let path = self.root.join(CAPABILITIES_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| fail(Exit::Config, format!("{} is damaged: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn write_support_records(
        &self,
        records: &std::collections::BTreeMap<String, SupportRecord>,
    ) -> anyhow::Result<()> {
        let text = toml::to_string(records)
            .map_err(|e| fail(Exit::Software, format!("capabilities: {e}")))?;
        let text = format!(
            "# Which algorithms each certificate's holder reads, by certificate fingerprint.\n\
             # Written by `sealpost cert prefer` and by `sealpost decrypt` from signed mail.\n{text}"
        );
        fsutil::atomic_write(
            &self.root.join(CAPABILITIES_FILE),
            text.as_bytes(),
            PUBLIC_FILE,
        )
    }

    /// The recorded support for a certificate, if any.
    pub fn support_record(&self, fingerprint: &str) -> anyhow::Result<Option<SupportRecord>> {
        Ok(self.read_support_records()?.remove(fingerprint))
    }

    /// Records what a certificate's holder reads. A user's choice is not
    /// overwritten by what is learned from mail.
    pub fn record_support(
        &self,
        fingerprint: &str,
        support: Support,
        source: &str,
        now: UnixTime,
    ) -> anyhow::Result<bool> {
        let mut records = self.read_support_records()?;
        if source != "user" && records.get(fingerprint).is_some_and(|r| r.source == "user") {
            return Ok(false);
        }
        let record = SupportRecord {
            support,
            source: source.to_string(),
            updated: certs::format_time(now),
        };
        if records.get(fingerprint).map(|r| r.support) == Some(support) && source != "user" {
            return Ok(false);
        }
        records.insert(fingerprint.to_string(), record);
        self.write_support_records(&records)?;
        Ok(true)
    }

    /// Forgets what was recorded for a certificate.
    pub fn forget_support(&self, fingerprint: &str) -> anyhow::Result<bool> {
        let mut records = self.read_support_records()?;
        let had = records.remove(fingerprint).is_some();
        if had {
            self.write_support_records(&records)?;
        }
        Ok(had)
    }

    /// What `encrypt` may assume about a certificate's holder: the recorded
    /// support if any, else what the certificate itself advertises, else
    /// nothing beyond AES-CBC and PKCS#1 v1.5.
    pub fn support_for(&self, cert: &CertInfo) -> anyhow::Result<Support> {
        if let Some(record) = self.support_record(&cert.fingerprint)? {
            return Ok(record.support);
        }
        Ok(Support::from_capabilities(&cert.advertised_capabilities))
    }
}
