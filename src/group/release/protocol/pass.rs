//! The wire format of anonymous release (issue #17): the public pass-key
//! lookup, the issuance call's payload, and the release request signed by
//! a pass key. The pass itself and the blind signature are
//! [`crate::group::pass`]'s.
//!
//! ```text
//! POST /v1/pass-key       {"version":1,"group":"list"}                 unauthenticated
//!   → {"group":"list","lifetime":86400,"keys":[{"not_before":…,"not_after":…,
//!      "key_id":"<hex>","public_key":"<base64 PKCS#1 RSAPublicKey>"}, …]}
//! POST /v1/pass           a signed call (calls.rs), payload {"key_id":"<hex>","blinded":"<base64>"}
//!   → {"blind_signature":"<base64>"}
//! POST /v1/pass-release   {"version":1,"group":…,"recipient_info":…,"pass":"<base64 DER>",
//!                          "timestamp":…,"nonce":…,"signature_algorithm":"rsassa-pss-sha256",
//!                          "signature":"<base64>"}
//!   → the release answer of an identity release, wrapped to the pass key
//! ```
//!
//! The pass-key lookup is the same for everyone (so a member can compare
//! the key it is asked to blind under with the one everybody sees), and
//! is answered from public data: a group that is not anonymous and a group
//! that does not exist get the same refusal.
//!
//! The pass release is signed (RSASSA-PSS, as every request) by the pass
//! key over [`PASS_RELEASE_DOMAIN`] and the fields with their lengths, as
//! [`super::signed_bytes`] does for an identity release: another domain,
//! so neither signature is ever valid for the other kind.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{
    check_common, decode_capped, is_group_name, key_hash, push_field, Malformed,
    MAX_RECIPIENT_INFO, MAX_SIGNATURE, NONCE_LEN, SIGNATURE_ALGORITHM, VERSION,
};
use crate::group::pass::MAX_PASS_LEN;

/// The public lookup of a group's pass-issuing keys.
pub const PASS_KEY_PATH: &str = "/v1/pass-key";
/// The release request signed by a pass key.
pub const PASS_RELEASE_PATH: &str = "/v1/pass-release";
/// Domain separation for a pass release's signed encoding.
pub const PASS_RELEASE_DOMAIN: &[u8] = b"sealpost pass release request v1\0";
/// The largest issuing public key (PKCS#1 DER of RSA-4096, with room).
pub const MAX_ISSUING_KEY: usize = 1024;
/// The largest blinded message or blind signature: RSA-4096.
pub const MAX_BLINDED: usize = 4096 / 8;

/// `POST /v1/pass-key`'s body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassKeyRequest {
    pub version: u32,
    pub group: String,
}

impl PassKeyRequest {
    pub fn new(group: &str) -> Self {
        PassKeyRequest {
            version: VERSION,
            group: group.to_owned(),
        }
    }

    pub fn from_json(body: &[u8]) -> Result<Self, Malformed> {
        let req: PassKeyRequest = serde_json::from_slice(body)
            .map_err(|e| Malformed(format!("not a pass-key request: {e}")))?;
        if req.version != VERSION {
            return Err(Malformed(format!(
                "unsupported protocol version {}",
                req.version
            )));
        }
        if !is_group_name(&req.group) {
            return Err(Malformed("not a group name".into()));
        }
        Ok(req)
    }
}

/// One period's issuing key, as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedKey {
    pub not_before: u64,
    pub not_after: u64,
    /// Hex SHA-256 of `public_key` (the id a pass names).
    pub key_id: String,
    /// PKCS#1 `RSAPublicKey` DER.
    #[serde(with = "crate::group::release::calls::base64_bytes")]
    pub public_key: Vec<u8>,
}

/// `POST /v1/pass-key`'s answer: the current period's key, and the next
/// period's in the hour before it begins (so members can renew ahead).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassKeyAnswer {
    pub group: String,
    /// The pass lifetime (the period), seconds.
    pub lifetime: u64,
    pub keys: Vec<PublishedKey>,
}

/// The issuance call's payload ([`crate::group::release::calls::Op::Pass`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassPayload {
    /// The issuing key the message was blinded under (hex).
    pub key_id: String,
    #[serde(with = "crate::group::release::calls::base64_bytes")]
    pub blinded: Vec<u8>,
}

/// The issuance call's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassAnswer {
    #[serde(with = "crate::group::release::calls::base64_bytes")]
    pub blind_signature: Vec<u8>,
}

