//! Issue #14's interop proof: sealpost's verdict on a signed message next to
//! `openssl cms -verify -CAfile -crl_check_all` and `gpgsm --verify` (with
//! the same anchor and CRLs), for every reason not to trust a signer, opaque
//! and multipart/signed, RSA PKCS#1 v1.5 and PSS. The test asserts the whole
//! table, the peers' disagreements included (each with why), so that a
//! change in sealpost or in either peer fails it; on failure it prints the
//! table it saw, in the markdown the issue note uses. The PKI is pki.rs's.
//! Offline: OpenSSL and gpgsm get the CRLs as files, gpgsm's dirmngr has
//! HTTP and LDAP disabled, and nothing reads stdin.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::pki::{p, Ca, Pki, FAR_AHEAD, GRACE, LONG_AGO};
use crate::common::run_tool;
use crate::json_document::document;

/// The verdicts of one case, the same for both formats and both signing
/// modes: (case, sealpost, openssl, gpgsm).
const EXPECTED: [(&str, &str, &str, &str); 9] = [
    ("valid chain", "trusted", "trusted", "trusted"),
    // gpgsm says "certificate has expired" and reports EXPKEYSIG, then
    // "Good signature", TRUST_FULLY and exit 0: an expired signer is a
    // warning to it, not a reason to distrust.
    (
        "expired end entity",
        "untrusted: expired",
        "untrusted: expired",
        "trusted, warns expired",
    ),
    // gpgsm would only warn about the expiry (as above), but its dirmngr
    // refuses to load a CRL an expired CA issued ("Certificate expired"), so
    // the end entity's CRL check fails: TRUST_UNDEFINED, exit 2.
    (
        "expired intermediate",
        "untrusted: expired",
        "untrusted: expired",
        "revocation unknown",
    ),
    (
        "revoked (CRL)",
        "untrusted: revoked",
        "untrusted: revoked",
        "untrusted: revoked",
    ),
    // gpgsm 2.2 heeds extendedKeyUsage only when the extension is critical
    // (certlist.c, cert_usage_p), and even then lets serverAuth sign; this
    // one is not critical, as CAs issue it.
    (
        "wrong EKU (serverAuth only)",
        "untrusted: key usage",
        "untrusted: key usage",
        "trusted",
    ),
    // gpgsm says "certificate should not have been used for signing"
    // (ERROR verify.keyusage) but still TRUST_FULLY and exit 0.
    (
        "keyUsage without digitalSignature",
        "untrusted: key usage",
        "untrusted: key usage",
        "trusted, warns key usage",
    ),
    (
        "untrusted root",
        "untrusted: unknown anchor",
        "untrusted: unknown anchor",
        "untrusted: unknown anchor",
    ),
    // Neither peer compares the From address with the certificate's
    // addresses (RFC 8550 §3): that check is the mail client's.
    ("From mismatch", "sender mismatch", "trusted", "trusted"),
    (
        "tampered content",
        "bad signature",
        "bad signature",
        "bad signature",
    ),
];

/// The two signing modes of the whole table. PSS with a salt as long as
/// the hash (SHA-256: 32 bytes), the usual choice of S/MIME agents (RFC 4055
/// §3.1's advice), which is all gpgsm 2.2 accepts.
const SIGNING: [(&str, &[&str]); 2] = [
    ("PKCS#1 v1.5", &[]),
    ("PSS", &["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"]),
];

/// PSS as `openssl cms -sign` makes it by default: the longest salt the
/// key allows (222 bytes for RSA-2048 with SHA-256), valid per RFC 8017.
const PSS_MAX_SALT: (&str, &[&str]) = ("PSS, longest salt", &["rsa_padding_mode:pss"]);

/// The extra row of [`PSS_MAX_SALT`], a valid chain: gpgsm 2.2 rejects any
/// PSS salt but the hash's length ("PSS hash algorithm 'SHA256' rejected
/// due to salt length 222", BADSIG; then 2.2.40 aborts with a double free).
const EXPECTED_PSS_MAX_SALT: (&str, &str, &str) = ("trusted", "trusted", "unsupported");

const FORMATS: [(&str, bool); 2] = [("opaque", true), ("multipart/signed", false)];

/// The test PKI plus what the matrix adds: a CA nobody trusts, an
/// intermediate that expired, the end entities of each case, the CRLs.
struct Matrix {
    pki: Pki,
    /// (case, signer certificate, chain carried in the message, From).
    cases: Vec<(&'static str, PathBuf, PathBuf, &'static str)>,
    /// Each CA's certificate and CRL (DER): root, intermediate, expired
    /// intermediate, rogue root. The rogue's CRL too: without it gpgsm stops
    /// at "checking the CRL failed" before it asks whether the root is trusted.
    cas: Vec<(PathBuf, PathBuf)>,
    /// openssl's -CAfile: the root and the CRLs (cms has no -CRLfile).
    cafile: PathBuf,
}

