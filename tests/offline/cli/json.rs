//! `--json`: every command's one document, checked against the shape the
//! man page documents (src/cli/json_schema.rs, compiled here as it is), and
//! errors as a JSON line closing stderr. Commands that need a mail or group
//! server are checked where those servers run: `release` in
//! tests/live/cli/release.rs; `submit`, `outbox flush`, `fetch`, `group
//! secret fetch` and `revoke` against Postfix, Dovecot and the group server
//! in tests/live/mail (here submit, outbox flush and fetch also run against a
//! closed port, which checks their document on a failed run).

use std::collections::BTreeSet;
use std::process::Output;

use serde_json::Value;

use crate::common::data;
use crate::world::{addr, World};

use crate::json_document::{document, error, schema};

/// Commands whose document another test file checks: against a real
/// server, or on the test PKI of tests/cli/verify.rs (the last four).
const CHECKED_WITH_SERVERS: &[&str] = &[
    "release",
    "group secret fetch",
    // tests/live/cli/release.rs, the anonymous list.
    "group pass fetch",
    "revoke",
    "verify",
    "cert trust",
    "cert untrust",
    "cert crl import",
    // tests/live/group/replicas.rs, against a PostgreSQL cluster.
    "group migrate",
];

/// Runs commands as people of a [`World`], checking every document and
/// noting which commands were seen.
struct Runner {
    world: World,
    seen: BTreeSet<String>,
}