/// A release request made with a pass instead of an identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassReleaseRequest {
    pub group: String,
    /// DER of the `RecipientInfo` addressed to the group certificate.
    pub recipient_info: Vec<u8>,
    /// DER of the pass.
    pub pass: Vec<u8>,
    pub timestamp: u64,
    pub nonce: [u8; NONCE_LEN],
    /// RSASSA-PSS by the pass key over [`Self::signed_bytes`].
    pub signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PassReleaseJson {
    version: u32,
    group: String,
    recipient_info: String,
    pass: String,
    timestamp: u64,
    nonce: String,
    signature_algorithm: String,
    signature: String,
}

impl PassReleaseRequest {
    /// The exact bytes the pass key signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            PASS_RELEASE_DOMAIN.len()
                + 5 * 4
                + self.group.len()
                + self.recipient_info.len()
                + self.pass.len()
                + 8
                + NONCE_LEN,
        );
        out.extend_from_slice(PASS_RELEASE_DOMAIN);
        push_field(&mut out, self.group.as_bytes());
        push_field(&mut out, &self.recipient_info);
        push_field(&mut out, &self.pass);
        push_field(&mut out, &self.timestamp.to_be_bytes());
        push_field(&mut out, &self.nonce);
        out
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&PassReleaseJson {
            version: VERSION,
            group: self.group.clone(),
            recipient_info: B64.encode(&self.recipient_info),
            pass: B64.encode(&self.pass),
            timestamp: self.timestamp,
            nonce: B64.encode(self.nonce),
            signature_algorithm: SIGNATURE_ALGORITHM.to_string(),
            signature: B64.encode(&self.signature),
        })
        .expect("plain strings and numbers always serialise")
    }

    /// Parses a body: every field bounded before it is decoded.
    pub fn from_json(body: &[u8]) -> Result<Self, Malformed> {
        let json: PassReleaseJson = serde_json::from_slice(body)
            .map_err(|e| Malformed(format!("not a pass release request: {e}")))?;
        let nonce = check_common(
            json.version,
            &json.signature_algorithm,
            &json.group,
            &json.nonce,
        )?;
        Ok(Self {
            group: json.group,
            recipient_info: decode_capped(
                "recipient_info",
                &json.recipient_info,
                MAX_RECIPIENT_INFO,
            )?,
            pass: decode_capped("pass", &json.pass, MAX_PASS_LEN)?,
            timestamp: json.timestamp,
            nonce,
            signature: decode_capped("signature", &json.signature, MAX_SIGNATURE)?,
        })
    }

    /// The audit hash of the entry asked for ([`key_hash`]).
    pub fn key_hash(&self) -> String {
        key_hash(&self.recipient_info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PassReleaseRequest {
        PassReleaseRequest {
            group: "list".into(),
            recipient_info: vec![0x30, 0x03, 1, 2, 3],
            pass: vec![0x30, 0x01, 9],
            timestamp: 1_795_000_000,
            nonce: [7; NONCE_LEN],
            signature: vec![1; 256],
        }
    }

    #[test]
    fn pass_release_round_trips_and_is_domain_separated() {
        let req = sample();
        assert_eq!(PassReleaseRequest::from_json(&req.to_json()).unwrap(), req);
        let bytes = req.signed_bytes();
        assert!(bytes.starts_with(PASS_RELEASE_DOMAIN));
        // The identity release's encoding of the same fields differs.
        let identity = super::super::signed_bytes(
            &req.group,
            &req.recipient_info,
            &req.pass,
            req.timestamp,
            &req.nonce,
        );
        assert_ne!(identity, bytes);
        let mut other = req.clone();
        other.pass.push(0);
        assert_ne!(other.signed_bytes(), bytes);
    }

    #[test]
    fn oversized_or_unknown_fields_are_malformed() {
        let good = String::from_utf8(sample().to_json()).unwrap();
        for bad in [
            good.replace("\"pass\":\"", &format!("\"pass\":\"{}", "AAAA".repeat(700))),
            good.replace('}', ",\"certificate\":\"\"}"),
            good.replace("\"group\":\"list\"", "\"group\":\"../x\""),
        ] {
            assert!(
                PassReleaseRequest::from_json(bad.as_bytes()).is_err(),
                "{bad}"
            );
        }
        assert!(PassKeyRequest::from_json(br#"{"version":1,"group":"list"}"#).is_ok());
        assert!(PassKeyRequest::from_json(br#"{"version":1,"group":"List"}"#).is_err());
        assert!(PassKeyRequest::from_json(br#"{"version":2,"group":"list"}"#).is_err());
    }
}
