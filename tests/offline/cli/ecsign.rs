//! Issue #15 item 4: ECDSA (P-256, P-384) and Ed25519 signatures, both
//! ways, against OpenSSL 3 (`openssl cms`), GnuTLS (`certtool --p7-sign`,
//! `--p7-verify`) and gpgsm 2.2. The test asserts the whole table, the
//! peers' gaps included (each with what the peer says), so that a change in
//! sealpost or in a peer fails it; on failure it prints the table it saw.
//!
//! sealpost → peer: `key generate --algorithm X`, then `encrypt --sign` to
//! bob (an RSA fixture, which every peer decrypts) and to the sender (its
//! own copy, which it reads back); OpenSSL decrypts, and each peer verifies
//! the signed layer with the sender's certificate as its anchor. peer → sealpost: an Ed25519 root CA made with OpenSSL issues the
//! signers' certificates (so every verdict also checks an Ed25519
//! certificate signature), each peer signs, and `sealpost verify` trusts
//! the root for the command.
//!
//! Not in the table, because the peer cannot be given the key: gpgsm 2.2
//! signing with an EC key (it crashes importing an EC PKCS#12, "signal
//! Segmentation fault caught", and its `--gen-key` makes RSA keys only).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{
    assert_clean_failure, data, openssl_decrypt, run_tool, stop_gnupg_daemons, Env,
};
use crate::json_document::document;

