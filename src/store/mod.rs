//! The store wing: what sealpost keeps on the local disk, and how it writes
//! it.
//!
//! Owns: durable atomic files and private-file checks ([`fsutil`], the one
//! place files are opened for writing), the keystore directory of
//! identities and certificates ([`keystore`]), and the mail accounts of
//! `config.toml` with their durations and limits ([`account`]).
//!
//! May use: [`crate::error`] and [`crate::smime`]. Not `mail` or `group`
//! (`tests/architecture.rs` checks).

pub mod account;
pub mod fsutil;
pub mod keystore;
