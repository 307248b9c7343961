//! A real `sealpost group serve` on loopback, for the live binary's group,
//! mailing list and CLI tests and the release benchmark (which includes it
//! with `#[path]`): TLS
//! files from a throwaway CA made by openssl, and the server process, ready
//! once it prints `listening on ADDR`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The server's TLS certificate and key, and the CA that signed it.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA in `dir` and a certificate for localhost/127.0.0.1 signed by it.
#[rustfmt::skip]
pub fn tls_files(dir: &Path) -> TlsFiles {
    std::fs::create_dir_all(dir).unwrap();
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    openssl(&[
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=sealpost test CA", "-keyout", &p("ca.key"), "-out", &p("ca.pem"),
    ]);
    openssl(&[
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout",
        &p("server.key"), "-out", &p("server.csr"),
    ]);
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509", "-req", "-in", &p("server.csr"), "-CA", &p("ca.pem"), "-CAkey", &p("ca.key"),
        "-CAcreateserial", "-days", "2", "-extfile", &p("san.cnf"), "-out", &p("server.pem"),
    ]);
    TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// `sealpost` on the group store in `keystore`, the passphrase in the environment.
pub fn sealpost(keystore: &Path, passphrase: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealpost"));
    cmd.env("SEALPOST_KEYSTORE", keystore)
        .env("SEALPOST_PASSPHRASE", passphrase)
        .env_remove("SEALPOST_GROUP_STORE")
        .stdin(Stdio::null());
    cmd
}

/// Runs `sealpost ARGS` (e.g. `group add-member`) on the store to the end,
/// as a separate process; panics with its stderr if it fails. Returns stdout.
pub fn admin(keystore: &Path, passphrase: &str, args: &[&str]) -> Vec<u8> {
    let out = sealpost(keystore, passphrase).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `sealpost group serve --listen 127.0.0.1:0` on the store in `keystore`,
/// then `extra` arguments.
pub fn serve_command(keystore: &Path, passphrase: &str, tls: &TlsFiles, extra: &[&str]) -> Command {
    let mut cmd = sealpost(keystore, passphrase);
    cmd.args(["group", "serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&tls.cert)
        .arg("--tls-key")
        .arg(&tls.key)
        .args(extra);
    cmd
}

/// A running server process; killed (SIGKILL) when dropped.
pub struct Served {
    child: Child,
    pub addr: SocketAddr,
    /// Collects every stderr line after the listening line (refusals with -v).
    log: Option<JoinHandle<Vec<String>>>,
    /// The stderr lines before the listening line (e.g. the metrics address).
    pub preamble: Vec<String>,
}

impl Served {
    /// Starts `cmd` and waits for its `listening on ADDR` line.
    pub fn start(mut cmd: Command) -> Served {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start sealpost group serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut before = Vec::new();
        let addr = loop {
            let line = match lines.next() {
                Some(Ok(line)) => line,
                _ => panic!("the server exited before listening: {before:?}"),
            };
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
            before.push(line);
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let log = std::thread::spawn(move || lines.map_while(Result::ok).collect());
        Served {
            child,
            addr,
            log: Some(log),
            preamble: before,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The URL members use (the TLS certificate is for localhost).
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port())
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the server.
    pub fn signal(&self, signal: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child, which is not reaped yet.
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "kill({pid}, {signal})"
        );
    }

    /// Waits up to `limit` for the server to exit: its status, or `None`
    /// while it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`, and reaps the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server and returns everything it wrote on stderr after
    /// the listening line.
    pub fn stop(&mut self) -> Vec<String> {
        self.kill();
        self.log
            .take()
            .map(|t| t.join().unwrap())
            .unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}
