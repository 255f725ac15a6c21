//! Sudoku as a [`Task`]: one row per puzzle, its tokens; the answer is the grid the model
//! wrote, checked against the rules and the givens.

use anyhow::Result;
use trm_data::sudoku::check::{answer_grid, verdict, wrong_cells};
use trm_data::sudoku::Grid;

use super::{Answer, Row, Task, Verdict};

/// Sudoku puzzles of the size the model was trained on (4x4 or 9x9).
pub struct SudokuTask;

impl Task for SudokuTask {
    type Puzzle = Grid;
    type Answer = Grid;

    fn encode(&self, puzzle: &Grid) -> Result<Vec<Row>> {
        Ok(vec![Row { id: 0, tokens: puzzle.to_tokens() }])
    }

    fn decode(&self, puzzle: &Grid, _rows: &[Row], answers: &[Answer]) -> Result<Grid> {
        Ok(answer_grid(&answers[0].tokens, puzzle.size()))
    }

    fn check(&self, puzzle: &Grid, answer: &Grid) -> Verdict {
        Verdict {
            solved: puzzle.is_solved_by(answer),
            text: verdict(puzzle, answer),
            wrong: wrong_cells(puzzle, answer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solve::tests::row_answer as answer;

    #[test]
    fn encodes_decodes_and_checks() {
        let puzzle = Grid::parse("1...............").unwrap();
        let rows = SudokuTask.encode(&puzzle).unwrap();
        assert_eq!(rows, [Row { id: 0, tokens: puzzle.to_tokens() }]);
        let solution = Grid::parse("1234341221434321").unwrap();
        let tokens: Vec<u32> = solution.to_tokens().into_iter().map(u32::from).collect();
        let decoded = SudokuTask.decode(&puzzle, &rows, &[answer(tokens)]).unwrap();
        assert_eq!(decoded, solution);
        let right = SudokuTask.check(&puzzle, &decoded);
        assert!(right.solved && right.text.starts_with("valid solution"), "{right:?}");
        assert_eq!(right.wrong, [false; 16]);

        // The puzzle given back: 15 blanks, each marked.
        let echo: Vec<u32> = rows[0].tokens.iter().map(|&t| u32::from(t)).collect();
        let wrong =
            SudokuTask.check(&puzzle, &SudokuTask.decode(&puzzle, &rows, &[answer(echo)]).unwrap());
        assert!(!wrong.solved && wrong.text.contains("15 cells without a digit"), "{wrong:?}");
        assert_eq!(wrong.wrong.iter().filter(|&&w| w).count(), 15);
    }
}
