//! Benchmark (not a test): exploding one 1 MiB list message to 1000
//! members, in relay mode (the same copy to each member) and in re-encrypt
//! mode (decrypted once, encrypted again with each member's certificate).
//!
//! Each row is compared, in the same run, with the lower bound for writing
//! the same bytes: `cat` of sealpost's own output into another file on the
//! same disk. Peak memory is the process's own (wait4).
//!
//! Run: `cargo bench --bench explode`.

#[path = "support/measure.rs"]
mod measure;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use measure::{best_of, run, sealpost_bin, Cost};
use sealpost::smime::identity::{self_signed_certificate, NewIdentity};

const MEMBERS: usize = 1000;
const RUNS: usize = 3;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn member(i: usize) -> String {
    format!("m{i}@example.org")
}

fn sealpost(ks: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(sealpost_bin());
    c.env("SEALPOST_KEYSTORE", ks)
        .env_remove("SEALPOST_PASSPHRASE")
        .args(args)
        .stdin(Stdio::null());
    c
}

fn ok(mut c: Command) -> Vec<u8> {
    let out = c.stderr(Stdio::piped()).output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A 1 MiB body of base64 text in CRLF lines, as an attachment looks.
fn body() -> String {
    let mut body = String::new();
    let mut state = 7u64;
    while body.len() < 1 << 20 {
        for _ in 0..76 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            body.push(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(state >> 58) as usize] as char,
            );
        }
        body.push_str("\r\n");
    }
    body
}

fn to_file(mut c: Command, out: &Path) -> Command {
    c.stdout(File::create(out).unwrap());
    c
}

/// One row; `envelopes` is false for `cat`, which makes none.
fn print_row(label: &str, cost: Cost, bytes: u64, envelopes: bool, reference: Option<Cost>) {
    let ratio = reference
        .map(|r| format!("{:.2}x", r.wall.as_secs_f64() / cost.wall.as_secs_f64()))
        .unwrap_or_else(|| "ref".into());
    let rate = if envelopes {
        format!("{:.0}/s", MEMBERS as f64 / cost.wall.as_secs_f64())
    } else {
        "-".into()
    };
    println!(
        "{:<44} {:>8.3}s {:>11} {:>8.1} MB {:>9.1} MB {:>8}",
        label,
        cost.wall.as_secs_f64(),
        rate,
        cost.peak_rss as f64 / 1e6,
        bytes as f64 / 1e6,
        ratio
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (alice, exploder) = (d.join("ks-alice"), d.join("ks-exploder"));
    // The sender, and the exploder holding the list's key (bob's fixture)
    // and every member's certificate.
    ok(sealpost(
        &alice,
        &[
            "key",
            "import",
            "-q",
            "--no-passphrase",
            data("alice.key.pem").to_str().unwrap(),
            "--cert",
            data("alice.cert.pem").to_str().unwrap(),
        ],
    ));
    ok(sealpost(
        &exploder,
        &[
            "key",
            "import",
            "-q",
            "--no-passphrase",
            data("bob.key.pem").to_str().unwrap(),
            "--cert",
            data("bob.cert.pem").to_str().unwrap(),
        ],
    ));
    let list_pem = data("bob.cert.pem");
    ok(sealpost(
        &alice,
        &["cert", "import", "-q", list_pem.to_str().unwrap()],
    ));
    ok(sealpost(
        &exploder,
        &[
            "group",
            "join",
            "list",
            "--cert",
            list_pem.to_str().unwrap(),
        ],
    ));
    // Members share one key: key generation would dominate the setup, and a
    // public-key operation costs the same for any key of the size.
    let key = sealpost::smime::privkey::open(
        &std::fs::read_to_string(data("carol.key.pem")).unwrap(),
        None,
        "bench",
    )
    .unwrap();
    let now = sealpost::smime::certs::now();
    let mut bundle = String::new();
    let mut members = String::new();
    for i in 0..MEMBERS {
        let email = member(i);
        let spec = NewIdentity {
            email: &email,
            name: None,
            algorithm: sealpost::smime::identity::KeyAlgorithm::Rsa(2048),
            days: 30,
        };
        bundle.push_str(
            &self_signed_certificate(&key, &spec, now, &mut rand_core::OsRng)
                .unwrap()
                .to_pem(),
        );
        members.push_str(&email);
        members.push('\n');
    }
    let bundle_path = d.join("members.pem");
    std::fs::write(&bundle_path, bundle).unwrap();
    ok(sealpost(
        &exploder,
        &["cert", "import", "-q", bundle_path.to_str().unwrap()],
    ));
    let members_path = d.join("members.txt");
    std::fs::write(&members_path, members).unwrap();

    let message = format!(
        "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: list bench\r\n\
         Content-Type: text/plain\r\n\r\n{}",
        body()
    );
    let plain = d.join("message.eml");
    std::fs::write(&plain, message).unwrap();
    let encrypted = d.join("encrypted.eml");
    let mut c = sealpost(&alice, &["-q", "encrypt", "--eml", "--no-self"]);
    c.arg(&plain);
    std::fs::write(&encrypted, ok(c)).unwrap();
    let size = std::fs::metadata(&encrypted).unwrap().len();

    println!(
        "explode benchmark: one {:.2} MiB encrypted message to {MEMBERS} members, \
         Batch SMTP to a file, best of {RUNS}",
        size as f64 / (1 << 20) as f64
    );
    println!(
        "{:<44} {:>9} {:>11} {:>11} {:>12} {:>8}",
        "", "wall", "envelopes", "peak RSS", "written", "vs cat"
    );
    let out = d.join("out.bsmtp");
    let copy = d.join("copy.bsmtp");
    for (label, extra) in [
        ("sealpost explode (relay)", &[][..]),
        ("sealpost explode --reencrypt", &["--reencrypt"][..]),
    ] {
        let cost = best_of(RUNS, || {
            let mut c = sealpost(
                &exploder,
                &["-q", "explode", "--group", "list", "--members"],
            );
            c.arg(&members_path).args(extra).arg(&encrypted);
            to_file(c, &out)
        });
        let bytes = std::fs::metadata(&out).unwrap().len();
        let reference = best_of(RUNS, || {
            let mut c = Command::new("cat");
            c.arg(&out).stdin(Stdio::null());
            to_file(c, &copy)
        });
        print_row(
            &format!("cat of the same {:.0} MB", bytes as f64 / 1e6),
            reference,
            bytes,
            false,
            None,
        );
        print_row(label, cost, bytes, true, Some(reference));
    }
    // One run of each writing to /dev/null: the work without the disk.
    for (label, extra) in [
        ("relay, output to /dev/null", &[][..]),
        ("--reencrypt, output to /dev/null", &["--reencrypt"][..]),
    ] {
        let mut c = sealpost(
            &exploder,
            &["-q", "explode", "--group", "list", "--members"],
        );
        c.arg(&members_path)
            .args(extra)
            .arg(&encrypted)
            .stdout(Stdio::null());
        let cost = run(&mut c);
        print_row(label, cost, 0, true, None);
    }
}
