//! Writing many envelopes that share one ciphertext, fast.
//!
//! An S/MIME message is its headers and the base64 of `prefix ‖ ciphertext ‖
//! suffix` (see [`crate::smime::envelope::EnvelopeParts`]). Base64 works in 3-byte
//! groups and the body is wrapped every 76 characters (57 bytes), so the
//! encoding of the shared ciphertext depends only on where it starts modulo
//! 57. The Bcc envelopes of one message all have the same shape, so one
//! encoding of the ciphertext serves all of them: each envelope then costs its
//! RecipientInfos and one copy of already-encoded bytes to the output.

use std::collections::HashMap;
use std::io::{self, Write};

use crate::smime::mime::BASE64_LINE_BYTES as LINE_BYTES;

/// The shared ciphertext and its encodings by alignment.
pub struct SharedBody<'a> {
    ciphertext: &'a [u8],
    /// Lines encoding `ciphertext[k..k + 57·n]`, keyed by `k`.
    encoded: HashMap<usize, Vec<u8>>,
}

fn encode_lines(data: &[u8], out: &mut Vec<u8>) {
    crate::smime::mime::encode_base64_lines(data, b"\r\n", out);
}

impl<'a> SharedBody<'a> {
    pub fn new(ciphertext: &'a [u8]) -> SharedBody<'a> {
        SharedBody {
            ciphertext,
            encoded: HashMap::new(),
        }
    }

    /// The shared ciphertext's length.
    pub fn len(&self) -> usize {
        self.ciphertext.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ciphertext.is_empty()
    }

    /// Writes base64(`prefix ‖ ciphertext ‖ suffix`) in CRLF lines of 76
    /// characters, exactly as a one-shot encoder would.
    pub fn write_base64(
        &mut self,
        out: &mut impl Write,
        prefix: &[u8],
        suffix: &[u8],
    ) -> io::Result<()> {
        let ct = self.ciphertext;
        // Ciphertext bytes needed to complete the prefix's last line.
        let k = (LINE_BYTES - prefix.len() % LINE_BYTES) % LINE_BYTES;
        if ct.len() < k + LINE_BYTES {
            let mut buf = Vec::with_capacity(prefix.len() + ct.len() + suffix.len());
            buf.extend_from_slice(prefix);
            buf.extend_from_slice(ct);
            buf.extend_from_slice(suffix);
            let mut lines = Vec::with_capacity(buf.len() * 4 / 3 + buf.len() / 28 + 8);
            encode_lines(&buf, &mut lines);
            return out.write_all(&lines);
        }
        let full = (ct.len() - k) / LINE_BYTES * LINE_BYTES;
        let mut head = Vec::with_capacity(prefix.len() + k);
        head.extend_from_slice(prefix);
        head.extend_from_slice(&ct[..k]);
        let mut lines = Vec::with_capacity(head.len() * 2);
        encode_lines(&head, &mut lines);
        out.write_all(&lines)?;
        let middle = self.encoded.entry(k).or_insert_with(|| {
            let mut v = Vec::with_capacity(full / LINE_BYTES * 78);
            encode_lines(&ct[k..k + full], &mut v);
            v
        });
        out.write_all(middle)?;
        let mut tail = Vec::with_capacity(ct.len() - k - full + suffix.len());
        tail.extend_from_slice(&ct[k + full..]);
        tail.extend_from_slice(suffix);
        lines.clear();
        encode_lines(&tail, &mut lines);
        out.write_all(&lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn equals_one_shot_encoding_for_every_alignment() {
        let ct: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        for ct_len in [0, 1, 56, 57, 58, 113, 114, 500, 1000] {
            let mut shared = SharedBody::new(&ct[..ct_len]);
            for prefix_len in 0..120 {
                for suffix_len in [0, 1, 2, 18] {
                    let prefix = vec![0xabu8; prefix_len];
                    let suffix = vec![0xcdu8; suffix_len];
                    let mut got = Vec::new();
                    shared.write_base64(&mut got, &prefix, &suffix).unwrap();
                    let whole = [prefix.as_slice(), &ct[..ct_len], &suffix].concat();
                    let mut want = Vec::new();
                    let encoded = base64::engine::general_purpose::STANDARD.encode(&whole);
                    for line in encoded.as_bytes().chunks(76) {
                        want.extend_from_slice(line);
                        want.extend_from_slice(b"\r\n");
                    }
                    assert_eq!(
                        got, want,
                        "ct {ct_len} prefix {prefix_len} suffix {suffix_len}"
                    );
                }
            }
        }
    }
}
