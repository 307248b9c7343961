//! End-to-end tests of the `sealpost` binary that start a server: key
//! release with a real `sealpost group serve`, the README walk and the help
//! examples that send or fetch mail ([`mail_sink`], a plain-text SMTP, POP3
//! and IMAP server on loopback) or ask a group server.

mod examples;
mod mail_sink;
mod readme;
mod release;