impl Matrix {
    fn new() -> Matrix {
        let pki = Pki::new();
        let inter = &pki.inter;
        let issue =
            |ca: &Ca, ext: &str, end: &str| ca.issue("grace", "/CN=Grace", ext, LONG_AGO, end);
        let expired = issue(inter, "ee", "20210101000000Z");
        let revoked = issue(inter, "ee", "20980101000000Z");
        inter.revoke(&revoked);
        let server = issue(inter, "ee_server", FAR_AHEAD);
        let no_signing = issue(inter, "ee_no_signing", FAR_AHEAD);
        let old = pki
            .root
            .intermediate("old", "frank", "/CN=Old Intermediate", "20210101000000Z");
        let under_old = issue(&old, "ee", FAR_AHEAD);
        let rogue = Ca::root(pki.env.dir.path(), "rogue", "dave", "/CN=Rogue Root");
        let under_rogue = issue(&rogue, "ee", FAR_AHEAD);
        let cas = [&pki.root, inter, &old, &rogue].map(|ca| (ca.cert.clone(), ca.crl()));
        let cafile = pki.path("cafile.pem");
        let mut pem = std::fs::read(&pki.root.cert).unwrap();
        for ca in [&pki.root, inter, &old, &rogue] {
            pem.extend(std::fs::read(ca.dir.join("crl.pem")).unwrap());
        }
        std::fs::write(&cafile, pem).unwrap();
        let chain = inter.cert.clone();
        let cases = vec![
            ("valid chain", pki.good.clone(), chain.clone(), GRACE),
            ("expired end entity", expired, chain.clone(), GRACE),
            ("expired intermediate", under_old, old.cert.clone(), GRACE),
            ("revoked (CRL)", revoked, chain.clone(), GRACE),
            ("wrong EKU (serverAuth only)", server, chain.clone(), GRACE),
            (
                "keyUsage without digitalSignature",
                no_signing,
                chain.clone(),
                GRACE,
            ),
            ("untrusted root", under_rogue, rogue.cert.clone(), GRACE),
            (
                "From mismatch",
                pki.good.clone(),
                chain.clone(),
                "ceo@example.org",
            ),
            ("tampered content", pki.good.clone(), chain, GRACE),
        ];
        Matrix {
            pki,
            cases,
            cas: cas.into(),
            cafile,
        }
    }

    /// The message of `case`, changed after signing for "tampered content".
    fn message(&self, case: usize, opaque: bool, keyopts: &[&str]) -> Vec<u8> {
        let (name, cert, chain, from) = &self.cases[case];
        let message = self.pki.signed_with(cert, chain, from, opaque, keyopts);
        if *name == "tampered content" {
            tamper(&message)
        } else {
            message
        }
    }

    /// sealpost's verdict, with the root as the only anchor and the CRLs in
    /// the keystore; `--require-revocation-check` as openssl's -crl_check_all.
    fn sealpost(&self, message: &[u8]) -> String {
        let out = self.pki.sealpost(
            &[
                "--json",
                "verify",
                "--no-system-anchors",
                "--trust-anchor",
                p(&self.pki.root.cert),
                "--require-revocation-check",
            ],
            message,
        );
        let doc = document(&out.stdout, "verify");
        let verdict = &doc["signatures"][0]["verdict"];
        match (out.status.code(), doc["status"].as_str()) {
            (Some(0), Some("trusted")) => "trusted".into(),
            (Some(65), Some("bad_signature")) => "bad signature".into(),
            (Some(79), Some("untrusted")) => format!(
                "untrusted: {}",
                verdict["untrusted_reason"]["code"]
                    .as_str()
                    .unwrap_or("?")
                    .replace('_', " ")
            ),
            (Some(80), Some("sender_mismatch")) => "sender mismatch".into(),
            (Some(81), _) => "revocation unknown".into(),
            (code, status) => format!("exit {code:?}, status {status:?}"),
        }
    }

