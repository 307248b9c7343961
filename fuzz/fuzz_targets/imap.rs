//! IMAP responses as the fetch client reads them (greeting, STARTTLS,
//! LOGIN, CAPABILITY, COMPRESS, SELECT, UID FETCH with literals, STORE,
//! EXPUNGE, LOGOUT), from a loopback server that sends the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost::store::account::Protocol;
use sealpost::mail::fetch::imap::Imap;

fuzz_target!(|data: &[u8]| {
    sealpost_fuzz::mail::fetch_session::<Imap>(Protocol::Imap, data, |s| {
        let _ = s.compress();
    });
});
