//! Just enough MIME to find S/MIME payloads: header fields of an entity
//! (unfolded, byte-safe), its media type and parameters, the body decoded
//! from its transfer encoding, and the parts of a multipart/signed entity.
//!
//! This is deliberately separate from `message`, which rewrites line endings
//! for composing: here the body bytes must stay exactly as they arrived,
//! because a binary CMS body or a signed part changes meaning if one byte does.

use base64::Engine;

use crate::error::{fail, Exit};

/// An entity split at its blank line.
pub struct Entity<'a> {
    /// (name, unfolded value) pairs in order.
    pub fields: Vec<(String, String)>,
    pub body: &'a [u8],
}

impl<'a> Entity<'a> {
    /// Splits `data` into header fields and body; `None` if it does not start
    /// with a header section.
    pub fn parse(data: &'a [u8]) -> Option<Entity<'a>> {
        let (head, body) = split_head(data)?;
        let mut fields: Vec<(String, String)> = Vec::new();
        for raw_line in head.split(|&b| b == b'\n') {
            let line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
            if line.is_empty() {
                continue;
            }
            if line[0] == b' ' || line[0] == b'\t' {
                let (_, value) = fields.last_mut()?;
                value.push(' ');
                value.push_str(String::from_utf8_lossy(line).trim());
                continue;
            }
            let colon = line.iter().position(|&b| b == b':')?;
            let name = std::str::from_utf8(&line[..colon]).ok()?.trim();
            if name.is_empty() || name.bytes().any(|b| !(33..=126).contains(&b)) {
                return None;
            }
            fields.push((
                name.to_string(),
                String::from_utf8_lossy(&line[colon + 1..])
                    .trim()
                    .to_string(),
            ));
        }
        if fields.is_empty() {
            return None;
        }
        Some(Entity { fields, body })
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type, lowercased (`text/plain` when absent, RFC 2045 §5.2).
    pub fn media_type(&self) -> String {
        self.field("Content-Type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "text/plain".to_string())
    }

    /// A Content-Type parameter, unquoted (names compared case-insensitively).
    pub fn content_type_param(&self, param: &str) -> Option<String> {
        let value = self.field("Content-Type")?;
        parameters(value)
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(param))
            .map(|(_, v)| v)
    }

    /// The body with its Content-Transfer-Encoding undone (base64; others as is).
    pub fn decoded_body(&self) -> anyhow::Result<Vec<u8>> {
        let cte = self
            .field("Content-Transfer-Encoding")
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        match cte.as_str() {
            "base64" => decode_base64(self.body),
            "7bit" | "8bit" | "binary" => Ok(self.body.to_vec()),
            other => Err(fail(
                Exit::DataErr,
                format!("unsupported Content-Transfer-Encoding {other} for an S/MIME body"),
            )),
        }
    }
}

/// Head and body of an entity: split at the first empty line (CRLF or LF).
pub(crate) fn split_head(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut pos = 0;
    while pos < data.len() {
        let end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| pos + i)?;
        let line = &data[pos..end];
        if line.is_empty() || line == b"\r" {
            return Some((&data[..pos], &data[end + 1..]));
        }
        pos = end + 1;
    }
    None
}

/// `type/subtype; a=b; c="d e"` → [(a, b), (c, d e)].
fn parameters(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = match value.find(';') {
        Some(i) => &value[i + 1..],
        None => return out,
    };
    while !rest.trim().is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let name = rest[..eq].trim().trim_start_matches(';').trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let (val, next) = if let Some(q) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n)
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            (v, &q[end.min(q.len())..])
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.push((name, val));
        rest = next.trim_start().strip_prefix(';').unwrap_or(next);
    }
    out
}

/// Base64 with line breaks and other whitespace ignored.
pub fn decode_base64(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let clean: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&clean)
        .map_err(|e| fail(Exit::DataErr, format!("malformed base64 body: {e}")))
}

