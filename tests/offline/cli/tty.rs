//! Prompting on the controlling terminal, through a real pseudo-terminal:
//! `cat msg.eml | sealpost decrypt` at an interactive shell asks for the
//! passphrase on the terminal, as age and sq do, while the message comes on
//! stdin; and a message typed at the terminal is announced with how to end it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
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

/// `sealpost ARGS` as `env`'s user, in a session of its own whose
/// controlling terminal is the pty `slave`; stdout and stderr are pipes.
fn on_terminal(env: &Env, args: &[&str], slave: &OwnedFd) -> Command {
    let slave_fd = slave.as_raw_fd();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("sealpost"));
    cmd.env("SEALPOST_KEYSTORE", env.keystore())
        .env_remove("SEALPOST_PASSPHRASE")
        .args(args)
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
    cmd
}

/// What `source` produces, chunk by chunk, read on a thread of its own.
fn chunks(mut source: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = source.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects `rx` into `shown` until it contains `expect`; kills `child`
/// and fails after 30 s without it.
fn wait_for(rx: &mpsc::Receiver<Vec<u8>>, shown: &mut Vec<u8>, expect: &str, child: &mut Child) {
    while !String::from_utf8_lossy(shown).contains(expect) {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(bytes) => shown.extend(bytes),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "no {expect:?} within 30 s; seen: {:?}",
                    String::from_utf8_lossy(shown)
                );
            }
        }
    }
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
    // The child gets the pty as its controlling terminal, nothing else of it:
    // stdin, stdout and stderr stay pipes, as in `cat m.eml | sealpost decrypt`.
    let mut child = on_terminal(&env, &["decrypt"], &slave)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    drop(slave);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&enc).unwrap())
        .unwrap();

    // Read what the terminal shows, until the prompt.
    let mut terminal = File::from(master);
    let rx = chunks(terminal.try_clone().unwrap());
    wait_for(&rx, &mut Vec::new(), "passphrase", &mut child);
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

/// Runs `sealpost ARGS` with the pty as stdin (and controlling terminal);
/// waits for `expect` on stderr, then ends the input with Ctrl-D. Returns
/// the output, stderr whole.
fn with_terminal_stdin(env: &Env, args: &[&str], expect: &str) -> std::process::Output {
    let (master, slave) = openpty();
    let mut child = on_terminal(env, args, &slave)
        .stdin(Stdio::from(File::from(slave.try_clone().unwrap())))
        .spawn()
        .unwrap();
    drop(slave);
    // The notice comes on stderr before sealpost blocks reading the terminal.
    let rx = chunks(child.stderr.take().unwrap());
    let mut shown = Vec::new();
    wait_for(&rx, &mut shown, expect, &mut child);
    // Ctrl-D at the start of a line: end of input in canonical mode. The
    // terminal stays open until the child is done: closing it would hang up.
    let mut terminal = File::from(master);
    terminal.write_all(b"\x04").unwrap();
    let mut out = child.wait_with_output().unwrap();
    drop(terminal);
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

#[test]
fn key_export_asks_the_export_password_twice_and_shows_no_key_on_the_terminal() {
    let env = Env::new();
    env.import_identity("alice");
    let pass_file = env.pass_file();
    let pass_file = pass_file.to_str().unwrap();
    let p12 = env.path("alice.p12");

    // The keystore passphrase from its file, the export password typed twice.
    let (master, slave) = openpty();
    let export = |more: &[&str]| {
        let mut args = vec![
            "--passphrase-file",
            pass_file,
            "key",
            "export",
            "alice@example.org",
        ];
        args.extend_from_slice(more);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let args = export(&["--p12", "-o", p12.to_str().unwrap()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = on_terminal(&env, &args, &slave)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    drop(slave);
    let mut terminal = File::from(master);
    let rx = chunks(terminal.try_clone().unwrap());
    let mut shown = Vec::new();
    wait_for(&rx, &mut shown, "Export password: ", &mut child);
    terminal.write_all(b"typed secret\n").unwrap();
    wait_for(&rx, &mut shown, "Repeat export password: ", &mut child);
    terminal.write_all(b"typed secret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::common::run_tool(
        "openssl",
        &[
            "pkcs12",
            "-in",
            p12.to_str().unwrap(),
            "-passin",
            "pass:typed secret",
            "-noout",
        ],
    );

    // A private key is not written to a terminal unless asked for.
    let (master, slave) = openpty();
    let pw = env.path("export-pw");
    crate::common::write_secret(&pw, "x\n");
    let args = export(&[
        "--pkcs8",
        "-o",
        "-",
        "--export-password-file",
        pw.to_str().unwrap(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = on_terminal(&env, &args, &slave)
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .output()
        .unwrap();
    drop(slave);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("refusing to show a private key on a terminal"),
        "{stderr}"
    );
    drop(master);
}
