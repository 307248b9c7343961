//! Tests against real mail servers on loopback: Postfix and Dovecot started
//! by the harness in `servers`, shared by every test of this module.

mod servers;

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
