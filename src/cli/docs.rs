//! `sealpost generate-docs` (hidden): writes the man pages and shell
//! completions from the clap definitions. A test runs it and compares with
//! the committed `man/` and `completions/`, so they cannot go stale.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap_complete::Shell;

/// Write man pages to DIR/man and completions to DIR/completions
#[derive(Debug, clap::Args)]
pub struct GenerateDocsArgs {
    /// Top directory of the source tree
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

pub fn run(args: GenerateDocsArgs) -> anyhow::Result<()> {
    let man_dir = args.out.join("man");
    let comp_dir = args.out.join("completions");
    std::fs::create_dir_all(&man_dir)
        .with_context(|| format!("cannot create {}", man_dir.display()))?;
    std::fs::create_dir_all(&comp_dir)
        .with_context(|| format!("cannot create {}", comp_dir.display()))?;
    // The man pages carry exit status and environment as proper sections, so
    // they start from the bare command rather than the one with --help extras.
    let cmd = <super::Cli as clap::CommandFactory>::command();
    write_man_pages(&cmd, &man_dir, "sealpost")?;
    for (shell, file) in [
        (Shell::Bash, "sealpost.bash"),
        (Shell::Zsh, "_sealpost"),
        (Shell::Fish, "sealpost.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut super::command(), "sealpost", &mut buf);
        write(&comp_dir.join(file), &buf)?;
    }
    Ok(())
}

/// One page per command and subcommand: sealpost.1, sealpost-key.1, sealpost-key-generate.1, …
fn write_man_pages(cmd: &clap::Command, dir: &Path, name: &str) -> anyhow::Result<()> {
    let mut cmd = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone()).date("");
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut buf)?;
    }
    man.render_extra_section(&mut buf)?;
    render_exit_status(&mut buf)?;
    render_environment(&mut buf)?;
    man.render_version_section(&mut buf)?;
    write(&dir.join(format!("{name}.1")), &buf)?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_man_pages(sub, dir, &format!("{name}-{}", sub.get_name()))?;
    }
    Ok(())
}

/// EXIT STATUS, from the same table `--help` prints.
fn render_exit_status(w: &mut Vec<u8>) -> std::io::Result<()> {
    use clap_mangen::roff::{bold, roman, Roff};
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (exit, name, meaning) in sealpost::error::Exit::TABLE {
        roff.control("TP", []);
        let label = if name.is_empty() {
            exit.code().to_string()
        } else {
            format!("{} ({name})", exit.code())
        };
        roff.text([bold(label)]);
        roff.text([roman(*meaning)]);
    }
    roff.to_writer(w)
}

fn render_environment(w: &mut Vec<u8>) -> std::io::Result<()> {
    use clap_mangen::roff::{bold, roman, Roff};
    let mut roff = Roff::new();
    roff.control("SH", ["ENVIRONMENT"]);
    for (var, meaning) in super::ENVIRONMENT {
        roff.control("TP", []);
        roff.text([bold(*var)]);
        roff.text([roman(*meaning)]);
    }
    roff.to_writer(w)
}

fn write(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    // Through a fresh temporary file, like every file sealpost writes: a
    // link at the name is replaced, not written through.
    sealpost::fsutil::atomic_write(path, data, sealpost::fsutil::PUBLIC_FILE)
}
