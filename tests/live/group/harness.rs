//! The setting of every group test: an operator with a store and TLS files,
//! the fixture members, messages sealed to a group certificate, signed
//! requests, and two clients: the library's keep-alive [`Connection`] and a
//! raw TLS connection for bytes the library would never send.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cms::enveloped_data::{KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo};
use der::{Decode, Encode};
use rand_core::{OsRng, RngCore};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::RsaPrivateKey;
use sealpost::group::http::Response;
use sealpost::group::release::client::{
    sign_request, Answer, Connection, ReleaseClient, ServerUrl,
};
use sealpost::group::release::protocol::{key_hash, RefusalCode, ReleaseGrant, ReleaseRequest};
use sealpost::smime::envelope::{
    key_trans_recipient, ContentCipher, ContentKey, KeyTransport, RecipientOptions,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use super::server::{admin, serve_command, tls_files, Served, TlsFiles};

pub const PASSPHRASE: &str = "group server passphrase";
/// `group serve` arguments lifting the per-member and per-address rate
/// limits, for many clients on one loopback address.
pub const UNLIMITED: &[&str] = &[
    "--rate-limit",
    "100000/s",
    "--burst",
    "100000",
    "--address-rate-limit",
    "100000/s",
    "--address-burst",
    "100000",
];

/// The group most tests use; bob and carol are its members, dave is not.
pub const LIST: &str = "list";

/// A fixture identity from tests/data.
pub struct Member {
    pub address: String,
    pub key: RsaPrivateKey,
    pub cert_der: Vec<u8>,
    pub cert: Certificate,
    pub cert_file: PathBuf,
}

impl Member {
    /// SHA-256 of the certificate, hex: how the server names the member.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(&self.cert_der))
    }
}

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn member(name: &str) -> Member {
    let pem = std::fs::read_to_string(data(&format!("{name}.key.pem"))).unwrap();
    let key = sealpost::smime::privkey::open_rsa(&pem, None, name).unwrap();
    let cert_file = data(&format!("{name}.cert.pem"));
    let cert_der = sealpost::smime::certs::parse_bundle(&std::fs::read(&cert_file).unwrap())
        .unwrap()
        .remove(0)
        .der;
    Member {
        address: format!("{name}@example.org"),
        key,
        cert: Certificate::from_der(&cert_der).unwrap(),
        cert_der,
        cert_file,
    }
}

pub fn now() -> u64 {
    sealpost::smime::certs::now() as u64
}

/// The group server's side: a keystore directory holding the store (or a
/// PostgreSQL URL), and TLS files.
pub struct Operator {
    pub dir: tempfile::TempDir,
    pub tls: TlsFiles,
    /// `--store` for every command, when not the keystore's SQLite file.
    pub store: Option<String>,
}

impl Operator {
    pub fn new() -> Operator {
        let dir = tempfile::tempdir().unwrap();
        let tls = tls_files(&dir.path().join("tls"));
        Operator {
            dir,
            tls,
            store: None,
        }
    }

    /// An operator whose commands and servers use the store at `url`.
    pub fn on_store(url: &str) -> Operator {
        Operator {
            store: Some(url.to_string()),
            ..Operator::new()
        }
    }

