//! Encrypted messages inside a plain one: an S/MIME message forwarded as an
//! attachment (message/rfc822) or attached as a part of multipart/mixed.
//!
//! Such a message is not itself encrypted, and `decrypt` does not open a
//! part it was not asked for: the part may be for someone else, and what
//! surrounds it is not part of what was encrypted. It names the part
//! instead ([`encrypted_part`]), and `decrypt --part N` opens that part
//! alone ([`select_part`]), as a message of its own.
//!
//! Part numbers are IMAP's (RFC 3501 §6.4.5) for what matters here: the
//! parts of a multipart entity are numbered from 1, nested ones joined with
//! dots ("2.1"), and a message/rfc822 part stands for the message it
//! carries, so the first part of a multipart message forwarded as part 2
//! is "2.1". The walk is bounded in depth and in parts per entity.

use super::payload::cms_payload;
use crate::error::{fail, fail_hint, Exit};
use crate::smime::mime::{multipart_parts, Entity};

/// Deepest nesting of multiparts and forwarded messages searched.
const MAX_DEPTH: usize = 8;
/// Most parts of one multipart entity looked at.
const MAX_PARTS: usize = 1000;

/// The first part of `input` (depth first) that is an encrypted S/MIME
/// message, with its part number; `None` when there is none (or `input`
/// is not MIME).
pub fn encrypted_part(input: &[u8]) -> Option<String> {
    find(input, "", 0)
}

fn find(data: &[u8], number: &str, depth: usize) -> Option<String> {
    let entity = Entity::parse(data)?;
    let media_type = entity.media_type();
    if !number.is_empty() && is_encrypted(data) {
        return Some(number.to_string());
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    if media_type == "message/rfc822" {
        return find(entity.body, number, depth + 1);
    }
    if !media_type.starts_with("multipart/") {
        return None;
    }
    multipart_parts(&entity, MAX_PARTS)?
        .into_iter()
        .enumerate()
        .find_map(|(i, part)| find(part, &join(number, i + 1), depth + 1))
}

fn join(number: &str, n: usize) -> String {
    if number.is_empty() {
        n.to_string()
    } else {
        format!("{number}.{n}")
    }
}

/// Whether an entity is an application/pkcs7-mime enveloped (or
/// authenticated-enveloped) message.
fn is_encrypted(entity: &[u8]) -> bool {
    let Ok(Some(der)) = cms_payload(entity) else {
        return false;
    };
    let Ok(der) = crate::smime::envelope::ber::to_der(&der) else {
        return false;
    };
    <cms::content_info::ContentInfo as der::Decode>::from_der(&der).is_ok_and(|info| {
        info.content_type == const_oid::db::rfc5911::ID_ENVELOPED_DATA
            || info.content_type == crate::smime::envelope::ID_AUTH_ENVELOPED_DATA
    })
}

/// The part `number` of `input` ("2", "2.1"; see the module doc), as a
/// message of its own: for a message/rfc822 part, the message it carries.
pub fn select_part(input: &[u8], number: &str) -> anyhow::Result<Vec<u8>> {
    let missing = || {
        fail_hint(
            Exit::DataErr,
            format!("the message has no part {number}"),
            "parts are numbered from 1, nested ones joined with dots (2.1)",
        )
    };
    let mut current = unwrap_rfc822(input, 0)?;
    for (depth, step) in number.split('.').enumerate() {
        let n: usize = step.parse().ok().filter(|&n| n >= 1).ok_or_else(|| {
            fail(
                Exit::Usage,
                format!("--part {number}: not a part number such as 2 or 2.1"),
            )
        })?;
        let entity = Entity::parse(current).ok_or_else(missing)?;
        if depth >= MAX_DEPTH || !entity.media_type().starts_with("multipart/") {
            return Err(missing());
        }
        let parts = multipart_parts(&entity, MAX_PARTS).ok_or_else(missing)?;
        current = unwrap_rfc822(parts.get(n - 1).ok_or_else(missing)?, depth + 1)?;
    }
    Ok(current.to_vec())
}

/// A message/rfc822 entity's message; any other entity as it is.
fn unwrap_rfc822(data: &[u8], depth: usize) -> anyhow::Result<&[u8]> {
    match Entity::parse(data) {
        Some(entity) if entity.media_type() == "message/rfc822" && depth < MAX_DEPTH => {
            unwrap_rfc822(entity.body, depth + 1)
        }
        _ => Ok(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Part numbers as IMAP gives them: a forwarded message stands for its
    /// part, nested parts are joined with dots, and what is not there is an
    /// error, not a panic.
    #[test]
    fn parts_are_numbered_as_imap_numbers_them() {
        let inner = "Content-Type: multipart/mixed; boundary=in\r\n\r\n\
--in\r\nContent-Type: text/plain\r\n\r\nfirst\r\n\
--in\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--in--\r\n";
        let outer = format!(
            "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=out\r\n\r\n\
--out\r\nContent-Type: text/plain\r\n\r\nnote\r\n\
--out\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--out--\r\n"
        );
        let part =
            |n: &str| select_part(outer.as_bytes(), n).map(|p| String::from_utf8(p).unwrap());
        assert!(part("1").unwrap().ends_with("note"));
        assert!(part("2")
            .unwrap()
            .starts_with("Content-Type: multipart/mixed; boundary=in"));
        assert!(part("2.2").unwrap().ends_with("second"));
        for missing in ["3", "1.1", "2.3", "2.2.1"] {
            let err = part(missing).unwrap_err();
            assert_eq!(crate::error::classify(&err).0, Exit::DataErr, "{missing}");
        }
        for bad in ["0", "x", "2.", ""] {
            let err = part(bad).unwrap_err();
            assert_eq!(crate::error::classify(&err).0, Exit::Usage, "{bad:?}");
        }
        assert_eq!(encrypted_part(outer.as_bytes()), None);
    }
}
