//! Group key release end to end, as users run it: a real `sealpost group
//! serve` over HTTPS on loopback, members who `group join` it, a sender who
//! encrypts to the list certificate, and `decrypt` / `release` asking the
//! server. (The server's own checks are tested in tests/live/group.)

use crate::common::{assert_clean_failure, run_tool};
use crate::group::server;
use crate::group::softhsm::SoftHsm;
use crate::world::{addr, World};
use server::{serve_command, tls_files, Served, TlsFiles};

const LIST: &str = "list@example.org";

/// The group server's keystore and store, as the list operator runs it.
struct Operator<'w> {
    world: &'w World,
    /// The token holding the group key, for the processes that open it.
    hsm: Option<&'w SoftHsm>,
}

impl Operator<'_> {
    fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = crate::common::sealpost_without_terminal();
        cmd.env("SEALPOST_KEYSTORE", self.world.keystore("operator"))
            .env("SEALPOST_PASSPHRASE", "operator passphrase")
            .write_stdin("");
        if let Some(hsm) = self.hsm {
            cmd.env("SOFTHSM2_CONF", hsm.conf());
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn serve(&self, tls: &TlsFiles, extra: &[&str]) -> Served {
        let keystore = self.world.keystore("operator");
        let mut cmd = serve_command(&keystore, "operator passphrase", tls, extra);
        if let Some(hsm) = self.hsm {
            hsm.env(&mut cmd);
        }
        Served::start(cmd)
    }
}

/// A list with bob and carol as members, its server running, bob, carol and
/// dave (not a member) joined, and alice's message to the list.
struct List {
    world: World,
    server: Served,
    message: Vec<u8>,
}

const BODY: &str = "Minutes of the meeting.\nNothing decided.\n";

fn list() -> List {
    list_with(None, &[], &[])
}

/// [`list`], its group key in `hsm`'s token when given, `create` added to
/// `group create` and `serve` to `group serve`.
fn list_with(hsm: Option<&SoftHsm>, create_extra: &[&str], serve: &[&str]) -> List {
    let world = World::new();
    let tls = tls_files(&world.path("tls"));
    let op = Operator { world: &world, hsm };
    let key = match hsm {
        Some(hsm) => vec!["--pkcs11".to_string(), hsm.uri()],
        None => vec!["--bits".to_string(), "2048".to_string()],
    };
    let mut create = vec!["group", "create", "list", "--email", LIST];
    create.extend(key.iter().map(String::as_str));
    create.extend(create_extra);
    op.run(&create);
    let list_pem = world.path("list.pem");
    std::fs::write(&list_pem, op.run(&["group", "cert", "list"])).unwrap();
    for member in ["bob", "carol"] {
        op.run(&[
            "group",
            "add-member",
            "list",
            crate::common::data(&format!("{member}.cert.pem"))
                .to_str()
                .unwrap(),
        ]);
    }
    let server = op.serve(&tls, serve);
    for who in ["bob", "carol", "dave"] {
        world
            .as_(who)
            .args(["group", "join", "list", "--cert"])
            .arg(&list_pem)
            .args(["--server", &server.url(), "--ca-file"])
            .arg(&tls.ca)
            .assert()
            .success();
    }
    world
        .as_("alice")
        .args(["cert", "import"])
        .arg(&list_pem)
        .assert()
        .success();
    let composed = world.compose(&["list"], &[], &[], BODY);
    let out = world
        .as_("alice")
        .args(["encrypt", "--eml", "--no-self"])
        .write_stdin(composed)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    List {
        message: out.stdout,
        world,
        server,
    }
}

