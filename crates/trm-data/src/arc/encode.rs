//! ARC grids as 900-token sequences (reference 4.4, official `np_grid_to_seq_translational_augment`
//! and the evaluator's `_crop`).
//!
//! A grid is placed on a 30x30 canvas at offset `(row, col)`: cell = colour + 2, an EOS row
//! just below the grid (over its columns) and an EOS column just right of it (over its rows),
//! each only if it fits; everything else, the corner below-right included, is PAD.

use super::{Grid, MAX_GRID};

/// Tokens per example: the 30x30 canvas, row-major.
pub const SEQ_LEN: usize = MAX_GRID * MAX_GRID;
pub const PAD: u8 = 0;
pub const EOS: u8 = 1;
/// Token of colour 0; colour `c` is `c + COLOR_OFFSET`.
pub const COLOR_OFFSET: u8 = 2;
/// PAD, EOS and 10 colours.
pub const VOCAB_SIZE: u32 = 12;

/// Encodes `grid` at offset `(row, col)` of the canvas. Panics if it does not fit.
pub fn encode_grid(grid: &Grid, row: usize, col: usize) -> Vec<u8> {
    let (h, w) = (grid.rows(), grid.cols());
    assert!(row + h <= MAX_GRID && col + w <= MAX_GRID, "a {h}x{w} grid at ({row}, {col}) does not fit the canvas");
    let mut tokens = vec![PAD; SEQ_LEN];
    for r in 0..h {
        for c in 0..w {
            tokens[(row + r) * MAX_GRID + col + c] = grid.get(r, c) + COLOR_OFFSET;
        }
    }
    if row + h < MAX_GRID {
        tokens[(row + h) * MAX_GRID + col..(row + h) * MAX_GRID + col + w].fill(EOS);
    }
    if col + w < MAX_GRID {
        for r in row..row + h {
            tokens[r * MAX_GRID + col + w] = EOS;
        }
    }
    tokens
}

/// Largest offsets `(row, col)` at which both grids of a pair fit (the translation range of
/// training examples: `0..=30 - max(h_in, h_out)` and likewise for columns).
pub fn max_offset(input: &Grid, output: &Grid) -> (usize, usize) {
    (MAX_GRID - input.rows().max(output.rows()), MAX_GRID - input.cols().max(output.cols()))
}

/// The official crop of a 900-token canvas: the largest-area top-left rectangle of colour
/// tokens. Rows are scanned from the top; each row may shrink the admissible width to its
/// first non-colour cell; the (rows, width) with the largest area wins (first on ties).
/// Colours are shifted back to 0..=9. Panics unless `tokens.len() == 900`.
pub fn crop(tokens: &[u8]) -> Grid {
    assert_eq!(tokens.len(), SEQ_LEN, "an ARC canvas has {SEQ_LEN} tokens");
    let is_color = |t: u8| (COLOR_OFFSET..COLOR_OFFSET + super::NUM_COLORS).contains(&t);
    let (mut best_area, mut best) = (0, (0, 0));
    let mut width = MAX_GRID;
    for r in 0..MAX_GRID {
        let row = &tokens[r * MAX_GRID..(r + 1) * MAX_GRID];
        width = row[..width].iter().position(|&t| !is_color(t)).unwrap_or(width);
        let area = (r + 1) * width;
        if area > best_area {
            best_area = area;
            best = (r + 1, width);
        }
    }
    let (rows, cols) = best;
    let cells =
        (0..rows).flat_map(|r| tokens[r * MAX_GRID..r * MAX_GRID + cols].iter().map(|&t| t - COLOR_OFFSET)).collect();
    Grid::new(rows, cols, cells).expect("cropped cells are colours")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_of_the_reference() {
        let grid = Grid::from_rows(&[vec![1, 2, 3], vec![4, 5, 6]]).unwrap();
        let t = encode_grid(&grid, 0, 0);
        assert_eq!(&t[..5], &[3, 4, 5, 1, 0]);
        assert_eq!(&t[30..35], &[6, 7, 8, 1, 0]);
        assert_eq!(&t[60..65], &[1, 1, 1, 0, 0]);
        assert_eq!(t.iter().filter(|&&x| x != PAD).count(), 6 + 3 + 2);
        assert_eq!(crop(&t), grid);
    }

    #[test]
    fn full_size_grid_has_no_eos() {
        let grid = Grid::new(30, 30, vec![7; 900]).unwrap();
        let t = encode_grid(&grid, 0, 0);
        assert!(t.iter().all(|&x| x == 9));
        assert_eq!(crop(&t), grid);
    }

    #[test]
    fn crop_takes_the_largest_area() {
        // Row 0 is 5 wide, row 1 only 2 wide, then EOS: 1x5 (area 5) beats 2x2 (area 4).
        let mut t = vec![PAD; SEQ_LEN];
        t[..5].fill(2);
        t[5] = EOS;
        t[30..32].fill(3);
        t[32] = EOS;
        let g = crop(&t);
        assert_eq!((g.rows(), g.cols()), (1, 5));
        assert_eq!(crop(&vec![EOS; SEQ_LEN]), Grid::new(0, 0, vec![]).unwrap());
    }
}
