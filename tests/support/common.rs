//! Shared test helpers of both test binaries (tests/offline, tests/live):
//! a throwaway keystore, the fixture keys, and secret files.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub const PASSPHRASE: &str = "test passphrase";

/// A temporary keystore with a passphrase file; dropped at the end of the test.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        write_secret(&env.pass_file(), &format!("{PASSPHRASE}\n"));
        env
    }

    pub fn keystore(&self) -> PathBuf {
        self.dir.path().join("keystore")
    }

    /// An empty keystore directory, 0700 (only commands that store something
    /// create one; the rest of its layout is made when a command opens it).
    pub fn make_keystore(&self) {
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
            .create(self.keystore())
            .unwrap();
    }

    pub fn pass_file(&self) -> PathBuf {
        self.dir.path().join("passphrase")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `sealpost` with this keystore, no passphrase source, stdin empty, and
    /// no controlling terminal.
    pub fn cmd(&self) -> Command {
        let mut cmd = sealpost_without_terminal();
        cmd.env("SEALPOST_KEYSTORE", self.keystore())
            .env_remove("SEALPOST_PASSPHRASE")
            .write_stdin("");
        cmd
    }

    /// `sealpost` with this keystore and the passphrase file.
    pub fn cmd_pw(&self) -> Command {
        let mut cmd = self.cmd();
        cmd.arg("--passphrase-file").arg(self.pass_file());
        cmd
    }

    /// Imports a fixture identity (tests/data/NAME.{key,cert}.pem) under the passphrase.
    pub fn import_identity(&self, name: &str) {
        self.cmd_pw()
            .args(["key", "import"])
            .arg(data(&format!("{name}.key.pem")))
            .arg("--cert")
            .arg(data(&format!("{name}.cert.pem")))
            .assert()
            .success();
    }
}

/// `sealpost` in a session of its own, without a controlling terminal, as
/// under cron or CI: sealpost prompts on /dev/tty whenever it has one, and a
/// test must never prompt on the terminal of whoever runs the tests.
pub fn sealpost_without_terminal() -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("sealpost"));
    // SAFETY: setsid is async-signal-safe; the child is not a group leader.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    Command::from_std(cmd)
}

/// `sh -c script` as a reader's shell runs the command lines the
/// documentation shows (help examples, the README): in `dir`, which is also
/// `$HOME`; the environment cleared but for `PATH`, with this build's
/// `sealpost` first on it, and `LANG`; nothing on stdin; in a session of its
/// own, without a controlling terminal (see [`sealpost_without_terminal`]).
pub fn shell_without_terminal(dir: &Path, script: &str) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let bin = assert_cmd::cargo::cargo_bin("sealpost");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("LANG", "C.UTF-8")
        .stdin(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe; the child is not a group leader.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd
}

/// A file under tests/data.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Stops the daemons (gpg-agent, dirmngr) a test's gpgsm started for the
/// GnuPG home `home`, which outlive it otherwise.
pub fn stop_gnupg_daemons(home: &Path) {
    let _ = std::process::Command::new("gpgconf")
        .env("GNUPGHOME", home)
        .args(["--kill", "all"])
        .status();
}

/// Runs a tool (openssl, gpgsm, …) with optional stdin, panicking with its
/// stderr on failure; returns its stdout.
pub fn tool(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A self-signed S/MIME certificate for `email` with a fresh RSA key, as
/// anyone can make one with OpenSSL; written to `key` and `cert`.
pub fn openssl_self_signed(key: &Path, cert: &Path, common_name: &str, email: &str) {
    run_tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
            "-days",
            "30",
            "-subj",
            &format!("/CN={common_name}"),
            "-addext",
            &format!("subjectAltName=email:{email}"),
            "-addext",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "-addext",
            "extendedKeyUsage=emailProtection",
        ],
    );
}

/// `content` (a MIME entity) encrypted by OpenSSL to `cert` with AES-256-CBC,
/// written to `out` as S/MIME.
pub fn openssl_encrypt(content: &Path, cert: &Path, out: &Path) {
    run_tool(
        "openssl",
        &[
            "cms",
            "-encrypt",
            "-aes256",
            "-in",
            content.to_str().unwrap(),
            "-out",
            out.to_str().unwrap(),
            cert.to_str().unwrap(),
        ],
    );
}

/// An S/MIME message (`message`, a file) decrypted by OpenSSL with the
/// fixture identity `name` (tests/data): the entity inside, byte for byte.
pub fn openssl_decrypt(message: &Path, name: &str) -> Vec<u8> {
    openssl_decrypt_with(
        message,
        &data(&format!("{name}.cert.pem")),
        &data(&format!("{name}.key.pem")),
    )
}

/// `openssl cms -decrypt -binary` of `message` with a certificate and its key.
pub fn openssl_decrypt_with(message: &Path, cert: &Path, key: &Path) -> Vec<u8> {
    run_tool(
        "openssl",
        &[
            "cms",
            "-decrypt",
            "-binary",
            "-in",
            message.to_str().unwrap(),
            "-recip",
            cert.to_str().unwrap(),
            "-inkey",
            key.to_str().unwrap(),
        ],
    )
}

/// [`tool`] without stdin.
pub fn run_tool(program: &str, args: &[&str]) -> Vec<u8> {
    tool(program, args, None)
}

/// Asserts the failure shape every command shares: the given exit code, one
/// `sealpost: error:` line (plus an optional hint), nothing on stdout.
pub fn assert_clean_failure(output: &std::process::Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "stdout not empty: {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("sealpost: error: "),
        "stderr: {stderr}"
    );
    assert!(
        lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("sealpost: hint: ")),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Writes `text` to `path`, readable by its owner only (sealpost warns
/// about a secret file that others can read).
pub fn write_secret(path: &Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap();
}
