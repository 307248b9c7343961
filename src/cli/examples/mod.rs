//! The examples of every help page, as data: each is a command line exactly
//! as a user types it and a one-line comment saying what it does, with
//! hidden setup steps that make the files and state it needs.
//!
//! They are defined once here and rendered into `--help` (clap's after-help,
//! see `docs::with_examples`) and into each man page's EXAMPLES section, one
//! command per line, so no rendering can break one at a line wrap. The test
//! tests/support/help_examples.rs includes this very module and runs every example
//! through `sh -c` in a throwaway keystore, so none of them can go stale.
//! Its files therefore depend on nothing but `std` and each other.
//!
//! The test's world: the current directory is a fresh temporary directory
//! (also `$HOME`); `SEALPOST_KEYSTORE` is a keystore in it holding alice's
//! identity (alice@example.org) and the accepted certificates of bob and
//! carol (@example.org), under the passphrase in `SEALPOST_PASSPHRASE`;
//! `$FIXTURES` is tests/data (alice, bob, carol … `.key.pem`/`.cert.pem`);
//! `sealpost` is on `PATH`; nothing is on stdin and there is no terminal.
//!
//! # Parts
//!
//! This file holds the types ([`Example`], [`Check`], [`Page`]), the table of
//! every page ([`PAGES`]) and the look-up by command. Each page's examples
//! are in the file of its command family, which uses only this file and
//! `setup.rs`:
//!
//! - `help.rs`: the top page (`sealpost`), `man`, `completions`.
//! - `key.rs`: `key`; `cert.rs`: `cert`.
//! - `message.rs`: `compose`, `encrypt`, `decrypt`, `inspect`.
//! - `mail.rs`: `account`, `submit`, `outbox`, `fetch`.
//! - `group.rs`: `group`, `release`, `revoke`, `explode`.
//! - `trust.rs`: `verify`, `cert trust`, `cert untrust`, `cert crl`.
//! - `setup.rs`: setup steps several examples share, and the steps that make
//!   the group server of [`Check::WithGroupServer`] examples.
//! - `render.rs`: how examples are shown ([`shell_lines`], [`help_text`]).

mod cert;
mod group;
mod help;
mod key;
mod mail;
mod message;
mod render;
mod setup;
mod trust;

#[allow(unused_imports)] // read by the test
pub use render::WIDTH;
pub use render::{help_text, shell_lines};
#[allow(unused_imports)] // read by the test
pub use setup::GROUP_SERVER_STEPS;

/// One example on a help page.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// What the command does, one line: shown as a `#` comment above it.
    pub comment: &'static str,
    /// The command line, as typed at a shell (pipes and redirections included).
    pub command: &'static str,
    /// Shell commands run before it in the test's world, not shown.
    #[allow(dead_code)] // read by the test
    pub setup: &'static [&'static str],
    /// How the test runs it.
    #[allow(dead_code)] // read by the test
    pub check: Check,
}

/// How the test checks an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Run as it is; it must exit with this status (0 unless the comment says otherwise).
    Runs(i32),
    /// Run with a mail server on loopback started by the test, plain text:
    /// a submission server that takes every message (its URL in
    /// `$SMTP_SERVER`) and a POP3 server with one message to alice
    /// (`$POP3_SERVER`); it must exit 0, and mail must have gone through.
    WithMailServer,
    /// Run with a group server on loopback, made by [`GROUP_SERVER_STEPS`]
    /// and started by the test before the setup steps (which find its URL in
    /// `$GROUP_SERVER` and its CA in `$GROUP_CA`); it must exit 0.
    WithGroupServer,
    /// Cannot run as written, for the reason `why`: in the test it must fail
    /// with `status`, never a usage error, so that at least its command line
    /// is known to parse and to reach the work.
    Fails { status: i32, why: &'static str },
}

impl Example {
    /// An example that runs as it is and exits 0.
    pub const fn new(comment: &'static str, command: &'static str) -> Example {
        Example {
            comment,
            command,
            setup: &[],
            check: Check::Runs(0),
        }
    }

    pub const fn setup(self, setup: &'static [&'static str]) -> Example {
        Example { setup, ..self }
    }

    pub const fn check(self, check: Check) -> Example {
        Example { check, ..self }
    }
}

/// The examples of one help page: `command` is the subcommand's words after
/// `sealpost` ("" for the top page, "key generate" for a leaf).
#[derive(Clone, Copy)]
pub struct Page {
    pub command: &'static str,
    pub examples: &'static [Example],
}

/// The examples of the page for `command`, if it has any.
pub fn for_command(command: &str) -> Option<&'static [Example]> {
    PAGES
        .iter()
        .find(|p| p.command == command)
        .map(|p| p.examples)
}

/// Every help page's examples, parents included.
pub const PAGES: &[Page] = &ALL_PAGES;

/// The families' pages in the order of the table: the top page first, the
/// documentation commands last.
const FAMILIES: [&[Page]; 8] = [
    help::TOP,
    key::PAGES,
    cert::PAGES,
    message::PAGES,
    mail::PAGES,
    group::PAGES,
    trust::PAGES,
    help::PAGES,
];

/// [`FAMILIES`] in one table, made at compile time so that [`PAGES`] stays
/// one plain slice.
const ALL_PAGES: [Page; page_count(&FAMILIES)] = concat(&FAMILIES);

const fn page_count(families: &[&[Page]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < families.len() {
        n += families[i].len();
        i += 1;
    }
    n
}

const fn concat<const N: usize>(families: &[&[Page]]) -> [Page; N] {
    const NONE: Page = Page {
        command: "",
        examples: &[],
    };
    let mut pages = [NONE; N];
    let (mut n, mut i) = (0, 0);
    while i < families.len() {
        let mut j = 0;
        while j < families[i].len() {
            pages[n] = families[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    pages
}
