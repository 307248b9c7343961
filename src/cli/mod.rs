//! The command-line layer: one file per subcommand, each holding its clap
//! arguments (whose doc comments are the help text) and one `run` function
//! that parses, calls the library, and prints.

use std::cell::OnceCell;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use sealpost::error::{classify, fail, fail_hint, single_line, Exit};
use sealpost::smime::privkey::Passphrase;
use sealpost::store::keystore::{self, Keystore};

mod account;
mod cert;
mod compose;
mod decrypt;
mod delivery;
mod docs;
mod encrypt;
mod examples;
mod explode;
mod fetch;
mod group;
mod inspect;
mod json;
mod json_schema;
mod key;
mod outbox;
mod output;
mod release;
mod revoke;
mod secrets;
mod submit;
mod trust;
mod verify;

pub use delivery::{finish_delivery, send_queued, DeliveryView};
pub use sealpost::error::printable;
pub use secrets::Ask;

/// Encrypted e-mail from the command line.
///
/// sealpost composes RFC 5322 messages, encrypts them as S/MIME so that no
/// Bcc recipient is ever revealed to anyone else, and keeps the keys and
/// certificates that takes in a local keystore directory.
#[derive(Debug, Parser)]
#[command(
    name = "sealpost",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]
    #[arg(long, global = true, env = "SEALPOST_KEYSTORE", value_name = "DIR")]
    pub keystore: Option<PathBuf>,
    /// Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)
    #[arg(long, global = true)]
    pub json: bool,
    /// Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)
    #[arg(long, global = true, value_name = "VERSION", value_parser = json::parse_version)]
    pub json_version: Option<String>,
    /// Print nothing on stderr but errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Read the keystore passphrase from the first line of FILE
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        conflicts_with = "passphrase_fd"
    )]
    pub passphrase_file: Option<PathBuf>,
    /// Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)
    #[arg(long, global = true, value_name = "N")]
    pub passphrase_fd: Option<i32>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Key(key::KeyArgs),
    Cert(cert::CertArgs),
    Compose(compose::ComposeArgs),
    Encrypt(encrypt::EncryptArgs),
    Decrypt(decrypt::DecryptArgs),
    Verify(verify::VerifyArgs),
    Inspect(inspect::InspectArgs),
    Account(account::AccountArgs),
    Submit(submit::SubmitArgs),
    Outbox(outbox::OutboxArgs),
    Fetch(fetch::FetchArgs),
    Group(group::GroupArgs),
    Release(release::ReleaseArgs),
    Revoke(revoke::RevokeArgs),
    Explode(explode::ExplodeArgs),
    Man(docs::ManArgs),
    Completions(docs::CompletionsArgs),
    #[command(name = "generate-docs", hide = true)]
    GenerateDocs(docs::GenerateDocsArgs),
}

/// The environment variable holding the keystore passphrase, for unattended use.
pub const PASSPHRASE_ENV: &str = "SEALPOST_PASSPHRASE";

/// What every subcommand's `run` gets besides its own arguments.
pub struct Context {
    pub global: GlobalArgs,
    passphrase: OnceCell<Passphrase>,
}

impl Context {
    /// Status lines for people, on stderr, unless `--quiet`.
    pub fn note(&self, line: impl AsRef<str>) {
        if !self.global.quiet {
            eprintln!("{}", line.as_ref());
        }
    }

    /// Extra detail shown with `-v`.
    pub fn detail(&self, line: impl AsRef<str>) {
        if self.global.verbose > 0 && !self.global.quiet {
            eprintln!("{}", line.as_ref());
        }
    }

    /// A warning on stderr (suppressed by `--quiet`, which means errors only).
    pub fn warn(&self, line: impl AsRef<str>) {
        warn(line);
    }

    /// Whether a passphrase can be asked for: there is a controlling terminal
    /// (stdin may be a pipe or a file; the prompt goes to /dev/tty).
    pub fn can_prompt(&self) -> bool {
        secrets::terminal_available()
    }

