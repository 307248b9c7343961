//! The group server's calls besides the key release: signed requests for
//! the list exploder (membership, re-wrapping under the group secret), for
//! members (fetching group secrets), and for senders (depositing and
//! revoking keys). Pure data and encoding, shared by client and server.
//!
//! # Wire format
//!
//! `POST /v1/<op>` with a JSON body ([`SignedCall::to_json`]):
//!
//! ```json
//! {"version":1,"op":"rewrap","group":"list","payload":"<base64 of the op's JSON>",
//!  "certificate":"<base64 DER>","timestamp":1795000000,"nonce":"<base64, 16 bytes>",
//!  "signature_algorithm":"rsassa-pss-sha256","signature":"<base64>"}
//! ```
//!
//! The signature is RSASSA-PSS as for a release ([`super::protocol`]), over
//! [`CALL_DOMAIN`] and then `op`, `group`, the payload bytes exactly as sent,
//! the certificate, the timestamp and the nonce, each with a 4-byte length.
//! The payload travels as base64 so that what was signed is what arrives,
//! with no canonical JSON to agree on. The domain differs from the release
//! domain, so a signature on one kind of request is never valid for another.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::protocol::{
    check_common, decode_capped, push_field, Malformed, MAX_CERTIFICATE, MAX_SIGNATURE, NONCE_LEN,
    SIGNATURE_ALGORITHM, VERSION,
};

/// Domain separation for the signed encoding of calls.
pub const CALL_DOMAIN: &[u8] = b"sealpost group call v1\0";

/// The operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// The exploder asks for the current members (addresses and certificates).
    Members,
    /// The exploder asks for the message's key wrapped under the group secret.
    Rewrap,
    /// A member fetches the group secrets, wrapped to their certificate.
    Secrets,
    /// A sender deposits a message key: the server makes a key-encryption key.
    Deposit,
    /// The depositor deletes a deposit's key.
    Revoke,
    /// A member has a membership pass blind-signed (issue #17).
    Pass,
}

impl Op {
    pub const ALL: [Op; 6] = [
        Op::Members,
        Op::Rewrap,
        Op::Secrets,
        Op::Deposit,
        Op::Revoke,
        Op::Pass,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Members => "members",
            Op::Rewrap => "rewrap",
            Op::Secrets => "secrets",
            Op::Deposit => "deposit",
            Op::Revoke => "revoke",
            Op::Pass => "pass",
        }
    }

    /// `/v1/members` and so on.
    pub fn path(self) -> String {
        format!("/v1/{}", self.as_str())
    }

    pub fn from_path(path: &str) -> Option<Op> {
        let name = path.strip_prefix("/v1/")?;
        Op::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

/// A signed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCall {
    pub op: Op,
    pub group: String,
    /// The operation's JSON ([`RewrapPayload`], …), exactly as signed.
    pub payload: Vec<u8>,
    /// DER of the caller's certificate.
    pub certificate: Vec<u8>,
    pub timestamp: u64,
    pub nonce: [u8; NONCE_LEN],
    pub signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallJson {
    version: u32,
    op: String,
    group: String,
    payload: String,
    certificate: String,
    timestamp: u64,
    nonce: String,
    signature_algorithm: String,
    signature: String,
}

impl SignedCall {
    /// The exact bytes the caller signs and the server verifies.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            CALL_DOMAIN.len() + 64 + self.payload.len() + self.certificate.len(),
        );
        out.extend_from_slice(CALL_DOMAIN);
        push_field(&mut out, self.op.as_str().as_bytes());
        push_field(&mut out, self.group.as_bytes());
        push_field(&mut out, &self.payload);
        push_field(&mut out, &self.certificate);
        push_field(&mut out, &self.timestamp.to_be_bytes());
        push_field(&mut out, &self.nonce);
        out
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&CallJson {
            version: VERSION,
            op: self.op.as_str().to_string(),
            group: self.group.clone(),
            payload: B64.encode(&self.payload),
            certificate: B64.encode(&self.certificate),
            timestamp: self.timestamp,
            nonce: B64.encode(self.nonce),
            signature_algorithm: SIGNATURE_ALGORITHM.to_string(),
            signature: B64.encode(&self.signature),
        })
        .expect("plain strings and numbers always serialise")
    }

    /// Parses a call that arrived on the path of `op`; a body naming
    /// another operation is malformed.
    pub fn from_json(op: Op, body: &[u8]) -> Result<SignedCall, Malformed> {
        let json: CallJson = serde_json::from_slice(body)
            .map_err(|e| Malformed(format!("not a {} call: {e}", op.as_str())))?;
        if json.op != op.as_str() {
            return Err(Malformed(format!(
                "the body is a {:?} call, sent to {}",
                json.op,
                op.path()
            )));
        }
        let nonce = check_common(
            json.version,
            &json.signature_algorithm,
            &json.group,
            &json.nonce,
        )?;
        Ok(SignedCall {
            op,
            group: json.group,
            payload: decode("payload", &json.payload)?,
            certificate: decode_capped("certificate", &json.certificate, MAX_CERTIFICATE)?,
            timestamp: json.timestamp,
            nonce,
            signature: decode_capped("signature", &json.signature, MAX_SIGNATURE)?,
        })
    }

    /// The payload as the operation's type.
    pub fn payload_as<T: for<'de> Deserialize<'de>>(&self) -> Result<T, Malformed> {
        serde_json::from_slice(&self.payload)
            .map_err(|e| Malformed(format!("bad {} payload: {e}", self.op.as_str())))
    }
}

