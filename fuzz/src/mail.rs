//! Client sessions against the loopback fake server, for the IMAP, POP3
//! and SMTP targets: the fuzzer's bytes are everything the server says.

use std::sync::OnceLock;

use sealpost::mail::fetch::Remote;
use sealpost::mail::tls::{self, Dialect, TlsSetup};
use sealpost::store::account::{Endpoint, Protocol, Security};

/// The TLS settings, made once per process (loading the system roots
/// would otherwise dominate every run).
pub fn tls_setup() -> &'static TlsSetup {
    static TLS: OnceLock<TlsSetup> = OnceLock::new();
    TLS.get_or_init(|| TlsSetup::new(None).expect("TLS setup"))
}

/// The loopback endpoint; the first input byte picks plain or STARTTLS
/// (where only the greeting may be read before the handshake).
pub fn endpoint(protocol: Protocol, selector: u8) -> Endpoint {
    Endpoint {
        protocol,
        security: if selector & 1 == 0 {
            Security::Plain
        } else {
            Security::StartTls
        },
        host: "127.0.0.1".into(),
        port: super::port(),
    }
}

/// A whole fetch session as `sealpost fetch` runs one: log in, list,
/// fetch (at most a few messages), delete what was fetched, log out.
pub fn fetch_session<D: Dialect>(
    protocol: Protocol,
    data: &[u8],
    after_login: impl Fn(&mut D::Session),
) where
    D::Session: Remote,
{
    let Some((&selector, script)) = data.split_first() else {
        return;
    };
    let server = super::serve_once(script.to_vec());
    let e = endpoint(protocol, selector);
    if let Ok(mut session) = tls::connect::<D>(&[e], tls_setup(), "user", "secret", super::TIMEOUT)
    {
        after_login(&mut session);
        if let Ok(listing) = session.list() {
            let mut fetched = Vec::new();
            for m in listing.messages.iter().take(4) {
                // A small maximum, so that the over-size path is reached too.
                let mut sink = std::io::sink();
                match session.fetch(&m.key, &mut sink, 1 << 20) {
                    Ok(_) => fetched.push(m.key.clone()),
                    Err(_) => break,
                }
            }
            let _ = session.delete(&fetched);
        }
        let _ = session.finish();
        let _ = (
            session.wire_bytes(),
            session.uncompressed_bytes(),
            session.compressed(),
        );
    }
    server.join().expect("fake server thread");
}
