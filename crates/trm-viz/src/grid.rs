//! Plain grids of small integers and per-cell marks (changed since the previous step, wrong).
//!
//! What a value means depends on the picture ([`crate::Kind`]); the grid itself is just a
//! rectangle of `u8`, so callers can pass model outputs, dataset rows or parsed puzzles alike.

use anyhow::{ensure, Result};

/// A `rows x cols` grid stored row by row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grid {
    rows: usize,
    cols: usize,
    cells: Vec<u8>,
}

impl Grid {
    /// A grid from its cells in row-major order; `cells.len()` must be `rows * cols`.
    pub fn new(rows: usize, cols: usize, cells: Vec<u8>) -> Result<Grid> {
        ensure!(
            rows > 0 && cols > 0,
            "a grid needs at least one row and one column, got {rows}x{cols}"
        );
        ensure!(
            cells.len() == rows * cols,
            "a {rows}x{cols} grid needs {} cells, got {}",
            rows * cols,
            cells.len()
        );
        Ok(Grid { rows, cols, cells })
    }

    /// A grid of one value.
    pub fn filled(rows: usize, cols: usize, value: u8) -> Result<Grid> {
        Grid::new(rows, cols, vec![value; rows * cols])
    }

    /// A grid from its rows (as in ARC JSON); all rows must have the same length.
    pub fn from_rows<R: AsRef<[u8]>>(rows: &[R]) -> Result<Grid> {
        ensure!(!rows.is_empty(), "a grid needs at least one row");
        let cols = rows[0].as_ref().len();
        let mut cells = Vec::with_capacity(rows.len() * cols);
        for (i, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            ensure!(
                row.len() == cols,
                "row {} has {} cells but row 1 has {cols}; rows must have equal length",
                i + 1,
                row.len()
            );
            cells.extend_from_slice(row);
        }
        Grid::new(rows.len(), cols, cells)
    }

    /// A square grid from a flat sequence whose length is a square number (81 -> 9x9,
    /// 900 -> 30x30), as the model reads and writes puzzles.
    pub fn square(cells: &[u8]) -> Result<Grid> {
        let side = (cells.len() as f64).sqrt().round() as usize;
        ensure!(side * side == cells.len(), "{} cells do not form a square grid", cells.len());
        Grid::new(side, side, cells.to_vec())
    }

    /// Height in cells.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Width in cells.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// All values in row-major order.
    pub fn cells(&self) -> &[u8] {
        &self.cells
    }

    /// The value at row `r`, column `c` (panics outside the grid).
    pub fn get(&self, r: usize, c: usize) -> u8 {
        self.cells[r * self.cols + c]
    }

    /// The value at `(r, c)`, or `None` outside the grid.
    pub fn try_get(&self, r: usize, c: usize) -> Option<u8> {
        (r < self.rows && c < self.cols).then(|| self.get(r, c))
    }

    /// Sets the value at row `r`, column `c` (panics outside the grid).
    pub fn set(&mut self, r: usize, c: usize, value: u8) {
        self.cells[r * self.cols + c] = value;
    }

    /// The values of row `r`, left to right.
    pub fn row(&self, r: usize) -> &[u8] {
        &self.cells[r * self.cols..(r + 1) * self.cols]
    }

    /// The same cells with `f` applied to each value.
    pub fn map(&self, f: impl Fn(u8) -> u8) -> Grid {
        Grid { rows: self.rows, cols: self.cols, cells: self.cells.iter().map(|&v| f(v)).collect() }
    }

    /// The `rows x cols` window starting at `(r0, c0)`, clipped to the grid (at least 1x1).
    pub fn crop(&self, r0: usize, c0: usize, rows: usize, cols: usize) -> Grid {
        let r0 = r0.min(self.rows - 1);
        let c0 = c0.min(self.cols - 1);
        let rows = rows.clamp(1, self.rows - r0);
        let cols = cols.clamp(1, self.cols - c0);
        let cells =
            (r0..r0 + rows).flat_map(|r| self.row(r)[c0..c0 + cols].iter().copied()).collect();
        Grid { rows, cols, cells }
    }

    /// The smallest rectangle `(r0, c0, rows, cols)` holding every cell not equal to `pad`,
    /// or `None` when all cells are `pad`.
    pub fn bounds_without(&self, pad: u8) -> Option<(usize, usize, usize, usize)> {
        let mut b: Option<(usize, usize, usize, usize)> = None;
        for r in 0..self.rows {
            for c in 0..self.cols {
                if self.get(r, c) != pad {
                    let (r0, c0, r1, c1) = b.unwrap_or((r, c, r, c));
                    b = Some((r0.min(r), c0.min(c), r1.max(r), c1.max(c)));
                }
            }
        }
        b.map(|(r0, c0, r1, c1)| (r0, c0, r1 - r0 + 1, c1 - c0 + 1))
    }

    /// Whether both grids have the same numbers of rows and columns.
    pub fn same_shape(&self, other: &Grid) -> bool {
        self.rows == other.rows && self.cols == other.cols
    }
}