fn plaintext_body(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

#[test]
fn members_decrypt_through_the_group_server_and_removal_is_immediate() {
    let l = list();
    let w = &l.world;
    for member in ["bob", "carol"] {
        let out = w.decrypt(member, &l.message, &[]);
        assert!(plaintext_body(&out).contains(BODY), "{member}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("released by https://localhost:"),
            "{stderr}"
        );
    }
    // dave joined, but is no member on the server.
    let out = w.decrypt("dave", &l.message, &[]);
    let err = assert_clean_failure(&out, 77);
    assert!(err.contains("not a member"), "{err}");

    // --offline: no request, a clear error, nothing on stdout.
    let out = w.decrypt("bob", &l.message, &["--offline"]);
    let err = assert_clean_failure(&out, 69);
    assert!(err.contains("--offline"), "{err}");

    // Removal takes effect on carol's very next request; bob still reads.
    Operator {
        world: w,
        hsm: None,
    }
    .run(&["group", "remove-member", "list", &addr("carol")]);
    let out = w.decrypt("carol", &l.message, &[]);
    let err = assert_clean_failure(&out, 77);
    assert!(err.contains("not a member"), "{err}");
    assert!(plaintext_body(&w.decrypt("bob", &l.message, &[])).contains(BODY));
}

#[test]
fn release_makes_the_message_readable_offline_and_by_openssl() {
    let l = list();
    let w = &l.world;
    let released_path = w.path("released.eml");
    let out = w
        .as_("bob")
        .args(["--json", "release", "-o"])
        .arg(&released_path)
        .write_stdin(l.message.clone())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = crate::json_document::document(&out.stdout, "release");
    assert_eq!(summary["released"], true);
    assert_eq!(summary["file"], released_path.to_str().unwrap());
    assert!(summary["message"].is_null() && summary["message_base64"].is_null());
    assert_eq!(summary["group"], "list");
    assert_eq!(summary["key_hash"].as_str().unwrap().len(), 64);
    let released = std::fs::read(&released_path).unwrap();
    assert_ne!(released, l.message);

    // Offline now, with no server at all.
    drop(l.server);
    let out = w.decrypt("bob", &released, &["--offline"]);
    assert!(plaintext_body(&out).contains(BODY));
    // And by OpenSSL with bob's key alone.
    let bob_cert = crate::common::data("bob.cert.pem");
    let bob_key = crate::common::data("bob.key.pem");
    let plain = run_tool(
        "openssl",
        &[
            "cms",
            "-decrypt",
            "-in",
            released_path.to_str().unwrap(),
            "-recip",
            bob_cert.to_str().unwrap(),
            "-inkey",
            bob_key.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&plain)
        .replace("\r\n", "\n")
        .contains(BODY));
    // The original still needs the server: the copy is not for carol.
    let out = w.decrypt("carol", &released, &["--offline"]);
    assert_clean_failure(&out, 69);
    // Releasing again: already for bob, written back unchanged.
    let out = w
        .as_("bob")
        .arg("release")
        .write_stdin(released.clone())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, released);
}

#[test]
fn failover_skips_a_dead_server_and_names_every_failure() {
    let l = list();
    let w = &l.world;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead_url = format!("https://127.0.0.1:{dead}");
    w.as_("bob")
        .args(["group", "join", "list", "--cert"])
        .arg(w.path("list.pem"))
        .args([
            "--server",
            &dead_url,
            "--server",
            &l.server.url(),
            "--ca-file",
        ])
        .arg(w.path("tls/ca.pem"))
        .assert()
        .success();
    assert!(plaintext_body(&w.decrypt("bob", &l.message, &[])).contains(BODY));

    drop(l.server);
    let out = w.decrypt("bob", &l.message, &[]);
    let err = assert_clean_failure(&out, 69);
    assert!(err.contains(&dead_url), "{err}");
    assert!(err.contains("https://localhost:"), "{err}");
}

/// Mail to the list from another S/MIME implementation: OpenSSL with
/// PKCS#1 v1.5 and issuer/serial, and with RSA-OAEP SHA-256 and a key
/// identifier; both open for a member through the server.
#[test]
fn foreign_mail_to_the_group_opens_via_release() {
    let l = list();
    let w = &l.world;
    let plain = w.path("plain.txt");
    std::fs::write(&plain, format!("Content-Type: text/plain\r\n\r\n{BODY}")).unwrap();
    let list_pem = w.path("list.pem");
    let oaep = [
        "-keyopt",
        "rsa_padding_mode:oaep",
        "-keyopt",
        "rsa_oaep_md:sha256",
    ];
    for (before, after) in [
        (&[][..], &[][..]),
        (&["-keyid", "-aes-256-gcm"][..], &oaep[..]),
    ] {
        let extra = (before, after);
        let mut args = vec!["cms", "-encrypt", "-in", plain.to_str().unwrap()];
        args.extend_from_slice(before);
        args.push("-recip");
        args.push(list_pem.to_str().unwrap());
        args.extend_from_slice(after);
        let message = run_tool("openssl", &args);
        let out = w.decrypt("carol", &message, &[]);
        assert!(plaintext_body(&out).contains(BODY), "openssl {extra:?}");
    }
}

