//! Benchmark (not a test): encrypting one 1 MiB message to 1 To + N Bcc
//! recipients, each Bcc recipient in their own envelope.
//!
//! Compared in the same run with what a shell user can do today:
//! - `openssl cms -encrypt` once per envelope (keeps Bcc private, the reference);
//! - one `openssl cms -encrypt` to every certificate (leaks every Bcc recipient
//!   to everyone; a lower bound, not a real alternative).
//!
//! Each with RSA-2048 recipients (key transport) and with P-256 recipients
//! (ECDH key agreement: one ephemeral key and one agreement per recipient per
//! envelope, as RFC 5753 has it and the Bcc rules require).
//!
//! Run: `cargo bench --bench envelopes` (RSA: N = 100 and 1000; P-256: N = 100).

#[path = "support/measure.rs"]
mod measure;

use std::path::{Path, PathBuf};
use std::process::Command;

use measure::{best_of, header, null, row, run, sealpost_bin, Cost};
use sealpost::smime::identity::{self_signed_certificate, NewIdentity};

fn recipient(i: usize) -> String {
    format!("r{i}@example.org")
}

struct Setup {
    dir: tempfile::TempDir,
    message: PathBuf,
    inner: PathBuf,
    cert_files: Vec<PathBuf>,
}

/// The recipients' kind of key.
#[derive(Clone, Copy, PartialEq)]
enum Keys {
    Rsa2048,
    P256,
}

impl Keys {
    fn name(self) -> &'static str {
        match self {
            Keys::Rsa2048 => "RSA-2048",
            Keys::P256 => "P-256",
        }
    }
}

/// One key shared by all recipients (key generation would dominate the setup,
/// and public-key operations cost the same for any key of the kind).
fn setup(bcc: usize, keys: Keys) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let key = match keys {
        Keys::Rsa2048 => {
            let key_pem = std::fs::read_to_string(data.join("alice.key.pem")).unwrap();
            sealpost::smime::privkey::open(&key_pem, None, "bench").unwrap()
        }
        Keys::P256 => sealpost::smime::privkey::PrivateKey::generate(
            sealpost::smime::privkey::KeyKind::Ec(sealpost::smime::privkey::Curve::P256),
        )
        .unwrap(),
    };
    let now = sealpost::smime::certs::now();
    let mut bundle = String::new();
    let mut cert_files = Vec::new();
    for i in 0..=bcc {
        let email = recipient(i);
        let spec = NewIdentity {
            email: &email,
            name: None,
            algorithm: sealpost::smime::identity::KeyAlgorithm::Rsa(2048),
            days: 30,
        };
        let cert = self_signed_certificate(&key, &spec, now, &mut rand_core::OsRng).unwrap();
        let pem = cert.to_pem();
        let file = dir.path().join(format!("r{i}.pem"));
        std::fs::write(&file, &pem).unwrap();
        cert_files.push(file);
        bundle.push_str(&pem);
    }
    let ks = dir.path().join("ks");
    let sp = |args: &[&str]| {
        let ok = Command::new(sealpost_bin())
            .env("SEALPOST_KEYSTORE", &ks)
            .args(args)
            .stdout(null())
            .status()
            .unwrap();
        assert!(ok.success(), "{args:?}");
    };
    sp(&[
        "key",
        "import",
        "-q",
        "--no-passphrase",
        data.join("alice.key.pem").to_str().unwrap(),
        "--cert",
        data.join("alice.cert.pem").to_str().unwrap(),
    ]);
    let bundle_path = dir.path().join("all.pem");
    std::fs::write(&bundle_path, bundle).unwrap();
    sp(&["cert", "import", "-q", bundle_path.to_str().unwrap()]);

    // A 1 MiB body of base64 text (as an attachment would be).
    let mut body = String::new();
    let mut state = 1u64;
    while body.len() < 1 << 20 {
        let line: String = (0..76)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(state >> 58) as usize] as char
            })
            .collect();
        body.push_str(&line);
        body.push_str("\r\n");
    }
    let bcc_list: Vec<String> = (1..=bcc).map(recipient).collect();
    let message = format!(
        "From: alice@example.org\r\nTo: {}\r\nBcc: {}\r\nSubject: bench\r\nContent-Type: text/plain\r\n\r\n{body}",
        recipient(0),
        bcc_list.join(",\r\n ")
    );
    let message_path = dir.path().join("message.eml");
    std::fs::write(&message_path, &message).unwrap();
    let inner = sealpost::smime::message::split_for_encryption(message.as_bytes())
        .unwrap()
        .inner;
    let inner_path = dir.path().join("inner.txt");
    std::fs::write(&inner_path, inner).unwrap();
    Setup {
        dir,
        message: message_path,
        inner: inner_path,
        cert_files,
    }
}

