//! The test PKI of the trust tests (issue #14), shared by `verify` (sealpost's
//! statuses) and `verify_peers` (the same messages judged by OpenSSL and
//! gpgsm): CAs made with `openssl ca` from the fixture keys (so no RSA key is
//! generated), root → intermediate → end entities for grace@example.org, and
//! messages OpenSSL signs with them. Uses only tests/support.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{data, run_tool, Env};

pub const GRACE: &str = "grace@example.org";

/// The stderr of a run that must have succeeded.
pub fn success(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The extensions every certificate of the test PKI may get.
const CA_CONFIG: &str = "\
[ca]
default_ca = this
[this]
dir = DIR
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ee]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:grace@example.org
authorityKeyIdentifier = keyid
[ee_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = email:grace@example.org
[ee_no_signing]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:grace@example.org
[ee_sign_only]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = emailProtection
subjectAltName = email:grace@example.org
authorityKeyIdentifier = keyid
[v3_ca_no_certsign]
basicConstraints = critical,CA:TRUE
keyUsage = critical,cRLSign,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A CA made with `openssl ca`: its directory, certificate and key.
pub struct Ca {
    pub dir: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Ca {
    pub fn new(root: &Path, name: &str, key: &str) -> Ca {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), format!("{:02x}\n", name.len() * 16 + 1)).unwrap();
        std::fs::write(dir.join("crlnumber"), "01\n").unwrap();
        std::fs::write(dir.join("ca.cnf"), CA_CONFIG.replace("DIR", p(&dir))).unwrap();
        Ca {
            cert: dir.join("cert.pem"),
            key: data(&format!("{key}.key.pem")),
            dir,
        }
    }

    /// A self-signed root CA named `subject` with the fixture key `key`.
    pub fn root(dir: &Path, name: &str, key: &str, subject: &str) -> Ca {
        let root = Ca::new(dir, name, key);
        self_signed(
            &root.key,
            subject,
            &[
                "basicConstraints=critical,CA:TRUE",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            &root.cert,
        );
        root
    }

    /// A CA this one certifies (beside it, in the same directory), valid
    /// from [`LONG_AGO`] to `end`.
    pub fn intermediate(&self, name: &str, key: &str, subject: &str, end: &str) -> Ca {
        let ca = Ca::new(self.dir.parent().unwrap(), name, key);
        let issued = self.issue(key, subject, "v3_ca", LONG_AGO, end);
        std::fs::copy(issued, &ca.cert).unwrap();
        ca
    }

    fn config(&self) -> PathBuf {
        self.dir.join("ca.cnf")
    }

    /// Issues a certificate for `key` with `subject` and the extension
    /// section `ext`, valid from `start` to `end` (YYYYMMDDHHMMSSZ).
    pub fn issue(&self, key: &str, subject: &str, ext: &str, start: &str, end: &str) -> PathBuf {
        let csr = self.dir.join(format!("{ext}-{end}.csr"));
        let out = self.dir.join(format!("{ext}-{end}.pem"));
        run_tool(
            "openssl",
            &[
                "req",
                "-new",
                "-key",
                p(&data(&format!("{key}.key.pem"))),
                "-subj",
                subject,
                "-out",
                p(&csr),
            ],
        );
        self.ca(&[
            "-batch",
            "-notext",
            "-extensions",
            ext,
            "-startdate",
            start,
            "-enddate",
            end,
            "-in",
            p(&csr),
            "-out",
            p(&out),
        ]);
        out
    }

    /// `openssl ca` as this CA, with `args`.
    fn ca(&self, args: &[&str]) {
        let config = self.config();
        let mut all = vec![
            "ca",
            "-config",
            p(&config),
            "-cert",
            p(&self.cert),
            "-keyfile",
            p(&self.key),
        ];
        all.extend(args);
        run_tool("openssl", &all);
    }

    /// Adds the extension section `[name]` with `lines` to this CA's
    /// configuration, for [`Ca::issue`] (a CRL distribution point the test
    /// chooses, say).
    pub fn add_section(&self, name: &str, lines: &[&str]) {
        let mut config = std::fs::read_to_string(self.config()).unwrap();
        config.push_str(&format!("[{name}]\n{}\n", lines.join("\n")));
        std::fs::write(self.config(), config).unwrap();
    }

    pub fn revoke(&self, cert: &Path) {
        self.ca(&["-revoke", p(cert)]);
    }

    /// The CA's current CRL (DER).
    pub fn crl(&self) -> PathBuf {
        let pem = self.dir.join("crl.pem");
        let der = self.dir.join("crl.der");
        self.ca(&["-gencrl", "-out", p(&pem)]);
        run_tool(
            "openssl",
            &["crl", "-in", p(&pem), "-outform", "DER", "-out", p(&der)],
        );
        der
    }
}

/// A self-signed certificate for `key` named `subject`, valid ten years,
/// with the extensions `exts` (`-addext` values), written to `out`.
pub fn self_signed(key: &Path, subject: &str, exts: &[&str], out: &Path) {
    let mut args = vec!["req", "-x509", "-new", "-key", p(key), "-subj", subject];
    args.extend(["-days", "3650", "-out", p(out)]);
    for ext in exts {
        args.extend(["-addext", ext]);
    }
    run_tool("openssl", &args);
}

pub const LONG_AGO: &str = "20200101000000Z";
pub const FAR_AHEAD: &str = "20990101000000Z";

/// Root (erin's key) → intermediate (frank's key) → end entities for
/// grace@example.org (grace's key), in a throwaway keystore.
pub struct Pki {
    pub env: Env,
    pub root: Ca,
    pub inter: Ca,
    pub good: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        let env = Env::new();
        env.make_keystore();
        let root = Ca::root(env.dir.path(), "root", "erin", "/CN=Test Root");
        let inter = root.intermediate("inter", "frank", "/CN=Test Intermediate", FAR_AHEAD);
        std::fs::write(
            env.path("content.txt"),
            "Content-Type: text/plain\r\n\r\nthe plan is on\r\n",
        )
        .unwrap();
        let good = inter.issue("grace", "/CN=Grace", "ee", LONG_AGO, FAR_AHEAD);
        Pki {
            env,
            root,
            inter,
            good,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.env.path(name)
    }

    /// The content every message signs.
    pub fn content(&self) -> PathBuf {
        self.path("content.txt")
    }

    /// A message signed with grace's key under `cert`, carrying the
    /// intermediate, with `from` in its header. `opaque`: signed-data, else
    /// multipart/signed; `pss`: RSASSA-PSS.
    pub fn signed(&self, cert: &Path, from: &str, opaque: bool, pss: bool) -> Vec<u8> {
        self.signed_via(cert, &self.inter.cert, from, opaque, pss)
    }

    /// [`Pki::signed`] carrying `chain` instead of the intermediate.
    pub fn signed_via(
        &self,
        cert: &Path,
        chain: &Path,
        from: &str,
        opaque: bool,
        pss: bool,
    ) -> Vec<u8> {
        let pss: &[&str] = if pss { &["rsa_padding_mode:pss"] } else { &[] };
        self.signed_with(cert, chain, from, opaque, pss)
    }

    /// [`Pki::signed_via`] with the signing key options `keyopts` of
    /// `openssl cms -sign` (PSS and its salt length).
    pub fn signed_with(
        &self,
        cert: &Path,
        chain: &Path,
        from: &str,
        opaque: bool,
        keyopts: &[&str],
    ) -> Vec<u8> {
        // A file of its own per message: tests sign from several threads.
        static SIGNED: AtomicUsize = AtomicUsize::new(0);
        let out = self.path(&format!(
            "signed-{}.raw",
            SIGNED.fetch_add(1, Ordering::Relaxed)
        ));
        let content = self.content();
        let grace = data("grace.key.pem");
        let mut args = vec![
            "cms",
            "-sign",
            "-in",
            p(&content),
            "-signer",
            p(cert),
            "-inkey",
            p(&grace),
            "-certfile",
            p(chain),
            "-out",
            p(&out),
        ];
        if opaque {
            args.push("-nodetach");
        }
        for opt in keyopts {
            args.extend(["-keyopt", opt]);
        }
        run_tool("openssl", &args);
        let mut message = format!("From: {from}\r\n").into_bytes();
        message.extend(std::fs::read(&out).unwrap());
        message
    }

    pub fn sealpost(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.env
            .cmd()
            .args(args)
            .write_stdin(stdin.to_vec())
            .output()
            .unwrap()
    }

    /// `sealpost verify` trusting the root for this command, plus `flags`.
    pub fn verify(&self, message: &[u8], flags: &[&str]) -> Output {
        let mut args = vec![
            "verify",
            "--no-system-anchors",
            "--trust-anchor",
            p(&self.root.cert),
        ];
        args.extend(flags);
        self.sealpost(&args, message)
    }
}
