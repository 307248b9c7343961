//! Connections for IMAP, POP3 and SMTP: TCP with a timeout, rustls on the
//! aws-lc-rs provider (system roots plus an optional extra CA), implicit TLS or STARTTLS/STLS, host
//! failover, lines read within a bound, and a count of the bytes on the wire.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};

use crate::error::{fail, fail_hint, Exit};
use crate::store::account::{Endpoint, Security};

/// A TCP stream, TLS or not: the client side here, the server side in the
/// tests' fake servers.
pub enum Stream<C = rustls::ClientConnection> {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<C, TcpStream>>),
}

impl<C, S> Read for Stream<C>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<S>>,
    S: rustls::SideData,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl<C, S> Write for Stream<C>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<S>>,
    S: rustls::SideData,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A buffered line-oriented connection that counts bytes both ways.
pub struct Conn {
    reader: BufReader<Counted>,
}

struct Counted {
    inner: Stream,
    /// Bytes read and written on the connection (compressed, if COMPRESS is on).
    bytes: u64,
    /// The same bytes before compression and after decompression.
    plain: u64,
    deflate: Option<Box<Deflate>>,
}

/// Raw deflate both ways (RFC 4978): every write ends with a sync flush.
struct Deflate {
    out: flate2::write::DeflateEncoder<Vec<u8>>,
    inflate: flate2::Decompress,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

fn corrupt(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("bad compressed data from the server: {e}"),
    )
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(z) = self.deflate.as_mut() else {
            let n = self.inner.read(buf)?;
            self.bytes += n as u64;
            self.plain += n as u64;
            return Ok(n);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // Output still held by the inflater comes first (empty input).
            let (in0, out0) = (z.inflate.total_in(), z.inflate.total_out());
            let status = z
                .inflate
                .decompress(&z.buf[z.pos..z.len], buf, flate2::FlushDecompress::None)
                .map_err(corrupt)?;
            let used = (z.inflate.total_in() - in0) as usize;
            let made = (z.inflate.total_out() - out0) as usize;
            z.pos += used;
            if made > 0 {
                self.plain += made as u64;
                return Ok(made);
            }
            if status == flate2::Status::StreamEnd {
                return Ok(0);
            }
            if used > 0 {
                continue;
            }
            if z.pos < z.len {
                return Err(corrupt("the stream makes no progress"));
            }
            let n = self.inner.read(&mut z.buf)?;
            self.bytes += n as u64;
            if n == 0 {
                return Ok(0);
            }
            z.pos = 0;
            z.len = n;
        }
    }
}

/// Longest line accepted from a server (a guard against garbage and
/// against a server that sends one endless line).
pub const MAX_LINE: usize = 64 * 1024;

/// A failed read or write on a server connection, classified: a server that
/// sent something unacceptable (an overlong line, bad compressed data) is
/// [`Exit::Unavailable`]; a connection that broke or timed out is
/// [`Exit::TempFail`] (running again resumes).
pub fn wire_error(what: &str, e: io::Error) -> anyhow::Error {
    let exit = match e.kind() {
        io::ErrorKind::InvalidData => Exit::Unavailable,
        _ => Exit::TempFail,
    };
    fail(exit, format!("{what}: {e}"))
}

impl Conn {
    pub(crate) fn new(stream: Stream) -> Conn {
        Conn {
            reader: BufReader::new(Counted {
                inner: stream,
                bytes: 0,
                plain: 0,
                deflate: None,
            }),
        }
    }

    /// Reads one line, without its CRLF. End of stream is an error, and so
    /// is a line longer than [`MAX_LINE`].
    pub fn read_line(&mut self) -> io::Result<Vec<u8>> {
        self.read_line_within(MAX_LINE)
    }

