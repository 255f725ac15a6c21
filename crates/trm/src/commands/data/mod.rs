//! `trm data ...`: build, inspect and benchmark datasets. One variant per task builder;
//! the work lives in `trm_data`.

use anyhow::Result;
use clap::Subcommand;

pub mod arc;
pub mod custom;
pub mod inspect;
pub mod maze;
pub mod sudoku;

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
    Sudoku(sudoku::SudokuArgs),
    /// Print a dataset's metadata, counts and a few decoded examples.
    Inspect(inspect::InspectArgs),
    /// Time the exact Sudoku solver on puzzle files (one core) and print a Markdown table.
    BenchSudoku(sudoku::BenchSudokuArgs),
    /// Build a maze dataset (official Maze-Hard layout, vocab 6) from CSV files and/or the
    /// Maze-Hard generator.
    Maze(maze::MazeArgs),
    /// Time maze BFS and the Maze-Hard generator and print a Markdown table.
    BenchMaze(maze::BenchMazeArgs),
    /// Build an ARC-AGI dataset (official layout, augmentations, test_puzzles.json) from task JSON.
    Arc(arc::ArcArgs),
    /// Build a dataset for your own fixed-size grid or sequence task (task file + CSV/JSONL pairs).
    Custom(custom::CustomArgs),
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        DataCommand::Sudoku(a) => sudoku::sudoku_command(a),
        DataCommand::Inspect(a) => inspect::inspect(a),
        DataCommand::BenchSudoku(a) => sudoku::bench_sudoku(a),
        DataCommand::Maze(a) => maze::maze(a),
        DataCommand::BenchMaze(a) => maze::bench_maze(a),
        DataCommand::Arc(a) => arc::arc(a),
        DataCommand::Custom(a) => custom::custom(a),
    }
}