const B64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// Decoding table: 0..64 for the alphabet, [`B64_WS`], [`B64_PAD`], or [`B64_BAD`].
const B64_WS: u8 = 0x40;
const B64_PAD: u8 = 0x41;
const B64_BAD: u8 = 0xff;
static B64_DECODE: [u8; 256] = {
    let mut t = [B64_BAD; 256];
    let mut i = 0;
    while i < 64 {
        t[B64_ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    // What u8::is_ascii_whitespace accepts.
    t[b' ' as usize] = B64_WS;
    t[b'\t' as usize] = B64_WS;
    t[b'\n' as usize] = B64_WS;
    t[b'\r' as usize] = B64_WS;
    t[0x0c] = B64_WS;
    t[b'=' as usize] = B64_PAD;
    t
};
/// Two base64 characters for each 12 bits.
static B64_PAIRS: [[u8; 2]; 4096] = {
    let mut t = [[0u8; 2]; 4096];
    let mut i = 0;
    while i < 4096 {
        t[i] = [B64_ALPHABET[i >> 6], B64_ALPHABET[i & 63]];
        i += 1;
    }
    t
};

/// Appends standard base64 (with padding) of `input` to `out`: the same
/// characters as the `base64` crate's STANDARD engine, faster.
pub fn encode_base64_into(input: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + input.len().div_ceil(3) * 4, 0);
    encode_base64_slice(input, &mut out[start..]);
}

/// Bytes of input per base64 line of 76 characters.
pub const BASE64_LINE_BYTES: usize = 57;

/// Length of [`encode_base64_lines`] output for `len` input bytes, with a
/// line ending of `eol_len` bytes.
pub fn base64_lines_len(len: u64, eol_len: usize) -> u64 {
    len.div_ceil(3) * 4 + len.div_ceil(BASE64_LINE_BYTES as u64) * eol_len as u64
}

/// Appends standard base64 of `input` in lines of 76 characters (the last
/// one shorter), each ended by `eol` (CRLF in a message; LF in a file for
/// people): the one body encoder of every MIME entity sealpost writes.
pub fn encode_base64_lines(input: &[u8], eol: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(
        start + base64_lines_len(input.len() as u64, eol.len()) as usize,
        0,
    );
    let stride = 76 + eol.len();
    for (line, dst) in input
        .chunks(BASE64_LINE_BYTES)
        .zip(out[start..].chunks_mut(stride))
    {
        let n = line.len().div_ceil(3) * 4;
        encode_base64_slice(line, &mut dst[..n]);
        dst[n..].copy_from_slice(eol);
    }
}

/// Base64 of `input` into `dst`, exactly `input.len().div_ceil(3) * 4` long.
fn encode_base64_slice(input: &[u8], dst: &mut [u8]) {
    let mut groups = input.chunks_exact(3);
    let mut o = 0;
    for g in &mut groups {
        let n = (usize::from(g[0]) << 16) | (usize::from(g[1]) << 8) | usize::from(g[2]);
        dst[o..o + 2].copy_from_slice(&B64_PAIRS[n >> 12]);
        dst[o + 2..o + 4].copy_from_slice(&B64_PAIRS[n & 0xfff]);
        o += 4;
    }
    match *groups.remainder() {
        [a] => {
            let n = usize::from(a) << 4;
            dst[o..o + 2].copy_from_slice(&B64_PAIRS[n]);
            dst[o + 2..o + 4].copy_from_slice(b"==");
        }
        [a, b] => {
            let n = (usize::from(a) << 10) | (usize::from(b) << 2);
            dst[o..o + 2].copy_from_slice(&B64_PAIRS[n >> 6]);
            dst[o + 2] = B64_ALPHABET[n & 63];
            dst[o + 3] = b'=';
        }
        _ => {}
    }
}

/// Streaming base64 decoder that accepts exactly what [`decode_base64`]
/// accepts for the whole input: whitespace anywhere is ignored, padding is
/// canonical and only at the end, no trailing bits.
#[derive(Default)]
pub struct Base64Decoder {
    quad: [u8; 4],
    filled: usize,
    /// A padded group was seen: only whitespace may follow.
    ended: bool,
}

fn b64_error(why: &str) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed base64 body: {why}"))
}

