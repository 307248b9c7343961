//! End-to-end tests of the `sealpost` binary: one test binary, a module per
//! command. Every test works in its own throwaway keystore.

mod cert;
mod common;
mod docs;
mod key;
