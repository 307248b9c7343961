//! The layering rules of `src/lib.rs`, checked: a scan of every `use` and
//! every `crate::…`, `super::…`, `self::…` and (in the binary) `sealpost::…`
//! path in `src/`, resolved to the file it names.
//!
//! 1. A lower wing never imports a higher one:
//!    error → smime → store → mail → group → cli.
//! 2. No two files import each other, directly or through others. A module
//!    naming its own submodules (`mod x;`, `pub use x::…`) declares its
//!    parts rather than importing them, so only the other direction counts:
//!    a submodule using its parent's items is an ordinary import.
//! 3. A CLI subcommand module never imports another subcommand's module; the
//!    CLI's shared infrastructure ([`CLI_INFRASTRUCTURE`]) may be used by all.
//!
//! The scan reads source text, not the compiler's view: comments and string
//! literals are skipped, and a path resolves to the deepest file its leading
//! segments name (`crate::smime::envelope::open` → `smime/envelope/mod.rs`
//! when `open` is not a file of its own).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The wings, lowest first; a file may import its own wing or lower ones.
const WINGS: [&str; 6] = ["error", "smime", "store", "mail", "group", "cli"];

/// CLI modules every subcommand may use: the entry point and the shared
/// helpers for output, secrets, delivery runs and the JSON schema, and the docs and examples
/// generated from the whole command tree. An entry ending in `/` is a folder,
/// every file in it. Anything else in `src/cli/` is a subcommand (a file, or
/// a folder such as `cli/group/`).
const CLI_INFRASTRUCTURE: [&str; 9] = [
    "cli/mod.rs",
    "cli/delivery.rs",
    "cli/output.rs",
    "cli/secrets.rs",
    "cli/json.rs",
    "cli/json_schema.rs",
    "cli/trust.rs",
    "cli/examples/",
    "cli/docs.rs",
];

/// One `.rs` file of `src/`: its path under `src/`, which crate it belongs
/// to, and its module path in that crate.
struct SourceFile {
    path: String,
    in_binary: bool,
    module: Vec<String>,
    text: String,
}

fn source_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&root).unwrap().to_str().unwrap();
                let rel = rel.replace('\\', "/");
                let in_binary = rel == "main.rs" || rel.starts_with("cli/");
                let mut module: Vec<String> = rel
                    .trim_end_matches(".rs")
                    .split('/')
                    .map(str::to_string)
                    .collect();
                if matches!(
                    module.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    module.pop();
                }
                let text = fs::read_to_string(&path).unwrap();
                files.push(SourceFile {
                    path: rel,
                    in_binary,
                    module,
                    text,
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Rust source with comments and the contents of string and character
/// literals blanked out (lengths and newlines kept), so only code remains.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if (c == b'r' || c == b'b')
            && !b[..i]
                .last()
                .is_some_and(|p| p.is_ascii_alphanumeric() || *p == b'_')
            && raw_string_hashes(&b[i..]).is_some()
        {
            let (prefix, hashes) = raw_string_hashes(&b[i..]).unwrap();
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            out.extend(std::iter::repeat_n(b' ', prefix));
            i += prefix;
            while i < b.len() && !b[i..].starts_with(&close) {
                blank(&mut out, b[i]);
                i += 1;
            }
            out.extend(std::iter::repeat_n(b' ', close.len().min(b.len() - i)));
            i += close.len();
        } else if c == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                let step = if b[i] == b'\\' { 2 } else { 1 };
                for k in 0..step {
                    if let Some(&x) = b.get(i + k) {
                        blank(&mut out, x);
                    }
                }
                i += step;
            }
            out.push(b' ');
            i += 1;
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else {
                let ch_len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch_len) == Some(&b'\'')).then_some(i + 1 + ch_len)
            };
            match end {
                Some(end) => {
                    out.extend(std::iter::repeat_n(b' ', end + 1 - i));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// For `r"…"`, `r#"…"#`, `br"…"`: the length of the opening and its `#`s.
fn raw_string_hashes(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    if b.first() == Some(&b'b') {
        i += 1;
    }
    if b.get(i) != Some(&b'r') {
        return None;
    }
    i += 1;
    let hashes = b[i..].iter().take_while(|&&x| x == b'#').count();
    i += hashes;
    (b.get(i) == Some(&b'"')).then_some((i + 1, hashes))
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its full paths.
fn expand_use_tree(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        // `a::b as c` names `a::b`.
        return vec![tree.split_whitespace().next().unwrap_or("").to_string()];
    };
    let prefix: String = tree[..open]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    let mut paths = Vec::new();
    for part in parts.into_iter().filter(|p| !p.trim().is_empty()) {
        for sub in expand_use_tree(part) {
            if sub == "self" {
                paths.push(prefix.trim_end_matches("::").to_string());
            } else {
                paths.push(format!("{prefix}{sub}"));
            }
        }
    }
    paths
}

/// The paths a file names, each with the inline module (`mod tests { … }`)
/// it was written in, relative to the file's own module.
fn paths_in(code: &str) -> Vec<(Vec<String>, String)> {
    // Inline modules: (name, brace depth of its body).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut found = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let word_at = |i: usize| -> String {
        chars[i..]
            .iter()
            .take_while(|c| is_ident(**c))
            .collect::<String>()
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_word = is_ident(c) && (i == 0 || !is_ident(chars[i - 1]));
        if c == '{' {
            depth += 1;
            i += 1;
        } else if c == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
        } else if starts_word && word_at(i) == "mod" {
            // `mod name {` opens an inline module; `mod name;` declares a file.
            let rest: String = chars[i + 3..].iter().collect();
            let rest = rest.trim_start();
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            let after = rest[name.len()..].trim_start();
            if !name.is_empty() && after.starts_with('{') {
                let skip = chars[i + 3..].iter().position(|&x| x == '{').unwrap();
                i += 3 + skip + 1;
                depth += 1;
                inline.push((name, depth));
            } else {
                i += 3;
            }
        } else if starts_word && word_at(i) == "use" {
            let end = chars[i..].iter().position(|&x| x == ';').unwrap() + i;
            let tree: String = chars[i + 3..end].iter().collect();
            let scope: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
            for path in expand_use_tree(tree.trim()) {
                found.push((scope.clone(), path));
            }
            i = end + 1;
        } else if starts_word {
            let word = word_at(i);
            if matches!(word.as_str(), "crate" | "super" | "self" | "sealpost") {
                let path: String = chars[i..]
                    .iter()
                    .take_while(|c| is_ident(**c) || **c == ':')
                    .collect();
                if path.contains("::") {
                    let scope = inline.iter().map(|(n, _)| n.clone()).collect();
                    found.push((scope, path.trim_end_matches(':').to_string()));
                }
                i += path.len().max(1);
            } else {
                i += word.len();
            }
        } else {
            i += 1;
        }
    }
    found
}

