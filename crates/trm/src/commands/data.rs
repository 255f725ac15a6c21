//! `trm data ...`: build, inspect and benchmark datasets. One variant per task builder;
//! the work lives in `trm_data`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Subcommand;
use trm_data::dataset::{Dataset, Metadata, Split};
use trm_data::sudoku::build::{build_dataset, BuildConfig, Source};
use trm_data::sudoku::generate::Filter;
use trm_data::sudoku::{self, Grid};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Build a Sudoku dataset (4x4 or 9x9) in the official layout from puzzle files and/or
    /// generated puzzles.
    ///
    /// Puzzle files are either the Sudoku-Extreme CSV (a header with `question` and optional
    /// `answer`: source,question,answer,rating) or one bare 81- or 16-character puzzle per line
    /// (`.` or `0` blanks, `#` comments); puzzles without an answer are labelled by the solver.
    /// Each split comes from a file or is generated; a split with no source is not written (a
    /// test-only dataset is evaluated against a model trained on another dataset of the same
    /// size). Output is written atomically: after any error nothing is left at --out.
    ///
    /// Example: trm data sudoku --generate-train 1000 --generate-test 200 --aug 1000 --min-guesses 5 --out data/sudoku
    Sudoku(SudokuArgs),
    /// Print a dataset's metadata, counts and a few decoded examples.
    Inspect(InspectArgs),
    /// Time the exact Sudoku solver on puzzle files (one core) and print a Markdown table.
    BenchSudoku(BenchSudokuArgs),
    /// Build a maze dataset (official Maze-Hard layout, vocab 6) from CSV files and/or the
    /// Maze-Hard generator.
    Maze(super::data_maze::MazeArgs),
    /// Time maze BFS and the Maze-Hard generator and print a Markdown table.
    BenchMaze(super::data_maze::BenchMazeArgs),
    /// Build an ARC-AGI dataset (official layout, augmentations, test_puzzles.json) from task JSON.
    Arc(super::data_arc::ArcArgs),
    /// Build a dataset for your own fixed-size grid or sequence task (task file + CSV/JSONL pairs).
    Custom(super::data_custom::CustomArgs),
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        DataCommand::Sudoku(a) => sudoku_command(a),
        DataCommand::Inspect(a) => inspect(a),
        DataCommand::BenchSudoku(a) => bench_sudoku(a),
        DataCommand::Maze(a) => super::data_maze::maze(a),
        DataCommand::BenchMaze(a) => super::data_maze::bench_maze(a),
        DataCommand::Arc(a) => super::data_arc::arc(a),
        DataCommand::Custom(a) => super::data_custom::custom(a),
    }
}

#[derive(clap::Args)]
struct SudokuArgs {
    /// Output folder (replaced if it holds a dataset; other non-empty folders are refused).
    #[arg(long)]
    out: PathBuf,
    /// Training puzzles: Sudoku-Extreme CSV or bare puzzle lines.
    #[arg(long, value_name = "FILE", conflicts_with = "generate_train")]
    train_csv: Option<PathBuf>,
    /// Test puzzles: Sudoku-Extreme CSV or bare puzzle lines.
    #[arg(long, value_name = "FILE", conflicts_with = "generate_test")]
    test_csv: Option<PathBuf>,
    /// Generate N training puzzles (unique solution; see the difficulty filters).
    #[arg(long, value_name = "N")]
    generate_train: Option<usize>,
    /// Generate N test puzzles, distinct from the training puzzles.
    #[arg(long, value_name = "N")]
    generate_test: Option<usize>,
    /// Grid side, 4 or 9 [default: the size of the first file's puzzles, else 9].
    #[arg(long, value_parser = ["4", "9"])]
    size: Option<String>,
    /// Shuffled copies added to each training puzzle (official --num-aug; test is never augmented).
    #[arg(long, value_name = "K", default_value_t = 0)]
    aug: usize,
    /// Keep N training puzzles drawn uniformly without replacement (official --subsample-size).
    #[arg(long, value_name = "N")]
    subsample: Option<usize>,
    /// Seed of every random choice (generation, subsampling, augmentation): same seed, same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Generated puzzles: least solver guesses (difficulty rating; 0 = singles suffice).
    #[arg(long, value_name = "G", default_value_t = 0)]
    min_guesses: u64,
    /// Generated puzzles: most solver guesses.
    #[arg(long, value_name = "G")]
    max_guesses: Option<u64>,
    /// Generated puzzles: fewest givens (removal stops there unless --minimal).
    #[arg(long, value_name = "N")]
    min_givens: Option<usize>,
    /// Generated puzzles: most givens.
    #[arg(long, value_name = "N")]
    max_givens: Option<usize>,
    /// Generated puzzles are minimal: no given can be removed keeping the solution unique.
    #[arg(long)]
    minimal: bool,
    /// Accept file puzzles with several solutions (label: the file's answer, else the solver's first).
    #[arg(long)]
    allow_non_unique: bool,
}

