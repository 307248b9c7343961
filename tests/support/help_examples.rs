//! The help examples' runner, shared by the offline binary (the examples
//! that need no server, and those that cannot run as written) and the live
//! one (those that send or fetch mail, or ask a group server, which it
//! starts through [`run_all`]'s `start`). The examples are data
//! (src/cli/examples/, included here, so the tests read the very
//! definitions `--help` renders), and each is run by `sh -c` exactly as
//! `--help` shows it, line continuations included, in a throwaway world (see
//! that module's doc), with `sealpost` on PATH and no terminal. It must
//! exit with its documented status.

// Each binary uses part of the data (the live one does not render help).
#[allow(dead_code, unused_imports)]
#[path = "../../src/cli/examples/mod.rs"]
pub mod data;

use std::any::Any;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use data::{Check, Example, PAGES};

pub const PASSPHRASE: &str = "example passphrase";

/// Variables an example's lines find its servers in (`$SMTP_SERVER`, …).
pub type Vars = Vec<(&'static str, String)>;

/// What `start` started for one example: kept until the example has run.
#[derive(Default)]
pub struct Started {
    /// Servers, stopped when dropped (which is all this is for).
    pub _running: Vec<Box<dyn Any>>,
    /// For mail servers: how many messages went through them so far (the
    /// example must have moved at least one).
    pub moved: Option<Box<dyn Fn() -> usize>>,
}

/// Starts the servers an example needs in its world `dir`, adding their
/// variables to `vars`; an error says which step failed.
pub type Start =
    fn(page: &str, ex: &Example, dir: &Path, vars: &mut Vars) -> Result<Started, String>;

/// `Start` for examples that need no server.
pub fn no_servers(_: &str, _: &Example, _: &Path, _: &mut Vars) -> Result<Started, String> {
    Ok(Started::default())
}

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
pub fn new_world() -> tempfile::TempDir {
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
pub fn shell(dir: &Path, vars: &[(&str, String)], script: &str) -> Output {
    crate::common::shell_without_terminal(dir, script)
        .env("SEALPOST_KEYSTORE", dir.join("keystore"))
        .env("SEALPOST_PASSPHRASE", PASSPHRASE)
        .env("FIXTURES", crate::common::data(""))
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

pub fn assert_ran(out: &Output, what: &str, status: i32) {
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

/// Runs one example in a fresh world, with what `start` starts for it;
/// returns why it failed, if it did.
fn run(page: &str, ex: &Example, start: Start) -> Result<(), String> {
    let world = new_world();
    let dir = world.path();
    let mut vars = Vars::new();
    let started = start(page, ex, dir, &mut vars)?;
    for step in ex.setup {
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
    if started.moved.as_ref().is_some_and(|moved| moved() == 0) {
        return Err(failure(page, ex, "no mail went through", &shown(ex), &out));
    }
    if matches!(ex.check, Check::Fails { .. })
        && !String::from_utf8_lossy(&out.stderr).contains("sealpost: error: ")
    {
        return Err(failure(page, ex, "no sealpost error", &shown(ex), &out));
    }
    Ok(())
}

pub fn failure(page: &str, ex: &Example, what: &str, script: &str, out: &Output) -> String {
    format!(
        "`sealpost {page}` example {:?}: {what}: exit {:?}\n  $ {script}\n  stdout: {}\n  stderr: {}",
        ex.comment,
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

/// Runs the examples `select` picks, two at a time, each with what `start`
/// starts for it, and fails with every failure at once.
pub fn run_all(select: impl Fn(&Example) -> bool, start: Start) {
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
                    .filter_map(|(page, ex)| run(page, ex, start).err())
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