    /// Reads one line of at most `max` bytes (CRLF included), without its
    /// CRLF: a longer one is refused after `max` bytes, so a server sending
    /// an endless line costs `max` bytes of memory, not more.
    pub fn read_line_within(&mut self, max: usize) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        let n = (&mut self.reader)
            .take(max as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        if !line.ends_with(b"\n") {
            // Cut by the bound, or by the end of the stream mid-line.
            return Err(if line.len() >= max {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the server sent an overlong line",
                )
            } else {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection mid-line",
                )
            });
        }
        line.pop();
        if line.ends_with(b"\r") {
            line.pop();
        }
        Ok(line)
    }

    /// Reads exactly `n` bytes into memory: only for small, already bounded `n`.
    pub fn read_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        self.reader.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Copies exactly `n` bytes to `out` as they arrive, a buffer at a time,
    /// so that a large literal never sits in memory whole.
    pub fn copy_exact(&mut self, mut n: u64, out: &mut dyn Write) -> Result<(), CopyError> {
        while n > 0 {
            let buf = self.reader.fill_buf().map_err(CopyError::Read)?;
            if buf.is_empty() {
                return Err(CopyError::Read(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )));
            }
            let take = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            out.write_all(&buf[..take]).map_err(CopyError::Write)?;
            self.reader.consume(take);
            n -= take as u64;
        }
        Ok(())
    }

    /// Writes and flushes (compressed, with a sync flush, once
    /// [`Conn::start_deflate`] ran).
    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        let c = self.reader.get_mut();
        let compressed = match c.deflate.as_mut() {
            Some(z) => {
                z.out.write_all(data)?;
                z.out.flush()?;
                Some(std::mem::take(z.out.get_mut()))
            }
            None => None,
        };
        // Uncompressed data (a whole SMTP message, say) is written as it is, not copied.
        let wire = compressed.as_deref().unwrap_or(data);
        c.inner.write_all(wire)?;
        c.inner.flush()?;
        c.bytes += wire.len() as u64;
        c.plain += data.len() as u64;
        Ok(())
    }

    /// Bytes on the wire so far, both ways (compressed when compression is on).
    pub fn bytes(&self) -> u64 {
        self.reader.get_ref().bytes
    }

    /// The same bytes uncompressed (equal to [`Conn::bytes`] without compression).
    pub fn plain_bytes(&self) -> u64 {
        self.reader.get_ref().plain
    }

    pub fn is_compressed(&self) -> bool {
        self.reader.get_ref().deflate.is_some()
    }

    /// Wraps the connection in raw deflate both ways (after the server's OK
    /// to IMAP `COMPRESS DEFLATE`). Data the server sent after that OK and
    /// before this call would be compressed already: it is refused.
    pub fn start_deflate(&mut self) -> io::Result<()> {
        if !self.reader.buffer().is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the server sent data right after accepting COMPRESS",
            ));
        }
        self.reader.get_mut().deflate = Some(Box::new(Deflate {
            out: flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default()),
            inflate: flate2::Decompress::new(false),
            buf: vec![0; 16 * 1024],
            pos: 0,
            len: 0,
        }));
        Ok(())
    }

    /// Replaces the plain stream with TLS (after STARTTLS/STLS). Anything
    /// the server sent after its reply and before the handshake is refused.
    pub fn upgrade(self, tls: &TlsSetup, host: &str) -> anyhow::Result<Conn> {
        if !self.reader.buffer().is_empty() {
            return Err(anyhow::anyhow!(
                "the server sent data before the TLS handshake"
            ));
        }
        let counted = self.reader.into_inner();
        let (bytes, plain) = (counted.bytes, counted.plain);
        let Stream::Plain(tcp) = counted.inner else {
            return Err(anyhow::anyhow!("already encrypted"));
        };
        let mut conn = Conn::new(tls.wrap(tcp, host)?);
        conn.reader.get_mut().bytes = bytes;
        conn.reader.get_mut().plain = plain;
        Ok(conn)
    }
}

/// Why [`Conn::copy_exact`] stopped.
pub enum CopyError {
    /// Reading from the server failed.
    Read(io::Error),
    /// Writing where the data goes (the local spool) failed.
    Write(io::Error),
}

impl CopyError {
    /// The classified error: see [`wire_error`]; a local write failure is
    /// [`Exit::IoErr`].
    pub fn into_error(self, what: &str) -> anyhow::Error {
        match self {
            CopyError::Read(e) => wire_error(what, e),
            CopyError::Write(e) => fail(
                Exit::IoErr,
                format!("{what}: cannot store the message: {e}"),
            ),
        }
    }
}

/// The certificates of a PEM CA file (`--ca-file`): at least one, all
/// well formed.
pub fn ca_certificates(pem: &[u8]) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(Exit::Config, format!("bad CA file: {e}")))?;
    if certs.is_empty() {
        return Err(fail(Exit::Config, "the CA file holds no certificate"));
    }
    Ok(certs)
}

/// The TLS client settings.
#[derive(Clone)]
pub struct TlsSetup {
    config: Arc<rustls::ClientConfig>,
}

impl TlsSetup {
    /// System roots plus the certificates in `extra_ca_pem`.
    pub fn new(extra_ca_pem: Option<&[u8]>) -> anyhow::Result<TlsSetup> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(pem) = extra_ca_pem {
            for cert in ca_certificates(pem)? {
                roots
                    .add(cert)
                    .map_err(|e| fail(Exit::Config, format!("bad CA certificate: {e}")))?;
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(Exit::Software, format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsSetup {
            config: Arc::new(config),
        })
    }

    /// The rustls configuration, for other TLS clients (tests' HTTPS clients).
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }

