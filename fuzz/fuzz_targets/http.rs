//! HTTP/1.1 request and response framing (head, Content-Length body,
//! keep-alive), as the group server and the release client read them:
//! every message of a pipelined stream in turn, from a buffered cursor.
#![no_main]

use std::io::{BufReader, Cursor};

use libfuzzer_sys::fuzz_target;
use sealpost::group::http;

/// The group server's body limit is far below this; what matters is that
/// nothing is allocated beyond what the input announces and holds.
const MAX_BODY: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    // Small buffer reads exercise lines split across fills.
    let mut r = BufReader::with_capacity(7, Cursor::new(data));
    for _ in 0..64 {
        match http::read_request(&mut r, MAX_BODY) {
            Ok(req) => assert!(req.body.len() <= data.len()),
            Err(_) => break,
        }
    }
    let mut r = Cursor::new(data);
    for _ in 0..64 {
        match http::read_response(&mut r, MAX_BODY) {
            Ok(resp) => assert!(resp.body.len() <= data.len()),
            Err(_) => break,
        }
    }
});
