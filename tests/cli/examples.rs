//! Every example of every help page runs, as sq's do: the examples are data
//! (src/cli/examples/, included here, so the test reads the very
//! definitions `--help` renders), and each is run by `sh -c` exactly as
//! `--help` shows it, line continuations included, in a throwaway world (see
//! that module's doc), with `sealpost` on PATH and no terminal. It must
//! exit with its documented status. Examples that send or fetch mail run
//! with a plain-text SMTP and POP3 server on loopback ([`MailSink`]), those
//! for a list's key release with a real `sealpost group serve`. The few
//! that cannot run as written (`Check::Fails`: a random id, a server that
//! runs until stopped) must fail as documented there, never with a usage
//! error.

#[allow(dead_code)]
#[path = "../../src/cli/examples/mod.rs"]
mod data;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::release::server;
use crate::servers::MailSink;
use data::{Check, Example, PAGES};

const PASSPHRASE: &str = "example passphrase";

/// The keystore every example starts from: alice's identity under
/// [`PASSPHRASE`], bob's and carol's certificates accepted. Made once and
/// copied for each example.
fn template_keystore() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let steps = [
                "sealpost key import \"$FIXTURES/alice.key.pem\" --cert \"$FIXTURES/alice.cert.pem\"",
                "sealpost cert import \"$FIXTURES/bob.cert.pem\" \"$FIXTURES/carol.cert.pem\"",
            ];
            for step in steps {
                let out = shell(dir.path(), &[], step);
                assert_ran(&out, step, 0);
            }
            dir
        })
        .path()
}

/// A fresh world: a temporary directory with a copy of the template keystore.
fn new_world() -> tempfile::TempDir {
    let world = tempfile::tempdir().unwrap();
    let copy = Command::new("cp")
        .arg("-a")
        .arg(template_keystore().join("keystore"))
        .arg(world.path().join("keystore"))
        .status()
        .unwrap();
    assert!(copy.success());
    world
}