    /// `args` with `--store URL` appended when the operator has one.
    pub fn with_store<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        if let Some(url) = &self.store {
            all.extend(["--store", url.as_str()]);
        }
        all
    }

    pub fn keystore(&self) -> PathBuf {
        self.dir.path().join("keystore")
    }

    /// The SQLite store and its WAL, as they are on disk.
    pub fn store_files(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for name in ["groups.sqlite3", "groups.sqlite3-wal"] {
            if let Ok(bytes) = std::fs::read(self.keystore().join(name)) {
                all.extend_from_slice(&bytes);
            }
        }
        all
    }

    /// Runs `sealpost ARGS` on the store (a separate process), returning stdout.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        admin(&self.keystore(), PASSPHRASE, &self.with_store(args))
    }

    /// The document of `sealpost --json ARGS` (`command`), checked against
    /// its documented shape.
    pub fn run_json(&self, command: &str, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        crate::json_document::document(&self.run(&all), command)
    }

    /// Creates a group with a 2048-bit key; returns its certificate.
    pub fn create_group(&self, name: &str) -> Certificate {
        let email = format!("{name}@lists.example");
        self.run(&["group", "create", name, "--email", &email, "--bits", "2048"]);
        self.group_cert(name)
    }

    pub fn group_cert(&self, name: &str) -> Certificate {
        Certificate::from_der(&self.run(&["group", "cert", name, "--der"])).unwrap()
    }

    pub fn add_member(&self, group: &str, m: &Member) {
        self.run(&["group", "add-member", group, m.cert_file.to_str().unwrap()]);
    }

    /// The addresses `group members --json` lists.
    pub fn members(&self, group: &str) -> Vec<String> {
        self.run_json("group members", &["group", "members", group])["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["address"].as_str().unwrap().to_string())
            .collect()
    }

    /// The rows of `group audit --json`.
    pub fn audit(&self, group: &str) -> Vec<Value> {
        self.run_json("group audit", &["group", "audit", group])["rows"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Starts `sealpost group serve` on the store with `extra` arguments.
    pub fn serve(&self, extra: &[&str]) -> Served {
        Served::start(serve_command(
            &self.keystore(),
            PASSPHRASE,
            &self.tls,
            &self.with_store(extra),
        ))
    }

    /// A release client that trusts the test CA.
    pub fn client(&self) -> ReleaseClient {
        let ca = std::fs::read(&self.tls.ca).unwrap();
        ReleaseClient::new(Some(&ca), Duration::from_secs(20)).unwrap()
    }

    pub fn connect(&self, server: &Served) -> Connection {
        let url: ServerUrl = server.url().parse().unwrap();
        self.client().connect(&url).unwrap()
    }

    /// A raw TLS connection to `server`.
    pub fn raw(&self, server: &Served) -> Raw {
        self.raw_over(TcpStream::connect(server.addr).unwrap())
    }

    /// A raw TLS connection over `tcp`, already connected to the server.
    pub fn raw_over(&self, tcp: TcpStream) -> Raw {
        let ca = std::fs::read(&self.tls.ca).unwrap();
        let config = sealpost::mail::tls::TlsSetup::new(Some(&ca))
            .unwrap()
            .client_config();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let name = "localhost".try_into().unwrap();
        let conn = rustls::ClientConnection::new(config, name).unwrap();
        Raw {
            stream: BufReader::new(rustls::StreamOwned::new(conn, tcp)),
        }
    }
}

/// A group with bob and carol as members (dave is not), and its server running.
pub struct List {
    pub op: Operator,
    pub cert: Certificate,
    pub server: Served,
}

impl List {
    /// The list, served with `serve_args`.
    pub fn start(serve_args: &[&str]) -> List {
        let op = Operator::new();
        let cert = op.create_group(LIST);
        for name in ["bob", "carol"] {
            op.add_member(LIST, &member(name));
        }
        let server = op.serve(serve_args);
        List { op, cert, server }
    }

    pub fn connect(&self) -> Connection {
        self.op.connect(&self.server)
    }

    pub fn raw(&self) -> Raw {
        self.op.raw(&self.server)
    }

    /// Sends one request on a new connection.
    pub fn release(&self, req: &ReleaseRequest) -> Answer {
        self.connect().release(req).unwrap()
    }
}

/// A message's entry for a group: the content key the sender chose and the
/// RecipientInfo (DER) wrapping it to the group certificate.
#[derive(Clone)]
pub struct Sealed {
    pub content_key: Vec<u8>,
    pub entry: Vec<u8>,
}

impl Sealed {
    pub fn key_hash(&self) -> String {
        key_hash(&self.entry)
    }
}

fn transport_options(transport: KeyTransport) -> RecipientOptions {
    RecipientOptions {
        transport,
        ..Default::default()
    }
}

/// What a sender writes for `cert`: a fresh AES-256 content key wrapped with `transport`.
pub fn seal(cert: &Certificate, transport: KeyTransport) -> Sealed {
    let mut content_key = vec![0u8; 32];
    OsRng.fill_bytes(&mut content_key);
    let cek = ContentKey::from_bytes(ContentCipher::Aes256Gcm, &content_key).unwrap();
    let ri = key_trans_recipient(cert, &cek, transport_options(transport), &mut OsRng).unwrap();
    Sealed {
        content_key,
        entry: ri.to_der().unwrap(),
    }
}

/// An entry naming `cert` whose encrypted key is `enc_key` under `transport`'s algorithm.
pub fn entry_with_key(cert: &Certificate, transport: KeyTransport, enc_key: Vec<u8>) -> Vec<u8> {
    let RecipientInfo::Ktri(mut ktri) =
        RecipientInfo::from_der(&seal(cert, transport).entry).unwrap()
    else {
        unreachable!("key_trans_recipient writes a ktri")
    };
    ktri.enc_key = der::asn1::OctetString::new(enc_key).unwrap();
    RecipientInfo::Ktri(ktri).to_der().unwrap()
}

/// Entries addressed to the group `cert` that no group key opens, each
/// failing a different check (random blocks with either leading byte,
/// a short key, correct padding around a length that is no AES key, a
/// flipped bit): a padding oracle would answer them differently.
pub fn unwrap_failure_entries(cert: &Certificate) -> Vec<Vec<u8>> {
    let modulus = 256;
    let random = |top: u8| {
        let mut bytes = vec![0u8; modulus];
        OsRng.fill_bytes(&mut bytes);
        bytes[0] = top;
        bytes
    };
    let flipped = |transport| {
        let sealed = seal(cert, transport);
        let mut der = sealed.entry;
        let last = der.len() - 1;
        der[last - 40] ^= 0x04; // inside the encrypted key, the entry's last field
        der
    };
    let group_public = rsa::RsaPublicKey::from_public_key_der(
        &der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info).unwrap(),
    )
    .unwrap();
    // Correct PKCS#1 v1.5 padding around 20 bytes: no AES key length.
    let odd_length = group_public
        .encrypt(&mut OsRng, rsa::Pkcs1v15Encrypt, &[7u8; 20])
        .unwrap();
    vec![
        entry_with_key(cert, KeyTransport::RsaPkcs1v15, random(0x00)),
        entry_with_key(cert, KeyTransport::RsaPkcs1v15, random(0xff)),
        entry_with_key(cert, KeyTransport::RsaOaepSha256, random(0x00)),
        entry_with_key(cert, KeyTransport::RsaOaepSha256, random(0xff)),
        entry_with_key(cert, KeyTransport::RsaPkcs1v15, random(0x00)[1..].to_vec()),
        entry_with_key(cert, KeyTransport::RsaPkcs1v15, odd_length.clone()),
        entry_with_key(cert, KeyTransport::RsaOaepSha256, odd_length),
        flipped(KeyTransport::RsaPkcs1v15),
        flipped(KeyTransport::RsaOaepSha256),
    ]
}

/// Posts every [`unwrap_failure_entries`] entry for `group` as `m` on
/// `raw`: all must get the same answer, byte for byte (status, headers
/// that matter, body), `unwrap_failed`. No padding oracle.
pub fn assert_unwrap_failures_answer_alike(raw: &mut Raw, cert: &Certificate, m: &Member) {
    let answers: Vec<_> = unwrap_failure_entries(cert)
        .iter()
        .map(|entry| raw.post(&request(m, LIST, entry, now()).to_json()))
        .collect();
    assert_raw_refused(&answers[0], RefusalCode::UnwrapFailed);
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer, &answers[0], "entry {i} answered differently");
    }
}

