//! The member's side of a key release: sign a request, send it over HTTPS to
//! each of the group's servers in order until one answers, and read the
//! grant or the refusal.

use std::fmt;
use std::io::BufReader;
use std::net::TcpStream;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Result;
use rand_core::CryptoRngCore;
use rsa::pss::BlindedSigningKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::RsaPrivateKey;
use sha2::Sha256;

use super::calls::{Op, SignedCall};
use super::protocol::pass::{PassReleaseRequest, PASS_RELEASE_PATH};
use super::protocol::{
    Refusal, RefusalCode, ReleaseGrant, ReleaseRequest, NONCE_LEN, RELEASE_PATH,
};
use crate::error::{fail, fail_hint, single_line, Exit};
use crate::group::http;
use crate::mail::tls::{tcp_connect, TlsSetup};

/// Largest answer accepted: a grant is a few hundred bytes.
const MAX_ANSWER: usize = 64 * 1024;
/// Largest answer to a call: a member list of many thousand certificates.
const MAX_CALL_ANSWER: usize = 64 << 20;

/// A release server, `https://HOST[:PORT]` (port 443 by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    pub host: String,
    pub port: u16,
}

impl FromStr for ServerUrl {
    type Err = anyhow::Error;

    fn from_str(url: &str) -> Result<Self> {
        let bad = |why: &str| {
            fail_hint(
                Exit::Usage,
                format!("bad release server {url:?}: {why}"),
                "write it as https://HOST or https://HOST:PORT",
            )
        };
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| bad("only https:// is allowed"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad("a path, query or user name is not allowed"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p.parse::<u16>().ok().filter(|p| *p != 0);
                (h, port.ok_or_else(|| bad("bad port"))?)
            }
            _ => (rest, 443),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "https://[{}]:{}", self.host, self.port)
        } else if self.port == 443 {
            write!(f, "https://{}", self.host)
        } else {
            write!(f, "https://{}:{}", self.host, self.port)
        }
    }
}

/// Builds a request for the content key in `recipient_info` (DER, the
/// group's entry) and signs it with the member's key.
pub fn sign_request(
    group: &str,
    recipient_info: Vec<u8>,
    certificate: Vec<u8>,
    key: &RsaPrivateKey,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<ReleaseRequest> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let mut request = ReleaseRequest {
        group: group.to_string(),
        recipient_info,
        certificate,
        timestamp: now,
        nonce,
        signature: Vec::new(),
    };
    request.signature = sign(key, &request.signed_bytes(), rng)?;
    Ok(request)
}

/// Signs a call `op` for `group` with `payload` (the operation's JSON).
pub fn sign_call(
    op: Op,
    group: &str,
    payload: Vec<u8>,
    certificate: Vec<u8>,
    key: &RsaPrivateKey,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<SignedCall> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let mut call = SignedCall {
        op,
        group: group.to_string(),
        payload,
        certificate,
        timestamp: now,
        nonce,
        signature: Vec::new(),
    };
    call.signature = sign(key, &call.signed_bytes(), rng)?;
    Ok(call)
}

/// RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) over `bytes`.
pub fn sign(key: &RsaPrivateKey, bytes: &[u8], rng: &mut impl CryptoRngCore) -> Result<Vec<u8>> {
    let signer = BlindedSigningKey::<Sha256>::new(key.clone());
    let signature = signer
        .try_sign_with_rng(rng, bytes)
        .map_err(|_| fail(Exit::Software, "cannot sign the request"))?;
    Ok(signature.to_vec())
}

/// What one server said to a call: the answer's JSON, or a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ok(Vec<u8>),
    Refused {
        status: u16,
        /// `None` when the server sent a code this version does not know.
        code: Option<RefusalCode>,
        message: String,
        retry_after: Option<u64>,
    },
}

/// What one server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Granted(ReleaseGrant),
    Refused {
        status: u16,
        /// `None` when the server sent a code this version does not know.
        code: Option<RefusalCode>,
        message: String,
        retry_after: Option<u64>,
    },
}

/// TLS settings and timeouts shared by every connection.
#[derive(Clone)]
pub struct ReleaseClient {
    tls: TlsSetup,
    timeout: Duration,
}

/// One keep-alive HTTPS connection to a release server.
pub struct Connection {
    server: ServerUrl,
    stream: BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
    open: bool,
}

impl ReleaseClient {
    /// System roots plus `extra_ca_pem`; `timeout` bounds the connection and each read.
    pub fn new(extra_ca_pem: Option<&[u8]>, timeout: Duration) -> Result<Self> {
        Ok(Self {
            tls: TlsSetup::new(extra_ca_pem)?,
            timeout,
        })
    }

