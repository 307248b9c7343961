//! The key release protocol: what a member sends to the group server, what
//! is signed, and what comes back. Pure data and encoding; the client
//! ([`super::client`]) and the server (`crate::group::server`) share it.
//!
//! # Wire format
//!
//! `POST /v1/release` with a JSON body ([`ReleaseRequest::to_json`]):
//!
//! ```json
//! {"version":1,"group":"list","recipient_info":"<base64 DER RecipientInfo>",
//!  "certificate":"<base64 DER>","timestamp":1795000000,"nonce":"<base64, 16 bytes>",
//!  "signature_algorithm":"rsassa-pss-sha256","signature":"<base64>"}
//! ```
//!
//! The signature is RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) by the
//! requester's key over [`ReleaseRequest::signed_bytes`]: a fixed domain
//! string, then every field as a 4-byte big-endian length and its bytes, in a
//! fixed order. The domain string keeps this signature from ever being
//! mistaken for a signature on mail or on any other protocol message; the
//! length prefixes make the encoding injective (no two requests sign the same
//! bytes).
//!
//! A success is `200` with [`ReleaseGrant`]: a `KeyTransRecipientInfo` for the
//! requester's certificate (RSAES-OAEP SHA-256), ready to be added to the
//! message. A refusal has the status and code of [`RefusalCode`].
//!
//! The constants, the request and the grant are here; the refusal
//! vocabulary (codes, statuses, exit codes, failover) is in `refusal.rs`.

pub mod pass;
mod refusal;

pub use refusal::{Refusal, RefusalCode};

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The request path.
pub const RELEASE_PATH: &str = "/v1/release";
/// Protocol version carried in every request.
pub const VERSION: u32 = 1;
/// The only signature algorithm accepted.
pub const SIGNATURE_ALGORITHM: &str = "rsassa-pss-sha256";
/// Domain separation for the signed encoding.
pub const SIGNING_DOMAIN: &[u8] = b"sealpost key release request v1\0";
/// A request body larger than this is refused unread. A RecipientInfo for a
/// 16384-bit key plus a large certificate stays far below it.
pub const MAX_REQUEST_BODY: usize = 64 * 1024;
/// How far a request's timestamp may be from the server's clock, seconds.
pub const MAX_CLOCK_SKEW: u64 = 300;
/// Length of the random nonce, bytes.
pub const NONCE_LEN: usize = 16;
/// Longest group name (the names `sealpost group create` accepts).
pub const MAX_GROUP_NAME: usize = 64;
/// Largest certificate a request may carry, DER bytes. Real S/MIME
/// certificates are 1 to 3 KiB; this leaves room for long chains of
/// extensions without letting a request carry 60 KB of anything.
pub const MAX_CERTIFICATE: usize = 16 * 1024;
/// Largest signature: RSA-8192, the largest key the server verifies.
pub const MAX_SIGNATURE: usize = 8192 / 8;
/// Largest RecipientInfo: an RSA-16384 key transport entry with a long
/// issuer name stays well below it.
pub const MAX_RECIPIENT_INFO: usize = 8 * 1024;

/// Whether `name` is a group name: 1 to [`MAX_GROUP_NAME`] lower-case
/// letters, digits, `.`, `_` and `-`, not starting with `.` or `-`. Group
/// names travel in JSON but also in logs, audit rows and file listings.
pub fn is_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_GROUP_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && !name.starts_with(['.', '-'])
}

/// A signed request for the content key wrapped in one RecipientInfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseRequest {
    /// The group's name on the server.
    pub group: String,
    /// DER of the `RecipientInfo` addressed to the group certificate.
    pub recipient_info: Vec<u8>,
    /// DER of the requester's certificate (a member's).
    pub certificate: Vec<u8>,
    /// Seconds since the Unix epoch when the request was made.
    pub timestamp: u64,
    /// Random, never reused: the server refuses a nonce seen within the skew window.
    pub nonce: [u8; NONCE_LEN],
    /// RSASSA-PSS signature over [`Self::signed_bytes`].
    pub signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestJson {
    version: u32,
    group: String,
    recipient_info: String,
    certificate: String,
    timestamp: u64,
    nonce: String,
    signature_algorithm: String,
    signature: String,
}

