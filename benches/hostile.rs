//! Hostile-input benchmark (issue #11, item 7): `sealpost decrypt` of a
//! message crafted against the multipart/signed boundary search (a 50 kB
//! boundary of dashes, and a preamble of dash lines one shorter than the
//! delimiter, so that every offset almost matches) at N and 4N bytes, next
//! to an ordinary message of the same size. Linear scanning shows as a 4N/N
//! ratio near 4 and the crafted message costing what ordinary mail does;
//! before the fix a 3.9 MB crafted message took 27 s.
//!
//! Run with `cargo bench --bench hostile` (add `--profile dev` to reuse the
//! test build: the ratio is what matters, not the absolute times).

#[path = "support/measure.rs"]
mod measure;

use std::fs::File;
use std::process::Stdio;

use measure::{alice_and_bob, best_of, header, row, sealpost, Cost};

const RUNS: usize = 3;
const BOUNDARY: usize = 50_000;
const SIZES: [usize; 2] = [4 << 20, 16 << 20];

const HEAD: &str =
    "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: crafted\r\nMIME-Version: 1.0\r\n";

/// The crafted message: multipart/signed whose preamble is `size` bytes of
/// near-delimiter lines, then a signed part and a (bogus) signature.
fn crafted(size: usize) -> Vec<u8> {
    let boundary = "-".repeat(BOUNDARY);
    let mut m = format!(
        "{HEAD}Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"{boundary}\"\r\n\r\n"
    )
    .into_bytes();
    let mut line = vec![b'-'; BOUNDARY + 1];
    line.extend_from_slice(b"\r\n");
    while m.len() < size {
        m.extend_from_slice(&line);
    }
    m.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Type: text/plain\r\n\r\nhi\r\n--{boundary}\r\n\
Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\nMAA=\r\n--{boundary}--\r\n"
        )
        .as_bytes(),
    );
    m
}

/// An ordinary message of about `size` bytes: text lines.
fn ordinary(size: usize) -> Vec<u8> {
    let mut m = format!("{HEAD}Content-Type: text/plain\r\n\r\n").into_bytes();
    while m.len() < size {
        m.extend_from_slice(b"The quick brown fox jumps over the lazy dog, again and again.\r\n");
    }
    m
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (alice, bob) = alice_and_bob(d);

    println!("hostile-input benchmark: decrypt, best of {RUNS}, boundary {BOUNDARY} bytes");
    header("sealpost decrypt (message encrypted to bob)");
    let mut crafted_costs: Vec<Cost> = Vec::new();
    for size in SIZES {
        let mut costs = Vec::new();
        for (kind, message) in [("ordinary", ordinary(size)), ("crafted", crafted(size))] {
            let plain = d.join(format!("{kind}-{size}.eml"));
            std::fs::write(&plain, &message).unwrap();
            let encrypted = d.join(format!("{kind}-{size}.p7m"));
            let mut c = sealpost(&alice);
            c.args(["-q", "encrypt", "--eml", "--no-self"]).arg(&plain);
            let status = c
                .stdout(File::create(&encrypted).unwrap())
                .status()
                .unwrap();
            assert!(status.success());
            let cost = best_of(RUNS, || {
                let mut c = sealpost(&bob);
                c.args(["-q", "decrypt"])
                    .arg(&encrypted)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                c
            });
            costs.push(cost);
        }
        let mib = size >> 20;
        row(&format!("ordinary message, {mib} MiB"), costs[0], None);
        row(
            &format!("crafted message, {mib} MiB"),
            costs[1],
            Some(costs[0]),
        );
        crafted_costs.push(costs[1]);
    }
    let ratio = crafted_costs[1].wall.as_secs_f64() / crafted_costs[0].wall.as_secs_f64();
    println!("\ncrafted 4N / N wall time: {ratio:.2} (linear: about 4; quadratic: 16)");
}
