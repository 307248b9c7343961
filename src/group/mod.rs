//! The group server: holds each mailing list's group private key and
//! releases content keys to current members (see `crate::release::protocol`).
//!
//! - [`store`]: groups, members and the audit log behind the [`store::Store`]
//!   interface (SQLite by default);
//! - [`keys`]: the RSA operations, with aws-lc-rs (constant-time);
//! - [`limits`]: replay protection and the per-member rate limit;
//! - [`audit`]: the group-commit audit writer;
//! - [`service`]: the release checks, in the protocol's order;
//! - [`server`]: HTTPS, HTTP/1.1 keep-alive, a thread per connection;
//! - [`admin`]: creating groups and managing members, for the CLI.

pub mod admin;
pub mod audit;
pub mod keys;
pub mod limits;
pub mod server;
pub mod service;
pub mod store;
pub mod vault;