    /// Opens the keystore, which must exist: a command that only reads or
    /// uses what is there never creates one, so a mistyped `--keystore`
    /// is an error rather than a new empty keystore.
    pub fn keystore(&self) -> anyhow::Result<Keystore> {
        let dir = self.keystore_dir()?;
        if !dir.exists() {
            return Err(fail_hint(
                Exit::NoInput,
                format!("no keystore at {}", dir.display()),
                "check --keystore and SEALPOST_KEYSTORE; `sealpost key generate`, `key import` \
                 or `cert import` create a keystore",
            ));
        }
        Keystore::open(&dir)
    }

    /// Opens the keystore, creating it on first use: for the commands that
    /// store something in it (key generate/import, cert import, account add,
    /// group join).
    pub fn keystore_or_create(&self) -> anyhow::Result<Keystore> {
        Keystore::open(&self.keystore_dir()?)
    }

    fn keystore_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.global.keystore {
            Some(dir) => Ok(dir.clone()),
            None => keystore::default_dir().ok_or_else(|| {
                fail_hint(
                    Exit::Config,
                    "cannot determine a default keystore directory (no home directory)",
                    "give one with --keystore DIR or SEALPOST_KEYSTORE",
                )
            }),
        }
    }

    /// The keystore passphrase, asked for at most once per run.
    pub fn passphrase(&self, ask: Ask) -> anyhow::Result<&str> {
        if let Some(p) = self.passphrase.get() {
            return Ok(p.as_str());
        }
        let sources = secrets::SecretSources {
            file: self.global.passphrase_file.as_deref(),
            fd: self.global.passphrase_fd,
            env_var: Some(PASSPHRASE_ENV),
            flags: "--passphrase-file FILE or --passphrase-fd N",
        };
        let p = secrets::read_secret(&sources, "keystore passphrase", ask, self.can_prompt())?;
        Ok(self.passphrase.get_or_init(|| p).as_str())
    }

    /// Prints the one `--json` document of `command` (its words, e.g.
    /// "cert list"): the members of `body` after `schema_version` and
    /// `command`, as documented in `json_schema`.
    pub fn print_json(&self, command: &str, body: serde_json::Value) -> anyhow::Result<()> {
        json::print(command, body)
    }
}

/// `--help` text for the top level: the exit status table, from the one source.
/// The library's key source asks the terminal (or the passphrase sources)
/// through this, and reports what it does on the `-v` lines.
impl sealpost::group::release::keys::Caller for Context {
    fn passphrase(&self) -> anyhow::Result<&str> {
        Context::passphrase(self, Ask::Existing)
    }

    fn progress(&self, line: &str) {
        self.detail(line);
    }
}

fn exit_status_help() -> String {
    let mut text = String::from("Exit status:\n");
    for (exit, name, meaning) in Exit::TABLE {
        let name = if name.is_empty() {
            String::new()
        } else {
            format!(" ({name})")
        };
        text.push_str(&format!("  {:>3}  {meaning}{name}\n", exit.code()));
    }
    text.push_str("\nEnvironment:\n");
    for (var, meaning) in ENVIRONMENT {
        text.push_str(&format!("  {var}\n      {meaning}\n"));
    }
    text.push('\n');
    text.push_str(&json::help_section());
    text
}

/// Environment variables sealpost reads, for `--help` and the man page.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("SEALPOST_KEYSTORE", "keystore directory, like --keystore"),
    (
        "SEALPOST_PASSPHRASE",
        "keystore passphrase for unattended use (cron); other processes of the same user can \
         read it from /proc, so prefer --passphrase-file or --passphrase-fd where you can",
    ),
    (
        "SEALPOST_PASSWORD_<NAME>",
        "the server password of account NAME (upper case) for submit and fetch; the same \
         caution applies as for SEALPOST_PASSPHRASE",
    ),
    (
        "SEALPOST_PKCS11_PIN",
        "the PIN of the PKCS#11 token holding a group key (group create --pkcs11, group \
         serve); the same caution applies as for SEALPOST_PASSPHRASE",
    ),
    (
        "SEALPOST_GROUP_STORE",
        "the group server's store (SQLite file), like --store of the group subcommands",
    ),
    (
        "SEALPOST_DNS_SERVER",
        "the DNS server (IP or IP:PORT) asked for the SRV records of accounts added with \
         --domain, instead of the nameservers in /etc/resolv.conf",
    ),
];