/// Why a request could not be read; the server answers [`RefusalCode::Malformed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    // Fields are bounded by MAX_REQUEST_BODY, far below u32::MAX.
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

impl ReleaseRequest {
    /// The exact bytes the requester signs and the server verifies.
    pub fn signed_bytes(&self) -> Vec<u8> {
        signed_bytes(
            &self.group,
            &self.recipient_info,
            &self.certificate,
            self.timestamp,
            &self.nonce,
        )
    }

    /// The JSON body sent to the server.
    pub fn to_json(&self) -> Vec<u8> {
        let body = RequestJson {
            version: VERSION,
            group: self.group.clone(),
            recipient_info: B64.encode(&self.recipient_info),
            certificate: B64.encode(&self.certificate),
            timestamp: self.timestamp,
            nonce: B64.encode(self.nonce),
            signature_algorithm: SIGNATURE_ALGORITHM.to_string(),
            signature: B64.encode(&self.signature),
        };
        serde_json::to_vec(&body).expect("plain strings and numbers always serialise")
    }

    /// Parses a request body. Anything unexpected (unknown fields, another
    /// version or algorithm, bad base64, a nonce of the wrong length) is malformed.
    pub fn from_json(body: &[u8]) -> Result<Self, Malformed> {
        let json: RequestJson = serde_json::from_slice(body)
            .map_err(|e| Malformed(format!("not a release request: {e}")))?;
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
            certificate: decode_capped("certificate", &json.certificate, MAX_CERTIFICATE)?,
            timestamp: json.timestamp,
            nonce,
            signature: decode_capped("signature", &json.signature, MAX_SIGNATURE)?,
        })
    }

    /// A hash naming the wrapped key, for audit records and logs: SHA-256 of
    /// the RecipientInfo DER, hex. It identifies the message's key without
    /// revealing anything about it.
    pub fn key_hash(&self) -> String {
        key_hash(&self.recipient_info)
    }
}

/// The checks every signed request's envelope gets: protocol version,
/// signature algorithm, a group name, a nonce of the right length (returned).
pub(crate) fn check_common(
    version: u32,
    signature_algorithm: &str,
    group: &str,
    nonce: &str,
) -> Result<[u8; NONCE_LEN], Malformed> {
    if version != VERSION {
        return Err(Malformed(format!("unsupported protocol version {version}")));
    }
    if signature_algorithm != SIGNATURE_ALGORITHM {
        return Err(Malformed(format!(
            "unsupported signature algorithm {signature_algorithm:?}"
        )));
    }
    if !is_group_name(group) {
        // Not echoed: it may be 60 KB of anything.
        return Err(Malformed("not a group name".into()));
    }
    decode_base64("nonce", nonce)?
        .try_into()
        .map_err(|_| Malformed(format!("nonce must be {NONCE_LEN} bytes")))
}

/// Standard base64, or why `what` is not.
pub(crate) fn decode_base64(what: &str, text: &str) -> Result<Vec<u8>, Malformed> {
    B64.decode(text)
        .map_err(|_| Malformed(format!("{what} is not valid base64")))
}

/// Standard base64 of at most `max` bytes, checked before decoding.
pub(crate) fn decode_capped(what: &str, text: &str, max: usize) -> Result<Vec<u8>, Malformed> {
    if text.len() > max.div_ceil(3) * 4 {
        return Err(Malformed(format!("{what} is longer than {max} bytes")));
    }
    decode_base64(what, text)
}

/// See [`ReleaseRequest::signed_bytes`].
pub fn signed_bytes(
    group: &str,
    recipient_info: &[u8],
    certificate: &[u8],
    timestamp: u64,
    nonce: &[u8; NONCE_LEN],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        SIGNING_DOMAIN.len()
            + 5 * 4
            + group.len()
            + recipient_info.len()
            + certificate.len()
            + 8
            + NONCE_LEN,
    );
    out.extend_from_slice(SIGNING_DOMAIN);
    push_field(&mut out, group.as_bytes());
    push_field(&mut out, recipient_info);
    push_field(&mut out, certificate);
    push_field(&mut out, &timestamp.to_be_bytes());
    push_field(&mut out, nonce);
    out
}

/// SHA-256 of a RecipientInfo's DER, hex: how audit records name a wrapped key.
pub fn key_hash(recipient_info_der: &[u8]) -> String {
    hex::encode(Sha256::digest(recipient_info_der))
}

