//! Fetch runs against an in-memory server: interrupted runs, UIDVALIDITY
//! changes and renumbering, deletion, `--exec`, file names and the lock.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::journal::JOURNAL;
use super::locking::LOCK;
use super::{
    file_name, lock, sync, Journal, Listing, Remote, RemoteMessage, DEFAULT_MAX_MESSAGE_SIZE,
};
use crate::error::{fail, Exit};
use crate::mail::maildir::Maildir;

const MAX: u64 = DEFAULT_MAX_MESSAGE_SIZE;

/// An in-memory server.
struct Fake {
    validity: Option<u32>,
    messages: Vec<(String, Vec<u8>)>,
    fail_fetch_after: Option<usize>,
    fetched: usize,
    deleted: Vec<String>,
    commit_delete: bool,
}

impl Remote for Fake {
    fn list(&mut self) -> anyhow::Result<Listing> {
        Ok(Listing {
            validity: self.validity,
            messages: self
                .messages
                .iter()
                .map(|(k, d)| RemoteMessage {
                    key: k.clone(),
                    size: d.len() as u64,
                })
                .collect(),
        })
    }
    fn fetch(&mut self, key: &str, out: &mut dyn Write, max: u64) -> anyhow::Result<()> {
        if Some(self.fetched) == self.fail_fetch_after {
            return Err(fail(Exit::TempFail, "connection lost"));
        }
        self.fetched += 1;
        let data = &self.messages.iter().find(|(k, _)| k == key).unwrap().1;
        if data.len() as u64 > max {
            return Err(fail(Exit::DataErr, "too large"));
        }
        out.write_all(data)?;
        Ok(())
    }
    fn delete(&mut self, keys: &[String]) -> anyhow::Result<()> {
        if !self.commit_delete {
            return Err(fail(Exit::TempFail, "connection lost before QUIT"));
        }
        self.deleted.extend(keys.iter().cloned());
        self.messages.retain(|(k, _)| !keys.contains(k));
        Ok(())
    }
    fn finish(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

fn server(validity: Option<u32>, n: usize) -> Fake {
    Fake {
        validity,
        messages: (1..=n)
            .map(|i| {
                (
                    i.to_string(),
                    format!("Subject: {i}\r\n\r\nbody {i}\r\n").into_bytes(),
                )
            })
            .collect(),
        fail_fetch_after: None,
        fetched: 0,
        deleted: Vec::new(),
        commit_delete: true,
    }
}

fn count(md: &Path) -> usize {
    fs::read_dir(md.join("new")).unwrap().count() + fs::read_dir(md.join("cur")).unwrap().count()
}

#[test]
fn interrupted_runs_resume_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("md");
    let mut s = server(Some(7), 5);
    s.fail_fetch_after = Some(2);
    assert!(sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).is_err());
    assert_eq!(count(&md), 2);
    // Simulate a kill after the rename but before the journal line: remove it.
    let journal = fs::read_to_string(md.join(JOURNAL)).unwrap();
    let trimmed: Vec<&str> = journal
        .lines()
        .filter(|l| !l.contains("\"k\":\"2\""))
        .collect();
    fs::write(
        md.join(JOURNAL),
        trimmed.join("\n") + "\n{\"t\":\"got\",\"k\"",
    )
    .unwrap();
    s.fail_fetch_after = None;
    let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
    assert_eq!((sum.new, sum.already_local), (3, 1));
    assert_eq!(count(&md), 5);
    let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
    assert_eq!((sum.new, sum.already_local), (0, 0));
}

#[test]
fn uidvalidity_change_resyncs_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("md");
    let mut s = server(Some(1), 3);
    sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
    // The server renumbers everything and gets one new message.
    s.validity = Some(2);
    for (k, _) in s.messages.iter_mut() {
        *k = format!("{}", k.parse::<u32>().unwrap() + 100);
    }
    s.messages
        .push(("200".into(), b"Subject: new\r\n\r\nnew\r\n".to_vec()));
    let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
    assert!(sum.resynced);
    assert_eq!((sum.new, sum.already_local), (1, 3));
    assert_eq!(count(&md), 4);
    // The old hashes survive compaction.
    s.validity = Some(3);
    let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
    assert_eq!((sum.new, sum.already_local), (0, 4));
}

/// Regression (seen with Dovecot whose UID list was lost while a process
/// held the mailbox): UIDs renumbered *without* a new UIDVALIDITY, then a
/// real UIDVALIDITY change; no message may be fetched twice.
#[test]
fn renumbering_without_new_uidvalidity_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("md");
    let mut s = server(Some(1), 2);
    sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
    for (k, _) in s.messages.iter_mut() {
        *k = format!("{}", k.parse::<u32>().unwrap() + 10);
    }
    s.messages
        .push(("13".into(), b"Subject: 3\r\n\r\nthree\r\n".to_vec()));
    let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
    assert_eq!((sum.new, sum.already_local), (1, 2));
    s.validity = Some(2);
    for (k, _) in s.messages.iter_mut() {
        *k = format!("{}", k.parse::<u32>().unwrap() + 10);
    }
    s.messages
        .push(("30".into(), b"Subject: 4\r\n\r\nfour\r\n".to_vec()));
    let sum = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap();
    assert!(sum.resynced);
    assert_eq!((sum.new, sum.already_local), (1, 3));
    assert_eq!(count(&md), 4);
}

