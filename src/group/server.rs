//! The HTTPS front of the group server: rustls (aws-lc-rs provider, as the
//! rest of sealpost), HTTP/1.1 keep-alive framed by [`crate::group::http`],
//! one thread per connection up to a bound.
//!
//! A thread per connection keeps every request's work (one RSA private
//! operation) on the connection's own thread with no hand-off; the bound on
//! connections bounds the threads.
//!
//! # Holding against slow and idle clients (issue 11)
//!
//! A connection costs a thread while it waits, so the server decides who
//! may keep one:
//!
//! - **A whole-request deadline.** The TLS handshake, the head and the body
//!   of the first request must all arrive within `request_timeout` of the
//!   accept; on a kept-alive connection the next request's first bytes must
//!   come within `idle_timeout`, and the whole request within
//!   `request_timeout` of them. Every socket read is given only the time
//!   left, so one byte every 20 s buys nothing.
//! - **Eviction instead of refusal.** When the server is at
//!   `max_connections`, or the newcomer's address is at
//!   `max_per_address`, the connection that has waited longest without a
//!   complete request (or sat idle longest after its last answer) is shut
//!   down to make room; a connection busy answering is never evicted. A
//!   flood of idle or trickling connections therefore delays a member by
//!   one eviction, instead of locking everyone out, even when the flood
//!   comes from the member's own address.
//! - **A per-address rate limit in front of the signature check**, so
//!   that RSA verification work per address is bounded; what it refuses is
//!   answered from memory (see [`super::service`] on what is stored).
//!
//! Why threads and not hyper 1.x on tokio (measured, issue 11): a
//! prototype on hyper 1.13 and tokio calling the same [`Service`] served
//! the same releases per second at 8 and 64 clients (both are bound by the
//! one RSA operation per request, which async hands to a blocking pool
//! anyway). Under slowloris what decides is who gets a connection slot, not
//! the I/O model: with 300 idle or trickling connections against a cap of
//! 256, this server (deadlines and eviction) served a member in at most
//! 72 ms, hyper with a 256-permit semaphore (no eviction) in up to 8.7 s.
//! Async makes a high cap cheap (about 7 kB per idle connection against
//! about 26 kB and a thread here), but above any cap it degraded again
//! (5000 connections: 6.4 s), while eviction kept this server at 11 ms.
//! So the threads stay, and no tokio, hyper, hyper-util, tokio-rustls, http
//! or http-body in the tree; the strict parser in [`crate::group::http`] is ~150
//! lines with every read bounded.
//!
//! # Health (issue 16)
//!
//! `GET /health` on the same listener answers 200 or 503 with the checks
//! of [`Service::health`] and the caller's own (the store's free disk
//! space, [`Server::with_disk_check`]), by name only: it is unauthenticated,
//! so it names no group (issue 11), and the causes of a failure go to the
//! refusal log. It passes the per-address rate limit like any request,
//! writes no audit row, and runs its checks at most once per
//! [`HEALTH_CACHE`] whoever asks (a broken key costs a passphrase
//! derivation per run).
//!
//! # Metrics (issue 16)
//!
//! With [`Server::with_metrics`], a second listener answers `GET /metrics`
//! in plain HTTP with [`Metrics`] (Prometheus text format 0.0.4). It serves
//! one scrape at a time, each bounded by a 5-second deadline: it is meant
//! for loopback or a management network, not for members.
//!
//! # Stopping (issue 16)
//!
//! [`Server::run_until`] stops on a [`StopSignal`] (SIGTERM, SIGINT): the
//! listening socket is closed at once (a newcomer is refused by the
//! kernel), connections idle between requests are shut down, and every
//! request already begun is read, answered (its audit row committed first,
//! as always) and answered with `Connection: close` — each within the
//! whole-request deadline. `run_until` returns once every connection has
//! ended, or after twice the request deadline (reading, then writing) at
//! most. A kept-alive request whose first bytes arrive in the instant the
//! connection is shut down as idle is lost like any closed connection's:
//! the client retries it, nothing was answered or audited.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::limits::RateLimiter;
use super::metrics::{Metrics, Outcome};
use super::service::{Answer, Check, Service};
use super::shutdown::{wait_for, StopSignal};
use super::store::AuditRecord;
use crate::error::{fail, Exit};
use crate::group::http::{self, ReadError};
use crate::group::release::calls::Op;
use crate::group::release::protocol::pass::{PASS_KEY_PATH, PASS_RELEASE_PATH};
use crate::group::release::protocol::{Refusal, RefusalCode, MAX_REQUEST_BODY, RELEASE_PATH};

