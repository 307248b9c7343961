//! Benchmark (not a test): submitting and fetching 1000 messages against the
//! real Postfix and Dovecot the mail tests use, compared in the same run with
//! what a shell user would do: `msmtp` once per envelope, and `mbsync` for
//! fetching.
//!
//! Needs the mail servers and the peers: `apt-get install postfix dovecot-core
//! dovecot-imapd dovecot-pop3d dovecot-lmtpd msmtp isync`.
//! Run: `cargo bench --bench mail`.

#[path = "support/measure.rs"]
mod measure;
#[path = "../tests/live/mail/servers.rs"]
#[allow(dead_code)]
mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use measure::{header, row, run, sealpost_bin, Cost};

const MESSAGES: usize = 1000;

fn message(from: &str, to: &str, i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: bench {i}\r\nMessage-ID: <bench-{i}-{}@example.org>\r\n\r\n",
        std::process::id()
    )
    .into_bytes();
    for line in 0..25 {
        m.extend_from_slice(
            format!("line {line} of message {i}: the quick brown fox jumps over the lazy dog\r\n")
                .as_bytes(),
        );
    }
    m
}

struct User {
    addr: String,
    password_file: PathBuf,
}

fn user(s: &servers::Servers, dir: &Path, local: &str) -> User {
    let password = format!("pw-{local}-{:08x}", rand::random::<u32>());
    let addr = s.add_user(local, &password);
    let password_file = dir.join(format!("{local}.pass"));
    std::fs::write(&password_file, format!("{password}\n")).unwrap();
    // Owner-only, as a user keeps it (sealpost warns otherwise).
    std::fs::set_permissions(
        &password_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    User {
        addr,
        password_file,
    }
}

fn sealpost(ks: &Path) -> Command {
    let mut cmd = Command::new(sealpost_bin());
    cmd.env("SEALPOST_KEYSTORE", ks)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    cmd
}

fn add_account(ks: &Path, s: &servers::Servers, u: &User) {
    let ok = sealpost(ks)
        .args(["account", "add", "-q", "bench", "--smtp"])
        .arg(format!("smtp://127.0.0.1:{}", s.ports.submission))
        .arg("--imap")
        .arg(format!("imaps://127.0.0.1:{}", s.ports.imaps))
        .arg("--user")
        .arg(&u.addr)
        .arg("--password-file")
        .arg(&u.password_file)
        .arg("--ca-file")
        .arg(s.ca_file())
        .status()
        .unwrap();
    assert!(ok.success());
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool} >/dev/null"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    for tool in ["msmtp", "mbsync"] {
        if !have(tool) {
            eprintln!("{tool} is not installed: apt-get install msmtp isync");
            std::process::exit(1);
        }
    }
    let s = servers::servers();
    let dir = tempfile::tempdir().unwrap();
    let sender = user(&s, dir.path(), "bsender");
    let rcpts: Vec<User> = (0..10)
        .map(|i| user(&s, dir.path(), &format!("brcpt{i}")))
        .collect();

    // `cargo bench --bench mail -- fetch` (or `-- submit`) runs one half.
    let only = std::env::args()
        .skip(1)
        .find(|a| a == "fetch" || a == "submit");
    if only.as_deref() != Some("fetch") {
        bench_submit(&s, dir.path(), &sender, &rcpts);
    }
    if only.as_deref() != Some("submit") {
        bench_fetch(&s, dir.path(), &sender);
    }
}

