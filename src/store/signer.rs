//! Signing as the sender (`encrypt --sign`): the sender's identity from the
//! keystore, checked for signing, as the signer the encryption pipeline
//! calls once.

use crate::error::{fail, Exit};
use crate::smime::certs::UnixTime;
use crate::smime::encrypt::InnerSigner;
use crate::smime::signed::{self, SignatureScheme};
use crate::store::keystore::Keystore;

/// A signer for the inner MIME entity, as the sender of the message whose
/// header section is `head` (its From). `passphrase` is asked only when the
/// sender's key is locked.
pub fn inner_signer<'a, 'p>(
    ks: &'a Keystore,
    passphrase: impl FnOnce() -> anyhow::Result<&'p str>,
    head: &[u8],
    pss: bool,
    now: UnixTime,
) -> anyhow::Result<InnerSigner<'a>> {
    let info = crate::smime::message::parse_message(head)?;
    let identity = ks.signing_identity(&info.from.address, now)?;
    // Refuse a wrong --pss before asking for the passphrase.
    let kind = identity.cert.key_kind.clone().map_err(|why| {
        fail(
            Exit::NoUser,
            format!("cannot sign as {}: {why}", info.from.address),
        )
    })?;
    let scheme = SignatureScheme::for_key(kind, pss)?;
    let pass = if identity.encrypted {
        Some(passphrase()?)
    } else {
        None
    };
    let key = ks.unlock(&identity, pass)?;
    if identity
        .cert
        .key_usage
        .as_ref()
        .is_some_and(|ku| !ku.digital_signature())
    {
        return Err(fail(
            Exit::NoUser,
            format!(
                "the certificate of {} does not allow signing (keyUsage)",
                info.from.address
            ),
        ));
    }
    Ok(InnerSigner {
        digest: scheme.digest(),
        sign: Box::new(move |digest: &[u8]| {
            let signer = signed::Signer {
                key: &key,
                cert: &identity.cert,
                chain: &[],
                scheme,
                signing_time: now,
            };
            signed::sign_digest(digest, None, &signer, &mut rand_core::OsRng)
        }),
    })
}
