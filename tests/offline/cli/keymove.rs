//! Keys that move in and out (`key export --p12/--pkcs8`) and certificates
//! from a real CA (`key csr`, `key import-cert`), each checked by the peer
//! that reads or writes it: NSS `pk12util`/`certutil`, `openssl pkcs12`,
//! `openssl pkey`, gpgsm, an OpenSSL test CA, and `openssl cms` on the
//! identity that comes back.
//!
//! What a peer does not read, and is therefore not asked to: gpgsm 2.2
//! refuses PBES2 PKCS#12 (OpenSSL's own default export as much as
//! sealpost's) and gets the --legacy one.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::{
    assert_clean_failure, data, openssl_decrypt_with, run_tool, tool, write_secret, Env,
};

const EXPORT_PASSWORD: &str = "export password";

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn ok(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// A keystore holding the fixture identity `name`, and the export password file.
fn env_with(name: &str) -> Env {
    let env = Env::new();
    env.import_identity(name);
    write_secret(&env.path("export-pw"), &format!("{EXPORT_PASSWORD}\n"));
    env
}

/// `key export WHO FLAGS --export-password-file …` in `env`.
fn export(env: &Env, who: &str, flags: &[&str]) -> std::process::Output {
    env.cmd_pw()
        .args(["key", "export", who])
        .args(flags)
        .arg("--export-password-file")
        .arg(env.path("export-pw"))
        .output()
        .unwrap()
}

/// Imports `p12` into a new NSS database in `dir` as Thunderbird would;
/// returns what `certutil` lists: (keys, certificates).
fn nss_import(dir: &Path, p12: &Path) -> (String, String) {
    std::fs::create_dir(dir).unwrap();
    let db = format!("sql:{}", p(dir));
    run_tool("certutil", &["-N", "-d", &db, "--empty-password"]);
    run_tool(
        "pk12util",
        &["-i", p(p12), "-d", &db, "-W", EXPORT_PASSWORD, "-K", ""],
    );
    let list = |flag| String::from_utf8(run_tool("certutil", &[flag, "-d", &db])).unwrap();
    (list("-K"), list("-L"))
}

/// `openssl req -verify -text` of a request whose signature must verify.
fn openssl_verified_request(csr: &Path) -> String {
    let req = Command::new("openssl")
        .args(["req", "-verify", "-noout", "-text", "-in", p(csr)])
        .output()
        .unwrap();
    let text = ok(&req) + &String::from_utf8_lossy(&req.stdout);
    assert!(text.contains("verify OK"), "{text}");
    text
}

/// The public key of a private key file or certificate, as OpenSSL prints it.
fn openssl_public_key(args: &[&str]) -> Vec<u8> {
    run_tool("openssl", args)
}

#[test]
fn p12_exports_import_into_nss_openssl_gpgsm_and_a_fresh_keystore() {
    let env = env_with("alice");
    let alice_pub = openssl_public_key(&["pkey", "-in", p(&data("alice.key.pem")), "-pubout"]);
    for (legacy, mac, cipher) in [
        (false, "MAC: sha256", "PBES2, PBKDF2, AES-256-CBC"),
        (true, "MAC: sha1", "pbeWithSHA1And3-KeyTripleDES-CBC"),
    ] {
        let file = env.path(if legacy { "legacy.p12" } else { "modern.p12" });
        let mut flags = vec!["--p12", "-o", p(&file)];
        if legacy {
            flags.push("--legacy");
        }
        ok(&export(&env, "alice@example.org", &flags));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        // OpenSSL 3 reads both (3DES is in its default provider; only RC2
        // would need -legacy) and names the schemes.
        let pass = format!("pass:{EXPORT_PASSWORD}");
        let info = Command::new("openssl")
            .args([
                "pkcs12",
                "-info",
                "-nodes",
                "-in",
                p(&file),
                "-passin",
                &pass,
            ])
            .output()
            .unwrap();
        let text = ok(&info);
        assert!(text.contains(mac), "{text}");
        assert!(
            text.contains(&format!("Shrouded Keybag: {cipher}")),
            "{text}"
        );
        let dump = String::from_utf8_lossy(&info.stdout);
        assert!(dump.contains("-----BEGIN PRIVATE KEY-----"));
        assert!(dump.contains("subject=CN = alice test"), "{dump}");
        let key = env.path("from-p12.key");
        std::fs::write(&key, dump.as_bytes()).unwrap();
        assert_eq!(
            openssl_public_key(&["pkey", "-in", p(&key), "-pubout"]),
            alice_pub
        );

        // NSS (Thunderbird, Firefox): pk12util imports key and certificate.
        let nss = env.path(if legacy { "nss-legacy" } else { "nss-modern" });
        let (keys, certs) = nss_import(&nss, &file);
        assert!(keys.contains("rsa") && keys.contains("alice"), "{keys}");
        assert!(
            certs.contains("u,u,u"),
            "the certificate has its key: {certs}"
        );

        // A fresh sealpost keystore gets the same identity back.
        let fresh = Env::new();
        write_secret(&fresh.path("p12-pw"), &format!("{EXPORT_PASSWORD}\n"));
        ok(&fresh
            .cmd_pw()
            .args(["key", "import"])
            .arg(&file)
            .arg("--p12-password-file")
            .arg(fresh.path("p12-pw"))
            .output()
            .unwrap());
        let list = |e: &Env| {
            let out = e.cmd().args(["--json", "key", "list"]).output().unwrap();
            ok(&out);
            crate::json_document::document(&out.stdout, "key list")["identities"][0]["fingerprint"]
                .clone()
        };
        assert_eq!(list(&fresh), list(&env));
    }

    // gpgsm 2.2 reads the legacy file (and, like OpenSSL's own default
    // export, not the PBES2 one).
    let home = tempfile::Builder::new()
        .prefix("gpg")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::write(
        home.path().join("gpg-agent.conf"),
        "allow-loopback-pinentry\n",
    )
    .unwrap();
    let gpgsm = |args: &[&str], stdin: &[u8]| {
        use std::io::Write;
        let mut child = Command::new("gpgsm")
            .env("GNUPGHOME", home.path())
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase-fd",
                "0",
            ])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        ok(&out);
        out.stdout
    };
    let pw = format!("{EXPORT_PASSWORD}\n{EXPORT_PASSWORD}\n{EXPORT_PASSWORD}\n");
    gpgsm(&["--import", p(&env.path("legacy.p12"))], pw.as_bytes());
    let secret = String::from_utf8(gpgsm(&["--list-secret-keys"], b"")).unwrap();
    crate::common::stop_gnupg_daemons(home.path());
    assert!(secret.contains("alice@example.org"), "{secret}");
}

