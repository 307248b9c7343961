//! Signing for `encrypt --sign` (not a subcommand): unlocks the sender's
//! identity and returns the signer the encryption pipeline calls once.

use sealpost::error::Exit;
use sealpost::smime::certs::UnixTime;
use sealpost::smime::encrypt::InnerSigner;
use sealpost::smime::signed::{self, SignatureScheme};
use sealpost::store::keystore::Keystore;

use super::{Ask, Context};

/// A signer for the inner MIME entity, as the sender of `raw` (its From).
pub fn inner_signer<'a>(
    ctx: &'a Context,
    ks: &'a Keystore,
    raw: &[u8],
    pss: bool,
    now: UnixTime,
) -> anyhow::Result<Box<InnerSigner<'a>>> {
    let info = sealpost::smime::message::parse_message(raw)?;
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
    Ok(Box::new(move |content: &[u8]| {
        signed::sign(
            content,
            &key,
            &identity.cert,
            &[],
            scheme,
            now,
            &mut rand_core::OsRng,
        )
    }))
}
