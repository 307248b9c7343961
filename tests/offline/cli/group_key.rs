//! `sealpost group key export | import` (issue #17, option C): the group key
//! handed to one member, who then reads list mail with no group server. No
//! server runs here at all, and `decrypt --offline` forbids any release.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::common::{assert_clean_failure, data};
use crate::world::{addr, World};

const OPERATOR: &str = "operator passphrase";
const BOB: &str = "bob's keystore passphrase";

/// A group "list" on op's store with bob as a member; bob joined it (no
/// server URL: a release can only fail) and alice has its certificate.
/// Returns the world and alice's message to the list.
fn setup() -> (World, Vec<u8>) {
    let w = World::new();
    op(&w)
        .args(["group", "create", "list", "--email"])
        .arg(addr("list"))
        .args(["--bits", "2048"])
        .assert()
        .success();
    op(&w)
        .args(["group", "add-member", "list"])
        .arg(data("bob.cert.pem"))
        .assert()
        .success();
    let out = op(&w).args(["group", "cert", "list"]).output().unwrap();
    assert!(out.status.success());
    let list_pem = w.path("list.pem");
    std::fs::write(&list_pem, &out.stdout).unwrap();
    w.as_("alice")
        .args(["cert", "import"])
        .arg(&list_pem)
        .assert()
        .success();
    w.as_("bob")
        .args(["group", "join", "list", "--cert"])
        .arg(&list_pem)
        .assert()
        .success();
    let composed = w.compose(&["list"], &[], &[], "offline reading\n");
    let message = w
        .as_("alice")
        .args(["encrypt", "--eml", "--no-self"])
        .write_stdin(composed)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    (w, message)
}

/// The group server's operator: sealpost on op's keystore (and store), with
/// the server passphrase.
fn op(w: &World) -> assert_cmd::Command {
    let mut cmd = w.as_("op");
    cmd.env("SEALPOST_PASSPHRASE", OPERATOR);
    cmd
}

/// `group key export list --to CERT -o FILE` as op.
fn export(w: &World, cert: &str, file: &str) -> (std::process::Output, PathBuf) {
    let path = w.path(file);
    let out = op(w)
        .args(["group", "key", "export", "list", "--to"])
        .arg(data(cert))
        .arg("-o")
        .arg(&path)
        .output()
        .unwrap();
    (out, path)
}

/// `group key import FILE` as `who`, with bob's passphrase.
fn import(w: &World, who: &str, file: &std::path::Path) -> std::process::Output {
    w.as_(who)
        .env("SEALPOST_PASSPHRASE", BOB)
        .args(["group", "key", "import"])
        .arg(file)
        .output()
        .unwrap()
}

fn decrypt_offline(w: &World, message: &[u8]) -> std::process::Output {
    w.as_("bob")
        .env("SEALPOST_PASSPHRASE", BOB)
        .args(["decrypt", "--offline"])
        .write_stdin(message.to_vec())
        .output()
        .unwrap()
}

/// The audit rows of op's group "list" whose op is `key_export`.
fn export_rows(w: &World) -> Vec<serde_json::Value> {
    let out = op(w)
        .args(["--json", "group", "audit", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc = crate::json_document::document(&out.stdout, "group audit");
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["op"] == "key_export")
        .cloned()
        .collect()
}

/// `key list --json list@example.org` in bob's keystore.
fn bobs_list_identities(w: &World) -> serde_json::Value {
    let out = w
        .as_("bob")
        .args(["--json", "key", "list", &addr("list")])
        .output()
        .unwrap();
    crate::json_document::document(&out.stdout, "key list")
}

fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fingerprint(name: &str) -> String {
    let pem = std::fs::read(data(&format!("{name}.cert.pem"))).unwrap();
    sealpost::smime::certs::parse_bundle(&pem).unwrap()[0]
        .fingerprint
        .clone()
}

#[test]
fn an_imported_group_key_decrypts_list_mail_with_no_server() {
    let (w, message) = setup();
    // Before: bob is a member, but without a server the message stays shut.
    let before = decrypt_offline(&w, &message);
    assert!(!before.status.success());
    assert!(before.stdout.is_empty());

    let (out, file) = export(&w, "bob.cert.pem", "bob.group-key");
    succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The loud warning: everything, forever, unaudited, rotate to remove.
    for needle in [
        "warning: the private key of group list is now exported to bob@example.org",
        "ALL list mail",
        "without the group server",
        "no audit row",
        "sealpost group rotate-key list",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("-----BEGIN CMS-----\n"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Exactly one audit row, naming bob.
    let rows = export_rows(&w);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["fingerprint"], fingerprint("bob"));
    assert_eq!(rows[0]["member"], addr("bob"));
    assert_eq!(rows[0]["outcome"], "exported");

    succeeded(&import(&w, "bob", &file));
    // The group key is an identity of bob's, sealed under his passphrase.
    let list = bobs_list_identities(&w);
    let idents = list["identities"].as_array().unwrap();
    assert_eq!(idents.len(), 1, "{list}");
    assert_eq!(idents[0]["passphrase_protected"], true);
    let key_file = PathBuf::from(idents[0]["key_file"].as_str().unwrap());
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let sealed = std::fs::read_to_string(&key_file).unwrap();
    assert!(sealed.contains("ENCRYPTED PRIVATE KEY"), "{sealed}");

    // After: the same message opens with no server and no release.
    let after = decrypt_offline(&w, &message);
    succeeded(&after);
    assert!(String::from_utf8_lossy(&after.stdout).contains("offline reading"));
    // A second import of the same key is refused, not doubled.
    let again = import(&w, "bob", &file);
    assert_clean_failure(&again, 73);
    // Joining again still finds bob as the member: the group's own identity
    // is never a candidate (it made "2 own identities match" before).
    let out = w
        .as_("bob")
        .args(["--json", "group", "join", "list", "--cert"])
        .arg(w.path("list.pem"))
        .output()
        .unwrap();
    succeeded(&out);
    let joined = crate::json_document::document(&out.stdout, "group join");
    assert_eq!(joined["member"]["fingerprint"], fingerprint("bob"));
    // Removing bob says what it does not undo.
    let out = op(&w)
        .args(["group", "remove-member", "list"])
        .arg(addr("bob"))
        .output()
        .unwrap();
    succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: the group key of list was exported to {}",
            fingerprint("bob")
        )) && stderr.contains("sealpost group rotate-key list"),
        "{stderr}"
    );
}

