//! `kill -9` of submit and fetch at many moments (a bounded, deterministic
//! sweep of delays): afterwards nothing the outbox took is lost, fetch has
//! stored every message exactly once, and the server lost none that is not
//! stored locally.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use super::client::{output, url, Client};
use super::servers::servers;

fn count(messages: &[Vec<u8>], marker: &str) -> usize {
    messages
        .iter()
        .filter(|m| String::from_utf8_lossy(m).contains(marker))
        .count()
}

/// Runs `cmd`, SIGKILLs it after `delay` if still running; returns whether it was killed.
fn run_and_kill(mut cmd: std::process::Command, stdin: Option<Vec<u8>>, delay: Duration) -> bool {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().unwrap();
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let _ = pipe.write_all(&data);
    }
    std::thread::sleep(delay);
    let killed = matches!(child.try_wait(), Ok(None));
    if killed {
        let _ = child.kill();
    }
    let _ = child.wait();
    killed
}

fn delays(n: u64) -> impl Iterator<Item = Duration> {
    (0..n).map(|i| Duration::from_millis(i * 17 % 230))
}

#[test]
fn killed_submits_lose_nothing_that_was_queued() {
    let s = servers();
    let sender = Client::new(&s, "kill-sub");
    let rcpt = s.add_user("kill-sub-rcpt", "x");
    sender.add_account(
        &s,
        "main",
        &url("smtps", s.ports.smtps),
        &format!("--imap={}", url("imaps", s.ports.imaps)),
    );
    let n = 14;
    let mut kills = 0;
    for (i, delay) in delays(n).enumerate() {
        let msg = format!(
            "From: <kill-{i}@example.org>\r\nTo: <{rcpt}>\r\nSubject: k{i}\r\n\r\nkill marker {i}.\r\n"
        );
        let mut cmd = sender.spawnable();
        cmd.arg("submit");
        kills += usize::from(run_and_kill(cmd, Some(msg.into_bytes()), delay));
    }
    // What the outbox took, by sender address (queued or recorded as sent).
    let outbox = sender.keystore().join("outbox");
    let mut taken = std::collections::HashSet::new();
    for dir in ["queue", "sent"] {
        for e in std::fs::read_dir(outbox.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json")
                && !p.file_name().unwrap().to_string_lossy().starts_with('.')
            {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                taken.insert(v["mail_from"].as_str().unwrap().to_string());
            }
        }
    }
    let out = output(sender.cmd().args(["outbox", "flush"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = output(sender.cmd().args(["--json", "outbox", "list"]));
    let v = crate::json_document::document(&out.stdout, "outbox list");
    assert!(v["entries"].as_array().unwrap().is_empty(), "{v}");
    let markers: Vec<String> = (0..n as usize)
        .filter(|i| taken.contains(&format!("kill-{i}@example.org")))
        .map(|i| format!("kill marker {i}."))
        .collect();
    let delivered = s.wait_for_markers(&rcpt, &markers);
    let mut extra = 0;
    for i in 0..n as usize {
        let copies = count(&delivered, &format!("kill marker {i}."));
        if taken.contains(&format!("kill-{i}@example.org")) {
            assert!(copies >= 1, "message {i} was queued and lost");
            extra += copies - 1;
        } else {
            assert_eq!(copies, 0, "message {i} was sent without being queued first");
        }
    }
    // A second copy needs a run killed after its final "." and before the
    // record: at most one per killed run, never from a run that finished.
    assert!(
        extra <= kills,
        "{extra} extra copies from {kills} killed runs"
    );
    eprintln!(
        "submit: {kills} kill -9 of {n} runs; {} messages queued; {extra} sent again \
         (killed while awaiting the 250)",
        taken.len()
    );
}

#[test]
fn killed_fetches_lose_and_double_nothing() {
    let s = servers();
    let c = Client::new(&s, "kill-fetch");
    c.add_account(
        &s,
        "in",
        &url("smtps", s.ports.smtps),
        &format!("--pop3={}", url("pop3s", s.ports.pop3s)),
    );
    let md = c.keystore().join("mail/in");
    let local = || {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(md.join(sub)) {
                out.extend(rd.map(|e| std::fs::read(e.unwrap().path()).unwrap()));
            }
        }
        out
    };
    let body = |i: usize| {
        format!(
            "Subject: m{i}\r\n\r\nfetch marker {i}.\r\n{}\r\n",
            "y".repeat(20000)
        )
    };
    let mut injected = 0;
    let mut kills = 0;
    for (round, delay) in delays(14).enumerate() {
        if round % 2 == 0 {
            for _ in 0..3 {
                s.inject(&c.addr, body(injected).as_bytes());
                injected += 1;
            }
        }
        let mut cmd = c.spawnable();
        cmd.args(["fetch", "--delete"]);
        kills += usize::from(run_and_kill(cmd, None, delay));
        let (here, there) = (local(), s.delivered(&c.addr));
        for i in 0..injected {
            let marker = format!("fetch marker {i}.");
            let (l, r) = (count(&here, &marker), count(&there, &marker));
            assert!(l <= 1, "message {i} stored {l} times");
            assert!(l + r >= 1, "message {i} lost");
        }
    }
    let out = output(c.cmd().args(["fetch", "--delete"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let here = local();
    assert_eq!(here.len(), injected);
    for i in 0..injected {
        assert_eq!(count(&here, &format!("fetch marker {i}.")), 1);
    }
    assert!(s.delivered(&c.addr).is_empty());
    eprintln!("fetch: {kills} kill -9 of 14 runs");
}