    /// Connects and completes the TLS handshake (certificate errors show here).
    pub fn connect(&self, server: &ServerUrl) -> Result<Connection> {
        let tcp = tcp_connect(&server.host, server.port, self.timeout)?;
        let tls = self.tls.handshake(tcp, &server.host)?;
        Ok(Connection {
            server: server.clone(),
            stream: BufReader::new(tls),
            open: true,
        })
    }
}

impl Connection {
    /// The server this connection goes to.
    pub fn server(&self) -> &ServerUrl {
        &self.server
    }

    /// Whether the server left the connection open for another request.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Sends one request and reads the answer. `Err` is a transport or
    /// protocol failure (the request may or may not have been processed).
    pub fn release(&mut self, request: &ReleaseRequest) -> Result<Answer> {
        let reply = self.post(RELEASE_PATH, &request.to_json(), MAX_ANSWER)?;
        grant_or_refusal(reply)
    }

    /// [`Self::release`] with a membership pass (anonymous release).
    pub fn release_with_pass(&mut self, request: &PassReleaseRequest) -> Result<Answer> {
        let reply = self.post(PASS_RELEASE_PATH, &request.to_json(), MAX_ANSWER)?;
        grant_or_refusal(reply)
    }

    /// Sends one call and reads the answer, as [`Self::release`] does.
    pub fn call(&mut self, call: &SignedCall) -> Result<Reply> {
        self.post(&call.op.path(), &call.to_json(), MAX_CALL_ANSWER)
    }

    fn post(&mut self, path: &str, body: &[u8], max_answer: usize) -> Result<Reply> {
        if !self.open {
            return Err(anyhow::anyhow!("connection already closed by the server"));
        }
        let host = self.server.host.clone();
        http::write_post(self.stream.get_mut(), &host, path, body)
            .map_err(|e| anyhow::anyhow!("sending the request: {e}"))?;
        let response = http::read_response(&mut self.stream, max_answer)
            .map_err(|e| anyhow::anyhow!("reading the answer: {e}"))?;
        self.open = response.keep_alive;
        if response.status == 200 {
            return Ok(Reply::Ok(response.body));
        }
        let refusal: Option<Refusal> = serde_json::from_slice(&response.body).ok();
        Ok(Reply::Refused {
            status: response.status,
            code: refusal.as_ref().and_then(Refusal::code),
            message: refusal
                .map(|r| crate::error::printable(&r.message))
                .unwrap_or_else(|| format!("http status {}", response.status)),
            retry_after: response.retry_after,
        })
    }
}

fn grant_or_refusal(reply: Reply) -> Result<Answer> {
    match reply {
        Reply::Ok(body) => Ok(Answer::Granted(
            ReleaseGrant::from_json(&body).map_err(|e| anyhow::anyhow!("bad answer: {e}"))?,
        )),
        Reply::Refused {
            status,
            code,
            message,
            retry_after,
        } => Ok(Answer::Refused {
            status,
            code,
            message,
            retry_after,
        }),
    }
}

/// Asks each server in turn until one grants the key or gives a final
/// refusal (every server of a group shares its membership, so "not a
/// member" from one is the answer of all). `make_request` is called once
/// per attempt: every attempt gets a fresh nonce and timestamp.
///
/// The error names each server tried and why it failed; its exit status
/// is the refusal's ([`RefusalCode::exit`]) or `Unavailable` when no server
/// could be reached.
pub fn release_with_failover(
    client: &ReleaseClient,
    group: &str,
    servers: &[ServerUrl],
    make_request: &mut dyn FnMut() -> Result<ReleaseRequest>,
) -> Result<(ReleaseGrant, ServerUrl)> {
    release_noting_refusal(client, group, servers, make_request, &mut None)
}

/// [`release_with_failover`], noting in `refusal` the code of the last
/// refusal (a caller that reacts to one, e.g. `pass_required`).
pub fn release_noting_refusal(
    client: &ReleaseClient,
    group: &str,
    servers: &[ServerUrl],
    make_request: &mut dyn FnMut() -> Result<ReleaseRequest>,
    refusal: &mut Option<RefusalCode>,
) -> Result<(ReleaseGrant, ServerUrl)> {
    let (body, server) = post_with_failover(
        client,
        servers,
        "key release",
        group,
        RELEASE_PATH,
        &mut || Ok(make_request()?.to_json()),
        &|body| {
            ReleaseGrant::from_json(body)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("bad answer: {e}"))
        },
        refusal,
    )?;
    let grant = ReleaseGrant::from_json(&body)
        .map_err(|e| fail(Exit::Software, format!("{server}: bad answer: {e}")))?;
    Ok((grant, server))
}

