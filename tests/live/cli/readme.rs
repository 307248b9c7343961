//! The README's "Everyday use" section, walked through: the test reads
//! README.md when it runs, takes every command line of the `sh` blocks of
//! that section and its subsections (continuation lines joined), and runs
//! each through `sh -c`, in order, as written, so the README cannot drift
//! from the binary. Each must exit 0, or the status its comment states
//! ("exit 69").
//!
//! The world is what a reader would have: machines (directories, each the
//! current directory and `$HOME` of its lines, so the keystore is the
//! default one under `~/.local/share`): alice's for her own mail, a list
//! member's, the group server operator's and the list exploder's (whose
//! system trusts the test CA through `SSL_CERT_FILE`, as its `group join`
//! line names no `--ca-file`); the files the lines name, made
//! beforehand from tests/data ([`BEFORE`], the setup below), the passphrase
//! in `SEALPOST_PASSPHRASE`, `sealpost` on PATH, no terminal. Servers the
//! README names and a test cannot be are the test's own on loopback: a
//! plain-text SMTP and IMAP server and a real `sealpost group serve`. Only
//! the server part of such a line is rewritten, through [`SUBSTITUTIONS`].
//! Every line is run, or listed with its reason ([`NOT_RUN`],
//! [`MACHINE_MARKERS`]); a new README line that is neither fails the test,
//! and so does an entry of any table that no longer matches a line.
//!
//! `SEALPOST_TEST_README=PATH` makes the test read another file (to see it
//! fail on a broken copy).

use std::path::{Path, PathBuf};
use std::process::Output;

use super::mail_sink::MailSink;
use crate::common::shell_without_terminal;
use crate::group::server::{self, Served};

const SECTION: &str = "## Everyday use";
const README_OVERRIDE: &str = "SEALPOST_TEST_README";
const PASSPHRASE: &str = "readme passphrase";

/// README text naming a server the test cannot be: (as written, as run, why).
const SUBSTITUTIONS: &[(&str, &str, &str)] = &[
    (
        "smtp://mail.example.org:587",
        "\"$SMTP_SERVER\"",
        "alice's submission server: the test's, plain text on loopback",
    ),
    (
        "imaps://mail.example.org",
        "\"$IMAP_SERVER\" --insecure-plaintext",
        "alice's IMAP server: the test's, plain text on loopback, which an \
         account names only with --insecure-plaintext",
    ),
    (
        "https://keys.example.org",
        "\"$GROUP_SERVER\"",
        "the list's key release server: a real `sealpost group serve` on \
         loopback (for the exploder, the one the operator's `group serve` \
         line started)",
    ),
    (
        "https://keys2.example.org",
        "https://localhost:9",
        "the failover server: an address where nothing listens, never asked \
         while the first server answers",
    ),
    (
        "--listen 0.0.0.0:8443",
        "--listen 127.0.0.1:0",
        "the operator's server: a free port on loopback, reached as \
         localhost, the name in the test's TLS certificate",
    ),
];

/// Lines not run: (the line as written, why). A line here must exist. None
/// so far: even `account add --domain` runs, as adding an account looks
/// nothing up (its SRV records are read at each connection).
const NOT_RUN: &[(&str, &str)] = &[];

/// Lines that run until stopped: (how the line begins, why). The test starts
/// the line, waits for its `listening on ADDR`, lets the lines after it use
/// it, and stops it (SIGKILL) at the end.
const UNTIL_STOPPED: &[(&str, &str)] = &[(
    "sealpost group serve",
    "a server runs until stopped; the exploder's lines below talk to it",
)];

/// Lines that send or fetch mail (named by a part of them): each must move
/// at least one message through the test's mail servers.
const MOVES_MAIL: &[&str] = &[
    "sealpost submit --account",
    "sealpost fetch",
    "sealpost explode",
];

/// Where each subsection's lines run (its machine), when its block does not
/// say so itself with a [`MACHINE_MARKERS`] comment.
const MACHINE_OF_HEADING: &[(&str, &str)] = &[
    ("Everyday use", "alice"),
    ("Sending and fetching", "alice"),
    ("Reading a list's mail: group key release", "member"),
    ("Running a group server", "operator"),
];

/// Comment lines that say where the lines after them run.
const MACHINE_MARKERS: &[(&str, &str)] = &[
    ("# on the group server", "operator"),
    ("# on the exploder", "exploder"),
];