/// Issue 16 item 2: the group key in a PKCS#11 token (SoftHSM2); a member
/// decrypts the list's message through the server as with a key in memory.
#[test]
fn a_member_decrypts_through_a_server_whose_group_key_is_in_a_token() {
    let hsm = SoftHsm::new();
    let l = list_with(Some(&hsm), &[], &[]);
    let out = l.world.decrypt("bob", &l.message, &[]);
    assert!(plaintext_body(&out).contains(BODY), "bob could not read it");
    // Dave, who joined but is no member, still cannot.
    let out = l.world.decrypt("dave", &l.message, &[]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Nothing decided"));
}

/// The fingerprint of a fixture's certificate, as the server names it.
fn fingerprint(who: &str) -> String {
    let pem = std::fs::read(crate::common::data(&format!("{who}.cert.pem"))).unwrap();
    sealpost::smime::certs::parse_bundle(&pem)
        .unwrap()
        .remove(0)
        .fingerprint
}

/// Issue 17 end to end: an anonymous list over HTTPS. Members read with
/// passes fetched on their own; the audit log and the server's log pair no
/// member with a message; one pass per member per period; `remove-member
/// --now` withdraws every pass, and only the removed member stays out.
#[test]
fn anonymous_members_read_with_passes_and_the_server_learns_no_reader() {
    let mut l = list_with(None, &["--anonymous"], &["-v"]);
    let w = &l.world;
    let op = Operator {
        world: w,
        hsm: None,
    };
    // bob fetches his pass by hand, carol's decrypt fetches hers.
    let out = w
        .as_("bob")
        .args(["--json", "group", "pass", "fetch", "list"])
        .output()
        .unwrap();
    let fetched = crate::json_document::document(&out.stdout, "group pass fetch");
    assert_eq!(fetched["pass"]["id"].as_str().unwrap().len(), 64);
    for member in ["bob", "carol"] {
        let out = w.decrypt(member, &l.message, &["-v"]);
        assert!(plaintext_body(&out).contains(BODY), "{member}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("membership pass"), "{stderr}");
    }
    // Read again: the pass held is used, nothing is issued twice. And
    // `release` leaves an entry for bob's own key (the pass key's would be
    // useless once the period ends): readable offline from then on.
    assert!(plaintext_body(&w.decrypt("bob", &l.message, &[])).contains(BODY));
    let released = w.path("anonymous-released.eml");
    w.as_("bob")
        .args(["release", "-o"])
        .arg(&released)
        .write_stdin(l.message.clone())
        .assert()
        .success();
    let released = std::fs::read(&released).unwrap();
    assert!(plaintext_body(&w.decrypt("bob", &released, &["--offline"])).contains(BODY));
    // One pass per member per period.
    let out = w
        .as_("bob")
        .args(["group", "pass", "fetch", "list"])
        .output()
        .unwrap();
    let err = assert_clean_failure(&out, 75);
    assert!(err.contains("already issued"), "{err}");
    // dave joined, but the server issues him nothing.
    let out = w.decrypt("dave", &l.message, &[]);
    let err = assert_clean_failure(&out, 77);
    assert!(err.contains("not a member"), "{err}");

    let audit = |op: &Operator| -> Vec<serde_json::Value> {
        let out = op.run(&["--json", "group", "audit", "list"]);
        crate::json_document::document(&out, "group audit")["rows"]
            .as_array()
            .unwrap()
            .clone()
    };
    let rows = audit(&op);
    let releases: Vec<_> = rows.iter().filter(|r| r["op"] == "pass-release").collect();
    assert_eq!(releases.len(), 4, "{rows:#?}");
    let identities = [
        addr("bob"),
        addr("carol"),
        fingerprint("bob"),
        fingerprint("carol"),
    ];
    for r in &releases {
        assert_eq!(r["outcome"], "released");
        assert!(r["member"].is_null(), "{r}");
        assert!(
            r["fingerprint"].as_str().unwrap().starts_with("pass:"),
            "{r}"
        );
        let text = r.to_string();
        assert!(
            identities.iter().all(|id| !text.contains(id.as_str())),
            "{r}"
        );
    }
    // The issuer's rows name the members, but no message: their key_hash is
    // the period's issuing key, the same for both.
    let issued: Vec<_> = rows
        .iter()
        .filter(|r| r["op"] == "pass" && r["outcome"] == "released")
        .collect();
    assert_eq!(issued.len(), 2, "{rows:#?}");
    assert_eq!(issued[0]["key_hash"], issued[1]["key_hash"]);
    let message_hashes: Vec<_> = releases.iter().map(|r| &r["key_hash"]).collect();
    assert!(issued
        .iter()
        .all(|r| !message_hashes.contains(&&r["key_hash"])));
    // No identity release was ever granted or even audited.
    assert!(rows.iter().all(|r| r["op"] != "release"), "{rows:#?}");

    // Removal with --now: every pass dies at once; bob fetches a new one by
    // himself, carol cannot.
    op.run(&["group", "remove-member", "list", &addr("carol"), "--now"]);
    let out = w.decrypt("carol", &l.message, &[]);
    let err = assert_clean_failure(&out, 77);
    assert!(err.contains("not a member"), "{err}");
    assert!(plaintext_body(&w.decrypt("bob", &l.message, &[])).contains(BODY));

    // The server's log: every line that names a message names no member.
    let message_hashes: Vec<String> = message_hashes
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect();
    let log = l.server.stop();
    for line in &log {
        if message_hashes.iter().any(|h| line.contains(h.as_str())) {
            assert!(line.contains("member=-"), "{line}");
            assert!(
                identities.iter().all(|id| !line.contains(id.as_str())),
                "{line}"
            );
        }
    }
}
