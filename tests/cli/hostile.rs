//! Issue #11 ("hold against a hostile world"), the input side: addresses
//! that would inject SMTP commands, messages crafted to make a scanner
//! quadratic, and key files crafted to make key derivation run for ever.

use crate::common::{assert_clean_failure, data, Env};

/// A certificate whose rfc822Name is `mallory@example.org>` CR LF `DATA` …
/// CR LF `RCPT TO:<outsider@example.net`: written into `RCPT TO:<…>`, one
/// member's address became a whole forged transaction.
const CRLF_CERT: &str = "mallory-crlf.cert.pem";

#[test]
fn cert_import_refuses_an_address_that_would_inject_smtp_commands() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["cert", "import"])
        .arg(data("bob.cert.pem"))
        .arg(data(CRLF_CERT))
        .output()
        .unwrap();
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("cannot be mailed"), "{err}");
    assert!(err.contains(CRLF_CERT), "{err}");
    // One bad file imports nothing.
    let out = env.cmd().args(["--json", "cert", "list"]).output().unwrap();
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
}

#[test]
fn group_add_member_refuses_an_address_that_would_inject_smtp_commands() {
    let env = Env::new();
    let operator = || {
        let mut cmd = env.cmd();
        cmd.env("SEALPOST_PASSPHRASE", "operator passphrase");
        cmd
    };
    operator()
        .args([
            "group",
            "create",
            "list",
            "--email",
            "list@example.org",
            "--bits",
            "2048",
        ])
        .assert()
        .success();
    let out = operator()
        .args(["group", "add-member", "list"])
        .arg(data(CRLF_CERT))
        .output()
        .unwrap();
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("cannot be mailed"), "{err}");
    let out = operator()
        .args(["--json", "group", "members", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("mallory"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
