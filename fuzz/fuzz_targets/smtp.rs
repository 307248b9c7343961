//! SMTP replies as the submission client reads them (greeting, EHLO,
//! STARTTLS, AUTH, MAIL/RCPT/DATA one by one or pipelined, RSET, QUIT),
//! from a loopback server that sends the input: lettre's reply parser and
//! our per-recipient handling.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost::store::account::Protocol;
use sealpost::mail::smtp::{Session, SmtpConfig, Transport};
use zeroize::Zeroizing;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, script)) = data.split_first() else {
        return;
    };
    let server = sealpost_fuzz::serve_once(script.to_vec());
    let cfg = SmtpConfig {
        endpoints: vec![sealpost_fuzz::mail::endpoint(Protocol::Smtp, selector)],
        user: "user".into(),
        password: Zeroizing::new("secret".into()),
        ca_pem: None,
        timeout: sealpost_fuzz::TIMEOUT,
        hello_name: "client.example.org".into(),
    };
    if let Ok(mut session) = Session::connect_with(&cfg, sealpost_fuzz::mail::tls_setup()) {
        let rcpt = vec!["a@example.org".to_string(), "b@example.org".to_string()];
        for _ in 0..2 {
            let sent = session.send(
                "me@example.org",
                &rcpt,
                b"Subject: x\r\n\r\n.hello\r\n",
                &mut |_| Ok(()),
            );
            if sent.is_err() {
                break;
            }
        }
        session.quit();
    }
    server.join().expect("fake server thread");
});
