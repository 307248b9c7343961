//! The outbox against a scripted transport: queueing, delivery outcomes,
//! the prepared record, retries, pruning and the lock.

use std::collections::VecDeque;
use std::fs;

use super::{parse_duration, Entry, Outbox, State};
use crate::error::Exit;
use crate::mail::smtp::{ConnectionLost, RcptReply, SendOutcome, Transport};
use crate::smime::bsmtp::Transaction;

/// A transport that answers from a script and records what was sent.
struct Fake {
    script: VecDeque<Result<SendOutcome, ConnectionLost>>,
    sent: Vec<(String, Vec<String>)>,
    quit: bool,
}

impl Transport for Fake {
    fn send(
        &mut self,
        from: &str,
        rcpt: &[String],
        _data: &[u8],
        before_data: &mut crate::mail::smtp::BeforeData<'_>,
    ) -> Result<SendOutcome, ConnectionLost> {
        self.sent.push((from.to_string(), rcpt.to_vec()));
        let mut r = self.script.pop_front().expect("unscripted send");
        if let Ok(SendOutcome::Accepted { rcpt: got, .. }) = &mut r {
            if got.is_empty() {
                *got = rcpt
                    .iter()
                    .map(|r| (r.clone(), RcptReply::Accepted))
                    .collect();
            }
        }
        // Like the real transport: the hook runs once a recipient is accepted.
        let replies = match &r {
            Ok(SendOutcome::Accepted { rcpt, .. }) | Ok(SendOutcome::NotAccepted { rcpt, .. }) => {
                rcpt.clone()
            }
            Err(_) => Vec::new(),
        };
        if replies.iter().any(|(_, x)| *x == RcptReply::Accepted) {
            before_data(&replies).map_err(ConnectionLost)?;
        }
        r
    }
    fn quit(&mut self) {
        self.quit = true;
    }
    fn server(&self) -> String {
        "smtps://fake:465".into()
    }
}

fn fake(script: Vec<Result<SendOutcome, ConnectionLost>>) -> Fake {
    Fake {
        script: script.into(),
        sent: Vec::new(),
        quit: false,
    }
}

fn ok() -> Result<SendOutcome, ConnectionLost> {
    Ok(SendOutcome::Accepted {
        rcpt: Vec::new(),
        reply: "250 2.0.0 Ok: queued".into(),
    })
}

fn tx(rcpt: &[&str]) -> Transaction {
    Transaction {
        mail_from: "alice@example.org".into(),
        rcpt_to: rcpt.iter().map(|s| s.to_string()).collect(),
        data: b"Subject: x\r\n\r\nhi\r\n".to_vec(),
    }
}

fn setup() -> (tempfile::TempDir, Outbox) {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("outbox")).unwrap();
    (dir, ob)
}

#[test]
fn accepted_entries_leave_the_queue_and_are_recorded() {
    let (_d, ob) = setup();
    let queued = ob
        .enqueue("a", &[tx(&["b@x.org"]), tx(&["c@x.org"])], 100)
        .unwrap();
    assert_eq!(ob.list().unwrap().len(), 2);
    let lock = ob.lock().unwrap();
    let mut t = fake(vec![ok(), ok()]);
    let mut seen = 0;
    let report = ob
        .deliver(&lock, &mut t, queued, 100, &mut |_| seen += 1)
        .unwrap();
    assert_eq!((report.sent.len(), report.queued.len(), seen), (2, 0, 2));
    assert!(t.quit);
    assert!(ob.list().unwrap().is_empty());
    let sent = ob.sent().unwrap();
    assert_eq!(sent[0].delivered, vec!["b@x.org"]);
    assert_eq!(fs::read_dir(ob.root().join("queue")).unwrap().count(), 0);
}

