//! What the pipeline must read more than once, kept aside: the ciphertext
//! that envelopes after the first replay ([`Spool`]), and a message from a
//! pipe that `--sign` reads twice ([`SealedSpool`]). Both live in memory or
//! in anonymous temporary files (already unlinked, so they disappear on
//! every exit path); no plaintext is written to a file.

use std::io::{Read, Seek, SeekFrom, Write};

use aes_gcm::aes::Aes256;
use ctr::cipher::{KeyIvInit as _, StreamCipher as _, StreamCipherSeek as _};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::CHUNK;
use crate::error::{fail, Exit};

/// Ciphertext kept in memory for later envelopes up to this size; beyond it,
/// in an unlinked temporary file.
const SPOOL_IN_MEMORY: usize = 4 << 20;

/// Ciphertext shared by later envelopes: memory first, then an anonymous
/// temporary file (already unlinked, so it disappears on every exit path).
pub(super) enum Spool {
    Memory(Vec<u8>),
    File(std::fs::File, u64),
}

fn spool_err(e: std::io::Error) -> anyhow::Error {
    fail(
        Exit::IoErr,
        format!("cannot write the temporary ciphertext file: {e}"),
    )
}

impl Spool {
    pub(super) fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        if let Spool::Memory(v) = self {
            if v.len() + data.len() <= SPOOL_IN_MEMORY {
                v.extend_from_slice(data);
                return Ok(());
            }
            let mut file = tempfile::tempfile().map_err(spool_err)?;
            file.write_all(v).map_err(spool_err)?;
            let len = v.len() as u64;
            *self = Spool::File(file, len);
        }
        if let Spool::File(file, len) = self {
            file.write_all(data).map_err(spool_err)?;
            *len += data.len() as u64;
        }
        Ok(())
    }

    pub(super) fn len(&self) -> u64 {
        match self {
            Spool::Memory(v) => v.len() as u64,
            Spool::File(_, len) => *len,
        }
    }

    /// Passes the whole spool to `f` in pieces.
    pub(super) fn replay(
        &mut self,
        f: &mut dyn FnMut(&[u8]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match self {
            Spool::Memory(v) => {
                for piece in v.chunks(CHUNK) {
                    f(piece)?;
                }
                Ok(())
            }
            Spool::File(file, _) => {
                file.seek(SeekFrom::Start(0)).map_err(spool_err)?;
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = match file.read(&mut buf) {
                        Ok(0) => return Ok(()),
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(spool_err(e)),
                    };
                    f(&buf[..n])?;
                }
            }
        }
    }
}

type Keystream = ctr::Ctr128BE<Aes256>;

/// The keystream from its start: the key is used for this spool alone, so
/// the counter starts at zero.
fn keystream(key: &[u8; 32]) -> std::io::Result<Keystream> {
    Keystream::new_from_slices(key, &[0u8; 16]).map_err(std::io::Error::other)
}

/// A message read from a pipe, kept to be read again: in an unlinked
/// temporary file, encrypted under a key that exists only in this process
/// (AES-256-CTR), so that the plaintext never rests on disk.
pub struct SealedSpool {
    file: std::fs::File,
    key: Zeroizing<[u8; 32]>,
    /// The keystream at the file's position.
    keystream: Keystream,
    buf: Zeroizing<Vec<u8>>,
}

impl SealedSpool {
    /// An empty spool, positioned at its start.
    pub fn new(rng: &mut impl CryptoRngCore) -> std::io::Result<SealedSpool> {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut key[..]);
        let keystream = keystream(&key)?;
        Ok(SealedSpool {
            file: tempfile::tempfile()?,
            key,
            keystream,
            buf: Zeroizing::new(Vec::new()),
        })
    }

    /// Everything `input` holds, appended; then back to the start.
    pub fn fill(&mut self, input: &mut dyn Read) -> std::io::Result<u64> {
        let mut chunk = Zeroizing::new(vec![0u8; CHUNK]);
        let mut total = 0;
        loop {
            let n = match input.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.write_all(&chunk[..n])?;
            total += n as u64;
        }
        self.seek(SeekFrom::Start(0))?;
        Ok(total)
    }
}

impl Write for SealedSpool {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.clear();
        self.buf.extend_from_slice(data);
        self.keystream.apply_keystream(&mut self.buf);
        self.file.write_all(&self.buf)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Read for SealedSpool {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(out)?;
        self.keystream.apply_keystream(&mut out[..n]);
        Ok(n)
    }
}

impl Seek for SealedSpool {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let at = self.file.seek(to)?;
        self.keystream = keystream(&self.key)?;
        self.keystream.seek(at);
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_spool_reads_back_what_went_in_and_keeps_no_plaintext() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 1000)).map(|i| (i % 251) as u8).collect();
        let mut spool = SealedSpool::new(&mut rand_core::OsRng).unwrap();
        assert_eq!(spool.fill(&mut &data[..]).unwrap(), data.len() as u64);
        for _ in 0..2 {
            let mut back = Vec::new();
            spool.read_to_end(&mut back).unwrap();
            assert!(back == data);
            spool.seek(SeekFrom::Start(0)).unwrap();
        }
        spool.seek(SeekFrom::Start(1234)).unwrap();
        let mut tail = Vec::new();
        spool.read_to_end(&mut tail).unwrap();
        assert!(tail == data[1234..]);
        let mut on_disk = Vec::new();
        spool.file.seek(SeekFrom::Start(0)).unwrap();
        spool.file.read_to_end(&mut on_disk).unwrap();
        assert_eq!(on_disk.len(), data.len());
        // Encrypted: about one byte in 256 equal by chance, not all of them.
        let equal = on_disk.iter().zip(&data).filter(|(a, b)| a == b).count();
        assert!(equal < data.len() / 100, "{equal} bytes as they were");
    }
}
