//! Large-message benchmark: `sealpost encrypt` and `decrypt` against
//! `openssl cms` on a 100 MiB message, wall time and peak RSS, best of 3;
//! then one small message, best of 20: what every decrypt pays whatever its
//! size (start-up, the keystore, one RSA key unwrap).
//!
//! ChaCha20-Poly1305 has no OpenSSL row (OpenSSL 3.0's CMS neither writes
//! nor reads it): its rows are compared with sealpost's own AES-256-GCM rows.
//!
//! Run with `cargo bench --bench large`. Output goes to files in a temporary
//! directory for both tools (stdout redirected), so both pay the same I/O.

#[path = "support/measure.rs"]
mod measure;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use measure::{alice_and_bob, best_of, data, header, row, sealpost};

const SIZE: usize = 100 << 20;
const RUNS: usize = 3;

/// A message from alice to bob whose body is ~100 MiB of base64 text in
/// 76-character CRLF lines (what a large attachment looks like). Written in
/// pieces: this process must stay small, because on Linux a child's peak RSS
/// (from wait4) includes the parent's peak when it was spawned by vfork.
fn write_message(path: &Path) {
    use std::io::Write;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut file = std::io::BufWriter::new(File::create(path).unwrap());
    let mut written = 0;
    let mut m = Vec::with_capacity(1 << 20);
    m.extend_from_slice(
        b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: large\r\n\
MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\
Content-Transfer-Encoding: base64\r\n\r\n",
    );
    let mut x = 0x2545f4914f6cdd1du64;
    while written < SIZE {
        for _ in 0..76 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            m.push(alphabet[(x & 63) as usize]);
        }
        m.extend_from_slice(b"\r\n");
        if m.len() >= 1 << 20 {
            written += m.len();
            file.write_all(&m).unwrap();
            m.clear();
        }
    }
    file.write_all(&m).unwrap();
    file.flush().unwrap();
}

fn to_file(mut c: Command, out: &Path) -> Command {
    c.stdout(File::create(out).unwrap());
    c
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (alice, bob) = alice_and_bob(d);

    let message = d.join("message.eml");
    write_message(&message);
    let mib = std::fs::metadata(&message).unwrap().len() as f64 / (1 << 20) as f64;
    println!("large-message benchmark: {mib:.0} MiB message, best of {RUNS}, output to files");

    let out = d.join("out");
    let bob_cert = data("bob.cert.pem");
    let bob_key = data("bob.key.pem");
    header("encrypt (--eml, one recipient)");
    let mut gcm = None;
    for (ours, theirs) in [
        ("aes256-gcm", "-aes-256-gcm"),
        ("aes256-cbc", "-aes-256-cbc"),
    ] {
        let reference = best_of(RUNS, || {
            let mut c = Command::new("openssl");
            c.args(["cms", "-encrypt", "-stream", "-binary", theirs, "-in"])
                .arg(&message)
                .arg(&bob_cert)
                .stdin(Stdio::null());
            to_file(c, &out)
        });
        row(
            &format!("openssl cms -encrypt -stream -binary {theirs}"),
            reference,
            None,
        );
        let cost = best_of(RUNS, || {
            let mut c = sealpost(&alice);
            c.args(["-q", "encrypt", "--eml", "--cipher", ours])
                .arg(&message);
            to_file(c, &out)
        });
        row(
            &format!("sealpost encrypt --eml --cipher {ours}"),
            cost,
            Some(reference),
        );
        gcm = gcm.or(Some(cost));
    }
    let cost = best_of(RUNS, || {
        let mut c = sealpost(&alice);
        c.args(["-q", "encrypt", "--eml", "--cipher", "chacha20-poly1305"])
            .arg(&message);
        to_file(c, &out)
    });
    row(
        "sealpost encrypt --eml --cipher chacha20-poly1305 (vs gcm)",
        cost,
        gcm,
    );

    header("decrypt (the message sealpost encrypted)");
    let mut gcm = None;
    for cipher in ["aes256-gcm", "aes256-cbc", "chacha20-poly1305"] {
        let encrypted = d.join(format!("{cipher}.p7m"));
        let mut c = sealpost(&alice);
        c.args(["-q", "encrypt", "--eml", "--cipher", cipher])
            .arg(&message);
        let status = to_file(c, &encrypted).status().unwrap();
        assert!(status.success());
        let cost = || {
            best_of(RUNS, || {
                let mut c = sealpost(&bob);
                c.args(["-q", "decrypt"]).arg(&encrypted);
                to_file(c, &out)
            })
        };
        if cipher == "chacha20-poly1305" {
            row("sealpost decrypt (chacha20-poly1305, vs gcm)", cost(), gcm);
            continue;
        }
        let reference = best_of(RUNS, || {
            let mut c = Command::new("openssl");
            c.args(["cms", "-decrypt", "-binary", "-in"])
                .arg(&encrypted)
                .arg("-recip")
                .arg(&bob_cert)
                .arg("-inkey")
                .arg(&bob_key)
                .stdin(Stdio::null());
            to_file(c, &out)
        });
        row(
            &format!("openssl cms -decrypt -binary ({cipher})"),
            reference,
            None,
        );
        let cost = cost();
        row(
            &format!("sealpost decrypt ({cipher})"),
            cost,
            Some(reference),
        );
        gcm = gcm.or(Some(cost));
        if cipher == "aes256-gcm" {
            // A file others may write is hashed again while it is decrypted
            // (a change between the two passes is caught); one only this
            // user may write, as above, is hashed once.
            set_mode(&encrypted, 0o664);
            let cost = best_of(RUNS, || {
                let mut c = sealpost(&bob);
                c.args(["-q", "decrypt"]).arg(&encrypted);
                to_file(c, &out)
            });
            row(
                &format!("sealpost decrypt ({cipher}, group-writable file)"),
                cost,
                Some(reference),
            );
        }
    }

    small_message(d, &alice, &bob);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// One short message: the fixed cost of a decrypt.
fn small_message(d: &Path, alice: &Path, bob: &Path) {
    const SMALL_RUNS: usize = 20;
    let message = d.join("small.eml");
    std::fs::write(
        &message,
        "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: small\r\n\r\nA short note.\r\n",
    )
    .unwrap();
    let encrypted = d.join("small.p7m");
    let mut c = sealpost(alice);
    c.args(["-q", "encrypt", "--eml"]).arg(&message);
    assert!(to_file(c, &encrypted).status().unwrap().success());
    header(&format!(
        "decrypt a {} byte message (best of {SMALL_RUNS})",
        std::fs::metadata(&message).unwrap().len()
    ));
    let out = d.join("small.out");
    let reference = best_of(SMALL_RUNS, || {
        let mut c = Command::new("openssl");
        c.args(["cms", "-decrypt", "-in"])
            .arg(&encrypted)
            .arg("-recip")
            .arg(data("bob.cert.pem"))
            .arg("-inkey")
            .arg(data("bob.key.pem"))
            .stdin(Stdio::null());
        to_file(c, &out)
    });
    row("openssl cms -decrypt", reference, None);
    let cost = best_of(SMALL_RUNS, || {
        let mut c = sealpost(bob);
        c.args(["-q", "decrypt"]).arg(&encrypted);
        to_file(c, &out)
    });
    row("sealpost decrypt", cost, Some(reference));
}
