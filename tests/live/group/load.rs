//! Many concurrent members over keep-alive connections: every request is
//! answered, every grant opens to the right content key, and the audit log
//! has exactly one row per request.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use sealpost::smime::envelope::KeyTransport;

use super::harness::{assert_granted, member, now, request, seal, List, LIST, UNLIMITED};

const CLIENTS: usize = 32;
const PER_CLIENT: usize = 10;
const MESSAGES: usize = 8;

#[test]
fn concurrent_keep_alive_clients_get_only_correct_releases() {
    // 32 clients on one address: lift the per-address limits too.
    let l = List::start(UNLIMITED);
    let names = ["bob", "carol", "erin", "frank"];
    for name in &names[2..] {
        l.op.add_member(LIST, &member(name));
    }
    let members: Arc<Vec<_>> = Arc::new(names.iter().map(|n| member(n)).collect());
    let messages: Arc<Vec<_>> = Arc::new(
        (0..MESSAGES)
            .map(|i| {
                let transport = if i % 2 == 0 {
                    KeyTransport::RsaPkcs1v15
                } else {
                    KeyTransport::RsaOaepSha256
                };
                seal(&l.cert, transport)
            })
            .collect(),
    );
    let client = l.op.client();
    let url: sealpost::group::release::client::ServerUrl = l.server.url().parse().unwrap();
    let start = Arc::new(Barrier::new(CLIENTS + 1));

    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (members, messages) = (Arc::clone(&members), Arc::clone(&messages));
            let (client, url, start) = (client.clone(), url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                let m = &members[c % members.len()];
                let work: Vec<_> = (0..PER_CLIENT)
                    .map(|i| {
                        let sealed = &messages[(c + i) % MESSAGES];
                        (request(m, LIST, &sealed.entry, now()), sealed)
                    })
                    .collect();
                let mut conn = client.connect(&url).unwrap();
                start.wait();
                let answers: Vec<_> = work
                    .iter()
                    .map(|(req, _)| {
                        let answer = conn.release(req).unwrap();
                        assert!(conn.is_open(), "the server closed a keep-alive connection");
                        answer
                    })
                    .collect();
                let elapsed_at = Instant::now();
                for ((_, sealed), answer) in work.iter().zip(&answers) {
                    assert_granted(answer, m, sealed);
                }
                let nonces: Vec<_> = work.iter().map(|(req, _)| hex::encode(req.nonce)).collect();
                (nonces, elapsed_at)
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let mut sent = HashSet::new();
    let mut last = began;
    for t in threads {
        let (nonces, done) = t.join().expect("a client failed");
        sent.extend(nonces);
        last = last.max(done);
    }
    let elapsed = last - began;
    let total = CLIENTS * PER_CLIENT;
    eprintln!(
        "load: {total} releases by {CLIENTS} clients in {:.2}s ({:.0}/s)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    assert_eq!(sent.len(), total);

    let rows = l.op.audit(LIST);
    assert_eq!(rows.len(), total);
    assert!(rows.iter().all(|r| r["outcome"] == "released"));
    let audited: HashSet<String> = rows
        .iter()
        .map(|r| r["nonce"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(audited, sent);
}
