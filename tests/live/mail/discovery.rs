//! Accounts that name only a domain: servers from DNS SRV records (RFC
//! 6186), served by a real dnsmasq, pointing at the real Postfix and
//! Dovecot. The domain is "localhost" because its SRV targets must lie
//! inside it and resolve, and the servers' certificate names localhost.

use super::client::{assert_failure, closed_port, output, Client};
use super::dns::Dns;
use super::relay::Relay;
use super::servers::{servers, Servers};

fn add_domain_account(c: &Client, s: &Servers, name: &str, extra: &[&str]) {
    c.cmd()
        .args(["account", "add", name, "--domain", "localhost", "--user"])
        .arg(&c.addr)
        .args(extra)
        .arg("--password-file")
        .arg(c.password_file())
        .arg("--ca-file")
        .arg(s.ca_file())
        .assert()
        .success();
}

fn submit(c: &Client, dns: &Dns, account: &str, to: &str, marker: &str) -> std::process::Output {
    let msg = format!(
        "From: {}\r\nTo: {to}\r\nSubject: {marker}\r\n\r\n{marker}\r\n",
        c.addr
    );
    output(
        c.cmd()
            .env("SEALPOST_DNS_SERVER", dns.address())
            .args(["--json", "submit", "--account", account, "-"])
            .write_stdin(msg),
    )
}

