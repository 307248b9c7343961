//! Base64 decoded as it is read, for a streamed message whose payload is a
//! base64 body too large to decode in memory.

use std::io::Read;

use crate::smime::mime;

/// Read buffer for the base64 decoder.
pub(super) const B64_CHUNK: usize = 256 << 10;

/// Decodes base64 as it is read, ignoring whitespace, accepting exactly what
/// [`mime::decode_base64`] accepts for the whole body.
pub(super) struct Base64Reader<R> {
    inner: R,
    raw: Vec<u8>,
    decoder: Option<mime::Base64Decoder>,
    out: Vec<u8>,
    out_pos: usize,
}

impl<R: Read> Base64Reader<R> {
    pub(super) fn new(inner: R) -> Self {
        Base64Reader {
            inner,
            raw: vec![0; B64_CHUNK],
            decoder: Some(mime::Base64Decoder::default()),
            out: Vec::with_capacity(B64_CHUNK),
            out_pos: 0,
        }
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let invalid = |e: anyhow::Error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                crate::error::single_line(&e),
            )
        };
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(());
            };
            let n = loop {
                match self.inner.read(&mut self.raw) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                if let Some(d) = self.decoder.take() {
                    d.finish().map_err(invalid)?;
                }
                return Ok(());
            }
            decoder
                .update(&self.raw[..n], &mut self.out)
                .map_err(invalid)?;
        }
        Ok(())
    }
}

impl<R: Read> Read for Base64Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.out_pos == self.out.len() {
            self.refill()?;
        }
        let n = (self.out.len() - self.out_pos).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}
