//! Tests against real mail servers on loopback: Postfix and Dovecot started
//! by the harness in `servers`, shared by every test of this binary.

mod servers;

#[path = "../cli/json_document.rs"]
#[allow(dead_code)]
mod json_document;

#[path = "../group/server.rs"]
mod group_server;

mod accounts;
mod client;
mod discovery;
mod dns;
mod e2e;
mod faults;
mod fetch;
mod garbage;
mod harness;
mod hostile;
mod kills;
mod lists;
mod relay;
mod submit;
