//! `trm`: the command-line front end. Argument parsing and printing only; the work lives in
//! the `trm-data`, `trm-model` and `trm-viz` crates.

mod commands;

use clap::{Parser, Subcommand};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps freed memory in the process. The recursion frees and allocates tensors of the same
/// few sizes thousands of times per step; returning them to the kernel (mimalloc's default
/// after 10 ms, glibc's for every block over its mmap threshold) made the kernel zero fresh
/// pages for each: 278k page faults and 14 s of system time in one `trm bench` run, against
/// 1.6k and 3 s with purging off (docs/benchmarks.md).
/// A `MIMALLOC_PURGE_DELAY` set in the environment is left to mimalloc (for a machine where
/// resident memory matters more than page faults).
#[cfg(feature = "mimalloc")]
fn keep_freed_memory() {
    // mi_option_purge_delay (mimalloc.h, v2): -1 = never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a process-wide mimalloc option by its documented number before any
        // other thread exists; no memory is touched.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

/// Tiny Recursive Models: build puzzle datasets, train, evaluate, solve and render.
#[derive(Parser)]
#[command(name = "trm", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a small Sudoku model on this machine and watch it solve a held-out puzzle.
    Demo(commands::demo::Args),
    /// Train a model (presets or a config file), or resume a run.
    Train(commands::train::Args),
    /// Evaluate a trained model on a test split.
    Eval(commands::eval::Args),
    /// Build or inspect datasets in the official layout.
    Data(commands::data::Args),
    /// Solve puzzles with a trained model, step by step if asked.
    Solve(commands::solve::Args),
    /// Draw a Sudoku, a maze or an ARC task as PNG or SVG.
    Render(commands::render::Args),
    /// Draw the learning curves of a run's metrics.jsonl.
    Plot(commands::plot::Args),
    /// Time the training and evaluation steps of a configuration on this machine.
    Bench(commands::bench::Args),
    /// Check the models against tensors produced by the official code, on a device.
    CheckReference(commands::check_reference::Args),
}

fn main() {
    // Behave like other Unix tools when the reader goes away (`trm data inspect D | head`):
    // end quietly instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restores the default disposition of one signal at start-up, before any other
    // thread exists; SIG_DFL is no handler, so no code runs in signal context.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    #[cfg(feature = "mimalloc")]
    keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => commands::demo::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Data(args) => commands::data::run(args),
        Command::Solve(args) => commands::solve::run(args),
        Command::Render(args) => commands::render::run(args),
        Command::Plot(args) => commands::plot::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::CheckReference(args) => commands::check_reference::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                    failures.push(format!(
                        "{}:{line}: {}: {first}",
                        file.display(),
                        words.join(" ")
                    ));
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
}
