//! The live test binary: everything that starts a server, real Postfix,
//! Dovecot and dnsmasq (`mail`, started once and shared by its tests), a
//! real `sealpost group serve` (`group`, and key release as users run it in
//! `cli`), or a test mail server on loopback (the README walk and the help
//! examples that send or fetch mail, in `cli`). `sh tests/run.sh` installs
//! the Debian packages first. Helpers shared with the offline binary are in
//! tests/support.

// Shared with the offline binary, which uses the rest of them.
#[allow(dead_code)]
#[path = "../support/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../support/help_examples.rs"]
mod help_examples;
#[path = "../support/json_document.rs"]
mod json_document;
#[path = "../support/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../support/world.rs"]
mod world;

mod cli;
mod group;
mod mail;
