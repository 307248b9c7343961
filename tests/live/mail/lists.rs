//! Encrypted mailing lists end to end, one test per mode, against the real
//! Postfix and Dovecot and a real group server over HTTPS on loopback: a
//! sender submits to the list address; the exploder fetches the list's
//! mailbox over IMAP and runs `sealpost explode --submit`; every member
//! fetches (IMAP or POP3) and decrypts their copy. Then a member is
//! removed, and the next message must stay closed to them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::client::{assert_failure, output, url, Client};
use crate::group::server::{admin, serve_command, Served as Server, TlsFiles};

const OPERATOR_PASSPHRASE: &str = "operator passphrase";

/// The list operator: the keystore holding the group store.
struct Operator {
    keystore: PathBuf,
}

impl Operator {
    fn run(&self, args: &[&str]) -> Vec<u8> {
        admin(&self.keystore, OPERATOR_PASSPHRASE, args)
    }
}
use super::servers::{servers, Servers};

/// One list: its group server, sender, exploder and three members.
struct List {
    s: Arc<Servers>,
    name: String,
    dir: tempfile::TempDir,
    operator: Operator,
    /// Kept running for the test's life.
    _server: Server,
    sender: Client,
    /// The list's mailbox and the exploder's keystore (its identity is
    /// `NAME-exploder@…`, registered on the server as the exploder).
    exploder: Client,
    members: Vec<Client>,
    /// List messages already exploded (file names in the exploder's Maildir).
    exploded: HashSet<PathBuf>,
}

