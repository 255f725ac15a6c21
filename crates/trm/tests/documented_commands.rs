//! Every `trm` command written in README.md and docs/ parses against the current command line
//! (`trm::Cli`, the parser the binary uses).
//! `scripts/readme-commands.sh` runs the README's commands on small data.

use clap::Parser;
use trm::Cli;

/// The `trm` command lines of a markdown text: every line of its fenced code blocks that
/// starts with `trm`, `$ trm`, `time trm`, a path ending in `/trm` or `cargo run --release
/// --`, joined with the lines a trailing backslash continues it on, cut at a comment, a pipe
/// or a redirection, split into words (quotes kept whole), with its line number.
fn commands_in(markdown: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let (mut in_code, mut pending) = (false, String::new());
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        // A line ending in a backslash continues on the next one.
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        let line = std::mem::take(&mut pending) + line;
        let mut words = split_words(&line);
        while matches!(words.first().map(String::as_str), Some("$" | "time")) {
            words.remove(0);
        }
        if words.len() >= 4 && words[..4] == ["cargo", "run", "--release", "--"] {
            words.splice(..4, ["trm".to_string()]);
        }
        // A shell variable (`--rank $r`) stands for a value; 0 fits numbers and paths.
        for w in words.iter_mut().filter(|w| w.starts_with('$')) {
            *w = "0".to_string();
        }
        if words.first().is_some_and(|w| w == "trm" || w.ends_with("/trm")) {
            out.push((i + 1, words));
        }
    }
    out
}

fn split_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote) = (Vec::new(), String::new(), None);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, '#' | '|' | '>' | '<' | ';' | '&') if word.is_empty() => break,
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (None, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Every `trm` command written in README.md and docs/ parses against the current command
/// line (flags, subcommands, value formats); the CLI tests run the commands on small data.
#[test]
fn documented_commands_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let (mut checked, mut failures) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, words) in commands_in(&text) {
            checked += 1;
            if let Err(e) = Cli::try_parse_from(&words) {
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                failures.push(format!("{}:{line}: {}: {first}", file.display(), words.join(" ")));
            }
        }
    }
    assert!(checked >= 40, "only {checked} documented commands found");
    assert!(
        failures.is_empty(),
        "{} documented commands do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn command_lines_are_found_and_split() {
    let md = "text trm eval\n```sh\n$ trm eval --model 'a b' \\\n --json | head  # c\nls\ncargo run --release -- demo --task maze\n```\ntrm x\n";
    let found = commands_in(md);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].1, ["trm", "eval", "--model", "a b", "--json"]);
    assert_eq!(
        found[1],
        (6, vec!["trm", "demo", "--task", "maze"].into_iter().map(String::from).collect())
    );
}