    /// TLS over `tcp` to `host`, the handshake completed, so that
    /// certificate errors surface here and not mid-protocol. Mail and key
    /// release both connect through this.
    pub fn handshake(
        &self,
        tcp: TcpStream,
        host: &str,
    ) -> anyhow::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| anyhow::anyhow!("invalid server name {host:?}: {e}"))?;
        let conn = rustls::ClientConnection::new(self.config.clone(), name)?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .map_err(|e| anyhow::anyhow!("TLS: {e}"))?;
        }
        Ok(tls)
    }

    fn wrap(&self, tcp: TcpStream, host: &str) -> anyhow::Result<Stream> {
        Ok(Stream::Tls(Box::new(self.handshake(tcp, host)?)))
    }
}

/// How a protocol turns a plain connection into TLS and logs in.
pub trait Dialect {
    type Session;
    /// After connect (before TLS for STARTTLS): read the greeting, send
    /// STARTTLS/STLS. Returns the connection ready for the handshake.
    fn starttls(conn: &mut Conn) -> anyhow::Result<()>;
    /// Reads the greeting on a TLS or plain connection.
    fn greeting(conn: &mut Conn) -> anyhow::Result<()>;
    /// Logs in. `Err(Login)` for a refused login.
    fn login(conn: Conn, user: &str, password: &str) -> Result<Self::Session, LoginError>;
}

/// Why logging in failed.
pub enum LoginError {
    /// The server refused the credentials.
    Refused(String),
    /// Anything else (connection, protocol).
    Other(anyhow::Error),
}

/// Connects to the first endpoint that works and logs in. A refused login
/// stops the search with [`Exit::NoPerm`]; when every endpoint fails, the
/// error names each and why ([`Exit::Unavailable`]).
pub fn connect<D: Dialect>(
    endpoints: &[Endpoint],
    tls: &TlsSetup,
    user: &str,
    password: &str,
    timeout: Duration,
) -> anyhow::Result<D::Session> {
    let mut reasons = Vec::new();
    for e in endpoints {
        let attempt = (|| -> Result<D::Session, LoginError> {
            let mut conn = open(e, tls, timeout).map_err(LoginError::Other)?;
            if e.security == Security::StartTls {
                D::starttls(&mut conn).map_err(LoginError::Other)?;
                let c = conn.upgrade(tls, &e.host).map_err(LoginError::Other)?;
                return D::login(c, user, password);
            }
            D::greeting(&mut conn).map_err(LoginError::Other)?;
            D::login(conn, user, password)
        })();
        match attempt {
            Ok(s) => return Ok(s),
            Err(LoginError::Refused(why)) => {
                return Err(fail_hint(
                    Exit::NoPerm,
                    format!("{e} refused the login of {user}: {why}"),
                    "check the account's password (see `sealpost account list` for where it comes from)",
                ))
            }
            Err(LoginError::Other(err)) => {
                reasons.push(format!("{e}: {}", crate::error::single_line(&err)))
            }
        }
    }
    Err(fail(
        Exit::Unavailable,
        format!("no server could be used: {}", reasons.join("; ")),
    ))
}

/// Connects to `e`: TCP with `timeout` for the connection and every read
/// and write, and TLS at once for an implicit-TLS endpoint (STARTTLS is the
/// protocol's business: see [`Conn::upgrade`]).
pub fn open(e: &Endpoint, tls: &TlsSetup, timeout: Duration) -> anyhow::Result<Conn> {
    let tcp = tcp_connect(&e.host, e.port, timeout)?;
    Ok(match e.security {
        Security::Tls => Conn::new(tls.wrap(tcp, &e.host)?),
        Security::Plain | Security::StartTls => Conn::new(Stream::Plain(tcp)),
    })
}

/// A TCP connection to the first address of `host` that answers, with
/// `timeout` for the connection and for every read and write. Nagle is off:
/// commands and requests are written whole, and waiting for an ACK would
/// only delay the next one.
pub fn tcp_connect(host: &str, port: u16, timeout: Duration) -> anyhow::Result<TcpStream> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|err| anyhow::anyhow!("cannot resolve {host}: {err}"))?
        .collect();
    let mut last = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(err) => last = Some(err),
        }
    }
    Err(match last {
        Some(err) => anyhow::anyhow!("cannot connect: {err}"),
        None => anyhow::anyhow!("{host} has no address"),
    })
}
