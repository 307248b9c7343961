//! Documentation generated from the clap definitions: `sealpost man` and
//! `sealpost completions SHELL` for installed binaries, and the hidden
//! `sealpost generate-docs`, which writes the committed `man/` and
//! `completions/` (a test compares them, so they cannot go stale).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap_complete::Shell;

use super::examples;

/// Write man pages to DIR/man and completions to DIR/completions
#[derive(Debug, clap::Args)]
pub struct GenerateDocsArgs {
    /// Top directory of the source tree
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

/// Print a man page (roff) on stdout
#[derive(Debug, clap::Args)]
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
    // The man pages carry examples, exit status and environment as proper
    // sections, so they start from the bare command rather than the one with
    // --help extras.
    let cmd = <super::Cli as clap::CommandFactory>::command();
    let mut pages = Vec::new();
    render_man_pages(&cmd, &[], &mut pages)?;
    Ok(pages)
}

/// Renders the page of `cmd` (whose words after `sealpost` are `path`) and
/// those of its subcommands. Only sections with content are written.
fn render_man_pages(
    cmd: &clap::Command,
    path: &[&str],
    pages: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<()> {
    let name = std::iter::once("sealpost")
        .chain(path.iter().copied())
        .collect::<Vec<_>>();
    let mut cmd = cmd.clone().name(name.join("-")).bin_name(name.join(" "));
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone()).date("");
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    render_synopsis(&cmd, &mut buf)?;
    if cmd.get_long_about().or(cmd.get_about()).is_some() {
        man.render_description_section(&mut buf)?;
    }
    man.render_options_section(&mut buf)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut buf)?;
    }
    if let Some(examples) = examples::for_command(&path.join(" ")) {
        render_examples(examples, &mut buf)?;
    }
    if let Some(notes) = cmd.get_after_help() {
        render_notes(&notes.to_string(), &mut buf)?;
    }
    render_exit_status(&mut buf)?;
    render_environment(&mut buf)?;
    if path.is_empty() {
        render_json_output(&mut buf)?;
    }
    man.render_version_section(&mut buf)?;
    pages.push((format!("{}.1", name.join("-")), buf));
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let sub_path = path
            .iter()
            .copied()
            .chain([sub.get_name()])
            .collect::<Vec<_>>();
        render_man_pages(sub, &sub_path, pages)?;
    }
    Ok(())
}

/// SYNOPSIS with the value name of every option that takes one
/// (`--keystore DIR`), which clap_mangen's own synopsis leaves out.
fn render_synopsis(cmd: &clap::Command, w: &mut Vec<u8>) -> std::io::Result<()> {
    use clap_mangen::roff::{bold, italic, roman, Roff};
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let mut line = vec![bold(name)];
    let mut options: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
        .collect();
    options.sort_by_key(|a| (a.get_display_order(), a.get_long().unwrap_or_default()));
    for opt in options {
        let flag = match (opt.get_short(), opt.get_long()) {
            (Some(short), Some(long)) => vec![
                bold(format!("-{short}")),
                roman("|"),
                bold(format!("--{long}")),
            ],
            (Some(short), None) => vec![bold(format!("-{short}"))],
            (None, Some(long)) => vec![bold(format!("--{long}"))],
            (None, None) => continue,
        };
        let (open, close) = brackets(opt.is_required_set());
        line.push(roman(format!(" {open}")));
        line.extend(flag);
        if opt.get_num_args().is_some_and(|n| n.takes_values()) {
            for value in opt.get_value_names().unwrap_or_default() {
                line.push(roman(" "));
                line.push(italic(value.as_str()));
            }
        }
        line.push(roman(close));
        if repeatable(opt) {
            line.push(roman("..."));
        }
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let (open, close) = brackets(arg.is_required_set());
        let value = match arg.get_value_names() {
            Some(names) => names
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            None => arg.get_id().as_str().to_uppercase(),
        };
        line.push(roman(format!(" {open}")));
        line.push(italic(value));
        line.push(roman(close));
        if repeatable(arg) {
            line.push(roman("..."));
        }
    }
    if cmd.has_subcommands() {
        let (open, close) = brackets(cmd.is_subcommand_required_set());
        line.push(roman(format!(" {open}")));
        line.push(italic("COMMAND"));
        line.push(roman(close));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    roff.text(line);
    roff.to_writer(w)
}

fn brackets(required: bool) -> (&'static str, &'static str) {
    if required {
        ("", "")
    } else {
        ("[", "]")
    }
}

/// Whether an argument may be given more than once (or take several values).
fn repeatable(arg: &clap::Arg) -> bool {
    matches!(
        arg.get_action(),
        clap::ArgAction::Append | clap::ArgAction::Count
    ) || arg
        .get_num_args()
        .is_some_and(|n| n.max_values() > arg.get_value_names().map_or(1, |v| v.len()))
}

/// EXAMPLES: each comment as a paragraph and its command unfilled, so that
/// no formatter breaks the command line.
fn render_examples(examples: &[examples::Example], w: &mut Vec<u8>) -> std::io::Result<()> {
    use clap_mangen::roff::{bold, roman, Roff};
    let mut roff = Roff::new();
    roff.control("SH", ["EXAMPLES"]);
    for ex in examples {
        roff.control("PP", []);
        roff.text([roman(ex.comment)]);
        roff.control("RS", ["4"]);
        roff.control("nf", []);
        for line in examples::shell_lines(ex.command) {
            roff.text([bold(line)]);
        }
        roff.control("fi", []);
        roff.control("RE", []);
    }
    roff.to_writer(w)
}

/// NOTES: the rest of a command's after-help text (e.g. compose's JSON shape).
fn render_notes(text: &str, w: &mut Vec<u8>) -> std::io::Result<()> {
    use clap_mangen::roff::{roman, Roff};
    let mut roff = Roff::new();
    roff.control("SH", ["NOTES"]);
    roff.control("nf", []);
    for line in text.lines() {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
    roff.to_writer(w)
}

/// The clap command with each page's examples (from [`examples::PAGES`])
/// ahead of its own after-help text, for `--help` and `help COMMAND`.
pub fn with_examples(cmd: clap::Command) -> clap::Command {
    attach_examples(cmd, "")
}

fn attach_examples(mut cmd: clap::Command, path: &str) -> clap::Command {
    if let Some(examples) = examples::for_command(path) {
        let text = examples::help_text(examples);
        let after = match cmd.get_after_help() {
            Some(own) => format!("{text}\n\n{own}"),
            None => text.clone(),
        };
        if let Some(own) = cmd.get_after_long_help() {
            let long = format!("{text}\n\n{own}");
            cmd = cmd.after_long_help(long);
        }
        cmd = cmd.after_help(after);
    }
    cmd.mut_subcommands(|sub| {
        let sub_path = if path.is_empty() {
            sub.get_name().to_string()
        } else {
            format!("{path} {}", sub.get_name())
        };
        attach_examples(sub, &sub_path)
    })
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
    sealpost::store::fsutil::atomic_write(path, data, sealpost::store::fsutil::PUBLIC_FILE)
}
