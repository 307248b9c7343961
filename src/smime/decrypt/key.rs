//! The key seam: where private keys come from ([`KeySource`], which the
//! keystore implements), and which one opens an envelope. When no own key
//! matches, [`KeySource::content_key_elsewhere`] is asked for the content key
//! (a group key release plugs in there).

use rand_core::CryptoRngCore;
use x509_cert::Certificate;

use crate::error::{fail, Exit};
use crate::smime::certs::CertInfo;
use crate::smime::envelope::{ContentKey, Envelope, KeyMatch, OwnKey};
use crate::smime::privkey::PrivateKey;

/// Where private keys come from.
pub trait KeySource {
    /// Own certificates, every one ever held (old mail stays readable).
    fn certificates(&self) -> Vec<CertInfo>;
    /// The private key for one of [`Self::certificates`], by fingerprint.
    fn unlock(&mut self, fingerprint: &str) -> anyhow::Result<PrivateKey>;
    /// Others' certificates the key source knows, to name whom a message is
    /// for when no own key opens it; asked only then.
    fn correspondents(&self) -> Vec<CertInfo> {
        Vec::new()
    }
    /// Called when no own certificate matches: another way to get the
    /// content key (group key release). `Ok(None)` means "no other way".
    fn content_key_elsewhere(
        &mut self,
        _envelope: &Envelope,
    ) -> anyhow::Result<Option<ContentKey>> {
        Ok(None)
    }
}

/// The content key of `envelope`: from the first own certificate it names
/// (only that key is unlocked), else from [`KeySource::content_key_elsewhere`].
pub(super) fn content_key(
    envelope: &Envelope,
    keys: &mut dyn KeySource,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<(ContentKey, Option<CertInfo>)> {
    let own = keys.certificates();
    if let Some(info) = own
        .iter()
        .find(|c| envelope.recipient_for(&c.cert).is_some())
    {
        let key = keys.unlock(&info.fingerprint)?;
        let cert: &Certificate = &info.cert;
        let m: KeyMatch<'_> = envelope
            .find_key(&[OwnKey { cert, key: &key }])
            .ok_or_else(|| fail(Exit::Software, "recipient matched but key did not"))?;
        let cek = envelope.unwrap_key(&m, rng)?;
        return Ok((cek, Some(info.clone())));
    }
    match keys.content_key_elsewhere(envelope)? {
        Some(cek) => Ok((cek, None)),
        None => {
            let known: Vec<CertInfo> = own.into_iter().chain(keys.correspondents()).collect();
            Err(envelope.no_key_error_naming(&|i| {
                known
                    .iter()
                    .find(|c| envelope.recipient_for(&c.cert) == Some(i))
                    .map(|c| c.emails.join(", "))
                    .filter(|emails| !emails.is_empty())
            }))
        }
    }
}
