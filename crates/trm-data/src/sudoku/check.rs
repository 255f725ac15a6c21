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
    fn answer_tokens_decode_with_non_digits_blank() {
        let mut t = vec![2u32; 16];
        t[0] = 0;
        t[1] = 1;
        t[2] = 5;
        let g = answer_grid(&t, 4);
        assert_eq!(&g.cells()[..4], &[0, 0, 4, 1]);
    }
}
