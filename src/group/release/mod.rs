//! Group key release, the member's side: the protocol shared with the group
//! server ([`protocol`]), the HTTPS client ([`client`]), the record of joined
//! groups ([`joined`]), and [`obtain`], which turns a message's group entry
//! into the content key. On top of them, the member's policy: the key source
//! that asks the group server when no own key opens a message ([`keys`]),
//! membership passes for anonymous groups ([`passes`]), and key deposits
//! made while encrypting ([`deposit`]).

pub mod calls;
pub mod client;
pub mod deposit;
pub mod joined;
pub mod keys;
pub mod passes;
pub mod protocol;
pub mod secrets;

use std::time::Duration;

use anyhow::Result;
use cms::enveloped_data::RecipientInfo;
use der::Decode;
use rand_core::CryptoRngCore;
use rsa::RsaPrivateKey;

use crate::error::{fail, Exit};
use crate::smime::envelope::{ContentKey, Envelope};
use client::{release_noting_refusal, ReleaseClient, ServerUrl};
use joined::JoinedGroup;

/// How long to wait for a release server's connection and answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// What a group server released, besides the content key itself.
#[derive(Clone, Debug)]
pub struct Released {
    /// The member's entry the server returned (for `release` to add to the message).
    pub granted: RecipientInfo,
    /// The server that answered.
    pub server: ServerUrl,
    /// The audit hash of the group entry.
    pub key_hash: String,
}

/// Asks `group`'s servers for the content key in the message's entry at
/// `index` (which names the group certificate), as the member `member_cert`
/// with `member_key`, and unwraps the answer. A refusal's code is noted in
/// `refusal` (`pass_required`: the group is anonymous).
#[allow(clippy::too_many_arguments)]
pub fn obtain(
    envelope: &Envelope,
    index: usize,
    group: &JoinedGroup,
    member_cert: &x509_cert::Certificate,
    member_key: &RsaPrivateKey,
    now: u64,
    rng: &mut impl CryptoRngCore,
    refusal: &mut Option<protocol::RefusalCode>,
) -> Result<(ContentKey, Released)> {
    let entry = envelope.recipient_info_der(index)?;
    let cert_der = der::Encode::to_der(member_cert)
        .map_err(|_| fail(Exit::Software, "cannot encode the member certificate"))?;
    let client = ReleaseClient::new(group.ca_pem.as_deref(), DEFAULT_TIMEOUT)?;
    let (grant, server) = release_noting_refusal(
        &client,
        &group.name,
        &group.servers,
        &mut || {
            client::sign_request(
                &group.name,
                entry.clone(),
                cert_der.clone(),
                member_key,
                now,
                &mut *rng,
            )
        },
        refusal,
    )?;
    let granted = granted_entry(&grant.recipient_info, &server)?;
    let content_key = envelope
        .unwrap_granted(&granted, member_cert, member_key, rng)
        .map_err(|e| does_not_open(&server, &e))?;
    Ok((
        content_key,
        Released {
            granted,
            server,
            key_hash: grant.key_hash,
        },
    ))
}

/// The entry a server granted, parsed.
fn granted_entry(der: &[u8], server: &ServerUrl) -> Result<RecipientInfo> {
    RecipientInfo::from_der(der).map_err(|_| {
        fail(
            Exit::DataErr,
            format!("{server} answered a malformed recipient entry"),
        )
    })
}

/// The error for a granted entry that does not open the message.
fn does_not_open(server: &ServerUrl, e: &anyhow::Error) -> anyhow::Error {
    fail(
        Exit::DataErr,
        format!(
            "the key released by {server} does not open the message: {}",
            crate::error::single_line(e)
        ),
    )
}

/// Makes a signed call `op` with `payload` to `group`'s servers (in
/// failover order) as `cert` with `key`; the parsed answer and who gave it.
pub fn call<T: serde::de::DeserializeOwned>(
    group: &JoinedGroup,
    op: calls::Op,
    payload: &impl serde::Serialize,
    cert: &x509_cert::Certificate,
    key: &RsaPrivateKey,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<(T, ServerUrl)> {
    let payload = serde_json::to_vec(payload)
        .map_err(|e| fail(Exit::Software, format!("cannot encode the request: {e}")))?;
    let cert_der = der::Encode::to_der(cert)
        .map_err(|_| fail(Exit::Software, "cannot encode the certificate"))?;
    let client = ReleaseClient::new(group.ca_pem.as_deref(), DEFAULT_TIMEOUT)?;
    client::call_with_failover(
        &client,
        op,
        &group.name,
        &group.servers,
        &mut || {
            client::sign_call(
                op,
                &group.name,
                payload.clone(),
                cert_der.clone(),
                key,
                now,
                &mut *rng,
            )
        },
        &mut None,
    )
}

/// Returns the message `input` (S/MIME, PEM or bare DER/BER CMS, as
/// [`crate::smime::decrypt::cms_payload`] reads it) with `extra` added to the
/// recipient entries of its outer encryption layer, in the same form: an
/// S/MIME message keeps every header field (the transfer encoding becomes
/// base64) and its line endings; PEM stays PEM; DER and BER become DER.
pub fn with_recipient_added(input: &[u8], extra: RecipientInfo) -> Result<Vec<u8>> {
    let payload = crate::smime::decrypt::cms_payload(input)?.ok_or_else(|| {
        fail(
            Exit::DataErr,
            "not an encrypted message: its outer layer is not application/pkcs7-mime",
        )
    })?;
    let der = crate::smime::envelope::add_recipient(&payload, extra)?;
    let trimmed = input.trim_ascii_start();
    if trimmed.first() == Some(&0x30) {
        return Ok(der);
    }
    if trimmed.starts_with(b"-----BEGIN ") {
        return Ok(crate::smime::certs::pem_encode("CMS", &der).into_bytes());
    }
    let (head, _) = crate::smime::mime::split_head(input)
        .ok_or_else(|| fail(Exit::DataErr, "malformed message header"))?;
    let eol: &[u8] = if head.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let mut out = Vec::with_capacity(head.len() + der.len() * 14 / 10);
    let mut skipping = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            skipping = line
                .get(..26)
                .is_some_and(|name| name.eq_ignore_ascii_case(b"content-transfer-encoding:"));
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"Content-Transfer-Encoding: base64");
    out.extend_from_slice(eol);
    out.extend_from_slice(eol);
    crate::smime::mime::encode_base64_lines(&der, eol, &mut out);
    Ok(out)
}