/// What the world does on a machine just before a README line (named by
/// how it begins): (line, script, why).
const BEFORE: &[(&str, &str, &str)] = &[
    (
        "sealpost decrypt received.eml",
        "export SEALPOST_KEYSTORE=../bob \
         && sealpost key import --no-passphrase \"$FIXTURES/bob.key.pem\" --cert \"$FIXTURES/bob.cert.pem\" \
         && sealpost cert import alice.pem \
         && echo 'Thanks for the figures.' \
         | sealpost compose --from bob@example.org --to alice@example.org --subject 'Re: Figures' \
         | sealpost encrypt --eml --sign > received.eml",
        "bob, who got alice.pem, writes back to alice",
    ),
    (
        "sealpost group add-member crypto-list exploder.pem",
        "cp ../exploder/exploder.pem . && cp \"$FIXTURES/alice.cert.pem\" alice.pem \
         && export SEALPOST_KEYSTORE=../newsletter \
         && sealpost key generate --email newsletter@example.org --bits 2048 --no-passphrase \
         && sealpost key export newsletter@example.org > newsletter.pem",
        "the certificates the operator was given: the exploder's, alice's, \
         the newsletter's",
    ),
    (
        "sealpost group join crypto-list --cert list.pem --server https://keys.example.org --as exploder",
        "cp ../operator/list.pem .",
        "the operator gave the exploder the list's certificate",
    ),
    (
        "sealpost explode",
        "export SEALPOST_KEYSTORE=../list-sender \
         && sealpost cert import list.pem \
         && echo 'Minutes attached.' \
         | sealpost compose --from carol@example.org --to crypto-list@example.org --subject Minutes \
         | sealpost encrypt --eml --no-self > message.eml",
        "list mail, as the MTA hands it to the exploder: encrypted to the \
         list's certificate by a sender",
    ),
];

/// The files alice's lines name, as she would have them: bob's certificate
/// in PEM, carol's in DER, a PKCS#7 bundle (dave, erin), an attachment, a
/// body, a password file.
const ALICE: &str = "cp \"$FIXTURES/bob.cert.pem\" bob.pem \
     && openssl x509 -in \"$FIXTURES/carol.cert.pem\" -outform DER -out carol.der \
     && openssl crl2pkcs7 -nocrl -certfile \"$FIXTURES/dave.cert.pem\" \
        -certfile \"$FIXTURES/erin.cert.pem\" -outform DER -out team.p7b \
     && printf '%%PDF-1.4\\n' > report.pdf && echo 'The figures are attached.' > body.txt \
     && mkdir -p ~/.config && (umask 077 && echo secret > ~/.config/work.pass)";

/// A member of crypto-list: their own key (me@example.org), the CA of the
/// list's release server; the certificate is then registered as a member.
const MEMBER: &str = "sealpost key generate --email me@example.org --bits 2048 \
     && sealpost key export me@example.org > me.pem && cp ../tls/ca.pem list-ca.pem";

/// The release server the member uses: crypto-list with the member in it.
const KEYS: &str = "sealpost group create crypto-list --email crypto-list@example.org --bits 2048 \
     && sealpost group cert crypto-list > list.pem \
     && sealpost group add-member crypto-list ../member/me.pem";

/// The member's list.pem, and list mail sent to crypto-list.
const MEMBER_MAIL: &str =
    "cp ../keys/list.pem . && export SEALPOST_KEYSTORE=../member-list-sender \
     && sealpost cert import list.pem \
     && echo 'Minutes attached.' \
     | sealpost compose --from carol@example.org --to crypto-list@example.org --subject Minutes \
     | sealpost encrypt --eml --no-self > list-mail.eml";

/// The group server operator: bob's certificate, the server's TLS files.
const OPERATOR: &str = "cp \"$FIXTURES/bob.cert.pem\" bob.pem \
     && cp ../tls/server.pem ../tls/server.key .";

/// The list exploder: its own key (exploder@example.org, which the operator
/// registers), an account for the list's relay, a CA the system trusts.
const EXPLODER: &str =
    "sealpost key generate --email exploder@example.org --bits 2048 --no-passphrase \
     && sealpost key export exploder@example.org > exploder.pem \
     && (umask 077 && echo secret > relay.pass) \
     && sealpost account add relay --smtp \"$SMTP_SERVER\" --insecure-plaintext \
        --user exploder@example.org --password-file relay.pass";

/// A command line of a `sh` block in the section: continuation lines joined.
#[derive(Debug)]
struct Line {
    heading: String,
    text: String,
}