#[test]
fn pkcs8_export_opens_in_openssl_and_nothing_leaks_on_the_way() {
    let env = env_with("alice");
    let file = env.path("alice.key");
    ok(&export(
        &env,
        "alice@example.org",
        &["--pkcs8", "-o", p(&file)],
    ));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let parsed = String::from_utf8(run_tool("openssl", &["asn1parse", "-in", p(&file)])).unwrap();
    assert!(
        parsed.contains("hmacWithSHA256") && parsed.contains("aes-256-cbc"),
        "{parsed}"
    );
    let pass = format!("pass:{EXPORT_PASSWORD}");
    assert_eq!(
        openssl_public_key(&["pkey", "-in", p(&file), "-passin", &pass, "-pubout"]),
        openssl_public_key(&["pkey", "-in", p(&data("alice.key.pem")), "-pubout"])
    );
    // To stdout when asked (not a terminal here).
    let out = export(&env, "alice@example.org", &["--pkcs8", "-o", "-"]);
    ok(&out);
    assert!(out
        .stdout
        .starts_with(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"));

    // An existing file is never replaced, and nothing is asked first.
    let again = env
        .cmd()
        .args(["key", "export", "alice@example.org", "--pkcs8", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    let err = assert_clean_failure(&again, 73);
    assert!(err.contains("exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    // A key only goes to a file or stdout named with -o.
    let usage = env
        .cmd_pw()
        .args(["key", "export", "alice@example.org", "--p12"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(64));
    // No export password and no terminal: a configuration error naming the flags.
    let missing = env
        .cmd_pw()
        .args(["key", "export", "alice@example.org", "--pkcs8", "-o"])
        .arg(env.path("other.key"))
        .output()
        .unwrap();
    let err = assert_clean_failure(&missing, 78);
    assert!(err.contains("--export-password-file"), "{err}");
    assert!(!env.path("other.key").exists());
    // A wrong keystore passphrase unlocks nothing.
    write_secret(&env.path("wrong"), "wrong\n");
    let wrong = env
        .cmd()
        .arg("--passphrase-file")
        .arg(env.path("wrong"))
        .args(["key", "export", "alice@example.org", "--pkcs8", "-o"])
        .arg(env.path("other.key"))
        .arg("--export-password-file")
        .arg(env.path("export-pw"))
        .output()
        .unwrap();
    assert_clean_failure(&wrong, 77);
    assert!(!env.path("other.key").exists());
}

/// A test CA made by OpenSSL from a fixture key (no RSA key generated), and
/// the S/MIME extensions it puts in what it issues.
fn openssl_ca(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
    let ca = env.path("ca.pem");
    run_tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            p(&data("carol.key.pem")),
            "-subj",
            "/CN=sealpost test CA",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            p(&ca),
        ],
    );
    let ext = env.path("smime.ext");
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=emailProtection\n\
         subjectAltName=email:copy\n\
         subjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    (ca, ext)
}

#[test]
fn a_request_signed_by_an_openssl_ca_comes_back_as_a_working_identity() {
    let env = env_with("bob");
    let csr = env.path("bob.csr");
    ok(&env
        .cmd_pw()
        .args([
            "key",
            "csr",
            "bob@example.org",
            "--name",
            "Bob Example",
            "-o",
        ])
        .arg(&csr)
        .output()
        .unwrap());
    let text = openssl_verified_request(&csr);
    for want in [
        "CN = Bob Example, emailAddress = bob@example.org",
        "email:bob@example.org",
        "Digital Signature, Key Encipherment",
        "E-mail Protection",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }

    // The CA issues; the certificate and its CA come back as one PEM bundle.
    let (ca, ext) = openssl_ca(&env);
    let issued = env.path("bob-issued.pem");
    run_tool(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            p(&csr),
            "-CA",
            p(&ca),
            "-CAkey",
            p(&data("carol.key.pem")),
            "-set_serial",
            "4242",
            "-days",
            "30",
            "-extfile",
            p(&ext),
            "-out",
            p(&issued),
        ],
    );
    let bundle = env.path("bundle.pem");
    let mut both = std::fs::read(&ca).unwrap();
    both.extend(std::fs::read(&issued).unwrap());
    std::fs::write(&bundle, both).unwrap();

    // Someone else's certificate is for no key here: refused, nothing kept.
    let foreign = env
        .cmd()
        .args(["key", "import-cert"])
        .arg(data("carol.cert.pem"))
        .output()
        .unwrap();
    let err = assert_clean_failure(&foreign, 67);
    assert!(err.contains("for no key in this keystore"), "{err}");

    // Installed without a passphrase; the new certificate is the current one,
    // the old one stays, and the CA is not made a trust anchor.
    ok(&env
        .cmd()
        .args(["key", "import-cert"])
        .arg(&bundle)
        .output()
        .unwrap());
    let out = env.cmd().args(["--json", "key", "list"]).output().unwrap();
    ok(&out);
    let doc = crate::json_document::document(&out.stdout, "key list");
    let idents = doc["identities"].as_array().unwrap();
    assert_eq!(idents.len(), 2);
    assert_eq!(idents[0]["serial"], "1092", "{doc}");
    assert!(!env.keystore().join("anchors").exists());

    // OpenSSL encrypts to the issued certificate; sealpost decrypts.
    let content = env.path("content.txt");
    std::fs::write(&content, "Content-Type: text/plain\r\n\r\nvia the CA\r\n").unwrap();
    for (cert, name) in [(&issued, "new.eml"), (&data("bob.cert.pem"), "old.eml")] {
        let eml = env.path(name);
        crate::common::openssl_encrypt(&content, cert, &eml);
        let got = env
            .cmd_pw()
            .arg("decrypt")
            .write_stdin(std::fs::read(&eml).unwrap())
            .output()
            .unwrap();
        ok(&got);
        assert!(
            String::from_utf8_lossy(&got.stdout).contains("via the CA"),
            "{name}"
        );
    }

    // sealpost signs with it (and encrypts to it, as to self); OpenSSL
    // decrypts with the issued certificate and verifies under the CA alone.
    let msg = "From: bob@example.org\r\nTo: bob@example.org\r\nSubject: signed\r\n\r\nsigned via the CA\r\n";
    let out = env
        .cmd_pw()
        .args(["encrypt", "--eml", "--sign", "--cipher", "aes256-cbc"])
        .write_stdin(msg)
        .output()
        .unwrap();
    ok(&out);
    let eml = env.path("signed.eml");
    std::fs::write(&eml, &out.stdout).unwrap();
    let signed = openssl_decrypt_with(&eml, &issued, &data("bob.key.pem"));
    let layer = env.path("signed-layer.eml");
    std::fs::write(&layer, signed).unwrap();
    let verified = tool(
        "openssl",
        &[
            "cms",
            "-verify",
            "-binary",
            "-in",
            p(&layer),
            "-CAfile",
            p(&ca),
        ],
        None,
    );
    assert!(String::from_utf8_lossy(&verified).contains("signed via the CA"));

    // Exported again, the identity carries its CA in the PKCS#12.
    let p12 = env.path("bob.p12");
    ok(&export(&env, "bob@example.org", &["--p12", "-o", p(&p12)]));
    let pass = format!("pass:{EXPORT_PASSWORD}");
    let dump = String::from_utf8(run_tool(
        "openssl",
        &["pkcs12", "-in", p(&p12), "-passin", &pass, "-nokeys"],
    ))
    .unwrap();
    assert!(dump.contains("subject=CN = sealpost test CA"), "{dump}");
    assert!(dump.contains("subject=CN = Bob Example"), "{dump}");
}

/// CAs back-date what they issue: a certificate from before the key's
/// self-signed one is still the one used once installed, and the old one
/// stays for old mail.
#[test]
fn a_back_dated_certificate_from_a_ca_still_becomes_the_current_one() {
    use crate::cli::pki::{Ca, LONG_AGO};
    let env = env_with("bob");
    let ca = Ca::root(env.dir.path(), "ca", "carol", "/CN=Back-dating CA");
    ca.add_section(
        "ee_bob",
        &[
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=emailProtection",
            "subjectAltName=email:bob@example.org",
        ],
    );
    let issued = ca.issue("bob", "/CN=Bob", "ee_bob", LONG_AGO, "20991231000000Z");
    ok(&env
        .cmd()
        .args(["key", "import-cert"])
        .arg(&issued)
        .output()
        .unwrap());
    let out = env
        .cmd()
        .args(["--json", "key", "list", "bob@example.org"])
        .output()
        .unwrap();
    ok(&out);
    let doc = crate::json_document::document(&out.stdout, "key list");
    let idents = doc["identities"].as_array().unwrap();
    assert_eq!(idents.len(), 2);
    assert!(
        idents[0]["subject"].as_str().unwrap().contains("CN=Bob"),
        "{doc}"
    );
    assert_eq!(idents[0]["not_before"], "2020-01-01T00:00:00Z");
    // `key export` (and signing) use it.
    let pem = env
        .cmd()
        .args(["key", "export", "bob@example.org"])
        .output()
        .unwrap();
    ok(&pem);
    assert_eq!(
        pem.stdout,
        run_tool("openssl", &["x509", "-in", p(&issued)])
    );
}

/// EC identities move and get certified the same way: a P-256 key, and an
/// Ed25519 identity, whose request the Ed25519 key signs (its X25519 key
/// cannot). NSS imports the P-256 PKCS#12; it has no X25519 private keys.
#[test]
fn ec_identities_export_and_request_certificates_too() {
    let env = Env::new();
    write_secret(&env.path("export-pw"), &format!("{EXPORT_PASSWORD}\n"));
    let pass = format!("pass:{EXPORT_PASSWORD}");
    for (alg, text) in [("p256", "ASN1 OID: prime256v1"), ("ed25519", "ED25519")] {
        let email = format!("{alg}@example.org");
        ok(&env
            .cmd_pw()
            .args(["key", "generate", "--email", &email, "--algorithm", alg])
            .output()
            .unwrap());
        let p12 = env.path(&format!("{alg}.p12"));
        ok(&export(&env, &email, &["--p12", "-o", p(&p12)]));
        let dump = String::from_utf8(run_tool(
            "openssl",
            &["pkcs12", "-in", p(&p12), "-passin", &pass, "-nodes"],
        ))
        .unwrap();
        assert!(dump.contains("-----BEGIN PRIVATE KEY-----"), "{dump}");
        let csr = env.path(&format!("{alg}.csr"));
        ok(&env
            .cmd_pw()
            .args(["key", "csr", &email, "-o", p(&csr)])
            .output()
            .unwrap());
        let shown = openssl_verified_request(&csr);
        assert!(shown.contains(text), "{shown}");
        assert!(shown.contains(&format!("email:{email}")), "{shown}");
    }
    let (keys, _) = nss_import(&env.path("nss"), &env.path("p256.p12"));
    assert!(keys.contains("ec "), "{keys}");
}
