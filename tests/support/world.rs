//! Several people, each with their own keystore: the setting for encrypt,
//! decrypt and inspect tests. Keys are the fixtures in tests/data, stored
//! without a passphrase so the tests spend no time in the KDF.

use std::path::PathBuf;

use assert_cmd::Command;

use crate::common::data;

pub const PEOPLE: &[&str] = &["alice", "bob", "carol", "dave", "erin", "frank", "grace"];

pub struct World {
    pub dir: tempfile::TempDir,
}

pub fn addr(name: &str) -> String {
    format!("{name}@example.org")
}

impl World {
    /// Everyone has their own identity; `alice` (the usual sender) also has
    /// everyone's certificate.
    pub fn new() -> World {
        let world = World {
            dir: tempfile::tempdir().unwrap(),
        };
        for name in PEOPLE {
            world
                .as_(name)
                .args(["key", "import", "--no-passphrase"])
                .arg(data(&format!("{name}.key.pem")))
                .arg("--cert")
                .arg(data(&format!("{name}.cert.pem")))
                .assert()
                .success();
        }
        let mut import = world.as_("alice");
        import.args(["cert", "import"]);
        for name in &PEOPLE[1..] {
            import.arg(data(&format!("{name}.cert.pem")));
        }
        import.assert().success();
        world
    }

    pub fn keystore(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("ks-{name}"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `sealpost` acting as `name`.
    pub fn as_(&self, name: &str) -> Command {
        let mut cmd = crate::common::sealpost_without_terminal();
        cmd.env("SEALPOST_KEYSTORE", self.keystore(name))
            .env_remove("SEALPOST_PASSPHRASE")
            .write_stdin("");
        cmd
    }

    /// A composed message from alice with the given recipients and body.
    pub fn compose(&self, to: &[&str], cc: &[&str], bcc: &[&str], body: &str) -> Vec<u8> {
        let mut cmd = self.as_("alice");
        cmd.args([
            "compose",
            "--from",
            "Alice <alice@example.org>",
            "--subject",
            "Quarterly figures ✓",
        ]);
        for (flag, list) in [("--to", to), ("--cc", cc), ("--bcc", bcc)] {
            for who in list {
                cmd.arg(flag).arg(addr(who));
            }
        }
        let out = cmd.write_stdin(body.to_string()).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Runs `sealpost encrypt` as alice with extra flags; returns the BSMTP transactions.
    pub fn encrypt(
        &self,
        message: &[u8],
        flags: &[&str],
    ) -> Vec<sealpost::smime::bsmtp::Transaction> {
        let out = self
            .as_("alice")
            .arg("encrypt")
            .args(flags)
            .write_stdin(message.to_vec())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        sealpost::smime::bsmtp::parse(&out.stdout).unwrap()
    }

    /// `sealpost decrypt` as `name`; returns the output.
    pub fn decrypt(&self, name: &str, message: &[u8], flags: &[&str]) -> std::process::Output {
        self.as_(name)
            .arg("decrypt")
            .args(flags)
            .write_stdin(message.to_vec())
            .output()
            .unwrap()
    }
}
