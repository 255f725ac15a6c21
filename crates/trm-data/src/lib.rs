//! Puzzles and datasets for Tiny Recursive Models, with no tensor dependency.
//!
//! - [`sudoku`]: parse, print, solve (exact, bitmask), generate and augment Sudoku.
//! - [`dataset`]: the official on-disk layout (`train/`, `test/`, `dataset.json`,
//!   `all__*.npy`, `identifiers.json`) read and written.

pub mod dataset;
pub mod sudoku;
