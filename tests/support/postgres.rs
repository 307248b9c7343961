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
}

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
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
            self.port,
            self.home().display()
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