/// The full clap command, with the generated help sections (examples, exit
/// status, environment) attached.
pub fn command() -> clap::Command {
    docs::with_examples(Cli::command().after_long_help(exit_status_help()))
}

pub fn main() -> i32 {
    let json_requested = json::requested(std::env::args_os());
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return report_usage(&e, json_requested),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return report_usage(&e, json_requested),
    };
    let _ = QUIET.set(cli.global.quiet);
    let ctx = Context {
        global: cli.global,
        passphrase: OnceCell::new(),
    };
    let result = match cli.command {
        Command::Key(args) => key::run(args, &ctx),
        Command::Cert(args) => cert::run(args, &ctx),
        Command::Compose(args) => compose::run(args, &ctx),
        Command::Encrypt(args) => encrypt::run(args, &ctx),
        Command::Decrypt(args) => decrypt::run(args, &ctx),
        Command::Verify(args) => verify::run(args, &ctx),
        Command::Inspect(args) => inspect::run(args, &ctx),
        Command::Account(args) => account::run(args, &ctx),
        Command::Submit(args) => submit::run(args, &ctx),
        Command::Outbox(args) => outbox::run(args, &ctx),
        Command::Fetch(args) => fetch::run(args, &ctx),
        Command::Group(args) => group::run(args, &ctx),
        Command::Release(args) => release::run(args, &ctx),
        Command::Revoke(args) => revoke::run(args, &ctx),
        Command::Explode(args) => explode::run(args, &ctx),
        Command::Man(args) => docs::run_man(args),
        Command::Completions(args) => docs::run_completions(args),
        Command::GenerateDocs(args) => docs::run(args),
    };
    match result {
        Ok(()) => 0,
        Err(err) => report(&err, ctx.global.json),
    }
}

/// Prints clap's own error (or help, or version): an error's first line
/// gets the `sealpost:` prefix every error line has, and with `--json` the
/// JSON error line follows; returns the exit status (64, or 0 for help).
fn report_usage(e: &clap::Error, json: bool) -> i32 {
    if !e.use_stderr() {
        let _ = e.print();
        return 0;
    }
    let text = e.render().to_string();
    eprint!("sealpost: {text}");
    if json {
        let mut lines = text.lines();
        let message = lines
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        let tip = lines.find_map(|l| l.trim().strip_prefix("tip: "));
        eprintln!("{}", json::error_line(Exit::Usage, message, tip));
    }
    Exit::Usage.code()
}

/// Prints `sealpost: error: …` (and `hint: …`) on stderr, and with `--json`
/// the same as one JSON line after them; returns the exit status.
fn report(err: &anyhow::Error, json: bool) -> i32 {
    // A closed pipe on stdout is how `sealpost … | head` ends. Unix tools die
    // of SIGPIPE there, quietly, and the shell sees 128+13; so does sealpost.
    // A broken pipe elsewhere (a `--exec` child that quit) is a real error.
    if is_broken_pipe(err) && stdout_reader_gone() {
        die_of_sigpipe();
    }
    let (exit, hint) = classify(err);
    let message = single_line(err);
    eprintln!("sealpost: error: {message}");
    if let Some(hint) = hint {
        eprintln!("sealpost: hint: {hint}");
    }
    if json {
        eprintln!("{}", json::error_line(exit, &message, hint));
    }
    exit.code()
}

/// Whether stdout is a pipe or socket whose reading end has been closed: poll
/// reports an error (or hang-up) on the writing end then.
fn stdout_reader_gone() -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a zero timeout.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready == 1 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

