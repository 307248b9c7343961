//! BER to DER conversion for CMS input.
//!
//! `openssl cms -encrypt -stream` (and many mail clients) emit BER:
//! indefinite lengths and constructed (chunked) OCTET STRINGs. The `der`
//! crate reads DER only, so input is normalised first:
//!
//! - indefinite lengths become definite, minimally encoded lengths;
//! - constructed universal string types (OCTET STRING, BIT STRING and the
//!   character strings) are concatenated into one primitive string;
//! - in a SEQUENCE shaped like `EncryptedContentInfo` (OBJECT IDENTIFIER,
//!   SEQUENCE, constructed `[0]`), the `[0]` is the IMPLICIT OCTET STRING
//!   `encryptedContent`, and its OCTET STRING chunks are concatenated into a
//!   primitive `[0]`. No other context-specific tag is touched: elsewhere
//!   `[0]` is EXPLICIT or tags a SEQUENCE/SET, and flattening it would be wrong.
//!
//! SEQUENCE, SET and all other constructed values keep their structure (DER
//! ordering of SET OF is left to the decoder). Nesting depth and element count
//! are bounded, every length is checked against the input before use, and
//! nothing here panics.

use std::borrow::Cow;

use anyhow::Result;

use crate::error::{fail, Exit};

/// Deepest nesting accepted; CMS messages need about 12.
const MAX_DEPTH: usize = 64;
/// Most elements accepted (bounds the work and memory per input byte).
const MAX_ELEMENTS: usize = 1 << 20;

/// Converts one BER element (with nothing after it) to DER. DER input comes
/// back unchanged.
pub fn to_der(input: &[u8]) -> Result<Vec<u8>> {
    let err = |why: &str| fail(Exit::DataErr, format!("malformed message: {why}"));
    let mut parser = Parser {
        buf: input,
        pos: 0,
        elements: 0,
    };
    let node = parser.element(input.len(), 0).map_err(err)?;
    if parser.pos != input.len() {
        return Err(err("trailing data after the message"));
    }
    let mut out = Vec::with_capacity(node.total_len());
    node.write(&mut out);
    Ok(out)
}

/// Identifier octet bits.
const CONSTRUCTED: u8 = 0x20;
const CLASS_MASK: u8 = 0xc0;
const CONTEXT_SPECIFIC: u8 = 0x80;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_BIT_STRING: u8 = 0x03;

/// Universal tag numbers of string types that BER may chunk.
fn is_string_tag(number: u8) -> bool {
    matches!(
        number,
        0x03 // BIT STRING
            | 0x04 // OCTET STRING
            | 0x0c // UTF8String
            | 0x12 // NumericString
            | 0x13 // PrintableString
            | 0x14 // TeletexString
            | 0x15 // VideotexString
            | 0x16 // IA5String
            | 0x19 // GraphicString
            | 0x1a // VisibleString
            | 0x1b // GeneralString
            | 0x1c // UniversalString
            | 0x1e // BMPString
    )
}

struct Node<'a> {
    /// First identifier octet.
    id: u8,
    /// Further identifier octets (high tag numbers).
    id_more: &'a [u8],
    body: Body<'a>,
    /// Length of the DER contents.
    content_len: usize,
}

enum Body<'a> {
    Primitive(Vec<Cow<'a, [u8]>>),
    Constructed(Vec<Node<'a>>),
}

fn length_octets(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS as usize / 8 - len.leading_zeros() as usize / 8)
    }
}

impl<'a> Node<'a> {
    fn primitive(id: u8, id_more: &'a [u8], segments: Vec<Cow<'a, [u8]>>) -> Self {
        let content_len = segments
            .iter()
            .fold(0usize, |acc, s| acc.saturating_add(s.len()));
        Node {
            id: id & !CONSTRUCTED,
            id_more,
            body: Body::Primitive(segments),
            content_len,
        }
    }

    fn constructed(id: u8, id_more: &'a [u8], children: Vec<Node<'a>>) -> Self {
        let content_len = children
            .iter()
            .fold(0usize, |acc, c| acc.saturating_add(c.total_len()));
        Node {
            id,
            id_more,
            body: Body::Constructed(children),
            content_len,
        }
    }

