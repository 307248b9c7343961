//! Attachments: the `--attach PATH[;type=TYPE][;name=NAME]` argument, the
//! file it names, and the attachment's content type, given (and checked) or
//! guessed from the file name.

use std::path::{Path, PathBuf};

use mail_builder::headers::content_type::ContentType;

use crate::error::{fail, fail_hint, Exit};

/// An attachment: file name shown to the recipient, content type, contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// `type/subtype` with optional `; key=value` parameters.
    pub content_type: String,
    pub data: Vec<u8>,
}

impl Attachment {
    /// An attachment with the given content type, or one guessed from the
    /// file name (mime_guess; `application/octet-stream` if unknown). A
    /// guessed `text/*` type gets `charset=utf-8` when the data is non-ASCII
    /// UTF-8. A malformed given type is a [`Exit::DataErr`].
    pub fn new(
        filename: &str,
        content_type: Option<&str>,
        data: Vec<u8>,
    ) -> anyhow::Result<Attachment> {
        if filename.is_empty() || filename.chars().any(char::is_control) {
            return Err(fail(
                Exit::DataErr,
                format!("invalid attachment file name {filename:?}"),
            ));
        }
        let content_type = match content_type {
            Some(given) => {
                let (essence, params) = parse_media_type(given)?;
                format_media_type(&essence, &params)
            }
            None => {
                let guess = mime_guess::from_path(filename).first_or_octet_stream();
                let essence = guess.essence_str().to_owned();
                if essence.starts_with("text/")
                    && !data.is_ascii()
                    && std::str::from_utf8(&data).is_ok()
                {
                    format!("{essence}; charset=utf-8")
                } else {
                    essence
                }
            }
        };
        Ok(Attachment {
            filename: filename.to_owned(),
            content_type,
            data,
        })
    }

    /// Reads the file an [`AttachSpec`] names. A file that cannot be read is
    /// an [`Exit::NoInput`] naming it.
    pub fn from_spec(spec: &AttachSpec) -> anyhow::Result<Attachment> {
        let data = std::fs::read(&spec.path).map_err(|e| {
            fail(
                Exit::NoInput,
                format!("cannot read attachment {}: {e}", spec.path.display()),
            )
        })?;
        let filename = match &spec.name {
            Some(name) => name.clone(),
            None => file_name(&spec.path)?,
        };
        Attachment::new(&filename, spec.content_type.as_deref(), data)
    }

    pub(super) fn mail_content_type(&self) -> anyhow::Result<ContentType<'_>> {
        let (essence, params) = parse_media_type(&self.content_type)?;
        let mut ct = ContentType::new(essence);
        for (k, v) in params {
            ct = ct.attribute(k, v);
        }
        Ok(ct)
    }
}

fn file_name(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            fail_hint(
                Exit::Usage,
                format!("attachment {} has no file name", path.display()),
                "give one with ;name=NAME",
            )
        })
}

/// The `--attach` argument: `PATH[;type=TYPE][;name=NAME]`.
///
/// The path ends at the first `;type=` or `;name=`; each value runs to the
/// next one of those or the end. So paths and names may contain `:` and `;`
/// freely, but not the exact sequences `;type=` and `;name=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachSpec {
    pub path: PathBuf,
    pub content_type: Option<String>,
    pub name: Option<String>,
}

