//! `trm data sudoku` (build a Sudoku dataset) and `trm data bench-sudoku` (solver speed).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use trm_data::sudoku;
use trm_data::sudoku::build::{build_dataset, BuildConfig, Source};
use trm_data::sudoku::generate::Filter;

#[derive(clap::Args)]
pub struct SudokuArgs {
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

pub fn sudoku_command(a: SudokuArgs) -> Result<()> {
    let source = |file: Option<PathBuf>, n: Option<usize>| {
        file.map(Source::File).or(n.map(Source::Generate))
    };
    let train = source(a.train_csv, a.generate_train);
    let test = source(a.test_csv, a.generate_test);
    if train.is_none() && test.is_none() {
        bail!("nothing to build: give --train-csv FILE or --generate-train N, and/or --test-csv FILE or --generate-test N");
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
        println!("  {name}: {}", split.counts_line());
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct BenchSudokuArgs {
    /// Puzzle files: tdoku collections (bare lines, `#` comments, `puzzle:count:solution`) or CSV.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Repeat each measurement until it lasts this long (milliseconds).
    #[arg(long, default_value_t = 1000)]
    min_time_ms: u64,
}

pub fn bench_sudoku(a: BenchSudokuArgs) -> Result<()> {
    let mut rows = Vec::new();
    for file in &a.files {
        rows.push(sudoku::bench::bench_file(file, Duration::from_millis(a.min_time_ms))?);
    }
    print!("{}", sudoku::bench::format_table(&rows));
    Ok(())
}