/// `sh -c script` in `dir` as the examples' world: `dir` is the current
/// directory and `$HOME`, its `keystore` the keystore; no terminal, no stdin.
fn shell(dir: &Path, vars: &[(&str, String)], script: &str) -> Output {
    crate::common::shell_without_terminal(dir, script)
        .env("SEALPOST_KEYSTORE", dir.join("keystore"))
        .env("SEALPOST_PASSPHRASE", PASSPHRASE)
        .env("FIXTURES", crate::common::data(""))
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

fn assert_ran(out: &Output, what: &str, status: i32) {
    assert_eq!(
        out.status.code(),
        Some(status),
        "{what}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The example as `--help` shows it (without the indent), which is what runs.
fn shown(ex: &Example) -> String {
    data::shell_lines(ex.command).join("\n")
}

/// Runs one example in a fresh world; returns why it failed, if it did.
fn run(page: &str, ex: &Example) -> Result<(), String> {
    let world = new_world();
    let dir = world.path();
    let mut vars = Vec::new();
    let mut _server = None;
    let mut mail = Vec::new();
    if ex.check == Check::WithMailServer {
        let smtp = MailSink::smtp();
        let pop3 = MailSink::pop3(mailbox_message());
        vars.push(("SMTP_SERVER", smtp.url("smtp")));
        vars.push(("POP3_SERVER", pop3.url("pop3")));
        mail = vec![smtp, pop3];
    }
    let mut setup: Vec<&str> = Vec::new();
    if ex.check == Check::WithGroupServer {
        for step in data::GROUP_SERVER_STEPS {
            let out = shell(dir, &vars, step);
            if !out.status.success() {
                return Err(failure(page, ex, "group server step", step, &out));
            }
        }
        let tls = server::tls_files(&dir.join("tls"));
        let served = server::Served::start(server::serve_command(
            &dir.join("keystore"),
            PASSPHRASE,
            &tls,
            &[],
        ));
        vars.push(("GROUP_SERVER", served.url()));
        vars.push(("GROUP_CA", tls.ca.display().to_string()));
        _server = Some(served);
    }
    setup.extend(ex.setup);
    for step in setup {
        let out = shell(dir, &vars, step);
        if !out.status.success() {
            return Err(failure(page, ex, "setup step", step, &out));
        }
    }
    let out = shell(dir, &vars, &shown(ex));
    let expected = match ex.check {
        Check::Runs(status) => status,
        Check::WithGroupServer | Check::WithMailServer => 0,
        Check::Fails { status, .. } => status,
    };
    if out.status.code() != Some(expected) {
        return Err(failure(
            page,
            ex,
            &format!("expected status {expected}"),
            &shown(ex),
            &out,
        ));
    }
    if !mail.is_empty() && mail.iter().all(|sink| sink.moved() == 0) {
        return Err(failure(page, ex, "no mail went through", &shown(ex), &out));
    }
    if matches!(ex.check, Check::Fails { .. })
        && !String::from_utf8_lossy(&out.stderr).contains("sealpost: error: ")
    {
        return Err(failure(page, ex, "no sealpost error", &shown(ex), &out));
    }
    Ok(())
}

fn failure(page: &str, ex: &Example, what: &str, script: &str, out: &Output) -> String {
    format!(
        "`sealpost {page}` example {:?}: {what}: exit {:?}\n  $ {script}\n  stdout: {}\n  stderr: {}",
        ex.comment,
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

/// Runs the examples `select` picks, two at a time, and fails with every
/// failure at once.
fn run_all(select: impl Fn(&Example) -> bool) {
    let jobs: Vec<(&str, &Example)> = PAGES
        .iter()
        .flat_map(|p| p.examples.iter().map(move |ex| (p.command, ex)))
        .filter(|(_, ex)| select(ex))
        .collect();
    assert!(!jobs.is_empty());
    let failures: Vec<String> = std::thread::scope(|s| {
        let halves = jobs.chunks(jobs.len().div_ceil(2)).map(|chunk| {
            s.spawn(move || {
                chunk
                    .iter()
                    .filter_map(|(page, ex)| run(page, ex).err())
                    .collect::<Vec<_>>()
            })
        });
        halves
            .collect::<Vec<_>>()
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} example(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn examples_that_need_no_server_run() {
    run_all(|ex| matches!(ex.check, Check::Runs(_)));
}

#[test]
fn examples_that_send_or_fetch_mail_run_with_a_mail_server() {
    run_all(|ex| ex.check == Check::WithMailServer);
}

#[test]
fn examples_that_need_a_group_server_run_with_one() {
    run_all(|ex| ex.check == Check::WithGroupServer);
}

/// The examples that cannot run as written fail as their `why` says, and
/// not as a usage error.
#[test]
fn examples_that_cannot_run_fail_only_as_documented() {
    for page in PAGES {
        for ex in page.examples {
            if let Check::Fails { status, why } = ex.check {
                assert!(
                    status != 64 && status != 0 && !why.is_empty(),
                    "{}: {ex:?}",
                    page.command
                );
            }
        }
    }
    run_all(|ex| matches!(ex.check, Check::Fails { .. }));
}

/// `sealpost [WORDS] --help` with at most 80 columns.
fn help(words: &[&str]) -> String {
    let out = crate::common::sealpost_without_terminal()
        .args(words)
        .arg("--help")
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    assert_ran(&out, &format!("sealpost {} --help", words.join(" ")), 0);
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands a help page lists (clap's "Commands:" section), but `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .filter(|name| name != "help")
        .collect()
}

/// Every help page, parents included, as its words after `sealpost`.
fn every_page() -> Vec<String> {
    let mut pages = vec![String::new()];
    let mut i = 0;
    while i < pages.len() {
        let words: Vec<String> = pages[i].split_whitespace().map(String::from).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        for sub in subcommands(&help(&words)) {
            pages.push(
                words
                    .iter()
                    .copied()
                    .chain([sub.as_str()])
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        i += 1;
    }
    pages
}

#[test]
fn every_help_page_shows_its_examples_unwrapped() {
    let pages = every_page();
    assert!(pages.len() > 40, "{pages:?}");
    for page in &pages {
        let examples = data::for_command(page)
            .unwrap_or_else(|| panic!("`sealpost {page} --help` has no examples"));
        assert!(!examples.is_empty(), "`sealpost {page}`");
        for ex in examples {
            assert!(
                ex.comment.chars().count() <= 76,
                "`sealpost {page}`: comment over 76 columns, so wrapped at 80: {}",
                ex.comment
            );
        }
        let words: Vec<&str> = page.split_whitespace().collect();
        let text = help(&words);
        assert!(
            text.contains(&data::help_text(examples)),
            "`sealpost {page} --help` does not show its examples as defined:\n{text}"
        );
        for line in data::help_text(examples).lines() {
            assert!(
                line.chars().count() <= 80,
                "`sealpost {page}`: example line over 80 columns: {line}"
            );
        }
    }
    for defined in PAGES {
        assert!(
            pages.iter().any(|p| p == defined.command),
            "examples for `sealpost {}`, which is no help page",
            defined.command
        );
    }
}

#[test]
fn long_example_lines_break_between_words_and_still_run_as_one_command() {
    let long = "sealpost compose --from alice@example.org --to bob@example.org --subject 'A subject long enough to need a break' --header 'In-Reply-To: <1@example.org>' > out.eml";
    let lines = data::shell_lines(long);
    assert!(lines.len() > 1, "{lines:?}");
    for line in &lines {
        assert!(line.chars().count() <= data::WIDTH, "{line}");
    }
    assert!(lines.iter().any(|l| l.trim_start()
        == "--header 'In-Reply-To: <1@example.org>' > out.eml"
        || l.contains("--header 'In-Reply-To: <1@example.org>'")));
    // The shell sees the same words.
    let echo = |script: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("set -- {script}; printf '%s\\n' \"$@\""))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let words = long.replace(" > out.eml", "");
    assert_eq!(
        echo(&data::shell_lines(&words).join("\n")),
        echo(&words),
        "breaking the lines changed the words"
    );
}

/// The message in the POP3 mailbox: one to alice, encrypted and signed by
/// her (so that `fetch --exec 'sealpost decrypt'` has something to decrypt).
fn mailbox_message() -> &'static str {
    static MESSAGE: OnceLock<String> = OnceLock::new();
    MESSAGE.get_or_init(|| {
        let world = new_world();
        let script = "echo 'Fetched.' | sealpost compose --from alice@example.org --to alice@example.org | sealpost encrypt --eml --sign";
        let out = shell(world.path(), &[], script);
        assert_ran(&out, script, 0);
        String::from_utf8(out.stdout).unwrap()
    })
}
