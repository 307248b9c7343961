//! MIME and S/MIME reading: header sections, Content-Type parameters,
//! base64 bodies (whole and streamed, which must agree), multipart/signed
//! splitting, RFC 5322 messages (recipients, senders), the raw header
//! splitter used before encryption, mailbox lists and member files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost::smime::message::{self, Mailbox, RawMessage};
use sealpost::smime::mime::{self, Base64Decoder, Entity};

fuzz_target!(|data: &[u8]| {
    if let Some(entity) = Entity::parse(data) {
        let _ = entity.media_type();
        let _ = entity.content_type_param("boundary");
        let _ = entity.content_type_param("smime-type");
        let _ = entity.decoded_body();
        if let Ok((signed, signature)) = mime::multipart_signed_parts(&entity) {
            assert!(signed.len() <= 2 * data.len() && signature.len() <= data.len());
            let _ = Entity::parse(signature).map(|e| e.decoded_body());
        }
    }

    // The streamed base64 decoder must give what the whole-body one gives,
    // however the input is cut.
    let whole = mime::decode_base64(data);
    let cut = data.first().map_or(1, |&b| usize::from(b % 7) + 1);
    let mut streamed = Vec::new();
    let mut decoder = Base64Decoder::default();
    let mut result = Ok(());
    for chunk in data.chunks(cut) {
        result = decoder.update(chunk, &mut streamed);
        if result.is_err() {
            break;
        }
    }
    let result = result.and_then(|()| decoder.finish());
    match (&whole, &result) {
        (Ok(w), Ok(())) => assert_eq!(w, &streamed, "streamed base64 differs"),
        (Ok(_), Err(e)) => panic!("streamed base64 refused what the whole decoder took: {e}"),
        (Err(e), Ok(())) => panic!("streamed base64 took what the whole decoder refused: {e}"),
        (Err(_), Err(_)) => {}
    }

    let _ = message::to_crlf(data);
    if let Ok(info) = message::parse_message(data) {
        let _ = info.recipients();
    }
    if let Ok(raw) = RawMessage::parse(data) {
        let _ = format!("{}", raw.fields.len());
    }
    let _ = message::split_for_encryption(data);
    let _ = sealpost::group::explode::strip_mbox_line(data);

    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(list) = Mailbox::parse_list(text) {
            for m in list {
                let shown = m.to_string();
                let _ = m.domain();
                // What we print must read back as the same mailbox.
                let again = Mailbox::parse(&shown)
                    .unwrap_or_else(|e| panic!("{shown:?} does not parse back: {e}"));
                assert_eq!(
                    again.address, m.address,
                    "address changed through {shown:?}"
                );
            }
        }
        let _ = Mailbox::parse(text);
        let _ = message::normalize_address(text);
        let _ = sealpost::smime::certs::validate_address(text);
        let _ = sealpost::group::explode::parse_member_file(text);
    }
});
