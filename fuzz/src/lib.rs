//! What the fuzz targets share: a loopback "server" that answers a client
//! with the fuzzer's bytes, and a key source that opens any envelope with
//! one fixed content key (so that the fuzzer reaches the layers inside an
//! envelope without having to guess an RSA unwrap).

pub mod mail;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::Duration;

use sealpost::smime::certs::CertInfo;
use sealpost::smime::decrypt::KeySource;
use sealpost::smime::envelope::{ContentKey, Envelope};

/// The bytes every fixed content key is made of ([`FixedKey`], `gen_seeds`).
pub const FIXED_KEY_BYTE: u8 = 0x42;
/// The key-encryption key of the seeds' KEK recipients (never unwrapped here).
pub const SEED_KEK: [u8; 32] = [0x17; 32];

/// A key source with no certificates whose "other way" to a content key
/// always answers the fixed key, sized for the envelope's cipher.
pub struct FixedKey;

impl KeySource for FixedKey {
    fn certificates(&self) -> Vec<CertInfo> {
        Vec::new()
    }

    fn unlock(
        &mut self,
        _fingerprint: &str,
    ) -> anyhow::Result<sealpost::smime::privkey::PrivateKey> {
        Err(anyhow::anyhow!("no private keys here"))
    }

    fn content_key_elsewhere(&mut self, envelope: &Envelope) -> anyhow::Result<Option<ContentKey>> {
        let cipher = envelope.cipher()?;
        let bytes = vec![FIXED_KEY_BYTE; cipher.key_len()];
        Ok(Some(ContentKey::from_bytes(cipher, &bytes)?))
    }
}

/// A listener on 127.0.0.1, bound once per process.
fn listener() -> &'static TcpListener {
    static LISTENER: OnceLock<TcpListener> = OnceLock::new();
    LISTENER.get_or_init(|| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1"))
}

/// The loopback port the fake server listens on.
pub fn port() -> u16 {
    listener().local_addr().expect("local address").port()
}

/// How long any one exchange may take (the client's timeout too).
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Serves exactly one connection: writes `script` (the fuzzer's bytes, the
/// server's whole side of the conversation), half-closes, then reads and
/// discards what the client sends until it hangs up. The client side runs
/// in the caller's thread; join the handle afterwards.
pub fn serve_once(script: Vec<u8>) -> JoinHandle<()> {
    let listener = listener().try_clone().expect("clone listener");
    std::thread::spawn(move || {
        let Ok((mut sock, _)) = listener.accept() else {
            return;
        };
        let _ = sock.set_write_timeout(Some(TIMEOUT));
        let _ = sock.set_read_timeout(Some(TIMEOUT));
        let _ = sock.write_all(&script);
        let _ = sock.shutdown(Shutdown::Write);
        let mut sink = [0u8; 4096];
        while matches!(sock.read(&mut sink), Ok(n) if n > 0) {}
    })
}
