//! `kill -9` under load, then a restart on the same store, a few times:
//! the server serves again with its groups and members, every release a
//! client received has its durable `released` row (the row is committed
//! before the answer is sent), and every nonce consumed before a kill is
//! still refused as a replay.

use std::sync::mpsc;
use std::time::Duration;

use sealpost::group::release::client::Answer;
use sealpost::group::release::protocol::{RefusalCode, ReleaseRequest};
use sealpost::smime::envelope::KeyTransport;

use super::harness::{assert_granted, assert_refused, member, now, request, seal, List, LIST};

const KILLS: usize = 3;
const CLIENTS: usize = 6;
/// Releases answered in a round before the kill.
const BEFORE_KILL: usize = 24;
const SERVE: &[&str] = &["--rate-limit", "100000/s", "--burst", "100000"];

#[test]
fn kill_9_under_load_loses_no_audited_release_and_no_nonce() {
    let mut l = List::start(SERVE);
    let (bob, carol) = (member("bob"), member("carol"));
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    let cert_before = l.op.run(&["group", "cert", LIST]);
    let client = l.op.client();
    let mut answered: Vec<ReleaseRequest> = Vec::new();

    for round in 1..=KILLS {
        let url: sealpost::group::release::client::ServerUrl = l.server.url().parse().unwrap();
        let (tx, rx) = mpsc::channel();
        let threads: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (client, url, tx) = (client.clone(), url.clone(), tx.clone());
                let m = member(["bob", "carol"][c % 2]);
                let (entry, hash) = (sealed.entry.clone(), sealed.key_hash());
                std::thread::spawn(move || {
                    // Releases until the server dies under us.
                    let Ok(mut conn) = client.connect(&url) else {
                        return;
                    };
                    loop {
                        let req = request(&m, LIST, &entry, now());
                        match conn.release(&req) {
                            Ok(Answer::Granted(grant)) => {
                                assert_eq!(grant.key_hash, hash);
                                let _ = tx.send(req);
                            }
                            Ok(refused) => panic!("refused under load: {refused:?}"),
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut got: Vec<ReleaseRequest> = (0..BEFORE_KILL)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(30))
                    .expect("no releases")
            })
            .collect();
        l.server.kill();
        for t in threads {
            // Each client was still sending: it ends on the broken connection.
            t.join().expect("a client failed");
        }
        got.extend(rx.try_iter());
        answered.extend(got);

        l.server = l.op.serve(SERVE);
        assert_eq!(
            l.op.members(LIST),
            [bob.address.clone(), carol.address.clone()]
        );
        assert_eq!(l.op.run(&["group", "cert", LIST]), cert_before);
        let mut conn = l.connect();
        let answer = conn
            .release(&request(&bob, LIST, &sealed.entry, now()))
            .unwrap();
        assert_granted(&answer, &bob, &sealed);

        let rows = l.op.audit(LIST);
        for req in &answered {
            let nonce = hex::encode(req.nonce);
            let row = rows.iter().find(|r| r["nonce"] == nonce.as_str());
            let row = row.unwrap_or_else(|| panic!("round {round}: a release has no audit row"));
            assert_eq!(row["outcome"], "released");
            assert_eq!(row["key_hash"], sealed.key_hash());
        }
        for req in &answered {
            assert_refused(&conn.release(req).unwrap(), RefusalCode::Replay);
        }
    }
    eprintln!(
        "crash: killed the server {KILLS} times under load; {} releases answered before \
         the kills, each audited and refused as a replay after the restart",
        answered.len()
    );
}
