//! The offline test binary: everything that needs no mail server, DNS
//! server or group server, so that it runs anywhere OpenSSL and gpgsm are
//! (`sh tests/run.sh --fast`). The tests that start Postfix, Dovecot,
//! dnsmasq, a `sealpost group serve` or a test mail server on loopback are
//! the live binary's (tests/live). Helpers both use are in tests/support.

#[path = "../support/common.rs"]
mod common;
#[path = "../support/help_examples.rs"]
mod help_examples;
#[path = "../support/json_document.rs"]
mod json_document;
#[path = "../support/world.rs"]
mod world;

mod architecture;
mod cli;
mod compose;
mod envelope_openssl;
mod fuzz_regressions;
mod pkits;
mod signed_openssl;
mod systemd_unit;
