//! The DNS message codec for one question type: an SRV query for a name,
//! and the reply checked against that query (ID, direction, question) and
//! parsed into records, following CNAMEs within the answer. Every size and
//! loop is bounded, so garbage is an error and never a panic.

use super::{Answer, SrvRecord};

/// DNS message limits: a UDP reply without EDNS is at most 512 bytes; a TCP
/// reply is at most 65535 by its length prefix.
pub(super) const UDP_MAX: usize = 512;
/// Compression pointers followed at most in one name: a name has at most
/// 127 labels, and a real answer points once or twice per name.
const MAX_POINTER_HOPS: usize = 127;
pub(super) const TYPE_SRV: u16 = 33;
pub(super) const TYPE_CNAME: u16 = 5;
pub(super) const CLASS_IN: u16 = 1;

/// A query for the SRV records of `name`, recursion desired.
pub fn build_query(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    encode_name(&mut q, name)?;
    q.extend_from_slice(&TYPE_SRV.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(q)
}

fn encode_name(out: &mut Vec<u8>, name: &str) -> Result<(), String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Err(format!("{name:?} is not a domain name"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 || !label.is_ascii() {
            return Err(format!("{name:?} is not a domain name"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

/// Why a reply was not usable.
#[derive(Debug, PartialEq, Eq)]
pub enum Parse {
    /// TC set: ask again over TCP.
    Truncated,
    /// The server answered with an error (SERVFAIL, REFUSED, …).
    Rcode(u8),
    /// Not a well-formed reply to our question.
    Malformed(&'static str),
}

impl std::fmt::Display for Parse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Parse::Truncated => write!(f, "truncated reply"),
            Parse::Rcode(2) => write!(f, "the server failed (SERVFAIL)"),
            Parse::Rcode(5) => write!(f, "the server refused the query (REFUSED)"),
            Parse::Rcode(c) => write!(f, "the server answered with error code {c}"),
            Parse::Malformed(why) => write!(f, "malformed reply: {why}"),
        }
    }
}

/// A reader over a DNS message that never reads past its end.
struct Cursor<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Parse> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.msg.len())
            .ok_or(Parse::Malformed("cut short"))?;
        let s = &self.msg[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, Parse> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A possibly compressed name, lower case without the final dot ("."
    /// for the root).
    fn name(&mut self) -> Result<String, Parse> {
        let mut labels: Vec<String> = Vec::new();
        let mut pos = self.pos;
        // Each pointer must go strictly before the last place jumped to (or
        // the name's start), so the walk ends even on a crafted message.
        let mut limit = pos;
        let mut resume = None;
        let mut total = 0usize;
        let mut hops = 0;
        loop {
            let len = *self.msg.get(pos).ok_or(Parse::Malformed("cut short"))? as usize;
            match len & 0xC0 {
                0x00 => {
                    if len == 0 {
                        pos += 1;
                        break;
                    }
                    let label = self
                        .msg
                        .get(pos + 1..pos + 1 + len)
                        .ok_or(Parse::Malformed("cut short"))?;
                    total += len + 1;
                    if total > 255 {
                        return Err(Parse::Malformed("name too long"));
                    }
                    labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
                    pos += 1 + len;
                }
                0xC0 => {
                    let low = *self.msg.get(pos + 1).ok_or(Parse::Malformed("cut short"))?;
                    let target = ((len & 0x3F) << 8) | low as usize;
                    if target >= limit {
                        return Err(Parse::Malformed("compression pointer loops"));
                    }
                    // Pointers only going backwards end the walk, but a
                    // chain of them read again for every record would make
                    // parsing quadratic; a real name needs a few.
                    hops += 1;
                    if hops > MAX_POINTER_HOPS {
                        return Err(Parse::Malformed("too many compression pointers in a name"));
                    }
                    resume.get_or_insert(pos + 2);
                    pos = target;
                    limit = target;
                }
                _ => return Err(Parse::Malformed("unknown label type")),
            }
        }
        self.pos = resume.unwrap_or(pos);
        Ok(if labels.is_empty() {
            ".".into()
        } else {
            labels.join(".")
        })
    }
}

pub(super) fn canonical(name: &str) -> String {
    let n = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if n.is_empty() {
        ".".into()
    } else {
        n
    }
}

/// Whether `msg` claims to answer our query: the ID, the QR bit and the
/// question (one, our name, SRV, IN).
pub(super) fn matches_query(msg: &[u8], id: u16, name: &str) -> bool {
    let mut c = Cursor { msg, pos: 0 };
    let head = (|| -> Result<bool, Parse> {
        let got_id = c.u16()?;
        let flags = c.u16()?;
        let qd = c.u16()?;
        c.take(6)?;
        if got_id != id || flags & 0x8000 == 0 || qd != 1 {
            return Ok(false);
        }
        let qname = c.name()?;
        Ok(qname == canonical(name) && c.u16()? == TYPE_SRV && c.u16()? == CLASS_IN)
    })();
    head.unwrap_or(false)
}

/// Parses a reply to [`build_query`]`(id, name)`: the SRV records at `name`
/// (following CNAMEs within the answer).
pub fn parse_reply(msg: &[u8], id: u16, name: &str) -> Result<Answer, Parse> {
    if !matches_query(msg, id, name) {
        return Err(Parse::Malformed("not an answer to the question asked"));
    }
    let mut c = Cursor { msg, pos: 2 };
    let flags = c.u16()?;
    if flags & 0x7800 != 0 {
        return Err(Parse::Malformed("unexpected opcode"));
    }
    if flags & 0x0200 != 0 {
        return Err(Parse::Truncated);
    }
    match (flags & 0x000F) as u8 {
        0 => {}
        3 => return Ok(Answer::NoRecords),
        code => return Err(Parse::Rcode(code)),
    }
    c.take(2)?;
    let ancount = c.u16()?;
    c.take(4)?;
    c.name()?;
    c.take(4)?;
    let mut srv = Vec::new();
    let mut cnames = Vec::new();
    for _ in 0..ancount {
        let owner = c.name()?;
        let rtype = c.u16()?;
        let class = c.u16()?;
        c.take(4)?;
        let rdlen = c.u16()? as usize;
        let start = c.pos;
        let end = start + rdlen;
        if end > msg.len() {
            return Err(Parse::Malformed("record data cut short"));
        }
        if class == CLASS_IN && rtype == TYPE_SRV {
            let priority = c.u16()?;
            let weight = c.u16()?;
            let port = c.u16()?;
            let target = c.name()?;
            if c.pos != end {
                return Err(Parse::Malformed("SRV record of the wrong length"));
            }
            srv.push((
                owner,
                SrvRecord {
                    priority,
                    weight,
                    port,
                    target,
                },
            ));
        } else if class == CLASS_IN && rtype == TYPE_CNAME {
            let alias = c.name()?;
            cnames.push((owner, alias));
        }
        c.pos = end;
    }
    // The records of the name asked, or of what it is an alias of.
    let mut owner = canonical(name);
    for _ in 0..8 {
        match cnames.iter().find(|(o, _)| *o == owner) {
            Some((_, alias)) => owner = alias.clone(),
            None => break,
        }
    }
    let records: Vec<SrvRecord> = srv
        .into_iter()
        .filter(|(o, _)| *o == owner)
        .map(|(_, r)| r)
        .collect();
    Ok(if records.is_empty() {
        Answer::NoRecords
    } else {
        Answer::Records(records)
    })
}
