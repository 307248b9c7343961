//! RFC 7512 `pkcs11:` URIs, parsed strictly: the attributes a group key
//! needs (which token, which object, where the module and the PIN are), each
//! at most once, percent-decoded; anything else is refused by name, so that
//! a typo (`objet=`) or an attribute sealpost would silently ignore
//! (`library-version=`) never selects another key than the operator meant.
//!
//! `pin-value` is refused too: the URI is stored in the group store, which
//! must never hold a secret; `pin-source` names a file instead.

use std::fmt;
use std::path::PathBuf;

use crate::error::{fail, fail_hint, Exit};

/// Longest URI accepted (they are typed or stored, never large).
pub const MAX_URI: usize = 4096;

/// What a `pkcs11:` URI names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// The URI as given (stored as is).
    pub text: String,
    /// CKA_LABEL of the token.
    pub token: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub slot_id: Option<u64>,
    /// CKA_LABEL of the key.
    pub object: Option<String>,
    /// CKA_ID of the key (raw bytes).
    pub id: Option<Vec<u8>>,
    /// A file holding the PIN (`pin-source=file:…` or an absolute path).
    pub pin_source: Option<PathBuf>,
    /// The PKCS#11 module to load.
    pub module_path: Option<PathBuf>,
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `text` is meant as a PKCS#11 URI (the scheme is case-insensitive).
pub fn is_pkcs11_uri(text: &str) -> bool {
    text.get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("pkcs11:"))
}

fn bad(text: impl Into<String>) -> anyhow::Error {
    fail_hint(
        Exit::Usage,
        text.into(),
        "write it as pkcs11:token=LABEL;object=KEY_LABEL (RFC 7512), e.g. \
         'pkcs11:token=lists;object=list-key?pin-source=file:/etc/sealpost/pin'",
    )
}

impl Pkcs11Uri {
    /// Parses `text`; every error names the offending attribute.
    pub fn parse(text: &str) -> anyhow::Result<Pkcs11Uri> {
        if text.len() > MAX_URI {
            return Err(bad(format!(
                "the PKCS#11 URI is longer than {MAX_URI} bytes"
            )));
        }
        if !is_pkcs11_uri(text) {
            return Err(bad("a PKCS#11 URI starts with pkcs11:"));
        }
        if let Some(c) = text
            .chars()
            .find(|c| c.is_control() || *c == ' ' || *c == '#')
        {
            return Err(bad(format!(
                "the PKCS#11 URI contains {c:?}: percent-encode it"
            )));
        }
        let rest = &text[7..];
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri {
            text: text.to_string(),
            ..Default::default()
        };
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = split_attr(attr)?;
            uri.set_path(name, value)?;
        }
        for attr in query.into_iter().flat_map(|q| q.split('&')) {
            if attr.is_empty() {
                continue;
            }
            let (name, value) = split_attr(attr)?;
            uri.set_query(name, value)?;
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(bad("the PKCS#11 URI names no key: give object= or id="));
        }
        Ok(uri)
    }

    /// The same token, module and PIN source, naming another key:
    /// `object=LABEL;id=ID` in place of the old ones (for a key made by
    /// `group rotate-key`).
    pub fn naming(&self, label: &str, id: &[u8]) -> anyhow::Result<Pkcs11Uri> {
        let rest = &self.text[7..];
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut attrs: Vec<String> = path
            .split(';')
            .filter(|a| !a.is_empty() && !a.starts_with("object=") && !a.starts_with("id="))
            .map(str::to_string)
            .collect();
        attrs.push(format!("object={}", encode(label.as_bytes())));
        let id: String = id.iter().map(|b| format!("%{b:02x}")).collect();
        attrs.push(format!("id={id}"));
        let mut text = format!("pkcs11:{}", attrs.join(";"));
        if let Some(query) = query {
            text.push('?');
            text.push_str(query);
        }
        Pkcs11Uri::parse(&text)
    }

    fn set_path(&mut self, name: &str, value: &str) -> anyhow::Result<()> {
        let text = || decode_text(name, value);
        match name {
            "token" => once(&mut self.token, name, text()?),
            "manufacturer" => once(&mut self.manufacturer, name, text()?),
            "serial" => once(&mut self.serial, name, text()?),
            "model" => once(&mut self.model, name, text()?),
            "object" => once(&mut self.object, name, text()?),
            "id" => once(&mut self.id, name, decode(name, value)?),
            "slot-id" => {
                let id = text()?
                    .parse::<u64>()
                    .map_err(|_| bad(format!("slot-id={value} is not a number")))?;
                once(&mut self.slot_id, name, id)
            }
            // A group key is a private key; anything else cannot unwrap.
            "type" => match text()?.as_str() {
                "private" => Ok(()),
                other => Err(bad(format!(
                    "type={other}: a group key is a private key (type=private)"
                ))),
            },
            _ => Err(unknown(name)),
        }
    }

    fn set_query(&mut self, name: &str, value: &str) -> anyhow::Result<()> {
        match name {
            "module-path" => once(
                &mut self.module_path,
                name,
                PathBuf::from(decode_text(name, value)?),
            ),
            "pin-source" => {
                let source = decode_text(name, value)?;
                let path = source.strip_prefix("file://").or_else(|| {
                    // file:/abs (no authority) is common too.
                    source.strip_prefix("file:")
                });
                let path = path.unwrap_or(&source);
                if !path.starts_with('/') {
                    return Err(bad(format!(
                        "pin-source={source}: give an absolute file path (file:/path/to/pin)"
                    )));
                }
                once(&mut self.pin_source, name, PathBuf::from(path))
            }
            "pin-value" => Err(fail_hint(
                Exit::Usage,
                "pin-value in a PKCS#11 URI is refused: the URI is stored, the PIN must not be",
                "put the PIN in a file and write pin-source=file:/path, or use --pin-file",
            )),
            _ => Err(unknown(name)),
        }
    }
}

