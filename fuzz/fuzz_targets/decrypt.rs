//! The whole `decrypt` pipeline: S/MIME message → every layer (MIME,
//! PEM, BER/DER CMS, enveloped, signed, multipart/signed) → plaintext, both
//! in memory and streamed. Envelopes open with one fixed content key, so
//! the layers inside CBC envelopes are reachable by mutation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use sealpost::smime::decrypt::{self, Streamed};
use sealpost_fuzz::FixedKey;

fuzz_target!(|data: &[u8]| {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let memory = decrypt::open(data, &mut FixedKey, false, &mut rng);
    let mut out = Vec::new();
    let streamed = decrypt::open_streaming(
        &mut std::io::Cursor::new(data),
        decrypt::Rereading::Recheck,
        &mut FixedKey,
        &mut out,
        &mut |_| Ok(()),
        &mut rng,
    );
    // Both paths must agree on what the plaintext is (fail closed, no
    // partial plaintext): a streamed success is a success in memory too.
    if let (Ok(Streamed::Done(_)), Ok(opened)) = (&streamed, &memory) {
        assert_eq!(
            out, opened.plaintext,
            "streamed and in-memory plaintext differ"
        );
    }
    if let Ok(Streamed::Done(_)) = &streamed {
        assert!(
            memory.is_ok(),
            "streamed decrypt succeeded where the in-memory one failed: {:?}",
            memory.err()
        );
    }
});
