//! Key files and messages other programs make, as people have them (issue
//! #15, item 6): a PKCS#12 exported by NSS (Thunderbird, Firefox), one by
//! GnuTLS `certtool`, PEM wrapped at other widths, encrypt-then-clear-sign,
//! an encrypted message forwarded inside a plain one, and a certificate
//! without a SubjectKeyIdentifier named by key id. Every input is made here
//! by the other program.

use std::path::{Path, PathBuf};

use std::process::Output;

use super::pki::{p, success, Pki};
use crate::common::{assert_clean_failure, data, openssl_encrypt, run_tool, write_secret, Env};

/// `sealpost ARGS` with `env`'s keystore and passphrase.
fn run(env: &Env, args: &[&str]) -> Output {
    env.cmd_pw().args(args).output().unwrap()
}

/// What `openssl cms -encrypt -aes256 EXTRA` makes of the test content for `cert`.
fn openssl_encrypted(pki: &Pki, cert: &Path, extra: &[&str]) -> Vec<u8> {
    let content = pki.content();
    let mut args = vec!["cms", "-encrypt", "-aes256", "-in", p(&content)];
    args.extend(extra);
    args.push(p(cert));
    run_tool("openssl", &args)
}

/// Decrypts `message` with `env`'s keystore, which must succeed; the plaintext.
fn decrypted(env: &Env, message: &Path) -> String {
    let out = run(env, &["decrypt", p(message)]);
    success(&out);
    String::from_utf8(out.stdout).unwrap()
}

/// alice's fixture key and certificate as `openssl pkcs12 -export` writes
/// them under the password "pw", with the friendly name "alice".
fn openssl_p12(env: &Env) -> PathBuf {
    let out = env.path("openssl.p12");
    run_tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-passout",
            "pass:pw",
            "-name",
            "alice",
            "-inkey",
            p(&data("alice.key.pem")),
            "-in",
            p(&data("alice.cert.pem")),
            "-out",
            p(&out),
        ],
    );
    out
}

fn password_file(env: &Env, name: &str, password: &str) -> PathBuf {
    let path = env.path(name);
    write_secret(&path, &format!("{password}\n"));
    path
}

fn import_p12(env: &Env, p12: &Path, password: &Path) -> Output {
    run(
        env,
        &["key", "import", p(p12), "--p12-password-file", p(password)],
    )
}

fn assert_imported_alice(out: &Output) {
    let stderr = success(out);
    let all = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(all.contains("alice@example.org"), "{all}");
}

/// NSS writes indefinite-length BER (PFX, AuthenticatedSafe, SafeContents)
/// and chunked encrypted contents; sealpost refused it as "not a PKCS#12
/// file". The MAC still protects it: a wrong password is still 77.
#[test]
fn pkcs12_exported_by_nss_pk12util_imports() {
    let env = Env::new();
    let nssdb = env.path("nssdb");
    std::fs::create_dir(&nssdb).unwrap();
    let db = format!("sql:{}", p(&nssdb));
    run_tool("certutil", &["-N", "-d", &db, "--empty-password"]);
    let p12 = openssl_p12(&env);
    run_tool("pk12util", &["-i", p(&p12), "-d", &db, "-W", "pw"]);
    let exported = env.path("nss.p12");
    run_tool(
        "pk12util",
        &["-o", p(&exported), "-n", "alice", "-d", &db, "-W", "nss pw"],
    );
    let bytes = std::fs::read(&exported).unwrap();
    assert_eq!(&bytes[..2], &[0x30, 0x80], "NSS no longer writes BER");

    let wrong = password_file(&env, "wrong", "not it");
    let out = import_p12(&env, &exported, &wrong);
    let stderr = assert_clean_failure(&out, 77);
    assert!(stderr.contains("wrong password"), "{stderr}");

    let good = password_file(&env, "good", "nss pw");
    assert_imported_alice(&import_p12(&env, &exported, &good));
}

/// `certtool --to-p12` writes PEM ("-----BEGIN PKCS12-----") by default,
/// and PBKDF2's PRF without NULL parameters, which sealpost refused both
/// in PEM and in DER (`--outder`).
#[test]
fn pkcs12_from_gnutls_certtool_imports_pem_and_der() {
    for (name, outder) in [("certtool.p12", false), ("certtool.der.p12", true)] {
        let env = Env::new();
        let out = env.path(name);
        let (key, cert) = (data("alice.key.pem"), data("alice.cert.pem"));
        let mut args = vec![
            "--to-p12",
            "--p12-name",
            "alice",
            "--password",
            "pw",
            "--load-privkey",
            p(&key),
            "--load-certificate",
            p(&cert),
            "--outfile",
            p(&out),
        ];
        if outder {
            args.push("--outder");
        }
        run_tool("certtool", &args);
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(bytes.starts_with(b"-----BEGIN PKCS12-----"), !outder);
        let pw = password_file(&env, "pw", "pw");
        assert_imported_alice(&import_p12(&env, &out, &pw));
    }
}

