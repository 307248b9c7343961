//! Reading the message for `encrypt`: its header section, and its body as
//! a stream the pipeline reads once, or for `--sign` twice (a regular file
//! is read again; a pipe is kept in a sealed spool first).

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom, Write as _};
use std::path::Path;

use sealpost::error::{fail, Exit};
use sealpost::smime::encrypt::{self, SealedSpool};

/// A message whose body is longer than this is not read into memory before
/// it is encrypted (the output is the same, byte for byte, either way).
const STREAM_THRESHOLD: usize = 1 << 20;
/// A header section longer than this is not looked for further: the message
/// is read whole.
const MAX_HEAD: usize = 8 << 20;

/// A body that can be read again from where it started.
pub(super) trait Rewindable: Read + Seek + Send {}
impl<T: Read + Seek + Send> Rewindable for T {}

pub(super) enum Body {
    /// Read once, as it comes.
    Once(Box<dyn Read + Send>),
    /// Read twice: `--sign` digests it first.
    Rewindable(Box<dyn Rewindable>),
}

pub(super) struct Input {
    /// The header section through its blank line (the whole message if it
    /// has none).
    pub(super) head: Vec<u8>,
    pub(super) body: Body,
    /// The body's length after CRLF conversion, when it is known without
    /// reading a pipe to its end.
    pub(super) body_len: Option<u64>,
}

pub(super) fn read_err(path: &Path, e: std::io::Error) -> anyhow::Error {
    let exit = match e.kind() {
        std::io::ErrorKind::NotFound => Exit::NoInput,
        std::io::ErrorKind::PermissionDenied => Exit::NoPerm,
        _ => Exit::IoErr,
    };
    if path.as_os_str() == "-" {
        fail(Exit::IoErr, format!("cannot read stdin: {e}"))
    } else {
        fail(exit, format!("cannot read {}: {e}", path.display()))
    }
}

fn read_some(r: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<usize> {
    let start = buf.len();
    buf.resize(start + want, 0);
    let n = loop {
        match r.read(&mut buf[start..]) {
            Ok(n) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    };
    buf.truncate(start + n);
    Ok(n)
}

/// A message read to its end: the body is in memory after the header.
fn whole(mut data: Vec<u8>, head_len: usize, rewindable: bool) -> Input {
    let body = Cursor::new(data.split_off(head_len));
    let mut crlf = encrypt::CrlfStream::default();
    let body_len = Some(crlf.converted_len(body.get_ref()));
    Input {
        head: data,
        body: if rewindable {
            Body::Rewindable(Box::new(body))
        } else {
            Body::Once(Box::new(body))
        },
        body_len,
    }
}

/// Reads the header section and enough of the body to tell whether the
/// message is large; `rewindable` (`--sign`) asks for a body that can be
/// read twice.
pub(super) fn open(path: &Path, rewindable: bool) -> anyhow::Result<Input> {
    let stdin = path.as_os_str() == "-";
    let file = if stdin {
        None
    } else {
        Some(File::open(path).map_err(|e| read_err(path, e))?)
    };
    let mut reader: Box<dyn Read + Send> = match &file {
        Some(f) => Box::new(f.try_clone().map_err(|e| read_err(path, e))?),
        None => {
            super::super::announce_terminal_stdin();
            Box::new(std::io::stdin())
        }
    };
    let mut data = Vec::new();
    let mut eof = false;
    let mut head = None;
    while head.is_none() && !eof && data.len() < MAX_HEAD {
        let scan_from = data.len().saturating_sub(2);
        eof = read_some(&mut *reader, &mut data, 64 << 10).map_err(|e| read_err(path, e))? == 0;
        // A line break may straddle the reads: look again from just before them.
        let from = data[..scan_from]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        head = encrypt::head_end(&data[from..]).map(|e| e + from);
    }
    let Some(head_len) = head else {
        // No end of the header section (or an absurdly long one): read it
        // whole. Not past an end of input already seen: on a terminal, Ctrl-D
        // ends one read, and another would wait for more typing.
        if !eof {
            reader
                .read_to_end(&mut data)
                .map_err(|e| read_err(path, e))?;
        }
        let len = data.len();
        return Ok(whole(data, len, rewindable));
    };
    while !eof && data.len() - head_len <= STREAM_THRESHOLD {
        eof = read_some(&mut *reader, &mut data, 256 << 10).map_err(|e| read_err(path, e))? == 0;
    }
    if eof {
        return Ok(whole(data, head_len, rewindable));
    }
    let regular = file
        .as_ref()
        .is_some_and(|f| f.metadata().is_ok_and(|m| m.is_file()));
    let ahead = data.split_off(head_len);
    let (body, body_len) = match file {
        Some(mut f) if regular && rewindable => {
            // Read again from the start of the body.
            f.seek(SeekFrom::Start(head_len as u64))
                .map_err(|e| read_err(path, e))?;
            (Body::Rewindable(Box::new(f)), None)
        }
        _ if rewindable => {
            // A pipe: kept aside, sealed, to be read twice.
            let spool_err = |e: std::io::Error| {
                fail(
                    Exit::IoErr,
                    format!("cannot write the temporary message file: {e}"),
                )
            };
            let mut spool = SealedSpool::new(&mut rand_core::OsRng).map_err(spool_err)?;
            spool.write_all(&ahead).map_err(spool_err)?;
            spool.fill(&mut reader).map_err(|e| read_err(path, e))?;
            (Body::Rewindable(Box::new(spool)), None)
        }
        Some(mut f) if regular => {
            // A regular file: its body's length makes the envelope definite-length DER.
            f.seek(SeekFrom::Start(head_len as u64))
                .map_err(|e| read_err(path, e))?;
            let len = encrypt::crlf_body_len(&mut f).map_err(|e| read_err(path, e))?;
            f.seek(SeekFrom::Start((head_len + ahead.len()) as u64))
                .map_err(|e| read_err(path, e))?;
            let body = Box::new(Cursor::new(ahead).chain(reader));
            (Body::Once(body), Some(len))
        }
        _ => (Body::Once(Box::new(Cursor::new(ahead).chain(reader))), None),
    };
    Ok(Input {
        head: data,
        body,
        body_len,
    })
}
