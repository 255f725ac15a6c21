//! Drawing one grid of cells for any puzzle kind: where each cell goes, its colour, its digit
//! and its marks. Every picture of a grid (single puzzle, ARC pair, step strip) uses this.

use crate::color::{self, Color, ARC_PALETTE};
use crate::grid::{Grid, Marks};
use crate::scene::{Anchor, Scene, Stroke};

/// How the values of a [`Grid`] are read. The token ids are the official ones (reference
/// section 4.1), so model inputs, labels and predictions can be drawn as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Sudoku tokens: 0 pad, 1 blank cell, `d + 1` for digit `d`.
    Sudoku,
    /// Maze tokens: 0 pad, 1 `#` wall, 2 ` ` open, 3 `S` start, 4 `G` goal, 5 `o` path.
    Maze,
    /// ARC colours 0..=9, as in task JSON files and cropped predictions.
    Arc,
    /// ARC tokens: 0 pad, 1 end-of-grid marker, `c + 2` for colour `c` (the 30x30 canvas).
    ArcTokens,
}

/// Shown for values a kind does not define, so bad tokens stand out.
const INVALID: Color = Color::hex(0xFF00FF);
const SUDOKU_THICK: Color = Color::hex(0x222222);
const SUDOKU_THIN: Color = Color::hex(0xBBBBBB);
const GIVEN_INK: Color = Color::hex(0x111111);
const FILLED_INK: Color = Color::hex(0x1F5FBF);
const ARC_LINES: Color = Color::hex(0x555555);
const MAZE_FRAME: Color = Color::hex(0x8A9099);
const MAZE_COLORS: [Color; 6] = [
    color::PAD,
    Color::hex(0x2B3440), // wall
    Color::hex(0xFFFFFF), // open
    Color::hex(0x2ECC40), // start
    Color::hex(0xFF4136), // goal
    Color::hex(0x0074D9), // path
];

/// Where the cells of a grid go, relative to the grid's top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// Left edge of each column.
    pub xs: Vec<f32>,
    /// Top edge of each row.
    pub ys: Vec<f32>,
    pub cell: f32,
    pub width: f32,
    pub height: f32,
    /// Sudoku box size (rows, cols); `(rows, cols)` of the grid for other kinds.
    pub boxes: (usize, usize),
}

/// Rows and columns of a Sudoku box: the divisor pair of `n` closest to square
/// (9 -> 3x3, 4 -> 2x2, 6 -> 2x3).
pub fn box_shape(n: usize) -> (usize, usize) {
    let bh = (1..=n).filter(|d| n % *d == 0 && d * d <= n).max().unwrap_or(1);
    (bh, n / bh)
}

/// Edge positions for `n` cells of size `cell`, with gap `inner(i)` after cell `i` and `outer`
/// before the first and after the last.
fn offsets(n: usize, cell: f32, outer: f32, inner: impl Fn(usize) -> f32) -> (Vec<f32>, f32) {
    let mut pos = Vec::with_capacity(n);
    let mut x = outer;
    for i in 0..n {
        pos.push(x);
        x += cell + if i + 1 == n { outer } else { inner(i) };
    }
    (pos, x)
}

pub(crate) fn layout(kind: Kind, rows: usize, cols: usize, cell: f32) -> Layout {
    match kind {
        Kind::Sudoku => {
            let boxes = if rows == cols { box_shape(rows) } else { (rows, cols) };
            let thick = if cell >= 24.0 { 3.0 } else { 2.0 };
            let (ys, height) =
                offsets(rows, cell, thick, |i| if (i + 1) % boxes.0 == 0 { thick } else { 1.0 });
            let (xs, width) =
                offsets(cols, cell, thick, |i| if (i + 1) % boxes.1 == 0 { thick } else { 1.0 });
            Layout { xs, ys, cell, width, height, boxes }
        }
        Kind::Arc | Kind::ArcTokens => {
            let gap = if cell >= 6.0 { 1.0 } else { 0.0 };
            let (ys, height) = offsets(rows, cell, gap, |_| gap);
            let (xs, width) = offsets(cols, cell, gap, |_| gap);
            Layout { xs, ys, cell, width, height, boxes: (rows, cols) }
        }
        Kind::Maze => {
            // No lines between cells (walls are cells); a thin frame shows the maze's edge,
            // since Maze-Hard mazes have no border wall.
            let frame = if cell >= 6.0 { 2.0 } else { 1.0 };
            let (ys, height) = offsets(rows, cell, frame, |_| 0.0);
            let (xs, width) = offsets(cols, cell, frame, |_| 0.0);
            Layout { xs, ys, cell, width, height, boxes: (rows, cols) }
        }
    }
}

/// The fill colour of one cell value.
pub fn cell_color(kind: Kind, value: u8) -> Color {
    match kind {
        Kind::Sudoku => match value {
            0 => color::PAD,
            _ => Color::WHITE,
        },
        Kind::Maze => MAZE_COLORS.get(value as usize).copied().unwrap_or(INVALID),
        Kind::Arc => ARC_PALETTE.get(value as usize).copied().unwrap_or(INVALID),
        Kind::ArcTokens => match value {
            0 => color::PAD,
            1 => Color::WHITE,
            v => ARC_PALETTE.get(v as usize - 2).copied().unwrap_or(INVALID),
        },
    }
}

/// What to draw on top of the values.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Overlay<'a> {
    /// Sudoku: the puzzle, whose digits are drawn as givens (dark) and the rest as filled (blue).
    pub givens: Option<&'a Grid>,
    pub marks: Option<&'a Marks>,
}

