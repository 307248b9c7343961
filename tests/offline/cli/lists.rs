//! `sealpost explode` without servers: which messages it takes, and what
//! its Batch SMTP copies look like. (With the real mail and group servers:
//! tests/live/mail/lists.rs.)

use crate::common::assert_clean_failure;
use crate::world::{addr, World};

/// A group "list" that bob's keystore joined as its exploder (no server:
/// members from a file), and alice's message to it, encrypted.
fn setup() -> (World, std::path::PathBuf, Vec<u8>) {
    let w = World::new();
    // The list certificate: carol's stands in for the group's.
    let list_pem = crate::common::data("carol.cert.pem");
    w.as_("bob")
        .args(["group", "join", "list", "--cert"])
        .arg(&list_pem)
        .assert()
        .success();
    let members = w.path("members.txt");
    std::fs::write(
        &members,
        format!(
            "# members\n{}\n{}\n\n{}\n",
            addr("dave"),
            addr("erin"),
            addr("dave")
        ),
    )
    .unwrap();
    let composed = w.compose(&["carol"], &[], &[], "to the list\n");
    let out = w
        .as_("alice")
        .args(["encrypt", "--eml", "--no-self"])
        .write_stdin(composed)
        .output()
        .unwrap();
    assert!(out.status.success());
    (w, members, out.stdout)
}

/// `sealpost explode --group list FLAGS --members FILE` as `who`, on `input`.
fn explode(
    w: &World,
    who: &str,
    flags: &[&str],
    members: &std::path::Path,
    input: &[u8],
) -> std::process::Output {
    w.as_(who)
        .args(["explode", "--group", "list"])
        .args(flags)
        .arg("--members")
        .arg(members)
        .write_stdin(input.to_vec())
        .output()
        .unwrap()
}

#[test]
fn relays_one_unchanged_copy_per_member_and_refuses_other_mail() {
    let (w, members, message) = setup();
    let out = explode(&w, "bob", &[], &members, &message);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copies = sealpost::smime::bsmtp::parse(&out.stdout).unwrap();
    assert_eq!(copies.len(), 2);
    for (copy, who) in copies.iter().zip(["dave", "erin"]) {
        assert_eq!(copy.rcpt_to, [addr(who)]);
        assert_eq!(
            copy.mail_from,
            addr("carol"),
            "MAIL FROM is the list address"
        );
        assert_eq!(
            sealpost::smime::message::to_crlf(&copy.data),
            sealpost::smime::message::to_crlf(&message),
            "headers and body untouched"
        );
    }
    // An mbox "From " line from the MTA is not part of the message.
    let mut piped = b"From alice@example.org Wed Dec  2 10:00:00 2026\n".to_vec();
    piped.extend_from_slice(&message);
    let out = explode(&w, "bob", &[], &members, &piped);
    let copies = sealpost::smime::bsmtp::parse(&out.stdout).unwrap();
    assert!(!copies[0].data.starts_with(b"From "));

    // Plain mail, and mail encrypted to someone else, are refused...
    let plain = w.compose(&["carol"], &[], &[], "not encrypted\n");
    let to_dave = {
        let composed = w.compose(&["dave"], &[], &[], "for dave\n");
        w.as_("alice")
            .args(["encrypt", "--eml", "--no-self"])
            .write_stdin(composed)
            .output()
            .unwrap()
            .stdout
    };
    for other in [&plain, &to_dave] {
        let out = explode(&w, "bob", &[], &members, other);
        let err = assert_clean_failure(&out, 65);
        assert!(err.contains("not encrypted to group list"), "{err}");
    }
    // ...or, with --pass-through, forwarded as they are.
    let out = w
        .as_("bob")
        .args([
            "--json",
            "explode",
            "--group",
            "list",
            "--pass-through",
            "-o",
        ])
        .arg(w.path("out.bsmtp"))
        .arg("--members")
        .arg(&members)
        .write_stdin(plain.clone())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = crate::json_document::document(&out.stdout, "explode");
    assert_eq!(summary["mode"], "pass-through");
    let copies =
        sealpost::smime::bsmtp::parse(&std::fs::read(w.path("out.bsmtp")).unwrap()).unwrap();
    assert_eq!(copies.len(), 2);
    assert_eq!(
        sealpost::smime::message::to_crlf(&copies[0].data),
        sealpost::smime::message::to_crlf(&plain)
    );
}

#[test]
fn reencrypt_needs_the_lists_own_key_and_names_one_member_per_copy() {
    let (w, members, message) = setup();
    // bob holds no key for the list: refused, nothing written.
    let out = explode(&w, "bob", &["--reencrypt"], &members, &message);
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("the list's own key"), "{err}");
    // carol's keystore holds the list key (her own): she re-encrypts.
    w.as_("carol")
        .args(["group", "join", "list", "--cert"])
        .arg(crate::common::data("carol.cert.pem"))
        .assert()
        .success();
    let mut import = w.as_("carol");
    import.args(["cert", "import"]);
    for who in ["dave", "erin"] {
        import.arg(crate::common::data(&format!("{who}.cert.pem")));
    }
    import.assert().success();
    let out = explode(&w, "carol", &["--reencrypt"], &members, &message);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copies = sealpost::smime::bsmtp::parse(&out.stdout).unwrap();
    assert_eq!(copies.len(), 2);
    for (copy, who, other) in [(&copies[0], "dave", "erin"), (&copies[1], "erin", "dave")] {
        let out = w.decrypt(who, &copy.data, &[]);
        assert!(
            out.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("to the list"));
        // The other member's key opens nothing: their copy is not this one.
        let out = w.decrypt(other, &copy.data, &[]);
        assert!(!out.status.success() && out.stdout.is_empty());
    }
}

/// Issue #11, item 1: a member file line with a CR escaped inside a quoted
/// local part was accepted and written into `RCPT TO:<…>` as it was. The
/// whole file is refused (status 65, naming the line) and nothing is written.
#[test]
fn explode_refuses_a_member_address_that_would_break_an_smtp_line() {
    let (w, _, message) = setup();
    let members = w.path("hostile-members.txt");
    std::fs::write(
        &members,
        format!(
            "{}\n\"x\\\rRCPT TO:<outsider@example.net>\"@example.org\n",
            addr("dave")
        ),
    )
    .unwrap();
    let out = explode(&w, "bob", &[], &members, &message);
    let err = assert_clean_failure(&out, 65);
    assert!(err.contains("member file line 2"), "{err}");
    assert!(!err.contains('\r'), "{err:?}");
}