use super::protocol::decode_base64 as decode;

/// Serde for byte fields as standard base64 strings.
pub mod base64_bytes {
    use super::B64;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("not valid base64"))
    }
}

/// `members`: no arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersPayload {}

/// One current member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEntry {
    pub address: String,
    #[serde(with = "base64_bytes")]
    pub certificate: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersAnswer {
    pub members: Vec<MemberEntry>,
}

/// `rewrap`: the message's entry for the group certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewrapPayload {
    #[serde(with = "base64_bytes")]
    pub recipient_info: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewrapAnswer {
    /// DER of a `KEKRecipientInfo` under the current group secret.
    #[serde(with = "base64_bytes")]
    pub recipient_info: Vec<u8>,
    /// The secret's id, hex.
    pub key_id: String,
}

/// `secrets`: no arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsPayload {}

/// One group secret, wrapped to the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretEntry {
    /// The secret's id, hex (the random part of its key reference).
    pub key_id: String,
    /// Unix time it was issued.
    pub created: i64,
    /// Whether it is the one new mail is wrapped under.
    pub current: bool,
    /// DER of a `KeyTransRecipientInfo` for the caller's certificate
    /// (RSAES-OAEP SHA-256) holding the secret.
    #[serde(with = "base64_bytes")]
    pub recipient_info: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsAnswer {
    pub secrets: Vec<SecretEntry>,
}

/// Who may read a deposited key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Readers {
    /// Whoever is a member of the group when they ask.
    Members,
    /// These certificates (SHA-256 fingerprints, lower-case hex).
    Certificates(Vec<String>),
}

/// `deposit`: readers and an optional expiry (Unix time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositPayload {
    pub readers: Readers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositAnswer {
    /// The deposit's id, hex.
    pub deposit_id: String,
    /// DER of a `KeyTransRecipientInfo` for the depositor (RSAES-OAEP
    /// SHA-256) holding the deposit's key-encryption key.
    #[serde(with = "base64_bytes")]
    pub key: Vec<u8>,
    pub expires: Option<u64>,
}

/// `revoke`: which deposit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokePayload {
    pub deposit_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeAnswer {
    /// False when it was already revoked or had expired.
    pub revoked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SignedCall {
        SignedCall {
            op: Op::Rewrap,
            group: "list".into(),
            payload: br#"{"recipient_info":"AQID"}"#.to_vec(),
            certificate: vec![0x30, 1, 2],
            timestamp: 1_795_000_000,
            nonce: [3; NONCE_LEN],
            signature: vec![9; 256],
        }
    }

    #[test]
    fn calls_round_trip_and_are_bound_to_their_path() {
        let call = sample();
        assert_eq!(
            SignedCall::from_json(Op::Rewrap, &call.to_json()).unwrap(),
            call
        );
        assert!(SignedCall::from_json(Op::Deposit, &call.to_json()).is_err());
        for op in Op::ALL {
            assert_eq!(Op::from_path(&op.path()), Some(op));
        }
        assert_eq!(Op::from_path("/v1/release"), None);
        let payload: RewrapPayload = call.payload_as().unwrap();
        assert_eq!(payload.recipient_info, vec![1, 2, 3]);
    }

    #[test]
    fn signed_bytes_cover_every_field_and_differ_from_release_requests() {
        let call = sample();
        let bytes = call.signed_bytes();
        assert!(bytes.starts_with(CALL_DOMAIN));
        assert!(!bytes.starts_with(super::super::protocol::SIGNING_DOMAIN));
        let variants: Vec<SignedCall> = vec![
            SignedCall {
                op: Op::Members,
                ..call.clone()
            },
            SignedCall {
                group: "lisu".into(),
                ..call.clone()
            },
            SignedCall {
                payload: b"{}".to_vec(),
                ..call.clone()
            },
            SignedCall {
                certificate: vec![0x30],
                ..call.clone()
            },
            SignedCall {
                timestamp: 1,
                ..call.clone()
            },
            SignedCall {
                nonce: [4; NONCE_LEN],
                ..call.clone()
            },
        ];
        for v in variants {
            assert_ne!(v.signed_bytes(), bytes, "{v:?}");
        }
    }

    #[test]
    fn readers_encode_plainly() {
        let p = DepositPayload {
            readers: Readers::Certificates(vec!["ab".into()]),
            expires: Some(5),
        };
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"readers":{"certificates":["ab"]},"expires":5}"#);
        let m = serde_json::to_string(&DepositPayload {
            readers: Readers::Members,
            expires: None,
        })
        .unwrap();
        assert_eq!(m, r#"{"readers":"members"}"#);
    }
}
