//! Prompting on the controlling terminal, through a real pseudo-terminal:
//! `cat msg.eml | sealpost decrypt` at an interactive shell asks for the
//! passphrase on the terminal, as age and sq do, while the message comes on
//! stdin.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{data, openssl_encrypt, Env, PASSPHRASE};

/// A new pseudo-terminal: (master, slave).
fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: out-pointers to two ints; no name, termios or size requested.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned here.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

#[test]
fn decrypt_asks_on_the_terminal_while_the_message_comes_through_a_pipe() {
    let env = Env::new();
    env.import_identity("bob");
    let content = env.path("c.txt");
    std::fs::write(
        &content,
        "Content-Type: text/plain\r\n\r\nover the pipe\r\n",
    )
    .unwrap();
    let enc = env.path("m.eml");
    openssl_encrypt(&content, &data("bob.cert.pem"), &enc);

    let (master, slave) = openpty();
    let slave_fd = slave.as_raw_fd();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("sealpost"));
    cmd.env("SEALPOST_KEYSTORE", env.keystore())
        .env_remove("SEALPOST_PASSPHRASE")
        .arg("decrypt")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The child gets the pty as its controlling terminal, nothing else of it:
    // stdin, stdout and stderr stay pipes, as in `cat m.eml | sealpost decrypt`.
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() == -1 || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(slave);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&enc).unwrap())
        .unwrap();

    // Read what the terminal shows, until the prompt.
    let mut terminal = File::from(master);
    let mut reader = terminal.try_clone().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut shown = Vec::new();
    while !String::from_utf8_lossy(&shown).contains("passphrase") {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(bytes) => shown.extend(bytes),
            Err(_) => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "no passphrase prompt on the terminal; terminal: {:?}; stderr: {}",
                    String::from_utf8_lossy(&shown),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    terminal
        .write_all(format!("{PASSPHRASE}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "status {}; stderr: {stderr}",
        out.status
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("over the pipe"),
        "stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The passphrase went to the terminal, never to the output.
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PASSPHRASE));
    assert!(!stderr.contains(PASSPHRASE));
}

/// Runs `sealpost ARGS` with the pty as stdin (and controlling terminal),
/// stdout and stderr pipes; waits for `expect` on stderr, then ends the
/// input with Ctrl-D. Returns the output.
fn with_terminal_stdin(env: &Env, args: &[&str], expect: &str) -> std::process::Output {
    let (master, slave) = openpty();
    let slave_fd = slave.as_raw_fd();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("sealpost"));
    cmd.env("SEALPOST_KEYSTORE", env.keystore())
        .env_remove("SEALPOST_PASSPHRASE")
        .args(args)
        .stdin(Stdio::from(File::from(slave.try_clone().unwrap())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() == -1 || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(slave);
    // The notice comes on stderr before sealpost blocks reading the terminal.
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut shown = Vec::new();
    while !String::from_utf8_lossy(&shown).contains(expect) {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(bytes) => shown.extend(bytes),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "{args:?}: no {expect:?} on stderr: {:?}",
                    String::from_utf8_lossy(&shown)
                );
            }
        }
    }
    // Ctrl-D at the start of a line: end of input in canonical mode.
    let mut terminal = File::from(master);
    terminal.write_all(b"\x04").unwrap();
    let mut out = child.wait_with_output().unwrap();
    while let Ok(bytes) = rx.recv_timeout(Duration::from_secs(5)) {
        shown.extend(bytes);
    }
    out.stderr = shown;
    out
}

#[test]
fn reading_a_message_from_the_terminal_says_how_to_end_it() {
    let env = Env::new();
    env.import_identity("bob");
    for args in [&["decrypt"][..], &["encrypt"], &["inspect"]] {
        let out = with_terminal_stdin(&env, args, "Ctrl-D");
        // Empty input then fails cleanly, as it would from a pipe.
        assert_eq!(out.status.code(), Some(65), "{args:?}: {out:?}");
    }
}
