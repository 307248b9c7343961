//! Writes the starting corpus of every fuzz target into `fuzz/seeds/<target>/`
//! from the test data (tests/data keys and certificates) and the library's
//! own writers: envelopes under the fixed content key, signed data, S/MIME
//! messages, HTTP and JSON as both ends write them, BSMTP, DNS replies,
//! server conversations, config.toml. `openssl` (as the interop tests use)
//! makes the BER, PKCS#12 and encrypted PKCS#8 seeds.
//!
//! Run from the repository root: `cargo run --manifest-path fuzz/Cargo.toml --bin gen_seeds`.

use std::path::{Path, PathBuf};
use std::process::Command;

use rand::SeedableRng;
use sealpost::smime::certs::{self, CertInfo};
use sealpost::smime::envelope::{self, ContentCipher, ContentKey, RecipientOptions};
use sealpost::smime::message::SmimeType;
use sealpost::group::release::calls::{Op, SignedCall};
use sealpost::smime::keyref::{KeyRef, KeyRefKind};
use sealpost::group::release::protocol::{Refusal, RefusalCode, ReleaseGrant, ReleaseRequest};
use sealpost::smime::signed::{self, SignatureScheme};
use sealpost_fuzz::{FIXED_KEY_BYTE, SEED_KEK};

const PLAIN: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello, world\r\n";

struct Seeds {
    root: PathBuf,
}

impl Seeds {
    fn put(&self, target: &str, name: &str, data: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("seed directory");
        std::fs::write(dir.join(name), data).expect("write seed");
    }
}

fn data_file(name: &str) -> Vec<u8> {
    std::fs::read(Path::new("tests/data").join(name))
        .unwrap_or_else(|e| panic!("tests/data/{name}: {e} (run from the repository root)"))
}

fn cert(name: &str) -> CertInfo {
    certs::parse_bundle(&data_file(&format!("{name}.cert.pem")))
        .expect("fixture certificate")
        .remove(0)
}

/// Runs openssl with `args`; `None` (and a note) when it fails.
fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .ok()?;
    let mut input = child.stdin.take()?;
    input.write_all(stdin.unwrap_or_default()).ok()?;
    drop(input);
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        eprintln!("note: openssl {} failed; seed skipped", args.join(" "));
        return None;
    }
    Some(out.stdout)
}

/// `plaintext` encrypted under `cek`, and an envelope of it for `to`.
fn encrypt_to(
    to: &CertInfo,
    cek: &ContentKey,
    plaintext: &[u8],
    rng: &mut rand::rngs::StdRng,
) -> (envelope::EncryptedContent, Vec<u8>) {
    let content = cek.encrypt(plaintext, rng).expect("encrypt");
    let sealed = envelope::seal_for(&content, cek, &[&to.cert], RecipientOptions::default(), rng)
        .expect("seal");
    (content, sealed)
}

