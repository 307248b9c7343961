//! sealpost: encrypted e-mail from the command line.
//!
//! # Architecture
//!
//! The library holds every piece of logic; the `sealpost` binary (`src/main.rs`
//! and `src/cli/`, one file per subcommand) only parses arguments, gathers
//! secrets from the terminal or files, and prints. Library modules never touch
//! the terminal, never read environment variables, and take randomness and
//! the clock as arguments where tests need them fixed.
//!
//! | module      | owns                                                        | may use                  |
//! |-------------|-------------------------------------------------------------|--------------------------|
//! | `error`     | failure classes and exit codes                              | —                        |
//! | `fsutil`    | atomic writes (temp, fsync, rename), private-file checks    | `error`                  |
//! | `certs`     | parsing X.509, S/MIME usability checks, certificate choice  | `error`                  |
//! | `identity`  | RSA key + self-signed S/MIME certificate generation         | `certs`                  |
//! | `privkey`   | encrypted PKCS#8 at rest, PEM/PKCS#1 and PKCS#12 import     | `error`                  |
//! | `keystore`  | the keystore directory: layout, identities, certificates   | `certs`, `privkey`, `fsutil` |
//! | `message`   | composing RFC 5322 messages, reading their recipients       | `error`                  |
//! | `envelope`  | CMS EnvelopedData / AuthEnvelopedData: build and open       | `error`, `certs`         |
//! | `bcc`       | which recipients share which envelope (Bcc privacy rules)   | `certs`                  |
//! | `encrypt`   | a message → Bcc-private S/MIME envelopes (the whole pipeline) | `message`, `bcc`, `envelope` |
//! | `mime`      | byte-exact MIME reading: S/MIME payloads, multipart/signed   | `message`                |
//! | `decrypt`   | S/MIME message → plaintext through every layer; key seam     | `envelope`, `signed`, `mime` |
//! | `inspect`   | what a message discloses without decrypting it              | `envelope`, `message`    |
//! | `signed`    | CMS SignedData: sign, verify (opaque and detached)          | `certs`, `identity`, `envelope::ber` |
//! | `fanout`    | writing many envelopes around one shared ciphertext, fast   | —                        |
//! | `bsmtp`     | Batch SMTP streams (RFC 2442): write and parse              | `error`                  |
//! | `account`   | mail accounts in config.toml: server URLs, trust, passwords  | `error`, `fsutil`        |
//! | `smtp`      | SMTP submission: host failover, TLS, AUTH, PIPELINING, per-recipient replies | `account`, `bsmtp` |
//! | `srv`       | server discovery from DNS SRV records (RFC 6186), stub resolver | `account`           |
//! | `outbox`    | the durable outbox spool: queue, retry, sent and failed records | `fsutil`, `bsmtp`, `smtp` |
//! | `maildir`   | durable Maildir delivery with stable, idempotent names       | `fsutil`                 |
//! | `fetch`     | IMAP/POP3 clients over rustls, UID/UIDL journal, resumable sync | `account`, `maildir` |
//! | `http`      | minimal, bounded HTTP/1.1 framing (JSON bodies, keep-alive)  | —                        |
//! | `release`   | key release protocol and signed calls, key references, its HTTPS client, joined groups, held secrets | `envelope`, `http` |
//! | `group`     | the group server: store (SQLite), vault, release checks and calls, HTTPS service, audit | `release`, `privkey` |
//! | `explode`   | the list exploder's decisions: list mail or not, member files, one copy per member | `envelope`, `release` |
//!
//! Nothing below `keystore` knows where files live; nothing in the library
//! knows about the terminal.

pub mod account;
pub mod bcc;
pub mod bsmtp;
pub mod certs;
pub mod clock;
pub mod decrypt;
pub mod delivery;
pub mod encrypt;
pub mod envelope;
pub mod error;
pub mod explode;
pub mod fanout;
pub mod fetch;
pub mod fsutil;
pub mod group;
pub mod http;
pub mod identity;
pub mod inspect;
pub mod keystore;
pub mod maildir;
pub mod message;
pub mod mime;
pub mod outbox;
pub mod privkey;
pub mod release;
pub mod signed;
pub mod signing;
pub mod smtp;
pub mod srv;

pub use error::{fail, fail_hint, Exit, Failure};
