//! The S/MIME wing: certificates, keys, messages and CMS, as pure functions
//! of bytes. Nothing here opens a file, a socket or the terminal; callers
//! hand in the bytes, the clock and the randomness.
//!
//! Owns: X.509 certificates ([`certs`]), self-signed identities
//! ([`identity`]), private keys at rest ([`privkey`]), RFC 5322 messages
//! ([`message`]), byte-exact MIME ([`mime`]), the Bcc envelope plan
//! ([`bcc`]), Batch SMTP streams ([`bsmtp`]: a message format, written by
//! `encrypt` and read by `decrypt`, the outbox and the exploder), CMS
//! EnvelopedData ([`envelope`]) and SignedData ([`signed`]), trust in a
//! signer (certification paths, revocation, the sender: [`trust`]), the key
//! references a group entry carries ([`keyref`]), and the pipelines built on
//! them: [`encrypt`], [`decrypt`], [`inspect`], [`fanout`].
//!
//! May use: [`crate::error`] only. It is the lowest wing: `store`, `mail`
//! and `group` build on it, never the other way round
//! (`tests/offline/architecture.rs` checks).

pub mod bcc;
pub mod bsmtp;
pub mod certs;
pub mod decrypt;
pub mod encrypt;
pub mod envelope;
pub mod fanout;
pub mod identity;
pub mod inspect;
pub mod keyref;
pub mod message;
pub mod mime;
pub mod privkey;
pub mod signed;
pub mod trust;
