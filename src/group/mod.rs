//! The group wing: a mailing list's world. The member's side of key release
//! ([`release`]: the protocol, its HTTPS client, joined groups and held
//! secrets), the group server that holds each list's private key and
//! releases content keys to current members, the HTTP framing both ends
//! share ([`http`]), and the list exploder's decisions ([`explode`]).
//!
//! The server:
//!
//! - [`store`]: groups, members and the audit log behind the [`store::Store`]
//!   interface (SQLite by default);
//! - [`keys`]: the RSA operations, with aws-lc-rs (constant-time);
//! - [`token`]: a group key in a PKCS#11 token (an HSM), by RFC 7512 URI;
//! - [`limits`]: replay protection and the per-member rate limit;
//! - [`audit`]: the group-commit audit writer;
//! - [`vault`]: the group secrets at rest;
//! - [`service`]: the release checks and the signed calls, in the protocol's
//!   order, and the audit row each known caller leaves;
//! - [`server`]: HTTPS, HTTP/1.1 keep-alive, a thread per connection;
//! - [`config`]: the server's config file (`group serve --config`);
//! - [`metrics`]: the Prometheus counters and their text format;
//! - [`shutdown`]: SIGTERM and SIGINT, for a graceful stop;
//! - [`admin`]: creating groups and managing members, for the CLI;
//! - [`offline`]: the group key exported to a member who reads without
//!   the server, and imported on their side (issue #17, option C);
//! - [`pass`]: membership passes, blind-signed (RFC 9474) so a release can
//!   name no member, even to the issuer (issue #17): the core, with no I/O;
//! - [`anonymous`]: making a group anonymous and withdrawing its passes;
//!   the server's side of passes is in [`service`], the member's in
//!   [`release`].
//!
//! May use: every lower wing ([`crate::error`], [`crate::smime`],
//! [`crate::store`], [`crate::mail`]: its TLS connect). Only the CLI builds on
//! it (`tests/offline/architecture.rs` checks).

pub mod admin;
pub mod anonymous;
pub mod audit;
pub mod config;
pub mod explode;
pub mod http;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod offline;
pub mod pass;
pub mod release;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod store;
pub mod token;
pub mod vault;
