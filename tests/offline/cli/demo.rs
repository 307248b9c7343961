//! The README's demonstration must keep working.

#[test]
fn readme_demo_runs_end_to_end() {
    let out = std::process::Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/demo.sh"))
        .env("SEALPOST", assert_cmd::cargo::cargo_bin("sealpost"))
        .env_remove("SEALPOST_KEYSTORE")
        .env_remove("SEALPOST_PASSPHRASE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("demo finished"), "{stdout}");
    // Each reader saw the message body.
    assert_eq!(
        stdout.matches("The meeting moves to Thursday.").count(),
        4,
        "{stdout}"
    );
    // inspect: no copy discloses anyone beyond its addressees.
    assert!(!stdout.contains("beyond its addressees   dave"), "{stdout}");
    assert_eq!(
        stdout.matches("beyond its addressees").count(),
        stdout.matches("beyond its addressees  none").count(),
        "{stdout}"
    );
}
