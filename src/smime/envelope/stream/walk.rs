//! Reading a `ContentInfo` (DER or BER) from a byte stream: [`walk`] keeps
//! the small parts in memory for [`Envelope::parse`] and hands the encrypted
//! content to a [`ContentSink`] chunk by chunk.

use std::io::Read;

use anyhow::Result;
use der::asn1::ObjectIdentifier;
use der::Decode;

use crate::error::{fail, Exit};
use crate::smime::envelope::oids;
use crate::smime::envelope::open::Envelope;

/// Where [`walk`] sends what it finds.
pub trait ContentSink {
    /// Called once before any content, with the envelope as far as it is
    /// known: recipients and algorithm, but neither tag nor authenticated
    /// attributes (they follow the content). This is where the content key
    /// is recovered.
    fn begin(&mut self, head: &Envelope) -> Result<()>;
    /// A piece of the encrypted content, in order.
    fn content(&mut self, chunk: &[u8]) -> Result<()>;
}

/// What [`walk`] found.
pub enum Walked {
    /// The complete envelope (without its ciphertext, which went to the
    /// sink) and the encoding of everything but the ciphertext, to compare
    /// one pass with the next.
    Envelope {
        envelope: Envelope,
        skeleton: Vec<u8>,
    },
    /// A `ContentInfo` of another type (signed data, say): nothing was sent
    /// to the sink.
    Other(ObjectIdentifier),
}

/// Deepest nesting accepted (as `ber::to_der`).
const MAX_DEPTH: usize = 64;
/// Most bytes of envelope structure (everything but the ciphertext) kept in memory.
const MAX_SKELETON: usize = 16 << 20;
/// Read buffer size.
const READ_BUF: usize = 256 << 10;

struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    offset: u64,
}

fn io_err(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::InvalidData {
        fail(Exit::DataErr, e.to_string())
    } else {
        fail(Exit::IoErr, format!("cannot read the message: {e}"))
    }
}

fn bad(why: &str) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed message: {why}"))
}

#[derive(Clone, Copy)]
struct Header {
    id: u8,
    len: Option<u64>,
}

impl<R: Read> Reader<R> {
    fn new(inner: R) -> Self {
        Reader {
            inner,
            buf: vec![0; READ_BUF],
            pos: 0,
            end: 0,
            offset: 0,
        }
    }

    /// Makes at least `n` bytes available; false if the input ends first.
    fn ensure(&mut self, n: usize) -> Result<bool> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.end < n {
            let got = loop {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(k) => break k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_err(e)),
                }
            };
            if got == 0 {
                return Ok(false);
            }
            self.end += got;
        }
        Ok(true)
    }

    fn byte(&mut self) -> Result<u8> {
        if !self.ensure(1)? {
            return Err(bad("unexpected end of data"));
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        self.offset += 1;
        Ok(b)
    }

    fn peek2(&mut self) -> Result<Option<[u8; 2]>> {
        if !self.ensure(2)? {
            return Ok(None);
        }
        Ok(Some([self.buf[self.pos], self.buf[self.pos + 1]]))
    }

    fn at_eof(&mut self) -> Result<bool> {
        Ok(!self.ensure(1)?)
    }

    /// Passes the next `n` bytes to `f` in pieces.
    fn stream(&mut self, mut n: u64, f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        while n > 0 {
            if self.pos == self.end && !self.ensure(1)? {
                return Err(bad("length exceeds the data"));
            }
            let take = ((self.end - self.pos) as u64).min(n) as usize;
            f(&self.buf[self.pos..self.pos + take])?;
            self.pos += take;
            self.offset += take as u64;
            n -= take as u64;
        }
        Ok(())
    }

    /// Reads an identifier and length, copying their octets to `raw`.
    fn header(&mut self, raw: &mut Vec<u8>) -> Result<Header> {
        let header = crate::smime::envelope::ber::read_header(
            &mut || {
                let b = self.byte()?;
                raw.push(b);
                Ok(b)
            },
            bad,
            8,
        )?;
        Ok(Header {
            id: header.id,
            len: header.len,
        })
    }

    /// Copies one whole element (any encoding) to `out`, within `limit`.
    fn copy_element(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(bad("nested too deeply"));
        }
        let h = self.header(out)?;
        match h.len {
            Some(n) => {
                // Subtract rather than add: n is any 64-bit length from the input.
                if n > (MAX_SKELETON - out.len().min(MAX_SKELETON)) as u64 {
                    return Err(bad("envelope structure too large"));
                }
                let start = self.offset;
                self.stream(n, &mut |piece| {
                    out.extend_from_slice(piece);
                    Ok(())
                })?;
                debug_assert_eq!(self.offset - start, n);
            }
            None => loop {
                if self.peek2()? == Some([0, 0]) {
                    self.byte()?;
                    self.byte()?;
                    out.extend_from_slice(&[0, 0]);
                    break;
                }
                self.copy_element(out, depth + 1)?;
            },
        }
        Ok(())
    }

    /// Whether the container ending at `end` (or with end-of-contents when
    /// `None`) is finished; consumes the end-of-contents.
    fn container_done(&mut self, end: Option<u64>) -> Result<bool> {
        match end {
            Some(e) if self.offset == e => Ok(true),
            Some(e) if self.offset > e => Err(bad("element overruns its container")),
            Some(_) => Ok(false),
            None => {
                if self.peek2()? == Some([0, 0]) {
                    self.byte()?;
                    self.byte()?;
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
        }
    }

    /// Opens a constructed element with identifier `id`; returns its end.
    fn open(&mut self, id: u8, what: &str) -> Result<Option<u64>> {
        let mut raw = Vec::new();
        let h = self.header(&mut raw)?;
        if h.id != id {
            return Err(bad(what));
        }
        Ok(h.len.map(|n| self.offset.saturating_add(n)))
    }

    fn peek_id(&mut self) -> Result<u8> {
        if !self.ensure(1)? {
            return Err(bad("unexpected end of data"));
        }
        Ok(self.buf[self.pos])
    }

    /// Streams the chunks of a constructed OCTET STRING (BER) to `f`.
    fn chunks(
        &mut self,
        end: Option<u64>,
        depth: usize,
        f: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(bad("nested too deeply"));
        }
        loop {
            if self.container_done(end)? {
                return Ok(());
            }
            let mut raw = Vec::new();
            let h = self.header(&mut raw)?;
            match (h.id, h.len) {
                (0x04, Some(n)) => self.stream(n, f)?,
                (0x24, len) => {
                    let inner_end = len.map(|n| self.offset.saturating_add(n));
                    self.chunks(inner_end, depth + 1, f)?;
                }
                _ => return Err(bad("malformed encrypted content")),
            }
            if let Some(e) = end {
                if self.offset > e {
                    return Err(bad("element overruns its container"));
                }
            }
        }
    }
}