    fn total_len(&self) -> usize {
        (1 + self.id_more.len() + length_octets(self.content_len)).saturating_add(self.content_len)
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.push(self.id);
        out.extend_from_slice(self.id_more);
        let len = self.content_len;
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let n = length_octets(len) - 1;
            out.push(0x80 | n as u8);
            for i in (0..n).rev() {
                out.push((len >> (8 * i)) as u8);
            }
        }
        match &self.body {
            Body::Primitive(segments) => {
                for s in segments {
                    out.extend_from_slice(s);
                }
            }
            Body::Constructed(children) => {
                for c in children {
                    c.write(out);
                }
            }
        }
    }

    /// The contents of a primitive node, or `None` if constructed.
    fn into_segments(self) -> Option<Vec<Cow<'a, [u8]>>> {
        match self.body {
            Body::Primitive(s) => Some(s),
            Body::Constructed(_) => None,
        }
    }
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    elements: usize,
}

type PResult<T> = std::result::Result<T, &'static str>;

impl<'a> Parser<'a> {
    fn byte(&mut self, limit: usize) -> PResult<u8> {
        if self.pos >= limit {
            return Err("unexpected end of data");
        }
        let b = *self.buf.get(self.pos).ok_or("unexpected end of data")?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, limit: usize) -> PResult<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= limit)
            .ok_or("length exceeds the data")?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or("length exceeds the data")?;
        self.pos = end;
        Ok(s)
    }

    fn at_end_of_contents(&self, limit: usize) -> bool {
        self.pos.checked_add(2).is_some_and(|e| e <= limit)
            && self.buf.get(self.pos..self.pos + 2) == Some(&[0, 0][..])
    }

    /// Parses one element ending at or before `limit`.
    fn element(&mut self, limit: usize, depth: usize) -> PResult<Node<'a>> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply");
        }
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err("too many elements");
        }
        let id = self.byte(limit)?;
        let more_start = self.pos;
        if id & 0x1f == 0x1f {
            loop {
                let b = self.byte(limit)?;
                if self.pos - more_start > 4 {
                    return Err("tag number too large");
                }
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let id_more = self.buf.get(more_start..self.pos).ok_or("bad tag")?;
        if id == 0 {
            return Err("unexpected end-of-contents");
        }
        let constructed = id & CONSTRUCTED != 0;
        let len = match self.byte(limit)? {
            0x80 => None,
            0xff => return Err("invalid length"),
            n if n < 0x80 => Some(usize::from(n)),
            n => {
                let count = usize::from(n & 0x7f);
                if count > 4 {
                    return Err("length too large");
                }
                let mut v = 0usize;
                for _ in 0..count {
                    v = (v << 8) | usize::from(self.byte(limit)?);
                }
                Some(v)
            }
        };
        if !constructed {
            let n = len.ok_or("indefinite length on a primitive element")?;
            let contents = self.take(n, limit)?;
            return Ok(Node::primitive(id, id_more, vec![Cow::Borrowed(contents)]));
        }
        let mut children = Vec::new();
        match len {
            Some(n) => {
                let end = self
                    .pos
                    .checked_add(n)
                    .filter(|&e| e <= limit)
                    .ok_or("length exceeds the data")?;
                while self.pos < end {
                    children.push(self.element(end, depth + 1)?);
                }
            }
            None => loop {
                if self.at_end_of_contents(limit) {
                    self.pos += 2;
                    break;
                }
                if self.pos >= limit {
                    return Err("missing end-of-contents");
                }
                children.push(self.element(limit, depth + 1)?);
            },
        }
        let number = id & 0x1f;
        if id & CLASS_MASK == 0 && is_string_tag(number) {
            return flatten_string(id, id_more, children);
        }
        if id == 0x30 && looks_like_encrypted_content_info(&children) {
            flatten_encrypted_content(&mut children)?;
        }
        Ok(Node::constructed(id, id_more, children))
    }
}