const ALGORITHMS: [&str; 3] = ["p256", "p384", "ed25519"];

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A peer's run whose failure is a result, not a test failure.
fn peer(program: &str, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(program);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The row of one peer's verdict: `ok` when `good`, else why not in the
/// peer's words (`needle`, which its output must hold).
fn verdict(good: bool, out: &Output, needle: &str) -> String {
    let text = format!("{}{}", stderr(out), String::from_utf8_lossy(&out.stdout));
    if good {
        "ok".into()
    } else if text.contains(needle) {
        format!("refused: {needle}")
    } else {
        format!("refused ({}): {}", out.status, text.trim())
    }
}

/// GnuTLS's verdict on the DER signed message `der` made by `cert`'s key.
fn certtool_verify(cert: &Path, der: &Path) -> Output {
    peer(
        "certtool",
        &[
            "--p7-verify",
            "--inder",
            "--load-certificate",
            p(cert),
            "--infile",
            p(der),
        ],
        &[],
    )
}

/// `sealpost verify` of `message` (with `--json` when `json`), trusting
/// `anchor` for the command.
fn verify_with_anchor(env: &Env, anchor: &Path, json: bool, message: &[u8]) -> Output {
    let mut cmd = env.cmd();
    if json {
        cmd.arg("--json");
    }
    cmd.args(["verify", "--no-system-anchors", "--trust-anchor", p(anchor)])
        .write_stdin(message.to_vec())
        .output()
        .unwrap()
}

/// A message from `from` to bob.
fn message(from: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: bob@example.org\r\nSubject: signed\r\nMessage-ID: <1@example.org>\r\n\
         Date: Sat, 05 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The entity `encrypt` signs: what every peer must get back.
fn inner_of(message: &[u8]) -> Vec<u8> {
    sealpost::smime::message::split_for_encryption(message)
        .unwrap()
        .inner
}

/// A GnuPG home trusting `certs` (each as a root: they are self-signed).
struct Gpgsm {
    home: tempfile::TempDir,
}

impl Gpgsm {
    fn new(certs: &[PathBuf]) -> (Gpgsm, Vec<String>) {
        let g = Gpgsm {
            home: tempfile::tempdir().unwrap(),
        };
        let mut trust = String::new();
        let mut imports = Vec::new();
        for cert in certs {
            let out = g.run(&["--import", p(cert)]);
            imports.push(stderr(&out));
            let fp = run_tool(
                "openssl",
                &["x509", "-in", p(cert), "-noout", "-fingerprint", "-sha1"],
            );
            let fp = String::from_utf8(fp).unwrap();
            trust.push_str(&format!(
                "{} S relax\n",
                fp.trim().split('=').nth(1).unwrap()
            ));
        }
        std::fs::write(g.home.path().join("trustlist.txt"), trust).unwrap();
        (g, imports)
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--batch", "--disable-crl-checks", "--disable-policy-checks"];
        all.extend(args);
        peer("gpgsm", &all, &[("GNUPGHOME", self.home.path())])
    }
}

impl Drop for Gpgsm {
    fn drop(&mut self) {
        stop_gnupg_daemons(self.home.path());
    }
}

/// What sealpost signs and the peers verify: (algorithm, openssl, certtool, gpgsm).
const SEALPOST_SIGNS: [(&str, &str, &str, &str); 3] = [
    ("p256", "ok", "ok", "ok"),
    ("p384", "ok", "ok", "ok"),
    // OpenSSL 3.0 cannot use Ed25519 in CMS at all (it asks the EdDSA
    // provider for a digest context: "eddsa_digest_signverify_init:invalid
    // digest"; CMS Ed25519 came with OpenSSL 3.2). gpgsm 2.2 refuses the
    // Ed25519 certificate ("unknown digest algorithm '1.3.101.112'") and
    // says BADSIG ("DSA requires the hash length to be a multiple of 8
    // bits"): Ed25519 came with GnuPG 2.4.
    (
        "ed25519",
        "refused: invalid digest",
        "ok",
        "refused: DSA requires the hash length",
    ),
];

#[test]
fn sealpost_signs_with_ecdsa_and_ed25519_and_the_peers_verify() {
    let mut seen = Vec::new();
    for alg in ALGORITHMS {
        let env = Env::new();
        let from = format!("{alg}@example.org");
        let ok = |out: &Output| assert!(out.status.success(), "{alg}: {}", stderr(out));
        let out = env
            .cmd()
            .args([
                "--json",
                "key",
                "generate",
                "--no-passphrase",
                "--algorithm",
                alg,
            ])
            .args(["--email", &from])
            .output()
            .unwrap();
        ok(&out);
        // The signing identity comes first (Ed25519 makes an X25519 one too).
        let made = document(&out.stdout, "key generate");
        let signing = made["identities"][0]["fingerprint"].as_str().unwrap();
        ok(&env
            .cmd()
            .args(["cert", "import"])
            .arg(data("bob.cert.pem"))
            .output()
            .unwrap());
        let cert = env.path("signer.pem");
        let out = env.cmd().args(["key", "export", signing]).output().unwrap();
        ok(&out);
        std::fs::write(&cert, &out.stdout).unwrap();
        let msg = message(&from, &format!("signed with {alg}"));
        let expected = inner_of(&msg);
        // --pss is RSA's: a usage error before anything else.
        let out = env
            .cmd()
            .args(["encrypt", "--eml", "--sign", "--pss"])
            .write_stdin(msg.clone())
            .output()
            .unwrap();
        let err = assert_clean_failure(&out, 64);
        assert!(err.contains("--pss applies to RSA keys only"), "{err}");
        let out = env
            .cmd()
            .args(["encrypt", "--eml", "--sign"])
            .write_stdin(msg.clone())
            .output()
            .unwrap();
        ok(&out);
        let eml = env.path("signed.eml");
        std::fs::write(&eml, &out.stdout).unwrap();
        // The sender reads its own copy (key agreement for EC and X25519)
        // and its signature, named with its algorithm.
        let own = env
            .cmd()
            .arg("decrypt")
            .write_stdin(out.stdout.clone())
            .output()
            .unwrap();
        ok(&own);
        assert_eq!(own.stdout, expected, "{alg}");
        let named = match alg {
            "p256" => "ECDSA P-256/SHA-256",
            "p384" => "ECDSA P-384/SHA-384",
            _ => "Ed25519",
        };
        assert!(
            stderr(&own).contains(&format!(
                "good signature (your own certificate) from {from} ({}, {named})",
                &signing[..16]
            )),
            "{alg}: {}",
            stderr(&own)
        );
        let layer = openssl_decrypt(&eml, "bob");
        let der = env.path("signed.der");
        let payload = sealpost::smime::decrypt::cms_payload(&layer)
            .unwrap()
            .unwrap();
        std::fs::write(&der, &payload).unwrap();

        let openssl = peer(
            "openssl",
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                p(&der),
                "-CAfile",
                p(&cert),
                "-purpose",
                "any",
            ],
            &[],
        );
        let certtool = certtool_verify(&cert, &der);
        let (gpgsm, _) = Gpgsm::new(std::slice::from_ref(&cert));
        let gpg = gpgsm.run(&["--status-fd", "1", "-o", "-", "--verify", p(&der)]);
        let gpg_good = String::from_utf8_lossy(&gpg.stdout).contains("[GNUPG:] GOODSIG");
        let openssl_good = openssl.status.success() && openssl.stdout == expected;
        seen.push((
            alg,
            verdict(openssl_good, &openssl, "invalid digest"),
            // certtool prints the content only with --p7-show-data.
            verdict(certtool.status.success(), &certtool, "verification failed"),
            verdict(gpg_good, &gpg, "DSA requires the hash length"),
        ));

        // Tampered content: refused by sealpost and by the peer that reads
        // each algorithm.
        let mut bad = payload.clone();
        let at = bad
            .windows(11)
            .position(|w| w == b"signed with")
            .expect("content in the payload");
        bad[at] ^= 0x20;
        let bad_der = env.path("bad.der");
        std::fs::write(&bad_der, &bad).unwrap();
        let out = certtool_verify(&cert, &bad_der);
        assert!(
            !out.status.success(),
            "{alg}: certtool took tampered content"
        );
        let out = verify_with_anchor(&env, &cert, false, &smime_message(&from, &bad));
        let err = assert_clean_failure(&out, 65);
        assert!(err.contains("bad signature"), "{alg}: {err}");
        // And sealpost reads its own signature: good and trusted.
        let out = verify_with_anchor(&env, &cert, false, &smime_message(&from, &payload));
        ok(&out);
        assert_eq!(out.stdout, expected, "{alg}");
        assert!(stderr(&out).contains("good signature, trusted"), "{alg}");
    }
    let expected: Vec<_> = SEALPOST_SIGNS
        .iter()
        .map(|(a, o, c, g)| (*a, o.to_string(), c.to_string(), g.to_string()))
        .collect();
    if seen != expected {
        let mut table =
            "| algorithm | openssl cms -verify | certtool --p7-verify | gpgsm --verify |\n\
                         |---|---|---|---|\n"
                .to_string();
        for (a, o, c, g) in &seen {
            table.push_str(&format!("| {a} | {o} | {c} | {g} |\n"));
        }
        panic!("sealpost → peers:\n{table}");
    }
}

/// An opaque signed S/MIME message with `der` as its payload.
fn smime_message(from: &str, der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!(
        "From: {from}\r\nMIME-Version: 1.0\r\n\
         Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    );
    for line in b64.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push_str("\r\n");
    }
    out.into_bytes()
}

const GRACE: &str = "grace@example.org";

/// An Ed25519 root and end-entity certificates it issues for grace.
struct Pki {
    dir: tempfile::TempDir,
    root: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root.pem");
        let pki = Pki { dir, root };
        let key = pki.key("root", &["-algorithm", "ed25519"]);
        run_tool(
            "openssl",
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                p(&key),
                "-subj",
                "/CN=Ed25519 Root",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-days",
                "3650",
                "-out",
                p(&pki.root),
            ],
        );
        std::fs::write(
            pki.path("ee.ext"),
            format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=emailProtection\nsubjectAltName=email:{GRACE}\n"
            ),
        )
        .unwrap();
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn key(&self, name: &str, genpkey: &[&str]) -> PathBuf {
        let out = self.path(&format!("{name}.key"));
        let mut args = vec!["genpkey"];
        args.extend(genpkey);
        args.extend(["-out", p(&out)]);
        run_tool("openssl", &args);
        out
    }

    /// A new key for grace (`genpkey` options) and its certificate from the root.
    fn end_entity(&self, name: &str, genpkey: &[&str]) -> (PathBuf, PathBuf) {
        let key = self.key(name, genpkey);
        let csr = self.path(&format!("{name}.csr"));
        let cert = self.path(&format!("{name}.pem"));
        run_tool(
            "openssl",
            &[
                "req",
                "-new",
                "-key",
                p(&key),
                "-subj",
                "/CN=Grace",
                "-out",
                p(&csr),
            ],
        );
        run_tool(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                p(&csr),
                "-CA",
                p(&self.root),
                "-CAkey",
                p(&self.path("root.key")),
                "-CAcreateserial",
                "-days",
                "3650",
                "-extfile",
                p(&self.path("ee.ext")),
                "-out",
                p(&cert),
            ],
        );
        (key, cert)
    }
}