/// `text`'s PEM blocks with their Base64 rewrapped at `width` columns (0:
/// one line).
fn rewrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with("-----BEGIN ") {
            out.push_str(line);
            out.push('\n');
        } else if line.starts_with("-----END ") {
            let width = if width == 0 { body.len().max(1) } else { width };
            for chunk in body.as_bytes().chunks(width) {
                out.push_str(std::str::from_utf8(chunk).unwrap());
                out.push('\n');
            }
            body.clear();
            out.push_str(line);
            out.push('\n');
        } else {
            body.push_str(line.trim());
        }
    }
    out
}

/// RFC 7468 §3: a lax parser accepts any line length. Certificates, keys,
/// CRLs and CMS messages in PEM wrapped at 76 columns or on one line,
/// from OpenSSL output, were refused as "invalid Base64".
#[test]
fn pem_wrapped_at_76_columns_or_one_line_is_read() {
    for width in [76, 0] {
        let pki = Pki::new();
        let env = &pki.env;
        let write = |name: &str, pem: &[u8]| {
            let path = env.path(name);
            let text = rewrap(std::str::from_utf8(pem).unwrap(), width);
            assert!(text
                .lines()
                .any(|l| l.len() != 64 && !l.starts_with("-----")));
            std::fs::write(&path, text).unwrap();
            path
        };
        let key = write("key.pem", &std::fs::read(data("alice.key.pem")).unwrap());
        let cert = write("cert.pem", &std::fs::read(data("alice.cert.pem")).unwrap());
        let bob = write("bob.pem", &std::fs::read(data("bob.cert.pem")).unwrap());
        env.cmd_pw()
            .args(["key", "import", p(&key), "--cert", p(&cert)])
            .assert()
            .success();
        env.cmd_pw()
            .args(["cert", "import", p(&bob)])
            .assert()
            .success();
        let crl_der = pki.inter.crl();
        let crl_pem = run_tool("openssl", &["crl", "-inform", "DER", "-in", p(&crl_der)]);
        let crl = write("crl.pem", &crl_pem);
        success(&pki.sealpost(&["cert", "crl", "import", p(&crl)], b""));
        let encrypted = openssl_encrypted(&pki, &data("alice.cert.pem"), &["-outform", "PEM"]);
        let message = write("message.pem", &encrypted);
        assert!(decrypted(env, &message).contains("the plan is on"));
    }
}

/// Encrypt-then-clear-sign, as `openssl cms -encrypt` then `openssl cms
/// -sign` (detached) on the result make it: the signed part of the
/// multipart/signed is the encrypted entity. sealpost verified the
/// signature and said "not encrypted"; now it opens both layers.
#[test]
fn encrypt_then_clear_sign_opens_the_signed_encrypted_part() {
    let pki = Pki::new();
    let env = &pki.env;
    env.import_identity("alice");
    let encrypted = env.path("encrypted.eml");
    openssl_encrypt(&pki.content(), &data("alice.cert.pem"), &encrypted);
    let signed = env.path("signed.eml");
    run_tool(
        "openssl",
        &[
            "cms",
            "-sign",
            "-in",
            p(&encrypted),
            "-out",
            p(&signed),
            "-signer",
            p(&data("alice.cert.pem")),
            "-inkey",
            p(&data("alice.key.pem")),
        ],
    );
    assert!(std::fs::read_to_string(&signed)
        .unwrap()
        .contains("multipart/signed"));
    let out = run(env, &["decrypt", p(&signed)]);
    let stderr = success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Content-Type: text/plain\r\n\r\nthe plan is on\r\n"
    );
    assert!(stderr.contains("decrypted"), "{stderr}");
    assert!(stderr.contains("good signature"), "{stderr}");

    // Fail-closed as ever: the outer signature over other bytes is BAD,
    // and nothing is written.
    let text = std::fs::read_to_string(&signed).unwrap();
    let tampered = text.replacen(
        "Content-Type: application/pkcs7-mime",
        "Content-Type: application/pkcs7-mime; x=1",
        1,
    );
    assert_ne!(text, tampered);
    std::fs::write(env.path("tampered.eml"), tampered).unwrap();
    assert_clean_failure(&run(env, &["decrypt", p(&env.path("tampered.eml"))]), 65);
}