/// The server's answer to a successful request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseGrant {
    /// DER of a `RecipientInfo` (ktri, RSAES-OAEP SHA-256) for the requester.
    pub recipient_info: Vec<u8>,
    /// [`key_hash`] of the request's RecipientInfo, as audited.
    pub key_hash: String,
}

#[derive(Serialize, Deserialize)]
struct GrantJson {
    recipient_info: String,
    key_hash: String,
}

impl ReleaseGrant {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&GrantJson {
            recipient_info: B64.encode(&self.recipient_info),
            key_hash: self.key_hash.clone(),
        })
        .expect("plain strings always serialise")
    }

    pub fn from_json(body: &[u8]) -> Result<Self, Malformed> {
        let json: GrantJson = serde_json::from_slice(body)
            .map_err(|e| Malformed(format!("not a release answer: {e}")))?;
        Ok(Self {
            recipient_info: B64
                .decode(&json.recipient_info)
                .map_err(|_| Malformed("recipient_info is not valid base64".into()))?,
            key_hash: json.key_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReleaseRequest {
        ReleaseRequest {
            group: "list".into(),
            recipient_info: vec![0x30, 0x03, 1, 2, 3],
            certificate: vec![0x30, 0x01, 9],
            timestamp: 1_795_000_000,
            nonce: [7; NONCE_LEN],
            signature: vec![1; 256],
        }
    }

    #[test]
    fn json_round_trips() {
        let req = sample();
        assert_eq!(ReleaseRequest::from_json(&req.to_json()).unwrap(), req);
        let grant = ReleaseGrant {
            recipient_info: vec![1, 2, 3],
            key_hash: "ab".into(),
        };
        assert_eq!(ReleaseGrant::from_json(&grant.to_json()).unwrap(), grant);
    }

    #[test]
    fn signed_bytes_are_domain_separated_and_injective() {
        let req = sample();
        let bytes = req.signed_bytes();
        assert!(bytes.starts_with(SIGNING_DOMAIN));
        // Moving a byte from one field to the next changes the encoding.
        let mut shifted = req.clone();
        shifted.group = "lis".into();
        shifted.recipient_info.insert(0, b't');
        assert_ne!(shifted.signed_bytes(), bytes);
        // Every field is covered.
        let mut other = req.clone();
        other.timestamp += 1;
        assert_ne!(other.signed_bytes(), bytes);
        let mut other = req.clone();
        other.nonce[0] ^= 1;
        assert_ne!(other.signed_bytes(), bytes);
        let mut other = req;
        other.certificate.push(0);
        assert_ne!(other.signed_bytes(), bytes);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let good = String::from_utf8(sample().to_json()).unwrap();
        for bad in [
            String::new(),
            "{}".into(),
            good.replace("\"version\":1", "\"version\":2"),
            good.replace(SIGNATURE_ALGORITHM, "rsa-pkcs1-sha1"),
            good.replace("\"group\":\"list\"", "\"group\":\"\""),
            good.replace("\"group\":\"list\"", "\"group\":\"List\""),
            good.replace(
                "\"group\":\"list\"",
                &format!("\"group\":\"{}\"", "a".repeat(MAX_GROUP_NAME + 1)),
            ),
            good.replace(
                "\"certificate\":\"",
                &format!(
                    "\"certificate\":\"{}",
                    "A".repeat(MAX_CERTIFICATE * 4 / 3 + 4)
                ),
            ),
            good.replace(
                "\"signature\":\"",
                &format!("\"signature\":\"{}", "AAAA".repeat(400)),
            ),
            // Integers out of the wire types' range are refused by the parser.
            good.replace("\"timestamp\":1795000000", "\"timestamp\":-1"),
            good.replace(
                "\"timestamp\":1795000000",
                "\"timestamp\":18446744073709551616",
            ),
            good.replace("\"timestamp\":1795000000", "\"timestamp\":1e3"),
            good.replace("\"version\":1", "\"version\":4294967297"),
            good.replace("\"nonce\":\"", "\"nonce\":\"AAAA"),
            good.replace('}', ",\"extra\":1}"),
            good[..good.len() / 2].to_string(),
        ] {
            assert!(ReleaseRequest::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
