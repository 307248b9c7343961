//! Documentation generated from the clap definitions: `sealpost man` and
//! `sealpost completions SHELL` for installed binaries, and the hidden
//! `sealpost generate-docs`, which writes the committed `man/` and
//! `completions/` (a test compares them, so they cannot go stale).

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

/// Print a man page (roff) on stdout
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    sealpost man | man -l -\n  \
    sealpost man key-generate | man -l -\n  \
    sealpost man --out ~/.local/share/man/man1")]
pub struct ManArgs {
    /// The page of a subcommand, its words joined by `-` (e.g. key-generate) [default: sealpost(1)]
    #[arg(value_name = "COMMAND", conflicts_with = "out")]
    pub page: Option<String>,
    /// Write every page, sealpost.1 and one per subcommand, into DIR instead
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Print a shell completion script on stdout
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    sealpost completions bash > ~/.local/share/bash-completion/completions/sealpost\n  \
    sealpost completions zsh > ~/.zfunc/_sealpost\n  \
    sealpost completions fish > ~/.config/fish/completions/sealpost.fish")]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// The completion files committed in `completions/`.
const COMMITTED_COMPLETIONS: [(Shell, &str); 3] = [
    (Shell::Bash, "sealpost.bash"),
    (Shell::Zsh, "_sealpost"),
    (Shell::Fish, "sealpost.fish"),
];

pub fn run(args: GenerateDocsArgs) -> anyhow::Result<()> {
    let man_dir = args.out.join("man");
    let comp_dir = args.out.join("completions");
    write_man_pages(&man_dir)?;
    create_dir(&comp_dir)?;
    for (shell, file) in COMMITTED_COMPLETIONS {
        write(&comp_dir.join(file), &completion(shell))?;
    }
    Ok(())
}

pub fn run_man(args: ManArgs) -> anyhow::Result<()> {
    if let Some(dir) = args.out {
        return write_man_pages(&dir);
    }
    let wanted = match args.page {
        Some(page) => format!("sealpost-{}.1", page.trim_start_matches("sealpost-")),
        None => "sealpost.1".to_string(),
    };
    let pages = man_pages()?;
    match pages.into_iter().find(|(name, _)| *name == wanted) {
        Some((_, page)) => super::write_stdout(&page, false),
        None => Err(sealpost::fail_hint(
            sealpost::Exit::Usage,
            format!("no man page {wanted}"),
            "name a subcommand with its words joined by '-', e.g. `sealpost man key-generate`",
        )),
    }
}

pub fn run_completions(args: CompletionsArgs) -> anyhow::Result<()> {
    super::write_stdout(&completion(args.shell), false)
}

fn completion(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut super::command(), "sealpost", &mut buf);
    buf
}

fn write_man_pages(dir: &Path) -> anyhow::Result<()> {
    create_dir(dir)?;
    for (name, page) in man_pages()? {
        write(&dir.join(name), &page)?;
    }
    Ok(())
}

/// Every man page, named: sealpost.1, sealpost-key.1, sealpost-key-generate.1, …
fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    // The man pages carry exit status and environment as proper sections, so
    // they start from the bare command rather than the one with --help extras.
    let cmd = <super::Cli as clap::CommandFactory>::command();
    let mut pages = Vec::new();
    render_man_pages(&cmd, "sealpost", &mut pages)?;
    Ok(pages)
}

fn render_man_pages(
    cmd: &clap::Command,
    name: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<()> {
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
    if !name.contains('-') {
        render_json_output(&mut buf)?;
    }
    man.render_version_section(&mut buf)?;
    pages.push((format!("{name}.1"), buf));
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        render_man_pages(sub, &format!("{name}-{}", sub.get_name()), pages)?;
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

/// JSON OUTPUT of sealpost(1), from the schema the tests check against.
fn render_json_output(w: &mut Vec<u8>) -> std::io::Result<()> {
    use clap_mangen::roff::{bold, roman, Roff};
    let (introduction, items) = super::json::man_section();
    let mut roff = Roff::new();
    roff.control("SH", ["JSON OUTPUT"]);
    roff.text([roman(introduction)]);
    for (term, shape) in items {
        roff.control("TP", []);
        roff.text([bold(term)]);
        roff.text([roman(shape)]);
    }
    roff.to_writer(w)
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

fn write(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    // Through a fresh temporary file, like every file sealpost writes: a
    // link at the name is replaced, not written through.
    sealpost::fsutil::atomic_write(path, data, sealpost::fsutil::PUBLIC_FILE)
}