impl Base64Decoder {
    /// Decodes `input`, appending bytes to `out`.
    pub fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        out.reserve(input.len() / 4 * 3 + 3);
        let mut i = 0;
        let n = input.len();
        while i < n {
            if self.filled == 0 && !self.ended {
                // Fast path: whole groups without whitespace.
                while i + 4 <= n {
                    let a = B64_DECODE[usize::from(input[i])];
                    let b = B64_DECODE[usize::from(input[i + 1])];
                    let c = B64_DECODE[usize::from(input[i + 2])];
                    let d = B64_DECODE[usize::from(input[i + 3])];
                    if (a | b | c | d) >= 64 {
                        break;
                    }
                    let v = (u32::from(a) << 18)
                        | (u32::from(b) << 12)
                        | (u32::from(c) << 6)
                        | u32::from(d);
                    out.extend_from_slice(&v.to_be_bytes()[1..]);
                    i += 4;
                }
                if i >= n {
                    break;
                }
            }
            let v = B64_DECODE[usize::from(input[i])];
            i += 1;
            match v {
                B64_WS => continue,
                B64_BAD => return Err(b64_error("invalid character")),
                _ if self.ended => return Err(b64_error("data after the padding")),
                _ => {}
            }
            self.quad[self.filled] = v;
            self.filled += 1;
            if self.filled == 4 {
                self.filled = 0;
                self.group(out)?;
            }
        }
        Ok(())
    }

    fn group(&mut self, out: &mut Vec<u8>) -> anyhow::Result<()> {
        let [a, b, c, d] = self.quad;
        let pad = |x: u8| x == B64_PAD;
        if pad(a) || pad(b) || (pad(c) && !pad(d)) {
            return Err(b64_error("invalid padding"));
        }
        let v = (u32::from(a) << 18) | (u32::from(b) << 12);
        if pad(c) {
            if b & 0x0f != 0 {
                return Err(b64_error("invalid trailing bits"));
            }
            out.push((v >> 16) as u8);
            self.ended = true;
        } else if pad(d) {
            if c & 0x03 != 0 {
                return Err(b64_error("invalid trailing bits"));
            }
            let v = v | (u32::from(c) << 6);
            out.extend_from_slice(&v.to_be_bytes()[1..3]);
            self.ended = true;
        } else {
            let v = v | (u32::from(c) << 6) | u32::from(d);
            out.extend_from_slice(&v.to_be_bytes()[1..]);
        }
        Ok(())
    }

    /// The end of the input: an incomplete group is an error.
    pub fn finish(self) -> anyhow::Result<()> {
        if self.filled != 0 {
            return Err(b64_error("incomplete final group"));
        }
        Ok(())
    }
}

