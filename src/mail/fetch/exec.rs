//! `--exec CMD`: a fetched message piped through `sh -c CMD`, whose output
//! is stored instead, bounded by the maximum message size.

use std::io::{Read, Write};

use anyhow::Context as _;

/// Pipes `input` to `sh -c cmd` and writes the command's standard output to
/// `out`; a non-zero exit, a signal, empty output, or more than `max` bytes
/// of output is an error. The command's standard error goes to ours.
pub fn run_exec(
    cmd: &str,
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    max: u64,
) -> anyhow::Result<()> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run sh -c {cmd:?}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let copied = std::thread::scope(|scope| {
        // Written from another thread so a command that writes before it has
        // read everything cannot deadlock; a command that stops reading
        // early (broken pipe) is judged by its exit status.
        scope.spawn(move || {
            let _ = std::io::copy(input, &mut stdin);
        });
        // One byte more than allowed tells an overlong output from a full one.
        let copied = std::io::copy(&mut stdout.take(max.saturating_add(1)), out);
        if matches!(copied, Ok(n) if n > max) {
            // Stop it rather than wait for output nobody reads.
            let _ = child.kill();
        }
        copied
    });
    let status = child.wait().context("waiting for the --exec command")?;
    let copied = copied.context("reading the --exec command's output")?;
    if copied > max {
        anyhow::bail!("`{cmd}` wrote more than the maximum message size of {max} bytes");
    }
    if !status.success() {
        anyhow::bail!("`{cmd}` failed ({status})");
    }
    if copied == 0 {
        anyhow::bail!("`{cmd}` wrote nothing");
    }
    Ok(())
}
