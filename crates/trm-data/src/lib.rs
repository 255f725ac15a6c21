//! Puzzles and datasets for Tiny Recursive Models, with no tensor dependency.
//!
//! "design N" in the comments is section N of docs/design.md (the paper and the official
//! code mapped onto this repository).
//!
//! - [`sudoku`]: parse, print, solve (exact, bitmask), generate and augment Sudoku.
//! - [`atomic`]: atomic writes of files and folders, and cleaning up after killed writers.
//! - [`dataset`]: the official on-disk layout (`train/`, `test/`, `dataset.json`,
//!   `all__*.npy`, `identifiers.json`) read and written.
//! - [`dihedral`]: the 8 grid symmetries, one definition for every task.
//! - [`maze`]: parse, print, solve (BFS), generate (Maze-Hard) and build maze datasets.
//! - [`arc`]: read ARC tasks, encode, augment, build ARC datasets and evaluate predictions.
//! - [`custom`]: the user's own fixed-size grid or sequence tasks (task file + CSV/JSONL).
//! - [`text`]: text named by a command-line argument (a file, standard input, or itself).

#![warn(missing_docs)]

pub mod arc;
pub mod atomic;
pub mod custom;
pub mod dataset;
pub mod dihedral;
pub mod maze;
pub mod sudoku;
pub mod text;