fn decode_oid(raw: &[u8]) -> Result<ObjectIdentifier> {
    let der = crate::smime::envelope::ber::to_der(raw)?;
    ObjectIdentifier::from_der(&der)
        .map_err(|e| fail(Exit::DataErr, format!("malformed cms message: {e}")))
}

/// Builds the envelope's encoding without its ciphertext (indefinite-length
/// BER around the collected parts) and parses it.
fn skeleton(
    type_oid: &[u8],
    before: &[u8],
    eci_head: &[u8],
    after: &[u8],
) -> Result<(Envelope, Vec<u8>)> {
    let mut s = Vec::with_capacity(before.len() + eci_head.len() + after.len() + 32);
    s.extend_from_slice(&[0x30, 0x80]);
    s.extend_from_slice(type_oid);
    s.extend_from_slice(&[0xa0, 0x80, 0x30, 0x80]);
    s.extend_from_slice(before);
    s.extend_from_slice(&[0x30, 0x80]);
    s.extend_from_slice(eci_head);
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(after);
    s.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let envelope = Envelope::parse(&s)?;
    Ok((envelope, s))
}

/// Reads one `ContentInfo` (DER or BER) holding `EnvelopedData` or
/// `AuthEnvelopedData` from `input`, which must end with it; the encrypted
/// content goes to `sink`. Memory use is bounded by the size of the
/// envelope's structure, not of its content.
pub fn walk(input: impl Read, sink: &mut dyn ContentSink) -> Result<Walked> {
    let mut r = Reader::new(input);
    let ci_end = r.open(0x30, "not a cms message")?;
    let mut type_oid = Vec::new();
    if r.peek_id()? != 0x06 {
        return Err(bad("content type is not an object identifier"));
    }
    r.copy_element(&mut type_oid, 1)?;
    let oid = decode_oid(&type_oid)?;
    let authenticated = match oid {
        oids::ID_ENVELOPED_DATA => false,
        oids::ID_AUTH_ENVELOPED_DATA => true,
        other => return Ok(Walked::Other(other)),
    };
    let explicit_end = r.open(0xa0, "cms content is not [0] EXPLICIT")?;
    let inner_end = r.open(0x30, "envelope is not a SEQUENCE")?;
    // version, originatorInfo, recipientInfos: everything up to the first SEQUENCE.
    let mut before = Vec::new();
    loop {
        if r.container_done(inner_end)? {
            return Err(bad("envelope without encrypted content info"));
        }
        if r.peek_id()? == 0x30 {
            break;
        }
        r.copy_element(&mut before, 2)?;
    }
    let eci_end = r.open(0x30, "encrypted content info is not a SEQUENCE")?;
    let mut eci_head = Vec::new();
    for _ in 0..2 {
        if r.container_done(eci_end)? {
            return Err(bad("encrypted content info is incomplete"));
        }
        r.copy_element(&mut eci_head, 3)?;
    }
    // The envelope as far as it goes, for the sink to find its key. AuthEnvelopedData
    // needs a mac to parse: an empty one stands in for the one after the content.
    let placeholder: &[u8] = if authenticated { &[0x04, 0x00] } else { &[] };
    let (head, _) = skeleton(&type_oid, &before, &eci_head, placeholder)?;
    if r.container_done(eci_end)? {
        return Err(fail(
            Exit::DataErr,
            "the message has no encrypted content (detached content is not supported)",
        ));
    }
    sink.begin(&head)?;
    let mut raw = Vec::new();
    let h = r.header(&mut raw)?;
    let mut feed = |piece: &[u8]| sink.content(piece);
    match (h.id, h.len) {
        (0x80, Some(n)) => r.stream(n, &mut feed)?,
        (0xa0, len) => {
            let end = len.map(|n| r.offset.saturating_add(n));
            r.chunks(end, 4, &mut feed)?;
        }
        _ => return Err(bad("malformed encrypted content")),
    }
    if !r.container_done(eci_end)? {
        return Err(bad("trailing data in encrypted content info"));
    }
    let mut after = Vec::new();
    while !r.container_done(inner_end)? {
        r.copy_element(&mut after, 2)?;
    }
    if !r.container_done(explicit_end)? || !r.container_done(ci_end)? {
        return Err(bad("trailing data inside the message"));
    }
    if !r.at_eof()? {
        return Err(bad("trailing data after the message"));
    }
    let (envelope, skeleton) = skeleton(&type_oid, &before, &eci_head, &after)?;
    Ok(Walked::Envelope { envelope, skeleton })
}
