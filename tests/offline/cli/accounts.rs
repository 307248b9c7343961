//! Accounts that only send (a cron job mailing reports) or only fetch: no
//! server is invented for the other side, and using it says so at once.

use crate::common::{assert_clean_failure, Env};

#[test]
fn send_only_and_fetch_only_accounts() {
    let env = Env::new();
    env.make_keystore();
    env.cmd()
        .args([
            "account",
            "add",
            "reports",
            "--smtp",
            "smtps://mail.example.org",
        ])
        .args(["--user", "cron@example.org"])
        .assert()
        .success();
    env.cmd()
        .args(["account", "add", "reader", "--imap", "imaps://127.0.0.1:1"])
        .args(["--user", "me@example.org"])
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["--json", "account", "list"])
        .output()
        .unwrap();
    let list = crate::json_document::document(&out.stdout, "account list");
    let by_name = |name: &str| {
        list["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()
            .clone()
    };
    let reports = by_name("reports");
    assert_eq!(reports["smtp"]["urls"][0], "smtps://mail.example.org:465");
    assert!(reports["fetch"].is_null());
    let reader = by_name("reader");
    assert!(reader["smtp"].is_null(), "{reader}");
    assert_eq!(reader["fetch"]["protocol"], "imap");
    assert_eq!(reader["fetch"]["servers"]["urls"][0], "imaps://127.0.0.1:1");

    // Fetching through the send-only account: a setting, said before any
    // password is asked for (there is none to give here).
    let out = env.cmd().args(["fetch", "reports"]).output().unwrap();
    let stderr = assert_clean_failure(&out, 78);
    assert!(stderr.contains("send-only"), "{stderr}");
    // `fetch --all` skips it rather than fail on it (the fetch-only account's
    // server is a closed loopback port: it fails, for its own reason).
    let out = env
        .cmd()
        .args(["fetch", "--all", "--password-file"])
        .arg(env.pass_file())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("send-only"), "{stderr}");

    // Submitting through the fetch-only account: refused before anything
    // is queued or any password asked for.
    let out = env
        .cmd()
        .args(["submit", "--account", "reader"])
        .write_stdin("MAIL FROM:<me@example.org>\r\nRCPT TO:<you@example.org>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n")
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 78);
    assert!(stderr.contains("fetch-only"), "{stderr}");
    let queued = env
        .cmd()
        .args(["--json", "outbox", "list"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&queued.stdout).contains("you@example.org"),
        "nothing queued"
    );

    // "srv" without a domain stays refused; an account with no server at all too.
    for args in [["--smtp", "srv"], ["--imap", "srv"]] {
        let out = env
            .cmd()
            .args(["account", "add", "bad", "--user", "u"])
            .args(args)
            .output()
            .unwrap();
        assert_clean_failure(&out, 64);
    }
    env.cmd()
        .args(["account", "add", "bad", "--user", "u"])
        .assert()
        .code(64);
}

/// `--ca-file` must hold at least one well-formed certificate: a file with
/// none is a data error at `account add`, not a surprise at the first
/// connection; a certificate is accepted.
#[test]
fn ca_file_without_a_certificate_is_refused() {
    let env = Env::new();
    env.make_keystore();
    let empty = env.path("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let out = env
        .cmd()
        .args(["account", "add", "work", "--user", "u", "--smtp"])
        .args(["smtps://127.0.0.1:1", "--ca-file"])
        .arg(&empty)
        .output()
        .unwrap();
    let stderr = assert_clean_failure(&out, 65);
    assert!(stderr.contains("holds no PEM certificate"), "{stderr}");
    env.cmd()
        .args(["account", "add", "work", "--user", "u", "--smtp"])
        .args(["smtps://127.0.0.1:1", "--ca-file"])
        .arg(crate::common::data("alice.cert.pem"))
        .assert()
        .success();
}
