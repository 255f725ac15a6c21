//! ARC grids as token sequences on a square canvas (design 4.4, official
//! `np_grid_to_seq_translational_augment` and the evaluator's `_crop`).
//!
//! A grid is placed on an NxN [`Canvas`] (official: 30x30, 900 tokens) at offset `(row, col)`:
//! cell = colour + 2, an EOS row just below the grid (over its columns) and an EOS column just
//! right of it (over its rows), each only if it fits; everything else, the corner below-right
//! included, is PAD. A grid of side N fills its side of an NxN canvas without EOS, as 30x30
//! grids do officially. A dataset's canvas is the square root of its `seq_len`
//! ([`Canvas::from_seq_len`]).

use anyhow::{ensure, Result};

use super::{Grid, MAX_GRID, NUM_COLORS};

/// Token of the cells outside the grid and its EOS border; also the ignored label.
pub const PAD: u8 = 0;
/// Token of the end-of-grid border: the row just below and the column just right of the grid.
pub const EOS: u8 = 1;
/// Token of colour 0; colour `c` is `c + COLOR_OFFSET`.
pub const COLOR_OFFSET: u8 = 2;
/// PAD, EOS and 10 colours.
pub const VOCAB_SIZE: u32 = 12;

/// A square token canvas of side 2 to 30, row-major; `side * side` tokens per example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Canvas {
    side: usize,
}

impl Default for Canvas {
    fn default() -> Canvas {
        Canvas::OFFICIAL
    }
}

impl std::fmt::Display for Canvas {
    /// `NxN`, e.g. `30x30`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{0}x{0}", self.side)
    }
}

impl Canvas {
    /// The official 30x30 canvas (900 tokens).
    pub const OFFICIAL: Canvas = Canvas { side: MAX_GRID };
    /// The smallest side: a 1x1 grid with its EOS border.
    pub const MIN_SIDE: usize = 2;

    /// The canvas of side `side`, 2 to 30.
    pub fn new(side: usize) -> Result<Canvas> {
        ensure!(
            (Self::MIN_SIDE..=MAX_GRID).contains(&side),
            "an ARC canvas has a side of {} to {MAX_GRID}, not {side}",
            Self::MIN_SIDE
        );
        Ok(Canvas { side })
    }

    /// The canvas of a dataset or model with `seq_len` tokens per example.
    pub fn from_seq_len(seq_len: usize) -> Result<Canvas> {
        let side = (seq_len as f64).sqrt().round() as usize;
        ensure!(
            side * side == seq_len && (Self::MIN_SIDE..=MAX_GRID).contains(&side),
            "seq_len {seq_len} is not an ARC canvas (side x side tokens, side {} to {MAX_GRID}; 900 officially)",
            Self::MIN_SIDE
        );
        Ok(Canvas { side })
    }

    /// Side of the canvas in cells (30 officially).
    pub fn side(self) -> usize {
        self.side
    }

    /// Tokens per example: `side * side`.
    pub fn seq_len(self) -> usize {
        self.side * self.side
    }

    /// Whether `grid` fits the canvas (at the corner).
    pub fn fits(self, grid: &Grid) -> bool {
        grid.within(self.side)
    }

    /// Encodes `grid` at offset `(row, col)`. Panics if it does not fit.
    pub fn encode(self, grid: &Grid, row: usize, col: usize) -> Vec<u8> {
        let (n, h, w) = (self.side, grid.rows(), grid.cols());
        assert!(
            row + h <= n && col + w <= n,
            "a {h}x{w} grid at ({row}, {col}) does not fit the {self} canvas"
        );
        let mut tokens = vec![PAD; self.seq_len()];
        for r in 0..h {
            for c in 0..w {
                tokens[(row + r) * n + col + c] = grid.get(r, c) + COLOR_OFFSET;
            }
        }
        if row + h < n {
            tokens[(row + h) * n + col..(row + h) * n + col + w].fill(EOS);
        }
        if col + w < n {
            for r in row..row + h {
                tokens[r * n + col + w] = EOS;
            }
        }
        tokens
    }

    /// Largest offsets `(row, col)` at which both grids of a pair fit (the translation range of
    /// training examples: `0..=side - max(h_in, h_out)` and likewise for columns).
    pub fn max_offset(self, input: &Grid, output: &Grid) -> (usize, usize) {
        (self.side - input.rows().max(output.rows()), self.side - input.cols().max(output.cols()))
    }

    /// The official crop of a canvas: the largest-area top-left rectangle of colour tokens.
    /// Rows are scanned from the top; each row may shrink the admissible width to its first
    /// non-colour cell; the (rows, width) with the largest area wins (first on ties). Colours
    /// are shifted back to 0..=9. Panics unless `tokens.len() == side * side`.
    pub fn crop(self, tokens: &[u8]) -> Grid {
        let n = self.side;
        assert_eq!(
            tokens.len(),
            self.seq_len(),
            "an ARC canvas of {self} has {} tokens",
            self.seq_len()
        );
        let is_color = |t: u8| (COLOR_OFFSET..COLOR_OFFSET + NUM_COLORS).contains(&t);
        let (mut best_area, mut best) = (0, (0, 0));
        let mut width = n;
        for r in 0..n {
            let row = &tokens[r * n..(r + 1) * n];
            width = row[..width].iter().position(|&t| !is_color(t)).unwrap_or(width);
            let area = (r + 1) * width;
            if area > best_area {
                best_area = area;
                best = (r + 1, width);
            }
        }
        let (rows, cols) = best;
        let cells = (0..rows)
            .flat_map(|r| tokens[r * n..r * n + cols].iter().map(|&t| t - COLOR_OFFSET))
            .collect();
        Grid::new(rows, cols, cells).expect("cropped cells are colours")
    }

