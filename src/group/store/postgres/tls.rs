//! TLS for the connections to PostgreSQL: libpq's `sslmode` and
//! `sslrootcert` URL parameters, on rustls with the aws-lc-rs provider
//! (the one TLS stack of sealpost), through tokio-rustls.
//!
//! May use: `crate::error`, `crate::mail::tls` (reading a PEM CA file).
//!
//! # What each mode does
//!
//! | `sslmode` | TLS | certificate checked | host name checked |
//! |---|---|---|---|
//! | `disable` | never | — | — |
//! | `prefer` (the default) | if the server offers it | only with `sslrootcert` | no |
//! | `require` | always | only with `sslrootcert` | no |
//! | `verify-ca` | always | against `sslrootcert`, else the system roots | no |
//! | `verify-full` | always | against `sslrootcert`, else the system roots | yes |
//!
//! The default is libpq's (`prefer`), so that one URL means the same to
//! `psql` and to sealpost and a database on loopback or a Unix socket keeps
//! working without certificates; anything crossing a network should say
//! `sslmode=verify-full` (with `sslrootcert=FILE` for a private CA), the
//! one mode that stops an active attacker. `sslrootcert=system` names the
//! system roots, as in libpq 16. As in libpq, `require` with a root file
//! checks the chain (like `verify-ca`).
//!
//! # Why not tokio-postgres-rustls
//!
//! The adapter crates either depend on `ring` (for the channel binding hash)
//! or on a newer driver than the pinned one (`postgres =0.19.9`, see
//! Cargo.toml); this one is tokio-rustls (rustls' own, nothing else new in
//! the tree) and a few trait impls. The channel binding (`tls-server-end-point`,
//! RFC 5929) is computed here with `sha2`, so SCRAM-SHA-256-PLUS binds the
//! password exchange to the TLS session.
//!
//! The driver does not know `sslrootcert` (and only `disable`, `prefer`,
//! `require` of `sslmode`), so both are taken out of the URL before it is
//! parsed; any other parameter is the driver's to accept or refuse.

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::config::SslMode;
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{fail, fail_hint, Exit};

/// Largest `sslrootcert` file read (a CA bundle, not a certificate store).
const MAX_ROOT_FILE: u64 = 1 << 20;

/// libpq's `sslmode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> anyhow::Result<Mode> {
        Ok(match value {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            // "allow" would try plain text first: not offered.
            other => {
                return Err(fail_hint(
                    Exit::Usage,
                    format!("bad PostgreSQL URL: sslmode={other:?} is not supported"),
                    "use sslmode=disable, prefer, require, verify-ca or verify-full",
                ))
            }
        })
    }

    /// What the driver is told: whether it may go on without TLS.
    fn driver(self) -> SslMode {
        match self {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }
}

/// A URL's TLS parameters, taken out of it.
pub(super) struct UrlTls {
    /// The URL without `sslmode` and `sslrootcert`, for the driver.
    pub url: String,
    pub mode: Mode,
    pub root: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL. Where the
/// query starts is found as the driver finds it (the user info runs to the
/// first `@`, so a `?` in a password is not a query). Errors never repeat
/// the URL (it may hold a password).
pub(super) fn split_url(url: &str) -> anyhow::Result<UrlTls> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let authority_from = url[after_scheme..]
        .find('@')
        .map_or(after_scheme, |i| after_scheme + i + 1);
    let Some(q) = url[authority_from..].find('?').map(|i| authority_from + i) else {
        return Ok(UrlTls {
            url: url.to_string(),
            mode: Mode::Prefer,
            root: None,
        });
    };
    let (mut mode, mut root) = (None, None);
    let mut kept = Vec::new();
    for param in url[q + 1..].split('&').filter(|p| !p.is_empty()) {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        let slot = match decode(key)?.as_str() {
            "sslmode" => &mut mode,
            "sslrootcert" => &mut root,
            _ => {
                kept.push(param);
                continue;
            }
        };
        if slot.is_some() {
            return Err(fail(
                Exit::Usage,
                format!("bad PostgreSQL URL: {} is given twice", decode(key)?),
            ));
        }
        *slot = Some(decode(value)?);
    }
    let mut rest = url[..q].to_string();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Ok(UrlTls {
        url: rest,
        mode: mode.as_deref().map_or(Ok(Mode::Prefer), Mode::parse)?,
        root,
    })
}

