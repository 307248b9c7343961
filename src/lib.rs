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
//!
//! Nothing below `keystore` knows where files live; nothing in the library
//! knows about the terminal.

pub mod certs;
pub mod envelope;
pub mod error;
pub mod fsutil;
pub mod identity;
pub mod keystore;
pub mod message;
pub mod privkey;

pub use error::{fail, fail_hint, Exit, Failure};