/// The lines of the `sh` blocks of [`SECTION`] and its subsections.
fn section_lines(readme: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let (mut in_section, mut found) = (false, false);
    let mut heading = String::new();
    let mut fence: Option<bool> = None; // Some(is_sh) inside a block
    let mut pending = String::new();
    for l in readme.lines() {
        match fence {
            None if l.starts_with("```") => fence = Some(in_section && l == "```sh"),
            None => {
                if l.starts_with("## ") {
                    in_section = l == SECTION;
                    found |= in_section;
                }
                if let Some(h) = l.strip_prefix("## ").or(l.strip_prefix("### ")) {
                    heading = h.to_string();
                }
            }
            Some(_) if l == "```" => {
                assert!(
                    pending.is_empty(),
                    "a block ends in a continuation: {pending}"
                );
                fence = None;
            }
            Some(false) => {}
            Some(true) => {
                let part = if pending.is_empty() {
                    l
                } else {
                    l.trim_start()
                };
                match part.strip_suffix('\\') {
                    Some(head) => pending.push_str(head),
                    None => {
                        let text = std::mem::take(&mut pending) + part;
                        if !text.trim().is_empty() {
                            lines.push(Line {
                                heading: heading.clone(),
                                text: text.trim_end().to_string(),
                            });
                        }
                    }
                }
            }
        }
    }
    assert!(found, "README has no section {SECTION:?}");
    lines
}

/// The line's trailing comment (after a `#` outside quotes), if any.
fn comment(text: &str) -> Option<&str> {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return Some(&text[i + 1..]),
            None => {}
        }
        prev = c;
    }
    None
}

/// The status a line must exit with: the one its comment states as
/// "exit N", else 0.
fn expected_status(text: &str) -> i32 {
    comment(text)
        .and_then(|c| c.split("exit ").nth(1))
        .and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(0)
}

/// The line as run: each [`SUBSTITUTIONS`] entry applied; counts their uses.
fn substituted(text: &str, used: &mut [bool]) -> String {
    let mut run = text.to_string();
    for (i, (written, instead, _)) in SUBSTITUTIONS.iter().enumerate() {
        if run.contains(written) {
            run = run.replace(written, instead);
            used[i] = true;
        }
    }
    run
}

/// The walk's world: a directory per machine under one root.
struct World {
    root: tempfile::TempDir,
    smtp: MailSink,
    imap: MailSink,
    /// The member's release server (test setup), then the servers started
    /// by README lines; killed when dropped.
    servers: Vec<Served>,
    /// The URL of the server a README line started (the operator's).
    operator_server: Option<String>,
    member_server: String,
}

