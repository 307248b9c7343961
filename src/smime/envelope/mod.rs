//! CMS enveloping: build and open S/MIME `EnvelopedData` (RFC 5652 §6) and
//! `AuthEnvelopedData` (RFC 5083; AES-GCM, RFC 5084, and ChaCha20-Poly1305,
//! RFC 8103) messages.
//!
//! The `cms` crate supplies the ASN.1 types; the cryptography (RSA key
//! transport, AES-CBC/GCM content encryption) is done here because the crate's
//! builder supports neither RSAES-OAEP, AES-GCM nor a caller-supplied content
//! key. Unwrapping a content key (the RSA private operation on a ciphertext a
//! sender chose) runs on aws-lc-rs, in `rsa_unwrap`.
//!
//! # Building
//!
//! Content is encrypted **once** and the result assembled into as many
//! envelopes as needed, each with its own recipients. That is how Bcc
//! recipients stay private: one envelope for the visible recipients and one per
//! Bcc recipient, all sharing the same ciphertext and content key.
//!
//! ```no_run
//! # fn demo(certs: &[x509_cert::Certificate], bcc: &x509_cert::Certificate) -> anyhow::Result<()> {
//! use sealpost::smime::envelope::{ContentCipher, ContentKey, RecipientOptions, seal_for};
//! let mut rng = rand_core::OsRng;
//! let cek = ContentKey::generate(ContentCipher::Aes256Gcm, &mut rng)?;
//! let content = cek.encrypt(b"Content-Type: text/plain\r\n\r\nhello\r\n", &mut rng)?;
//! let visible: Vec<&x509_cert::Certificate> = certs.iter().collect();
//! let to_and_cc = seal_for(&content, &cek, &visible, RecipientOptions::default(), &mut rng)?;
//! let for_bcc = seal_for(&content, &cek, &[bcc], RecipientOptions::default(), &mut rng)?;
//! # Ok(()) }
//! ```
//!
//! # Opening
//!
//! [`Envelope::parse`] accepts DER or BER (such as `openssl cms -encrypt
//! -stream` output). [`Envelope::recipients`] describes whom the message is
//! for; [`Envelope::find_key`] picks the recipient entry matching one of our
//! own certificate/key pairs; [`Envelope::unwrap_key`] recovers the content
//! key; [`Envelope::decrypt`] returns the plaintext MIME entity. Keeping those
//! steps apart leaves a seam for other ways of obtaining the content key (a
//! group key release when none of our own keys matches). [`Envelope::open`]
//! runs all of them.
//!
//! # Failure classes
//!
//! Malformed input, unsupported algorithms and failed decryption are
//! [`Exit::DataErr`](crate::error::Exit::DataErr); a message none of the
//! offered keys can open is [`Exit::NoUser`](crate::error::Exit::NoUser),
//! with the recipients it *is* for in the message. Decryption failures are
//! deliberately uniform ("decryption failed: ...") whether the RSA padding,
//! the CBC padding or the AEAD tag was wrong.

pub mod ber;
mod build;
mod content;
mod kari;
mod kek;
mod oids;
mod open;
mod received;
mod recipient;
mod rewrite;
mod rsa_unpad;
mod rsa_unwrap;
mod stream;
mod types;

pub use build::{assemble, recipient_info, seal_for};
pub use content::{ContentCipher, ContentKey, EncryptedContent};
pub use kari::key_agree_recipient;
pub use kek::{
    aes_unwrap, aes_wrap, kek_recipient, kek_recipient_for_bytes, unwrap_kekri, unwrap_kekri_bytes,
    KeyWrapFailed, AES128_WRAP, AES192_WRAP, AES256_WRAP, KEK_LEN,
};
pub use oids::ID_AUTH_ENVELOPED_DATA;
pub use open::{open, Envelope, EnvelopeKind, KeyMatch, OwnKey};
#[cfg(test)]
pub(crate) use recipient::unwrap_ktri_bytes;
pub(crate) use recipient::{
    check_ktri_version, oaep_sha256_identifier, rid_matches, KeyTransportAlg, OaepHash,
};
pub use recipient::{
    key_trans_recipient, unwrap_key_bytes, KeyTransport, RecipientId, RecipientIdKind,
    RecipientKind, RecipientOptions, RecipientSummary,
};
pub use rewrite::add_recipient;
pub(crate) use rsa_unpad::{unpad, RawPadding};
pub(crate) use rsa_unwrap::RsaUnwrapKey;
pub use stream::{
    content_chunk_header, envelope_prefix, envelope_suffix, walk, ContentDecryptor,
    ContentEncryptor, ContentSink, ContentVerifier, StreamedContent, Walked, GCM_TAG_LEN,
};
pub use types::AuthEnvelopedData;

#[cfg(test)]
mod tests;
