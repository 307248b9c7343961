//! Signing for `encrypt --sign` (not a subcommand): unlocks the sender's
//! identity and returns the signer the encryption pipeline calls once.

use sealpost::error::Exit;
use sealpost::smime::certs::UnixTime;
use sealpost::smime::encrypt::InnerSigner;
use sealpost::smime::signed::{self, SignatureScheme};
use sealpost::store::keystore::Keystore;

use super::{Ask, Context};

/// A signer for the inner MIME entity, as the sender of the message whose
/// header section is `head` (its From).
pub fn inner_signer<'a>(
    ctx: &'a Context,
    ks: &'a Keystore,
    head: &[u8],
    pss: bool,
    now: UnixTime,
) -> anyhow::Result<Box<InnerSigner<'a>>> {
    let info = sealpost::smime::message::parse_message(head)?;
    let identity = ks.signing_identity(&info.from.address, now)?;
    let pass = if identity.encrypted {
        Some(ctx.passphrase(Ask::Existing)?)
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
        return Err(sealpost::fail(
            Exit::NoUser,
            format!(
                "the certificate of {} does not allow signing (keyUsage)",
                info.from.address
            ),
        ));
    }
    let scheme = if pss {
        SignatureScheme::PssSha256
    } else {
        SignatureScheme::Pkcs1v15Sha256
    };
    Ok(Box::new(move |digest: &[u8; 32]| {
        let signer = signed::Signer {
            key: &key,
            cert: &identity.cert,
            chain: &[],
            scheme,
            signing_time: now,
        };
        signed::sign_digest(digest, None, &signer, &mut rand_core::OsRng)
    }))
}