/// How the server listens.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Most simultaneous connections (threads).
    pub max_connections: usize,
    /// Most simultaneous connections from one IP address.
    pub max_per_address: usize,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long one request may take to arrive: the TLS handshake (for the
    /// first), the head and the body.
    pub request_timeout: Duration,
    /// Requests per second from one IP address, sustained, before any
    /// signature is checked.
    pub address_rate: f64,
    /// Requests from one IP address at once, above the sustained rate.
    pub address_burst: u32,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_connections: 256,
            max_per_address: 64,
            idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            address_rate: 50.0,
            address_burst: 100,
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
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
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

/// A check `GET /health` runs beside the service's own (the disk space).
pub type ExtraCheck = Arc<dyn Fn() -> Check + Send + Sync>;

/// Where the health check answers.
pub const HEALTH_PATH: &str = "/health";

/// How long one run of the health checks answers every probe.
pub const HEALTH_CACHE: Duration = Duration::from_secs(2);

/// A bound listener, ready to [`run`](Self::run).
pub struct Server {
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: Arc<Service>,
    options: ServerOptions,
    log: RefusalLog,
    /// Run once a minute beside the deposit purge (see `with_housekeeping`).
    housekeeping: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Run by `GET /health` as its `disk` check.
    disk_check: Option<ExtraCheck>,
    /// Where `GET /metrics` is answered, if anywhere.
    metrics: Option<TcpListener>,
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
            housekeeping: None,
            disk_check: None,
            metrics: None,
        })
    }

    /// Also answers `GET /metrics` (plain HTTP) on `addr`.
    pub fn with_metrics(mut self, addr: &str) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            fail(
                Exit::Unavailable,
                format!("cannot listen on {addr} for metrics: {e}"),
            )
        })?;
        self.metrics = Some(listener);
        Ok(self)
    }

    /// The metrics listener's address, when there is one.
    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics.as_ref().map(TcpListener::local_addr)
    }

    /// Adds `check` to `GET /health` as its `disk` check (the free space
    /// of the store's file system against the operator's threshold).
    pub fn with_disk_check(mut self, check: ExtraCheck) -> Server {
        self.disk_check = Some(check);
        self
    }

    /// Runs `check` once a minute in the background (the store's disk
    /// space, the audit retention), beside the deposit purge.
    pub fn with_housekeeping(mut self, check: Arc<dyn Fn() + Send + Sync>) -> Server {
        self.housekeeping = Some(check);
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until the process ends. A background thread
    /// deletes the keys of expired deposits once a minute (a release of an
    /// expired one is refused whether or not it has run).
    pub fn run(self) -> anyhow::Result<()> {
        self.serve_until(None)
    }

    /// As [`run`](Self::run), until `stop` is signalled; then finishes the
    /// requests already begun (see the module documentation) and returns.
    pub fn run_until(self, stop: StopSignal) -> anyhow::Result<()> {
        self.serve_until(Some(stop))
    }

    fn serve_until(mut self, stop: Option<StopSignal>) -> anyhow::Result<()> {
        let purging = Arc::clone(&self.service);
        let housekeeping = self.housekeeping.clone();
        let _ = std::thread::Builder::new()
            .name("deposit-purge".into())
            .spawn(move || loop {
                let _ = purging.purge_expired(crate::smime::certs::now() as u64);
                if let Some(check) = &housekeeping {
                    check();
                }
                std::thread::sleep(Duration::from_secs(60));
            });
        let shared = Arc::new(Shared {
            tls: Arc::clone(&self.tls),
            service: Arc::clone(&self.service),
            address_limiter: RateLimiter::new(
                self.options.address_rate,
                self.options.address_burst,
            ),
            slots: Slots::default(),
            threads: AtomicUsize::new(0),
            options: self.options.clone(),
            log: Arc::clone(&self.log),
            stopping: AtomicBool::new(false),
            disk_check: self.disk_check.clone(),
            health_cache: Mutex::new(None),
            metrics: Metrics::default(),
        });
        if let Some(listener) = self.metrics.take() {
            let here = Arc::clone(&shared);
            let _ = std::thread::Builder::new()
                .name("metrics".into())
                .spawn(move || serve_metrics(&listener, &here));
        }
        // Evicted connections' threads end within a moment; this bounds
        // them if connections arrive faster than that.
        let max_threads = self.options.max_connections.saturating_mul(2);
        // Non-blocking, so that a connection gone between poll and accept
        // costs a loop, not a hang past the stop signal.
        self.listener
            .set_nonblocking(true)
            .map_err(|e| fail(Exit::IoErr, format!("cannot set up the listener: {e}")))?;
        loop {
            let ready = wait_for(self.listener.as_raw_fd(), stop.map(|s| s.fd()))
                .map_err(|e| fail(Exit::IoErr, format!("cannot wait for connections: {e}")))?;
            if !ready {
                break;
            }
            let tcp = match self.listener.accept() {
                Ok((tcp, _)) => tcp.set_nonblocking(false).map(|()| tcp),
                Err(e) => Err(e),
            };
            let Ok(tcp) = tcp else {
                // EMFILE and friends: back off instead of spinning.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            let accepted = Instant::now();
            if shared.threads.load(Ordering::SeqCst) >= max_threads {
                continue;
            }
            let Some(id) = shared.slots.admit(&tcp, accepted, &shared.options) else {
                // Every connection is busy answering: the newcomer waits
                // for nothing, it is closed.
                continue;
            };
            shared.threads.fetch_add(1, Ordering::SeqCst);
            let here = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name("release-conn".into())
                .stack_size(256 * 1024)
                .spawn(move || {
                    here.serve(id, tcp, accepted);
                    here.slots.remove(id);
                    here.threads.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                shared.slots.remove(id);
                shared.threads.fetch_sub(1, Ordering::SeqCst);
            }
        }
        drop(self.listener);
        shared.stopping.store(true, Ordering::SeqCst);
        shared.slots.close_idle();
        // Reading a request, then writing its answer, each within the
        // request deadline.
        let deadline = Instant::now() + 2 * self.options.request_timeout;
        while shared.threads.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

/// One connection's entry: what eviction needs to know and to do.
struct Slot {
    ip: IpAddr,
    /// A handle on the socket, to shut it down from the accept loop.
    tcp: TcpStream,
    /// Since when it has waited for a complete request; `None` while it is
    /// answering one (then it is never evicted).
    waiting_since: Option<Instant>,
    /// Kept alive between requests, no byte of the next one read yet: shut
    /// down at once when the server stops.
    idle: bool,
}

/// The open connections.
#[derive(Default)]
struct Slots {
    open: Mutex<HashMap<u64, Slot>>,
    next_id: AtomicU64,
}

impl Slots {
    /// Makes room for a connection from `tcp`'s peer (evicting the one that
    /// has waited longest, from the same address if that address is at its
    /// limit) and registers it; `None` if there is no room.
    fn admit(&self, tcp: &TcpStream, accepted: Instant, options: &ServerOptions) -> Option<u64> {
        let ip = tcp.peer_addr().ok()?.ip();
        let handle = tcp.try_clone().ok()?;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = open.values().filter(|s| s.ip == ip).count();
        if from_ip >= options.max_per_address.max(1) {
            Self::evict_longest_waiting(&mut open, Some(ip))?;
        } else if open.len() >= options.max_connections.max(1) {
            Self::evict_longest_waiting(&mut open, None)?;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        open.insert(
            id,
            Slot {
                ip,
                tcp: handle,
                waiting_since: Some(accepted),
                idle: false,
            },
        );
        Some(id)
    }

    /// Shuts down the waiting connection (of `ip`, if given) that has waited
    /// longest; its thread sees the shutdown at its next read and ends.
    fn evict_longest_waiting(open: &mut HashMap<u64, Slot>, ip: Option<IpAddr>) -> Option<()> {
        let (&id, _) = open
            .iter()
            .filter(|(_, s)| ip.is_none_or(|ip| s.ip == ip))
            .filter_map(|(id, s)| s.waiting_since.map(|since| (id, since)))
            .min_by_key(|&(_, since)| since)?;
        let slot = open.remove(&id)?;
        let _ = slot.tcp.shutdown(Shutdown::Both);
        Some(())
    }

    /// Marks a connection as waiting since `since`, or (`None`) busy, and
    /// whether it is idle between requests.
    fn set_waiting(&self, id: u64, since: Option<Instant>, idle: bool) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = open.get_mut(&id) {
            slot.waiting_since = since;
            slot.idle = idle;
        }
    }

    /// Shuts down every connection idle between requests (on stopping).
    fn close_idle(&self) {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        for slot in open.values().filter(|s| s.idle) {
            let _ = slot.tcp.shutdown(Shutdown::Both);
        }
    }

    fn remove(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

/// A TCP stream whose every read gets only the time left before a deadline.
struct DeadlineStream {
    tcp: TcpStream,
    deadline: Instant,
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.read(buf)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// What every connection thread shares.
struct Shared {
    tls: Arc<rustls::ServerConfig>,
    service: Arc<Service>,
    address_limiter: RateLimiter,
    slots: Slots,
    threads: AtomicUsize,
    options: ServerOptions,
    log: RefusalLog,
    /// Set once the stop signal has arrived: no connection is kept alive.
    stopping: AtomicBool,
    disk_check: Option<ExtraCheck>,
    /// The last health answer and when it was made.
    health_cache: Mutex<Option<(Instant, u16, Vec<u8>)>>,
    metrics: Metrics,
}

type TlsReader = BufReader<rustls::StreamOwned<rustls::ServerConnection, DeadlineStream>>;

impl Shared {
    fn serve(&self, id: u64, tcp: TcpStream, accepted: Instant) {
        let Ok(peer) = tcp.peer_addr() else {
            return;
        };
        let remote = peer.to_string();
        let _ = tcp.set_nodelay(true);
        // Answers are small: a peer that does not read them is cut off here.
        let _ = tcp.set_write_timeout(Some(self.options.request_timeout));
        let Ok(tls) = rustls::ServerConnection::new(Arc::clone(&self.tls)) else {
            return;
        };
        let sock = DeadlineStream {
            tcp,
            // Handshake, head and body of the first request.
            deadline: accepted + self.options.request_timeout,
        };
        let mut stream: TlsReader = BufReader::new(rustls::StreamOwned::new(tls, sock));
        let mut first = true;
        loop {
            if !first && !self.await_next_request(id, &mut stream) {
                break;
            }
            first = false;
            let read = http::read_request(&mut stream, MAX_REQUEST_BODY);
            self.slots.set_waiting(id, None, false);
            let read_at = Instant::now();
            let mut release = false;
            let (answer, keep_alive) = match read {
                Ok(req) => {
                    let path = req.path.split('?').next();
                    release = path == Some(RELEASE_PATH) || path == Some(PASS_RELEASE_PATH);
                    let answer = self.route(&req, &remote, peer.ip());
                    (
                        answer,
                        req.keep_alive && !self.stopping.load(Ordering::SeqCst),
                    )
                }
                Err(ReadError::Closed) | Err(ReadError::Io(_)) => break,
                // 413 before the body is read, then close: the unread body
                // would otherwise be taken for the next request.
                Err(ReadError::TooLarge(_)) => {
                    (self.refuse(RefusalCode::TooLarge, None, &remote), false)
                }
                Err(ReadError::Malformed(_)) => {
                    (self.refuse(RefusalCode::Malformed, None, &remote), false)
                }
            };
            let outcome = match answer.refusal {
                Some(code) => Outcome::Refused(code),
                None if release => Outcome::Released,
                None => Outcome::Other,
            };
            // Counted before it is sent: a client holding its answer finds
            // it in the next scrape.
            self.metrics.observe(outcome, read_at.elapsed());
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

    /// Waits (idle, evictable) up to the idle timeout for the next request
    /// to begin, then gives it the request deadline; false when the peer
    /// closed, failed or stayed silent.
    fn await_next_request(&self, id: u64, stream: &mut TlsReader) -> bool {
        let now = Instant::now();
        self.slots.set_waiting(id, Some(now), true);
        // After marking it idle: either the stopping server sees the mark
        // and shuts the socket down, or this sees the server stopping.
        if self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        stream.get_mut().sock.deadline = now + self.options.idle_timeout;
        let begun = matches!(stream.fill_buf(), Ok(bytes) if !bytes.is_empty());
        if begun {
            self.slots.set_waiting(id, Some(now), false);
            stream.get_mut().sock.deadline = Instant::now() + self.options.request_timeout;
        }
        begun
    }

    fn refuse(&self, code: RefusalCode, retry_after: Option<u64>, remote: &str) -> Answer {
        let answer =
            self.service
                .refuse(code, retry_after, remote, crate::smime::certs::now() as u64);
        self.log_refusal(&answer);
        answer
    }

    fn route(&self, req: &http::Request, remote: &str, ip: IpAddr) -> Answer {
        let path = req.path.split('?').next().unwrap_or_default();
        let op = Op::from_path(path);
        let health = path == HEALTH_PATH;
        let passes = [PASS_KEY_PATH, PASS_RELEASE_PATH].contains(&path);
        let known = path == RELEASE_PATH || op.is_some() || health || passes;
        let method = if health { "GET" } else { "POST" };
        if !known || req.method != method {
            // Not a request the server knows: nothing to audit.
            let code = if known {
                RefusalCode::MethodNotAllowed
            } else {
                RefusalCode::NotFound
            };
            return unaudited(code.status(), Refusal::new(code).to_json(), Some(code));
        }
        // Before any signature is checked: bounds the RSA work per address.
        if let Err(wait) = self.address_limiter.check(&ip.to_string(), Instant::now()) {
            return self.refuse(RefusalCode::RateLimited, Some(wait), remote);
        }
        if health {
            return self.health();
        }
        let now = crate::smime::certs::now() as u64;
        let answer = match op {
            Some(op) => self
                .service
                .handle_call(op, &req.body, remote, now, Instant::now()),
            None if path == PASS_KEY_PATH => self.service.handle_pass_key(&req.body, remote, now),
            None if path == PASS_RELEASE_PATH => {
                self.service
                    .handle_pass_release(&req.body, remote, now, Instant::now())
            }
            None => self.service.handle(&req.body, remote, now, Instant::now()),
        };
        self.log_refusal(&answer);
        answer
    }

    /// `GET /health`: the checks by name; their causes to the log.
    /// Runs the checks at most once per [`HEALTH_CACHE`]: a failing key is
    /// retried (a passphrase derivation) by each run, and anyone may ask.
    fn health(&self) -> Answer {
        let mut cached = self.health_cache.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = |(at, _, _): &(Instant, u16, Vec<u8>)| at.elapsed() < HEALTH_CACHE;
        if let Some((_, status, body)) = cached.as_ref().filter(|c| fresh(c)) {
            return unaudited(*status, body.clone(), None);
        }
        let extra = self
            .disk_check
            .iter()
            .map(|check| ("disk", check()))
            .collect();
        let health = self.service.health(extra);
        for line in health.causes() {
            (self.log)(&line);
        }
        let (status, body) = (health.status(), health.to_json());
        *cached = Some((Instant::now(), status, body.clone()));
        unaudited(status, body, None)
    }

    fn log_refusal(&self, answer: &Answer) {
        if let Some(line) = answer.log_line() {
            (self.log)(&line);
        }
    }
}

/// An answer that leaves no audit row: not a request of the protocol.
fn unaudited(status: u16, body: Vec<u8>, refusal: Option<RefusalCode>) -> Answer {
    Answer {
        status,
        body,
        retry_after: None,
        refusal,
        row: AuditRecord::default(),
        audited: false,
        cause: None,
    }
}

/// Answers `GET /metrics` on `listener`, one scrape at a time.
fn serve_metrics(listener: &TcpListener, shared: &Shared) {
    for tcp in listener.incoming() {
        let Ok(tcp) = tcp else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        // A scraper that stalls holds the next one back 5 s at most.
        let _ = tcp.set_write_timeout(Some(Duration::from_secs(5)));
        let mut stream = BufReader::new(DeadlineStream {
            tcp,
            deadline: Instant::now() + Duration::from_secs(5),
        });
        let Ok(req) = http::read_request(&mut stream, 0) else {
            continue;
        };
        let path = req.path.split('?').next().unwrap_or_default();
        let (status, body) = if path != "/metrics" {
            (404, b"not found\n".to_vec())
        } else if req.method != "GET" {
            (405, b"only GET\n".to_vec())
        } else {
            let open = shared
                .slots
                .open
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .len();
            (200, shared.metrics.render(open).into_bytes())
        };
        let _ = http::write_typed_response(
            stream.get_mut(),
            status,
            "text/plain; version=0.0.4; charset=utf-8",
            &body,
            false,
            None,
        );
    }
}
