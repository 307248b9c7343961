//! How an example is shown: its command filled into lines that neither clap
//! nor man wraps, and a page's examples as `--help` prints them.

use super::Example;

/// The heading of the examples in `--help`.
pub const HEADING: &str = "Examples:";

/// The widest a rendered command line may be, continuation included: with
/// the indent of `--help` (2) or of a man page (11) it fits in 80 columns,
/// so neither clap nor man ever wraps one.
pub const WIDTH: usize = 68;

/// The command as shown (and as the test runs it): words filled into lines
/// of at most [`WIDTH`], each but the last ending in ` \\` and the next
/// indented by four spaces. A line breaks only between shell words, never
/// inside quotes, so the text is the same command to `sh`; and it breaks
/// before an option, a pipe or a redirection rather than after, so that an
/// option stays with its value.
pub fn shell_lines(command: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for unit in shell_units(command) {
        let fits =
            |line: &str, more: &str| line.chars().count() + 1 + more.chars().count() + 2 <= WIDTH;
        if line.is_empty() {
            line = unit;
        } else if fits(&line, &unit) {
            line.push(' ');
            line.push_str(&unit);
        } else {
            line.push_str(" \\");
            lines.push(std::mem::replace(&mut line, format!("    {unit}")));
        }
    }
    lines.push(line);
    lines
}

/// The command's words, each option, pipe or redirection joined to the words
/// after it up to the next one (`--to bob@example.org`, `> lunch.eml`).
fn shell_units(command: &str) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    for word in shell_words(command) {
        let starts_unit =
            word.starts_with('-') || word.starts_with(['|', '>', '<', '&']) || units.is_empty();
        match units.last_mut() {
            Some(unit)
                if !starts_unit && unit.chars().count() + 1 + word.chars().count() <= WIDTH - 6 =>
            {
                unit.push(' ');
                unit.push_str(&word);
            }
            _ => units.push(word),
        }
    }
    units
}

/// Splits a command line at the blanks outside quotes, keeping each word's
/// quotes and backslashes as written.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in command.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote != Some('\'') {
            escaped = true;
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote.is_none() && c.is_whitespace() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The examples as `--help` shows them: each comment and command on lines of
/// their own, a blank line between examples.
pub fn help_text(examples: &[Example]) -> String {
    let mut text = String::from(HEADING);
    for (i, ex) in examples.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!("\n  # {}", ex.comment));
        for line in shell_lines(ex.command) {
            text.push_str(&format!("\n  {line}"));
        }
    }
    text
}
