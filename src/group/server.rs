//! The HTTPS front of the group server: rustls (ring provider, as the rest
//! of sealpost), HTTP/1.1 keep-alive framed by [`crate::http`], one thread
//! per connection up to a bound, idle timeouts.
//!
//! A thread per connection keeps every request's work (one RSA private
//! operation) on the connection's own thread with no hand-off; the bound on
//! connections bounds the threads. Connections beyond it are closed at once.

use std::io::BufReader;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::service::{Answer, Service};
use crate::error::{fail, Exit};
use crate::http::{self, ReadError};
use crate::release::calls::Op;
use crate::release::protocol::{Refusal, RefusalCode, MAX_REQUEST_BODY, RELEASE_PATH};

/// How the server listens.
pub struct ServerOptions {
    /// Most simultaneous connections (threads).
    pub max_connections: usize,
    /// A connection with no complete request for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_connections: 256,
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// The rustls configuration from a PEM certificate chain and private key.
pub fn tls_config(chain_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| fail(Exit::DataErr, format!("TLS certificate: {e}")))?;
    if chain.is_empty() {
        return Err(fail(Exit::DataErr, "TLS certificate: no CERTIFICATE block"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| fail(Exit::DataErr, format!("TLS key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(Exit::Software, format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| fail(Exit::DataErr, format!("TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Called with one line per refusal (for `-v`); never given key material.
pub type RefusalLog = Arc<dyn Fn(&str) + Send + Sync>;

/// A bound listener, ready to [`run`](Self::run).
pub struct Server {
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: Arc<Service>,
    options: ServerOptions,
    log: RefusalLog,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Server {
    pub fn bind(
        addr: &str,
        tls: Arc<rustls::ServerConfig>,
        service: Arc<Service>,
        options: ServerOptions,
        log: RefusalLog,
    ) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| fail(Exit::Unavailable, format!("cannot listen on {addr}: {e}")))?;
        Ok(Server {
            listener,
            tls,
            service,
            options,
            log,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until the process ends. A background thread
    /// deletes the keys of expired deposits once a minute (a release of an
    /// expired one is refused whether or not it has run).
    pub fn run(self) -> anyhow::Result<()> {
        let purging = Arc::clone(&self.service);
        let _ = std::thread::Builder::new()
            .name("deposit-purge".into())
            .spawn(move || loop {
                let _ = purging.purge_expired(unix_now());
                std::thread::sleep(Duration::from_secs(60));
            });
        let active = Arc::new(AtomicUsize::new(0));
        for tcp in self.listener.incoming() {
            let Ok(tcp) = tcp else {
                // EMFILE and friends: back off instead of spinning.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            if active.fetch_add(1, Ordering::SeqCst) >= self.options.max_connections {
                active.fetch_sub(1, Ordering::SeqCst);
                drop(tcp);
                continue;
            }
            let conn = Connection {
                tls: Arc::clone(&self.tls),
                service: Arc::clone(&self.service),
                idle: self.options.idle_timeout,
                log: Arc::clone(&self.log),
            };
            let active_here = Arc::clone(&active);
            let spawned = std::thread::Builder::new()
                .name("release-conn".into())
                .stack_size(256 * 1024)
                .spawn(move || {
                    conn.serve(tcp);
                    active_here.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                active.fetch_sub(1, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

struct Connection {
    tls: Arc<rustls::ServerConfig>,
    service: Arc<Service>,
    idle: Duration,
    log: RefusalLog,
}

impl Connection {
    fn serve(&self, tcp: TcpStream) {
        let remote = tcp
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "unknown".into());
        let _ = tcp.set_nodelay(true);
        let _ = tcp.set_read_timeout(Some(self.idle));
        let _ = tcp.set_write_timeout(Some(self.idle));
        let Ok(tls) = rustls::ServerConnection::new(Arc::clone(&self.tls)) else {
            return;
        };
        let mut stream = BufReader::new(rustls::StreamOwned::new(tls, tcp));
        loop {
            let (answer, keep_alive) = match http::read_request(&mut stream, MAX_REQUEST_BODY) {
                Ok(req) => {
                    let answer = self.route(&req, &remote);
                    (answer, req.keep_alive)
                }
                Err(ReadError::Closed) | Err(ReadError::Io(_)) => break,
                // 413 before the body is read, then close: the unread body
                // would otherwise be taken for the next request.
                Err(ReadError::TooLarge(_)) => (self.refuse(RefusalCode::TooLarge, &remote), false),
                Err(ReadError::Malformed(_)) => {
                    (self.refuse(RefusalCode::Malformed, &remote), false)
                }
            };
            let sent = http::write_response(
                stream.get_mut(),
                answer.status,
                &answer.body,
                keep_alive,
                answer.retry_after,
            );
            if sent.is_err() || !keep_alive {
                break;
            }
        }
        let tls = stream.get_mut();
        tls.conn.send_close_notify();
        let _ = tls.conn.complete_io(&mut tls.sock);
    }

    fn refuse(&self, code: RefusalCode, remote: &str) -> Answer {
        let answer = self.service.refuse(code, remote, unix_now());
        self.log_refusal(&answer);
        answer
    }

    fn route(&self, req: &http::Request, remote: &str) -> Answer {
        let path = req.path.split('?').next().unwrap_or_default();
        let op = Op::from_path(path);
        let known = path == RELEASE_PATH || op.is_some();
        if !known || req.method != "POST" {
            // Not a request the server knows: nothing to audit.
            let code = if known {
                RefusalCode::MethodNotAllowed
            } else {
                RefusalCode::NotFound
            };
            return Answer {
                status: code.status(),
                body: Refusal::new(code).to_json(),
                retry_after: None,
                refusal: Some(code),
                row: Default::default(),
            };
        }
        let answer = match op {
            Some(op) => self
                .service
                .handle_call(op, &req.body, remote, unix_now(), Instant::now()),
            None => self
                .service
                .handle(&req.body, remote, unix_now(), Instant::now()),
        };
        self.log_refusal(&answer);
        answer
    }

    fn log_refusal(&self, answer: &Answer) {
        let Some(code) = answer.refusal else {
            return;
        };
        let row = &answer.row;
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        (self.log)(&format!(
            "refused {code} group={} member={} fingerprint={} key={} from {}",
            or_dash(&row.group).escape_debug(),
            or_dash(&row.member_address),
            or_dash(&row.member_fingerprint),
            or_dash(&row.key_hash),
            or_dash(&row.remote),
        ));
    }
}
