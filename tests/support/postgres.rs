//! A private PostgreSQL cluster for one test (or benchmark) run: `initdb`
//! in a temporary directory, `pg_ctl` on a free loopback port, stopped and
//! deleted on drop. Debian's `postgresql` package provides the binaries
//! (tests/run.sh installs it); without them [`Postgres::start`] prints why
//! and returns `None`, and the caller skips.
//!
//! `initdb` refuses to run as root, and CI runs as root: then the cluster
//! is run as the `postgres` user the package creates (`runuser`), in a
//! directory that user owns.

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The one role the tests connect as (trust authentication on loopback).
const USER: &str = "sealpost";

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    as_root: bool,
    /// Server options beyond the port and socket (`-c ssl=on …`).
    extra: String,
}

/// The password of [`USER`] over TLS, where [`Postgres::start_tls`] asks
/// for SCRAM (so that a test sees the password kept out of messages, and
/// the channel binding checked).
pub const TLS_PASSWORD: &str = "pg-secret-7f3a";

/// The newest `/usr/lib/postgresql/*/bin` with `initdb` and `pg_ctl`.
fn binaries() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Postgres {
    /// Starts a new cluster, or prints why it cannot and returns `None`.
    pub fn start(test: &str) -> Option<Postgres> {
        let Some(bin) = binaries() else {
            eprintln!(
                "skipping {test}: no PostgreSQL binaries under /usr/lib/postgresql \
                 (apt-get install postgresql)"
            );
            return None;
        };
        let as_root = unsafe { libc::geteuid() } == 0;
        let dir = tempfile::tempdir().unwrap();
        // The postgres user must reach its directories inside ours.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let pg = Postgres {
            dir,
            bin,
            port: free_port(),
            as_root,
            extra: String::new(),
        };
        std::fs::create_dir(pg.home()).unwrap();
        if as_root {
            let status = Command::new("chown")
                .arg("postgres")
                .arg(pg.home())
                .status()
                .unwrap();
            assert!(status.success(), "chown postgres {}", pg.home().display());
        }
        pg.run(
            "initdb",
            &[
                "-D",
                pg.data().to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                USER,
                "--no-sync",
            ],
        );
        pg.resume();
        Some(pg)
    }

    /// A cluster that speaks TLS with `cert` and `key` (PEM; their CA is
    /// the test's) and asks for the password by SCRAM over TLS; plain
    /// connections (the helpers' own) stay trusted.
    pub fn start_tls(test: &str, cert: &Path, key: &Path) -> Option<Postgres> {
        let mut pg = Postgres::start(test)?;
        pg.stop();
        for (from, name) in [(cert, "server.crt"), (key, "server.key")] {
            let to = pg.home().join(name);
            std::fs::copy(from, &to).unwrap();
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
            if pg.as_root {
                let status = Command::new("chown")
                    .arg("postgres")
                    .arg(&to)
                    .status()
                    .unwrap();
                assert!(status.success());
            }
        }
        std::fs::write(
            pg.data().join("pg_hba.conf"),
            "local all all trust\n\
             hostnossl all all 127.0.0.1/32 trust\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        pg.extra = format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            pg.home().join("server.crt").display(),
            pg.home().join("server.key").display()
        );
        pg.resume();
        let mut client = postgres::Client::connect(&pg.url("postgres"), postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("ALTER ROLE {USER} PASSWORD '{TLS_PASSWORD}'"))
            .unwrap();
        Some(pg)
    }

    /// A URL for `db` as `host` (resolved to 127.0.0.1 whatever it is:
    /// `hostaddr`), with the password and then `params`.
    pub fn tls_url(&self, host: &str, db: &str, params: &str) -> String {
        format!(
            "postgres://{USER}:{TLS_PASSWORD}@{host}:{}/{db}?hostaddr=127.0.0.1{}{params}",
            self.port,
            if params.is_empty() { "" } else { "&" }
        )
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("pg")
    }

    fn data(&self) -> PathBuf {
        self.home().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A database URL for `db` (created by [`Self::database`]).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// A URL for `db` over the server's Unix socket (the driver reads a
    /// percent-encoded path as the socket directory).
    pub fn socket_url(&self, db: &str) -> String {
        let dir = self.home().display().to_string().replace('/', "%2F");
        format!("postgres://{USER}@{dir}:{}/{db}", self.port)
    }

    /// Creates database `name` and returns its URL.
    pub fn database(&self, name: &str) -> String {
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("cannot connect to the test cluster");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        self.url(name)
    }

    /// Stops the server (`pg_ctl stop -m fast`), keeping its data.
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// Starts the server (again) on the same port and waits until it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200{}",
            self.port,
            self.home().display(),
            self.extra
        );
        let log = self.home().join("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while postgres::Client::connect(&self.url("postgres"), postgres::NoTls).is_err() {
            assert!(Instant::now() < deadline, "PostgreSQL did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home().join("log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.run_quiet(&[
            "-D",
            self.data().to_str().unwrap(),
            "-m",
            "immediate",
            "stop",
        ]);
    }
}

impl Postgres {
    fn run_quiet(&self, args: &[&str]) -> std::io::Result<()> {
        let program = self.bin.join("pg_ctl");
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|_| ())
    }
}