fn smime(der: &[u8], smime_type: &str) -> Vec<u8> {
    use base64::Engine;
    let mut out = format!(
        "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: seed\r\nMIME-Version: 1.0\r\n\
         Content-Type: application/pkcs7-mime; smime-type={smime_type}; name=smime.p7m\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    for line in b64.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn main() {
    let seeds = Seeds {
        root: PathBuf::from("fuzz/seeds"),
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let alice = cert("alice");
    let bob = cert("bob");
    let alice_key = sealpost::smime::privkey::import_key(&data_file("alice.key.pem"), None, "alice")
        .expect("alice key");
    let now = 1_780_000_000;

    // Signed data, opaque, both schemes; a detached one for multipart/signed.
    let sign_as_alice = |content: &[u8], scheme: SignatureScheme, rng: &mut rand::rngs::StdRng| {
        signed::sign(content, &alice_key, &alice, &[], scheme, now, rng).expect("sign")
    };
    let signed_pkcs1 = sign_as_alice(PLAIN, SignatureScheme::Pkcs1v15Sha256, &mut rng);
    let signed_pss = sign_as_alice(PLAIN, SignatureScheme::PssSha256, &mut rng);
    seeds.put("cms", "signed-pkcs1.der", &signed_pkcs1);
    seeds.put("cms", "signed-pss.der", &signed_pss);
    let signed_message = smime(&signed_pkcs1, "signed-data");
    seeds.put("decrypt", "signed.eml", &signed_message);
    seeds.put("mime", "signed.eml", &signed_message);

    let detached = openssl(
        &[
            "cms",
            "-sign",
            "-signer",
            "tests/data/alice.cert.pem",
            "-inkey",
            "tests/data/alice.key.pem",
            "-md",
            "sha256",
        ],
        Some(PLAIN),
    );
    if let Some(multipart) = &detached {
        seeds.put("decrypt", "multipart-signed.eml", multipart);
        seeds.put("mime", "multipart-signed.eml", multipart);
    }

    // Envelopes under the fixed key: to bob (key transport) and to a group
    // (KEK with a sealpost key reference), around several inner layers.
    let group_ref = KeyRef::new(KeyRefKind::GroupSecret, "crypto-list", [9; 16]).to_der();
    seeds.put("cms", "keyref.der", &group_ref);
    let mut inners: Vec<(&str, Vec<u8>)> = vec![
        ("plain", PLAIN.to_vec()),
        ("signed", signed_message.clone()),
    ];
    if let Some(multipart) = detached {
        inners.push(("multipart", multipart));
    }
    for cipher in [
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes256Cbc,
        ContentCipher::Aes128Gcm,
        ContentCipher::Aes256Gcm,
        ContentCipher::ChaCha20Poly1305,
    ] {
        let cek = ContentKey::from_bytes(cipher, &vec![FIXED_KEY_BYTE; cipher.key_len()])
            .expect("content key");
        let smime_type = match cipher.is_authenticated() {
            true => SmimeType::AuthEnvelopedData,
            false => SmimeType::EnvelopedData,
        };
        for (inner_name, inner) in &inners {
            let (content, to_bob) = encrypt_to(&bob, &cek, inner, &mut rng);
            let kek = envelope::kek_recipient(&group_ref, &SEED_KEK, &cek).expect("kek recipient");
            let to_group = envelope::assemble(&content, vec![kek]).expect("assemble");
            let name = format!("{}-{inner_name}", cipher.name());
            seeds.put("cms", &format!("{name}-bob.der"), &to_bob);
            seeds.put("cms", &format!("{name}-group.der"), &to_group);
            let message = sealpost::smime::message::write_smime_message(&[], None, &to_bob, smime_type);
            seeds.put("decrypt", &format!("{name}.eml"), &message);
            seeds.put("decrypt", &format!("{name}-group.der"), &to_group);
            if *inner_name == "plain" {
                seeds.put("mime", &format!("{name}.eml"), &message);
            }
        }
    }
    // Signed outside the encryption, and BER from `openssl cms -stream`.
    let cek = ContentKey::from_bytes(ContentCipher::Aes256Cbc, &[FIXED_KEY_BYTE; 32]).expect("key");
    let (_, inner_env) = encrypt_to(&bob, &cek, PLAIN, &mut rng);
    let inner_message =
        sealpost::smime::message::write_smime_message(&[], None, &inner_env, SmimeType::EnvelopedData);
    let outer = sign_as_alice(&inner_message, SignatureScheme::Pkcs1v15Sha256, &mut rng);
    seeds.put(
        "decrypt",
        "signed-around-enveloped.eml",
        &smime(&outer, "signed-data"),
    );
    for (name, cipher) in [("ber-cbc.der", "-aes256"), ("ber-gcm.der", "-aes-256-gcm")] {
        if let Some(ber) = openssl(
            &[
                "cms",
                "-encrypt",
                "-binary",
                "-stream",
                "-outform",
                "DER",
                cipher,
                "tests/data/bob.cert.pem",
            ],
            Some(PLAIN),
        ) {
            seeds.put("cms", name, &ber);
            seeds.put("decrypt", name, &ber);
        }
    }
    if let Some(pem) = openssl(
        &[
            "cms",
            "-encrypt",
            "-outform",
            "PEM",
            "-aes128",
            "tests/data/bob.cert.pem",
        ],
        Some(PLAIN),
    ) {
        seeds.put("decrypt", "enveloped.pem", &pem);
    }

    // MIME and messages.
    seeds.put("mime", "plain.eml", b"From: \"Alice A.\" <alice@example.org>\r\nTo: bob@example.org, Carol <carol@example.org>\r\nCc: undisclosed-recipients:;\r\nBcc: dave@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nDate: Sat, 5 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nbody\r\n");
    seeds.put("mime", "folded-lf.eml", b"From: alice@example.org\nTo: team: bob@example.org,\n  \"Eve, E\" <eve@example.org>;\nSubject: folded\n\tline\nContent-Type: multipart/mixed;\n boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nx\n--b1--\n");
    seeds.put("mime", "base64.txt", b"aGVsbG8sIHdvcmxkDQo=\r\nYWJj\r\n");
    seeds.put("mime", "mbox-from.eml", b"From alice@example.org Sat Dec  5 12:00:00 2026\nFrom: alice@example.org\nTo: list@example.org\n\nhi\n");
    seeds.put(
        "mime",
        "members.txt",
        b"# members\nalice@example.org\n\nBob <bob@example.org>\n\"q uoted\"@[192.0.2.1]\n",
    );

    // HTTP, both directions, pipelined.
    let request = ReleaseRequest {
        group: "crypto-list".into(),
        recipient_info: vec![0x30, 0x03, 0x02, 0x01, 0x00],
        certificate: bob.der.clone(),
        timestamp: now as u64,
        nonce: [7; 16],
        signature: vec![1; 256],
    };
    let mut http_requests = Vec::new();
    sealpost::group::http::write_post(
        &mut http_requests,
        "127.0.0.1:8443",
        "/v1/release",
        &request.to_json(),
    )
    .unwrap();
    sealpost::group::http::write_post(&mut http_requests, "127.0.0.1:8443", "/v1/members", b"{}").unwrap();
    seeds.put("http", "requests.http", &http_requests);
    let mut responses = Vec::new();
    let grant = ReleaseGrant {
        recipient_info: vec![0x30, 0x00],
        key_hash: "ab".repeat(32),
    };
    sealpost::group::http::write_response(&mut responses, 200, &grant.to_json(), true, None).unwrap();
    sealpost::group::http::write_response(
        &mut responses,
        429,
        &Refusal::new(RefusalCode::Malformed).to_json(),
        false,
        Some(30),
    )
    .unwrap();
    seeds.put("http", "responses.http", &responses);

    // Release and call JSON (first byte: which call).
    let with_selector = |op: u8, body: &[u8]| [&[op][..], body].concat();
    seeds.put(
        "release_json",
        "request.json",
        &with_selector(0, &request.to_json()),
    );
    seeds.put(
        "release_json",
        "grant.json",
        &with_selector(0, &grant.to_json()),
    );
    seeds.put(
        "release_json",
        "refusal.json",
        &with_selector(0, &Refusal::new(RefusalCode::NotMember).to_json()),
    );
    let payloads: [(Op, &[u8]); 5] = [
        (Op::Members, b"{}"),
        (Op::Rewrap, b"{\"recipient_info\":\"MAA=\"}"),
        (Op::Secrets, b"{}"),
        (
            Op::Deposit,
            b"{\"readers\":{\"certificates\":[\"00ff\"]},\"expires\":1780000000}",
        ),
        (
            Op::Revoke,
            b"{\"deposit_id\":\"00112233445566778899aabbccddeeff\"}",
        ),
    ];
    for (i, (op, payload)) in payloads.iter().enumerate() {
        let call = SignedCall {
            op: *op,
            group: "crypto-list".into(),
            payload: payload.to_vec(),
            certificate: alice.der.clone(),
            timestamp: now as u64,
            nonce: [3; 16],
            signature: vec![2; 64],
        };
        seeds.put(
            "release_json",
            &format!("call-{}.json", op.as_str()),
            &with_selector(i as u8, &call.to_json()),
        );
    }
    let answers: [&[u8]; 5] = [
        b"{\"members\":[{\"address\":\"bob@example.org\",\"certificate\":\"MAA=\"}]}",
        b"{\"recipient_info\":\"MAA=\",\"key_id\":\"00ff\"}",
        b"{\"secrets\":[{\"key_id\":\"00ff\",\"created\":1,\"current\":true,\"recipient_info\":\"MAA=\"}]}",
        b"{\"deposit_id\":\"00ff\",\"key\":\"MAA=\",\"expires\":18446744073709551615}",
        b"{\"revoked\":true}",
    ];
    for (i, a) in answers.iter().enumerate() {
        seeds.put(
            "release_json",
            &format!("answer-{i}.json"),
            &with_selector(0, a),
        );
    }

    // Server conversations (first byte: 0 plain, 1 STARTTLS).
    let conversation = |first: u8, text: &str| [&[first][..], text.as_bytes()].concat();
    seeds.put("imap", "fetch.txt", &conversation(0, "* OK [CAPABILITY IMAP4rev1] ready\r\n\
        a101 OK LOGIN completed\r\n\
        * CAPABILITY IMAP4rev1 UIDPLUS COMPRESS=DEFLATE\r\na102 OK done\r\n\
        a103 NO no compression today\r\n\
        * FLAGS (\\Answered \\Seen)\r\n* 2 EXISTS\r\n* OK [UIDVALIDITY 1700000000] UIDs valid\r\n* OK [PERMANENTFLAGS (\\Deleted \\*)] ok\r\na104 OK [READ-WRITE] SELECT completed\r\n\
        * 1 FETCH (UID 7 RFC822.SIZE 40)\r\n* 2 FETCH (RFC822.SIZE 12 UID 9 FLAGS (\\Seen))\r\na105 OK done\r\n\
        * 1 FETCH (UID 7 BODY[] {40}\r\nSubject: one\r\n\r\nhello, this is forty\r\n)\r\na106 OK done\r\n\
        * 2 FETCH (UID 9 BODY[] \"Subject: q\")\r\na107 OK done\r\n\
        a108 OK stored\r\na109 OK expunged\r\n* BYE logging out\r\na110 OK done\r\n"));
    seeds.put(
        "imap",
        "starttls.txt",
        &conversation(1, "* OK ready\r\na1 OK begin TLS\r\n"),
    );
    seeds.put("imap", "preauth-empty.txt", &conversation(0, "* PREAUTH hi\r\na101 OK\r\na102 OK\r\n* 0 EXISTS\r\n* OK [UIDVALIDITY 1]\r\na103 OK\r\na104 OK\r\n"));
    seeds.put("pop3", "fetch.txt", &conversation(0, "+OK POP3 ready\r\n+OK user\r\n+OK pass\r\n\
        +OK uidl follows\r\n1 uid-one\r\n2 uid-two\r\n.\r\n+OK list follows\r\n1 20\r\n2 30\r\n.\r\n\
        +OK message follows\r\nSubject: one\r\n\r\n..dot-stuffed\r\n.\r\n\
        +OK message follows\r\nSubject: two\r\n\r\nbody\r\n.\r\n+OK deleted\r\n+OK deleted\r\n+OK bye\r\n"));
    seeds.put(
        "pop3",
        "stls.txt",
        &conversation(1, "+OK ready\r\n+OK begin TLS\r\n"),
    );
    seeds.put(
        "pop3",
        "refused.txt",
        &conversation(0, "+OK ready\r\n+OK\r\n-ERR [AUTH] wrong password\r\n"),
    );
    let ehlo = "250-mx.example.org\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 10240000\r\n";
    seeds.put("smtp", "pipelined.txt", &conversation(0, &format!("220 mx.example.org ESMTP\r\n{ehlo}235 2.7.0 ok\r\n\
        250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go on\r\n250 2.0.0 queued as ABC\r\n\
        250 2.0.0 reset\r\n250 2.1.0 ok\r\n451 4.3.0 try later\r\n452 4.5.3 too many\r\n221 bye\r\n")));
    let plain_ehlo = "250-mx.example.org\r\n250-AUTH LOGIN\r\n250 8BITMIME\r\n";
    seeds.put("smtp", "one-by-one.txt", &conversation(0, &format!("220 mx ESMTP\r\n{plain_ehlo}334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n\
        250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n250 reset\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n554-5.7.1 rejected\r\n554 5.7.1 spam\r\n221 bye\r\n")));
    seeds.put(
        "smtp",
        "starttls.txt",
        &conversation(
            1,
            "220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n",
        ),
    );

    // Batch SMTP.
    let mut bsmtp_stream = Vec::new();
    sealpost::smime::bsmtp::write(
        &mut bsmtp_stream,
        &[
            sealpost::smime::bsmtp::Transaction {
                mail_from: "list@example.org".into(),
                rcpt_to: vec!["bob@example.org".into(), "carol@example.org".into()],
                data: b"Subject: x\r\n\r\n.starts with a dot\r\n".to_vec(),
            },
            sealpost::smime::bsmtp::Transaction {
                mail_from: String::new(),
                rcpt_to: vec!["dave@example.org".into()],
                data: PLAIN.to_vec(),
            },
        ],
    )
    .unwrap();
    seeds.put("bsmtp", "two.bsmtp", &bsmtp_stream);
    seeds.put("bsmtp", "lf-helo.bsmtp", b"HELO relay\nMAIL FROM:<a@example.org> BODY=8BITMIME\nRCPT TO:<b@example.org>\nDATA\nhi\n..x\n.\nRSET\nQUIT\n");

    // DNS replies to SRV questions, with compression and a CNAME.
    for (name, protocol_names) in [
        ("imaps.dns", "_imaps._tcp.example.org"),
        ("submissions.dns", "_submissions._tcp.example.org"),
        ("pop3s.dns", "_pop3s._tcp.example.org"),
    ] {
        let mut msg = sealpost::mail::srv::build_query(0x1234, protocol_names).expect("query");
        msg[2] = 0x81; // response, recursion desired
        msg[3] = 0x80; // recursion available, NOERROR
        msg[7] = 3; // three answers
        let rr = |msg: &mut Vec<u8>, rtype: u16, rdata: &[u8]| {
            msg.extend_from_slice(&[0xc0, 12]);
            msg.extend_from_slice(&rtype.to_be_bytes());
            msg.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
            msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            msg.extend_from_slice(rdata);
        };
        let srv_rdata = |prio: u16, weight: u16, port: u16, target: &[u8]| {
            let mut d = Vec::new();
            d.extend_from_slice(&prio.to_be_bytes());
            d.extend_from_slice(&weight.to_be_bytes());
            d.extend_from_slice(&port.to_be_bytes());
            d.extend_from_slice(target);
            d
        };
        rr(
            &mut msg,
            33,
            &srv_rdata(10, 60, 993, b"\x04mail\x07example\x03org\x00"),
        );
        rr(&mut msg, 33, &srv_rdata(10, 40, 993, b"\x05mail2\xc0\x18"));
        rr(&mut msg, 5, b"\x05alias\xc0\x18");
        seeds.put("dns", name, &msg);
    }
    seeds.put("dns", "resolv.conf", b"# comment\nnameserver 127.0.0.53\nnameserver ::1\nnameserver fe80::1%eth0\noptions edns0\n");

    // Keys and certificates.
    for who in ["alice", "bob", "carol"] {
        seeds.put(
            "keys",
            &format!("{who}.cert.pem"),
            &data_file(&format!("{who}.cert.pem")),
        );
    }
    let key_pem = data_file("carol.key.pem");
    seeds.put("keys", "carol.key.pem", &key_pem);
    let der = |args: &[&str]| openssl(args, Some(&key_pem));
    if let Some(k) = der(&["pkey", "-outform", "DER"]) {
        seeds.put("keys", "carol.pkcs8.der", &k);
    }
    if let Some(k) = der(&["rsa", "-traditional"]) {
        seeds.put("keys", "carol.pkcs1.pem", &k);
    }
    if let Some(k) = der(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-iter",
        "1",
        "-passout",
        "pass:fuzz",
    ]) {
        seeds.put("keys", "carol.pkcs8-encrypted.pem", &k);
    }
    if let Some(p12) = openssl(
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "tests/data/carol.key.pem",
            "-in",
            "tests/data/carol.cert.pem",
            "-passout",
            "pass:fuzz",
            "-iter",
            "1",
            "-maciter",
            "-macalg",
            "sha256",
        ],
        None,
    ) {
        seeds.put("keys", "carol.p12", &p12);
    }
    seeds.put("keys", "bob.cert.der", &bob.der);
    let mut bundle = data_file("alice.cert.pem");
    bundle.extend_from_slice(&data_file("bob.cert.pem"));
    seeds.put("keys", "bundle.pem", &bundle);
    if let Some(p7) = openssl(
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "tests/data/alice.cert.pem",
            "-certfile",
            "tests/data/bob.cert.pem",
            "-outform",
            "DER",
        ],
        None,
    ) {
        seeds.put("keys", "bundle.p7b", &p7);
    }

    // config.toml.
    seeds.put(
        "config",
        "config.toml",
        br#"# sealpost configuration
[outbox]
keep_sent = "30d"

[accounts.work]
user = "alice@example.org"
smtp = ["smtps://smtp.example.org", "smtp://backup.example.org:587"]
imap = "imaps://imap.example.org:993"
ca_file = "/etc/ssl/work-ca.pem"
password_file = "/home/alice/.work-pass"
maildir = "/home/alice/Mail/work"

[accounts.home]
user = "alice"
domain = "example.net"
pop3 = "pop3://127.0.0.1:1110"
smtp = "smtp://127.0.0.1:2525"
insecure_plaintext = true
password = "hunter2"

[accounts.found]
user = "carol"
domain = "example.com"
smtp = "srv"
pop3 = "srv"
maildir = "relative/Mail"
"#,
    );
    eprintln!("seeds written under {}", seeds.root.display());
}
