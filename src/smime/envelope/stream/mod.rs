//! Streaming content encryption and decryption, and streaming CMS framing,
//! for messages too large to hold in memory.
//!
//! # Ciphers
//!
//! [`ContentEncryptor`] encrypts content in chunks of any size and produces
//! exactly the ciphertext (and AEAD tag) that
//! [`ContentKey::encrypt`](super::ContentKey::encrypt) produces for the same
//! key and IV/nonce. AES-GCM is aws-lc's (through `aws-lc-sys`'s EVP
//! interface, in `aws_gcm`: aws-lc-rs has no streaming AEAD), checked
//! against the aes-gcm crate's one-shot output. ChaCha20-Poly1305 is built
//! from its parts (RFC 8439 §2.8): the `chacha20` keystream from block 1,
//! and `poly1305` keyed by block 0 over the ciphertext; it is checked
//! against the RFC's test vector. CBC chains its IV from chunk to chunk.
//!
//! Opening is split in two so that nothing is released before it is
//! authenticated: [`ContentVerifier`] runs over the ciphertext once and
//! checks the AEAD tag (in constant time) or the CBC padding without writing
//! any plaintext; only then does [`ContentDecryptor`] run over the same
//! ciphertext a second time and hand out plaintext.
//!
//! # Framing
//!
//! [`envelope_prefix`] and [`envelope_suffix`] write a `ContentInfo`
//! around ciphertext that is streamed between them: definite-length DER,
//! byte-identical to [`assemble`](super::assemble), when the ciphertext
//! length is known in advance, or indefinite-length BER with the ciphertext
//! in OCTET STRING chunks ([`content_chunk_header`]) when it is not (as
//! `openssl cms -stream` writes).
//!
//! [`walk`] reads a `ContentInfo` (DER or BER) from a byte stream: the small
//! parts (recipient infos, algorithm parameters, tag) are collected in memory
//! and decoded with [`Envelope::parse`](super::Envelope::parse); the
//! encrypted content is handed to a [`ContentSink`] chunk by chunk and never
//! held in full.
//!
//! # Parts
//!
//! `cipher` holds the cipher modes (GCM, ChaCha20-Poly1305 from its parts,
//! CBC), `aws_gcm` the safe wrapper of aws-lc's GCM (the only `unsafe`),
//! `encrypt` the encryptor, `decrypt` the verifier and decryptor, `frame`
//! the DER/BER writer and `walk` the DER/BER reader; this module re-exports
//! their public items and holds what they share.

use super::content::DECRYPTION_FAILED;
use crate::error::{fail, Exit};

/// GCM nonce length sealpost writes and accepts.
const GCM_NONCE_LEN: usize = 12;
/// GCM tag length sealpost writes.
pub const GCM_TAG_LEN: usize = 16;

fn failed() -> anyhow::Error {
    fail(Exit::DataErr, DECRYPTION_FAILED)
}

fn malformed(what: &str) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed {what}"))
}

mod aws_gcm;
mod cipher;
mod decrypt;
mod encrypt;
mod frame;
mod walk;

pub use decrypt::{ContentDecryptor, ContentVerifier};
pub use encrypt::{ContentEncryptor, StreamedContent};
pub use frame::{content_chunk_header, envelope_prefix, envelope_suffix};
pub use walk::{walk, ContentSink, Walked};

#[cfg(test)]
mod unit;
