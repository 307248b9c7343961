//! Inputs the fuzz targets (fuzz/, see fuzz/README.md) found to crash,
//! hang or over-allocate, each an ordinary test through the public API.
//! The minimized inputs are also kept under fuzz/regressions/TARGET/.

use std::io::Cursor;

use sealpost::envelope::{self, ContentSink, Envelope};
use sealpost::error::{classify, Exit};

/// A content sink that keeps nothing.
struct Discard;

impl ContentSink for Discard {
    fn begin(&mut self, _head: &Envelope) -> anyhow::Result<()> {
        Ok(())
    }
    fn content(&mut self, _chunk: &[u8]) -> anyhow::Result<()> {
        Ok(())
    }
}

fn exit_of(err: &anyhow::Error) -> Exit {
    classify(err).0
}

/// `enveloped-data` ContentInfo, indefinite lengths, up to the first element
/// of the EnvelopedData SEQUENCE.
const ENVELOPED_PREFIX: &[u8] = &[
    0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03, 0xa0, 0x80, 0x30,
    0x80,
];

/// fuzz target `cms`: an element whose 8-byte length is 2^64 − 1 overflowed
/// the streaming walker's size check (a panic with overflow checks on; in
/// release the check wrapped and passed).
#[test]
fn walker_refuses_a_length_of_two_to_the_64_minus_one() {
    let mut input = ENVELOPED_PREFIX.to_vec();
    input.extend_from_slice(&[
        0x02, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
    ]);
    let err = match envelope::walk(Cursor::new(&input), &mut Discard) {
        Err(e) => e,
        Ok(_) => panic!("a 2^64-byte element in a few bytes was accepted"),
    };
    assert_eq!(exit_of(&err), Exit::DataErr, "{err:#}");
}