fn sudoku_command(a: SudokuArgs) -> Result<()> {
    let source = |file: Option<PathBuf>, n: Option<usize>| {
        file.map(Source::File).or(n.map(Source::Generate))
    };
    let train = source(a.train_csv, a.generate_train);
    let test = source(a.test_csv, a.generate_test);
    if train.is_none() && test.is_none() {
        bail!("nothing to build: give --train-csv FILE or --generate-train N, and/or --test-csv FILE or --generate-test N");
    }
    if a.subsample.is_some() && !matches!(train, Some(Source::File(_))) {
        bail!("--subsample applies to --train-csv puzzles; for generated puzzles set --generate-train N instead");
    }
    let size = a.size.map(|s| s.parse::<usize>().expect("clap allows 4 or 9"));
    let filter = Filter {
        min_guesses: a.min_guesses,
        max_guesses: a.max_guesses,
        min_givens: a.min_givens,
        max_givens: a.max_givens,
        minimal: a.minimal,
        ..Filter::new(size.unwrap_or(9))
    };
    let cfg = BuildConfig {
        train,
        test,
        size,
        aug: a.aug,
        subsample: a.subsample,
        seed: a.seed,
        filter,
        require_unique: !a.allow_non_unique,
    };
    let dataset = build_dataset(&cfg)?;
    dataset.write(&a.out)?;
    println!("wrote {}", a.out.display());
    for (name, split) in dataset.splits() {
        println!("  {name}: {}", counts(split));
    }
    Ok(())
}

#[derive(clap::Args)]
struct InspectArgs {
    /// Dataset folder (holding train/ and/or test/).
    dir: PathBuf,
    /// Examples shown per split (the first puzzle of the first groups, then an augmented copy).
    #[arg(long, default_value_t = 2)]
    examples: usize,
}

fn counts(split: &Split) -> String {
    format!(
        "{} groups, {} puzzles, {} examples",
        split.num_groups(),
        split.num_puzzles(),
        split.num_examples()
    )
}

fn inspect(a: InspectArgs) -> Result<()> {
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
    if let Some(text) = super::data_maze::render_maze_example(m, input, label) {
        return text;
    }
    if sudoku_size(m).is_some() {
        if let (Ok(p), Ok(s)) = (Grid::from_tokens(input), Grid::from_tokens(label)) {
            return sudoku::render_side_by_side(&[("input", &p), ("label", &s)]);
        }
    }
    if let Some(text) = super::data_arc::render_arc_example(m, input, label) {
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

#[derive(clap::Args)]
struct BenchSudokuArgs {
    /// Puzzle files: tdoku collections (bare lines, `#` comments, `puzzle:count:solution`) or CSV.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Repeat each measurement until it lasts this long (milliseconds).
    #[arg(long, default_value_t = 1000)]
    min_time_ms: u64,
}

fn bench_sudoku(a: BenchSudokuArgs) -> Result<()> {
    let mut rows = Vec::new();
    for file in &a.files {
        rows.push(sudoku::bench::bench_file(file, Duration::from_millis(a.min_time_ms))?);
    }
    print!("{}", sudoku::bench::format_table(&rows));
    Ok(())
}