impl Runner {
    fn run(&mut self, who: &str, command: &str, args: &[&str], stdin: &[u8]) -> Value {
        let out = self.output(who, args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.check(command, &out)
    }

    fn output(&self, who: &str, args: &[&str], stdin: &[u8]) -> Output {
        self.world
            .as_(who)
            .env("SEALPOST_PASSPHRASE", "test passphrase")
            .env("SEALPOST_PASSWORD_OUT", "secret")
            .env("SEALPOST_PASSWORD_IN", "secret")
            .arg("--json")
            .args(args)
            .write_stdin(stdin.to_vec())
            .output()
            .unwrap()
    }

    fn check(&mut self, command: &str, out: &Output) -> Value {
        self.seen.insert(command.to_string());
        document(&out.stdout, command)
    }
}

#[test]
fn every_command_prints_one_document_of_its_documented_shape() {
    let mut r = Runner {
        world: World::new(),
        seen: BTreeSet::new(),
    };
    let path = |r: &Runner, name: &str| r.world.path(name).display().to_string();

    // Keys.
    let made = r.run(
        "zoe",
        "key generate",
        &[
            "key",
            "generate",
            "--email",
            "zoe@example.org",
            "--bits",
            "2048",
        ],
        b"",
    );
    assert_eq!(made["identity"]["passphrase_protected"], true);
    let key = data("alice.key.pem").display().to_string();
    let cert = data("alice.cert.pem").display().to_string();
    r.run(
        "other",
        "key import",
        &["key", "import", "--no-passphrase", &key, "--cert", &cert],
        b"",
    );
    let listed = r.run("alice", "key list", &["key", "list"], b"");
    assert_eq!(listed["identities"][0]["emails"][0], addr("alice"));
    let pem = r.run(
        "alice",
        "key export",
        &["key", "export", &addr("alice")],
        b"",
    );
    assert!(pem["pem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let der = r.run(
        "alice",
        "key export",
        &["key", "export", "--der", &addr("alice")],
        b"",
    );
    assert!(der["pem"].is_null() && der["der_base64"].is_string());
    // A key leaving (by the keystore "other", whose copy of alice's key is
    // unprotected), a request for it, and what a CA (alice's own
    // certificate, for the test) issued for it coming back.
    let export_pw = path(&r, "export-pw");
    crate::common::write_secret(std::path::Path::new(&export_pw), "export\n");
    let p8 = path(&r, "other.p8");
    let moved = r.run(
        "other",
        "key export",
        &[
            "key",
            "export",
            &addr("alice"),
            "--pkcs8",
            "-o",
            &p8,
            "--export-password-file",
            &export_pw,
        ],
        b"",
    );
    assert!(moved["key_format"] == "pkcs8" && moved["pem"].is_null());
    let csr = path(&r, "other.csr");
    let asked = r.run(
        "other",
        "key csr",
        &["key", "csr", &addr("alice"), "-o", &csr],
        b"",
    );
    assert_eq!(asked["file"], csr);
    let issued = path(&r, "issued.pem");
    crate::common::run_tool(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &cert,
            "-CAkey",
            &key,
            "-set_serial",
            "7",
            "-out",
            &issued,
        ],
    );
    let installed = r.run(
        "other",
        "key import-cert",
        &["key", "import-cert", &issued],
        b"",
    );
    assert_eq!(installed["identities"][0]["serial"], "07");

    // Certificates.
    let bob_cert = data("bob.cert.pem").display().to_string();
    let imported = r.run("zoe", "cert import", &["cert", "import", &bob_cert], b"");
    assert_eq!(imported["certificates"][0]["new"], true);
    r.run("zoe", "cert list", &["cert", "list"], b"");
    r.run(
        "zoe",
        "cert prefer",
        &["cert", "prefer", &addr("bob"), "modern"],
        b"",
    );
    r.run("zoe", "cert remove", &["cert", "remove", &addr("bob")], b"");

    // Compose, encrypt (each output), inspect, decrypt.
    let composed = r.run(
        "alice",
        "compose",
        &[
            "compose",
            "--from",
            &addr("alice"),
            "--to",
            &addr("bob"),
            "--bcc",
            &addr("carol"),
        ],
        b"Hello\n",
    );
    let message = composed["message"].as_str().unwrap().as_bytes().to_vec();
    let bsmtp = r.run("alice", "encrypt", &["encrypt", "--sign"], &message);
    assert_eq!(bsmtp["envelopes"].as_array().unwrap().len(), 2);
    let bsmtp_text = bsmtp["bsmtp"].as_str().unwrap().as_bytes().to_vec();
    assert_eq!(sealpost::smime::bsmtp::parse(&bsmtp_text).unwrap().len(), 2);
    let to_bob = r.world.compose(&["bob"], &[], &[], "for bob\n");
    let eml = r.run("alice", "encrypt", &["encrypt", "--eml", "--sign"], &to_bob);
    let eml_text = eml["message"].as_str().unwrap().as_bytes().to_vec();
    assert!(eml["bsmtp"].is_null() && eml["file"].is_null());
    let outdir = path(&r, "outdir");
    let in_dir = r.run(
        "alice",
        "encrypt",
        &["encrypt", "--outdir", &outdir],
        &message,
    );
    assert_eq!(in_dir["outdir"], outdir.as_str());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(r.world.path("outdir/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["schema_version"], schema::SCHEMA_VERSION);
    let inspected = r.run("alice", "inspect", &["inspect", "-"], &bsmtp_text);
    // encrypt and inspect name the algorithms alike.
    for (envelope, report) in bsmtp["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(inspected["messages"].as_array().unwrap())
    {
        assert_eq!(envelope["content_encryption"], report["content_encryption"]);
        for ri in report["recipient_infos"].as_array().unwrap() {
            assert_eq!(envelope["key_encryption"], ri["key_encryption"]);
        }
    }
    // bob has no certificate of alice's: he learns it, then accepts it.
    let decrypted = r.run("bob", "decrypt", &["decrypt"], &eml_text);
    assert!(decrypted["content"].as_str().unwrap().contains("for bob"));
    assert_eq!(decrypted["signatures"][0]["valid"], true);
    assert!(decrypted["signatures"][0]["signing_time"].is_string());
    assert_eq!(
        decrypted["decrypted_with"][0]["content_encryption"],
        eml["envelopes"][0]["content_encryption"]
    );
    let plain_file = path(&r, "plain.txt");
    let to_file = r.run("bob", "decrypt", &["decrypt", "-o", &plain_file], &eml_text);
    assert!(to_file["content"].is_null() && to_file["file"] == plain_file.as_str());
    r.run(
        "bob",
        "cert accept",
        &["cert", "accept", &addr("alice")],
        b"",
    );

    // Accounts, and mail that cannot go out: the server's port is closed.
    let closed = "smtp://127.0.0.1:1";
    r.run(
        "alice",
        "account add",
        &[
            "account",
            "add",
            "out",
            "--smtp",
            closed,
            "--user",
            "alice",
            "--insecure-plaintext",
        ],
        b"",
    );
    r.run(
        "alice",
        "account add",
        &[
            "account",
            "add",
            "in",
            "--imap",
            "imap://127.0.0.1:1",
            "--user",
            "alice",
            "--insecure-plaintext",
        ],
        b"",
    );
    let accounts = r.run("alice", "account list", &["account", "list"], b"");
    assert_eq!(accounts["accounts"][0]["fetch"]["protocol"], "imap");
    let out = r.output(
        "alice",
        &["submit", "--account", "out", "--timeout", "2"],
        &bsmtp_text,
    );
    error(&out, 75);
    let submitted = r.check("submit", &out);
    assert_eq!(
        submitted["queued"].as_array().unwrap().len(),
        2,
        "{submitted}"
    );
    let queue = r.run("alice", "outbox list", &["outbox", "list"], b"");
    let id = queue["entries"][0]["id"].as_str().unwrap().to_string();
    let out = r.output("alice", &["outbox", "flush", "--timeout", "2"], b"");
    error(&out, 75);
    assert_eq!(
        r.check("outbox flush", &out)["queued"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    r.run("alice", "outbox drop", &["outbox", "drop", &id], b"");
    let pruned = r.run(
        "alice",
        "outbox prune",
        &["outbox", "prune", "--older-than", "1d"],
        b"",
    );
    assert_eq!(pruned["older_than_seconds"], 86400);
    let out = r.output("alice", &["fetch", "in", "--timeout", "2"], b"");
    assert!(!out.status.success());
    let fetched = r.check("fetch", &out);
    assert!(fetched["accounts"][0]["error"].is_string());
    r.run("alice", "account remove", &["account", "remove", "in"], b"");

    // The group server's side (its store only: nothing is served).
    r.run(
        "op",
        "group create",
        &[
            "group",
            "create",
            "list",
            "--email",
            "list@example.org",
            "--bits",
            "2048",
        ],
        b"",
    );
    let group_pem = r.run("op", "group cert", &["group", "cert", "list"], b"");
    let group_pem_path = r.world.path("list.pem");
    std::fs::write(&group_pem_path, group_pem["pem"].as_str().unwrap()).unwrap();
    let der = r.run("op", "group cert", &["group", "cert", "list", "--der"], b"");
    assert!(der["der_base64"].is_string());
    r.run(
        "op",
        "group add-member",
        &["group", "add-member", "list", &bob_cert],
        b"",
    );
    let members = r.run("op", "group members", &["group", "members", "list"], b"");
    assert_eq!(members["members"][0]["address"], addr("bob"));
    let exported = r.run(
        "op",
        "group key export",
        &["group", "key", "export", "list", "--to", &bob_cert],
        b"",
    );
    assert!(exported["file"].is_null());
    let held = r.run(
        "bob",
        "group key import",
        &["group", "key", "import", "-"],
        exported["pem"].as_str().unwrap().as_bytes(),
    );
    assert_eq!(held["identity"]["emails"][0], "list@example.org");
    r.run("op", "group audit", &["group", "audit", "list"], b"");
    let pruned = r.run(
        "op",
        "group audit",
        &["group", "audit", "list", "--prune", "1d"],
        b"",
    );
    assert_eq!(pruned["pruned"]["deleted"], 0);
    r.run(
        "op",
        "group rotate-secret",
        &["group", "rotate-secret", "list"],
        b"",
    );
    r.run(
        "op",
        "group remove-member",
        &["group", "remove-member", "list", &addr("bob")],
        b"",
    );
    let rotated = r.run(
        "op",
        "group rotate-key",
        &["group", "rotate-key", "list", "--keep-old", "1d"],
        b"",
    );
    assert_eq!(rotated["generation"], 2);
    let shown = r.run("op", "group show", &["group", "show", "list"], b"");
    assert_eq!(shown["keys"][1]["state"], "retired");
    assert_eq!(shown["anonymous"], false);
    assert!(shown["keys"][0]["retired_until"].is_null());

    // A member's side, and the exploder with members from a file.
    let pem_path = group_pem_path.display().to_string();
    r.run(
        "bob",
        "group join",
        &["group", "join", "list", "--cert", &pem_path],
        b"",
    );
    r.run(
        "bob",
        "group secret list",
        &["group", "secret", "list", "list"],
        b"",
    );
    let shown = r.run(
        "bob",
        "group pass show",
        &["group", "pass", "show", "list"],
        b"",
    );
    assert!(shown["pass"].is_null());
    let set = r.run(
        "op",
        "group set",
        &["group", "set", "list", "anonymous=on", "pass-lifetime=6h"],
        b"",
    );
    assert_eq!(
        (&set["anonymous"], &set["pass_lifetime"]),
        (&true.into(), &21600.into())
    );
    let members_file = r.world.path("members.txt");
    std::fs::write(
        &members_file,
        format!("{}\n{}\n", addr("dave"), addr("erin")),
    )
    .unwrap();
    let plain = r.world.compose(&["carol"], &[], &[], "to the list\n");
    let exploded = r.run(
        "bob",
        "explode",
        &[
            "explode",
            "--group",
            "list",
            "--pass-through",
            "--members",
            &members_file.display().to_string(),
        ],
        &plain,
    );
    assert_eq!(
        sealpost::smime::bsmtp::parse(exploded["bsmtp"].as_str().unwrap().as_bytes())
            .unwrap()
            .len(),
        2
    );

    // Every documented command ran here, or runs against a server elsewhere.
    let missing: Vec<&str> = schema::COMMANDS
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !r.seen.contains(*c) && !CHECKED_WITH_SERVERS.contains(c))
        .collect();
    assert!(missing.is_empty(), "not checked: {missing:?}");
}

#[test]
fn errors_close_stderr_as_one_json_line_with_the_exit_status() {
    let w = World::new();
    let run = |who: &str, args: &[&str], stdin: &[u8]| {
        w.as_(who)
            .args(args)
            .write_stdin(stdin.to_vec())
            .output()
            .unwrap()
    };
    // 64, from clap (the option after the subcommand counts too) and from sealpost.
    let usage = error(
        &run("alice", &["cert", "list", "--frobnicate", "--json"], b""),
        64,
    );
    assert_eq!(usage["error"]["exit_name"], "Usage");
    let out = run(
        "alice",
        &["--json", "--json-version", "2", "key", "list"],
        b"",
    );
    let version = error(&out, 64);
    assert!(
        version["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1.4"),
        "{version}"
    );
    error(
        &run(
            "alice",
            &["--json", "compose", "--from", &addr("alice")],
            b"",
        ),
        64,
    );
    // 65: not a message.
    let out = run("alice", &["--json", "decrypt"], b"not a message\n");
    assert_eq!(error(&out, 65)["error"]["exit_name"], "DataErr");
    // 66: no keystore.
    let out = w
        .as_("nobody")
        .args(["--json", "cert", "list"])
        .output()
        .unwrap();
    assert!(error(&out, 66)["error"]["hint"].is_string());
    // 67: nobody's certificate.
    let message = w.compose(&["alice"], &[], &[], "hi\n");
    let stranger = String::from_utf8(message)
        .unwrap()
        .replace("To: <alice@example.org>", "To: <stranger@example.net>");
    let out = run("alice", &["--json", "encrypt"], stranger.as_bytes());
    assert_eq!(error(&out, 67)["error"]["exit_name"], "NoUser");
    // 73: -o over an existing file.
    let existing = w.path("existing");
    std::fs::write(&existing, "keep").unwrap();
    let out = run(
        "alice",
        &["--json", "decrypt", "-o", &existing.display().to_string()],
        b"",
    );
    error(&out, 73);
    // 78: a protected key and no passphrase source.
    let env = crate::common::Env::new();
    env.import_identity("alice");
    let encrypted = run(
        "alice",
        &["encrypt", "--eml"],
        &w.compose(&["alice"], &[], &[], "x\n"),
    )
    .stdout;
    let out = env
        .cmd()
        .args(["--json", "decrypt"])
        .write_stdin(encrypted.clone())
        .output()
        .unwrap();
    error(&out, 78);
    // 77: the wrong passphrase.
    let wrong = env.path("wrong");
    crate::common::write_secret(&wrong, "not it\n");
    let out = env
        .cmd()
        .args(["--json", "--passphrase-file"])
        .arg(&wrong)
        .arg("decrypt")
        .write_stdin(encrypted)
        .output()
        .unwrap();
    error(&out, 77);
    // Without --json: text only, and nothing on stdout.
    let out = run("alice", &["decrypt"], b"not a message\n");
    assert!(out.stdout.is_empty());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("\"error\""));
    // A `--json` after `--` is an operand, not the option.
    let out = run("alice", &["inspect", "--frob", "--", "--json"], b"");
    assert_eq!(out.status.code(), Some(64));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("\"error\""));
}

#[test]
fn clap_errors_carry_the_sealpost_prefix_usage_and_tip() {
    let w = World::new();
    for args in [
        &["--frobnicate"][..],
        &["key", "generate"],
        &["inspect", "--bogus"],
    ] {
        let out = w.as_("alice").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("sealpost: error: "),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("Usage: sealpost"), "{stderr}");
        assert!(
            stderr.lines().filter(|l| l.contains("error:")).count() == 1,
            "{stderr}"
        );
    }
    // clap's tips stay.
    let out = w
        .as_("alice")
        .args(["inspect", "--bogus"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("tip:"));
    // Help and version are not errors.
    let out = w.as_("alice").arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sealpost "));
}

#[test]
fn the_schema_is_in_the_man_page_and_the_version_pin_accepts_what_is_written() {
    let w = World::new();
    let man = w.as_("alice").arg("man").output().unwrap();
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.contains(".SH \"JSON OUTPUT\""),
        "no JSON OUTPUT section"
    );
    for (command, _) in schema::COMMANDS {
        let roff = format!("sealpost --json {command}").replace('-', "\\-");
        assert!(man.contains(&roff), "{command}");
    }
    for version in schema::ACCEPTED_VERSIONS {
        let out = w
            .as_("alice")
            .args(["--json", "--json-version", version, "key", "list"])
            .output()
            .unwrap();
        document(&out.stdout, "key list");
    }
}
