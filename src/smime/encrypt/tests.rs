//! The pipeline fed from memory and from a stream, against known answers
//! recorded before the in-memory path became a special case of the
//! streaming one: same randomness, same bytes.

use rand::SeedableRng;
use sha2::Digest;

use super::*;
use crate::smime::certs::{CertInfo, Support};

const T: crate::smime::certs::UnixTime = 1_750_000_000;

fn cert(name: &str) -> CertInfo {
    let pem = std::fs::read(format!(
        "{}/tests/data/{name}.cert.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    crate::smime::certs::parse_bundle(&pem).unwrap().remove(0)
}

/// bob and carol read AES-GCM and OAEP, dave does not: two ciphers.
fn lookup(addr: &str) -> anyhow::Result<Vec<ReaderCert>> {
    let name = addr.split('@').next().unwrap();
    let support = if name == "dave" {
        Support::default()
    } else {
        Support::MODERN
    };
    Ok(vec![ReaderCert {
        cert: cert(name),
        support,
    }])
}

/// A message with bare LFs, To, Cc and two Bcc recipients.
fn message(body_len: usize) -> Vec<u8> {
    let mut m = b"From: Alice <alice@example.org>\nTo: bob@example.org\nCc: carol@example.org\n\
Bcc: dave@example.org, erin@example.org\nSubject: known answer\nMIME-Version: 1.0\n\
Content-Type: text/plain; charset=utf-8\n\n"
        .to_vec();
    let mut x = 0x2545f4914f6cdd1du64;
    for i in 0..body_len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        m.push(if i % 61 == 60 {
            b'\n'
        } else {
            b' ' + (x % 90) as u8
        });
    }
    m
}

fn fingerprint(envelopes: &[Envelope]) -> String {
    let mut h = sha2::Sha256::new();
    for e in envelopes {
        h.update(e.mail_from.as_bytes());
        h.update(e.rcpt_to.join(",").as_bytes());
        h.update(&e.message);
    }
    hex::encode(h.finalize())
}

fn sign_as_alice(digest: &[u8]) -> anyhow::Result<Vec<u8>> {
    let pem = std::fs::read_to_string(format!(
        "{}/tests/data/alice.key.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let key = crate::smime::privkey::open(&pem, None, "x").unwrap();
    let signer = crate::smime::signed::Signer {
        key: &key,
        cert: &cert("alice"),
        chain: &[],
        scheme: crate::smime::signed::SignatureScheme::Pkcs1v15Sha256,
        signing_time: T,
    };
    crate::smime::signed::sign_digest(digest, None, &signer, &mut rand_core::OsRng)
}

fn in_memory(raw: &[u8], sign: bool) -> Vec<Envelope> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let mut signer = InnerSigner {
        digest: crate::smime::signed::DigestAlgorithm::Sha256,
        sign: Box::new(sign_as_alice),
    };
    let result = encrypt(
        raw,
        &Options::default(),
        &mut lookup,
        sign.then_some(&mut signer),
        None,
        &mut rng,
    )
    .unwrap();
    result.envelopes
}

#[test]
fn in_memory_output_matches_the_known_answers() {
    for (body_len, sign, want) in [
        (
            0,
            false,
            "bc3d7f27566711e296ed868ffdc8bf4599bca821f5ca3f2af7b65fb3b0091502",
        ),
        (
            5000,
            false,
            "a031f02a89f1e8801aadf24eb217bb3205b89d366ca5696471c5483dee38932e",
        ),
        (
            5000,
            true,
            "b4e5216fd5c4e923a56628c761f1fe6aa657f86830116ec4927e427bc0eae872",
        ),
    ] {
        let got = fingerprint(&in_memory(&message(body_len), sign));
        assert_eq!(got, want, "body {body_len}, sign {sign}");
    }
}

/// Envelopes written by the streaming pipeline, kept.
#[derive(Default)]
struct Collect(Vec<(EnvelopeSummary, Vec<u8>)>);

impl EnvelopeOutput for Collect {
    fn begin(&mut self, _: usize, envelope: &EnvelopeSummary) -> anyhow::Result<()> {
        self.0.push((envelope.clone(), Vec::new()));
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.0.last_mut().unwrap().1.extend_from_slice(data);
        Ok(())
    }
    fn end(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

fn streamed(raw: &[u8], known_length: bool) -> Vec<Envelope> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let head_len = head_end(raw).unwrap();
    let plan = plan_stream(&raw[..head_len], &Options::default(), &mut lookup).unwrap();
    let body = &raw[head_len..];
    let body_len = known_length.then(|| crlf_body_len(&mut &body[..]).unwrap());
    let mut out = Collect::default();
    let result = plan
        .encrypt(&mut &body[..], body_len, &mut out, None, &mut rng)
        .unwrap();
    assert_eq!(result.envelopes.len(), out.0.len());
    result
        .envelopes
        .into_iter()
        .zip(out.0)
        .map(|(s, (_, message))| {
            assert_eq!(s.bytes, message.len() as u64);
            Envelope {
                kind: s.kind,
                mail_from: s.mail_from,
                rcpt_to: s.rcpt_to,
                message,
                cipher: s.cipher,
                key_transport: s.key_transport,
                recipient_infos: s.recipient_infos,
            }
        })
        .collect()
}

/// Above the in-memory spool limit (4 MiB of ciphertext): later envelopes
/// replay a temporary file. Known length: DER, as from memory; unknown
/// (a pipe): the first envelope is indefinite-length BER.
#[test]
fn streamed_output_matches_the_known_answers() {
    let raw = message(5 << 20);
    let definite = streamed(&raw, true);
    assert_eq!(
        fingerprint(&definite),
        "301be6f4016cf422a221f686aacae7f896b6a50e604d0ea0e0b2d9fb0f3097d9",
    );
    assert_eq!(fingerprint(&definite), fingerprint(&in_memory(&raw, false)));
    assert_eq!(
        fingerprint(&streamed(&raw, false)),
        "e3a08ca80224041213680a2392232960b5a7bb7fa1062ad49ea61110a8875541",
    );
}