impl World {
    fn dir(&self, machine: &str) -> PathBuf {
        let dir = self.root.path().join(machine);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Messages the test's mail servers took or handed out so far.
    fn moved(&self) -> usize {
        self.smtp.moved() + self.imap.moved()
    }

    /// `sh -c script` on `machine`, with its environment.
    fn shell(&self, machine: &str, script: &str) -> std::process::Command {
        let mut cmd = shell_without_terminal(&self.dir(machine), script);
        cmd.env("SEALPOST_PASSPHRASE", PASSPHRASE)
            .env("FIXTURES", crate::common::data(""))
            .env("SMTP_SERVER", self.smtp.url("smtp"))
            .env("IMAP_SERVER", self.imap.url("imap"));
        match machine {
            "member" => {
                cmd.env("GROUP_SERVER", &self.member_server);
            }
            "exploder" => {
                // The exploder's system trusts the CA of the list's server.
                let ca = self.root.path().join("tls/ca.pem");
                cmd.env("SSL_CERT_FILE", ca);
                if let Some(url) = &self.operator_server {
                    cmd.env("GROUP_SERVER", url);
                }
            }
            _ => {}
        }
        cmd
    }

    /// Runs a setup script on `machine`; panics if it fails.
    fn setup(&self, machine: &str, script: &str) {
        let out = self.shell(machine, script).output().unwrap();
        assert!(
            out.status.success(),
            "setup on {machine} failed: {script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Every machine as the README's reader would find it, and the member's
    /// release server running.
    fn new() -> World {
        let root = tempfile::tempdir().unwrap();
        server::tls_files(&root.path().join("tls"));
        let mailbox = "From: bob@example.org\nTo: alice@example.org\nSubject: Lunch\n\
                       Message-ID: <lunch.1@example.org>\n\nSee you at noon.\n";
        let mut world = World {
            root,
            smtp: MailSink::smtp(),
            imap: MailSink::imap(mailbox),
            servers: Vec::new(),
            operator_server: None,
            member_server: String::new(),
        };
        world.setup("alice", ALICE);
        world.setup("member", MEMBER);
        world.setup("keys", KEYS);
        let tls = server::TlsFiles {
            ca: world.root.path().join("tls/ca.pem"),
            cert: world.root.path().join("tls/server.pem"),
            key: world.root.path().join("tls/server.key"),
        };
        let keystore = world.dir("keys").join(".local/share/sealpost");
        let served = Served::start(server::serve_command(&keystore, PASSPHRASE, &tls, &[]));
        world.member_server = served.url();
        world.servers.push(served);
        world.setup("member", MEMBER_MAIL);
        world.setup("exploder", EXPLODER);
        world.setup("operator", OPERATOR);
        world
    }
}

fn failure(line: &Line, run: &str, what: &str, out: &Output) -> String {
    format!(
        "README, {:?}: {what}\n  as written: {}\n  as run:     {run}\n  exit {:?}\n  stdout: {}\n  stderr: {}",
        line.heading,
        line.text,
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

fn readme_path() -> PathBuf {
    std::env::var_os(README_OVERRIDE)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
}

#[test]
fn everyday_use_runs_as_written() {
    let readme = std::fs::read_to_string(readme_path()).unwrap();
    let lines = section_lines(&readme);
    assert!(lines.len() > 20, "{lines:?}");
    let mut world = World::new();
    let mut used = vec![false; SUBSTITUTIONS.len()];
    let mut before_used = vec![false; BEFORE.len()];
    let mut not_run_used = vec![false; NOT_RUN.len()];
    let mut moves_used = vec![false; MOVES_MAIL.len()];
    let mut machine: Option<&str> = None;
    let mut heading = String::new();
    for line in &lines {
        if line.heading != heading {
            heading = line.heading.clone();
            machine = MACHINE_OF_HEADING
                .iter()
                .find(|(h, _)| *h == heading)
                .map(|(_, m)| *m);
        }
        if line.text.starts_with('#') {
            let marker = MACHINE_MARKERS.iter().find(|(m, _)| *m == line.text);
            let (_, on) = marker.unwrap_or_else(|| {
                panic!("README, {heading:?}: comment line neither run nor listed: {line:?}")
            });
            machine = Some(on);
            continue;
        }
        if let Some(i) = NOT_RUN.iter().position(|(l, _)| *l == line.text) {
            not_run_used[i] = true;
            continue;
        }
        let on = machine.unwrap_or_else(|| {
            panic!("README, {heading:?}: no machine for this subsection's lines: {line:?}")
        });
        for (i, (begins, script, _)) in BEFORE.iter().enumerate() {
            if line.text.starts_with(begins) {
                world.setup(on, script);
                before_used[i] = true;
            }
        }
        let run = substituted(&line.text, &mut used);
        // Shown with the failure of a later line (or with --nocapture).
        eprintln!("on {on}: {run}");
        if UNTIL_STOPPED.iter().any(|(b, _)| line.text.starts_with(b)) {
            // `exec`, so that stopping the shell stops the server.
            let served = Served::start(world.shell(on, &format!("exec {run}")));
            world.operator_server = Some(served.url());
            world.servers.push(served);
            continue;
        }
        let moved_before = world.moved();
        let out = world.shell(on, &run).output().unwrap();
        let status = expected_status(&line.text);
        assert!(
            out.status.code() == Some(status),
            "{}",
            failure(line, &run, &format!("expected exit {status}"), &out)
        );
        if let Some(i) = MOVES_MAIL.iter().position(|m| line.text.contains(m)) {
            moves_used[i] = true;
            assert!(
                world.moved() > moved_before,
                "{}",
                failure(line, &run, "no mail went through", &out)
            );
        }
    }
    let stale = |table: &str, used: &[bool], names: Vec<&str>| {
        for (name, used) in names.iter().zip(used) {
            assert!(used, "{table} entry matches no README line: {name:?}");
        }
    };
    stale(
        "SUBSTITUTIONS",
        &used,
        SUBSTITUTIONS.iter().map(|e| e.0).collect(),
    );
    stale("BEFORE", &before_used, BEFORE.iter().map(|e| e.0).collect());
    stale(
        "NOT_RUN",
        &not_run_used,
        NOT_RUN.iter().map(|e| e.0).collect(),
    );
    stale("MOVES_MAIL", &moves_used, MOVES_MAIL.to_vec());
    assert!(
        world.operator_server.is_some(),
        "no README line started a server: {UNTIL_STOPPED:?}"
    );
}

#[test]
fn the_walk_reads_every_line_of_the_section_and_joins_continuations() {
    let readme = "## Other\n```sh\nsealpost not-here\n```\n## Everyday use\n\n\
                  ```sh\nsealpost a \\\n    --b c   # note: exit 69 if so\n# on x\n```\n\
                  ```text\nnot a command\n```\n### Sub\n```sh\nsealpost d '# e'\n```\n\
                  ## Next\n```sh\nsealpost f\n```\n";
    let lines = section_lines(readme);
    let texts: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l.heading.as_str(), l.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            ("Everyday use", "sealpost a --b c   # note: exit 69 if so"),
            ("Everyday use", "# on x"),
            ("Sub", "sealpost d '# e'"),
        ]
    );
    assert_eq!(expected_status(&lines[0].text), 69);
    assert_eq!(expected_status(&lines[2].text), 0);
    assert_eq!(comment(&lines[2].text), None);
}