/// A request by `m` for `entry` of `group`, signed with `m`'s key, fresh nonce.
pub fn request(m: &Member, group: &str, entry: &[u8], timestamp: u64) -> ReleaseRequest {
    sign_request(
        group,
        entry.to_vec(),
        m.cert_der.clone(),
        &m.key,
        timestamp,
        &mut OsRng,
    )
    .unwrap()
}

/// `req` (its fields and nonce unchanged) signed anew by `key`.
pub fn signed_by(mut req: ReleaseRequest, key: &RsaPrivateKey) -> ReleaseRequest {
    let signer = rsa::pss::BlindedSigningKey::<Sha256>::new(key.clone());
    req.signature = signer
        .sign_with_rng(&mut OsRng, &req.signed_bytes())
        .to_vec();
    req
}

fn ktri(der: &[u8]) -> KeyTransRecipientInfo {
    match RecipientInfo::from_der(der).unwrap() {
        RecipientInfo::Ktri(k) => k,
        other => panic!("not a key transport entry: {other:?}"),
    }
}

/// Opens a grant with the member's own key: it must name the member's
/// certificate (issuer and serial) and be RSAES-OAEP SHA-256, as the server
/// promises. Returns the content key.
pub fn open_grant(grant: &ReleaseGrant, m: &Member) -> Vec<u8> {
    let k = ktri(&grant.recipient_info);
    let RecipientIdentifier::IssuerAndSerialNumber(ias) = &k.rid else {
        panic!("grant names its recipient by key id")
    };
    assert_eq!(ias.issuer, m.cert.tbs_certificate.issuer);
    assert_eq!(ias.serial_number, m.cert.tbs_certificate.serial_number);
    assert_eq!(k.key_enc_alg.oid, const_oid::db::rfc5912::ID_RSAES_OAEP);
    unwrap_grant(grant, &m.key).expect("the grant does not open with the member's key")
}

