//! Opening S/MIME messages: the payload is found (MIME, PEM, or bare
//! DER/BER), every encryption and opaque-signature layer is peeled off, and
//! a multipart/signed result is verified in place. Nothing is returned
//! unless every layer succeeded, so a caller that prints only on `Ok` never
//! releases partial plaintext.
//!
//! Which private key opens an envelope is decided by [`KeySource`]; the
//! keystore implements it, and it is the seam where a group key release
//! (asking a server for the content key) plugs in when no own key matches.

use rand_core::CryptoRngCore;
use rsa::RsaPrivateKey;
use x509_cert::Certificate;

use crate::certs::CertInfo;
use crate::envelope::{ContentCipher, ContentKey, Envelope, KeyMatch, OwnKey};
use crate::error::{fail, Exit};
use crate::mime::{self, Entity};
use crate::signed;

/// Layers deeper than this are refused (a message nesting itself forever).
const MAX_LAYERS: usize = 8;

/// Where private keys come from.
pub trait KeySource {
    /// Own certificates, every one ever held (old mail stays readable).
    fn certificates(&self) -> Vec<CertInfo>;
    /// The private key for one of [`Self::certificates`], by fingerprint.
    fn unlock(&mut self, fingerprint: &str) -> anyhow::Result<RsaPrivateKey>;
    /// Called when no own certificate matches: another way to get the
    /// content key (group key release). `Ok(None)` means "no other way".
    fn content_key_elsewhere(
        &mut self,
        _envelope: &Envelope,
    ) -> anyhow::Result<Option<ContentKey>> {
        Ok(None)
    }
}

/// One signature met on the way, verified or not.
#[derive(Debug, Clone)]
pub struct SignatureOutcome {
    /// The signer, when the signature names a certificate it carries.
    pub signer: Option<CertInfo>,
    /// `Ok` when it verified; the reason otherwise.
    pub result: Result<(), String>,
    pub signing_time: Option<i64>,
    /// Algorithms the signer advertised (SMIMECapabilities signed attribute).
    pub capabilities: Vec<const_oid::ObjectIdentifier>,
    /// opaque (signed-data) or detached (multipart/signed).
    pub detached: bool,
}

/// The result of [`open`].
#[derive(Debug)]
pub struct Opened {
    /// The innermost MIME entity, byte for byte.
    pub plaintext: Vec<u8>,
    /// For each encryption layer: the cipher and the own certificate that opened it.
    pub decryptions: Vec<(ContentCipher, Option<CertInfo>)>,
    pub signatures: Vec<SignatureOutcome>,
}

/// Extracts CMS bytes from an S/MIME message (application/pkcs7-mime or
/// x-pkcs7-mime; base64 or binary), PEM (`PKCS7`/`CMS`), or bare DER/BER.
/// `Ok(None)` when the input is a MIME entity that is not a CMS payload.
pub fn cms_payload(input: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    let trimmed = trim_ascii_start(input);
    if trimmed.first() == Some(&0x30) {
        return Ok(Some(trimmed.to_vec()));
    }
    if trimmed.starts_with(b"-----BEGIN ") {
        let text =
            std::str::from_utf8(trimmed).map_err(|_| fail(Exit::DataErr, "malformed PEM input"))?;
        let blocks = crate::certs::pem_blocks(text)?;
        return blocks
            .into_iter()
            // OpenSSL writes PKCS7 or CMS; gpgsm --armor writes SIGNED/ENCRYPTED MESSAGE.
            .find(|(label, _)| {
                ["PKCS7", "CMS", "SIGNED MESSAGE", "ENCRYPTED MESSAGE"].contains(&label.as_str())
            })
            .map(|(_, der)| Some(der))
            .ok_or_else(|| {
                fail(
                    Exit::DataErr,
                    "PEM input holds no PKCS7, CMS or MESSAGE block",
                )
            });
    }
    let entity = Entity::parse(input).ok_or_else(|| {
        fail(
            Exit::DataErr,
            "input is neither an S/MIME message nor DER/BER/PEM CMS data",
        )
    })?;
    match entity.media_type().as_str() {
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => Ok(Some(entity.decoded_body()?)),
        _ => Ok(None),
    }
}

fn trim_ascii_start(data: &[u8]) -> &[u8] {
    let n = data.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &data[n..]
}

/// Opens `input` through every layer. `require_encryption`: fail if the
/// input is not encrypted at all (what `decrypt` wants).
pub fn open(
    input: &[u8],
    keys: &mut dyn KeySource,
    require_encryption: bool,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Opened> {
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
                    // A plain MIME entity: done, after checking a multipart/signed one.
                    if let Some(entity) = Entity::parse(&current) {
                        if entity.media_type() == "multipart/signed" {
                            signatures.push(verify_multipart_signed(&entity));
                        }
                    }
                    break;
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
                Ok(verified) => {
                    signatures.push(SignatureOutcome {
                        signer: Some(verified.signer.clone()),
                        result: Ok(()),
                        signing_time: verified.signing_time,
                        capabilities: capability_list(&verified),
                        detached: false,
                    });
                    current = verified.content;
                }
                Err(e) if crate::error::classify(&e).0 == Exit::DataErr => {
                    // A bad signature is reported, not fatal (unless the caller
                    // requires one): the content is still what was sent.
                    current = signed::unverified_content(&payload)?;
                    signatures.push(SignatureOutcome {
                        signer: None,
                        result: Err(crate::error::single_line(&e)),
                        signing_time: None,
                        capabilities: Vec::new(),
                        detached: false,
                    });
                }
                Err(e) => return Err(e),
            },
        }
    }
    if require_encryption && decryptions.is_empty() {
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
    let normalized = crate::envelope::ber::to_der(der)?;
    let info = <cms::content_info::ContentInfo as der::Decode>::from_der(&normalized)
        .map_err(|e| fail(Exit::DataErr, format!("malformed CMS message: {e}")))?;
    let oid = info.content_type;
    if oid == const_oid::db::rfc5911::ID_ENVELOPED_DATA
        || oid == crate::envelope::ID_AUTH_ENVELOPED_DATA
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
    let own = keys.certificates();
    // The first own certificate named by the message; only its key is unlocked.
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
        return Ok((envelope.decrypt(&cek)?, Some(info.clone())));
    }
    match keys.content_key_elsewhere(envelope)? {
        Some(cek) => Ok((envelope.decrypt(&cek)?, None)),
        None => Err(envelope.no_key_error()),
    }
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
        Ok(v) => SignatureOutcome {
            capabilities: capability_list(&v),
            signer: Some(v.signer),
            result: Ok(()),
            signing_time: v.signing_time,
            detached: true,
        },
        Err(e) => SignatureOutcome {
            signer: None,
            result: Err(crate::error::single_line(&e)),
            signing_time: None,
            capabilities: Vec::new(),
            detached: true,
        },
    }
}

fn capability_list(v: &signed::Verified) -> Vec<const_oid::ObjectIdentifier> {
    v.capabilities
        .as_ref()
        .map(|c| c.algorithms.clone())
        .unwrap_or_default()
}
