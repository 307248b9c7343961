//! A SoftHSM2 token in a temporary directory, for group keys held in a
//! PKCS#11 token: its own configuration (`SOFTHSM2_CONF`, set on every
//! process that uses it), one token labelled [`TOKEN`] with the PIN in a
//! file, and a fixture key imported as the operator would (`softhsm2-util
//! --import`: sensitive, not extractable).

use std::path::{Path, PathBuf};
use std::process::Command;

pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const TOKEN: &str = "sealpost-lists";
pub const PIN: &str = "4711-0815";
/// The tests/data identity whose key plays the group key in the token.
pub const KEY_FIXTURE: &str = "grace";
pub const KEY_LABEL: &str = "list-key";

pub struct SoftHsm {
    pub dir: tempfile::TempDir,
}

impl SoftHsm {
    /// A fresh token holding grace's key as [`KEY_LABEL`].
    pub fn new() -> SoftHsm {
        assert!(
            Path::new(MODULE).exists(),
            "SoftHSM2 is needed (apt-get install softhsm2; tests/run.sh installs it)"
        );
        let dir = tempfile::tempdir().unwrap();
        let hsm = SoftHsm { dir };
        std::fs::create_dir(hsm.dir.path().join("tokens")).unwrap();
        std::fs::write(
            hsm.conf(),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                hsm.dir.path().join("tokens").display()
            ),
        )
        .unwrap();
        std::fs::write(hsm.pin_file(), format!("{PIN}\n")).unwrap();
        std::fs::write(hsm.dir.path().join("wrong-pin"), "0000-0000\n").unwrap();
        for path in [hsm.pin_file(), hsm.dir.path().join("wrong-pin")] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        hsm.util(&[
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--pin",
            PIN,
            "--so-pin",
            "12345678",
        ]);
        hsm.import_key();
        hsm
    }

    /// Imports the fixture key as [`KEY_LABEL`] (id a1), as an operator would.
    pub fn import_key(&self) {
        let key = super::harness::data(&format!("{KEY_FIXTURE}.key.pem"));
        self.util(&[
            "--import",
            key.to_str().unwrap(),
            "--token",
            TOKEN,
            "--label",
            KEY_LABEL,
            "--id",
            "a1",
            "--pin",
            PIN,
        ]);
    }

    /// Deletes the private key labelled `label` from the token (another
    /// process, as an operator's mistake would).
    pub fn delete_private_key(&self, label: &str) {
        let out = self.pkcs11_tool(&["--delete-object", "--type", "privkey", "--label", label]);
        assert!(
            out.status.success(),
            "pkcs11-tool --delete-object: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    pub fn pin_file(&self) -> PathBuf {
        self.dir.path().join("pin")
    }

    pub fn wrong_pin_file(&self) -> PathBuf {
        self.dir.path().join("wrong-pin")
    }

    /// The URI of the imported key, its PIN in the pin file.
    pub fn uri(&self) -> String {
        format!(
            "pkcs11:token={TOKEN};object={KEY_LABEL}?pin-source=file:{}",
            self.pin_file().display()
        )
    }

    /// Points `cmd` at this token's configuration.
    pub fn env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("SOFTHSM2_CONF", self.conf())
    }

    fn util(&self, args: &[&str]) {
        let out = self
            .env(&mut Command::new("softhsm2-util"))
            .args(args)
            .output()
            .expect("softhsm2-util (Debian softhsm2) is needed");
        assert!(
            out.status.success(),
            "softhsm2-util {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pkcs11-tool ARGS` on the token, logged in.
    fn pkcs11_tool(&self, args: &[&str]) -> std::process::Output {
        self.env(&mut Command::new("pkcs11-tool"))
            .args([
                "--module",
                MODULE,
                "--token-label",
                TOKEN,
                "--login",
                "--pin",
                PIN,
            ])
            .args(args)
            .output()
            .expect("pkcs11-tool (Debian opensc) is needed")
    }

    /// `pkcs11-tool --list-objects` on the token, logged in: what an
    /// operator sees of the key's protection.
    pub fn objects(&self) -> String {
        let out = self.pkcs11_tool(&["--list-objects"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