    fn openssl(&self, message: &Path) -> String {
        let out = Command::new("openssl")
            .args(["cms", "-verify", "-in", p(message), "-CAfile"])
            .arg(&self.cafile)
            .args(["-crl_check_all", "-out", "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        openssl_verdict(&out)
    }
}

/// `message` with "on" changed to "oN" in the signed text: in the MIME
/// text of a multipart/signed message, inside the DER of an opaque one
/// (the same length, so the CMS stays well-formed).
fn tamper(message: &[u8]) -> Vec<u8> {
    use sealpost::smime::mime::encode_base64_lines;
    let replace = |bytes: &[u8]| -> Vec<u8> {
        let needle = b"the plan is on";
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("the signed text");
        let mut out = bytes.to_vec();
        out[at + needle.len() - 1] = b'N';
        out
    };
    let text = String::from_utf8_lossy(message);
    if text.contains("multipart/signed") {
        return replace(message);
    }
    let from_line = text.lines().next().unwrap();
    let der = sealpost::smime::decrypt::cms_payload(message)
        .unwrap()
        .unwrap();
    let mut out = format!(
        "{from_line}\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; \
         smime-type=signed-data; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    encode_base64_lines(&replace(&der), b"\r\n", &mut out);
    out
}

/// The verify error `openssl cms -verify` names, in the table's words.
fn openssl_verdict(out: &Output) -> String {
    if out.status.success() {
        return "trusted".into();
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let known = [
        (
            "Verify error: certificate has expired",
            "untrusted: expired",
        ),
        ("Verify error: certificate revoked", "untrusted: revoked"),
        (
            "Verify error: unsuitable certificate purpose",
            "untrusted: key usage",
        ),
        (
            "Verify error: self-signed certificate in certificate chain",
            "untrusted: unknown anchor",
        ),
        (
            "Verify error: unable to get certificate CRL",
            "revocation unknown",
        ),
        ("content verify error", "bad signature"),
    ];
    known
        .iter()
        .find(|(needle, _)| stderr.contains(needle))
        .map(|(_, verdict)| verdict.to_string())
        .unwrap_or_else(|| format!("exit {:?}: {}", out.status.code(), stderr.trim()))
}

/// A throwaway GnuPG home trusting the root (trustlist.txt, no prompt:
/// `no-allow-mark-trusted`), the CAs imported, their CRLs loaded into its
/// dirmngr, which has HTTP and LDAP disabled.
struct Gpgsm {
    home: tempfile::TempDir,
}

impl Gpgsm {
    fn new(matrix: &Matrix) -> (Gpgsm, Vec<bool>) {
        // In /tmp: the agent's socket path must stay short.
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        let write = |name: &str, text: &str| std::fs::write(home.path().join(name), text).unwrap();
        write("gpg-agent.conf", "no-allow-mark-trusted\n");
        write("dirmngr.conf", "disable-http\ndisable-ldap\n");
        let fingerprint = String::from_utf8(run_tool(
            "openssl",
            &[
                "x509",
                "-in",
                p(&matrix.pki.root.cert),
                "-noout",
                "-fingerprint",
                "-sha1",
            ],
        ))
        .unwrap();
        let fingerprint = fingerprint.trim().split('=').nth(1).unwrap().to_string();
        write("trustlist.txt", &format!("{fingerprint} S\n"));
        let g = Gpgsm { home };
        // Every CA, so that dirmngr finds the issuer of each CRL (importing
        // is not trusting: only trustlist.txt says that).
        let mut import = vec!["--import"];
        import.extend(matrix.cas.iter().map(|(cert, _)| p(cert)));
        let imported = g.run(&import);
        assert!(imported.status.success(), "{imported:?}");
        let loaded = matrix
            .cas
            .iter()
            .map(|(_, crl)| {
                g.run(&["--call-dirmngr", &format!("loadcrl {}", p(crl))])
                    .status
                    .success()
            })
            .collect();
        (g, loaded)
    }

    /// `gpgsm --batch ARGS` in this home, nothing on stdin, no core file
    /// (gpgsm 2.2.40 aborts on a PSS salt it rejects).
    fn run(&self, args: &[&str]) -> Output {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("gpgsm");
        // LC_ALL=C: the verdict is read from its English messages.
        cmd.env("GNUPGHOME", self.home.path())
            .env("LC_ALL", "C")
            .arg("--batch")
            .args(args)
            .stdin(Stdio::null());
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                let none = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &none);
                Ok(())
            });
        }
        cmd.output().expect("gpgsm")
    }

    /// gpgsm's verdict on `message`: it reads CMS, not MIME, so it gets the
    /// DER of an opaque message, or the signature part's DER and the signed
    /// part's bytes of a multipart/signed one. CRLs are checked by issuer
    /// (`--enable-issuer-based-crl-check`): the test certificates name no
    /// distribution point, for which gpgsm otherwise skips the check.
    fn verify(&self, message: &[u8], dir: &Path) -> String {
        use sealpost::smime::mime::{multipart_signed_parts, Entity};
        let sig = dir.join("gpgsm.p7s");
        let content = dir.join("gpgsm.content");
        let mut args = vec![
            "--enable-issuer-based-crl-check",
            "--status-fd",
            "1",
            "-o",
            "/dev/null",
            "--verify",
            p(&sig),
        ];
        match sealpost::smime::decrypt::cms_payload(message).unwrap() {
            Some(der) => std::fs::write(&sig, der).unwrap(),
            None => {
                let entity = Entity::parse(message).unwrap();
                let (signed, signature) = multipart_signed_parts(&entity).unwrap();
                let der = Entity::parse(signature).unwrap().decoded_body().unwrap();
                std::fs::write(&sig, der).unwrap();
                std::fs::write(&content, signed).unwrap();
                args.push(p(&content));
            }
        }
        gpgsm_verdict(&self.run(&args))
    }
}

