//! Base64 in 76-column CRLF lines over a stream, with the one line encoder
//! ([`crate::smime::mime::encode_base64_lines`]): the envelopes' bodies, and the
//! signed entity of `--sign` inside them.

use zeroize::Zeroizing;

use super::output::EnvelopeOutput;
use crate::error::{fail, Exit};
use crate::smime::mime::{encode_base64_lines, BASE64_LINE_BYTES};

/// Output buffered before it goes to the [`EnvelopeOutput`].
const OUT_BUF: usize = 512 << 10;

/// Base64 lines of a stream given in pieces: complete lines as soon as
/// their bytes are in, the last (short) line at the end. Exactly the
/// one-shot encoding of the whole stream.
#[derive(Default)]
pub struct LineEncoder {
    /// Input not yet encoded (less than one line's 57 bytes). Plaintext
    /// when the stream is the signed entity: wiped when dropped.
    carry: Zeroizing<Vec<u8>>,
}

impl LineEncoder {
    /// Encodes the next piece of the stream, appending to `out`.
    pub fn update(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        if !self.carry.is_empty() {
            let take = (BASE64_LINE_BYTES - self.carry.len()).min(data.len());
            self.carry.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.carry.len() < BASE64_LINE_BYTES {
                return;
            }
            encode_base64_lines(&self.carry, b"\r\n", out);
            self.carry.clear();
        }
        let whole = data.len() / BASE64_LINE_BYTES * BASE64_LINE_BYTES;
        encode_base64_lines(&data[..whole], b"\r\n", out);
        self.carry.extend_from_slice(&data[whole..]);
    }

    /// Ends the stream: its last line, if any, to `out`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        encode_base64_lines(&self.carry, b"\r\n", out);
        self.carry.clear();
    }

    /// Whether the stream so far ends at the end of a line.
    pub fn at_line_end(&self) -> bool {
        self.carry.is_empty()
    }
}

/// An envelope's S/MIME message written to an [`EnvelopeOutput`]: its
/// header section as it is, then its body in base64 lines, as
/// [`crate::smime::message::write_smime_message`] writes them.
pub(super) struct Base64Lines<'o> {
    out: &'o mut dyn EnvelopeOutput,
    lines: LineEncoder,
    buf: Vec<u8>,
    written: u64,
}

impl<'o> Base64Lines<'o> {
    pub(super) fn new(out: &'o mut dyn EnvelopeOutput) -> Self {
        Base64Lines {
            out,
            lines: LineEncoder::default(),
            buf: Vec::with_capacity(OUT_BUF + (OUT_BUF >> 1)),
            written: 0,
        }
    }

    /// Bytes written as they are (the header section).
    pub(super) fn raw(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.buf.extend_from_slice(data);
        self.flush_if_full()
    }

    /// Already-encoded bytes, handed to the output without a copy.
    pub(super) fn encoded(&mut self, data: &[u8]) -> anyhow::Result<()> {
        if !self.lines.at_line_end() {
            return Err(fail(
                Exit::Software,
                "encoded bytes in the middle of a base64 line",
            ));
        }
        self.written += self.buf.len() as u64 + data.len() as u64;
        if !self.buf.is_empty() {
            self.out.write(&self.buf)?;
            self.buf.clear();
        }
        self.out.write(data)
    }

    fn flush_if_full(&mut self) -> anyhow::Result<()> {
        if self.buf.len() >= OUT_BUF {
            self.written += self.buf.len() as u64;
            self.out.write(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// The next bytes of the body, to be encoded.
    pub(super) fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        for piece in data.chunks(OUT_BUF / 4 * 3) {
            self.lines.update(piece, &mut self.buf);
            self.flush_if_full()?;
        }
        Ok(())
    }

    /// Writes the last (short) line; returns the message length.
    pub(super) fn finish(mut self) -> anyhow::Result<u64> {
        self.lines.finish(&mut self.buf);
        self.written += self.buf.len() as u64;
        self.out.write(&self.buf)?;
        self.out.end()?;
        Ok(self.written)
    }
}

/// Pre-encoded base64 lines into a [`Base64Lines`], as an `io::Write`.
pub(super) struct EncodedSink<'b, 'o>(pub(super) &'b mut Base64Lines<'o>);

impl std::io::Write for EncodedSink<'_, '_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.encoded(data).map_err(std::io::Error::other)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_encoder_in_any_pieces_equals_the_one_shot_lines() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 253) as u8).collect();
        let mut want = Vec::new();
        encode_base64_lines(&data, b"\r\n", &mut want);
        for piece in [1, 2, 56, 57, 58, 113, 1000] {
            let mut enc = LineEncoder::default();
            let mut got = Vec::new();
            for p in data.chunks(piece) {
                enc.update(p, &mut got);
            }
            enc.finish(&mut got);
            assert!(got == want, "pieces of {piece}");
        }
    }
}
