//! `trm solve sudoku | maze | arc`: a trained model answers new puzzles; one module per task.
//! Each reads its puzzles, answers them with `trm_train::solve::solve` (batching, the model,
//! decoding, checking: the task's `trm_train::solve::Task`) and prints.

use anyhow::{ensure, Result};
use trm_model::Model;
use trm_train::solve::SolveOptions;

pub mod arc;
pub mod maze;
pub mod sudoku;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    kind: Kind,
}

#[derive(clap::Subcommand)]
enum Kind {
    /// Solve 4x4 or 9x9 Sudoku puzzles with a model trained on that size.
    Sudoku(sudoku::SudokuArgs),
    /// Answer the test inputs of an ARC task file, voting over augmentations.
    Arc(arc::ArcArgs),
    /// Draw the shortest path through mazes (`# SGo`) with a model trained on that size.
    Maze(maze::MazeArgs),
}

pub fn run(args: Args) -> Result<()> {
    match args.kind {
        Kind::Sudoku(a) => sudoku::solve_sudoku(a),
        Kind::Arc(a) => arc::solve_arc(a),
        Kind::Maze(a) => maze::solve_maze(a),
    }
}

/// Refuses `--batch-size 0` and `--max-steps 0`.
fn check_flags(batch_size: usize, max_steps: Option<usize>) -> Result<()> {
    ensure!(batch_size > 0, "--batch-size must be at least 1");
    ensure!(max_steps != Some(0), "--max-steps must be at least 1");
    Ok(())
}

/// How `model` answers: `--max-steps` supervision steps (default: the training value),
/// `--halt`, `--batch-size` rows at once; with `--steps` one row at a time, every step kept.
fn options(
    model: &Model,
    max_steps: Option<usize>,
    halt: bool,
    batch_size: usize,
    steps: bool,
) -> SolveOptions {
    SolveOptions {
        steps: max_steps.unwrap_or(model.config().halt_max_steps),
        halt,
        batch_size: if steps { 1 } else { batch_size },
        keep_steps: steps,
    }
}