fn bench_submit(s: &servers::Servers, dir: &Path, sender: &User, rcpts: &[User]) {
    // ---- submit: 1000 envelopes ----
    header(&format!(
        "submit {MESSAGES} envelopes over STARTTLS + AUTH (single run each)"
    ));
    let rc = dir.join("msmtprc");
    std::fs::write(
        &rc,
        format!(
            "account bench\nhost 127.0.0.1\nport {}\ntls on\ntls_starttls on\ntls_trust_file {}\nauth on\nuser {}\npasswordeval cat {}\nfrom {}\naccount default : bench\n",
            s.ports.submission,
            s.ca_file().display(),
            sender.addr,
            sender.password_file.display(),
            sender.addr
        ),
    )
    .unwrap();
    let mut perm = std::fs::metadata(&rc).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o600);
    std::fs::set_permissions(&rc, perm).unwrap();
    let msgs: Vec<(String, Vec<u8>)> = (0..MESSAGES)
        .map(|i| {
            let to = rcpts[i % rcpts.len()].addr.clone();
            let m = message(&sender.addr, &to, i);
            (to, m)
        })
        .collect();
    let msmtp_cost = {
        let start = std::time::Instant::now();
        let (mut peak, mut cpu) = (0, std::time::Duration::ZERO);
        for (i, (to, m)) in msgs.iter().enumerate() {
            let file = dir.join(format!("m{i}.eml"));
            std::fs::write(&file, m).unwrap();
            let mut cmd = Command::new("msmtp");
            cmd.arg("-C")
                .arg(&rc)
                .arg(to)
                .stdin(std::fs::File::open(&file).unwrap())
                .stdout(Stdio::null());
            let cost = run(&mut cmd);
            peak = peak.max(cost.peak_rss);
            cpu += cost.cpu;
        }
        Cost {
            wall: start.elapsed(),
            cpu,
            peak_rss: peak,
        }
    };
    row(
        &format!("msmtp, once per envelope ({MESSAGES} calls)"),
        msmtp_cost,
        None,
    );

    let ks = dir.join("ks-sender");
    add_account(&ks, s, sender);
    let bsmtp = dir.join("all.bsmtp");
    let txns: Vec<_> = msgs
        .iter()
        .map(|(to, m)| sealpost::smime::bsmtp::Transaction {
            mail_from: sender.addr.clone(),
            rcpt_to: vec![to.clone()],
            data: m.clone(),
        })
        .collect();
    let mut buf = Vec::new();
    sealpost::smime::bsmtp::write(&mut buf, &txns).unwrap();
    std::fs::write(&bsmtp, buf).unwrap();
    let submit_cost = run(sealpost(&ks)
        .args(["submit", "-q", "--account", "bench"])
        .arg(&bsmtp));
    row(
        "sealpost submit (one connection, durable outbox)",
        submit_cost,
        Some(msmtp_cost),
    );
    println!(
        "  sealpost vs msmtp per envelope: {:.1}x faster (target: at least 10x); {:.0} vs {:.0} messages/s",
        msmtp_cost.wall.as_secs_f64() / submit_cost.wall.as_secs_f64(),
        MESSAGES as f64 / submit_cost.wall.as_secs_f64(),
        MESSAGES as f64 / msmtp_cost.wall.as_secs_f64()
    );
}

fn bench_fetch(s: &servers::Servers, dir: &Path, sender: &User) {
    // ---- fetch: 1000 messages from one mailbox ----
    let reader = user(s, dir, "breader");
    let msgs: Vec<()> = vec![(); MESSAGES];
    for (i, _) in msgs.iter().enumerate() {
        s.inject(&reader.addr, &message(&sender.addr, &reader.addr, i));
    }
    header(&format!(
        "fetch {MESSAGES} messages over IMAPS into a Maildir (single run each)"
    ));
    let maildir = dir.join("mbsync-maildir");
    std::fs::create_dir_all(&maildir).unwrap();
    let mbsyncrc = dir.join("mbsyncrc");
    std::fs::write(
        &mbsyncrc,
        format!(
            "IMAPAccount bench\nHost localhost\nPort {}\nUser {}\nPassCmd \"cat {}\"\nSSLType IMAPS\nCertificateFile {}\n\n\
             IMAPStore remote\nAccount bench\n\nMaildirStore local\nPath {}/\nInbox {}/INBOX\n\n\
             Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\nSync Pull\nSyncState *\n",
            s.ports.imaps,
            reader.addr,
            reader.password_file.display(),
            s.ca_file().display(),
            maildir.display(),
            maildir.display()
        ),
    )
    .unwrap();
    let mut mbsync = Command::new("mbsync");
    mbsync
        .arg("-q")
        .arg("-c")
        .arg(&mbsyncrc)
        .arg("-a")
        .stdout(Stdio::null());
    let mbsync_cost = run(&mut mbsync);
    row("mbsync", mbsync_cost, None);

    let supports_no_compress = Command::new(sealpost_bin())
        .args(["fetch", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("--no-compress"))
        .unwrap_or(false);
    let variants: &[(&str, &[&str])] = if supports_no_compress {
        &[
            ("sealpost fetch (COMPRESS=DEFLATE)", &[]),
            ("sealpost fetch --no-compress", &["--no-compress"]),
        ]
    } else {
        &[("sealpost fetch", &[])]
    };
    for (i, (label, flags)) in variants.iter().enumerate() {
        let ks = dir.join(format!("ks-reader-{i}"));
        add_account(&ks, s, &reader);
        let cost = run(sealpost(&ks)
            .args(["fetch", "-q"])
            .args(*flags)
            .arg("bench"));
        let fetched = std::fs::read_dir(ks.join("mail/bench/new"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(fetched, MESSAGES, "{label} fetched {fetched} messages");
        row(label, cost, Some(mbsync_cost));
    }
}
