//! End-to-end tests of the `sealpost` binary that start no server: a module
//! per command. Every test works in its own throwaway keystores. (Those that
//! start one, key release, the README walk and the help examples that send
//! mail or ask a group server, are in tests/live/cli.)

mod accounts;
mod cert;
mod demo;
mod docs;
mod ecdh;
mod ecsign;
mod encrypt;
mod examples;
mod foreign;
mod forger;
mod group_key;
mod habits;
mod hostile;
mod inspect;
mod interop;
mod json;
mod key;
mod keymove;
mod large;
mod learning;
mod lists;
mod local;
mod online;
mod pipes;
mod pki;
mod recipients;
mod rotation;
mod serve_config;
mod tamper;
mod tty;
mod verify;
mod verify_peers;
