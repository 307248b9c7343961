//! POP3 responses as the fetch client reads them (greeting, STLS,
//! USER/PASS, UIDL and LIST multi-line answers, RETR with dot-stuffing,
//! DELE, QUIT), from a loopback server that sends the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost::store::account::Protocol;
use sealpost::mail::fetch::pop3::Pop3;

fuzz_target!(|data: &[u8]| {
    sealpost_fuzz::mail::fetch_session::<Pop3>(Protocol::Pop3, data, |_| {});
});
