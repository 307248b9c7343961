//! A real `sealpost group serve` on loopback for the tests, run by an
//! operator with their own keystore and server passphrase. Included with
//! `#[path]` by the test binaries that need one.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The server passphrase of every test operator.
pub const OPERATOR_PASSPHRASE: &str = "operator passphrase";

/// The list operator: a keystore holding the group store.
pub struct Operator {
    pub keystore: PathBuf,
}

impl Operator {
    pub fn new(keystore: PathBuf) -> Operator {
        Operator { keystore }
    }

    /// `sealpost` as the operator, with the server passphrase.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("sealpost").unwrap();
        cmd.env("SEALPOST_KEYSTORE", &self.keystore)
            .env("SEALPOST_PASSPHRASE", OPERATOR_PASSPHRASE)
            .write_stdin("");
        cmd
    }

    /// Runs `args`, which must succeed; returns stdout.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Starts `group serve` on a free loopback port with the given TLS files
    /// and extra arguments; returns once it listens.
    pub fn serve(&self, tls_cert: &Path, tls_key: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("sealpost"))
            .env("SEALPOST_KEYSTORE", &self.keystore)
            .env("SEALPOST_PASSPHRASE", OPERATOR_PASSPHRASE)
            .args(["group", "serve", "--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(tls_cert)
            .arg("--tls-key")
            .arg(tls_key)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("the server exited before listening")
                .unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                let addr = rest.split_whitespace().next().unwrap();
                break addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
            }
        };
        // Keep draining stderr so that the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, port }
    }
}

/// A running group server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