fn openssl(inner: &Path, out: &Path, certs: &[&Path]) -> Command {
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-encrypt", "-binary", "-aes256", "-in"])
        .arg(inner)
        .arg("-out")
        .arg(out);
    cmd.args(certs).stdout(null());
    cmd
}

fn bench(bcc: usize, keys: Keys) {
    let s = setup(bcc, keys);
    let alice = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/alice.cert.pem");
    // Output goes to /dev/null for every contender: what is compared is the
    // work of encrypting, not the disk (sealpost writes one copy per envelope,
    // the leaking call one copy in all). A last row shows sealpost writing its
    // Batch SMTP to a file.
    let out = PathBuf::from("/dev/null");
    header(&format!(
        "1 MiB message, 1 To + {bcc} Bcc recipients with {} keys ({} envelopes, sender copy (RSA) in each)",
        keys.name(),
        bcc + 1
    ));

    // Reference: one openssl call per envelope, as a shell user keeping Bcc private must.
    let loop_cost = {
        let start = std::time::Instant::now();
        let (mut peak, mut cpu) = (0, std::time::Duration::ZERO);
        let mut envelope = |certs: &[&Path]| {
            let cost = run(&mut openssl(&s.inner, &out, certs));
            peak = peak.max(cost.peak_rss);
            cpu += cost.cpu;
        };
        envelope(&[&s.cert_files[0], &alice]);
        for cert in &s.cert_files[1..] {
            envelope(&[cert, &alice]);
        }
        Cost {
            wall: start.elapsed(),
            cpu,
            peak_rss: peak,
        }
    };
    row(
        &format!(
            "openssl cms -encrypt, once per envelope ({} calls)",
            bcc + 1
        ),
        loop_cost,
        None,
    );

    let all: Vec<&Path> = s
        .cert_files
        .iter()
        .map(|p| p.as_path())
        .chain([alice.as_path()])
        .collect();
    let single = best_of(3, || openssl(&s.inner, &out, &all));
    row(
        "openssl cms -encrypt, one call to all (leaks Bcc)",
        single,
        Some(loop_cost),
    );

    let sealpost = |extra: &[&str]| {
        let ks = s.dir.path().join("ks");
        let msg = s.message.clone();
        let extra: Vec<String> = extra.iter().map(|x| x.to_string()).collect();
        best_of(3, move || {
            let mut cmd = Command::new(sealpost_bin());
            cmd.env("SEALPOST_KEYSTORE", &ks)
                .args(["encrypt", "-q"])
                .args(&extra)
                .arg(&msg)
                .stdout(null());
            cmd
        })
    };
    let same_algs = sealpost(&["--cipher", "aes256-cbc", "--key-transport", "pkcs1"]);
    row(
        if keys == Keys::Rsa2048 {
            "sealpost encrypt, AES-256-CBC + PKCS#1 (as openssl)"
        } else {
            "sealpost encrypt, AES-256-CBC + ECDH (as openssl)"
        },
        same_algs,
        Some(loop_cost),
    );
    let default_algs = sealpost(&[]);
    row(
        if keys == Keys::Rsa2048 {
            "sealpost encrypt, default (AES-256-GCM + RSA-OAEP)"
        } else {
            "sealpost encrypt, default (AES-256-GCM + ECDH)"
        },
        default_algs,
        Some(loop_cost),
    );
    println!(
        "  sealpost (same algorithms) vs one leaking openssl call: {:.2}x the time (target: at most 2x)",
        same_algs.wall.as_secs_f64() / single.wall.as_secs_f64()
    );
    println!(
        "  sealpost (same algorithms) vs openssl once per envelope: {:.1}x faster (target: at least 20x)",
        loop_cost.wall.as_secs_f64() / same_algs.wall.as_secs_f64()
    );
    let file = s.dir.path().join("out.bsmtp");
    let to_file = best_of(3, || {
        let mut cmd = Command::new(sealpost_bin());
        cmd.env("SEALPOST_KEYSTORE", s.dir.path().join("ks"))
            .args([
                "encrypt",
                "-q",
                "--cipher",
                "aes256-cbc",
                "--key-transport",
                "pkcs1",
                "--force",
                "-o",
            ])
            .arg(&file)
            .arg(&s.message);
        cmd
    });
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    row(
        &format!(
            "sealpost, as above, -o FILE ({:.0} MB, fsynced)",
            size as f64 / 1e6
        ),
        to_file,
        Some(loop_cost),
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list: nothing to run as a test
    }
    bench(100, Keys::Rsa2048);
    bench(100, Keys::P256);
    bench(1000, Keys::Rsa2048);
}
