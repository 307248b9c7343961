//! The mail wing: moving messages between sealpost and mail servers.
//!
//! Owns: the one connect-with-TLS-and-failover ([`tls`]), SMTP submission
//! ([`smtp`]), the durable outbox spool ([`outbox`]) and
//! one delivery run through an account ([`delivery`]), IMAP/POP3 fetch with
//! its journal ([`fetch`]), Maildir delivery ([`maildir`]) and server
//! discovery from DNS SRV records ([`srv`]), and fetching CRLs for
//! `--online` revocation checks ([`crl_fetch`]).
//!
//! May use: [`crate::error`], [`crate::smime`] and [`crate::store`]. Not
//! `group` (`tests/offline/architecture.rs` checks).

pub mod crl_fetch;
pub mod delivery;
pub mod fetch;
pub mod maildir;
pub mod outbox;
pub mod smtp;
pub mod srv;
pub mod tls;