/// Resolves `path`, written in `file` inside inline modules `scope`, to a
/// (crate is the binary, module path) pair; `None` for other crates.
fn absolute(file: &SourceFile, scope: &[String], path: &str) -> Option<(bool, Vec<String>)> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut here: Vec<String> = file.module.iter().chain(scope).cloned().collect();
    let mut rest = &segments[..];
    let in_binary = match segments.first().copied() {
        Some("crate") => {
            here.clear();
            rest = &segments[1..];
            file.in_binary
        }
        Some("sealpost") if file.in_binary => {
            here.clear();
            rest = &segments[1..];
            false
        }
        Some("super" | "self") => {
            while let Some(&s) = rest.first() {
                match s {
                    "super" => {
                        here.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            file.in_binary
        }
        _ => return None,
    };
    here.extend(rest.iter().map(|s| s.to_string()));
    Some((in_binary, here))
}

/// The file of the deepest module `module` names.
fn resolve(files: &[SourceFile], in_binary: bool, module: &[String]) -> Option<usize> {
    (0..=module.len()).rev().find_map(|n| {
        files
            .iter()
            .position(|f| f.in_binary == in_binary && f.module == module[..n])
    })
}

fn wing(file: &SourceFile) -> usize {
    let name = if file.in_binary {
        "cli"
    } else {
        file.module.first().map_or("error", |m| m.as_str())
    };
    WINGS
        .iter()
        .position(|w| *w == name)
        .unwrap_or_else(|| panic!("src/{}: not in a wing ({WINGS:?})", file.path))
}

/// Which subcommand a CLI file belongs to; `None` for infrastructure and
/// for files outside `src/cli/`.
fn subcommand(file: &SourceFile) -> Option<&str> {
    let infrastructure = CLI_INFRASTRUCTURE
        .iter()
        .any(|i| file.path == *i || (i.ends_with('/') && file.path.starts_with(i)));
    if !file.path.starts_with("cli/") || infrastructure {
        return None;
    }
    file.module.get(1).map(String::as_str)
}

/// Every import between two different files of `src/`: (from, to) indices.
fn imports(files: &[SourceFile]) -> BTreeSet<(usize, usize)> {
    let mut edges = BTreeSet::new();
    for (from, file) in files.iter().enumerate() {
        if file.path == "lib.rs" {
            continue; // declares the wings, imports nothing
        }
        for (scope, path) in paths_in(&code_only(&file.text)) {
            let Some((in_binary, module)) = absolute(file, &scope, &path) else {
                continue;
            };
            if let Some(to) = resolve(files, in_binary, &module) {
                if to != from {
                    edges.insert((from, to));
                }
            }
        }
    }
    edges
}

fn is_submodule_of(child: &SourceFile, parent: &SourceFile) -> bool {
    child.in_binary == parent.in_binary
        && child.module.len() > parent.module.len()
        && child.module.starts_with(&parent.module)
}

/// Rule 1: the wing order.
fn wing_violations(files: &[SourceFile], edges: &BTreeSet<(usize, usize)>) -> Vec<String> {
    edges
        .iter()
        .filter(|(a, b)| wing(&files[*a]) < wing(&files[*b]))
        .map(|(a, b)| {
            format!(
                "src/{} ({}) imports src/{} ({}), a higher wing",
                files[*a].path,
                WINGS[wing(&files[*a])],
                files[*b].path,
                WINGS[wing(&files[*b])]
            )
        })
        .collect()
}

/// Rule 2: the files that import each other, one line per cycle found.
fn cycles(files: &[SourceFile], edges: &BTreeSet<(usize, usize)>) -> Vec<String> {
    let mut next: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(a, b) in edges {
        if !is_submodule_of(&files[b], &files[a]) {
            next.entry(a).or_default().push(b);
        }
    }
    // Depth-first search; a back edge closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; files.len()];
    let mut found = Vec::new();
    fn visit(
        n: usize,
        next: &BTreeMap<usize, Vec<usize>>,
        mark: &mut [Mark],
        stack: &mut Vec<usize>,
        files: &[SourceFile],
        found: &mut Vec<String>,
    ) {
        mark[n] = Mark::Open;
        stack.push(n);
        for &m in next.get(&n).into_iter().flatten() {
            match mark[m] {
                Mark::New => visit(m, next, mark, stack, files, found),
                Mark::Open => {
                    let at = stack.iter().position(|&s| s == m).unwrap();
                    let names: Vec<String> = stack[at..]
                        .iter()
                        .chain([&m])
                        .map(|&s| format!("src/{}", files[s].path))
                        .collect();
                    found.push(format!("import cycle: {}", names.join(" → ")));
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        mark[n] = Mark::Done;
    }
    for n in 0..files.len() {
        if mark[n] == Mark::New {
            visit(n, &next, &mut mark, &mut Vec::new(), files, &mut found);
        }
    }
    found
}

/// Rule 3: subcommand modules importing each other, as (from, to) paths.
fn cli_crossings(
    files: &[SourceFile],
    edges: &BTreeSet<(usize, usize)>,
) -> BTreeSet<(String, String)> {
    edges
        .iter()
        .filter(|(a, b)| {
            let (from, to) = (subcommand(&files[*a]), subcommand(&files[*b]));
            from.is_some() && to.is_some() && from != to
        })
        .map(|(a, b)| (files[*a].path.clone(), files[*b].path.clone()))
        .collect()
}

#[test]
fn the_layering_rules_hold() {
    let files = source_files();
    let edges = imports(&files);
    // The scan must see the imports the code is built from, or it proves
    // nothing: a few that exist, whatever else changes.
    let path_of = |p: &str| files.iter().position(|f| f.path == p).unwrap();
    for (a, b) in [
        ("smime/encrypt.rs", "smime/envelope/mod.rs"),
        ("mail/smtp.rs", "mail/tls.rs"),
        ("cli/encrypt.rs", "cli/mod.rs"),
        ("smime/envelope/open.rs", "smime/envelope/recipient.rs"),
    ] {
        assert!(
            edges.contains(&(path_of(a), path_of(b))),
            "the scan no longer sees src/{a} importing src/{b}"
        );
    }

    let mut problems = wing_violations(&files, &edges);
    problems.extend(cycles(&files, &edges));
    for (a, b) in cli_crossings(&files, &edges) {
        problems.push(format!(
            "src/{a} imports src/{b}: a subcommand may not use another's module (move what they share into the library or cli infrastructure)"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scan_reads_paths_not_comments_or_strings() {
    let code = code_only(
        "use crate::a::{b, c::{d, self}};\n// use crate::x;\nlet s = \"crate::y::z\";\nlet c = '\"'; crate::e::f();\nfn g<'a>() {}\nmod tests { use super::*; }\n",
    );
    let paths: Vec<String> = paths_in(&code)
        .into_iter()
        .map(|(scope, p)| format!("{}:{p}", scope.join("::")))
        .collect();
    assert_eq!(
        paths,
        [
            ":crate::a::b",
            ":crate::a::c::d",
            ":crate::a::c",
            ":crate::e::f",
            "tests:super::*"
        ]
    );
}