#[test]
fn partial_rcpt_sends_accepted_once_and_retries_only_deferred() {
    let (_d, ob) = setup();
    let queued = ob
        .enqueue("a", &[tx(&["ok@x.org", "no@x.org", "later@x.org"])], 100)
        .unwrap();
    let lock = ob.lock().unwrap();
    let mut t = fake(vec![Ok(SendOutcome::Accepted {
        rcpt: vec![
            ("ok@x.org".into(), RcptReply::Accepted),
            ("no@x.org".into(), RcptReply::Refused("550 no".into())),
            (
                "later@x.org".into(),
                RcptReply::Deferred("450 later".into()),
            ),
        ],
        reply: "250 ok".into(),
    })]);
    let report = ob.deliver(&lock, &mut t, queued, 100, &mut |_| {}).unwrap();
    assert_eq!(report.queued.len(), 1);
    assert_eq!(report.refusals().len(), 1);
    let e = &ob.list().unwrap()[0];
    assert_eq!(e.pending, vec!["later@x.org"]);
    assert_eq!(e.delivered, vec!["ok@x.org"]);
    assert_eq!(e.next_attempt, 160);
    assert_eq!(e.last_error.as_deref(), Some("450 later"));
    // Not due yet; then due, and only the deferred recipient is sent to.
    assert!(ob.due("a", 159, false).unwrap().is_empty());
    let due = ob.due("a", 160, false).unwrap();
    let mut t = fake(vec![ok()]);
    let report = ob.deliver(&lock, &mut t, due, 200, &mut |_| {}).unwrap();
    assert_eq!(t.sent[0].1, vec!["later@x.org"]);
    assert_eq!(report.sent.len(), 1);
    let rec = &ob.sent().unwrap()[0];
    assert_eq!(rec.delivered, vec!["ok@x.org", "later@x.org"]);
    assert_eq!(rec.refused[0].recipient, "no@x.org");
}

/// Three one-recipient entries queued at time 100.
fn three(ob: &Outbox) -> Vec<Entry> {
    let txs = [tx(&["b@x.org"]), tx(&["c@x.org"]), tx(&["d@x.org"])];
    ob.enqueue("a", &txs, 100).unwrap()
}

#[test]
fn lost_connection_keeps_everything_queued() {
    let (_d, ob) = setup();
    let queued = three(&ob);
    let lock = ob.lock().unwrap();
    let mut t = fake(vec![ok(), Err(ConnectionLost("reset".into()))]);
    let report = ob.deliver(&lock, &mut t, queued, 100, &mut |_| {}).unwrap();
    assert_eq!((report.sent.len(), report.queued.len()), (1, 2));
    assert!(!t.quit);
    let left = ob.list().unwrap();
    assert_eq!(left.len(), 2);
    assert_eq!(left[0].attempts, 1);
    assert!(left[1].last_error.as_deref().unwrap().contains("not tried"));
    // A second process cannot send while the lock is held.
    assert_eq!(
        crate::error::classify(&ob.lock().err().unwrap()).0,
        Exit::TempFail
    );
}

#[test]
fn permanent_refusal_moves_aside_and_drop_removes() {
    let (_d, ob) = setup();
    let queued = ob
        .enqueue("a", &[tx(&["b@x.org"]), tx(&["c@x.org"])], 100)
        .unwrap();
    let lock = ob.lock().unwrap();
    let mut t = fake(vec![
        Ok(SendOutcome::NotAccepted {
            rcpt: vec![("b@x.org".into(), RcptReply::Accepted)],
            reply: "DATA: 554 no".into(),
            permanent: true,
        }),
        Ok(SendOutcome::NotAccepted {
            rcpt: vec![],
            reply: "MAIL FROM: 421 busy".into(),
            permanent: false,
        }),
    ]);
    let report = ob.deliver(&lock, &mut t, queued, 100, &mut |_| {}).unwrap();
    assert_eq!((report.failed.len(), report.queued.len()), (1, 1));
    let all = ob.list().unwrap();
    assert_eq!(all[0].state, State::Failed);
    assert_eq!(all[0].refused[0].reply, "DATA: 554 no");
    assert_eq!(ob.message(&all[0]).unwrap(), tx(&[]).data);
    assert_eq!(all[1].pending, vec!["c@x.org"]);
    // The record prepared for the refused DATA was removed.
    for dir in ["queue", "sent", "failed"] {
        for e in fs::read_dir(ob.root().join(dir)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.ends_with(".prepared"), "{name}");
        }
    }
    ob.drop_entry(&all[0].id).unwrap();
    assert!(ob.drop_entry(&all[0].id).is_err());
    assert_eq!(ob.list().unwrap().len(), 1);
}

