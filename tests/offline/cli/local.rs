//! The local attacker (issue 11 item 5): another user on the machine who can
//! plant links where sealpost writes, or who can write into a directory
//! sealpost keeps state in. Assertions are on behaviour (what happened to
//! the link's target, which error), since these tests run as root in CI and
//! root is not stopped by permission bits.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::{assert_clean_failure, data, Env};

fn set_mode(path: &std::path::Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `sealpost ARGS` and asserts it refused with exit 77, naming `what`
/// and hinting at the chmod that fixes it.
fn assert_refused_as_unsafe(env: &Env, args: &[&str], what: &str) {
    let out = env.cmd().args(args).output().unwrap();
    let stderr = assert_clean_failure(&out, 77);
    assert!(
        stderr.contains(what)
            && stderr.contains("is writable by others")
            && stderr.contains("chmod go-w"),
        "{stderr}"
    );
}

#[test]
fn a_keystore_others_can_write_is_refused_with_a_hint() {
    let env = Env::new();
    env.make_keystore();
    env.cmd().args(["cert", "list"]).assert().success();
    let ks = env.keystore();
    for (dir, mode) in [
        (ks.clone(), 0o777),
        (ks.clone(), 0o770),
        (ks.join("identities"), 0o722),
        (ks.join("certs"), 0o1777),
    ] {
        set_mode(&dir, mode);
        assert_refused_as_unsafe(&env, &["cert", "list"], "keystore");
        set_mode(&dir, 0o700);
    }
    env.cmd().args(["cert", "list"]).assert().success();
}

#[test]
fn an_outbox_others_can_write_is_refused_with_a_hint() {
    let env = Env::new();
    env.make_keystore();
    env.cmd().args(["outbox", "list"]).assert().success();
    let queue = env.keystore().join("outbox/queue");
    set_mode(&queue, 0o733);
    assert_refused_as_unsafe(&env, &["outbox", "list"], "outbox");
}

/// `-o FILE` where someone planted FILE as a link to a file of the user's:
/// the output replaces the link, the link's target is untouched.
#[test]
fn output_file_replaces_a_planted_link() {
    let env = Env::new();
    env.cmd()
        .args(["cert", "import"])
        .arg(data("alice.cert.pem"))
        .assert()
        .success();
    let message = env
        .cmd()
        .args([
            "compose",
            "--from",
            "alice@example.org",
            "--to",
            "alice@example.org",
            "--subject",
            "x",
        ])
        .write_stdin("hello\r\n")
        .output()
        .unwrap();
    assert!(message.status.success());
    let victim = env.path("victim");
    fs::write(&victim, b"precious").unwrap();
    let out_path = env.path("out.eml");
    std::os::unix::fs::symlink(&victim, &out_path).unwrap();
    // Something is at the name: refused without --force, nothing touched.
    env.cmd()
        .args(["encrypt", "--eml", "-o"])
        .arg(&out_path)
        .write_stdin(message.stdout.clone())
        .assert()
        .code(73);
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    env.cmd()
        .args(["encrypt", "--eml", "--force", "-o"])
        .arg(&out_path)
        .write_stdin(message.stdout)
        .assert()
        .success();
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    let meta = fs::symlink_metadata(&out_path).unwrap();
    assert!(meta.file_type().is_file());
    assert!(fs::read_to_string(&out_path)
        .unwrap()
        .contains("application/pkcs7-mime"));
}
