//! `sealpost account add|list|remove`.

use super::client::{assert_failure, output, url, Client};
use super::servers::servers;

#[test]
fn accounts_are_stored_without_passwords_and_other_settings_survive() {
    let s = servers();
    let c = Client::new(&s, "acct-store");
    // Create the keystore (an empty directory, laid out by the first command
    // that opens it), then add a setting of another kind by hand.
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(c.keystore())
        .unwrap();
    c.cmd().args(["account", "list"]).assert().success();
    let config = c.keystore().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[groups.team]\nserver = \"x\" # hand-written\n");
    std::fs::write(&config, &text).unwrap();

    c.add_account(
        &s,
        "work",
        &format!(
            "{},{}",
            url("smtps", s.ports.smtps),
            url("smtp", s.ports.submission)
        ),
        &format!("--imap={}", url("imaps", s.ports.imaps)),
    );
    // A stored password, read from a descriptor-less source: the environment.
    c.cmd()
        .env("SEALPOST_PASSWORD_HOME", "kept-secret-42")
        .args(["account", "add", "home", "--smtp"])
        .arg(url("smtp", s.ports.submission))
        .arg("--pop3")
        .arg(url("pop3s", s.ports.pop3s))
        .args(["--user", "someone", "--store-password"])
        .assert()
        .success();
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(after.starts_with(&text), "{after}");
    assert!(after.contains("kept-secret-42"), "stored on request");
    assert!(
        !after.contains(&c.password()),
        "the file's password is not copied"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let out = output(c.cmd().args(["account", "list"]));
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.contains("home") && listing.contains("work"),
        "{listing}"
    );
    assert!(listing.contains(&format!("smtps://127.0.0.1:{}", s.ports.smtps)));
    assert!(!listing.contains("kept-secret-42"), "{listing}");
    let out = output(c.cmd().args(["--json", "account", "list"]));
    let v = crate::json_document::document(&out.stdout, "account list");
    assert_eq!(v["accounts"][0]["password_stored"], true);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("kept-secret-42"));

    // Same name again without --replace; plaintext without the flag.
    let out = output(
        c.cmd()
            .args([
                "account",
                "add",
                "work",
                "--smtp",
                "smtps://h",
                "--imap",
                "imaps://h",
            ])
            .args(["--user", "u"]),
    );
    assert_failure(&out, 73);
    let out = output(
        c.cmd()
            .args([
                "account",
                "add",
                "plain",
                "--smtp",
                "smtp+plain://h",
                "--imap",
                "imaps://h",
            ])
            .args(["--user", "u"]),
    );
    let err = assert_failure(&out, 64);
    assert!(err.contains("--insecure-plaintext"), "{err}");
    let out = output(
        c.cmd()
            .args([
                "account",
                "add",
                "bad",
                "--smtp",
                "imaps://h",
                "--imap",
                "imaps://h",
            ])
            .args(["--user", "u"]),
    );
    assert_failure(&out, 64);
    // --store-password with no source and no terminal: fails at once.
    let out = output(
        c.cmd()
            .args([
                "account",
                "add",
                "nopw",
                "--smtp",
                "smtps://h",
                "--imap",
                "imaps://h",
            ])
            .args(["--user", "u", "--store-password"]),
    );
    assert_failure(&out, 78);

    c.cmd()
        .args(["account", "remove", "home"])
        .assert()
        .success();
    assert_failure(&output(c.cmd().args(["account", "remove", "home"])), 78);
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(
        !after.contains("kept-secret-42") && after.contains("hand-written"),
        "{after}"
    );
}
