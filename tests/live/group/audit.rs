//! The audit log after a scripted sequence: one row per request, in order,
//! with the outcome, the member, the key hash and the nonce of each, and no
//! key material in the log, in the store files or in the server's -v lines.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sealpost::group::release::client::Answer;
use sealpost::group::release::protocol::{key_hash, ReleaseRequest};
use sealpost::smime::envelope::KeyTransport;

use super::harness::{entry_with_key, member, now, request, seal, signed_by, List, Member, LIST};

/// One request of the script and what its audit row must say.
struct Expected<'a> {
    req: ReleaseRequest,
    who: &'a Member,
    outcome: &'a str,
    /// Whether the row names the member (only once membership was checked).
    named: bool,
    /// Whether there is a row: only for a known certificate whose
    /// signature verified (issue 11: nothing is stored for the others).
    audited: bool,
}

#[test]
fn one_row_per_request_with_its_outcome_and_no_key_material() {
    let mut l = List::start(&["-v"]);
    let (bob, carol, dave) = (member("bob"), member("carol"), member("dave"));
    let a = seal(&l.cert, KeyTransport::RsaPkcs1v15);
    let b = seal(&l.cert, KeyTransport::RsaOaepSha256);
    let garbage = entry_with_key(&l.cert, KeyTransport::RsaPkcs1v15, vec![0x42; 256]);
    let for_bob = seal(&bob.cert, KeyTransport::RsaOaepSha256).entry;
    let first = request(&bob, LIST, &a.entry, now());
    let step = |req, who, outcome, named| Expected {
        req,
        who,
        outcome,
        named,
        audited: true,
    };
    let unaudited = |req, who, outcome| Expected {
        req,
        who,
        outcome,
        named: false,
        audited: false,
    };
    let script = [
        step(first.clone(), &bob, "released", true),
        step(
            request(&carol, LIST, &b.entry, now()),
            &carol,
            "released",
            true,
        ),
        unaudited(request(&dave, LIST, &a.entry, now()), &dave, "not_member"),
        unaudited(
            signed_by(request(&bob, LIST, &b.entry, now()), &dave.key),
            &bob,
            "bad_signature",
        ),
        step(first, &bob, "replay", true),
        step(
            request(&bob, LIST, &a.entry, now() - 900),
            &bob,
            "stale",
            true,
        ),
        // Membership is checked before the entry since issue 11.
        step(
            request(&bob, LIST, &for_bob, now()),
            &bob,
            "wrong_group",
            true,
        ),
        step(
            request(&bob, LIST, &garbage, now()),
            &bob,
            "unwrap_failed",
            true,
        ),
        step(
            request(&carol, LIST, &a.entry, now()),
            &carol,
            "released",
            true,
        ),
    ];
    let started = now() as i64;
    let mut conn = l.connect();
    let mut granted = Vec::new();
    for e in &script {
        match conn.release(&e.req).unwrap() {
            Answer::Granted(g) => {
                assert_eq!(e.outcome, "released");
                granted.push(g.recipient_info);
            }
            Answer::Refused { code, .. } => {
                assert_eq!(code.map(|c| c.as_str()), Some(e.outcome))
            }
        }
    }
    // Requests that name no group of the list are not in its log.
    conn.release(&request(&bob, "nosuch", &a.entry, now()))
        .unwrap();
    let ended = now() as i64;

    let rows = l.op.audit(LIST);
    let audited: Vec<_> = script.iter().filter(|e| e.audited).collect();
    assert_eq!(rows.len(), audited.len(), "{rows:#?}");
    let mut last_id = 0;
    for (row, e) in rows.iter().zip(audited) {
        let fields: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "fingerprint",
                "group",
                "id",
                "key_hash",
                "member",
                "nonce",
                "op",
                "outcome",
                "remote",
                "time"
            ]
        );
        assert_eq!(row["outcome"], e.outcome);
        assert_eq!(row["op"], "release");
        assert_eq!(row["group"], LIST);
        assert_eq!(row["fingerprint"], e.who.fingerprint());
        let named = e.named.then_some(e.who.address.as_str());
        assert_eq!(row["member"].as_str(), named, "{row}");
        assert_eq!(row["key_hash"], key_hash(&e.req.recipient_info));
        assert_eq!(row["nonce"], hex::encode(e.req.nonce));
        assert!(row["remote"].as_str().unwrap().starts_with("127.0.0.1:"));
        let id = row["id"].as_i64().unwrap();
        assert!(id > last_id);
        last_id = id;
        // RFC 3339 UTC ("2026-12-05T15:22:43Z") sorts as it reads.
        let time = row["time"].as_str().unwrap();
        assert!(
            *time >= *rfc3339(started) && *time <= *rfc3339(ended),
            "{row}"
        );
    }

    // No key material anywhere: neither the content keys (raw, hex, base64)
    // nor the encrypted keys the server granted.
    let audit_text = l.op.run(&["group", "audit", LIST, "--json"]);
    let plain_text = l.op.run(&["group", "audit", LIST]);
    let log = l.server.stop();
    assert_eq!(
        log.iter().filter(|line| line.contains("refused")).count(),
        7,
        "{log:#?}"
    );
    let log = log.join("\n").into_bytes();
    let store = l.op.store_files();
    let mut secrets = Vec::new();
    for key in [&a.content_key, &b.content_key] {
        secrets.push(key.clone());
        secrets.push(hex::encode(key).into_bytes());
        secrets.push(hex::encode_upper(key).into_bytes());
        secrets.push(B64.encode(key).into_bytes());
    }
    for g in &granted {
        let tail = &g[g.len() - 64..]; // inside the encrypted key
        secrets.push(tail.to_vec());
        secrets.push(hex::encode(tail).into_bytes());
    }
    for (place, haystack) in [
        ("audit --json", &audit_text),
        ("audit", &plain_text),
        ("server log", &log),
        ("store", &store),
    ] {
        assert!(!haystack.is_empty(), "{place} is empty");
        for secret in &secrets {
            let found = haystack.windows(secret.len()).any(|w| w == &secret[..]);
            assert!(!found, "key material in the {place}");
        }
    }
}

/// Issue 11: `group audit --prune AGE` deletes the rows older than AGE.
#[test]
fn old_rows_are_pruned() {
    let l = List::start(&[]);
    let bob = member("bob");
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    for _ in 0..3 {
        l.release(&request(&bob, LIST, &sealed.entry, now()));
    }
    assert_eq!(l.op.audit(LIST).len(), 3);
    let kept =
        l.op.run_json("group audit", &["group", "audit", "--prune", "1d"]);
    assert_eq!(kept["pruned"]["deleted"], 0);
    assert!(kept["group"].is_null());
    assert_eq!(l.op.audit(LIST).len(), 3);
    let future = "2200-01-01T00:00:00Z";
    let gone =
        l.op.run_json("group audit", &["group", "audit", LIST, "--prune", future]);
    assert_eq!(gone["pruned"]["deleted"], 3);
    assert_eq!(gone["pruned"]["before"], future);
    assert!(l.op.audit(LIST).is_empty());
}

/// A Unix time as `--json` writes it.
fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}