/// What each peer signs and sealpost's verdict: (peer, algorithm, form,
/// verdict).
const PEERS_SIGN: [(&str, &str, &str, &str); 15] = [
    (
        "openssl -md sha256",
        "p256",
        "opaque",
        "trusted, ECDSA P-256/SHA-256",
    ),
    (
        "openssl -md sha256",
        "p256",
        "multipart/signed",
        "trusted, ECDSA P-256/SHA-256",
    ),
    (
        "openssl -md sha384",
        "p256",
        "opaque",
        "trusted, ECDSA P-256/SHA-384",
    ),
    (
        "openssl -md sha512",
        "p256",
        "opaque",
        "trusted, ECDSA P-256/SHA-512",
    ),
    (
        "openssl -md sha256",
        "p384",
        "opaque",
        "trusted, ECDSA P-384/SHA-256",
    ),
    (
        "openssl -md sha384",
        "p384",
        "opaque",
        "trusted, ECDSA P-384/SHA-384",
    ),
    (
        "openssl -md sha384",
        "p384",
        "multipart/signed",
        "trusted, ECDSA P-384/SHA-384",
    ),
    (
        "openssl -md sha512",
        "p384",
        "opaque",
        "trusted, ECDSA P-384/SHA-512",
    ),
    // See SEALPOST_SIGNS: OpenSSL 3.0 cannot make an Ed25519 CMS signature.
    (
        "openssl -md sha512",
        "ed25519",
        "opaque",
        "peer cannot sign: invalid digest",
    ),
    // GnuTLS writes Ed25519 with SHA-512, and signed attributes only when
    // asked for a signing time (--p7-time); both forms are RFC 8419.
    ("certtool", "ed25519", "opaque", "trusted, Ed25519"),
    (
        "certtool --p7-time",
        "ed25519",
        "opaque",
        "trusted, Ed25519",
    ),
    (
        "certtool --p7-time",
        "ed25519",
        "multipart/signed",
        "trusted, Ed25519",
    ),
    (
        "certtool --p7-time",
        "p256",
        "opaque",
        "trusted, ECDSA P-256/SHA-512",
    ),
    (
        "certtool --p7-time",
        "p384",
        "opaque",
        "trusted, ECDSA P-384/SHA-512",
    ),
    // Tampered: an OpenSSL P-256 message with its content changed.
    ("openssl (tampered)", "p256", "opaque", "bad signature"),
];

