//! Sudoku pictures: givens dark, filled-in digits blue, wrong or changed cells highlighted.

use anyhow::{ensure, Context, Result};

use crate::cells::{self, box_shape, Kind, Overlay};
use crate::grid::{Grid, Mark, Marks};
use crate::scene::Scene;

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
    cells::draw(
        &mut scene,
        MARGIN,
        MARGIN,
        Kind::Sudoku,
        shown,
        &lay,
        Overlay { givens: Some(puzzle), marks },
    );
    Ok(scene)
}

/// What `trm render sudoku` draws: the puzzle alone, or `solution` over it with its
/// [`mistakes`] shaded red; with a solution, also a line saying whether it is valid.
pub fn checked_picture(puzzle: &Grid, solution: Option<&Grid>) -> Result<(Scene, Option<String>)> {
    let Some(solution) = solution else { return Ok((picture(puzzle, None, None)?, None)) };
    let marks = mistakes(puzzle, solution).context("solution and puzzle differ in size")?;
    let verdict = match marks.count_wrong() {
        0 => "the solution is valid and keeps every given".to_string(),
        n => format!("{n} cells of the solution break a rule or a given (shaded red)"),
    };
    Ok((picture(puzzle, Some(solution), Some(&marks))?, Some(verdict)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(text: &str) -> Grid {
        Grid::from(&trm_data::sudoku::Grid::parse(text).unwrap())
    }

    const PUZZLE: &str = "1.3...1..1..4.2.";
    const SOLUTION: &str = "1234341221434321";

    #[test]
    fn mistakes_finds_clashes_blanks_and_changed_givens() {
        let p = grid(PUZZLE);
        assert_eq!(mistakes(&p, &grid(SOLUTION)).unwrap().count_wrong(), 0);
        // Swap two digits in row 1: both now clash in their columns.
        let m = mistakes(&p, &grid("1243341221434321")).unwrap();
        assert!(m.get(0, 2).wrong && m.get(0, 3).wrong && !m.get(1, 0).wrong);
        assert_eq!(mistakes(&p, &grid("1.34341221434321")).unwrap().count_wrong(), 1);
        assert!(mistakes(&p, &grid(&"0".repeat(81))).is_err());
    }

    #[test]
    fn picture_has_the_layout_size() {
        let s = picture(&grid(PUZZLE), None, None).unwrap();
        assert_eq!(s.width, 12 + 3 + 4 * 48 + 1 + 3 + 1 + 3 + 12);
        assert!(picture(&grid(PUZZLE), Some(&grid(&"0".repeat(81))), None).is_err());
    }

    #[test]
    fn a_checked_picture_says_how_many_cells_are_wrong() {
        let p = grid(PUZZLE);
        let (_, verdict) = checked_picture(&p, None).unwrap();
        assert_eq!(verdict, None);
        let (_, verdict) = checked_picture(&p, Some(&grid(SOLUTION))).unwrap();
        assert_eq!(verdict.unwrap(), "the solution is valid and keeps every given");
        let (_, verdict) = checked_picture(&p, Some(&grid("1243341221434321"))).unwrap();
        assert_eq!(
            verdict.unwrap(),
            "4 cells of the solution break a rule or a given (shaded red)"
        );
        let e = checked_picture(&p, Some(&grid(&"0".repeat(81)))).err().unwrap();
        assert_eq!(e.to_string(), "solution and puzzle differ in size");
    }
}
