//! Dropped lines: a relay cuts submit and fetch connections after N bytes,
//! for many N. Nothing is ever lost; fetch never stores a message twice nor
//! deletes one on the server that is not in the local Maildir; submit sends
//! a message twice only when the cut fell inside SMTP's unavoidable window
//! (the server's reply to the final dot lost), at most once per message.

use super::client::{output, url, Client};
use super::relay::Relay;
use super::servers::{servers, Servers};

fn marker_count(messages: &[Vec<u8>], marker: &str) -> usize {
    messages
        .iter()
        .filter(|m| String::from_utf8_lossy(m).contains(marker))
        .count()
}

fn message(from: &str, to: &str, marker: &str) -> Vec<u8> {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {marker}\r\n\r\nbody of {marker}.\r\n{}\r\n",
        "x".repeat(2000)
    )
    .into_bytes()
}

/// Cut points spread over a session of `total` bytes, denser near the end.
fn cut_points(total: u64) -> Vec<u64> {
    let mut v: Vec<u64> = (0..20).map(|i| total * i / 20).collect();
    v.extend((1..=12).map(|i| total.saturating_sub(i * 12)));
    v.sort();
    v.dedup();
    v
}

#[test]
fn submit_loses_nothing_when_the_line_drops() {
    let s = servers();
    let sender = Client::new(&s, "flt-sub");
    let rcpt = s.add_user("flt-sub-rcpt", "x");
    let relay = Relay::new(s.ports.smtps);
    sender.add_account(
        &s,
        "main",
        &url("smtps", relay.port),
        &format!("--imap={}", url("imaps", s.ports.imaps)),
    );
    // A clean run sizes the session.
    let out = output(
        sender
            .cmd()
            .arg("submit")
            .write_stdin(message(&sender.addr, &rcpt, "m-0")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total = relay.last_total();
    assert!(total > 2000, "{total}");
    let points = cut_points(total);
    for (i, n) in points.iter().enumerate() {
        relay.cut_after(Some(*n));
        let marker = format!("m-{}", i + 1);
        let out = output(sender.cmd().arg("submit").write_stdin(message(
            &sender.addr,
            &rcpt,
            &marker,
        )));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0) | Some(75)),
            "cut at {n}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        relay.cut_after(None);
        let out = output(sender.cmd().args(["outbox", "flush"]));
        assert!(
            out.status.success(),
            "after cut at {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let count = points.len() + 1;
    let markers: Vec<String> = (0..count).map(|i| format!("body of m-{i}.")).collect();
    let delivered = s.wait_for_markers(&rcpt, &markers);
    let mut duplicates = 0;
    for i in 0..count {
        let copies = marker_count(&delivered, &format!("body of m-{i}."));
        assert!(copies >= 1, "m-{i} was lost");
        assert!(copies <= 2, "m-{i} arrived {copies} times");
        if copies == 2 {
            // Only a cut in the last exchanges (final dot, its 250, QUIT) can
            // lose the server's acceptance; a cut anywhere else must not.
            let n = points[i
                .checked_sub(1)
                .expect("the clean run's message arrived twice")];
            assert!(
                n + 250 >= total,
                "m-{i} sent twice after a cut at byte {n} of {total}"
            );
            duplicates += 1;
        }
    }
    assert!(
        relay.cuts() >= points.len() - 2,
        "only {} cuts",
        relay.cuts()
    );
    eprintln!(
        "submit: {} interruptions tried, {duplicates} duplicate(s) from the SMTP window",
        relay.cuts()
    );
}

fn fetch_survives(local: &str, scheme: &str, port: impl Fn(&Servers) -> u16, flag: &str) {
    let s = servers();
    let c = Client::new(&s, local);
    let relay = Relay::new(port(&s));
    c.add_account(
        &s,
        "in",
        &url("smtps", s.ports.smtps),
        &format!("{flag}={}", url(scheme, relay.port)),
    );
    let md = c.keystore().join("mail/in");
    let local_messages = || {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(md.join(sub)) {
                out.extend(rd.map(|e| std::fs::read(e.unwrap().path()).unwrap()));
            }
        }
        out
    };
    for i in 0..3 {
        s.inject(
            &c.addr,
            &message("a@example.org", &c.addr, &format!("f-{i}")),
        );
    }
    // A clean run (without --delete) sizes the session.
    let out = output(c.cmd().arg("fetch"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total = relay.last_total();
    let mut injected = 3;
    for (i, n) in cut_points(total).iter().enumerate() {
        if i % 3 == 0 {
            s.inject(
                &c.addr,
                &message("a@example.org", &c.addr, &format!("f-{injected}")),
            );
            injected += 1;
        }
        relay.cut_after(Some(*n));
        let out = output(c.cmd().args(["fetch", "--delete"]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0) | Some(69) | Some(75)),
            "cut at {n}: {stderr}"
        );
        let here = local_messages();
        let there = s.delivered(&c.addr);
        for m in 0..injected {
            let marker = format!("body of f-{m}.");
            let (l, r) = (marker_count(&here, &marker), marker_count(&there, &marker));
            assert!(l <= 1, "f-{m} stored {l} times (cut at {n})");
            assert!(l + r >= 1, "f-{m} lost (cut at {n})");
            assert!(r <= 1);
        }
    }
    relay.cut_after(None);
    let out = output(c.cmd().args(["fetch", "--delete"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let here = local_messages();
    assert_eq!(here.len(), injected);
    for m in 0..injected {
        assert_eq!(marker_count(&here, &format!("body of f-{m}.")), 1);
    }
    assert!(s.delivered(&c.addr).is_empty());
    eprintln!("fetch {scheme}: {} interruptions tried", relay.cuts());
}

#[test]
fn pop3_fetch_loses_and_doubles_nothing_when_the_line_drops() {
    fetch_survives("flt-pop3", "pop3s", |s| s.ports.pop3s, "--pop3");
}

#[test]
fn imap_fetch_loses_and_doubles_nothing_when_the_line_drops() {
    fetch_survives("flt-imap", "imaps", |s| s.ports.imaps, "--imap");
}