#[test]
fn export_refuses_a_non_member_a_sender_and_a_key_it_cannot_extract() {
    let (w, _) = setup();
    // carol is no member: refused, nothing written, nothing audited.
    let (out, file) = export(&w, "carol.cert.pem", "carol.group-key");
    let err = assert_clean_failure(&out, 67);
    assert!(err.contains("is not a member of group list"), "{err}");
    assert!(!file.exists());
    // A sender deposits keys and reads nothing: not a holder of the key either.
    op(&w)
        .args(["group", "add-member", "list", "--role", "sender"])
        .arg(data("dave.cert.pem"))
        .assert()
        .success();
    let (out, file) = export(&w, "dave.cert.pem", "dave.group-key");
    let err = assert_clean_failure(&out, 77);
    assert!(err.contains("as sender"), "{err}");
    assert!(!file.exists());
    // The wrong server passphrase opens nothing.
    let out = w
        .as_("op")
        .env("SEALPOST_PASSPHRASE", "not the operator's")
        .args(["group", "key", "export", "list", "--to"])
        .arg(data("bob.cert.pem"))
        .output()
        .unwrap();
    assert_clean_failure(&out, 77);
    assert!(export_rows(&w).is_empty());
    // A key held by a token (a later PKCS#11 backend) is not extractable;
    // its URI, which may carry a PIN, is not repeated.
    let db = rusqlite::Connection::open(w.keystore("op").join("groups.sqlite3")).unwrap();
    db.execute(
        "UPDATE groups SET sealed_key = 'pkcs11:token=hsm;object=list;pin-value=4711'",
        [],
    )
    .unwrap();
    drop(db);
    let (out, file) = export(&w, "bob.cert.pem", "bob.group-key");
    let err = assert_clean_failure(&out, 77);
    assert!(err.contains("not extractable"), "{err}");
    assert!(err.contains("pkcs11"), "{err}");
    assert!(!err.contains("4711"), "{err}");
    assert!(!file.exists());
    assert!(export_rows(&w).is_empty());
}

#[test]
fn import_refuses_a_tampered_export_and_one_for_someone_else() {
    let (w, message) = setup();
    let (out, file) = export(&w, "bob.cert.pem", "bob.group-key");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&file).unwrap();
    // One bit of the ciphertext flipped (well inside the content, after the
    // recipient entry): the GCM tag refuses it.
    let blocks = sealpost::smime::certs::pem_blocks(&text).unwrap();
    let mut der = blocks[0].1.clone();
    let at = der.len() - 200;
    der[at] ^= 0x01;
    let tampered = w.path("tampered.group-key");
    std::fs::write(&tampered, sealpost::smime::certs::pem_encode("CMS", &der)).unwrap();
    let err = assert_clean_failure(&import(&w, "bob", &tampered), 65);
    assert!(err.contains("decryption failed"), "{err}");
    // Addressed to bob: alice's keystore has no key for it.
    let err = assert_clean_failure(&import(&w, "alice", &file), 67);
    assert!(err.contains("addressed to none of your keys"), "{err}");
    // Not an export at all: a list message is refused before any key is used.
    let not_export = w.path("message.eml");
    std::fs::write(&not_export, &message).unwrap();
    assert_clean_failure(&import(&w, "bob", &not_export), 65);
    // Nothing was stored: bob still cannot read the list offline.
    let list = bobs_list_identities(&w);
    assert!(list["identities"].as_array().unwrap().is_empty(), "{list}");
    assert!(!decrypt_offline(&w, &message).status.success());
}
