//! Passphrases and passwords: from a file, a file descriptor, an environment
//! variable, or a prompt on the controlling terminal (`/dev/tty`, as age and
//! sq do), so `cat msg.eml | sealpost decrypt` still asks: stdin stays free
//! for the message. Without any of them and without a controlling terminal
//! (cron, CI, a daemon) the command fails at once instead of hanging.

use std::fs::File;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::group::token::{PinSource, Pkcs11Uri, PIN_ENV};
use sealpost::smime::privkey::Passphrase;
use sealpost::store::account::Account;
use zeroize::Zeroizing;

/// Where a secret may come from, in the order they are tried.
pub struct SecretSources<'a> {
    pub file: Option<&'a Path>,
    pub fd: Option<i32>,
    pub env_var: Option<&'a str>,
    /// Flag names for the error message, e.g. "--passphrase-file F, --passphrase-fd N".
    pub flags: &'a str,
}

/// Whether a new secret is being chosen (asked twice) or an existing one entered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    Existing,
    New,
}

/// Run-time password options of the commands that log in.
#[derive(Debug, clap::Args, Clone)]
pub struct PasswordArgs {
    /// Read the account password from the first line of FILE
    #[arg(long, value_name = "FILE", conflicts_with = "password_fd")]
    pub password_file: Option<PathBuf>,
    /// Read the account password from file descriptor N
    #[arg(long, value_name = "N")]
    pub password_fd: Option<i32>,
}

/// Where the PIN of a PKCS#11 token comes from (`group create --pkcs11`,
/// `group serve`).
#[derive(Debug, clap::Args, Clone)]
pub struct TokenPinArgs {
    /// Read the PKCS#11 token PIN from the first line of FILE [otherwise:
    /// pin-source= in the URI, SEALPOST_PKCS11_PIN, or the terminal]
    #[arg(long, value_name = "FILE", conflicts_with = "pin_fd")]
    pub pin_file: Option<PathBuf>,
    /// Read the PKCS#11 token PIN from file descriptor N
    #[arg(long, value_name = "N")]
    pub pin_fd: Option<i32>,
}

impl TokenPinArgs {
    /// The PIN for a token URI: --pin-file or --pin-fd (read once, then
    /// kept for every token), else the URI's pin-source file, else
    /// SEALPOST_PKCS11_PIN, else the terminal.
    pub fn source(&self, can_prompt: bool) -> Arc<PinSource> {
        let args = self.clone();
        let kept: Mutex<Option<Passphrase>> = Mutex::new(None);
        Arc::new(move |uri: &Pkcs11Uri| {
            let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(pin) = kept.as_ref() {
                return Ok(pin.clone());
            }
            let given = args.pin_file.is_some() || args.pin_fd.is_some();
            let file = match (&args.pin_file, &uri.pin_source) {
                (Some(f), _) => Some(f.as_path()),
                (None, Some(f)) if !given => Some(f.as_path()),
                _ => None,
            };
            let sources = SecretSources {
                file,
                fd: args.pin_fd,
                env_var: Some(PIN_ENV),
                flags: "--pin-file FILE or --pin-fd N",
            };
            let what = "PIN of the PKCS#11 token";
            let pin = read_secret(&sources, what, Ask::Existing, can_prompt)?;
            if given {
                *kept = Some(pin.clone());
            }
            Ok(pin)
        })
    }
}

/// The account's password, from the sources in the order documented on
/// `sealpost account`.
pub fn account_password(
    account: &Account,
    args: &PasswordArgs,
    can_prompt: bool,
) -> anyhow::Result<Zeroizing<String>> {
    let env = account.password_env_var();
    let what = format!("password of account {}", account.name);
    let flags = "--password-file FILE or --password-fd N";
    if args.password_file.is_some()
        || args.password_fd.is_some()
        || std::env::var_os(&env).is_some()
    {
        let sources = SecretSources {
            file: args.password_file.as_deref(),
            fd: args.password_fd,
            env_var: Some(&env),
            flags,
        };
        return read_secret(&sources, &what, Ask::Existing, can_prompt);
    }
    if let Some(file) = &account.password_file {
        let sources = SecretSources {
            file: Some(file),
            fd: None,
            env_var: None,
            flags,
        };
        return read_secret(&sources, &what, Ask::Existing, can_prompt);
    }
    if let Some(p) = &account.stored_password {
        return Ok(Zeroizing::new(p.clone()));
    }
    let sources = SecretSources {
        file: None,
        fd: None,
        env_var: Some(&env),
        flags,
    };
    read_secret(&sources, &what, Ask::Existing, can_prompt)
}