/// Draws `grid` with its top-left corner at `(x0, y0)`.
pub(crate) fn draw(
    scene: &mut Scene,
    x0: f32,
    y0: f32,
    kind: Kind,
    grid: &Grid,
    lay: &Layout,
    over: Overlay,
) {
    let cell = lay.cell;
    match kind {
        Kind::Sudoku => {
            scene.fill_rect(x0, y0, lay.width, lay.height, SUDOKU_THICK);
            let (bh, bw) = lay.boxes;
            for br in (0..grid.rows()).step_by(bh) {
                for bc in (0..grid.cols()).step_by(bw) {
                    let (r1, c1) = ((br + bh).min(grid.rows()) - 1, (bc + bw).min(grid.cols()) - 1);
                    let (x, y) = (x0 + lay.xs[bc], y0 + lay.ys[br]);
                    scene.fill_rect(
                        x,
                        y,
                        lay.xs[c1] + cell - lay.xs[bc],
                        lay.ys[r1] + cell - lay.ys[br],
                        SUDOKU_THIN,
                    );
                }
            }
        }
        Kind::Arc | Kind::ArcTokens if lay.width > cell * grid.cols() as f32 => {
            scene.fill_rect(x0, y0, lay.width, lay.height, ARC_LINES);
        }
        Kind::Maze => scene.fill_rect(x0, y0, lay.width, lay.height, MAZE_FRAME),
        _ => {}
    }
    for r in 0..grid.rows() {
        for c in 0..grid.cols() {
            let (x, y) = (x0 + lay.xs[c], y0 + lay.ys[r]);
            let v = grid.get(r, c);
            let mark = over
                .marks
                .filter(|m| r < m.rows() && c < m.cols())
                .map(|m| m.get(r, c))
                .unwrap_or_default();
            if kind == Kind::Sudoku {
                let fill = if mark.wrong {
                    color::WRONG_FILL
                } else if mark.changed {
                    color::CHANGED_FILL
                } else {
                    cell_color(kind, v)
                };
                scene.fill_rect(x, y, cell, cell, fill);
                if mark.wrong && mark.changed {
                    scene.inner_frame(x, y, cell, cell, color::CHANGED, (cell * 0.08).max(1.0));
                }
                if v >= 2 {
                    let given = over.givens.and_then(|g| g.try_get(r, c)).is_some_and(|g| g >= 2);
                    let ink = if mark.wrong {
                        color::WRONG_INK
                    } else if given {
                        GIVEN_INK
                    } else {
                        FILLED_INK
                    };
                    let digit = (v - 1).to_string();
                    let size = cell * if digit.len() > 1 { 0.45 } else { 0.62 };
                    scene.text_centred(
                        x + cell / 2.0,
                        y + cell / 2.0,
                        digit,
                        size,
                        ink,
                        Anchor::Middle,
                    );
                }
                continue;
            }
            let fill = cell_color(kind, v);
            scene.fill_rect(x, y, cell, cell, fill);
            if kind == Kind::ArcTokens && v == 1 {
                // End-of-grid marker: a thin diagonal so it differs from a white colour.
                let i = cell * 0.2;
                scene.line(
                    (x + i, y + cell - i),
                    (x + cell - i, y + i),
                    Stroke::solid(color::MUTED, (cell * 0.08).max(0.75)),
                );
            }
            if mark.changed {
                scene.inner_frame(x, y, cell, cell, color::CHANGED, (cell * 0.16).round().max(1.0));
            }
            if mark.wrong {
                let i = cell * 0.22;
                let s = Stroke::solid(fill.ink(), (cell * 0.1).max(1.0));
                scene.line((x + i, y + i), (x + cell - i, y + cell - i), s);
                scene.line((x + i, y + cell - i), (x + cell - i, y + i), s);
            }
        }
    }
}

/// A cell size so that the larger side of a `rows x cols` grid is about `target` pixels,
/// kept within `min..=max` and whole.
pub(crate) fn fit_cell(rows: usize, cols: usize, target: f32, min: f32, max: f32) -> f32 {
    (target / rows.max(cols).max(1) as f32).floor().clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudoku_boxes_and_gaps() {
        assert_eq!(box_shape(9), (3, 3));
        assert_eq!(box_shape(4), (2, 2));
        assert_eq!(box_shape(6), (2, 3));
        let l = layout(Kind::Sudoku, 9, 9, 40.0);
        // 9 cells, 2 thick inner gaps, 6 thin gaps, 2 outer thick borders.
        assert_eq!(l.width, 9.0 * 40.0 + 2.0 * 3.0 + 6.0 + 2.0 * 3.0);
        assert_eq!(l.xs[3] - l.xs[2], 43.0);
        assert_eq!(l.xs[2] - l.xs[1], 41.0);
    }

    #[test]
    fn colours_follow_the_token_maps() {
        assert_eq!(cell_color(Kind::Arc, 2), Color::hex(0xFF4136));
        assert_eq!(cell_color(Kind::ArcTokens, 4), Color::hex(0xFF4136));
        assert_eq!(cell_color(Kind::ArcTokens, 0), color::PAD);
        assert_eq!(cell_color(Kind::Maze, 1), Color::hex(0x2B3440));
        assert_eq!(cell_color(Kind::Maze, 9), INVALID);
        assert_eq!(cell_color(Kind::Arc, 10), INVALID);
    }
}