/// [`release_with_failover`] for a call of `op`: the answer, parsed as `T`,
/// and who sent it.
pub fn call_with_failover<T: serde::de::DeserializeOwned>(
    client: &ReleaseClient,
    op: Op,
    group: &str,
    servers: &[ServerUrl],
    make_call: &mut dyn FnMut() -> Result<SignedCall>,
    refusal: &mut Option<RefusalCode>,
) -> Result<(T, ServerUrl)> {
    let what = format!("{} request", op.as_str());
    let mut answer = None;
    let (_, server) = with_failover(
        client,
        servers,
        &what,
        group,
        &mut |conn| {
            let reply = conn.call(&make_call()?)?;
            if let Reply::Ok(body) = &reply {
                answer = Some(
                    serde_json::from_slice::<T>(body)
                        .map_err(|e| anyhow::anyhow!("bad answer: {e}"))?,
                );
            }
            Ok(reply)
        },
        refusal,
    )?;
    let answer = answer.ok_or_else(|| fail(Exit::Software, "an answer went missing"))?;
    Ok((answer, server))
}

/// Posts `body` to `path` on each server in turn until one answers 200,
/// as [`release_with_failover`] does: the answer and who gave it. `check`
/// parses the answer (a server answering nonsense is a failed attempt).
#[allow(clippy::too_many_arguments)]
pub fn post_with_failover(
    client: &ReleaseClient,
    servers: &[ServerUrl],
    what: &str,
    group: &str,
    path: &str,
    make_body: &mut dyn FnMut() -> Result<Vec<u8>>,
    check: &dyn Fn(&[u8]) -> Result<()>,
    refusal: &mut Option<RefusalCode>,
) -> Result<(Vec<u8>, ServerUrl)> {
    with_failover(
        client,
        servers,
        what,
        group,
        &mut |conn| {
            let reply = conn.post(path, &make_body()?, MAX_ANSWER)?;
            if let Reply::Ok(body) = &reply {
                check(body)?;
            }
            Ok(reply)
        },
        refusal,
    )
}

fn with_failover(
    client: &ReleaseClient,
    servers: &[ServerUrl],
    what: &str,
    group: &str,
    attempt: &mut dyn FnMut(&mut Connection) -> Result<Reply>,
    refusal: &mut Option<RefusalCode>,
) -> Result<(Vec<u8>, ServerUrl)> {
    let mut failures = Vec::new();
    let mut exit = Exit::Unavailable;
    for server in servers {
        let outcome = client
            .connect(server)
            .and_then(|mut conn| attempt(&mut conn));
        match outcome {
            Ok(Reply::Ok(body)) => return Ok((body, server.clone())),
            Ok(Reply::Refused {
                status,
                code,
                message,
                ..
            }) => {
                failures.push(format!("{server}: {message} ({status})"));
                *refusal = code;
                match code {
                    Some(code) if !code.try_next_server() => {
                        exit = code.exit();
                        break;
                    }
                    Some(code) => exit = code.exit(),
                    None => {}
                }
            }
            Err(e) => failures.push(format!("{server}: {}", single_line(&e))),
        }
    }
    if servers.is_empty() {
        failures.push("no release server configured".into());
    }
    Err(fail(
        exit,
        format!("{what} for group {group:?} failed: {}", failures.join("; ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_parse_strictly() {
        let u: ServerUrl = "https://keys.example.org:8443".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("keys.example.org", 8443));
        assert_eq!(u.to_string(), "https://keys.example.org:8443");
        let u: ServerUrl = "https://keys.example.org/".parse().unwrap();
        assert_eq!(u.port, 443);
        assert_eq!(u.to_string(), "https://keys.example.org");
        let u: ServerUrl = "https://[::1]:9000".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9000));
        assert_eq!(u.to_string(), "https://[::1]:9000");
        for bad in [
            "http://keys.example.org",
            "keys.example.org",
            "https://",
            "https://h:0",
            "https://h:99999",
            "https://h/path",
            "https://user@h",
        ] {
            assert!(bad.parse::<ServerUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn unreachable_servers_are_each_named() {
        let client = ReleaseClient::new(None, Duration::from_millis(500)).unwrap();
        // Ports bound and closed: connection refused at once.
        let ports: Vec<u16> = (0..2)
            .map(|_| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            })
            .collect();
        let servers: Vec<ServerUrl> = ports
            .iter()
            .map(|p| format!("https://127.0.0.1:{p}").parse().unwrap())
            .collect();
        let mut calls = 0;
        let err = release_with_failover(&client, "list", &servers, &mut || {
            calls += 1;
            Err(anyhow::anyhow!("not reached"))
        })
        .unwrap_err();
        let text = crate::error::single_line(&err);
        for p in &ports {
            assert!(text.contains(&format!("127.0.0.1:{p}")), "{text}");
        }
        assert_eq!(calls, 0);
        assert_eq!(crate::error::classify(&err).0, Exit::Unavailable);
    }
}