/// Concatenates the chunks of a constructed universal string (X.690 §8.7.3,
/// §8.6.3 for BIT STRING). Chunks were flattened when parsed, so each must now
/// be primitive and of the same type.
fn flatten_string<'a>(id: u8, id_more: &'a [u8], children: Vec<Node<'a>>) -> PResult<Node<'a>> {
    let number = id & 0x1f;
    let chunk_err = "malformed constructed string";
    if number != TAG_BIT_STRING {
        let mut segments = Vec::new();
        for c in children {
            if c.id & !CONSTRUCTED != (id & !CONSTRUCTED) {
                return Err(chunk_err);
            }
            segments.extend(c.into_segments().ok_or(chunk_err)?);
        }
        return Ok(Node::primitive(id, id_more, segments));
    }
    // BIT STRING: each chunk starts with its unused-bit count; only the last
    // chunk may have unused bits.
    let count = children.len();
    let mut bits = vec![0u8];
    for (i, c) in children.into_iter().enumerate() {
        if c.id != TAG_BIT_STRING {
            return Err(chunk_err);
        }
        let data: Vec<u8> = c.into_segments().ok_or(chunk_err)?.concat();
        let (&unused, rest) = data.split_first().ok_or(chunk_err)?;
        if unused > 7 || (unused != 0 && (i + 1 != count || rest.is_empty())) {
            return Err(chunk_err);
        }
        bits[0] = unused;
        bits.extend_from_slice(rest);
    }
    Ok(Node::primitive(id, id_more, vec![Cow::Owned(bits)]))
}

