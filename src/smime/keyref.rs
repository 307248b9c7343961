//! What the key identifier of a sealpost `KEKRecipientInfo` says: which
//! group's secret, or which deposit at which group's server, wraps the
//! content key.
//!
//! ```text
//! SealpostKeyRef ::= SEQUENCE {
//!     kind   UTF8String,     -- "sealpost-group-secret-v1" or "sealpost-deposit-v1"
//!     group  UTF8String,     -- the group's name on its server
//!     id     OCTET STRING }  -- 16 random bytes
//! ```
//!
//! The DER of this structure is the entry's `keyIdentifier` OCTET STRING.
//! It names no reader: a copy carrying it reveals the list, which its
//! headers name anyway, and nothing about who else received it. Another
//! S/MIME client sees an ordinary KEK entry it has no key for (`openssl cms
//! -decrypt -secretkeyid` takes the whole identifier in hex).

use der::asn1::OctetString;
use der::{Decode, Encode, Sequence};

/// Length of the random part of a reference.
pub const KEY_ID_LEN: usize = 16;

const GROUP_SECRET: &str = "sealpost-group-secret-v1";
const DEPOSIT: &str = "sealpost-deposit-v1";

/// Which kind of key a reference names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyRefKind {
    /// A list's symmetric group secret, held by its members (`group secret fetch`).
    GroupSecret,
    /// A key deposited at the group server, released per reader (`encrypt --deposit`).
    Deposit,
}

/// A parsed reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyRef {
    pub kind: KeyRefKind,
    pub group: String,
    pub id: [u8; KEY_ID_LEN],
}

#[derive(Sequence)]
struct KeyRefAsn1 {
    kind: String,
    group: String,
    id: OctetString,
}

impl KeyRef {
    pub fn new(kind: KeyRefKind, group: &str, id: [u8; KEY_ID_LEN]) -> KeyRef {
        KeyRef {
            kind,
            group: group.to_string(),
            id,
        }
    }

    /// The DER that goes into the `keyIdentifier`.
    pub fn to_der(&self) -> Vec<u8> {
        let kind = match self.kind {
            KeyRefKind::GroupSecret => GROUP_SECRET,
            KeyRefKind::Deposit => DEPOSIT,
        };
        KeyRefAsn1 {
            kind: kind.to_string(),
            group: self.group.clone(),
            id: OctetString::new(self.id.to_vec()).expect("16 bytes fit an octet string"),
        }
        .to_der()
        .expect("strings and 16 bytes always encode")
    }

    /// Reads a `keyIdentifier`; `None` for anything that is not a sealpost reference.
    pub fn from_der(key_identifier: &[u8]) -> Option<KeyRef> {
        let asn1 = KeyRefAsn1::from_der(key_identifier).ok()?;
        let kind = match asn1.kind.as_str() {
            GROUP_SECRET => KeyRefKind::GroupSecret,
            DEPOSIT => KeyRefKind::Deposit,
            _ => return None,
        };
        Some(KeyRef {
            kind,
            group: asn1.group,
            id: asn1.id.as_bytes().try_into().ok()?,
        })
    }

    /// The random part in hex: how people and file names refer to it.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }
}

/// Parses a 32-digit hex id.
pub fn parse_id(text: &str) -> Option<[u8; KEY_ID_LEN]> {
    hex::decode(text.trim()).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_others_are_not_ours() {
        for kind in [KeyRefKind::GroupSecret, KeyRefKind::Deposit] {
            let r = KeyRef::new(kind, "crypto-list", [9; KEY_ID_LEN]);
            assert_eq!(KeyRef::from_der(&r.to_der()), Some(r.clone()));
            assert_eq!(parse_id(&r.id_hex()), Some(r.id));
        }
        // What `openssl cms -secretkeyid 0102…` writes: raw bytes.
        assert_eq!(KeyRef::from_der(&[1, 2, 3, 4]), None);
        let other = KeyRefAsn1 {
            kind: "something-else".into(),
            group: "g".into(),
            id: OctetString::new(vec![0; KEY_ID_LEN]).unwrap(),
        };
        assert_eq!(KeyRef::from_der(&other.to_der().unwrap()), None);
    }
}