/// The two parts of a multipart/signed entity (RFC 1847): the signed part's
/// exact bytes (as signed: CRLF line endings) and the signature part's entity.
pub fn multipart_signed_parts<'a>(entity: &Entity<'a>) -> anyhow::Result<(Vec<u8>, &'a [u8])> {
    let boundary = entity
        .content_type_param("boundary")
        .ok_or_else(|| fail(Exit::DataErr, "multipart/signed without a boundary"))?;
    let delimiter = format!("--{boundary}");
    let body = entity.body;
    // Delimiters are at the start of a line. NOTE: one memmem searcher over
    // the whole body (linear in body plus boundary) instead of a window
    // compare at every offset, which costs body × boundary: a long boundary
    // and many lines almost matching it took 27 s for a 3.9 MB message.
    let starts: Vec<usize> = memchr::memmem::find_iter(body, delimiter.as_bytes())
        .filter(|&at| at == 0 || body[at - 1] == b'\n')
        .take(3)
        .collect();
    if starts.len() < 3 {
        return Err(fail(
            Exit::DataErr,
            "malformed multipart/signed: expected two parts",
        ));
    }
    let part = |n: usize| -> &'a [u8] {
        let start = starts[n] + delimiter.len();
        let start = start
            + body[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| i + 1)
                .unwrap_or(0);
        let mut end = starts[n + 1];
        // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
        if end > start && body[end - 1] == b'\n' {
            end -= 1;
            if end > start && body[end - 1] == b'\r' {
                end -= 1;
            }
        }
        &body[start..end]
    };
    let signed = crate::smime::message::to_crlf(part(0)).into_owned();
    Ok((signed, part(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_params_and_base64() {
        let e = Entity::parse(
            b"Content-Type: application/pkcs7-mime;\r\n smime-type=\"enveloped-data\"; name=smime.p7m\r\nContent-Transfer-Encoding: BASE64\r\n\r\naGVs\r\nbG8=\r\n",
        )
        .unwrap();
        assert_eq!(e.media_type(), "application/pkcs7-mime");
        assert_eq!(
            e.content_type_param("SMIME-TYPE").as_deref(),
            Some("enveloped-data")
        );
        assert_eq!(e.content_type_param("name").as_deref(), Some("smime.p7m"));
        assert_eq!(e.decoded_body().unwrap(), b"hello");
        assert!(Entity::parse(b"\x30\x80binary").is_none());
        assert!(Entity::parse(b"no colon line\r\n\r\nbody").is_none());
    }

    fn one_shot_lines(data: &[u8], eol: &[u8]) -> Vec<u8> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(data);
        let mut want = Vec::new();
        for line in encoded.as_bytes().chunks(76) {
            want.extend_from_slice(line);
            want.extend_from_slice(eol);
        }
        want
    }

    #[test]
    fn base64_lines_equal_the_one_shot_encoding_wrapped() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        for len in (0..200).chain([1000, 4097]) {
            let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            for eol in [&b"\r\n"[..], b"\n"] {
                let mut got = b"x".to_vec();
                encode_base64_lines(&data, eol, &mut got);
                assert_eq!(got[1..], one_shot_lines(&data, eol), "{len}");
                assert_eq!(
                    base64_lines_len(len as u64, eol.len()),
                    got.len() as u64 - 1
                );
            }
        }
    }

    /// Which 76-column base64 writer is fastest (the one kept is
    /// [`encode_base64_lines`]): `cargo test --release --lib
    /// base64_line_writers_speed -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn base64_line_writers_speed() {
        use std::time::Instant;
        let data: Vec<u8> = (0..(64u32 << 20))
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let engine = &base64::engine::general_purpose::STANDARD;
        type Candidate<'a> = (&'a str, &'a dyn Fn(&[u8]) -> Vec<u8>);
        let candidates: [Candidate; 5] = [
            ("base64 crate, whole, then chunks(76)", &|d| {
                one_shot_lines(d, b"\r\n")
            }),
            ("base64 crate encode_slice per line", &|d| {
                let mut out = Vec::new();
                let mut line = [0u8; 76];
                for chunk in d.chunks(57) {
                    let n = engine.encode_slice(chunk, &mut line).unwrap();
                    out.extend_from_slice(&line[..n]);
                    out.extend_from_slice(b"\r\n");
                }
                out
            }),
            ("table codec, whole, then chunks(76)", &|d| {
                let mut enc = Vec::new();
                encode_base64_into(d, &mut enc);
                let mut out = Vec::with_capacity(enc.len() + enc.len() / 38 + 2);
                for line in enc.chunks(76) {
                    out.extend_from_slice(line);
                    out.extend_from_slice(b"\r\n");
                }
                out
            }),
            ("table codec per line", &|d| {
                let mut out = Vec::new();
                for chunk in d.chunks(57) {
                    encode_base64_into(chunk, &mut out);
                    out.extend_from_slice(b"\r\n");
                }
                out
            }),
            ("table codec in place (encode_base64_lines)", &|d| {
                let mut out = Vec::new();
                encode_base64_lines(d, b"\r\n", &mut out);
                out
            }),
        ];
        let want = one_shot_lines(&data, b"\r\n");
        for (name, f) in candidates {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                let out = f(&data);
                best = best.min(t.elapsed().as_secs_f64());
                assert!(out == want, "{name}");
            }
            let mib = data.len() as f64 / (1 << 20) as f64;
            eprintln!("{name:45} {:7.0} MiB/s", mib / best);
        }
    }

    #[test]
    fn streaming_base64_matches_the_whole_body_decoder() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for len in (0..40).chain([1000, 4097]) {
            let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let mut enc = Vec::new();
            encode_base64_into(&data, &mut enc);
            assert_eq!(
                enc,
                base64::engine::general_purpose::STANDARD
                    .encode(&data)
                    .into_bytes()
            );
            // With line breaks, decoded in random pieces.
            let mut text = Vec::new();
            for line in enc.chunks(76) {
                text.extend_from_slice(line);
                text.extend_from_slice(b"\r\n");
            }
            let mut d = Base64Decoder::default();
            let mut out = Vec::new();
            let mut at = 0;
            while at < text.len() {
                let n = rng.gen_range(1..=(text.len() - at).min(9));
                d.update(&text[at..at + n], &mut out).unwrap();
                at += n;
            }
            d.finish().unwrap();
            assert_eq!(out, data);
        }
        // Accepts and refuses exactly what the whole-body decoder does.
        for case in [
            "",
            "QQ==",
            "QUI=",
            "QUJD",
            "QR==",
            "QUJ=",
            "Q===",
            "====",
            "QQ",
            "QUJ",
            "QQ==QQ==",
            "QUJD\r\nQUJD",
            "QQ= =",
            " QUJD ",
            "QU!D",
            "QUJD=",
            "QQ==\r\n",
            "Q\tQ\x0c==",
        ] {
            let whole = decode_base64(case.as_bytes()).ok();
            for split in 0..=case.len() {
                let mut d = Base64Decoder::default();
                let mut out = Vec::new();
                let r = d
                    .update(&case.as_bytes()[..split], &mut out)
                    .and_then(|_| d.update(&case.as_bytes()[split..], &mut out))
                    .and_then(|_| d.finish());
                assert_eq!(r.ok().map(|_| out), whole, "{case:?} split at {split}");
            }
        }
    }

    /// A multipart/signed entity of `size` bytes built to make a boundary
    /// search quadratic: a `boundary`-long boundary of dashes, and a body of
    /// lines of dashes one shorter than the delimiter, so that every offset
    /// matches almost all of it.
    pub(crate) fn near_boundary_entity(size: usize, boundary: usize) -> Vec<u8> {
        let mut m = format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"{}\"\r\n\r\n",
            "-".repeat(boundary)
        )
        .into_bytes();
        let mut line = vec![b'-'; boundary + 1];
        line.push(b'\n');
        while m.len() < size {
            m.extend_from_slice(&line);
        }
        m
    }

    /// Issue #11, item 7: a 3.9 MB message took 27 s of CPU in `decrypt`,
    /// the boundary search costing body × boundary. 4 MB with a 200 kB
    /// boundary (some 4·10^11 byte comparisons before the fix, minutes) must
    /// be refused within the watchdog's generous 20 s; it takes milliseconds.
    #[test]
    fn boundary_search_is_linear_in_a_crafted_message() {
        let message = near_boundary_entity(4 << 20, 200_000);
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let entity = Entity::parse(&message).unwrap();
            let result = multipart_signed_parts(&entity).map(|_| ());
            let _ = done.send(result.map_err(|e| e.to_string()));
        });
        let result = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the boundary search did not finish within 20 s");
        let err = result.unwrap_err();
        assert!(err.contains("expected two parts"), "{err}");
    }

    #[test]
    fn splits_multipart_signed() {
        let msg = b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"XX\"\r\n\r\n\
preamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XX\r\nContent-Type: application/pkcs7-signature\r\n\r\nSIG\r\n--XX--\r\n";
        let e = Entity::parse(msg).unwrap();
        let (signed, sig) = multipart_signed_parts(&e).unwrap();
        assert_eq!(signed, b"Content-Type: text/plain\r\n\r\nhi");
        assert_eq!(sig, b"Content-Type: application/pkcs7-signature\r\n\r\nSIG");
    }
}