impl AttachSpec {
    /// Parses the argument; an empty path, an empty or repeated key is an
    /// [`Exit::Usage`], a malformed type an [`Exit::DataErr`].
    pub fn parse(spec: &str) -> anyhow::Result<AttachSpec> {
        const KEYS: [&str; 2] = [";type=", ";name="];
        let next_key = |s: &str| {
            KEYS.iter()
                .filter_map(|k| s.find(k).map(|at| (at, *k)))
                .min_by_key(|(at, _)| *at)
        };
        let usage = |why: String| {
            fail_hint(
                Exit::Usage,
                format!("invalid --attach {spec:?}: {why}"),
                "write --attach 'FILE[;type=TYPE][;name=NAME]'",
            )
        };
        let (path, mut rest) = match next_key(spec) {
            Some((at, _)) => (&spec[..at], &spec[at..]),
            None => (spec, ""),
        };
        if path.is_empty() {
            return Err(usage("no file".into()));
        }
        let (mut content_type, mut name) = (None, None);
        while !rest.is_empty() {
            let key = KEYS.iter().find(|k| rest.starts_with(**k)).copied();
            let key = key.expect("rest always starts with a key");
            let after = &rest[key.len()..];
            let (value, tail) = match next_key(after) {
                Some((at, _)) => (&after[..at], &after[at..]),
                None => (after, ""),
            };
            let slot = if key == ";type=" {
                &mut content_type
            } else {
                &mut name
            };
            let key = &key[1..key.len() - 1];
            if value.trim().is_empty() {
                return Err(usage(format!("empty {key}")));
            }
            if slot.replace(value.to_owned()).is_some() {
                return Err(usage(format!("{key} given twice")));
            }
            rest = tail;
        }
        if let Some(ct) = &content_type {
            parse_media_type(ct)?;
        }
        Ok(AttachSpec {
            path: PathBuf::from(path),
            content_type,
            name,
        })
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// `type/subtype; k=v; k2="v 2"` → (lowercased essence, params).
fn parse_media_type(text: &str) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let bad = |why: &str| {
        fail(
            Exit::DataErr,
            format!("invalid content type {text:?}: {why}"),
        )
    };
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let (ty, sub) = essence
        .split_once('/')
        .ok_or_else(|| bad("expected type/subtype"))?;
    if !is_token(ty) || !is_token(sub) {
        return Err(bad("expected type/subtype"));
    }
    if ty.eq_ignore_ascii_case("multipart") || ty.eq_ignore_ascii_case("message") {
        return Err(bad(
            "multipart and message types cannot be attached as files",
        ));
    }
    let mut params = Vec::new();
    for param in parts {
        let (k, v) = param
            .split_once('=')
            .ok_or_else(|| bad("expected key=value after ';'"))?;
        let (k, v) = (k.trim(), v.trim());
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        if !is_token(k)
            || v.is_empty()
            || v.contains(['"', '\\'])
            || v.chars().any(char::is_control)
        {
            return Err(bad("malformed parameter"));
        }
        params.push((k.to_ascii_lowercase(), v.to_owned()));
    }
    Ok((essence.to_ascii_lowercase(), params))
}

fn format_media_type(essence: &str, params: &[(String, String)]) -> String {
    let mut out = essence.to_owned();
    for (k, v) in params {
        if is_token(v) {
            out.push_str(&format!("; {k}={v}"));
        } else {
            out.push_str(&format!("; {k}=\"{v}\""));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;

    #[test]
    fn attach_specs() {
        let s = AttachSpec::parse("dir/a:b;c.bin").unwrap();
        assert_eq!(s.path, PathBuf::from("dir/a:b;c.bin"));
        assert_eq!((s.content_type, s.name), (None, None));

        let s = AttachSpec::parse("x.dat;name=Bericht März.pdf;type=application/pdf").unwrap();
        assert_eq!(s.path, PathBuf::from("x.dat"));
        assert_eq!(s.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(s.name.as_deref(), Some("Bericht März.pdf"));

        let s = AttachSpec::parse("notes;type=text/plain; charset=iso-8859-1").unwrap();
        assert_eq!(
            s.content_type.as_deref(),
            Some("text/plain; charset=iso-8859-1")
        );

        for bad in [";type=text/plain", "x;type=", "x;name=a;name=b"] {
            let err = AttachSpec::parse(bad).unwrap_err();
            assert_eq!(classify(&err).0, Exit::Usage, "{bad:?}");
        }
        let err = AttachSpec::parse("x;type=nonsense").unwrap_err();
        assert_eq!(classify(&err).0, Exit::DataErr);
    }
}
