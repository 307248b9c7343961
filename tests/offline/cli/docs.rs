//! The committed man pages and completions must match the clap definitions.

use std::path::Path;

use assert_cmd::Command;

fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn man_pages_and_completions_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    Command::cargo_bin("sealpost")
        .unwrap()
        .args(["generate-docs", "--out"])
        .arg(tmp.path())
        .assert()
        .success();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["man", "completions"] {
        let fresh = files_under(&tmp.path().join(sub));
        let committed = files_under(&root.join(sub));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&committed),
            names(&fresh),
            "{sub}/ is stale: run `cargo run -- generate-docs` and commit"
        );
        for ((name, a), (_, b)) in committed.iter().zip(fresh.iter()) {
            assert!(
                a == b,
                "{sub}/{name} is stale: run `cargo run -- generate-docs` and commit"
            );
        }
    }
    assert!(root.join("man/sealpost-key-generate.1").exists());
}

#[test]
fn exit_status_table_is_in_the_man_page() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/sealpost.1"))
            .unwrap();
    for code in ["65", "67", "75", "77", "78"] {
        assert!(
            page.contains(code),
            "exit status {code} missing from man/sealpost.1"
        );
    }
}

#[test]
fn installed_binaries_print_the_same_man_pages_and_completions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (args, committed) in [
        (vec!["man"], "man/sealpost.1"),
        (vec!["man", "key-generate"], "man/sealpost-key-generate.1"),
        (vec!["completions", "bash"], "completions/sealpost.bash"),
        (vec!["completions", "zsh"], "completions/_sealpost"),
        (vec!["completions", "fish"], "completions/sealpost.fish"),
    ] {
        let out = Command::cargo_bin("sealpost")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "sealpost {args:?} failed");
        assert_eq!(
            out.stdout,
            std::fs::read(root.join(committed)).unwrap(),
            "sealpost {args:?} differs from {committed}"
        );
    }
    Command::cargo_bin("sealpost")
        .unwrap()
        .args(["man", "no-such-command"])
        .assert()
        .code(64);
}

/// The committed man pages, named, as text.
fn committed_man_pages() -> Vec<(String, String)> {
    files_under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("man"))
        .into_iter()
        .map(|(name, page)| (name, String::from_utf8(page).unwrap()))
        .collect()
}

/// The sections of a page: each `.SH` heading and its lines.
fn sections(page: &str) -> Vec<(String, Vec<&str>)> {
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix(".SH ") {
            sections.push((heading.trim_matches('"').to_string(), Vec::new()));
        } else if let Some((_, lines)) = sections.last_mut() {
            lines.push(line);
        }
    }
    sections
}

#[test]
fn no_man_page_has_an_empty_section() {
    for (name, page) in committed_man_pages() {
        for (heading, lines) in sections(&page) {
            // Requests (`.TP`, `.ie …`) are no content; text lines are.
            assert!(
                lines
                    .iter()
                    .any(|l| !l.starts_with('.') && !l.trim().is_empty()),
                "man/{name}: section {heading} is empty"
            );
        }
    }
}

#[test]
fn man_page_synopsis_names_the_value_of_every_option_that_takes_one() {
    for (name, page) in committed_man_pages() {
        let sections = sections(&page);
        let section = |heading: &str| {
            sections
                .iter()
                .find(|(h, _)| h == heading)
                .map(|(_, lines)| lines.join("\n"))
                .unwrap_or_else(|| panic!("man/{name}: no {heading} section"))
        };
        let synopsis = section("SYNOPSIS");
        // In OPTIONS (and GLOBAL OPTIONS) an option with a value reads
        // `\fB\-\-name\fR \fI<VALUE>\fR`.
        let options: Vec<&str> = sections
            .iter()
            .filter(|(h, _)| h.ends_with("OPTIONS"))
            .flat_map(|(_, lines)| lines.iter().copied())
            .collect();
        let mut with_value = 0;
        for line in options {
            let Some((option, rest)) = line.split_once(r"\fR \fI<") else {
                continue;
            };
            let option = &option[option.rfind(r"\fB").unwrap()..];
            let value = &rest[..rest.find('>').unwrap()];
            let wanted = format!(r"{option}\fR \fI{value}\fR");
            assert!(
                synopsis.contains(&wanted),
                "man/{name}: SYNOPSIS lacks {wanted}:\n{synopsis}"
            );
            with_value += 1;
        }
        // Every page has at least the global --keystore DIR.
        assert!(with_value > 0, "man/{name}: no option with a value found");
    }
}

#[test]
fn every_man_page_has_examples() {
    for (name, page) in committed_man_pages() {
        assert!(
            sections(&page).iter().any(|(h, _)| h == "EXAMPLES"),
            "man/{name} has no EXAMPLES section"
        );
    }
}
