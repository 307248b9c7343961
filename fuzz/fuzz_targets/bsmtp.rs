//! Batch SMTP streams (RFC 2442) as `submit --bsmtp` and the exploder's
//! tests read them. What parses must survive write → parse unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost::smime::bsmtp;

fuzz_target!(|data: &[u8]| {
    if let Ok(transactions) = bsmtp::parse(data) {
        let mut written = Vec::new();
        if bsmtp::write(&mut written, &transactions).is_ok() {
            let again = bsmtp::parse(&written).expect("our own BSMTP output parses");
            assert_eq!(again, transactions, "BSMTP changed through write and parse");
        }
    }
});
