//! Every example of every help page is shown unwrapped and runs, as sq's
//! do; here those that need no server and those that cannot run as written
//! (`Check::Fails`: a random id, a server that runs until stopped), which
//! must fail as documented there, never with a usage error. The runner
//! (tests/support/examples.rs) is shared with the live binary, which runs
//! the examples that send or fetch mail or ask a group server.

use std::process::Command;

use crate::help_examples::data::{self, Check, PAGES};
use crate::help_examples::{assert_ran, no_servers, run_all};

#[test]
fn examples_that_need_no_server_run() {
    run_all(|ex| matches!(ex.check, Check::Runs(_)), no_servers);
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
    run_all(|ex| matches!(ex.check, Check::Fails { .. }), no_servers);
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
