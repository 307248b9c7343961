//! A group's key generations as the server holds them: the current key,
//! and the keys that rotations retired (`sealpost group rotate-key`), each
//! usable until the end of its keep-old window.
//!
//! An entry is matched to a generation by its recipient identifier
//! (issuer and serial number, or subject key identifier) against each
//! generation's certificate: public data compared with public data, so the
//! number of keys changes nothing a requester can learn, and at most one
//! private-key operation is made per request, with the one key the entry
//! names. A retired key whose window has passed is not even opened: an
//! entry for it is refused `key_retired` by its certificate alone.
//!
//! May use: the RSA operations of [`crate::group::keys`] and the CMS entry
//! checks of [`crate::smime`].

use cms::enveloped_data::KeyTransRecipientInfo;
use x509_cert::Certificate;

use crate::group::keys::GroupKey;
use crate::group::release::protocol::RefusalCode;
use crate::smime::envelope::{check_ktri_version, rid_matches};

/// A retired key: its certificate always, its private key only while the
/// keep-old window was open when the generations were loaded.
pub struct Retired {
    pub certificate: Certificate,
    pub key: Option<GroupKey>,
    /// Unix time from which it is refused.
    pub expires: i64,
}

/// Every key generation of one group, as loaded at `generation`.
pub struct GroupKeys {
    /// The store's [`crate::group::store::Store::key_generation`] when
    /// loaded: a different one means a rotation since, and a reload.
    pub generation: i64,
    pub current: GroupKey,
    /// Oldest first.
    pub retired: Vec<Retired>,
}

impl GroupKeys {
    /// [`GroupKey::probe`] for the current key and every retired key still
    /// held open.
    pub fn probe(&self) -> Result<(), String> {
        self.current.probe()?;
        self.retired
            .iter()
            .filter_map(|r| r.key.as_ref())
            .try_for_each(GroupKey::probe)
    }

    /// The key that opens `ktri` at `now`: `wrong_group` when the entry names
    /// none of the group's certificates, `key_retired` when it names a
    /// retired one whose window has passed.
    pub fn for_entry(
        &self,
        ktri: &KeyTransRecipientInfo,
        now: u64,
    ) -> Result<&GroupKey, RefusalCode> {
        if check_ktri_version(ktri).is_err() {
            return Err(RefusalCode::WrongGroup);
        }
        if rid_matches(&ktri.rid, &self.current.certificate) {
            return Ok(&self.current);
        }
        let retired = self
            .retired
            .iter()
            .find(|r| rid_matches(&ktri.rid, &r.certificate))
            .ok_or(RefusalCode::WrongGroup)?;
        match &retired.key {
            Some(key) if i64::try_from(now).is_ok_and(|now| now < retired.expires) => Ok(key),
            _ => Err(RefusalCode::KeyRetired),
        }
    }
}
