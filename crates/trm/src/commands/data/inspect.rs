//! `trm data inspect`: a dataset's metadata, counts and a few decoded examples.

use std::path::PathBuf;

use anyhow::Result;
use trm_data::dataset::{Dataset, Metadata, Split};
use trm_data::sudoku::{self, Grid};

#[derive(clap::Args)]
pub struct InspectArgs {
    /// Dataset folder (holding train/ and/or test/).
    dir: PathBuf,
    /// Examples shown per split (the first puzzle of the first groups, then an augmented copy).
    #[arg(long, default_value_t = 2)]
    examples: usize,
}

pub fn counts(split: &Split) -> String {
    format!(
        "{} groups, {} puzzles, {} examples",
        split.num_groups(),
        split.num_puzzles(),
        split.num_examples()
    )
}

pub fn inspect(a: InspectArgs) -> Result<()> {
    let dataset = Dataset::load(&a.dir)?;
    println!("dataset {}", a.dir.display());
    let names: Vec<&str> = dataset.identifiers.iter().take(5).map(String::as_str).collect();
    let more = dataset.identifiers.len().saturating_sub(names.len());
    println!(
        "identifiers: {} ({}{})",
        dataset.identifiers.len(),
        names.join(", "),
        if more > 0 { format!(", ... {more} more") } else { String::new() }
    );
    for (name, split) in dataset.splits() {
        let m = &split.meta;
        println!("\n[{name}] {}", counts(split));
        println!(
            "  seq_len {}  vocab_size {}  pad_id {}  ignore_label_id {:?}  blank_identifier_id {}  num_puzzle_identifiers {}",
            m.seq_len, m.vocab_size, m.pad_id, m.ignore_label_id, m.blank_identifier_id, m.num_puzzle_identifiers
        );
        println!(
            "  total_groups {}  total_puzzles {}  mean_puzzle_examples {}  sets {:?}",
            m.total_groups, m.total_puzzles, m.mean_puzzle_examples, m.sets
        );
        if let Some(size) = sudoku_size(m) {
            let valid = (0..split.num_examples())
                .filter(|&i| {
                    let (inp, lab) = split.example(i);
                    matches!((Grid::from_tokens(inp), Grid::from_tokens(lab)), (Ok(p), Ok(s)) if p.is_solved_by(&s))
                })
                .count();
            println!(
                "  {size}x{size} Sudoku: {valid} of {} labels solve their inputs",
                split.num_examples()
            );
        }
        for i in shown_examples(split, a.examples) {
            let (inp, lab) = split.example(i);
            let puzzle = puzzle_of(split, i);
            let group = split.group_indices.partition_point(|&start| start as usize <= puzzle) - 1;
            let copy = puzzle - split.group_puzzles(group).start;
            println!(
                "\n  example {i}: group {group}, puzzle {puzzle} ({}), identifier {}",
                if copy == 0 { "original".to_string() } else { format!("augmented copy {copy}") },
                split.puzzle_identifiers[puzzle]
            );
            for line in render_example(m, inp, lab).lines() {
                println!("    {line}");
            }
        }
    }
    Ok(())
}

/// The first example of the first groups, and the first augmented copy when groups have one.
fn shown_examples(split: &Split, count: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for g in 0..split.num_groups() {
        if out.len() >= count {
            break;
        }
        let puzzles = split.group_puzzles(g);
        out.push(split.puzzle_examples(puzzles.start).start);
        if puzzles.len() > 1 && out.len() < count {
            out.push(split.puzzle_examples(puzzles.start + 1).start);
        }
    }
    out
}

fn puzzle_of(split: &Split, example: usize) -> usize {
    split.puzzle_indices.partition_point(|&start| start as usize <= example) - 1
}

/// The Sudoku side when the metadata is the official Sudoku token layout.
fn sudoku_size(m: &Metadata) -> Option<usize> {
    sudoku::SIZES
        .into_iter()
        .find(|&s| m.seq_len == s * s && m.vocab_size == sudoku::tokens::vocab_size(s))
}

/// Decodes one example for the terminal: grids for known tasks, raw tokens otherwise.
fn render_example(m: &Metadata, input: &[u8], label: &[u8]) -> String {
    if let Some(text) = super::maze::render_maze_example(m, input, label) {
        return text;
    }
    if sudoku_size(m).is_some() {
        if let (Ok(p), Ok(s)) = (Grid::from_tokens(input), Grid::from_tokens(label)) {
            return sudoku::render_side_by_side(&[("input", &p), ("label", &s)]);
        }
    }
    if let Some(text) = super::arc::render_arc_example(m, input, label) {
        return text;
    }
    format!("input: {}\nlabel: {}", token_rows(input), token_rows(label))
}

/// Tokens as rows of a square grid when `seq_len` is a square, else one line.
fn token_rows(tokens: &[u8]) -> String {
    let side = (tokens.len() as f64).sqrt() as usize;
    let line = |t: &[u8]| t.iter().map(u8::to_string).collect::<Vec<_>>().join(" ");
    if side * side == tokens.len() && side > 1 {
        let rows: Vec<String> = tokens.chunks(side).map(line).collect();
        format!("\n  {}", rows.join("\n  "))
    } else {
        line(tokens)
    }
}
