//! Reading a CRL the user imports (`cert crl import`): DER or PEM, checked
//! to parse, with the facts a listing shows. Whether it is genuine is
//! decided when it is used, against the path it speaks for ([`super::path`]).

use der::Decode;
use sha2::{Digest, Sha256};
use x509_cert::crl::CertificateList;

use crate::error::{fail, Exit};
use crate::smime::certs::UnixTime;

/// A CRL that parses.
#[derive(Debug, Clone)]
pub struct CrlInfo {
    pub der: Vec<u8>,
    /// SHA-256 of the DER, lowercase hex: its name in the keystore.
    pub fingerprint: String,
    pub issuer: String,
    pub this_update: UnixTime,
    pub next_update: Option<UnixTime>,
    /// How many certificates it lists as revoked.
    pub revoked: usize,
}

fn unix(t: &x509_cert::time::Time) -> UnixTime {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

impl CrlInfo {
    /// One CRL from DER, or from PEM (`X509 CRL`).
    pub fn parse(data: &[u8]) -> anyhow::Result<CrlInfo> {
        let der = match std::str::from_utf8(data)
            .ok()
            .filter(|t| t.contains("-----BEGIN "))
        {
            Some(text) => crate::smime::certs::pem_blocks(text)?
                .into_iter()
                .find(|(label, _)| label == "X509 CRL")
                .map(|(_, der)| der)
                .ok_or_else(|| fail(Exit::DataErr, "no X509 CRL block in the PEM input"))?,
            None => data.to_vec(),
        };
        let crl = CertificateList::from_der(&der)
            .map_err(|e| fail(Exit::DataErr, format!("malformed CRL: {e}")))?;
        let tbs = &crl.tbs_cert_list;
        Ok(CrlInfo {
            fingerprint: hex::encode(Sha256::digest(&der)),
            issuer: tbs.issuer.to_string(),
            this_update: unix(&tbs.this_update),
            next_update: tbs.next_update.as_ref().map(unix),
            revoked: tbs.revoked_certificates.as_ref().map_or(0, Vec::len),
            der,
        })
    }
}