fn ok(out: std::process::Output, what: &str) -> std::process::Output {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fresh RSA-2048 identity for `email` in `c`'s keystore, unprotected.
fn new_identity(c: &Client, email: &str) {
    ok(
        output(
            c.cmd()
                .args([
                    "key",
                    "generate",
                    "--no-passphrase",
                    "--bits",
                    "2048",
                    "--email",
                ])
                .arg(email),
        ),
        "key generate",
    );
}

/// A mail user with a fresh sealpost identity for their address and an
/// account (submission, and IMAPS or POP3S for fetching).
fn person(s: &Servers, local: &str, pop3: bool) -> Client {
    let c = Client::new(s, local);
    new_identity(&c, &c.addr);
    let incoming = if pop3 {
        format!("--pop3={}", url("pop3s", s.ports.pop3s))
    } else {
        format!("--imap={}", url("imaps", s.ports.imaps))
    };
    c.add_account(s, "mail", &url("smtp", s.ports.submission), &incoming);
    c
}

/// Exports `c`'s certificate for `addr` into a file.
fn cert_file(c: &Client, addr: &str) -> PathBuf {
    let out = ok(output(c.cmd().args(["key", "export", addr])), "key export");
    let path = c.path(&format!("{addr}.pem"));
    std::fs::write(&path, out.stdout).unwrap();
    path
}

/// Files in a client's local Maildir of account `mail`.
fn local_mail(c: &Client) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(c.keystore().join("mail/mail").join(sub)) {
            out.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    out.sort();
    out
}

fn join(c: &Client, group: &str, list: &Path, server: &Server, s: &Servers, as_: &str) {
    ok(
        output(
            c.cmd()
                .args(["group", "join", group, "--cert"])
                .arg(list)
                .args(["--server", &server.url(), "--ca-file"])
                .arg(s.ca_file())
                .args(["--as", as_]),
        ),
        "group join",
    );
}

impl List {
    /// Group `name` (also the prefix of every user) with members m1 (IMAP),
    /// m2 (POP3) and m3 (IMAP), a group secret, and everyone joined.
    fn new(name: &str) -> List {
        let s = servers();
        let dir = tempfile::tempdir().unwrap();
        let operator = Operator {
            keystore: dir.path().join("operator"),
        };
        let list_addr = format!("{name}-list@example.org");
        operator.run(&[
            "group", "create", name, "--email", &list_addr, "--bits", "2048",
        ]);
        let list_pem = dir.path().join("list.pem");
        std::fs::write(&list_pem, operator.run(&["group", "cert", name])).unwrap();

        let sender = person(&s, &format!("{name}-sender"), false);
        let members: Vec<Client> = (1..=3)
            .map(|i| person(&s, &format!("{name}-m{i}"), i == 2))
            .collect();
        let exploder = Client::new(&s, &format!("{name}-list"));
        let exploder_addr = format!("{name}-exploder@example.org");
        new_identity(&exploder, &exploder_addr);
        exploder.add_account(
            &s,
            "mail",
            &url("smtp", s.ports.submission),
            &format!("--imap={}", url("imaps", s.ports.imaps)),
        );
        for m in &members {
            let cert = cert_file(m, &m.addr);
            operator.run(&["group", "add-member", name, cert.to_str().unwrap()]);
        }
        let cert = cert_file(&exploder, &exploder_addr);
        operator.run(&[
            "group",
            "add-member",
            name,
            cert.to_str().unwrap(),
            "--role",
            "exploder",
        ]);
        let cert = cert_file(&sender, &sender.addr);
        operator.run(&[
            "group",
            "add-member",
            name,
            cert.to_str().unwrap(),
            "--role",
            "sender",
        ]);
        operator.run(&["group", "rotate-secret", name]);
        let tls = s.dir.join("tls");
        let tls = TlsFiles {
            ca: s.ca_file(),
            cert: tls.join("server.pem"),
            key: tls.join("server.key"),
        };
        let server = Server::start(serve_command(
            &operator.keystore,
            OPERATOR_PASSPHRASE,
            &tls,
            &[],
        ));
        for c in members.iter().chain([&sender]) {
            join(c, name, &list_pem, &server, &s, &c.addr);
        }
        join(&exploder, name, &list_pem, &server, &s, &exploder_addr);
        List {
            s,
            name: name.to_string(),
            dir,
            operator,
            _server: server,
            sender,
            exploder,
            members,
            exploded: HashSet::new(),
        }
    }

    fn list_addr(&self) -> String {
        format!("{}-list@example.org", self.name)
    }

    /// The sender composes `body` to the list, encrypts it with `flags`
    /// and submits it. Returns the Message-ID.
    fn send(&self, body: &str, flags: &[&str]) -> String {
        let composed = ok(
            output(
                self.sender
                    .cmd()
                    .args(["compose", "--from"])
                    .arg(&self.sender.addr)
                    .args(["--to", &self.list_addr(), "--subject", "list mail"])
                    .write_stdin(body.to_string()),
            ),
            "compose",
        );
        let info = sealpost::smime::message::parse_message(&composed.stdout).unwrap();
        let encrypted = ok(
            output(
                self.sender
                    .cmd()
                    .arg("encrypt")
                    .args(flags)
                    .write_stdin(composed.stdout),
            ),
            "encrypt",
        );
        ok(
            output(
                self.sender
                    .cmd()
                    .args(["submit", "--account", "mail"])
                    .write_stdin(encrypted.stdout),
            ),
            "submit",
        );
        info.message_id.unwrap()
    }

    /// Waits for list message number `n` (1-based), fetches the list's
    /// mailbox and explodes what is new with `flags`. Returns the explode
    /// JSON summaries.
    fn explode(&mut self, n: usize, flags: &[&str]) -> Vec<serde_json::Value> {
        self.s.wait_delivered(&self.list_addr(), n);
        ok(output(self.exploder.cmd().arg("fetch")), "exploder fetch");
        let mut summaries = Vec::new();
        for file in local_mail(&self.exploder) {
            if !self.exploded.insert(file.clone()) {
                continue;
            }
            let out = ok(
                output(
                    self.exploder
                        .cmd()
                        .args([
                            "--json", "explode", "--group", &self.name, "--submit", "mail",
                        ])
                        .args(flags)
                        .arg(&file),
                ),
                "explode",
            );
            summaries.push(crate::json_document::document(&out.stdout, "explode"));
        }
        summaries
    }

    /// Member `i` fetches; returns the copies fetched now.
    fn fetch(&self, i: usize) -> Vec<Vec<u8>> {
        let before = local_mail(&self.members[i]);
        ok(output(self.members[i].cmd().arg("fetch")), "member fetch");
        local_mail(&self.members[i])
            .into_iter()
            .filter(|p| !before.contains(p))
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    }

    /// Waits until member `i` has `n` messages on the server, fetches, and
    /// returns the one new copy.
    fn receive(&self, i: usize, n: usize) -> Vec<u8> {
        self.s.wait_delivered(&self.members[i].addr, n);
        let mut got = self.fetch(i);
        assert_eq!(got.len(), 1, "member {} got exactly one new copy", i + 1);
        got.remove(0)
    }

    /// Every member receives list message `n`, finds it private, and reads
    /// `body` from it with `decrypt FLAGS`; returns the copies.
    fn everyone_reads(&self, n: usize, body: &str, flags: &[&str]) -> Vec<Vec<u8>> {
        let mut copies = Vec::new();
        for i in 0..self.members.len() {
            let copy = self.receive(i, n);
            self.assert_private(&copy, i);
            assert_reads(self.decrypt(&self.members[i], &copy, flags), body, "member");
            copies.push(copy);
        }
        copies
    }

    fn decrypt(&self, who: &Client, copy: &[u8], flags: &[&str]) -> std::process::Output {
        output(
            who.cmd()
                .arg("decrypt")
                .args(flags)
                .write_stdin(copy.to_vec()),
        )
    }

    /// The copy names no member but its own recipient: not in its header
    /// fields, not in its recipient entries (read by `inspect` with a
    /// keystore that knows every member's certificate), not in the SMTP
    /// envelope the server recorded (Received: … for <addr>, Delivered-To).
    fn assert_private(&self, copy: &[u8], owner: usize) {
        let text = String::from_utf8_lossy(copy).to_ascii_lowercase();
        let auditor = &self.sender;
        let mut import = auditor.cmd();
        import.args(["cert", "import"]);
        for m in &self.members {
            import.arg(m.path(&format!("{}.pem", m.addr)));
        }
        ok(output(&mut import), "cert import");
        let report = ok(
            output(
                auditor
                    .cmd()
                    .args(["--json", "inspect", "-"])
                    .write_stdin(copy.to_vec()),
            ),
            "inspect",
        );
        crate::json_document::document(&report.stdout, "inspect");
        let report = String::from_utf8_lossy(&report.stdout).to_ascii_lowercase();
        // The entries name the owner's own certificate (re-encrypted
        // copies) or the list's (every other mode): inspect sees them.
        let owner_addr = &self.members[owner].addr;
        assert!(
            report.contains(owner_addr.as_str()) || report.contains(&self.list_addr()),
            "inspect knows no entry of the copy: {report}"
        );
        for (i, m) in self.members.iter().enumerate() {
            if i == owner {
                continue;
            }
            assert!(
                !text.contains(&m.addr),
                "copy of m{} names {}",
                owner + 1,
                m.addr
            );
            assert!(
                !report.contains(&m.addr),
                "copy of m{} discloses {}: {report}",
                owner + 1,
                m.addr
            );
        }
    }

    /// The exploder holds no key that opens the list mail: its own
    /// `decrypt` fails and prints nothing.
    fn assert_exploder_cannot_read(&self, copy: &[u8]) {
        let out = self.decrypt(&self.exploder, copy, &[]);
        assert!(!out.status.success(), "the exploder decrypted list mail");
        assert!(out.stdout.is_empty());
    }

    fn remove(&self, i: usize) {
        self.operator
            .run(&["group", "remove-member", &self.name, &self.members[i].addr]);
    }
}

fn plaintext(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

fn assert_reads(out: std::process::Output, body: &str, who: &str) {
    let out = ok(out, who);
    assert!(plaintext(&out).contains(body), "{who}: {}", plaintext(&out));
}

const FIRST: &str = "First message to the list.\n";
const SECOND: &str = "Second message, after a removal.\n";

/// Mode 1: the exploder relays the message; members ask the group server.
#[test]
fn relay_mode_members_read_through_the_server_and_a_removed_member_is_refused() {
    let mut l = List::new("relay");
    l.send(FIRST, &["--no-self"]);
    let summaries = l.explode(1, &[]);
    assert_eq!(summaries[0]["mode"], "relay");
    assert_eq!(summaries[0]["envelopes"], 3);
    let copies = l.everyone_reads(1, FIRST, &[]);
    l.assert_exploder_cannot_read(&copies[0]);
    // The same message exploded again (an MTA retrying the pipe) queues nothing.
    let first = l.exploded.iter().next().unwrap().clone();
    let again = ok(
        output(
            l.exploder
                .cmd()
                .args(["--json", "explode", "--group", "relay", "--submit", "mail"])
                .arg(&first),
        ),
        "explode again",
    );
    let again = crate::json_document::document(&again.stdout, "explode");
    assert_eq!(
        (again["queued"].as_u64(), again["already_queued"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );

    l.remove(2);
    l.send(SECOND, &["--no-self"]);
    let summaries = l.explode(2, &[]);
    assert_eq!(
        summaries[0]["envelopes"], 2,
        "the removed member is not sent to"
    );
    let copy = l.receive(0, 2);
    assert_reads(l.decrypt(&l.members[0], &copy, &[]), SECOND, "m1");
    assert_reads(
        l.decrypt(&l.members[1], &l.receive(1, 2), &[]),
        SECOND,
        "m2",
    );
    // Even with another member's copy, m3's release is refused.
    let err = assert_failure(&l.decrypt(&l.members[2], &copy, &[]), 77);
    assert!(err.contains("not a member"), "{err}");
    assert!(l.fetch(2).is_empty(), "m3 got the second message");
}

/// Mode 2: the copies carry the key under the group secret too; members
/// who fetched the secret read offline; after a removal and a rotation
/// the removed member's old secret opens nothing new.
#[test]
fn rewrap_mode_members_read_offline_and_rotation_locks_out_a_removed_member() {
    let mut l = List::new("rewrap");
    for m in &l.members {
        let out = ok(
            output(
                m.cmd()
                    .args(["--json", "group", "secret", "fetch", "rewrap"]),
            ),
            "secret fetch",
        );
        let fetched = crate::json_document::document(&out.stdout, "group secret fetch");
        assert_eq!(fetched["secrets"][0]["current"], true, "{fetched}");
    }
    l.send(FIRST, &["--no-self"]);
    assert_eq!(l.explode(1, &["--rewrap"])[0]["mode"], "rewrap");
    let copies = l.everyone_reads(1, FIRST, &["--offline"]);
    l.assert_exploder_cannot_read(&copies[0]);

    l.remove(2);
    l.operator.run(&["group", "rotate-secret", "rewrap"]);
    // The remaining members fetch the new secret; m3 cannot.
    for m in &l.members[..2] {
        ok(
            output(m.cmd().args(["group", "secret", "fetch", "rewrap"])),
            "secret fetch",
        );
    }
    let err = assert_failure(
        &output(
            l.members[2]
                .cmd()
                .args(["group", "secret", "fetch", "rewrap"]),
        ),
        77,
    );
    assert!(err.contains("not a member"), "{err}");
    l.send(SECOND, &["--no-self"]);
    l.explode(2, &["--rewrap"]);
    let copy = l.receive(0, 2);
    assert_reads(
        l.decrypt(&l.members[0], &copy, &["--offline"]),
        SECOND,
        "m1 offline",
    );
    assert_reads(
        l.decrypt(&l.members[1], &l.receive(1, 2), &["--offline"]),
        SECOND,
        "m2 offline",
    );
    // m3 still reads the first message with the old secret, not the second.
    assert_reads(
        l.decrypt(&l.members[2], &copies[2], &["--offline"]),
        FIRST,
        "m3 old mail",
    );
    let out = l.decrypt(&l.members[2], &copy, &["--offline"]);
    assert!(!out.status.success() && out.stdout.is_empty());
    assert_failure(&l.decrypt(&l.members[2], &copy, &[]), 77);
}

/// Mode 3: the exploder holds the list's own key, decrypts and encrypts
/// for each member: OpenSSL reads the copies; the signature inside stays.
#[test]
fn reencrypt_mode_copies_open_in_openssl_and_the_signature_survives() {
    let mut l = List::new("reenc");
    // The list's own identity, in the exploder's keystore; senders encrypt to it.
    let list_addr = l.list_addr();
    new_identity(&l.exploder, &list_addr);
    let list_cert = cert_file(&l.exploder, &list_addr);
    // The group certificate (same address) goes; the list's own one stays.
    let group_fp = sealpost::smime::certs::parse_bundle(
        &std::fs::read(l.dir.path().join("list.pem")).unwrap(),
    )
    .unwrap()
    .remove(0)
    .fingerprint;
    ok(
        output(l.sender.cmd().args(["cert", "remove", &group_fp])),
        "cert remove",
    );
    ok(
        output(l.sender.cmd().args(["cert", "import"]).arg(&list_cert)),
        "cert import",
    );
    let members_file = l.dir.path().join("members.txt");
    let addresses: Vec<String> = l.members.iter().map(|m| m.addr.clone()).collect();
    let write_members = |n: usize| {
        let text: String = addresses[..n].iter().map(|a| format!("{a}\n")).collect();
        std::fs::write(&members_file, format!("# list members\n{text}")).unwrap();
    };
    write_members(3);
    let mut import = l.exploder.cmd();
    import.args(["cert", "import"]);
    for m in &l.members {
        import.arg(m.path(&format!("{}.pem", m.addr)));
    }
    ok(output(&mut import), "exploder cert import");
    let mfile = members_file.to_str().unwrap().to_string();

    l.send(FIRST, &["--no-self", "--sign"]);
    assert_eq!(
        l.explode(1, &["--reencrypt", "--members", &mfile])[0]["mode"],
        "reencrypt"
    );
    for i in 0..3 {
        let copy = l.receive(i, 1);
        l.assert_private(&copy, i);
        let out = ok(
            // The members do not trust the sender's self-signed certificate:
            // the signature is good, not trusted (--require-signature refuses).
            l.decrypt(&l.members[i], &copy, &[]),
            "signed copy",
        );
        assert!(plaintext(&out).contains(FIRST));
        assert!(String::from_utf8_lossy(&out.stderr).contains("good signature"));
        // OpenSSL, with the member's key file alone.
        let path = l.members[i].path("copy.eml");
        std::fs::write(&path, &copy).unwrap();
        let key = std::fs::read_dir(l.members[i].keystore().join("identities"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(".key.pem"))
            .unwrap();
        let cert = l.members[i].path(&format!("{}.pem", l.members[i].addr));
        let plain = std::process::Command::new("openssl")
            .args(["cms", "-decrypt", "-in"])
            .arg(&path)
            .arg("-recip")
            .arg(&cert)
            .arg("-inkey")
            .arg(&key)
            .output()
            .unwrap();
        assert!(
            plain.status.success(),
            "{}",
            String::from_utf8_lossy(&plain.stderr)
        );
        // The decrypted entity is the sender's signed message, unchanged.
        let verified = std::process::Command::new("openssl")
            .args(["cms", "-verify", "-noverify"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(&plain.stdout)?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(
            verified.status.success(),
            "{}",
            String::from_utf8_lossy(&verified.stderr)
        );
        assert!(String::from_utf8_lossy(&verified.stdout)
            .replace("\r\n", "\n")
            .contains(FIRST));
    }

    // Removed from the member file: not sent at all.
    write_members(2);
    l.send(SECOND, &["--no-self"]);
    assert_eq!(
        l.explode(2, &["--reencrypt", "--members", &mfile])[0]["envelopes"],
        2
    );
    assert_reads(
        l.decrypt(&l.members[0], &l.receive(0, 2), &[]),
        SECOND,
        "m1",
    );
    assert_reads(
        l.decrypt(&l.members[1], &l.receive(1, 2), &[]),
        SECOND,
        "m2",
    );
    assert!(l.fetch(2).is_empty(), "m3 got the second message");
}

/// Mode 4: the key is deposited at the group server; members read through
/// it; a removed member is refused; after revoke and after expiry nobody
/// reads, with a clear refusal.
#[test]
fn deposit_mode_revoke_and_expiry_close_the_message_for_everyone() {
    let mut l = List::new("depo");
    let first_id = l.send(FIRST, &["--deposit", "depo"]);
    assert_eq!(l.explode(1, &[])[0]["mode"], "relay");
    let copies = l.everyone_reads(1, FIRST, &[]);
    l.assert_exploder_cannot_read(&copies[0]);
    // The sender reads their own deposit too.
    assert_reads(l.decrypt(&l.sender, &copies[0], &[]), FIRST, "sender");

    l.remove(2);
    let err = assert_failure(&l.decrypt(&l.members[2], &copies[2], &[]), 77);
    assert!(err.contains("not a member"), "{err}");

    // Revoked: refused for every reader, the sender included.
    let out = ok(
        output(l.sender.cmd().args(["--json", "revoke", &first_id])),
        "revoke",
    );
    let revoked = crate::json_document::document(&out.stdout, "revoke");
    assert_eq!(revoked["deposits"][0]["revoked"], true, "{revoked}");
    for who in [&l.members[0], &l.members[1], &l.sender] {
        let err = assert_failure(&l.decrypt(who, &copies[0], &[]), 77);
        assert!(err.contains("revoked"), "{err}");
    }

    // Expired: readable until the expiry, refused after it.
    let sent = std::time::Instant::now();
    l.send(SECOND, &["--deposit", "depo", "--expires", "10s"]);
    l.explode(2, &[]);
    let copy = l.receive(0, 2);
    assert_reads(
        l.decrypt(&l.members[0], &copy, &[]),
        SECOND,
        "m1 before expiry",
    );
    assert!(sent.elapsed().as_secs() < 10, "too slow to test the expiry");
    std::thread::sleep(std::time::Duration::from_secs(11).saturating_sub(sent.elapsed()));
    let err = assert_failure(&l.decrypt(&l.members[1], &l.receive(1, 2), &[]), 77);
    assert!(err.contains("expired"), "{err}");
}
