//! Just enough MIME to find S/MIME payloads: header fields of an entity
//! (unfolded, byte-safe), its media type and parameters, the body decoded
//! from its transfer encoding, and the parts of a multipart entity.
//!
//! This is deliberately separate from `message`, which rewrites line endings
//! for composing: here the body bytes must stay exactly as they arrived,
//! because a binary CMS body or a signed part changes meaning if one byte does.
//!
//! The entity and multipart/signed reading are here; the base64 transfer
//! encoding (the whole-body and streaming decoders, and the one 76-column
//! encoder of every entity sealpost writes) is in `base64.rs`.

mod base64;

pub use self::base64::{
    base64_lines_len, decode_base64, encode_base64_into, encode_base64_lines, Base64Decoder,
    BASE64_LINE_BYTES,
};

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

/// The two parts of a multipart/signed entity (RFC 1847): the signed part's
/// exact bytes (as signed: CRLF line endings) and the signature part's entity.
pub fn multipart_signed_parts<'a>(entity: &Entity<'a>) -> anyhow::Result<(Vec<u8>, &'a [u8])> {
    let boundary = entity
        .content_type_param("boundary")
        .ok_or_else(|| fail(Exit::DataErr, "multipart/signed without a boundary"))?;
    let parts = delimited_parts(entity.body, &boundary, 2);
    if parts.len() < 2 {
        return Err(fail(
            Exit::DataErr,
            "malformed multipart/signed: expected two parts",
        ));
    }
    let signed = crate::smime::message::to_crlf(parts[0]).into_owned();
    Ok((signed, parts[1]))
}

/// The parts of a multipart entity (RFC 2046 §5.1), at most `max`; `None`
/// without a boundary. A part not closed by a delimiter is left out.
pub fn multipart_parts<'a>(entity: &Entity<'a>, max: usize) -> Option<Vec<&'a [u8]>> {
    let boundary = entity.content_type_param("boundary")?;
    Some(delimited_parts(entity.body, &boundary, max))
}

/// The first `max` parts of `body` between delimiter lines of `boundary`.
fn delimited_parts<'a>(body: &'a [u8], boundary: &str, max: usize) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    // Delimiters are at the start of a line. NOTE: one memmem searcher over
    // the whole body (linear in body plus boundary) instead of a window
    // compare at every offset, which costs body × boundary: a long boundary
    // and many lines almost matching it took 27 s for a 3.9 MB message.
    let starts: Vec<usize> = memchr::memmem::find_iter(body, delimiter.as_bytes())
        .filter(|&at| at == 0 || body[at - 1] == b'\n')
        .take(max.saturating_add(1))
        .collect();
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
        &body[start.min(end)..end]
    };
    (0..starts.len().saturating_sub(1)).map(part).collect()
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