#[test]
fn delete_only_what_is_local_and_finish_after_a_drop() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("md");
    let mut s = server(None, 3);
    s.commit_delete = false;
    assert!(sync("a", &mut s, &md, true, None, MAX, &mut |_, _| {}).is_err());
    assert_eq!(count(&md), 3);
    assert_eq!(s.messages.len(), 3, "nothing deleted before the commit");
    s.commit_delete = true;
    s.messages
        .push(("4".into(), b"Subject: 4\r\n\r\nfour\r\n".to_vec()));
    s.fail_fetch_after = Some(s.fetched);
    // Message 4 cannot be fetched: the run fails before deleting anything.
    assert!(sync("a", &mut s, &md, true, None, MAX, &mut |_, _| {}).is_err());
    assert_eq!(s.messages.len(), 4);
    s.fail_fetch_after = None;
    let sum = sync("a", &mut s, &md, true, None, MAX, &mut |_, _| {}).unwrap();
    assert_eq!((sum.new, sum.deleted, sum.on_server), (1, 4, 0));
    assert!(s.messages.is_empty());
    assert_eq!(count(&md), 4);
    assert!(Journal::open(&md).unwrap().state.fetched.is_empty());
}

fn contents(md: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<_> = fs::read_dir(md.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names.into_iter().map(|p| fs::read(p).unwrap()).collect()
}

#[test]
fn exec_output_is_stored_and_a_failure_keeps_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("md");
    let mut s = server(Some(1), 2);
    let sum = sync(
        "a",
        &mut s,
        &md,
        false,
        Some("tr a-z A-Z"),
        MAX,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(sum.new, 2);
    assert!(sum.exec_failed.is_empty());
    assert_eq!(contents(&md)[0], b"SUBJECT: 1\r\n\r\nBODY 1\r\n");
    s.messages
        .push(("3".into(), b"Subject: 3\r\n\r\nthree\r\n".to_vec()));
    let sum = sync(
        "a",
        &mut s,
        &md,
        false,
        Some("cat >/dev/null; exit 3"),
        MAX,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(sum.new, 1);
    assert_eq!(sum.exec_failed.len(), 1);
    assert_eq!(sum.exec_failed[0].file, "sealpost.a.i1.3");
    assert!(
        sum.exec_failed[0].reason.contains("exit status: 3"),
        "{:?}",
        sum.exec_failed
    );
    assert_eq!(contents(&md)[2], b"Subject: 3\r\n\r\nthree\r\n");
    // No output counts as a failure too: nothing is stored empty.
    s.messages
        .push(("4".into(), b"Subject: 4\r\n\r\n4\r\n".to_vec()));
    let sum = sync("a", &mut s, &md, false, Some("true"), MAX, &mut |_, _| {}).unwrap();
    assert_eq!(sum.exec_failed.len(), 1);
    assert_eq!(contents(&md)[3], b"Subject: 4\r\n\r\n4\r\n");
}

#[test]
fn file_names_are_stable_and_safe() {
    assert_eq!(file_name("work", Some(5), "17"), "sealpost.work.i5.17");
    assert_eq!(file_name("a.b", None, "x/y:z"), "sealpost.a_b.p.782f793a7a");
}

/// Issue 11 item 5: a link planted at the journal or the lock file was
/// followed (a dangling one created its target).
#[test]
fn one_fetch_per_maildir_and_the_lock_ends_with_its_holder() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("md");
    Maildir::open(&md).unwrap();
    let held = lock(&md).unwrap();
    let err = lock(&md).err().expect("two fetches could interleave");
    assert_eq!(crate::error::classify(&err).0, Exit::TempFail);
    drop(held);
    lock(&md).expect("the lock outlived its holder");
}

#[test]
fn links_at_the_journal_and_the_lock_are_refused_and_not_followed() {
    for name in [JOURNAL, LOCK] {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("md");
        Maildir::open(&md).unwrap();
        let victim = dir.path().join("victim");
        std::os::unix::fs::symlink(&victim, md.join(name)).unwrap();
        let mut s = server(Some(1), 2);
        let err = sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).unwrap_err();
        assert_eq!(
            crate::error::classify(&err).0,
            Exit::NoPerm,
            "{name}: {err}"
        );
        assert!(!victim.exists(), "{name}: the link created its target");
        assert_eq!(count(&md), 0);
        // A link to an existing file: that file is neither read nor changed.
        fs::write(&victim, b"precious").unwrap();
        assert!(sync("a", &mut s, &md, false, None, MAX, &mut |_, _| {}).is_err());
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
    }
}
