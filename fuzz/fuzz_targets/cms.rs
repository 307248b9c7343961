//! BER/CMS opening: BER→DER, EnvelopedData/AuthEnvelopedData parsing and
//! every accessor the commands use, the streaming walker, SignedData
//! verification, key references and `inspect`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost::smime::envelope::{self, ContentKey, ContentSink, Envelope, Walked};
use sealpost::smime::keyref::KeyRef;
use sealpost_fuzz::FIXED_KEY_BYTE;

/// Counts what the walker hands out, bounded like a real sink would not be.
struct Count(u64);

impl ContentSink for Count {
    fn begin(&mut self, head: &Envelope) -> anyhow::Result<()> {
        let _ = head.recipients();
        let _ = head.cipher();
        Ok(())
    }
    fn content(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
        self.0 += chunk.len() as u64;
        Ok(())
    }
}

fn exercise(e: &Envelope) {
    let _ = e.kind().to_string();
    let _ = e.content_algorithm();
    let _ = e.content_type();
    let _ = e.mac();
    let _ = e.authenticated_attributes();
    let _ = e.no_key_error().to_string();
    for r in e.recipients() {
        let _ = format!("{r:?}");
    }
    for i in 0..e.recipient_infos().len() {
        let _ = e.recipient_info_der(i);
    }
    for (i, kek) in e.kek_entries() {
        let _ = KeyRef::from_der(kek.kek_id.kek_identifier.as_bytes());
        let _ = e.unwrap_kek(i, &sealpost_fuzz::SEED_KEK);
    }
    if let Ok(cipher) = e.cipher() {
        if let Ok(cek) = ContentKey::from_bytes(cipher, &vec![FIXED_KEY_BYTE; cipher.key_len()]) {
            let _ = e.check_key(&cek);
            let _ = e.decrypt(&cek);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = envelope::ber::to_der(data);
    if let Ok(e) = Envelope::parse(data) {
        exercise(&e);
    }
    let mut count = Count(0);
    if let Ok(Walked::Envelope { envelope, .. }) =
        envelope::walk(std::io::Cursor::new(data), &mut count)
    {
        exercise(&envelope);
    }
    let _ = sealpost::smime::signed::verify(data);
    let _ = sealpost::smime::signed::verify_detached(data, b"Content-Type: text/plain\r\n\r\nhello\r\n");
    let _ = sealpost::smime::signed::unverified_content(data);
    let _ = KeyRef::from_der(data);
    let _ = sealpost::smime::decrypt::cms_payload(data);
    let nobody = sealpost::smime::inspect::Knowledge {
        correspondents: &[],
        own: &[],
    };
    let _ = sealpost::smime::inspect::inspect(data, &nobody, Some(&["bob@example.org".to_string()]));
});