/// `EncryptedContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER,
/// contentEncryptionAlgorithm AlgorithmIdentifier, encryptedContent [0]
/// IMPLICIT OCTET STRING OPTIONAL }` with a constructed `[0]`.
fn looks_like_encrypted_content_info(children: &[Node<'_>]) -> bool {
    matches!(
        children,
        [oid, alg, content]
            if oid.id == 0x06
                && alg.id == 0x30
                && content.id == (CONTEXT_SPECIFIC | CONSTRUCTED)
                && content.id_more.is_empty()
    )
}

fn flatten_encrypted_content(children: &mut [Node<'_>]) -> PResult<()> {
    let err = "malformed encrypted content";
    let Some(last) = children.last_mut() else {
        return Ok(());
    };
    let Body::Constructed(chunks) = std::mem::replace(&mut last.body, Body::Primitive(Vec::new()))
    else {
        return Err(err);
    };
    let mut segments = Vec::new();
    for c in chunks {
        if c.id != TAG_OCTET_STRING || !c.id_more.is_empty() {
            return Err(err);
        }
        segments.extend(c.into_segments().ok_or(err)?);
    }
    *last = Node::primitive(CONTEXT_SPECIFIC, &[], segments);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::to_der;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn der_is_unchanged() {
        let der = hex("30 09 06 03 2a 03 04 04 02 aa bb");
        assert_eq!(to_der(&der).unwrap(), der);
        let long = {
            let mut v = hex("04 82 01 00");
            v.extend(std::iter::repeat_n(7u8, 256));
            v
        };
        assert_eq!(to_der(&long).unwrap(), long);
    }

    #[test]
    fn indefinite_sequence_becomes_definite() {
        let ber = hex("30 80 02 01 05 30 80 05 00 00 00 00 00");
        assert_eq!(to_der(&ber).unwrap(), hex("30 07 02 01 05 30 02 05 00"));
    }

    #[test]
    fn constructed_octet_string_is_joined() {
        // definite and indefinite, nested chunks
        let ber = hex("24 80 04 02 01 02 24 04 04 02 03 04 04 00 00 00");
        assert_eq!(to_der(&ber).unwrap(), hex("04 04 01 02 03 04"));
        let ber = hex("24 08 04 02 aa bb 04 02 cc dd");
        assert_eq!(to_der(&ber).unwrap(), hex("04 04 aa bb cc dd"));
    }

    #[test]
    fn constructed_bit_string_is_joined() {
        let ber = hex("23 80 03 02 00 aa 03 02 04 b0 00 00");
        assert_eq!(to_der(&ber).unwrap(), hex("03 03 04 aa b0"));
        // unused bits in a non-final chunk
        assert!(to_der(&hex("23 08 03 02 04 aa 03 02 00 b0")).is_err());
    }

    #[test]
    fn encrypted_content_info_chunks_are_joined() {
        // SEQUENCE { OID, SEQUENCE { OID }, [0] { OCTET STRING, OCTET STRING } }
        let ber = hex("30 80 06 01 2a 30 03 06 01 2b a0 80 04 02 01 02 04 01 03 00 00 00 00");
        assert_eq!(
            to_der(&ber).unwrap(),
            hex("30 0d 06 01 2a 30 03 06 01 2b 80 03 01 02 03")
        );
    }

    #[test]
    fn other_context_tags_keep_their_structure() {
        // ContentInfo-like: SEQUENCE { OID, [0] EXPLICIT OCTET STRING } must stay explicit.
        let ber = hex("30 80 06 01 2a a0 80 04 01 05 00 00 00 00");
        assert_eq!(to_der(&ber).unwrap(), hex("30 08 06 01 2a a0 03 04 01 05"));
        // A SET is not a string: never flattened.
        let ber = hex("31 80 04 01 01 04 01 02 00 00");
        assert_eq!(to_der(&ber).unwrap(), hex("31 06 04 01 01 04 01 02"));
    }

    #[test]
    fn full_cms_shape() {
        // ContentInfo { id-envelopedData, [0] { EnvelopedData { 0, SET {}, ECI } } }
        let ber = hex("30 80 06 09 2a 86 48 86 f7 0d 01 07 03 a0 80 \
             30 80 02 01 00 31 00 \
             30 80 06 09 2a 86 48 86 f7 0d 01 07 01 30 03 06 01 2b \
             a0 80 04 01 aa 24 80 04 01 bb 00 00 00 00 \
             00 00 00 00 00 00 00 00");
        let der = to_der(&ber).unwrap();
        assert_eq!(
            der,
            hex("30 2a 06 09 2a 86 48 86 f7 0d 01 07 03 a0 1d \
                 30 1b 02 01 00 31 00 \
                 30 14 06 09 2a 86 48 86 f7 0d 01 07 01 30 03 06 01 2b 80 02 aa bb")
        );
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for bad in [
            "",
            "30",
            "30 80",
            "30 80 02 01 05",                                  // no end-of-contents
            "30 80 02 01 05 00",                               // half an end-of-contents
            "04 80 01 00 00",                                  // indefinite primitive
            "30 05 02 01 05",                                  // length exceeds the data
            "30 03 02 05 05 05 05 05",                         // child overruns its parent
            "04 85 01 00 00 00 00",                            // five length octets
            "04 84 ff ff ff ff 00",                            // lying length
            "04 ff 00",                                        // reserved length
            "02 01 05 00",                                     // trailing data
            "00 00",                                           // stray end-of-contents
            "30 80 00 05 00 00",                               // end-of-contents with contents
            "24 80 02 01 05 00 00",                            // wrong chunk type
            "24 80 30 00 00 00",                               // constructed chunk of wrong type
            "1f 81 82 83 84 85 00 00",                         // absurd tag number
            "30 80 06 01 2a 30 00 a0 80 02 01 00 00 00 00 00", // bad encryptedContent chunk
        ] {
            assert!(to_der(&hex(bad)).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let mut v = Vec::new();
        for _ in 0..100_000 {
            v.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..100_000 {
            v.extend_from_slice(&[0, 0]);
        }
        assert!(to_der(&v).is_err());
        let mut ok = Vec::new();
        for _ in 0..60 {
            ok.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..60 {
            ok.extend_from_slice(&[0, 0]);
        }
        assert!(to_der(&ok).is_ok());
    }

    #[test]
    fn high_tag_numbers_pass_through() {
        let ber = hex("bf 81 00 80 02 01 01 00 00");
        assert_eq!(to_der(&ber).unwrap(), hex("bf 81 00 03 02 01 01"));
    }
}
