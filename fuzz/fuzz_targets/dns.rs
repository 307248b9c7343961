//! DNS replies to SRV questions (RFC 1035 messages with name compression,
//! CNAME chains, truncation, rcodes) and what discovery makes of the
//! records; also resolv.conf. The reply's id is taken from the input so
//! that the question check passes whenever the question itself does.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sealpost::store::account::Protocol;
use sealpost::mail::srv::{self, Answer, Lookup};

/// Answers every SRV question with the fuzzer's reply.
struct Reply<'a>(&'a [u8]);

impl Lookup for Reply<'_> {
    fn srv(&self, name: &str) -> Result<Answer, String> {
        let id = match self.0 {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        };
        srv::parse_reply(self.0, id, name).map_err(|e| e.to_string())
    }
}

fuzz_target!(|data: &[u8]| {
    let lookup = Reply(data);
    for protocol in [Protocol::Smtp, Protocol::Imap, Protocol::Pop3] {
        let mut n = 0u32;
        let _ = srv::discover(&lookup, "example.org", protocol, &mut |total| {
            n = n.wrapping_mul(31).wrapping_add(7);
            n % (total + 1)
        });
    }
    if let Ok(Answer::Records(records)) = lookup.srv("_imaps._tcp.example.org") {
        let count = records.len();
        let ordered = srv::order(records, &mut |total| total / 2);
        assert_eq!(ordered.len(), count);
    }
    let _ = srv::Resolver::from_resolv_conf(&String::from_utf8_lossy(data), Duration::from_secs(1));
});
