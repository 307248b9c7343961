//! Issue 16 item 2: a group key in a PKCS#11 token (SoftHSM2 in a
//! temporary directory), end to end over HTTPS: `group create --pkcs11`
//! with a key already in the token and with `--generate`, releases with
//! every key transport, the one answer for every unwrap failure with the
//! token in the loop, a wrong PIN refused at start, what the store and
//! the token hold, and `group rotate-key` making the new key in the token.

use std::process::Command;
use std::time::Duration;

use der::Encode;
use sealpost::smime::envelope::KeyTransport;

use sealpost::group::release::protocol::RefusalCode;

use super::harness::{
    assert_granted, assert_refused, assert_unwrap_failures_answer_alike, member, now, request,
    seal, Operator, LIST, PASSPHRASE,
};
use super::server::{sealpost, serve_command, Served};
use super::softhsm::{SoftHsm, KEY_FIXTURE, TOKEN};

/// `sealpost ARGS` on the operator's store with the token's configuration.
fn with_token(op: &Operator, hsm: &SoftHsm, args: &[&str]) -> std::process::Output {
    let mut cmd = sealpost(&op.keystore(), PASSPHRASE);
    hsm.env(&mut cmd)
        .args(op.with_store(args))
        .output()
        .unwrap()
}

fn create_in_token(op: &Operator, hsm: &SoftHsm, extra: &[&str]) {
    let email = format!("{LIST}@lists.example");
    let mut args = vec!["group", "create", LIST, "--email", &email];
    args.extend_from_slice(extra);
    let out = with_token(op, hsm, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["bob", "carol"] {
        op.add_member(LIST, &member(name));
    }
}

fn serve(op: &Operator, hsm: &SoftHsm, extra: &[&str]) -> Command {
    let mut cmd = serve_command(&op.keystore(), PASSPHRASE, &op.tls, &op.with_store(extra));
    hsm.env(&mut cmd);
    cmd
}

/// The `Access:` line of the token's private key, as pkcs11-tool shows it.
fn private_key_access(hsm: &SoftHsm, label: &str) -> String {
    let objects = hsm.objects();
    // Each piece after a split starts with a private key object; it ends
    // where the next object (a public key, say) begins.
    let block = objects
        .split("Private Key Object")
        .skip(1)
        .map(|b| b.split(" Object;").next().unwrap_or_default())
        .find(|b| b.contains(&format!("label:      {label}")))
        .unwrap_or_else(|| panic!("no private key {label} in the token: {objects}"));
    block
        .lines()
        .find(|l| l.trim_start().starts_with("Access:"))
        .unwrap_or_default()
        .to_string()
}

/// The key stays in the token: sensitive, and not extractable ("never
/// extractable" is the stronger flag a key made in the token has).
fn assert_stays_in_token(access: &str) {
    assert!(access.contains("sensitive"), "{access}");
    assert!(
        !access
            .replace("never extractable", "")
            .contains("extractable"),
        "{access}"
    );
}

#[test]
fn a_group_key_in_softhsm_releases_and_the_store_holds_only_its_uri() {
    let hsm = SoftHsm::new();
    let op = Operator::new();
    create_in_token(&op, &hsm, &["--pkcs11", &hsm.uri()]);
    let cert = op.group_cert(LIST);

    // The certificate carries the token key's public half, and is signed by it.
    let fixture = member(KEY_FIXTURE);
    assert_eq!(
        cert.tbs_certificate.subject_public_key_info,
        fixture.cert.tbs_certificate.subject_public_key_info
    );
    // The store holds the URI and no private key, sealed or not.
    let store = op.store_files();
    let holds = |needle: &[u8]| store.windows(needle.len()).any(|w| w == needle);
    assert!(holds(hsm.uri().as_bytes()));
    assert!(!holds(b"PRIVATE KEY"), "a PEM private key in the store");
    let grace_d = {
        use rsa::traits::PrivateKeyParts;
        fixture.key.d().to_bytes_be()
    };
    assert!(!holds(&grace_d[..32]), "the private exponent in the store");
    assert_stays_in_token(&private_key_access(&hsm, super::softhsm::KEY_LABEL));

    let server = Served::start(serve(&op, &hsm, &[]));
    let bob = member("bob");
    let mut conn = op.connect(&server);
    for transport in [KeyTransport::RsaOaepSha256, KeyTransport::RsaPkcs1v15] {
        let sealed = seal(&cert, transport);
        let answer = conn
            .release(&request(&bob, LIST, &sealed.entry, now()))
            .unwrap();
        assert_granted(&answer, &bob, &sealed);
    }

    // With the token in the loop, every unwrap failure still has one
    // answer, byte for byte (a token's own PKCS#1 mechanism would fail
    // some with CKR_ENCRYPTED_DATA_INVALID and others with a key).
    let mut raw = op.raw(&server);
    assert_unwrap_failures_answer_alike(&mut raw, &cert, &bob);
    let sealed = seal(&cert, KeyTransport::RsaPkcs1v15);
    let response = raw.post(&request(&bob, LIST, &sealed.entry, now()).to_json());
    assert_eq!(response.status, 200);
    // The server's log names no key material and no PIN.
    let mut server = server;
    let log = server.stop().join("\n");
    assert!(!log.contains(super::softhsm::PIN), "{log}");
}

#[test]
fn group_create_generate_makes_a_key_that_never_leaves_the_token() {
    let hsm = SoftHsm::new();
    let op = Operator::new();
    let uri = format!("pkcs11:token={TOKEN};object=made-here;id=%b2");
    let pin = hsm.pin_file();
    create_in_token(
        &op,
        &hsm,
        &[
            "--pkcs11",
            &uri,
            "--generate",
            "--bits",
            "2048",
            "--pin-file",
            pin.to_str().unwrap(),
        ],
    );
    let access = private_key_access(&hsm, "made-here");
    assert_stays_in_token(&access);
    assert!(access.contains("never extractable"), "{access}");
    // A second --generate for the same label is refused, the key kept.
    let again = with_token(
        &op,
        &hsm,
        &[
            "group",
            "create",
            "other",
            "--email",
            "other@lists.example",
            "--pkcs11",
            &uri,
            "--generate",
            "--pin-file",
            pin.to_str().unwrap(),
        ],
    );
    assert_eq!(again.status.code(), Some(73), "{again:?}");

    // The URI has no pin-source: serve reads the PIN from --pin-file.
    let server = Served::start(serve(&op, &hsm, &["--pin-file", pin.to_str().unwrap()]));
    let cert = op.group_cert(LIST);
    let bob = member("bob");
    let sealed = seal(&cert, KeyTransport::RsaOaepSha256);
    let answer = op
        .connect(&server)
        .release(&request(&bob, LIST, &sealed.entry, now()))
        .unwrap();
    assert_granted(&answer, &bob, &sealed);
    assert_eq!(
        cert.tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap()
            .len(),
        294,
        "an RSA-2048 public key"
    );
}

#[test]
fn a_wrong_token_pin_stops_the_server_at_start_with_exit_77() {
    let hsm = SoftHsm::new();
    let op = Operator::new();
    create_in_token(&op, &hsm, &["--pkcs11", &hsm.uri()]);
    // --pin-file takes precedence over the URI's pin-source.
    let wrong = hsm.wrong_pin_file();
    let mut cmd = serve(&op, &hsm, &["--pin-file", wrong.to_str().unwrap()]);
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("sealpost: error:") && first.contains("wrong PIN"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("0000-0000"),
        "the PIN in an error: {stderr}"
    );
    // The right PIN (the URI's pin-source) starts it.
    let mut server = Served::start(serve(&op, &hsm, &[]));
    assert!(server.wait_exit(Duration::from_millis(200)).is_none());
}

#[test]
fn rotate_key_makes_the_new_key_in_the_token_and_the_old_one_releases_until_its_window() {
    rotate_in_token(&Operator::new(), |op| {
        let db = rusqlite::Connection::open(op.keystore().join("groups.sqlite3")).unwrap();
        let mut keys = db
            .prepare("SELECT sealed_key FROM groups UNION ALL SELECT sealed_key FROM retired_keys")
            .unwrap();
        let keys = keys.query_map([], |row| row.get(0)).unwrap();
        keys.map(Result::unwrap).collect()
    });
}

#[test]
fn rotate_key_in_a_token_on_postgresql() {
    let Some(pg) = crate::postgres::Postgres::start("rotate_key_in_a_token_on_postgresql") else {
        return;
    };
    let url = pg.database("groups");
    rotate_in_token(&Operator::on_store(&url), |op| {
        let url = op.store.as_deref().unwrap();
        let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
        db.query(
            "SELECT sealed_key FROM groups UNION ALL SELECT sealed_key FROM retired_keys",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
    });
}

/// `group rotate-key` of a token-held key on `op`'s store, whose key
/// columns (current and retired) `stored_keys` reads.
fn rotate_in_token(op: &Operator, stored_keys: impl Fn(&Operator) -> Vec<String>) {
    let hsm = SoftHsm::new();
    create_in_token(op, &hsm, &["--pkcs11", &hsm.uri()]);
    let old_cert = op.group_cert(LIST);
    let mut server = Served::start(serve(op, &hsm, &[]));
    let bob = member("bob");
    let old = seal(&old_cert, KeyTransport::RsaOaepSha256);
    assert_granted(
        &op.connect(&server)
            .release(&request(&bob, LIST, &old.entry, now()))
            .unwrap(),
        &bob,
        &old,
    );

    // The PIN from the URI's pin-source, as for create; no passphrase
    // (none in the environment, no terminal to ask on).
    let keep_old = 4;
    let mut rotate = sealpost(&op.keystore(), PASSPHRASE);
    let keep = format!("{keep_old}s");
    let out = hsm
        .env(&mut rotate)
        .env_remove("SEALPOST_PASSPHRASE")
        .args(op.with_store(&["--json", "group", "rotate-key", LIST, "--keep-old", &keep]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated_at = now();
    let rotated = crate::json_document::document(&out.stdout, "group rotate-key");
    assert_eq!(rotated["generation"], 2);

    // A new key pair, made in the same token and never leaving it; the
    // store holds its URI beside the retired one's, and no key.
    let access = private_key_access(&hsm, "list-key-g2");
    assert_stays_in_token(&access);
    assert!(access.contains("never extractable"), "{access}");
    let new_cert = op.group_cert(LIST);
    assert_ne!(
        new_cert.tbs_certificate.subject_public_key_info,
        old_cert.tbs_certificate.subject_public_key_info
    );
    let keys = stored_keys(op);
    assert_eq!(keys.len(), 2, "{keys:?}");
    let new_prefix = format!("pkcs11:token={TOKEN};object=list-key-g2;id=%");
    assert!(keys[0].starts_with(&new_prefix), "{keys:?}");
    assert_eq!(keys[1], hsm.uri(), "the retired key keeps its URI");

    // The running server: old and new mail at its next request.
    let new = seal(&new_cert, KeyTransport::RsaPkcs1v15);
    let mut conn = op.connect(&server);
    for sealed in [&old, &new] {
        let answer = conn
            .release(&request(&bob, LIST, &sealed.entry, now()))
            .unwrap();
        assert_granted(&answer, &bob, sealed);
    }
    // A second rotation names generation 3 after the same stem.
    let again = with_token(op, &hsm, &["group", "rotate-key", LIST, "--keep-old", "1h"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_stays_in_token(&private_key_access(&hsm, "list-key-g3"));
    let newest = seal(&op.group_cert(LIST), KeyTransport::RsaOaepSha256);
    assert_granted(
        &conn
            .release(&request(&bob, LIST, &newest.entry, now()))
            .unwrap(),
        &bob,
        &newest,
    );

    // After the first window: the first key is refused, the others open.
    while now() < rotated_at + keep_old + 1 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let answer = conn
        .release(&request(&bob, LIST, &old.entry, now()))
        .unwrap();
    assert_refused(&answer, RefusalCode::KeyRetired);
    for sealed in [&new, &newest] {
        let answer = conn
            .release(&request(&bob, LIST, &sealed.entry, now()))
            .unwrap();
        assert_granted(&answer, &bob, sealed);
    }
    let log = server.stop().join("\n");
    assert!(!log.contains(super::softhsm::PIN), "{log}");
}

/// `GET /health` on `server`: the status and the document.
fn health(op: &Operator, server: &Served) -> (u16, serde_json::Value) {
    let response = op
        .raw(server)
        .send(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    (
        response.status,
        serde_json::from_slice(&response.body).unwrap(),
    )
}

/// Polls `/health` (whose answer is kept 2 s) until it is `status`.
fn health_becomes(op: &Operator, server: &Served, status: u16) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (now_status, body) = health(op, server);
        if now_status == status {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "health stayed {now_status}: {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn health_probes_the_token_key_fails_when_it_is_gone_and_recovers_when_it_is_back() {
    let hsm = SoftHsm::new();
    let op = Operator::new();
    create_in_token(&op, &hsm, &["--pkcs11", &hsm.uri()]);
    let mut server = Served::start(serve(&op, &hsm, &["-v"]));
    assert_eq!(health(&op, &server).0, 200);

    // The key object deleted from the token by another process: the open
    // session and handle are not enough, the check asks the token.
    hsm.delete_private_key(super::softhsm::KEY_LABEL);
    let body = health_becomes(&op, &server, 503);
    assert_eq!(body["failing"], serde_json::json!(["keys"]), "{body}");
    assert_eq!(body["checks"]["store"], "ok");

    // The key imported again: health recovers without a restart (the
    // failed key was dropped and is opened afresh), and releases work.
    hsm.import_key();
    health_becomes(&op, &server, 200);
    let bob = member("bob");
    let sealed = seal(&op.group_cert(LIST), KeyTransport::RsaOaepSha256);
    assert_granted(
        &op.connect(&server)
            .release(&request(&bob, LIST, &sealed.entry, now()))
            .unwrap(),
        &bob,
        &sealed,
    );
    // The cause is the operator's: in the log, not in the answer.
    let log = server.stop().join("\n");
    assert!(
        log.contains("health: keys failing") && log.contains("no longer in the token"),
        "{log}"
    );
    assert!(!log.contains(super::softhsm::PIN), "{log}");
}