#[test]
fn prune_removes_old_records_but_never_one_still_queued() {
    let (_d, ob) = setup();
    let queued = three(&ob);
    let lock = ob.lock().unwrap();
    let mut t = fake(vec![ok(), ok()]);
    let report = ob
        .deliver(&lock, &mut t, queued[..2].to_vec(), 1000, &mut |_| {})
        .unwrap();
    assert_eq!(report.sent[0].sent_at, Some(1000));
    // A third entry recorded as sent whose queue files a killed process
    // left behind: its record is what keeps it from going out again.
    let mut left = queued[2].clone();
    left.state = State::Sent;
    left.sent_at = Some(500);
    ob.write_state(&left).unwrap();
    assert!(ob.path(State::Queued, &left.id, "msg").exists());
    // Too young: nothing goes.
    assert!(ob.prune(&lock, 1000 + 99, 100).unwrap().is_empty());
    let pruned = ob.prune(&lock, 1000 + 100, 100).unwrap();
    assert_eq!(pruned, vec![queued[0].id.clone(), queued[1].id.clone()]);
    assert_eq!(ob.sent().unwrap().len(), 1);
    // Once list() has cleaned its queue files, it may go too.
    assert!(ob.list().unwrap().is_empty());
    assert_eq!(ob.prune(&lock, 1100, 100).unwrap(), vec![left.id.clone()]);
    assert!(ob.sent().unwrap().is_empty());
    assert!(ob.list().unwrap().is_empty(), "nothing to send again");
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("30d").unwrap(), 30 * 86400);
    assert_eq!(parse_duration(" 12h").unwrap(), 43200);
    assert_eq!(parse_duration("2w").unwrap(), 14 * 86400);
    assert_eq!(parse_duration("0").unwrap(), 0);
    for bad in ["", "d", "10", "-1d", "1.5d", "3y", "99999999999999999w"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn killed_between_record_and_removal_counts_as_sent() {
    let (_d, ob) = setup();
    let mut e = ob.enqueue("a", &[tx(&["b@x.org"])], 100).unwrap().remove(0);
    e.state = State::Sent;
    ob.write_state(&e).unwrap();
    assert!(ob.list().unwrap().is_empty());
    assert!(!ob.path(State::Queued, &e.id, "json").exists());
}

/// Issue 11 item 5: the prepared record has a predictable name (the
/// entry's id), and was written with create-and-truncate through a link.
#[test]
fn a_link_at_the_prepared_record_is_not_written_through() {
    let (d, ob) = setup();
    let queued = ob.enqueue("a", &[tx(&["b@x.org"])], 100).unwrap();
    let lock = ob.lock().unwrap();
    let victim = d.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    let prepared = ob
        .root()
        .join("sent")
        .join(format!(".{}.json.prepared", queued[0].id));
    std::os::unix::fs::symlink(&victim, &prepared).unwrap();
    let mut t = fake(vec![ok()]);
    let report = ob.deliver(&lock, &mut t, queued, 100, &mut |_| {}).unwrap();
    assert_eq!(report.sent.len(), 1);
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert_eq!(ob.sent().unwrap().len(), 1);
    assert!(!prepared.exists());
}

#[test]
fn one_sender_at_a_time_and_the_lock_ends_with_its_holder() {
    let (_d, ob) = setup();
    let held = ob.lock().unwrap();
    let err = ob.lock().err().expect("two processes could send at once");
    assert_eq!(crate::error::classify(&err).0, Exit::TempFail);
    drop(held);
    ob.lock().expect("the lock outlived its holder");
}

#[test]
fn a_link_at_the_lock_is_refused_and_not_followed() {
    let (d, ob) = setup();
    let victim = d.path().join("victim");
    std::os::unix::fs::symlink(&victim, ob.root().join(".lock")).unwrap();
    let err = ob.lock().err().expect("a planted lock link was followed");
    assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
    assert!(!victim.exists(), "the lock link created its target");
}

#[test]
fn an_outbox_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, ob) = setup();
    for sub in ["", "queue", "sent", "failed"] {
        let dir = ob.root().join(sub);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
        let err = Outbox::open(ob.root()).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm, "{sub}");
        assert!(err.to_string().contains("outbox"), "{err}");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    }
    Outbox::open(ob.root()).unwrap();
}
