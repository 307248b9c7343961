//! sealpost in a pipeline: a reader that stops early (`| head`) ends the
//! command the way it ends `cat`, by SIGPIPE, with nothing on stderr.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// A pipe whose reading end is already closed: every write to it fails.
fn pipe_without_reader() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: two ints for pipe(2) to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned here.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    write
}

#[test]
fn a_closed_stdout_ends_the_command_by_sigpipe_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealpost"))
        .env("SEALPOST_KEYSTORE", dir.path().join("keystore"))
        .args([
            "compose",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
        ])
        .args(["--subject", "pipeline"])
        .stdin(Stdio::piped())
        .stdout(Stdio::from(pipe_without_reader()))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"a body\n").unwrap();
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGPIPE),
        "expected death by SIGPIPE, got {status}; stderr: {stderr}"
    );
    assert_eq!(stderr, "", "nothing on stderr when the reader went away");
}
