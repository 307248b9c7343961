//! Failure classes and their exit codes.
//!
//! Library code returns `anyhow::Error`; where the *kind* of failure matters to
//! the caller (a script deciding whether to retry, say) it attaches a
//! [`Failure`] to the chain. The CLI walks the chain for the first `Failure`
//! and exits with its code, so context added higher up never hides the class.
//! The codes follow sysexits(3) so that cron, MTAs and shells already know them.

use std::fmt;

/// Process exit statuses, documented in the README and man page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// A failure with no more specific class (should be rare).
    General = 1,
    /// The command line was wrong (EX_USAGE).
    Usage = 64,
    /// Input data was malformed, failed an integrity check, or was refused (EX_DATAERR).
    DataErr = 65,
    /// An input file does not exist or cannot be read (EX_NOINPUT).
    NoInput = 66,
    /// No usable certificate or key for an address or recipient (EX_NOUSER).
    NoUser = 67,
    /// A remote service could not be reached or refused us (EX_UNAVAILABLE).
    Unavailable = 69,
    /// An internal error: a bug in sealpost (EX_SOFTWARE).
    Software = 70,
    /// An output file could not be created (EX_CANTCREAT).
    CantCreate = 73,
    /// Reading or writing failed (EX_IOERR).
    IoErr = 74,
    /// A temporary failure: try again later (EX_TEMPFAIL).
    TempFail = 75,
    /// Wrong passphrase, unsafe file or directory permissions (a key file
    /// others can read, a keystore, Maildir or outbox others can write, a
    /// link planted where sealpost writes), or access refused (EX_NOPERM).
    NoPerm = 77,
    /// Configuration problem, including a missing passphrase source (EX_CONFIG).
    Config = 78,
    /// A good signature whose signer is not trusted: no certification path
    /// to a trust anchor, expired, revoked, wrong key usage (`verify`,
    /// `decrypt --require-signature`).
    Untrusted = 79,
    /// A good, trusted signature by a certificate that does not name the
    /// sender (the From address; RFC 8550 §3).
    SenderMismatch = 80,
    /// The signer's revocation status could not be checked, and it was
    /// required (`--require-revocation-check`).
    RevocationUnknown = 81,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// Every status with a one-line meaning: the single source for the README
    /// table and the man page's EXIT STATUS section.
    pub const TABLE: &'static [(Exit, &'static str, &'static str)] = &[
        (Exit::Ok, "EX_OK", "success"),
        (Exit::General, "", "unclassified failure"),
        (Exit::Usage, "EX_USAGE", "invalid command line"),
        (
            Exit::DataErr,
            "EX_DATAERR",
            "malformed input, failed integrity check, or bad signature",
        ),
        (
            Exit::NoInput,
            "EX_NOINPUT",
            "an input file is missing or unreadable",
        ),
        (
            Exit::NoUser,
            "EX_NOUSER",
            "no usable certificate or key for an address or recipient",
        ),
        (
            Exit::Unavailable,
            "EX_UNAVAILABLE",
            "a server could not be reached or refused the request",
        ),
        (Exit::Software, "EX_SOFTWARE", "internal error (a bug)"),
        (
            Exit::CantCreate,
            "EX_CANTCREAT",
            "an output file could not be created",
        ),
        (
            Exit::IoErr,
            "EX_IOERR",
            "an I/O error while reading or writing",
        ),
        (
            Exit::TempFail,
            "EX_TEMPFAIL",
            "temporary failure; retrying later may succeed",
        ),
        (
            Exit::NoPerm,
            "EX_NOPERM",
            "wrong passphrase, unsafe file or directory permissions, or access denied",
        ),
        (
            Exit::Config,
            "EX_CONFIG",
            "configuration error, e.g. no passphrase source without a terminal",
        ),
        (
            Exit::Untrusted,
            "",
            "good signature, but the signer is not trusted (no path to a trust anchor, \
             expired, revoked, wrong key usage); for encrypt, a recipient's certificate is \
             refused (expired, revoked, or with --require-trusted-recipients no path)",
        ),
        (
            Exit::SenderMismatch,
            "",
            "good, trusted signature by a certificate that does not name the sender (From)",
        ),
        (
            Exit::RevocationUnknown,
            "",
            "the signer's (for encrypt, a recipient's) revocation status is unknown and \
             --require-revocation-check was given",
        ),
    ];
}

/// An error with a failure class and an optional hint for the user.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Builds a classified error: `fail(Exit::NoUser, format!("no certificate for {addr}"))`.
pub fn fail(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        exit,
        message: message.into(),
        hint: None,
    })
}

/// Like [`fail`], with a `hint:` line naming what to do about it.
pub fn fail_hint(exit: Exit, message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        exit,
        message: message.into(),
        hint: Some(hint.into()),
    })
}

/// The class of an error chain: the first [`Failure`] in it, else a guess
/// from an `io::Error` in it, else [`Exit::General`].
pub fn classify(err: &anyhow::Error) -> (Exit, Option<&str>) {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return (f.exit, f.hint.as_deref());
        }
    }
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return match io.kind() {
                NotFound => (Exit::NoInput, None),
                PermissionDenied => (Exit::NoPerm, None),
                _ => (Exit::IoErr, None),
            };
        }
    }
    (Exit::General, None)
}

/// Extension for attaching a class to any fallible result.
pub trait ResultExt<T> {
    /// Replaces the error with a classified one whose message is `msg: cause`.
    fn or_fail(self, exit: Exit, msg: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T, E> ResultExt<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn or_fail(self, exit: Exit, msg: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|e| {
            let cause: anyhow::Error = e.into();
            fail(exit, format!("{}: {}", msg(), single_line(&cause)))
        })
    }
}

/// Most characters of outside text [`printable`] keeps: any name, address
/// list or server reply fits; a hostile peer's megabyte does not.
pub const PRINTABLE_MAX_CHARS: usize = 1024;

/// Text from outside (a server's reply, a certificate's name, a header),
/// safe to show on a terminal or in a log: control characters escaped
/// (`\n`, `\u{1b}`), so it cannot move the cursor or forge a line, and at
/// most [`PRINTABLE_MAX_CHARS`] characters of it.
pub fn printable(text: &str) -> String {
    text.chars()
        .take(PRINTABLE_MAX_CHARS)
        .flat_map(|c| {
            let escaped = c.is_control().then(|| c.escape_default());
            let plain = (!c.is_control()).then_some(c);
            escaped.into_iter().flatten().chain(plain)
        })
        .collect()
}

/// The error chain joined on one line, each distinct cause once (like sq).
pub fn single_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.trim().replace('\n', " ");
        if text.is_empty() || parts.iter().any(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_control_characters_and_bounds_the_text() {
        assert_eq!(printable("plain Ünïcode"), "plain Ünïcode");
        assert_eq!(
            printable("250 ok\r\nRCPT TO:<x>\u{1b}[2J"),
            "250 ok\\r\\nRCPT TO:<x>\\u{1b}[2J"
        );
        let long = "x".repeat(PRINTABLE_MAX_CHARS * 3);
        assert_eq!(printable(&long).len(), PRINTABLE_MAX_CHARS);
    }
}