/// Percent-decoding as the driver does it, for the two values read here.
fn decode(text: &str) -> anyhow::Result<String> {
    let bad = || fail(Exit::Usage, "bad PostgreSQL URL: a bad percent-escape");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| fail(Exit::Usage, "bad PostgreSQL URL: not UTF-8"))
}

/// The connector the pool connects with, built once per store.
#[derive(Clone)]
pub(super) struct Connector {
    config: Arc<rustls::ClientConfig>,
}

impl Connector {
    /// The rustls configuration `mode` and `root` ask for, and the mode
    /// to give the driver.
    pub(super) fn new(mode: Mode, root: Option<&str>) -> anyhow::Result<(Connector, SslMode)> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let roots = match (mode, root) {
            (_, Some("system")) | (Mode::VerifyCa | Mode::VerifyFull, None) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                Some(roots)
            }
            (_, Some(file)) => Some(root_file(Path::new(file))?),
            (_, None) => None,
        };
        let chain = match roots {
            None => None,
            Some(roots) => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| fail(Exit::Config, format!("sslrootcert: {e}")))?,
            ),
        };
        let verifier = Arc::new(Verifier {
            provider: provider.clone(),
            chain,
            names: mode == Mode::VerifyFull,
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(Exit::Software, format!("TLS setup: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok((
            Connector {
                config: Arc::new(config),
            },
            mode.driver(),
        ))
    }
}

/// The certificates of an `sslrootcert` file (bounded read).
fn root_file(path: &Path) -> anyhow::Result<rustls::RootCertStore> {
    use std::io::Read;
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ROOT_FILE + 1).read_to_end(&mut pem))
        .map_err(|e| {
            fail(
                Exit::NoInput,
                format!("cannot read sslrootcert {}: {e}", path.display()),
            )
        })?;
    if pem.len() as u64 > MAX_ROOT_FILE {
        return Err(fail(
            Exit::Config,
            format!("sslrootcert {} is over 1 MiB", path.display()),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in crate::mail::tls::ca_certificates(&pem)? {
        roots
            .add(cert)
            .map_err(|e| fail(Exit::Config, format!("sslrootcert {}: {e}", path.display())))?;
    }
    Ok(roots)
}

/// How the server's certificate is checked: not at all (`prefer` and
/// `require` without a root file: the session is encrypted and its
/// handshake signed by the key of the certificate presented, but who holds
/// that certificate is not checked, as in libpq), its chain only
/// (`verify-ca`: rustls compares the name last, after the chain and its
/// validity have passed, so only that error is forgiven), or chain and
/// host name (`verify-full`). Handshake signatures are always checked.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
    names: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.names => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl<S> MakeTlsConnect<S> for Connector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Tls<S>;
    type TlsConnect = Handshake;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> io::Result<Handshake> {
        // The driver asks for a connector before it knows whether TLS will
        // be used, with "" for a Unix socket (where the server always says
        // no): a host that is no name is an error only at the handshake.
        Ok(Handshake {
            config: self.config.clone(),
            name: ServerName::try_from(host.to_string()).ok(),
        })
    }
}

/// One handshake, to one host.
pub(super) struct Handshake {
    config: Arc<rustls::ClientConfig>,
    name: Option<ServerName<'static>>,
}

type Handshaking<S> = Pin<Box<dyn Future<Output = io::Result<Tls<S>>> + Send>>;

impl<S> TlsConnect<S> for Handshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Tls<S>;
    type Error = io::Error;
    type Future = Handshaking<S>;

    fn connect(self, stream: S) -> Handshaking<S> {
        Box::pin(async move {
            let name = self.name.ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "the host is not a TLS name")
            })?;
            let tls = tokio_rustls::TlsConnector::from(self.config)
                .connect(name, stream)
                .await?;
            Ok(Tls(tls))
        })
    }
}

