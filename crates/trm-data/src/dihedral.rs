//! The 8 dihedral transforms of a rectangular grid (design 4.5), numbered as the
//! official `dataset/common.py` numbers them. Maze augmentation, ARC augmentation, the ARC
//! evaluator's inversion and rendering all use this one definition, so a transform id written
//! into an ARC puzzle name means the same thing everywhere.
//!
//! Grids are row-major slices with explicit `(rows, cols)`. Transforms 1, 3, 6 and 7 swap
//! the shape to `(cols, rows)`.

/// One of the 8 symmetries of a rectangle's grid: rotations and reflections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dihedral(u8);

impl Dihedral {
    /// Transform 0: leaves the grid unchanged.
    pub const IDENTITY: Dihedral = Dihedral(0);
    /// All 8 transforms in id order (the order of maze augmentation).
    pub const ALL: [Dihedral; 8] = [
        Dihedral(0),
        Dihedral(1),
        Dihedral(2),
        Dihedral(3),
        Dihedral(4),
        Dihedral(5),
        Dihedral(6),
        Dihedral(7),
    ];
    const NAMES: [&'static str; 8] = [
        "identity",
        "rotate 90 ccw",
        "rotate 180",
        "rotate 90 cw",
        "flip left-right",
        "flip up-down",
        "transpose",
        "anti-transpose",
    ];

    /// The transform with official id `id` (0..=7), or `None` for any other number.
    pub fn new(id: u8) -> Option<Dihedral> {
        (id < 8).then_some(Dihedral(id))
    }

    /// The official id, 0..=7.
    pub fn id(self) -> u8 {
        self.0
    }

    /// A short English name, e.g. `rotate 90 cw`.
    pub fn name(self) -> &'static str {
        Self::NAMES[self.0 as usize]
    }

    /// The transform that undoes this one (official `DIHEDRAL_INVERSE = [0, 3, 2, 1, 4, 5, 6, 7]`).
    pub fn inverse(self) -> Dihedral {
        match self.0 {
            1 => Dihedral(3),
            3 => Dihedral(1),
            id => Dihedral(id),
        }
    }

    /// Whether the output has the input's shape transposed.
    pub fn swaps_axes(self) -> bool {
        matches!(self.0, 1 | 3 | 6 | 7)
    }

    /// Shape `(rows, cols)` of the output for an input of shape `(rows, cols)`.
    pub fn output_shape(self, rows: usize, cols: usize) -> (usize, usize) {
        if self.swaps_axes() {
            (cols, rows)
        } else {
            (rows, cols)
        }
    }

    /// The input cell `(r, c)` that lands on output cell `(i, j)`, for an input of shape
    /// `(rows, cols)`: `O[i][j] = A[r][c]` (the table of design 4.5).
    pub fn source(self, rows: usize, cols: usize, i: usize, j: usize) -> (usize, usize) {
        match self.0 {
            0 => (i, j),
            1 => (j, cols - 1 - i),
            2 => (rows - 1 - i, cols - 1 - j),
            3 => (rows - 1 - j, i),
            4 => (i, cols - 1 - j),
            5 => (rows - 1 - i, j),
            6 => (j, i),
            _ => (rows - 1 - j, cols - 1 - i),
        }
    }

    /// Where input cell `(r, c)` goes in the output: the inverse of [`Dihedral::source`].
    pub fn destination(self, rows: usize, cols: usize, r: usize, c: usize) -> (usize, usize) {
        let (out_rows, out_cols) = self.output_shape(rows, cols);
        self.inverse().source(out_rows, out_cols, r, c)
    }

    /// Transform a row-major grid of shape `(rows, cols)`; the result has shape
    /// [`Dihedral::output_shape`].
    pub fn apply<T: Copy>(self, cells: &[T], rows: usize, cols: usize) -> Vec<T> {
        assert_eq!(cells.len(), rows * cols, "grid of {rows}x{cols} needs {} cells", rows * cols);
        if self.0 == 0 {
            return cells.to_vec();
        }
        let (out_rows, out_cols) = self.output_shape(rows, cols);
        let mut out = Vec::with_capacity(cells.len());
        for i in 0..out_rows {
            for j in 0..out_cols {
                let (r, c) = self.source(rows, cols, i, j);
                out.push(cells[r * cols + c]);
            }
        }
        out
    }
}

impl std::fmt::Display for Dihedral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "t{} ({})", self.0, self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2x3 grid with distinct cells.
    const A: [u8; 6] = [1, 2, 3, 4, 5, 6];

    #[test]
    fn matches_numpy_definitions_on_a_2x3_grid() {
        // np.rot90(A), np.rot90(A, 2), np.rot90(A, 3), fliplr, flipud, A.T, fliplr(rot90(A))
        let expected: [&[u8]; 8] = [
            &[1, 2, 3, 4, 5, 6],
            &[3, 6, 2, 5, 1, 4],
            &[6, 5, 4, 3, 2, 1],
            &[4, 1, 5, 2, 6, 3],
            &[3, 2, 1, 6, 5, 4],
            &[4, 5, 6, 1, 2, 3],
            &[1, 4, 2, 5, 3, 6],
            &[6, 3, 5, 2, 4, 1],
        ];
        for t in Dihedral::ALL {
            assert_eq!(t.apply(&A, 2, 3), expected[t.id() as usize], "{t}");
        }
    }

    #[test]
    fn inverses_undo_every_transform_on_non_square_grids() {
        for (rows, cols) in [(1, 4), (3, 5), (5, 2), (4, 4)] {
            let grid: Vec<u32> = (0..(rows * cols) as u32).collect();
            for t in Dihedral::ALL {
                let out = t.apply(&grid, rows, cols);
                let (or, oc) = t.output_shape(rows, cols);
                assert_eq!(or * oc, grid.len());
                assert_eq!(t.inverse().apply(&out, or, oc), grid, "{t} on {rows}x{cols}");
                assert_eq!(t.inverse().inverse(), t);
                // Each output cell follows the table of design 4.5.
                for i in 0..or {
                    for j in 0..oc {
                        let (r, c) = t.source(rows, cols, i, j);
                        assert_eq!(out[i * oc + j], grid[r * cols + c]);
                    }
                }
            }
            // The 8 transforms of a grid with distinct cells are 8 distinct grids.
            let images: std::collections::HashSet<_> = Dihedral::ALL
                .iter()
                .map(|t| (t.output_shape(rows, cols), t.apply(&grid, rows, cols)))
                .collect();
            assert_eq!(images.len(), if rows == 1 || cols == 1 { 4 } else { 8 });
        }
    }

    #[test]
    fn destination_inverts_source() {
        for t in Dihedral::ALL {
            let (or, oc) = t.output_shape(4, 7);
            for i in 0..or {
                for j in 0..oc {
                    let (r, c) = t.source(4, 7, i, j);
                    assert_eq!(t.destination(4, 7, r, c), (i, j), "{t}");
                }
            }
        }
    }
}
