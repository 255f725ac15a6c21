//! `trm solve sudoku | maze | arc`: a trained model answers new puzzles; one module per task.

use anyhow::Result;

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