/// A TLS session to the database.
pub(super) struct Tls<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Tls<S> {
    fn channel_binding(&self) -> ChannelBinding {
        let end_point = self
            .0
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| server_end_point(cert));
        match end_point {
            Some(hash) => ChannelBinding::tls_server_end_point(hash),
            None => ChannelBinding::none(),
        }
    }
}

/// `tls-server-end-point` (RFC 5929 §4.1): the certificate's hash, with
/// the hash of its signature algorithm (MD5 and SHA-1 become SHA-256);
/// `None` for a signature without one such hash (Ed25519, RSA-PSS), where
/// PostgreSQL offers no binding either.
fn server_end_point(cert: &[u8]) -> Option<Vec<u8>> {
    use const_oid::db::rfc5912::{
        ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, SHA_1_WITH_RSA_ENCRYPTION,
        SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
    };
    use der::Decode;
    use sha2::Digest;
    let parsed = x509_cert::Certificate::from_der(cert).ok()?;
    let oid = parsed.signature_algorithm.oid;
    if [
        SHA_1_WITH_RSA_ENCRYPTION,
        SHA_256_WITH_RSA_ENCRYPTION,
        ECDSA_WITH_SHA_256,
    ]
    .contains(&oid)
    {
        Some(sha2::Sha256::digest(cert).to_vec())
    } else if [SHA_384_WITH_RSA_ENCRYPTION, ECDSA_WITH_SHA_384].contains(&oid) {
        Some(sha2::Sha384::digest(cert).to_vec())
    } else if [SHA_512_WITH_RSA_ENCRYPTION, ECDSA_WITH_SHA_512].contains(&oid) {
        Some(sha2::Sha512::digest(cert).to_vec())
    } else {
        None
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Tls<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Tls<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_out_only_the_tls_parameters() {
        let t = split_url(
            "postgres://u:p%3Fw?d@db.example:5433/g?application_name=x&sslmode=verify-full\
             &sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(
            t.url,
            "postgres://u:p%3Fw?d@db.example:5433/g?application_name=x&connect_timeout=3"
        );
        assert_eq!(t.mode, Mode::VerifyFull);
        assert_eq!(t.root.as_deref(), Some("/etc/ca.pem"));

        let t = split_url("postgres://u@h/g?sslmode=require").unwrap();
        assert_eq!(
            (t.url.as_str(), t.mode),
            ("postgres://u@h/g", Mode::Require)
        );
        let t = split_url("postgresql://h/g").unwrap();
        assert_eq!((t.url.as_str(), t.mode), ("postgresql://h/g", Mode::Prefer));
        // A '?' inside the password is not where the query starts.
        let t = split_url("postgres://u:a?sslmode=disable@h/g").unwrap();
        assert_eq!(t.mode, Mode::Prefer);
    }

    #[test]
    fn refuses_what_it_cannot_honour_without_showing_the_url() {
        for (url, expect) in [
            ("postgres://u:secret@h/g?sslmode=allow", "sslmode=\"allow\""),
            (
                "postgres://u:secret@h/g?sslmode=require&sslmode=disable",
                "twice",
            ),
            ("postgres://u:secret@h/g?sslrootcert=%zz", "percent-escape"),
        ] {
            let e = split_url(url).err().unwrap();
            let text = format!("{e:#}");
            assert!(text.contains(expect), "{url}: {text}");
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn the_end_point_hash_follows_the_signature_algorithm() {
        let pem = std::fs::read("tests/data/alice.cert.pem").unwrap();
        let der = crate::smime::certs::parse_bundle(&pem)
            .unwrap()
            .remove(0)
            .der;
        let hash = server_end_point(&der).unwrap();
        // The fixture is signed with sha256WithRSAEncryption.
        use sha2::Digest;
        assert_eq!(hash, sha2::Sha256::digest(&der).to_vec());
    }
}
