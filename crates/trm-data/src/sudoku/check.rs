//! Checking an answer to a Sudoku: the answer tokens as a grid, and whether it solves the
//! puzzle (complete, no conflicts, the givens kept), and if not, why.

use super::Grid;
use crate::dataset::Split;

/// The answer tokens as a grid; tokens that are not digits (pad, blank) become blank cells.
pub fn answer_grid(tokens: &[u32], size: usize) -> Grid {
    let cells: Vec<u8> = tokens
        .iter()
        .map(|&t| if (2..=size as u32 + 1).contains(&t) { (t - 1) as u8 } else { 0 })
        .collect();
    Grid::from_cells(&cells).expect("cell values are within 0..=size")
}

/// Whether `answer` solves `puzzle`, and if not, why.
pub fn verdict(puzzle: &Grid, answer: &Grid) -> String {
    if puzzle.is_solved_by(answer) {
        return format!(
            "valid solution (complete, no conflicts, keeps the {} givens)",
            puzzle.givens()
        );
    }
    let mut why = Vec::new();
    let blanks = answer.num_cells() - answer.givens();
    if blanks > 0 {
        why.push(format!("{blanks} cells without a digit"));
    }
    if let Some((d, (r1, c1), (r2, c2))) = answer.conflict() {
        why.push(format!(
            "digit {d} twice in a unit (row {}, column {} and row {}, column {})",
            r1 + 1,
            c1 + 1,
            r2 + 1,
            c2 + 1
        ));
    }
    let changed =
        puzzle.cells().iter().zip(answer.cells()).filter(|(&p, &a)| p != 0 && a != p).count();
    if changed > 0 {
        why.push(format!("{changed} givens changed"));
    }
    format!("NOT a solution: {}", why.join("; "))
}

/// Per cell of `answer`, whether it cannot be part of a solution of `puzzle`: blank, a given
/// changed, or its digit repeated in its row, column or box (no known solution needed).
pub fn wrong_cells(puzzle: &Grid, answer: &Grid) -> Vec<bool> {
    let (n, b) = (answer.size(), answer.box_size());
    (0..answer.num_cells())
        .map(|i| {
            let (r, c, v) = (i / n, i % n, answer.cells()[i]);
            let given = puzzle.cells().get(i).copied().unwrap_or(0);
            let clash = (0..n).any(|k| {
                let (br, bc) = (r / b * b + k / b, c / b * b + k % b);
                [(r, k), (k, c), (br, bc)]
                    .iter()
                    .any(|&(rr, cc)| (rr, cc) != (r, c) && answer.get(rr, cc) == v)
            });
            v == 0 || (given != 0 && given != v) || clash
        })
        .collect()
}

/// How many examples of a Sudoku split have a label that solves their input.
pub fn solved_labels(split: &Split) -> usize {
    (0..split.num_examples())
        .filter(|&i| {
            let (input, label) = split.example(i);
            matches!((Grid::from_tokens(input), Grid::from_tokens(label)), (Ok(p), Ok(s)) if p.is_solved_by(&s))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_names_what_is_wrong() {
        let puzzle = Grid::parse("1...............").unwrap();
        let good = Grid::parse("1234341221434321").unwrap();
        assert!(verdict(&puzzle, &good).starts_with("valid solution"));
        let other_given = Grid::parse("2143341212344321").unwrap();
        assert!(
            verdict(&puzzle, &other_given).contains("1 givens changed"),
            "{}",
            verdict(&puzzle, &other_given)
        );
        let holes = Grid::parse("12343412214343..").unwrap();
        assert!(verdict(&puzzle, &holes).contains("2 cells without a digit"));
    }

    #[test]
    fn wrong_cells_are_blanks_changed_givens_and_repeats() {
        let puzzle = Grid::parse("1...............").unwrap();
        assert!(!wrong_cells(&puzzle, &Grid::parse("1234341221434321").unwrap()).contains(&true));
        // The given 1 changed to 2, a digit that cell 1 (row, box) and cell 8 (column) hold too.
        let wrong = wrong_cells(&puzzle, &Grid::parse("2234341221434321").unwrap());
        let marked: Vec<usize> = (0..16).filter(|&i| wrong[i]).collect();
        assert_eq!(marked, [0, 1, 8]);
        let wrong = wrong_cells(&puzzle, &Grid::parse("123434122143432.").unwrap());
        assert_eq!((0..16).filter(|&i| wrong[i]).collect::<Vec<_>>(), [15]);
    }

    #[test]
    fn answer_tokens_decode_with_non_digits_blank() {
        let mut t = vec![2u32; 16];
        t[0] = 0;
        t[1] = 1;
        t[2] = 5;
        let g = answer_grid(&t, 4);
        assert_eq!(&g.cells()[..4], &[0, 0, 4, 1]);
    }
}
