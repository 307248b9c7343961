//! A sealpost user of the test servers: their own keystore, mail account
//! and password file (the password never goes on a command line).

use std::path::PathBuf;

use assert_cmd::Command;

use super::servers::Servers;
use crate::common::write_secret;

pub struct Client {
    pub dir: tempfile::TempDir,
    /// The login and address, `local@example.org`.
    pub addr: String,
}

impl Client {
    /// A new server user `local` with its own keystore (no account yet).
    pub fn new(servers: &Servers, local: &str) -> Client {
        let password = format!("pw-{local}-{:08x}", rand::random::<u32>());
        let addr = servers.add_user(local, &password);
        let dir = tempfile::tempdir().unwrap();
        write_secret(&dir.path().join("password"), &format!("{password}\n"));
        Client { dir, addr }
    }

    pub fn keystore(&self) -> PathBuf {
        self.dir.path().join("ks")
    }

    pub fn password_file(&self) -> PathBuf {
        self.dir.path().join("password")
    }

    pub fn password(&self) -> String {
        std::fs::read_to_string(self.password_file())
            .unwrap()
            .trim_end()
            .to_string()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `sealpost` with this keystore; stdin empty, no secrets from the environment.
    pub fn cmd(&self) -> Command {
        // No controlling terminal, as under cron: sealpost prompts on
        // /dev/tty whenever it has one.
        let mut std_cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("sealpost"));
        // SAFETY: setsid is async-signal-safe; the child is not a group leader.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut std_cmd, || {
                libc::setsid();
                Ok(())
            });
        }
        let mut cmd = Command::from_std(std_cmd);
        cmd.env("SEALPOST_KEYSTORE", self.keystore())
            .env_remove("SEALPOST_PASSPHRASE")
            .write_stdin("");
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SEALPOST_PASSWORD_") {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    /// The same as [`Client::cmd`] as a std command, for spawning and killing.
    pub fn spawnable(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("sealpost"));
        cmd.env("SEALPOST_KEYSTORE", self.keystore())
            .env_remove("SEALPOST_PASSPHRASE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SEALPOST_PASSWORD_") {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    /// Adds account `name` with the given SMTP and incoming URLs; the
    /// password file is recorded, the test CA trusted.
    pub fn add_account(&self, servers: &Servers, name: &str, smtp: &str, incoming: &str) {
        let (flag, urls) = incoming.split_once('=').unwrap();
        self.cmd()
            .args(["account", "add", name, "--smtp", smtp, flag, urls, "--user"])
            .arg(&self.addr)
            .arg("--password-file")
            .arg(self.password_file())
            .arg("--ca-file")
            .arg(servers.ca_file())
            .assert()
            .success();
    }
}

/// `smtp://127.0.0.1:PORT` style URLs for the test servers.
pub fn url(scheme: &str, port: u16) -> String {
    format!("{scheme}://127.0.0.1:{port}")
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Runs a command and returns its output, whatever the status.
pub fn output(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap()
}

/// The failure shape every command shares: the exit code, one
/// `sealpost: error:` line (plus an optional hint), nothing on stdout.
pub fn assert_failure(out: &std::process::Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("sealpost: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}