/// Whether a person can be asked: the process has a controlling terminal
/// that opens for reading and writing (rpassword prompts on it).
pub fn terminal_available() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// Reads a secret from the first source given; prompts only when `can_prompt`
/// (a controlling terminal exists and asking makes sense for this input).
pub fn read_secret(
    sources: &SecretSources<'_>,
    what: &str,
    ask: Ask,
    can_prompt: bool,
) -> anyhow::Result<Passphrase> {
    if let Some(path) = sources.file {
        let file = File::open(path)
            .with_context(|| format!("cannot read {what} from {}", path.display()))
            .map_err(|e| fail(Exit::NoInput, sealpost::error::single_line(&e)))?;
        warn_if_others_can_read(&file, path, what);
        let text = read_bounded(file, what, &path.display().to_string())?;
        return non_empty(
            first_line(&text),
            what,
            &format!("the {what} file {}", path.display()),
        );
    }
    if let Some(fd) = sources.fd {
        return non_empty(read_fd(fd, what)?, what, &format!("file descriptor {fd}"));
    }
    if let Some(var) = sources.env_var {
        if let Some(value) = std::env::var_os(var) {
            let value = value
                .into_string()
                .map_err(|_| fail(Exit::Config, format!("{var} is not valid UTF-8")))?;
            return non_empty(Zeroizing::new(value), what, var);
        }
    }
    if !can_prompt {
        let env = sources
            .env_var
            .map(|v| format!(", or {v}"))
            .unwrap_or_default();
        // A new key may also be stored without one, on purpose.
        let unprotected = if ask == Ask::New && what.contains("passphrase") {
            "; or --no-passphrase to store the key unencrypted"
        } else {
            ""
        };
        return Err(fail_hint(
            Exit::Config,
            format!("{what} needed but there is no terminal to ask on"),
            format!("give it with {}{env}{unprotected}", sources.flags),
        ));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("{}: ", capitalize(what)))
            .with_context(|| format!("cannot read {what} from the terminal"))?,
    );
    if ask == Ask::New {
        let again = Zeroizing::new(
            rpassword::prompt_password(format!("Repeat {what}: "))
                .with_context(|| format!("cannot read {what} from the terminal"))?,
        );
        if *first != *again {
            return Err(fail(Exit::Usage, format!("the two {what}s differ")));
        }
        if first.is_empty() {
            // Only a keystore passphrase may be left out on purpose.
            return Err(match what.contains("passphrase") {
                true => fail_hint(
                    Exit::Usage,
                    format!("empty {what}"),
                    "use --no-passphrase to store the key unencrypted on purpose",
                ),
                false => fail(Exit::Usage, format!("empty {what}")),
            });
        }
    }
    Ok(first)
}

/// The most read from a passphrase or password file or descriptor: a secret
/// is one line, and a mistaken `/dev/zero` must not fill the memory.
const MAX_SECRET_SOURCE: u64 = 64 << 10;

fn read_bounded(file: File, what: &str, source: &str) -> anyhow::Result<Zeroizing<String>> {
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_SECRET_SOURCE + 1)
        .read_to_string(&mut text)
        .map_err(|e| {
            fail(
                Exit::IoErr,
                format!("cannot read {what} from {source}: {e}"),
            )
        })?;
    if text.len() as u64 > MAX_SECRET_SOURCE {
        return Err(fail(
            Exit::DataErr,
            format!("{source} holds more than {MAX_SECRET_SOURCE} bytes: not a {what}"),
        ));
    }
    Ok(text)
}

/// An empty secret from a file, a descriptor or the environment is a
/// mistake (an empty file, an unset shell variable expanded), not a secret:
/// said as such, rather than as a wrong one later (or, for a new key, an
/// unprotected key).
fn non_empty(secret: Passphrase, what: &str, source: &str) -> anyhow::Result<Passphrase> {
    if secret.is_empty() {
        return Err(fail_hint(
            Exit::Config,
            format!("{source} is empty: no {what} in it"),
            if what.contains("passphrase") {
                format!(
                    "put the {what} on its first line; a key without a passphrase is made with \
                     --no-passphrase"
                )
            } else {
                format!("put the {what} on its first line")
            },
        ));
    }
    Ok(secret)
}

/// A secret in a file that other users can read is no longer a secret:
/// warned about (as ssh does for keys), not refused, since the owner may
/// have reasons (a group-shared service account).
fn warn_if_others_can_read(file: &File, path: &Path, what: &str) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(meta) = file.metadata() {
        if meta.is_file() && meta.mode() & 0o044 != 0 {
            super::warn(format!(
                "{} (the {what}) is readable by other users (mode {:04o}); `chmod 600 {}`",
                path.display(),
                meta.mode() & 0o7777,
                path.display()
            ));
        }
    }
}

fn read_fd(fd: i32, what: &str) -> anyhow::Result<Passphrase> {
    // SAFETY: fcntl only inspects the descriptor; we take ownership only when it is open.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(fail(
            Exit::NoInput,
            format!("file descriptor {fd} for the {what} is not open"),
        ));
    }
    // SAFETY: the descriptor is open and handed to us by the caller for this purpose;
    // it is closed when `file` is dropped, after we read it to the end.
    let file = unsafe { File::from_raw_fd(fd) };
    let text = read_bounded(file, what, &format!("fd {fd}"))?;
    Ok(first_line(&text))
}

/// The first line, without its line ending: files written by `echo` end in one.
fn first_line(text: &str) -> Passphrase {
    let line = text.split('\n').next().unwrap_or("");
    Zeroizing::new(line.strip_suffix('\r').unwrap_or(line).to_string())
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
