//! A message in memory through every layer: each encryption layer opened
//! with a key from the [`KeySource`], each opaque signature verified (a bad
//! one reported, not fatal), a final multipart/signed verified in place, or,
//! when the part it signs is itself encrypted or signed, verified and then
//! opened like the opaque nesting.

use rand_core::CryptoRngCore;

use super::key::{content_key, KeySource};
use super::payload::{cms_payload, refuse_batch_smtp};
use super::{Opened, SignatureOutcome};
use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::CertInfo;
use crate::smime::envelope::Envelope;
use crate::smime::mime::{self, Entity};
use crate::smime::signed;

/// Layers deeper than this are refused (a message nesting itself forever).
const MAX_LAYERS: usize = 8;

/// Opens `input` through every layer. `require_encryption`: fail if the
/// input is not encrypted at all (what `decrypt` wants).
pub fn open(
    input: &[u8],
    keys: &mut dyn KeySource,
    require_encryption: bool,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Opened> {
    refuse_batch_smtp(input)?;
    let mut current = input.to_vec();
    let mut decryptions = Vec::new();
    let mut signatures = Vec::new();
    for depth in 0..=MAX_LAYERS {
        if depth == MAX_LAYERS {
            return Err(fail(
                Exit::DataErr,
                format!("more than {MAX_LAYERS} nested S/MIME layers"),
            ));
        }
        // Below the first layer, content without a header section is either
        // bare CMS (gpgsm and `openssl cms` wrap layers without MIME) or the
        // plaintext itself (openssl cms can encrypt any bytes).
        let payload = if depth > 0 && Entity::parse(&current).is_none() {
            match cms_payload(&current) {
                Ok(Some(p)) if layer_kind(&p).is_ok() => p,
                _ => break,
            }
        } else {
            match cms_payload(&current)? {
                Some(p) => p,
                None => {
                    // A plain MIME entity: done, after checking a multipart/signed
                    // one, unless what it signed is itself an S/MIME layer
                    // (encrypt-then-sign: RFC 8551 §3.7 allows either order).
                    let mut signed_layer = None;
                    if let Some(entity) = Entity::parse(&current) {
                        if entity.media_type() == "multipart/signed" {
                            signatures.push(verify_multipart_signed(&entity));
                            signed_layer = signed_smime_part(&entity);
                        }
                    }
                    match signed_layer {
                        Some(part) => {
                            current = part;
                            continue;
                        }
                        None => break,
                    }
                }
            }
        };
        match layer_kind(&payload)? {
            LayerKind::Encrypted => {
                let envelope = Envelope::parse(&payload)?;
                let (plaintext, opened_by) = decrypt_layer(&envelope, keys, rng)?;
                decryptions.push((envelope.cipher()?, opened_by));
                current = plaintext;
            }
            LayerKind::Signed => match signed::verify(&payload) {
                Ok(mut verified) => {
                    current = std::mem::take(&mut verified.content);
                    signatures.push(SignatureOutcome::good(verified));
                }
                Err(e) if crate::error::classify(&e).0 == Exit::DataErr => {
                    // A bad signature is reported, not fatal (unless the caller
                    // requires one): the content is still what was sent.
                    current = signed::unverified_content(&payload)?;
                    signatures.push(SignatureOutcome::bad(&e, false));
                }
                Err(e) => return Err(e),
            },
        }
    }
    if require_encryption && decryptions.is_empty() {
        if let Some(part) = super::parts::encrypted_part(&current) {
            return Err(fail_hint(
                Exit::DataErr,
                format!("the message is not encrypted, but its part {part} is an encrypted message (attached or forwarded)"),
                format!("open that part alone with `sealpost decrypt --part {part}`"),
            ));
        }
        return Err(fail(
            Exit::DataErr,
            "the message is not encrypted (no enveloped-data layer)",
        ));
    }
    Ok(Opened {
        plaintext: current,
        decryptions,
        signatures,
    })
}

enum LayerKind {
    Encrypted,
    Signed,
}

fn layer_kind(der: &[u8]) -> anyhow::Result<LayerKind> {
    let normalized = crate::smime::envelope::ber::to_der(der)?;
    let info = <cms::content_info::ContentInfo as der::Decode>::from_der(&normalized)
        .map_err(|e| fail(Exit::DataErr, format!("malformed CMS message: {e}")))?;
    let oid = info.content_type;
    if oid == const_oid::db::rfc5911::ID_ENVELOPED_DATA
        || oid == crate::smime::envelope::ID_AUTH_ENVELOPED_DATA
    {
        Ok(LayerKind::Encrypted)
    } else if oid == const_oid::db::rfc5911::ID_SIGNED_DATA {
        Ok(LayerKind::Signed)
    } else {
        Err(fail(
            Exit::DataErr,
            format!("unsupported CMS content type {oid}"),
        ))
    }
}

fn decrypt_layer(
    envelope: &Envelope,
    keys: &mut dyn KeySource,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<(Vec<u8>, Option<CertInfo>)> {
    let (cek, by) = content_key(envelope, keys, rng)?;
    Ok((envelope.decrypt(&cek)?, by))
}

/// The signed part of a multipart/signed entity when it is an S/MIME
/// layer (enveloped or signed CMS) to open next; `None` for a plain entity.
fn signed_smime_part(entity: &Entity<'_>) -> Option<Vec<u8>> {
    let (content, _) = mime::multipart_signed_parts(entity).ok()?;
    let payload = cms_payload(&content).ok()??;
    layer_kind(&payload).ok()?;
    Some(content)
}

fn verify_multipart_signed(entity: &Entity<'_>) -> SignatureOutcome {
    let outcome = (|| -> anyhow::Result<signed::Verified> {
        let (content, signature_part) = mime::multipart_signed_parts(entity)?;
        let sig_entity = Entity::parse(signature_part).ok_or_else(|| {
            fail(
                Exit::DataErr,
                "malformed signature part in multipart/signed",
            )
        })?;
        let sig_der = sig_entity.decoded_body()?;
        signed::verify_detached(&sig_der, &content)
    })();
    match outcome {
        Ok(v) => SignatureOutcome::good(v),
        Err(e) => SignatureOutcome::bad(&e, true),
    }
}