/// The key in a grant, decrypted (RSAES-OAEP SHA-256) with `key`.
pub fn unwrap_grant(grant: &ReleaseGrant, key: &RsaPrivateKey) -> Option<Vec<u8>> {
    let k = ktri(&grant.recipient_info);
    key.decrypt(rsa::Oaep::new::<Sha256>(), k.enc_key.as_bytes())
        .ok()
}

/// Asserts that `answer` grants `sealed`'s content key to `m`.
pub fn assert_granted(answer: &Answer, m: &Member, sealed: &Sealed) {
    let Answer::Granted(grant) = answer else {
        panic!("{} refused: {answer:?}", m.address)
    };
    assert_eq!(grant.key_hash, sealed.key_hash());
    assert_eq!(open_grant(grant, m), sealed.content_key);
}

/// Asserts that `answer` is the refusal `code`, with its own status.
pub fn assert_refused(answer: &Answer, code: RefusalCode) {
    match answer {
        Answer::Refused {
            status, code: got, ..
        } => {
            assert_eq!((*got, *status), (Some(code), code.status()), "{answer:?}")
        }
        Answer::Granted(_) => panic!("granted where {code} was expected"),
    }
}

/// Asserts that a raw response is the refusal `code` (status and JSON body).
pub fn assert_raw_refused(response: &Response, code: RefusalCode) {
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        (response.status, body["error"].as_str()),
        (code.status(), Some(code.as_str())),
        "{body}"
    );
}

/// A TLS connection on which the test writes whatever bytes it likes.
pub struct Raw {
    stream: BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
}

impl Raw {
    /// Writes `bytes` and reads one response.
    pub fn send(&mut self, bytes: &[u8]) -> Response {
        let tls = self.stream.get_mut();
        tls.write_all(bytes).unwrap();
        tls.flush().unwrap();
        sealpost::group::http::read_response(&mut self.stream, 1 << 20).unwrap()
    }

    /// Reads one more response (to a pipelined request).
    pub fn read(&mut self) -> Response {
        sealpost::group::http::read_response(&mut self.stream, 1 << 20).unwrap()
    }

    /// Writes `bytes` and reads nothing.
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let tls = self.stream.get_mut();
        tls.write_all(bytes)?;
        tls.flush()
    }

    /// Whether the server has closed the connection (looked at for 50 ms).
    pub fn closed(&mut self) -> bool {
        use std::io::{BufRead, ErrorKind};
        let tcp = &self.stream.get_ref().sock;
        tcp.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let closed = match self.stream.fill_buf() {
            Ok(bytes) => bytes.is_empty(),
            Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        };
        let tcp = &self.stream.get_ref().sock;
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
        closed
    }

    /// A release POST with this body and its true Content-Length.
    pub fn post(&mut self, body: &[u8]) -> Response {
        let mut wire = Vec::new();
        sealpost::group::http::write_post(&mut wire, "localhost", "/v1/release", body).unwrap();
        self.send(&wire)
    }
}
