//! Small habits of a mature Unix tool (issue #12, item 10): what a user
//! sees when a passphrase source is empty or readable by others, when no
//! terminal can ask, and when a message is for someone else.

use std::os::unix::fs::PermissionsExt;

use crate::common::{assert_clean_failure, data, openssl_encrypt, Env};
use crate::world::World;

/// `key generate` of a quick (2048-bit) key for `email`.
fn generate(email: &str) -> [&str; 6] {
    ["key", "generate", "--bits", "2048", "--email", email]
}

#[test]
fn an_empty_passphrase_file_is_empty_not_wrong() {
    let env = Env::new();
    let empty = env.path("empty.pass");
    std::fs::write(&empty, "").unwrap();
    std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A new key: refused, rather than stored under an empty passphrase.
    let out = env
        .cmd()
        .args(generate("a@example.org"))
        .arg("--passphrase-file")
        .arg(&empty)
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 78);
    assert!(stderr.contains("is empty"), "{stderr}");
    assert!(
        !env.keystore().join("identities").exists() || {
            std::fs::read_dir(env.keystore().join("identities"))
                .unwrap()
                .count()
                == 0
        }
    );
    // An existing key: "empty", not "wrong passphrase".
    env.import_identity("bob");
    let content = env.path("c.txt");
    std::fs::write(&content, "Content-Type: text/plain\r\n\r\nhi\r\n").unwrap();
    let enc = env.path("m.eml");
    openssl_encrypt(&content, &data("bob.cert.pem"), &enc);
    let out = env
        .cmd()
        .arg("--passphrase-file")
        .arg(&empty)
        .arg("decrypt")
        .arg(&enc)
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 78);
    assert!(stderr.contains("is empty"), "{stderr}");
    // The environment variable, set but empty (an unset shell variable).
    let out = env
        .cmd()
        .env("SEALPOST_PASSPHRASE", "")
        .args(generate("b@example.org"))
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 78);
    assert!(stderr.contains("SEALPOST_PASSPHRASE is empty"), "{stderr}");
}

#[test]
fn a_passphrase_file_others_can_read_is_warned_about() {
    let env = Env::new();
    std::fs::set_permissions(env.pass_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env
        .cmd_pw()
        .args(generate("a@example.org"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("readable by other users"),
        "{stderr}"
    );
    // 0600: no warning.
    std::fs::set_permissions(env.pass_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env
        .cmd_pw()
        .args(generate("b@example.org"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn key_generate_without_a_terminal_mentions_no_passphrase() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["key", "generate", "--email", "a@example.org"])
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 78);
    assert!(stderr.contains("--no-passphrase"), "{stderr}");
}

#[test]
fn a_message_for_someone_else_names_them_by_address() {
    let w = World::new();
    let msg = w.compose(&["bob"], &[], &["dave"], "not for bob\r\n");
    let txns = w.encrypt(&msg, &[]);
    let daves = txns
        .iter()
        .find(|t| t.rcpt_to == ["dave@example.org"])
        .unwrap();
    // bob knows dave's certificate, not alice's.
    w.as_("bob")
        .args(["cert", "import"])
        .arg(data("dave.cert.pem"))
        .assert()
        .success();
    let out = w.decrypt("bob", &daves.data, &[]);
    let stderr = assert_clean_failure(&out, 67);
    assert!(stderr.contains("it is for: dave@example.org"), "{stderr}");
    // alice's certificate is unknown to bob: issuer and serial.
    assert!(stderr.contains("issuer"), "{stderr}");
}

#[test]
fn every_text_file_in_the_keystore_ends_with_a_newline() {
    let w = World::new();
    let pass = w.path("mail.pass");
    std::fs::write(&pass, "pw\n").unwrap();
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A port nothing listens on: the envelope stays queued (75).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    w.as_("alice")
        .args(["account", "add", "work", "--user", "alice", "--smtp"])
        .arg(format!("smtp+plain://127.0.0.1:{port}"))
        .arg("--insecure-plaintext")
        .arg("--password-file")
        .arg(&pass)
        .assert()
        .success();
    let msg = w.compose(&["bob"], &[], &[], "queued\r\n");
    let bsmtp = w
        .as_("alice")
        .arg("encrypt")
        .write_stdin(msg)
        .output()
        .unwrap();
    let out = w
        .as_("alice")
        .args(["submit", "--account", "work"])
        .write_stdin(bsmtp.stdout)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut checked = 0;
    let mut dirs = vec![w.keystore("alice")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !["toml", "json", "pem"].contains(&ext) {
                continue; // messages and DER are not text files of sealpost's
            }
            let data = std::fs::read(&path).unwrap();
            assert!(
                data.is_empty() || data.ends_with(b"\n"),
                "{} does not end with a newline",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} files checked");
}
