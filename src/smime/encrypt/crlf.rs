//! Bare LF to CRLF across chunk boundaries, eight bytes at a time: the
//! body of a message as its inner MIME entity must have it.

use std::io::Read;

use super::CHUNK;

/// Converts bare LF to CRLF across chunk boundaries, as
/// [`crate::smime::message::to_crlf`] does for a whole message. The body starts after the
/// header's blank line, so no CR precedes its first byte.
#[derive(Default)]
pub struct CrlfStream {
    prev_cr: bool,
}

/// High bit set in each byte of `v` equal to `b` (exact: no false positives).
fn byte_eq_mask(v: u64, b: u8) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let t = v ^ (LO * u64::from(b));
    !(((t & HI7) + HI7) | t) & !HI7
}

/// Number of LFs in `input` not preceded by CR (`prev_cr`: the byte before
/// `input` was CR), eight bytes at a time.
fn bare_lfs(prev_cr: bool, input: &[u8]) -> u64 {
    let mut carry = u64::from(prev_cr);
    let mut count = 0u64;
    let mut words = input.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let lf = byte_eq_mask(v, b'\n');
        let cr = byte_eq_mask(v, b'\r');
        // The high bit of byte i+1 set when byte i is CR.
        let after_cr = (cr << 8) | (carry << 7);
        count += u64::from((lf & !after_cr).count_ones());
        carry = cr >> 63;
    }
    let mut prev = carry == 1;
    for &b in words.remainder() {
        if b == b'\n' && !prev {
            count += 1;
        }
        prev = b == b'\r';
    }
    count
}

impl CrlfStream {
    /// `input` converted: itself when it has no bare LF, else a converted
    /// copy in `scratch`.
    pub fn convert<'a>(&mut self, input: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
        let prev_cr = self.prev_cr;
        if let Some(&last) = input.last() {
            self.prev_cr = last == b'\r';
        }
        if bare_lfs(prev_cr, input) == 0 {
            return input;
        }
        scratch.clear();
        let mut start = 0;
        for i in memchr::memchr_iter(b'\n', input) {
            let after_cr = if i == 0 {
                prev_cr
            } else {
                input[i - 1] == b'\r'
            };
            if !after_cr {
                scratch.extend_from_slice(&input[start..i]);
                scratch.extend_from_slice(b"\r\n");
                start = i + 1;
            }
        }
        scratch.extend_from_slice(&input[start..]);
        scratch
    }

    /// How many bytes `input` becomes.
    pub fn converted_len(&mut self, input: &[u8]) -> u64 {
        let extra = bare_lfs(self.prev_cr, input);
        if let Some(&last) = input.last() {
            self.prev_cr = last == b'\r';
        }
        input.len() as u64 + extra
    }
}

/// The length of a body read from `input` after CRLF conversion.
pub fn crlf_body_len(input: &mut dyn Read) -> std::io::Result<u64> {
    let mut crlf = CrlfStream::default();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += crlf.converted_len(&buf[..n]);
    }
}