impl Drop for Gpgsm {
    fn drop(&mut self) {
        crate::common::stop_gnupg_daemons(self.home.path());
    }
}

/// gpgsm's verdict from its status lines, stderr and exit code.
fn gpgsm_verdict(out: &Output) -> String {
    let status = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let has = |keyword: &str| {
        status
            .lines()
            .any(|line| line.starts_with(&format!("[GNUPG:] {keyword}")))
    };
    if stderr.contains("rejected due to salt length") {
        return "unsupported".into();
    }
    if has("BADSIG") {
        return "bad signature".into();
    }
    let code = out.status.code();
    if code == Some(0) && has("TRUST_FULLY") {
        let mut verdict = String::from("trusted");
        if has("EXPKEYSIG") {
            verdict.push_str(", warns expired");
        }
        if has("ERROR verify.keyusage") {
            verdict.push_str(", warns key usage");
        }
        return verdict;
    }
    let known = [
        ("certificate has been revoked", "untrusted: revoked"),
        (
            "root certificate is not marked trusted",
            "untrusted: unknown anchor",
        ),
        ("checking the CRL failed", "revocation unknown"),
    ];
    match known.iter().find(|(needle, _)| stderr.contains(needle)) {
        Some((_, verdict)) if code == Some(2) && !has("TRUST_FULLY") => verdict.to_string(),
        _ => format!("exit {code:?}: {}", status.trim().replace('\n', " ")),
    }
}

/// The table as markdown: case, signature, format, then the three verdicts.
fn markdown(rows: Vec<impl Iterator<Item = String>>) -> String {
    let mut out = String::from(
        "| case | signature | format | sealpost | openssl | gpgsm |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        out.push_str(&format!("| {} |\n", row.collect::<Vec<_>>().join(" | ")));
    }
    out
}

#[test]
fn sealpost_openssl_and_gpgsm_give_the_recorded_verdicts() {
    let matrix = Matrix::new();
    // sealpost keeps all the CRLs: it only parses a CRL at import.
    for (_, crl) in &matrix.cas {
        let out = matrix.pki.sealpost(&["cert", "crl", "import", p(crl)], b"");
        assert!(out.status.success(), "{out:?}");
    }
    let (gpgsm, gpgsm_loaded) = Gpgsm::new(&matrix);
    // dirmngr refuses the CRL of the expired intermediate ("Certificate
    // expired"), not the rogue root's.
    assert_eq!(gpgsm_loaded, [true, true, false, true], "gpgsm loadcrl");
    let dir = matrix.pki.env.dir.path();
    let file = dir.join("message.eml");
    let mut expected = Vec::new();
    let mut seen = Vec::new();
    let mut row = |case: &str, signing: &str, format: &str, message: &[u8], want: [&str; 3]| {
        std::fs::write(&file, message).unwrap();
        let got = [
            matrix.sealpost(message),
            matrix.openssl(&file),
            gpgsm.verify(message, dir),
        ];
        let [s, o, g] = want.map(String::from);
        expected.push(
            [case, signing, format]
                .map(String::from)
                .into_iter()
                .chain([s, o, g]),
        );
        seen.push(
            [case, signing, format]
                .map(String::from)
                .into_iter()
                .chain(got),
        );
    };
    for (i, (case, sealpost, openssl, gpgsm)) in EXPECTED.iter().enumerate() {
        assert_eq!(*case, matrix.cases[i].0);
        for (signing, keyopts) in SIGNING {
            for (format, opaque) in FORMATS {
                let message = matrix.message(i, opaque, keyopts);
                row(case, signing, format, &message, [sealpost, openssl, gpgsm]);
            }
        }
    }
    let (signing, keyopts) = PSS_MAX_SALT;
    let (s, o, g) = EXPECTED_PSS_MAX_SALT;
    for (format, opaque) in FORMATS {
        let message = matrix.message(0, opaque, keyopts);
        row("valid chain", signing, format, &message, [s, o, g]);
    }
    let (expected, seen) = (markdown(expected), markdown(seen));
    assert_eq!(seen, expected, "\nseen:\n{seen}\nexpected:\n{expected}");
    println!("{seen}");
}
