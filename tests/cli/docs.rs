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