/// An encrypted message forwarded as message/rfc822 inside multipart/mixed:
/// "not encrypted" with no hint before; now the error names the part, and
/// `decrypt --part 2` opens it alone.
#[test]
fn forwarded_encrypted_message_is_named_and_opened_with_part() {
    let pki = Pki::new();
    let env = &pki.env;
    env.import_identity("alice");
    let encrypted = openssl_encrypted(&pki, &data("alice.cert.pem"), &[]);
    let mut message = b"From: carol@example.org\r\nTo: alice@example.org\r\nSubject: Fwd\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
--outer\r\nContent-Type: text/plain\r\n\r\nforwarding this\r\n\
--outer\r\nContent-Type: message/rfc822\r\n\r\n"
        .to_vec();
    message.extend_from_slice(&encrypted);
    message.extend_from_slice(b"\r\n--outer--\r\n");
    let path = env.path("forwarded.eml");
    std::fs::write(&path, &message).unwrap();

    let stderr = assert_clean_failure(&run(env, &["decrypt", p(&path)]), 65);
    assert!(
        stderr.contains("part 2 is an encrypted message"),
        "{stderr}"
    );
    assert!(stderr.contains("sealpost decrypt --part 2"), "{stderr}");

    let out = run(env, &["decrypt", "--part", "2", p(&path)]);
    success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Content-Type: text/plain\r\n\r\nthe plan is on\r\n"
    );
    // The plain part is not encrypted; a part that is not there is named.
    assert_clean_failure(&run(env, &["decrypt", "--part", "1", p(&path)]), 65);
    let out = run(env, &["decrypt", "--part", "3", p(&path)]);
    let stderr = assert_clean_failure(&out, 65);
    assert!(stderr.contains("no part 3"), "{stderr}");
}

/// A certificate without a SubjectKeyIdentifier, named by key id: the
/// SHA-1 of its subjectPublicKey (RFC 5280 §4.2.1.2 method 1), as Windows
/// does. OpenSSL 3.0 refuses `-keyid` for a certificate without the
/// extension, so the messages are made with a twin certificate of the same
/// key whose `subjectKeyIdentifier=hash` OpenSSL computes by that method;
/// the keystore and the signed message hold only the one without.
#[test]
fn certificate_without_ski_is_matched_by_key_id() {
    let pki = Pki::new();
    let env = &pki.env;
    let key = data("alice.key.pem");
    let csr = env.path("alice.csr");
    run_tool(
        "openssl",
        &[
            "req",
            "-new",
            "-key",
            p(&key),
            "-subj",
            "/CN=Alice",
            "-out",
            p(&csr),
        ],
    );
    let make = |name: &str, ski: &str| {
        let ext = env.path(&format!("{name}.ext"));
        std::fs::write(
            &ext,
            format!(
                "subjectKeyIdentifier={ski}\nauthorityKeyIdentifier=none\nbasicConstraints=CA:FALSE\n\
keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n\
subjectAltName=email:alice@example.org\n"
            ),
        )
        .unwrap();
        let cert = env.path(&format!("{name}.pem"));
        run_tool(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                p(&csr),
                "-signkey",
                p(&key),
                "-days",
                "30",
                "-extfile",
                p(&ext),
                "-out",
                p(&cert),
            ],
        );
        cert
    };
    let without = make("without", "none");
    let twin = make("twin", "hash");
    let text = String::from_utf8(run_tool(
        "openssl",
        &["x509", "-in", p(&without), "-noout", "-text"],
    ))
    .unwrap();
    assert!(!text.contains("Subject Key Identifier"), "{text}");
    env.cmd_pw()
        .args(["key", "import", p(&key), "--cert", p(&without)])
        .assert()
        .success();

    let encrypted = env.path("keyid.eml");
    std::fs::write(&encrypted, openssl_encrypted(&pki, &twin, &["-keyid"])).unwrap();
    assert!(decrypted(env, &encrypted).contains("the plan is on"));

    let signed = env.path("keyid-signed.eml");
    run_tool(
        "openssl",
        &[
            "cms",
            "-sign",
            "-keyid",
            "-nodetach",
            "-nocerts",
            "-in",
            p(&pki.content()),
            "-signer",
            p(&twin),
            "-inkey",
            p(&key),
            "-certfile",
            p(&without),
            "-out",
            p(&signed),
        ],
    );
    let stderr = success(&run(env, &["verify", p(&signed)]));
    assert!(stderr.contains("good signature"), "{stderr}");
}