/// What is marked on one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mark {
    /// Differs from the previous step's answer.
    pub changed: bool,
    /// Differs from the truth (or breaks a rule).
    pub wrong: bool,
}

/// One [`Mark`] per cell of a grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marks {
    rows: usize,
    cols: usize,
    cells: Vec<Mark>,
}

impl Marks {
    /// Nothing marked.
    pub fn none(rows: usize, cols: usize) -> Marks {
        Marks { rows, cols, cells: vec![Mark::default(); rows * cols] }
    }

    /// Cells of `current` that differ from `previous`; where the shapes differ, every cell
    /// outside `previous` counts as changed.
    pub fn changed(previous: &Grid, current: &Grid) -> Marks {
        let mut m = Marks::none(current.rows, current.cols);
        for r in 0..current.rows {
            for c in 0..current.cols {
                m.cells[r * current.cols + c].changed =
                    previous.try_get(r, c) != Some(current.get(r, c));
            }
        }
        m
    }

    /// Cells of `answer` that differ from `truth`; cells outside `truth` are wrong.
    pub fn wrong(answer: &Grid, truth: &Grid) -> Marks {
        let mut m = Marks::none(answer.rows, answer.cols);
        for r in 0..answer.rows {
            for c in 0..answer.cols {
                m.cells[r * answer.cols + c].wrong = truth.try_get(r, c) != Some(answer.get(r, c));
            }
        }
        m
    }

    /// Both sets of marks on one grid (same shape required).
    pub fn union(&self, other: &Marks) -> Result<Marks> {
        ensure!(
            (self.rows, self.cols) == (other.rows, other.cols),
            "cannot combine marks of a {}x{} grid with those of a {}x{} grid",
            self.rows,
            self.cols,
            other.rows,
            other.cols
        );
        let cells = self
            .cells
            .iter()
            .zip(&other.cells)
            .map(|(a, b)| Mark { changed: a.changed || b.changed, wrong: a.wrong || b.wrong })
            .collect();
        Ok(Marks { rows: self.rows, cols: self.cols, cells })
    }

    /// Height in cells.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Width in cells.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The mark of the cell at row `r`, column `c`.
    pub fn get(&self, r: usize, c: usize) -> Mark {
        self.cells[r * self.cols + c]
    }

    /// Sets the mark of the cell at row `r`, column `c`.
    pub fn set(&mut self, r: usize, c: usize, mark: Mark) {
        self.cells[r * self.cols + c] = mark;
    }

    /// Number of cells marked as changed since the previous step.
    pub fn count_changed(&self) -> usize {
        self.cells.iter().filter(|m| m.changed).count()
    }

    /// Number of cells marked wrong.
    pub fn count_wrong(&self) -> usize {
        self.cells.iter().filter(|m| m.wrong).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_checks_shapes() {
        let g = Grid::from_rows(&[vec![1, 2, 3], vec![4, 5, 6]]).unwrap();
        assert_eq!((g.rows(), g.cols(), g.get(1, 2)), (2, 3, 6));
        assert_eq!(g.row(1), &[4, 5, 6]);
        assert!(Grid::from_rows(&[vec![1, 2], vec![3]])
            .unwrap_err()
            .to_string()
            .contains("row 2 has 1"));
        assert_eq!(Grid::square(&[0; 81]).unwrap().rows(), 9);
        assert!(Grid::square(&[0; 80]).is_err());
        assert!(Grid::new(2, 2, vec![0; 3]).is_err());
    }

    #[test]
    fn crops_to_the_content() {
        let g = Grid::from_rows(&[vec![0, 0, 0], vec![0, 5, 1], vec![0, 0, 0]]).unwrap();
        assert_eq!(g.bounds_without(0), Some((1, 1, 1, 2)));
        assert_eq!(g.crop(1, 1, 1, 2).cells(), &[5, 1]);
        assert_eq!(g.crop(2, 2, 9, 9).cells(), &[0]);
        assert_eq!(Grid::filled(2, 2, 0).unwrap().bounds_without(0), None);
    }

    #[test]
    fn marks_changed_and_wrong_cells_across_shapes() {
        let a = Grid::from_rows(&[vec![1, 2], vec![3, 4]]).unwrap();
        let b = Grid::from_rows(&[vec![1, 9], vec![3, 4], vec![5, 6]]).unwrap();
        let ch = Marks::changed(&a, &b);
        assert_eq!(ch.count_changed(), 3);
        assert!(ch.get(0, 1).changed && !ch.get(0, 0).changed && ch.get(2, 0).changed);
        let wr = Marks::wrong(&b, &a);
        assert_eq!(wr.count_wrong(), 3);
        let both = ch.union(&wr).unwrap();
        assert_eq!(both.get(0, 1), Mark { changed: true, wrong: true });
        assert!(ch.union(&Marks::none(2, 2)).is_err());
    }
}