    /// The grid on the canvas wherever it sits (training examples are translated): the offset
    /// `(row, col)` of its top-left colour cell, and the official [`Canvas::crop`] taken from
    /// there. `None` when the tokens hold no colour at all or are not one canvas.
    pub fn locate_grid(self, tokens: &[u8]) -> Option<((usize, usize), Grid)> {
        let (n, seq_len) = (self.side, self.seq_len());
        if tokens.len() != seq_len {
            return None;
        }
        let is_colour = |t: u8| (COLOR_OFFSET..COLOR_OFFSET + NUM_COLORS).contains(&t);
        let cells: Vec<usize> = (0..seq_len).filter(|&i| is_colour(tokens[i])).collect();
        let row = cells.iter().map(|i| i / n).min()?;
        let col = cells.iter().map(|i| i % n).min()?;
        let mut shifted = vec![PAD; seq_len];
        for r in row..n {
            let src = &tokens[r * n + col..(r + 1) * n];
            shifted[(r - row) * n..(r - row) * n + src.len()].copy_from_slice(src);
        }
        Some(((row, col), self.crop(&shifted)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFICIAL: Canvas = Canvas::OFFICIAL;

    #[test]
    fn worked_example_of_the_reference() {
        let grid = Grid::from_rows(&[vec![1, 2, 3], vec![4, 5, 6]]).unwrap();
        let t = OFFICIAL.encode(&grid, 0, 0);
        assert_eq!(t.len(), 900);
        assert_eq!(&t[..5], &[3, 4, 5, 1, 0]);
        assert_eq!(&t[30..35], &[6, 7, 8, 1, 0]);
        assert_eq!(&t[60..65], &[1, 1, 1, 0, 0]);
        assert_eq!(t.iter().filter(|&&x| x != PAD).count(), 6 + 3 + 2);
        assert_eq!(OFFICIAL.crop(&t), grid);
    }

    #[test]
    fn full_size_grid_has_no_eos() {
        let grid = Grid::new(30, 30, vec![7; 900]).unwrap();
        let t = OFFICIAL.encode(&grid, 0, 0);
        assert!(t.iter().all(|&x| x == 9));
        assert_eq!(OFFICIAL.crop(&t), grid);
    }

    #[test]
    fn crop_takes_the_largest_area() {
        // Row 0 is 5 wide, row 1 only 2 wide, then EOS: 1x5 (area 5) beats 2x2 (area 4).
        let mut t = vec![PAD; 900];
        t[..5].fill(2);
        t[5] = EOS;
        t[30..32].fill(3);
        t[32] = EOS;
        let g = OFFICIAL.crop(&t);
        assert_eq!((g.rows(), g.cols()), (1, 5));
        assert_eq!(OFFICIAL.crop(&[EOS; 900]), Grid::new(0, 0, vec![]).unwrap());
    }

    #[test]
    fn translated_grids_are_located() {
        let g = Grid::from_rows(&[vec![1, 2, 3], vec![0, 5, 6]]).unwrap();
        let tokens = OFFICIAL.encode(&g, 4, 7);
        assert_eq!(OFFICIAL.locate_grid(&tokens), Some(((4, 7), g.clone())));
        assert_eq!(OFFICIAL.locate_grid(&OFFICIAL.encode(&g, 0, 0)), Some(((0, 0), g.clone())));
        assert_eq!(OFFICIAL.locate_grid(&[PAD; 900]), None);
        let small = Canvas::new(4).unwrap();
        assert_eq!(small.locate_grid(&small.encode(&g, 1, 1)), Some(((1, 1), g.clone())));
        assert_eq!(small.locate_grid(&tokens), None, "900 tokens are not a 4x4 canvas");
    }

    #[test]
    fn canvas_sides_and_seq_lens() {
        assert_eq!(Canvas::default(), OFFICIAL);
        assert_eq!(
            (OFFICIAL.side(), OFFICIAL.seq_len(), OFFICIAL.to_string()),
            (30, 900, "30x30".to_string())
        );
        assert_eq!(Canvas::from_seq_len(16).unwrap(), Canvas::new(4).unwrap());
        assert_eq!(Canvas::from_seq_len(900).unwrap(), OFFICIAL);
        for bad in [0, 1, 15, 961, 81 * 81] {
            let err = Canvas::from_seq_len(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("seq_len {bad} is not an ARC canvas")), "{err}");
        }
        for bad in [0, 1, 31] {
            let err = Canvas::new(bad).unwrap_err().to_string();
            assert!(err.contains("side of 2 to 30"), "{err}");
        }
    }
}
