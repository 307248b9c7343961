//! End to end: compose → encrypt → submit → fetch (IMAP and POP3) → decrypt,
//! with 1 To, 2 Cc and 3 Bcc recipients, against the real servers.

use std::path::Path;

use super::client::{output, url, Client};
use super::servers::{servers, Servers};

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A fixture person (tests/data/NAME.*) as a server user with their key.
fn person(s: &Servers, name: &str) -> Client {
    let c = Client::new(s, name);
    c.cmd()
        .args(["key", "import", "--no-passphrase"])
        .arg(data(&format!("{name}.key.pem")))
        .arg("--cert")
        .arg(data(&format!("{name}.cert.pem")))
        .assert()
        .success();
    c
}

fn body_of(message: &[u8]) -> Vec<u8> {
    let crlf = sealpost::smime::message::to_crlf(message).into_owned();
    let at = crlf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header/body separator");
    crlf[at + 4..].to_vec()
}

#[test]
fn compose_encrypt_submit_fetch_decrypt_keeps_bcc_private() {
    let s = servers();
    let alice = person(&s, "alice");
    let others = ["bob", "carol", "dave", "erin", "frank", "grace"];
    let people: Vec<Client> = others.iter().map(|n| person(&s, n)).collect();
    let mut import = alice.cmd();
    import.args(["cert", "import"]);
    for n in others {
        import.arg(data(&format!("{n}.cert.pem")));
    }
    import.assert().success();
    alice.add_account(
        &s,
        "out",
        &url("smtp", s.ports.submission),
        &format!("--imap={}", url("imaps", s.ports.imaps)),
    );
    // Half fetch over IMAP, half over POP3, with every TLS flavour.
    let incoming = [
        format!("--imap={}", url("imaps", s.ports.imaps)),
        format!("--pop3={}", url("pop3s", s.ports.pop3s)),
        format!("--imap={}", url("imap", s.ports.imap)),
        format!("--pop3={}", url("pop3", s.ports.pop3)),
        format!("--imap={}", url("imaps", s.ports.imaps)),
        format!("--pop3={}", url("pop3s", s.ports.pop3s)),
    ];
    for (p, inc) in people.iter().zip(&incoming) {
        p.add_account(&s, "in", &url("smtps", s.ports.smtps), inc);
    }

    let body = "Quarterly figures, for the six of you.\r\n.A line with a leading dot\r\nEnd.\r\n";
    let mut compose = alice.cmd();
    compose.args([
        "compose",
        "--from",
        "Alice <alice@example.org>",
        "--subject",
        "Figures",
    ]);
    for (flag, who) in [
        ("--to", "bob"),
        ("--cc", "carol"),
        ("--cc", "dave"),
        ("--bcc", "erin"),
        ("--bcc", "frank"),
        ("--bcc", "grace"),
    ] {
        compose.arg(flag).arg(format!("{who}@example.org"));
    }
    let composed = output(compose.write_stdin(body));
    assert!(
        composed.status.success(),
        "{}",
        String::from_utf8_lossy(&composed.stderr)
    );
    let encrypted = output(
        alice
            .cmd()
            .arg("encrypt")
            .write_stdin(composed.stdout.clone()),
    );
    assert!(
        encrypted.status.success(),
        "{}",
        String::from_utf8_lossy(&encrypted.stderr)
    );
    let submitted = output(
        alice
            .cmd()
            .arg("submit")
            .write_stdin(encrypted.stdout.clone()),
    );
    assert!(
        submitted.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&submitted.stderr),
        s.logs()
    );

    let original_body = body_of(&composed.stdout);
    let mut plaintexts = Vec::new();
    for (name, p) in others.iter().zip(&people) {
        s.wait_delivered(&p.addr, 1);
        let out = output(p.cmd().args(["--json", "fetch"]));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        crate::json_document::document(&out.stdout, "fetch");
        let md = p.keystore().join("mail/in/new");
        let files: Vec<_> = std::fs::read_dir(&md)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{name} got exactly one copy");
        let received = std::fs::read(&files[0]).unwrap();
        // The header section as delivered (Postfix's trace headers included);
        // the body is base64 of ciphertext, where any five letters turn up by
        // chance (once in a CI run: "grace"). The RecipientInfos are checked
        // through inspect below, the plaintext through decrypt.
        let head_end = received
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .or_else(|| received.windows(2).position(|w| w == b"\n\n"))
            .unwrap_or(received.len());
        let text = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
        let is_bcc = ["erin", "frank", "grace"].contains(name);
        for secret in ["erin", "frank", "grace"] {
            if secret != *name {
                assert!(!text.contains(secret), "{name}'s copy names {secret}");
            }
        }
        assert!(!text.contains("\nbcc:"), "{name}'s copy has a Bcc header");
        if !is_bcc {
            // RecipientInfos: alice's keystore knows every certificate, so
            // inspect would name a Bcc recipient's if it were there.
            let out = output(
                alice
                    .cmd()
                    .args(["--json", "inspect", "-"])
                    .write_stdin(received.clone()),
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            crate::json_document::document(&out.stdout, "inspect");
            let report = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
            assert!(report.contains(&format!("{name}@example.org")), "{report}");
            for secret in ["erin", "frank", "grace"] {
                assert!(
                    !report.contains(secret),
                    "{name}'s copy discloses {secret}: {report}"
                );
            }
        }
        let out = output(p.cmd().arg("decrypt").write_stdin(received));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&body_of(&out.stdout)),
            String::from_utf8_lossy(&original_body),
            "{name}"
        );
        plaintexts.push(out.stdout);
    }
    assert!(plaintexts.windows(2).all(|w| w[0] == w[1]));
    // Exactly one copy per Bcc recipient on the server too, and none for alice.
    for p in &people[3..] {
        assert_eq!(s.delivered(&p.addr).len(), 1);
    }
    assert!(
        s.delivered(&alice.addr).is_empty(),
        "the sender is never an SMTP recipient"
    );
}
