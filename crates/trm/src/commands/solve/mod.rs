//! `trm solve sudoku | maze | arc`: a trained model answers new puzzles; one module per task.

use std::path::{Path, PathBuf};

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

/// Where the picture of puzzle `k` (from 0) of `count` goes: `out` for a single puzzle, else
/// `out` with `-k` (from 1) before its extension: `maze.png` -> `maze-2.png`.
fn picture_path(out: &Path, k: usize, count: usize) -> PathBuf {
    if count == 1 {
        return out.to_path_buf();
    }
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = out.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    out.with_file_name(format!("{stem}-{}{ext}", k + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_pictures() {
        assert_eq!(picture_path(Path::new("out/m.png"), 1, 3), PathBuf::from("out/m-2.png"));
        assert_eq!(picture_path(Path::new("out/m.png"), 0, 1), PathBuf::from("out/m.png"));
    }
}
