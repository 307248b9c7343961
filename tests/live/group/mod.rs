//! The group server's own checks, end to end: a real `sealpost group serve`
//! process on loopback, real HTTPS, requests built and signed with the
//! library (`sign_request`) or written byte by byte on a raw TLS connection,
//! and the store inspected through `sealpost group audit|members` run as
//! separate processes. (The member's side, `group join`, `decrypt` and
//! `release`, is tested in tests/live/cli/release.rs.)

mod harness;
/// Also the mail tests' (mailing lists) and key release's as users run it.
pub(crate) mod server;

mod anonymous;
mod audit;
mod config;
mod crash;
mod health;
mod hostile;
mod hsm;
mod load;
mod log_format;
mod metrics;
mod rate;
mod refusals;
mod releases;
mod replicas;
mod rotation;
mod shutdown;
pub(crate) mod softhsm;
mod store_tls;