/// Fetches with `dns` as the DNS server; the number of new messages.
fn fetch_new(c: &Client, dns: &Dns) -> u64 {
    let out = output(
        c.cmd()
            .env("SEALPOST_DNS_SERVER", dns.address())
            .args(["--json", "fetch"]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::json_document::document(&out.stdout, "fetch");
    v["accounts"][0]["summary"]["new"].as_u64().unwrap()
}

#[test]
fn servers_come_from_srv_records_in_order_at_each_connection() {
    let s = servers();
    let c = Client::new(&s, "srv1");
    let to = s.add_user("srv1-to", "x");
    let p = s.ports;
    let dead = closed_port();
    let relay = Relay::new(p.smtps);
    // Implicit TLS before STARTTLS whatever the priorities; within a
    // service by priority: the dead port, then the relay, then smtps.
    let dns = Dns::start(&[
        format!("_submissions._tcp.localhost,localhost,{},20,0", p.smtps),
        format!("_submissions._tcp.localhost,localhost,{dead},1,0"),
        format!("_submissions._tcp.localhost,localhost,{},10,0", relay.port),
        format!("_submission._tcp.localhost,localhost,{},0,0", p.submission),
        // IMAPS declined (target "."), so IMAP with STARTTLS.
        "_imaps._tcp.localhost".to_string(),
        format!("_imap._tcp.localhost,localhost,{},0,0", p.imap),
    ]);
    add_domain_account(&c, &s, "dns", &[]);
    let config = std::fs::read_to_string(c.keystore().join("config.toml")).unwrap();
    assert!(
        config.contains("domain = \"localhost\"") && config.contains("smtp = \"srv\""),
        "resolved at connection time, not stored: {config}"
    );
    let listing = String::from_utf8(output(c.cmd().args(["account", "list"])).stdout).unwrap();
    assert!(listing.contains("DNS SRV of localhost"), "{listing}");

    let out = submit(&c, &dns, "dns", &to, "srv-first");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        dns.log()
    );
    let v = crate::json_document::document(&out.stdout, "submit");
    assert_eq!(
        v["sent"][0]["server"],
        format!("smtps://localhost:{}", relay.port)
    );
    s.wait_for_markers(&to, &["srv-first".to_string()]);

    // Fetch over what DNS names for IMAP: STARTTLS on the imap port.
    s.inject(&c.addr, b"Subject: in\r\n\r\nfound by SRV\r\n");
    assert_eq!(fetch_new(&c, &dns), 1);

    // The records change: the next run follows them (looked up again).
    drop(dns);
    let dns = Dns::start(&[format!(
        "_submissions._tcp.localhost,localhost,{},0,0",
        p.smtps
    )]);
    let out = submit(&c, &dns, "dns", &to, "srv-second");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::json_document::document(&out.stdout, "submit");
    assert_eq!(
        v["sent"][0]["server"],
        format!("smtps://localhost:{}", p.smtps)
    );
    s.wait_for_markers(&to, &["srv-second".to_string()]);
}

#[test]
fn a_truncated_answer_is_asked_again_over_tcp() {
    let s = servers();
    let c = Client::new(&s, "srv2");
    let dead = closed_port();
    // 40 records do not fit in a 512-byte UDP answer; only the last works.
    let mut records: Vec<String> = (1..40)
        .map(|prio| format!("_pop3s._tcp.localhost,localhost,{dead},{prio},0"))
        .collect();
    records.push(format!(
        "_pop3s._tcp.localhost,localhost,{},100,0",
        s.ports.pop3s
    ));
    let dns = Dns::start(&records);
    let resolver = sealpost::mail::srv::Resolver {
        servers: vec![([127, 0, 0, 1], dns.port).into()],
        timeout: std::time::Duration::from_secs(2),
    };
    match sealpost::mail::srv::Lookup::srv(&resolver, "_pop3s._tcp.localhost").unwrap() {
        sealpost::mail::srv::Answer::Records(r) => assert_eq!(r.len(), 40),
        other => panic!("{other:?}"),
    }
    add_domain_account(
        &c,
        &s,
        "dns",
        &["--smtp", "smtps://127.0.0.1:1", "--pop3", "srv"],
    );
    s.inject(&c.addr, b"Subject: pop\r\n\r\nover POP3 found by SRV\r\n");
    assert_eq!(fetch_new(&c, &dns), 1);
}

#[test]
fn discovery_failures_name_the_domain_and_keep_mail_queued() {
    let s = servers();
    let c = Client::new(&s, "srv3");
    let to = s.add_user("srv3-to", "x");
    let dns = Dns::start(&[
        // Submission: a host outside the domain only.
        format!(
            "_submissions._tcp.localhost,mail.example.net,{},0,0",
            s.ports.smtps
        ),
        // IMAP: nothing at all.
    ]);
    add_domain_account(&c, &s, "dns", &[]);
    let out = submit(&c, &dns, "dns", &to, "never-sent");
    // With --json: the document says what stays queued, then the error.
    let queued = crate::json_document::document(&out.stdout, "submit");
    assert_eq!(queued["queued"].as_array().unwrap().len(), 1, "{queued}");
    crate::json_document::error(&out, 69);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("mail.example.net") && err.contains("outside localhost"),
        "{err}"
    );
    assert!(err.contains("hint:") && err.contains("--smtp"), "{err}");
    let out = output(
        c.cmd()
            .env("SEALPOST_DNS_SERVER", dns.address())
            .args(["fetch"]),
    );
    let err = assert_failure(&out, 69);
    assert!(
        err.contains("_imaps._tcp.localhost") && err.contains("_imap._tcp.localhost"),
        "{err}"
    );
    // A DNS server that never answers: a temporary failure, and the
    // envelope stays queued with the reason.
    let dead_dns = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let out = output(
        c.cmd()
            .env(
                "SEALPOST_DNS_SERVER",
                dead_dns.local_addr().unwrap().to_string(),
            )
            .args(["outbox", "flush", "--timeout", "1"]),
    );
    let err = assert_failure(&out, 75);
    assert!(err.contains("_submissions._tcp.localhost"), "{err}");
    assert!(s.delivered(&to).is_empty());
    let out = output(c.cmd().args(["--json", "outbox", "list"]));
    let v = crate::json_document::document(&out.stdout, "outbox list");
    assert_eq!(v["entries"].as_array().unwrap().len(), 1, "{v}");
    assert!(
        v["entries"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("_submissions._tcp.localhost"),
        "{v}"
    );
}
