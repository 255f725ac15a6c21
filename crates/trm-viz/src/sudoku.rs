//! Sudoku pictures: givens dark, filled-in digits blue, wrong or changed cells highlighted.

use anyhow::{bail, ensure, Result};

use crate::cells::{self, box_shape, Kind, Overlay};
use crate::grid::{Grid, Mark, Marks};
use crate::scene::Scene;

/// Reads a puzzle or solution written as digits with `.`, `0` or `_` for blanks, either on
/// one line (81 or 16 characters) or as rows; whitespace is ignored. Returns official tokens
/// (1 blank, `d + 1` for digit `d`).
pub fn parse(text: &str) -> Result<Grid> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let n = match chars.len() {
        81 => 9,
        16 => 4,
        len => bail!("expected 81 cells (9x9) or 16 cells (4x4), found {len}; write digits with . or 0 for blanks"),
    };
    let mut tokens = Vec::with_capacity(chars.len());
    for (i, &ch) in chars.iter().enumerate() {
        let (r, c) = (i / n + 1, i % n + 1);
        let token = match ch {
            '.' | '0' | '_' => 1,
            '1'..='9' => {
                let d = ch as u8 - b'0';
                ensure!(d as usize <= n, "digit {d} at row {r}, column {c} is larger than {n} (a {n}x{n} Sudoku)");
                d + 1
            }
            _ => bail!("character {ch:?} at row {r}, column {c} is not a digit or a blank (. 0 _)"),
        };
        tokens.push(token);
    }
    Grid::new(n, n, tokens)
}

/// Cells of `answer` that cannot be part of the solution of `puzzle`: blank, different from a
/// given, or repeating a digit in their row, column or box. Needs no known solution.
pub fn mistakes(puzzle: &Grid, answer: &Grid) -> Result<Marks> {
    ensure!(
        puzzle.same_shape(answer),
        "puzzle is {}x{} but answer is {}x{}",
        puzzle.rows(),
        puzzle.cols(),
        answer.rows(),
        answer.cols()
    );
    let n = answer.rows();
    ensure!(answer.cols() == n, "a Sudoku must be square, got {}x{}", n, answer.cols());
    let (bh, bw) = box_shape(n);
    let mut marks = Marks::none(n, n);
    for r in 0..n {
        for c in 0..n {
            let v = answer.get(r, c);
            let given = puzzle.get(r, c);
            let mut wrong = v < 2 || (given >= 2 && given != v);
            for k in 0..n {
                let (br, bc) = (r / bh * bh + k / bw, c / bw * bw + k % bw);
                let clash = |rr: usize, cc: usize| (rr, cc) != (r, c) && answer.get(rr, cc) == v;
                wrong |= v >= 2 && (clash(r, k) || clash(k, c) || clash(br, bc));
            }
            marks.set(r, c, Mark { changed: false, wrong });
        }
    }
    Ok(marks)
}

/// Cell size of a single Sudoku picture.
const CELL: f32 = 48.0;
const MARGIN: f32 = 12.0;

/// A Sudoku: `answer` (or the puzzle itself when there is none) with the puzzle's digits as
/// givens; `marks` highlights cells (red: wrong, yellow: changed). Grids hold official tokens.
pub fn picture(puzzle: &Grid, answer: Option<&Grid>, marks: Option<&Marks>) -> Result<Scene> {
    let shown = answer.unwrap_or(puzzle);
    ensure!(
        puzzle.same_shape(shown),
        "puzzle is {}x{} but answer is {}x{}",
        puzzle.rows(),
        puzzle.cols(),
        shown.rows(),
        shown.cols()
    );
    let lay = cells::layout(Kind::Sudoku, shown.rows(), shown.cols(), CELL);
    let mut scene = Scene::new(lay.width + 2.0 * MARGIN, lay.height + 2.0 * MARGIN);
    cells::draw(&mut scene, MARGIN, MARGIN, Kind::Sudoku, shown, &lay, Overlay { givens: Some(puzzle), marks });
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUZZLE: &str = "1.3.\n..1.\n.1..\n4.2.";
    const SOLUTION: &str = "1234341221434321";

    #[test]
    fn parses_both_sizes_and_names_bad_cells() {
        let g = parse(PUZZLE).unwrap();
        assert_eq!((g.rows(), g.get(0, 0), g.get(0, 1), g.get(3, 2)), (4, 2, 1, 3));
        assert_eq!(parse(&"0".repeat(81)).unwrap().rows(), 9);
        let err = parse("1.3.\n..1.\n.1..\n4.x.").unwrap_err().to_string();
        assert!(err.contains("row 4, column 3"), "{err}");
        assert!(parse("5...............").unwrap_err().to_string().contains("larger than 4"));
        assert!(parse("123").unwrap_err().to_string().contains("found 3"));
    }

    #[test]
    fn mistakes_finds_clashes_blanks_and_changed_givens() {
        let p = parse(PUZZLE).unwrap();
        assert_eq!(mistakes(&p, &parse(SOLUTION).unwrap()).unwrap().count_wrong(), 0);
        // Swap two digits in row 1: both now clash in their columns.
        let bad = parse("1243341221434321").unwrap();
        let m = mistakes(&p, &bad).unwrap();
        assert!(m.get(0, 2).wrong && m.get(0, 3).wrong && !m.get(1, 0).wrong);
        let blank = parse("1.34341221434321").unwrap();
        assert_eq!(mistakes(&p, &blank).unwrap().count_wrong(), 1);
    }
}