/// Ends the process the way a write to a closed pipe ends `cat`: by SIGPIPE
/// with its default action (Rust ignores SIGPIPE at startup).
fn die_of_sigpipe() -> ! {
    // SAFETY: restoring a signal's default action and raising it; nothing
    // else runs in between that could observe the change.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    // Not reached: the default action of SIGPIPE terminates the process.
    std::process::exit(128 + libc::SIGPIPE)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Set once from `--quiet` before a subcommand runs: what
/// [`announce_terminal_stdin`] consults, from wherever stdin is read.
static QUIET: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// A status line on stderr from where no [`Context`] is at hand (as
/// [`Context::note`]: suppressed by `--quiet`).
pub fn note(line: impl AsRef<str>) {
    if !QUIET.get().copied().unwrap_or(false) {
        eprintln!("{}", line.as_ref());
    }
}

/// A warning on stderr from where no [`Context`] is at hand (as
/// [`Context::warn`]: suppressed by `--quiet`).
pub fn warn(line: impl AsRef<str>) {
    if !QUIET.get().copied().unwrap_or(false) {
        eprintln!("sealpost: warning: {}", line.as_ref());
    }
}

/// Says how to end the input when stdin is the terminal (as compose does),
/// so that a command waiting for a message at a prompt does not look hung.
pub fn announce_terminal_stdin() {
    if std::io::stdin().is_terminal() && !QUIET.get().copied().unwrap_or(false) {
        eprintln!("sealpost: reading from the terminal; end it with Ctrl-D");
    }
}

/// Reads a whole input: a file path, or stdin for `-`.
pub fn read_input(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    if path.as_os_str() == "-" {
        announce_terminal_stdin();
        let mut data = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut data)
            .map_err(|e| fail(Exit::IoErr, format!("cannot read stdin: {e}")))?;
        return Ok(data);
    }
    std::fs::read(path).map_err(|e| {
        let exit = match e.kind() {
            std::io::ErrorKind::NotFound => Exit::NoInput,
            std::io::ErrorKind::PermissionDenied => Exit::NoPerm,
            _ => Exit::IoErr,
        };
        fail(exit, format!("cannot read {}: {e}", path.display()))
    })
}

/// Refuses to replace an existing `-o FILE` unless `--force` (as sq does): a
/// mistyped name must not destroy a file. `-` (stdout) is never refused.
pub fn check_output_free(output: Option<&std::path::Path>, force: bool) -> anyhow::Result<()> {
    match output {
        Some(path) if !force && path.as_os_str() != "-" && path.symlink_metadata().is_ok() => {
            Err(fail_hint(
                Exit::CantCreate,
                format!("{} exists", path.display()),
                "give --force to replace it",
            ))
        }
        _ => Ok(()),
    }
}

/// Writes data to stdout, refusing binary on a terminal.
pub fn write_stdout(data: &[u8], binary: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if binary && out.is_terminal() {
        return Err(fail_hint(
            Exit::Usage,
            "refusing to write binary data to a terminal",
            "redirect stdout to a file or a pipe",
        ));
    }
    out.write_all(data)?;
    out.flush()?;
    Ok(())
}

/// The environment variable naming the DNS server for SRV discovery.
pub const DNS_SERVER_ENV: &str = "SEALPOST_DNS_SERVER";

/// The DNS server for SRV discovery from [`DNS_SERVER_ENV`], read only
/// when an account lists no servers; `None`: the system's.
pub fn dns_server() -> anyhow::Result<Option<std::net::SocketAddr>> {
    match std::env::var(DNS_SERVER_ENV) {
        Ok(addr) if !addr.is_empty() => parse_dns_server(&addr).map(Some),
        _ => Ok(None),
    }
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`.
fn parse_dns_server(text: &str) -> anyhow::Result<std::net::SocketAddr> {
    text.parse::<std::net::SocketAddr>()
        .or_else(|_| {
            text.parse::<std::net::IpAddr>()
                .map(|ip| std::net::SocketAddr::new(ip, 53))
        })
        .map_err(|_| {
            fail(
                Exit::Config,
                format!("{DNS_SERVER_ENV}={text:?} is not an address: write IP or IP:PORT"),
            )
        })
}
