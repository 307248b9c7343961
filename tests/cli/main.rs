//! End-to-end tests of the `sealpost` binary: one test binary, a module per
//! command. Every test works in its own throwaway keystores.

mod accounts;
mod cert;
mod common;
mod demo;
mod docs;
mod encrypt;
mod examples;
mod forger;
mod habits;
mod hostile;
mod inspect;
mod interop;
mod json;
mod json_document;
mod key;
mod large;
mod lists;
mod local;
mod pipes;
mod readme;
mod release;
mod servers;
mod tamper;
mod tty;
mod verify;
mod world;