#[test]
fn peers_sign_with_ecdsa_and_ed25519_and_sealpost_verifies() {
    let pki = Pki::new();
    let content = pki.path("content.txt");
    let body = b"Content-Type: text/plain\r\n\r\nsigned by a peer\r\n";
    std::fs::write(&content, body).unwrap();
    let keys = [
        (
            "p256",
            pki.end_entity(
                "p256",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
        ),
        (
            "p384",
            pki.end_entity(
                "p384",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            ),
        ),
        (
            "ed25519",
            pki.end_entity("ed25519", &["-algorithm", "ed25519"]),
        ),
    ];
    let find = |alg: &str| &keys.iter().find(|(a, _)| *a == alg).unwrap().1;
    let env = Env::new();
    env.make_keystore();
    // The verdict, and for a good signature the algorithm sealpost names
    // (in the text and in --json, which must agree).
    let verify = |message: &[u8]| -> String {
        let run = |json| verify_with_anchor(&env, &pki.root, json, message);
        let out = run(false);
        let text = stderr(&out);
        match out.status.code() {
            Some(0) if out.stdout == body && text.contains("good signature, trusted") => {
                let doc = document(&run(true).stdout, "verify");
                let alg = doc["signatures"][0]["signer"]["signature_algorithm"]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert!(text.contains(&format!(", {alg})]")), "{text}");
                format!("trusted, {alg}")
            }
            Some(65) if text.contains("bad signature") => "bad signature".into(),
            _ => format!("exit {:?}: {}", out.status.code(), text.trim()),
        }
    };
    let mut seen = Vec::new();
    for (who, alg, form, _) in PEERS_SIGN {
        let (key, cert) = find(alg);
        let opaque = form == "opaque";
        let signed = pki.path("signed.out");
        let openssl_sign = |md: &str, extra: &[&str]| {
            let mut args = vec![
                "cms",
                "-sign",
                "-md",
                md,
                "-in",
                p(&content),
                "-signer",
                p(cert),
                "-inkey",
                p(key),
                "-out",
                p(&signed),
            ];
            args.extend(extra);
            peer("openssl", &args, &[])
        };
        let result = if let Some(md) = who.strip_prefix("openssl -md ") {
            let out = openssl_sign(md, if opaque { &["-nodetach"] } else { &[] });
            if out.status.success() {
                let mut message = format!("From: {GRACE}\r\n").into_bytes();
                message.extend(std::fs::read(&signed).unwrap());
                verify(&message)
            } else {
                verdict(false, &out, "invalid digest").replace("refused", "peer cannot sign")
            }
        } else if who.starts_with("certtool") {
            let mut args = vec![
                "--p7-sign",
                "--outder",
                "--p7-include-cert",
                "--hash",
                "SHA512",
                "--load-privkey",
                p(key),
                "--load-certificate",
                p(cert),
                "--infile",
                p(&content),
                "--outfile",
                p(&signed),
            ];
            if who.ends_with("--p7-time") {
                args.push("--p7-time");
            }
            if !opaque {
                args[0] = "--p7-detached-sign";
            }
            run_tool("certtool", &args);
            let der = std::fs::read(&signed).unwrap();
            if opaque {
                verify(&smime_message(GRACE, &der))
            } else {
                verify(&multipart_signed(GRACE, body, &der))
            }
        } else {
            // Tampered: a letter of the content changed in transit.
            let out = openssl_sign("sha256", &["-nodetach", "-outform", "DER"]);
            assert!(out.status.success(), "{}", stderr(&out));
            let mut der = std::fs::read(&signed).unwrap();
            let at = der
                .windows(6)
                .position(|w| w == b"signed")
                .expect("content in the message");
            der[at] ^= 0x20;
            verify(&smime_message(GRACE, &der))
        };
        seen.push((who, alg, form, result));
    }
    let expected: Vec<_> = PEERS_SIGN
        .iter()
        .map(|(w, a, f, v)| (*w, *a, *f, v.to_string()))
        .collect();
    if seen != expected {
        let mut table =
            "| peer | algorithm | form | sealpost verify |\n|---|---|---|---|\n".to_string();
        for (w, a, f, v) in &seen {
            table.push_str(&format!("| {w} | {a} | {f} | {v} |\n"));
        }
        panic!("peers → sealpost:\n{table}");
    }
}

/// A multipart/signed message: `content` (CRLF, as signed) and the
/// detached signature `der`.
fn multipart_signed(from: &str, content: &[u8], der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!(
        "From: {from}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; \
         micalg=sha-512; boundary=\"b\"\r\n\r\n--b\r\n"
    )
    .into_bytes();
    out.extend_from_slice(content);
    out.extend_from_slice(
        b"\r\n--b\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\
          Content-Transfer-Encoding: base64\r\n\r\n",
    );
    for line in b64.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--b--\r\n");
    out
}
