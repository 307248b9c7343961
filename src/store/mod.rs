//! The store wing: what sealpost keeps on the local disk, and how it writes
//! it.
//!
//! Owns: durable atomic files and private-file checks ([`fsutil`], the one
//! place files are opened for writing), the keystore directory of
//! identities and certificates ([`keystore`]), the mail accounts of
//! `config.toml` with their durations and limits ([`account`]), and an
//! identity of the keystore as the sender's signer ([`signer`]).
//!
//! May use: [`crate::error`] and [`crate::smime`]. Not `mail` or `group`
//! (`tests/offline/architecture.rs` checks).

pub mod account;
pub mod fsutil;
pub mod keystore;
pub mod signer;