fn unknown(name: &str) -> anyhow::Error {
    bad(format!(
        "unknown or unsupported PKCS#11 URI attribute {name:?} (sealpost reads token, \
         manufacturer, serial, model, slot-id, object, id, type, and in the query \
         module-path and pin-source)"
    ))
}

fn split_attr(attr: &str) -> anyhow::Result<(&str, &str)> {
    attr.split_once('=')
        .ok_or_else(|| bad(format!("PKCS#11 URI attribute {attr:?} has no '='")))
}

fn once<T>(slot: &mut Option<T>, name: &str, value: T) -> anyhow::Result<()> {
    if slot.is_some() {
        return Err(bad(format!("the PKCS#11 URI gives {name} twice")));
    }
    *slot = Some(value);
    Ok(())
}

/// Percent-encoding of everything but RFC 3986's unreserved characters
/// and `/` (paths stay readable).
pub fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(b) {
            text.push(*b as char);
        } else {
            text.push_str(&format!("%{b:02X}"));
        }
    }
    text
}

/// Percent-decoding (RFC 3986 §2.1): `%` and two hex digits, nothing else.
fn decode(name: &str, value: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .filter(|_| bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit())
                .ok_or_else(|| bad(format!("{name}= has a bad percent-escape")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(name: &str, value: &str) -> anyhow::Result<String> {
    let bytes = decode(name, value)?;
    let text =
        String::from_utf8(bytes).map_err(|_| bad(format!("{name}= is not UTF-8 once decoded")))?;
    if text.is_empty() {
        return Err(bad(format!("{name}= is empty")));
    }
    if text.chars().any(char::is_control) {
        return Err(fail(
            Exit::Usage,
            format!("{name}= holds a control character"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;

    #[test]
    fn naming_another_key_keeps_the_token_module_and_pin_source() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=lists;object=list-key;id=%a1?pin-source=file:/p&module-path=/m.so",
        )
        .unwrap();
        let next = uri.naming("list key-g2", &[0xb2, 0x07]).unwrap();
        assert_eq!(
            next.text,
            "pkcs11:token=lists;object=list%20key-g2;id=%b2%07?pin-source=file:/p&module-path=/m.so"
        );
        assert_eq!(next.object.as_deref(), Some("list key-g2"));
        assert_eq!(next.id.as_deref(), Some(&[0xb2, 0x07][..]));
        assert_eq!(next.pin_source, uri.pin_source);
        assert_eq!(next.module_path, uri.module_path);
    }

    #[test]
    fn reads_every_supported_attribute_percent_decoded() {
        let text = "pkcs11:token=My%20Lists;manufacturer=SoftHSM%20project;serial=1a2b;\
                    model=SoftHSM%20v2;slot-id=7;object=list%3Bkey;id=%01%02%ff;type=private\
                    ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/pin%20file";
        let uri = Pkcs11Uri::parse(text).unwrap();
        assert_eq!(uri.token.as_deref(), Some("My Lists"));
        assert_eq!(uri.manufacturer.as_deref(), Some("SoftHSM project"));
        assert_eq!(uri.serial.as_deref(), Some("1a2b"));
        assert_eq!(uri.model.as_deref(), Some("SoftHSM v2"));
        assert_eq!(uri.slot_id, Some(7));
        assert_eq!(uri.object.as_deref(), Some("list;key"));
        assert_eq!(uri.id.as_deref(), Some(&[1u8, 2, 0xff][..]));
        assert_eq!(
            uri.module_path.as_deref(),
            Some(std::path::Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert_eq!(
            uri.pin_source.as_deref(),
            Some(std::path::Path::new("/etc/pin file"))
        );
        assert_eq!(uri.to_string(), text);
        // The scheme is case-insensitive; file:// and a bare path are pin sources.
        let uri = Pkcs11Uri::parse("PKCS11:object=k?pin-source=file:///p").unwrap();
        assert_eq!(uri.pin_source.as_deref(), Some(std::path::Path::new("/p")));
        let uri = Pkcs11Uri::parse("pkcs11:id=%0a?pin-source=/p").unwrap();
        assert_eq!(uri.id.as_deref(), Some(&[10u8][..]));
    }

    #[test]
    fn refuses_what_it_would_otherwise_ignore_or_misread() {
        for (text, says) in [
            ("pkcs11:token=a;objet=k", "\"objet\""),
            ("pkcs11:object=k;library-version=1", "\"library-version\""),
            ("pkcs11:object=k?module-name=softhsm2", "\"module-name\""),
            ("pkcs11:object=k?pin-value=1234", "pin-value"),
            ("pkcs11:object=k;object=l", "object twice"),
            ("pkcs11:object=k%4", "percent-escape"),
            ("pkcs11:object=k%zz", "percent-escape"),
            ("pkcs11:object=%ff", "not UTF-8"),
            ("pkcs11:object=", "empty"),
            ("pkcs11:object", "no '='"),
            ("pkcs11:token=a", "names no key"),
            ("pkcs11:object=k;type=cert", "type=cert"),
            ("pkcs11:object=k;slot-id=x", "slot-id"),
            ("pkcs11:object=k?pin-source=pin.txt", "absolute"),
            ("pkcs11:object=a b", "percent-encode"),
            ("file:/x", "starts with pkcs11:"),
            ("pkcs11:object=k%0a", "control character"),
        ] {
            let err = Pkcs11Uri::parse(text).unwrap_err();
            assert!(err.to_string().contains(says), "{text}: {err}");
            assert_eq!(classify(&err).0, Exit::Usage, "{text}");
            assert!(!err.to_string().contains('\n'), "{text}: one line");
        }
        assert!(Pkcs11Uri::parse(&format!("pkcs11:object={}", "a".repeat(MAX_URI))).is_err());
    }
}
