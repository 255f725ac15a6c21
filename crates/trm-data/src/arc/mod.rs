//! ARC-AGI tasks (ARC-AGI-1, ARC-AGI-2, ConceptARC; design 4.4, 5.3).
//!
//! - [`Grid`], [`Pair`], [`Task`]: the task JSON, read and checked ([`read`]).
//! - [`encode`]: a grid on the token canvas (official 30x30, or smaller) with its EOS border,
//!   and the crop back.
//! - [`augment`]: dihedral + colour permutation augmentations and their names.
//! - [`build`]: the official ARC dataset layout with `test_puzzles.json`.
//! - [`check`]: an attempt against the truth (correct, or how it differs).
//! - [`evaluate`]: crop, de-augment, vote, pass@K and `submission.json`.

pub mod augment;
pub mod build;
pub mod check;
pub mod encode;
pub mod evaluate;
pub mod read;

use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

use crate::dihedral::Dihedral;

pub use augment::Augmentation;
pub use read::{read_tasks, Subset};

/// Largest grid side; also the side of the official token canvas ([`encode::Canvas::OFFICIAL`]).
pub const MAX_GRID: usize = 30;
/// Number of colours (0 = black .. 9 = maroon).
pub const NUM_COLORS: u8 = 10;

/// A grid of colours 0..=9, row-major. Task grids are 1x1 to 30x30; a grid cropped from a
/// prediction may be empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grid {
    rows: usize,
    cols: usize,
    cells: Vec<u8>,
}

impl Grid {
    /// A grid from row-major cells; checks the cell count and the colours.
    pub fn new(rows: usize, cols: usize, cells: Vec<u8>) -> Result<Grid> {
        ensure!(
            cells.len() == rows * cols,
            "a {rows}x{cols} grid needs {} cells, got {}",
            rows * cols,
            cells.len()
        );
        if let Some(i) = cells.iter().position(|&c| c >= NUM_COLORS) {
            anyhow::bail!(
                "row {}, column {}: colour {} is outside 0-9",
                i / cols + 1,
                i % cols + 1,
                cells[i]
            );
        }
        Ok(Grid { rows, cols, cells })
    }

    /// A grid from a list of rows (the JSON shape). All rows must have the same length.
    pub fn from_rows(rows: &[Vec<u8>]) -> Result<Grid> {
        let cols = rows.first().map_or(0, |r| r.len());
        for (r, row) in rows.iter().enumerate() {
            ensure!(
                row.len() == cols,
                "row {} has {} cells but row 1 has {cols} (ragged rows)",
                r + 1,
                row.len()
            );
        }
        Grid::new(rows.len(), cols, rows.concat())
    }

    /// The empty grid (what the crop of a prediction without any colour gives).
    pub fn empty() -> Grid {
        Grid { rows: 0, cols: 0, cells: Vec::new() }
    }

    /// Height of the grid in cells.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Width of the grid in cells.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The size as text, `RxC` (e.g. `3x4`).
    pub fn dims(&self) -> String {
        format!("{}x{}", self.rows, self.cols)
    }

    /// The colours 0..=9, row-major (`rows * cols` values).
    pub fn cells(&self) -> &[u8] {
        &self.cells
    }

    /// Colour of the cell at (`row`, `col`), 0-based.
    pub fn get(&self, row: usize, col: usize) -> u8 {
        self.cells[row * self.cols + col]
    }

    /// The grid as a list of rows (the JSON shape).
    pub fn to_rows(&self) -> Vec<Vec<u8>> {
        if self.cols == 0 {
            return vec![Vec::new(); self.rows];
        }
        self.cells.chunks(self.cols).map(|r| r.to_vec()).collect()
    }

    /// Whether the grid is at most `side` x `side`.
    pub fn within(&self, side: usize) -> bool {
        self.rows <= side && self.cols <= side
    }

    /// Checks the ARC size limits: 1x1 to 30x30.
    pub fn check_task_size(&self) -> Result<()> {
        ensure!(
            (1..=MAX_GRID).contains(&self.rows) && (1..=MAX_GRID).contains(&self.cols),
            "grid is {}x{}; ARC grids are 1x1 to {MAX_GRID}x{MAX_GRID}",
            self.rows,
            self.cols
        );
        Ok(())
    }

    /// The grid under dihedral transform `t`.
    pub fn transformed(&self, t: Dihedral) -> Grid {
        let (rows, cols) = t.output_shape(self.rows, self.cols);
        Grid { rows, cols, cells: t.apply(&self.cells, self.rows, self.cols) }
    }

    /// Every colour `c` replaced by `map[c]`.
    pub fn recolored(&self, map: &[u8; NUM_COLORS as usize]) -> Grid {
        Grid {
            rows: self.rows,
            cols: self.cols,
            cells: self.cells.iter().map(|&c| map[c as usize]).collect(),
        }
    }
}

impl Serialize for Grid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_rows().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Grid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Grid, D::Error> {
        let rows = Vec::<Vec<u8>>::deserialize(d)?;
        Grid::from_rows(&rows).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Grid {
    /// One line per row, one digit per cell.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for row in self.to_rows() {
            let line: String = row.iter().map(|&c| char::from(b'0' + c)).collect();
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// A demonstration or test pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// The grid shown to the solver.
    pub input: Grid,
    /// The grid to produce (the official dummy `[[0]]` for an unknown test output).
    pub output: Grid,
}

/// One ARC task: demonstration pairs and test pairs. Serialises to the task JSON
/// (`{"train": [...], "test": [...]}`), the form of `test_puzzles.json` entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// File stem or Kaggle key, e.g. `00576224`.
    #[serde(skip)]
    pub id: String,
    /// Demonstration pairs (the task JSON's `train`).
    pub train: Vec<Pair>,
    /// Test pairs to solve (the task JSON's `test`).
    pub test: Vec<Pair>,
    /// False when the test outputs were not given (hidden test set); they are then the
    /// official dummy `[[0]]`, and scores against them mean nothing.
    #[serde(skip, default = "solutions_known_default")]
    pub solutions_known: bool,
}

fn solutions_known_default() -> bool {
    true
}

/// The official placeholder for an unknown test output.
pub fn dummy_output() -> Grid {
    Grid { rows: 1, cols: 1, cells: vec![0] }
}

impl Task {
    /// All pairs, demonstrations first.
    pub fn pairs(&self) -> impl Iterator<Item = &Pair> {
        self.train.iter().chain(&self.test)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_json_round_trip_and_errors() {
        let g: Grid = serde_json::from_str("[[1,2,3],[4,5,6]]").unwrap();
        assert_eq!((g.rows(), g.cols(), g.get(1, 2)), (2, 3, 6));
        assert_eq!(serde_json::to_string(&g).unwrap(), "[[1,2,3],[4,5,6]]");
        let ragged = Grid::from_rows(&[vec![1, 2], vec![3]]).unwrap_err().to_string();
        assert!(ragged.contains("row 2 has 1 cells but row 1 has 2"), "{ragged}");
        let colour = Grid::from_rows(&[vec![1, 12]]).unwrap_err().to_string();
        assert!(colour.contains("row 1, column 2: colour 12"), "{colour}");
    }
}
