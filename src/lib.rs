//! sealpost: encrypted e-mail from the command line.
//!
//! # Architecture
//!
//! The library holds every piece of logic; the `sealpost` binary (`src/main.rs`
//! and `src/cli/`, one file per subcommand) only parses arguments, gathers
//! secrets from the terminal or files, calls the library and prints. Library
//! modules never touch the terminal, never read environment variables, and
//! take randomness and the clock as arguments where tests need them fixed.
//!
//! The library is four wings, each a folder, stacked; a wing may use the
//! wings below it, never one above, and no two files import each other, even
//! through others. `tests/offline/architecture.rs` scans every `use` and fails on a
//! break of either rule, and on a CLI subcommand importing another.
//!
//! | wing (folder)   | owns                                                  | may use                       |
//! |-----------------|-------------------------------------------------------|-------------------------------|
//! | `error.rs`      | failure classes and exit codes                        | —                             |
//! | `smime/`        | pure S/MIME: certificates, keys, messages, CMS         | `error`                       |
//! | `store/`        | what lives on the local disk                          | `error`, `smime`              |
//! | `mail/`         | moving mail: TLS, SMTP, outbox, fetch, Maildir, DNS   | `error`, `smime`, `store`     |
//! | `group/`        | a list's world: key release, group server, exploder   | all of the above              |
//! | `cli/` (binary) | parse, call the library, print                        | the library                   |
//!
//! Where each behaviour lives:
//!
//! | file                    | owns                                                              |
//! |-------------------------|-------------------------------------------------------------------|
//! | `smime/certs.rs`        | parsing X.509, S/MIME usability checks, certificate choice, the S/MIME OIDs |
//! | `smime/identity.rs`     | RSA key + self-signed S/MIME certificate generation               |
//! | `smime/privkey.rs` (+`privkey/`) | encrypted PKCS#8 at rest, PEM/PKCS#1 and PKCS#12 import  |
//! | `smime/message/`        | composing RFC 5322 messages, reading their recipients, addresses  |
//! | `smime/mime/`           | byte-exact MIME reading: S/MIME payloads, multipart/signed, base64 |
//! | `smime/bcc.rs`          | which recipients share which envelope (Bcc privacy rules)         |
//! | `smime/bsmtp.rs`        | Batch SMTP streams (RFC 2442): write and parse                    |
//! | `smime/envelope/`       | CMS EnvelopedData / AuthEnvelopedData: build, open, stream, rewrite |
//! | `smime/keyref.rs`       | the key reference a group entry (KEKRecipientInfo) carries        |
//! | `smime/signed.rs` (+`signed/`) | CMS SignedData: sign, verify (opaque and detached)         |
//! | `smime/encrypt.rs`      | a message → Bcc-private S/MIME envelopes (the whole pipeline)     |
//! | `smime/fanout.rs`       | writing many envelopes around one shared ciphertext, fast         |
//! | `smime/decrypt/`        | S/MIME message → plaintext through every layer, in memory or streamed; the key seam |
//! | `smime/trust/`          | trust in a signer: certification paths, CRLs, sender; one verdict |
//! | `smime/inspect.rs`      | what a message discloses without decrypting it                    |
//! | `store/fsutil.rs`       | atomic writes (temp, fsync, rename), private-file checks          |
//! | `store/keystore.rs`     | the keystore directory: layout, identities, certificates          |
//! | `store/account.rs`      | mail accounts in config.toml: servers, trust, passwords, durations |
//! | `store/signer.rs`       | the sender's identity as the signer of `encrypt --sign`           |
//! | `mail/tls.rs`           | the one connect: TCP, rustls, STARTTLS, host failover, bounded lines |
//! | `mail/smtp.rs` (+`smtp/`) | SMTP submission: AUTH, PIPELINING, per-recipient replies        |
//! | `mail/outbox/`          | the durable outbox spool: queue, lock, delivery, retry, sent and failed records, listing, pruning |
//! | `mail/delivery.rs`      | an account's servers and trust; one delivery run of queued envelopes |
//! | `mail/fetch/`           | IMAP/POP3 clients, UID/UIDL journal, resumable sync in durable batches, `--exec`, lock, spool |
//! | `mail/maildir.rs`       | durable Maildir delivery with stable, idempotent names            |
//! | `mail/srv.rs`           | server discovery from DNS SRV records (RFC 6186), stub resolver   |
//! | `group/release/`        | key release: protocol, signed calls, HTTPS client, joined groups, held secrets, the member's key source (`keys.rs`), membership passes held and used (`passes.rs`), key deposits |
//! | `group/http.rs`         | minimal, bounded HTTP/1.1 framing (JSON bodies, keep-alive)       |
//! | `group/explode/`        | the list exploder: its mode, members, rewrap, re-encryption, queued copies |
//! | `group/store/`, `vault.rs`, `audit.rs` | the server's store (SQLite, or PostgreSQL with TLS), secrets at rest, audit log |
//! | `group/service/`        | the server's decisions: the release path, the signed calls (a gate and a function per kind), deposits, membership passes (`passes.rs`), who may ask (signature, role, clock, nonce, rate), refusals and the audit row |
//! | `group/keys.rs`, `limits.rs` | the server's RSA; replay and rate limits                  |
//! | `group/token/`          | a group key in a PKCS#11 token: RFC 7512 URIs, sessions, raw RSA |
//! | `group/server.rs`, `admin.rs` | the HTTPS server; creating groups and members             |
//! | `group/offline.rs`      | the group key exported to one member, imported in their keystore (#17 option C) |
//! | `group/pass/`           | membership passes: RFC 9474 blind signatures, the pass format, issuing keys derived per period |
//! | `group/anonymous.rs`    | making a group anonymous, withdrawing its passes                  |
//! | `group/metrics.rs`      | the server's Prometheus counters, histogram and text format        |
//! | `group/shutdown.rs`     | SIGTERM/SIGINT through a self-pipe, for the server's graceful stop |

pub mod error;
pub mod group;
pub mod mail;
pub mod smime;
pub mod store;

pub use error::{fail, fail_hint, Exit, Failure};
