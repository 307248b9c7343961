//! Where envelopes go as they are written: stdout or a file, as the
//! message itself or as Batch SMTP. Shared by `encrypt` and `explode`.

use std::io::Write;
use std::path::PathBuf;

use sealpost::error::{fail, Exit};
use sealpost::smime::encrypt::{self, EnvelopeSummary};
use sealpost::store::fsutil;

/// Where streamed envelopes go.
pub(super) enum Dest {
    Stdout(std::io::StdoutLock<'static>),
    File(Option<fsutil::AtomicFile>),
    /// What would go to stdout, kept for the `--json` document.
    Captured(Vec<u8>),
}

impl Dest {
    /// The file of `-o`, else stdout; with `capture` (`--json`), memory
    /// instead of stdout.
    pub(super) fn new(output: &Option<PathBuf>, capture: bool) -> anyhow::Result<Dest> {
        Ok(match output {
            Some(path) if path.as_os_str() != "-" => {
                Dest::File(Some(fsutil::AtomicFile::create(path, fsutil::PUBLIC_FILE)?))
            }
            _ if capture => Dest::Captured(Vec::new()),
            _ => Dest::Stdout(std::io::stdout().lock()),
        })
    }

    pub(super) fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match self {
            Dest::Stdout(out) => out
                .write_all(data)
                .map_err(|e| fail(Exit::IoErr, format!("cannot write to stdout: {e}"))),
            Dest::File(Some(f)) => f.write(data),
            Dest::File(None) => Err(fail(Exit::Software, "write after commit")),
            Dest::Captured(buf) => {
                buf.extend_from_slice(data);
                Ok(())
            }
        }
    }

    /// Flushes or commits; returns what was captured, if that is where it went.
    pub(super) fn finish(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Dest::Stdout(out) => out
                .flush()
                .map(|()| None)
                .map_err(|e| fail(Exit::IoErr, format!("cannot write to stdout: {e}"))),
            Dest::File(f) => f
                .take()
                .map_or(Ok(()), fsutil::AtomicFile::commit)
                .map(|()| None),
            Dest::Captured(buf) => Ok(Some(std::mem::take(buf))),
        }
    }
}

/// `--eml`: the one message as it is.
pub(super) struct EmlOut(pub(super) Dest);

impl encrypt::EnvelopeOutput for EmlOut {
    fn begin(&mut self, _: usize, _: &EnvelopeSummary) -> anyhow::Result<()> {
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.0.write(data)
    }
    fn end(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The default: one Batch SMTP transaction per envelope. The S/MIME body is
/// base64 (no line starts with a dot), so only the header section needs the
/// dot-stuffing that `bsmtp::write` applies.
pub(super) struct BsmtpOut {
    pub(super) dest: Dest,
    /// Whether the next byte starts a line.
    pub(super) line_start: bool,
}

impl encrypt::EnvelopeOutput for BsmtpOut {
    fn begin(&mut self, _: usize, env: &EnvelopeSummary) -> anyhow::Result<()> {
        let mut start = Vec::new();
        sealpost::smime::bsmtp::write(
            &mut start,
            &[sealpost::smime::bsmtp::Transaction {
                mail_from: env.mail_from.clone(),
                rcpt_to: env.rcpt_to.clone(),
                data: Vec::new(),
            }],
        )?;
        // Without the final ".\r\n": the message follows.
        start.truncate(start.len() - 3);
        self.line_start = true;
        self.dest.write(&start)
    }
    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        // Header sections come through here too: stuff any line starting with a dot.
        let was_line_start = self.line_start;
        let needs_stuffing = (was_line_start && data.first() == Some(&b'.'))
            || memchr::memmem::find(data, b"\n.").is_some();
        if let Some(&last) = data.last() {
            self.line_start = last == b'\n';
        }
        if !needs_stuffing {
            return self.dest.write(data);
        }
        let mut buf = Vec::with_capacity(data.len() + 16);
        for (i, &b) in data.iter().enumerate() {
            let line_start = if i == 0 {
                was_line_start
            } else {
                data[i - 1] == b'\n'
            };
            if b == b'.' && line_start {
                buf.push(b'.');
            }
            buf.push(b);
        }
        self.dest.write(&buf)
    }
    fn end(&mut self) -> anyhow::Result<()> {
        self.dest.write(b".\r\n")
    }
}
