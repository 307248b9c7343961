//! Where a message goes while it arrives: memory while it is small, an
//! unnamed file once it grows past [`SPILL`], so that however large a
//! server's message is (up to the configured maximum), fetch holds at most
//! [`SPILL`] bytes of it in memory. Its SHA-256 and length are computed on
//! the way in.
//!
//! The file is created with `O_TMPFILE` (or an exclusive random name,
//! unlinked at once) by `tempfile`, in the Maildir's `tmp/`, so that it is on
//! the same file system as the Maildir and nothing can be planted under its
//! name.

use std::fs::File;
use std::io::{self, BufWriter, Cursor, Read, Seek, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Bytes of a message held in memory before it moves to a file.
pub const SPILL: usize = 1 << 20;

/// A message being written.
pub struct Spool {
    dir: PathBuf,
    memory: Vec<u8>,
    file: Option<BufWriter<File>>,
    len: u64,
    hasher: Sha256,
}

/// A message received whole: readable from its start.
pub enum Spooled {
    Memory(Cursor<Vec<u8>>),
    File(File),
}

impl Spool {
    /// A spool that spills into `dir` when needed.
    pub fn new(dir: &Path) -> Spool {
        Spool {
            dir: dir.to_path_buf(),
            memory: Vec::new(),
            file: None,
            len: 0,
            hasher: Sha256::new(),
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The message, rewound, and its SHA-256 (hex).
    pub fn finish(self) -> io::Result<(Spooled, String)> {
        let hash = hex::encode(self.hasher.finalize());
        let spooled = match self.file {
            None => Spooled::Memory(Cursor::new(self.memory)),
            Some(w) => {
                let mut f = w.into_inner().map_err(|e| e.into_error())?;
                f.rewind()?;
                Spooled::File(f)
            }
        };
        Ok((spooled, hash))
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.memory.len() + buf.len() > SPILL {
            let mut f = BufWriter::with_capacity(64 * 1024, tempfile::tempfile_in(&self.dir)?);
            f.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(f);
        }
        match self.file.as_mut() {
            Some(f) => f.write_all(buf)?,
            None => self.memory.extend_from_slice(buf),
        }
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Spooled {
    /// Back to the first byte, to be read again.
    pub fn rewind(&mut self) -> io::Result<()> {
        match self {
            Spooled::Memory(c) => {
                c.set_position(0);
                Ok(())
            }
            Spooled::File(f) => f.rewind(),
        }
    }

    /// Bytes held in memory (none once spilled to a file).
    pub fn memory_len(&self) -> usize {
        match self {
            Spooled::Memory(c) => c.get_ref().len(),
            Spooled::File(_) => 0,
        }
    }
}

impl Read for Spooled {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Spooled::Memory(c) => c.read(buf),
            Spooled::File(f) => f.read(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_messages_stay_in_memory_and_large_ones_spill() {
        let dir = tempfile::tempdir().unwrap();
        let mut small = Spool::new(dir.path());
        small.write_all(b"hello").unwrap();
        let (mut s, hash) = small.finish().unwrap();
        assert_eq!(s.memory_len(), 5);
        assert_eq!(hash, hex::encode(Sha256::digest(b"hello")));
        let mut text = Vec::new();
        s.read_to_end(&mut text).unwrap();
        assert_eq!(text, b"hello");

        let chunk = vec![b'x'; 64 * 1024];
        let mut large = Spool::new(dir.path());
        for _ in 0..(2 * SPILL / chunk.len()) {
            large.write_all(&chunk).unwrap();
        }
        assert_eq!(large.len(), 2 * SPILL as u64);
        let (mut l, _) = large.finish().unwrap();
        assert_eq!(l.memory_len(), 0, "spilled to a file");
        let mut n = 0;
        let mut buf = [0u8; 8192];
        loop {
            let got = l.read(&mut buf).unwrap();
            if got == 0 {
                break;
            }
            assert!(buf[..got].iter().all(|&b| b == b'x'));
            n += got;
        }
        assert_eq!(n, 2 * SPILL);
        l.rewind().unwrap();
        assert!(l.read(&mut buf).unwrap() > 0);
        // Nothing named is left behind in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
