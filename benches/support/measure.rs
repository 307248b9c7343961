//! Shared by the benchmarks: run a command and measure its wall time and
//! peak resident memory (from wait4's rusage, so it is the child's own peak),
//! and print rows side by side with ratios.

#![allow(dead_code)]

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run cost.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub wall: Duration,
    /// User plus system CPU time: steadier than wall time on a busy machine.
    pub cpu: Duration,
    /// Peak resident set size in bytes.
    pub peak_rss: u64,
}

/// Runs `cmd` (stdin/stdout as configured by the caller, stderr inherited)
/// and returns its cost; panics if it fails, since a failed run measures nothing.
pub fn run(cmd: &mut Command) -> Cost {
    let start = Instant::now();
    let child = cmd
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(rc, pid, "wait4 failed");
    let status = std::process::ExitStatus::from_raw(status);
    assert!(status.success(), "{cmd:?} failed: {status}");
    std::mem::forget(child); // already reaped
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Cost {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_rss: usage.ru_maxrss as u64 * 1024,
    }
}

/// The best (lowest wall time) of `n` runs; memory of that run.
pub fn best_of(n: usize, mut make: impl FnMut() -> Command) -> Cost {
    (0..n)
        .map(|_| run(&mut make()))
        .min_by_key(|c| c.wall)
        .unwrap()
}

pub fn header(title: &str) {
    println!("\n{title}");
    println!(
        "{:<58} {:>10} {:>10} {:>11} {:>9}",
        "", "wall", "cpu", "peak RSS", "vs ref"
    );
}

/// One row; `reference` is the row it is compared with (ratio = reference / this, so >1 is faster).
pub fn row(label: &str, cost: Cost, reference: Option<Cost>) {
    let ratio = reference
        .map(|r| format!("{:.2}x", r.wall.as_secs_f64() / cost.wall.as_secs_f64()))
        .unwrap_or_else(|| "ref".into());
    println!(
        "{:<58} {:>9.3}s {:>9.3}s {:>8.1} MB {:>9}",
        label,
        cost.wall.as_secs_f64(),
        cost.cpu.as_secs_f64(),
        cost.peak_rss as f64 / 1e6,
        ratio
    );
}

/// The release build of sealpost (benchmarks build it with `cargo bench`).
pub fn sealpost_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_sealpost"))
}

pub fn null() -> Stdio {
    Stdio::null()
}

/// A file under tests/data.
pub fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// `sealpost` with `keystore`, no passphrase, stdin empty.
pub fn sealpost(keystore: &std::path::Path) -> Command {
    let mut c = Command::new(sealpost_bin());
    c.env("SEALPOST_KEYSTORE", keystore)
        .env_remove("SEALPOST_PASSPHRASE")
        .stdin(Stdio::null());
    c
}

/// Runs `c` (stdout discarded) and panics with its stderr if it fails.
pub fn ok(mut c: Command) {
    let out = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Keystores for alice and bob under `dir`, each with its fixture identity
/// (no passphrase), and bob's certificate in alice's.
pub fn alice_and_bob(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (alice, bob) = (dir.join("ks-alice"), dir.join("ks-bob"));
    for (ks, who) in [(&alice, "alice"), (&bob, "bob")] {
        let mut c = sealpost(ks);
        c.args(["key", "import", "--no-passphrase"])
            .arg(data(&format!("{who}.key.pem")))
            .arg("--cert")
            .arg(data(&format!("{who}.cert.pem")));
        ok(c);
    }
    let mut c = sealpost(&alice);
    c.args(["cert", "import"]).arg(data("bob.cert.pem"));
    ok(c);
    (alice, bob)
}
