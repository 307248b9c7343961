//! `group serve --config FILE` (issue 16): a server started from its config
//! file alone (no passphrase in the environment: `passphrase_file`), and a
//! flag on the command line overriding the file's key.

use std::process::{Command, Stdio};
use std::time::Duration;

use sealpost::smime::envelope::KeyTransport;

use super::harness::{assert_granted, member, now, request, seal, Operator, LIST, PASSPHRASE};
use super::server::Served;

#[test]
fn a_server_runs_from_its_config_file_and_flags_override_it() {
    let op = Operator::new();
    let cert = op.create_group(LIST);
    let bob = member("bob");
    op.add_member(LIST, &bob);
    let dir = op.dir.path();
    let passphrase_file = dir.join("passphrase");
    std::fs::write(&passphrase_file, format!("{PASSPHRASE}\n")).unwrap();
    let config = dir.join("group.toml");
    let quoted = |p: &std::path::Path| format!("{:?}", p.display().to_string());
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ntls_cert = {}\ntls_key = {}\nstore = {}\n\
             passphrase_file = {}\nmetrics = \"127.0.0.1:0\"\nlog_format = \"json\"\n",
            quoted(&op.tls.cert),
            quoted(&op.tls.key),
            quoted(&op.keystore().join("groups.sqlite3")),
            quoted(&passphrase_file),
        ),
    )
    .unwrap();
    // No keystore, no passphrase in the environment: everything from the file.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealpost"));
    cmd.env("SEALPOST_KEYSTORE", dir.join("elsewhere"))
        .env_remove("SEALPOST_PASSPHRASE")
        .env_remove("SEALPOST_GROUP_STORE")
        .stdin(Stdio::null())
        .args(["group", "serve", "--config"])
        .arg(&config)
        .args(["--log-format", "text"]);
    let mut served = Served::start(cmd);
    // The flag won over the file's json; the file's metrics address is served.
    assert!(
        served
            .preamble
            .iter()
            .any(|l| l.starts_with("sealpost: metrics on http://")),
        "{:?}",
        served.preamble
    );
    let sealed = seal(&cert, KeyTransport::RsaOaepSha256);
    let answer = op
        .connect(&served)
        .release(&request(&bob, LIST, &sealed.entry, now()))
        .unwrap();
    assert_granted(&answer, &bob, &sealed);
    served.signal(libc::SIGTERM);
    assert!(served.wait_exit(Duration::from_secs(20)).unwrap().success());
}
