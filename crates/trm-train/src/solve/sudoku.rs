//! Sudoku as a [`Task`]: one row per puzzle, its tokens; the answer is the grid the model
//! wrote, checked against the rules and the givens. Also what `trm solve sudoku` says of the
//! answers, and the exact solver timed beside the model ([`Classic`]).

use std::time::{Duration, Instant};

use anyhow::Result;
use trm_data::sudoku::check::{answer_grid, verdict, wrong_cells};
use trm_data::sudoku::{solver, Grid};

use super::{Answer, Row, Solved, Task, Verdict};

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

/// The exact solver's answer to one puzzle and the time it took (`trm solve sudoku --classic`).
#[derive(Debug, Clone)]
pub struct Classic {
    /// The solution and the guesses the solver made; None when the puzzle has no solution.
    pub solution: Option<(Grid, u64)>,
    /// Wall time of the solver.
    pub time: Duration,
}

impl Classic {
    /// Solves `puzzle` with the exact solver, timed.
    pub fn solve(puzzle: &Grid) -> Classic {
        let start = Instant::now();
        let solution = solver::solve(puzzle);
        Classic { solution, time: start.elapsed() }
    }

    /// The solution, when the puzzle has one.
    pub fn grid(&self) -> Option<&Grid> {
        self.solution.as_ref().map(|(grid, _)| grid)
    }

    /// What `trm solve sudoku --classic` says without a model: the solution, the guesses and
    /// the time, or that no solution exists; then an empty line.
    pub fn report(&self) -> String {
        match &self.solution {
            Some((solution, guesses)) => format!(
                "answer      {}\nclassic     {guesses} guesses, {}\n\n",
                solution.to_line('.'),
                ms(self.time)
            ),
            None => "classic     no solution exists\n\n".to_string(),
        }
    }
}

/// The closing line of `trm solve sudoku --classic` without a model, over several puzzles:
/// how many the exact solver solved and its total time.
pub fn classic_summary(results: &[Classic]) -> String {
    let solved = results.iter().filter(|c| c.solution.is_some()).count();
    let time: Duration = results.iter().map(|c| c.time).sum();
    format!("{} puzzles: {solved} solved by the exact solver in {}", results.len(), ms(time))
}

/// What `trm solve sudoku` says of the model's answer to one puzzle: the answer, whether it
/// solves the puzzle, the steps and q_halt confidence; with `classic`, the exact solver's
/// solution beside it and both times (`batch_len`: the rows of the batch whose time the
/// model's is a share of). Ends with an empty line.
pub fn report(s: &Solved<Grid>, classic: Option<&Classic>, batch_len: usize) -> String {
    let (grid, row) = (&s.answer, &s.rows[0]);
    let mut out = format!(
        "answer      {}\ncheck       {}\nsteps       {} (q_halt confidence {:.3})\n",
        grid.to_line('.'),
        s.verdict.text,
        row.steps,
        row.confidence
    );
    if let Some(c) = classic {
        out += &match &c.solution {
            Some((solution, guesses)) => format!(
                "classic     {} ({guesses} guesses); the model's answer is {}\n",
                solution.to_line('.'),
                if solution == grid { "the same" } else { "different" }
            ),
            None => "classic     no solution exists\n".to_string(),
        };
        let share = if batch_len > 1 {
            format!(" (its share of a batch of {batch_len})")
        } else {
            String::new()
        };
        out += &format!("time        model {}{share}, exact solver {}\n", ms(row.time), ms(c.time));
    }
    out + "\n"
}

/// The closing line of `trm solve sudoku` over several puzzles: how many the model solved
/// and its total time.
pub fn model_summary(solved: &[Solved<Grid>]) -> String {
    let count = solved.iter().filter(|s| s.verdict.solved).count();
    let time: Duration = solved.iter().map(|s| s.rows[0].time).sum();
    format!(
        "{} puzzles: {count} solved by the model (valid and consistent with the givens); model time {}",
        solved.len(),
        ms(time)
    )
}

/// The title of the picture of every step: whether the answer is the exact solver's
/// `solution`, after how many steps.
pub fn steps_title(s: &Solved<Grid>, solution: Option<&Grid>) -> String {
    let verdict = match solution {
        Some(solution) if *solution == s.answer => "solved",
        Some(_) => "not solved",
        None => "the puzzle has no solution",
    };
    let steps = s.rows[0].steps;
    let plural = if steps == 1 { "" } else { "s" };
    format!("the answer after each supervision step: {verdict} after {steps} step{plural}")
}

/// A time in milliseconds, two decimals: `1.25 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
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

    /// A 4x4 puzzle with one solution, and that solution.
    const PUZZLE: &str = "123..........31.";
    const SOLUTION: &str = "1234342121434312";

    fn solved(line: &str, steps: usize, ms: u64) -> Solved<Grid> {
        let puzzle = Grid::parse(PUZZLE).unwrap();
        let grid = Grid::parse(line).unwrap();
        let tokens = grid.to_tokens().into_iter().map(u32::from).collect();
        let row = Answer { steps, time: Duration::from_millis(ms), ..answer(tokens) };
        Solved { verdict: SudokuTask.check(&puzzle, &grid), answer: grid, rows: vec![row] }
    }

    #[test]
    fn the_exact_solver_is_timed_and_reported() {
        let c = Classic::solve(&Grid::parse(PUZZLE).unwrap());
        assert_eq!(c.grid().unwrap().to_line('.'), SOLUTION);
        let report = c.report();
        assert!(report.starts_with(&format!("answer      {SOLUTION}\nclassic     ")), "{report}");
        assert!(report.contains(" guesses, ") && report.ends_with(" ms\n\n"), "{report}");
        let none = Classic { solution: None, time: Duration::from_micros(1500) };
        assert_eq!(none.report(), "classic     no solution exists\n\n");
        let one = Classic { time: Duration::from_millis(2), ..c };
        assert_eq!(
            classic_summary(&[one, none]),
            "2 puzzles: 1 solved by the exact solver in 3.50 ms"
        );
    }

    #[test]
    fn model_answers_are_reported_beside_the_exact_solver() {
        let right = solved(SOLUTION, 3, 4);
        let text = report(&right, None, 1);
        let start = format!("answer      {SOLUTION}\ncheck       valid solution");
        assert!(text.starts_with(&start), "{text}");
        assert!(text.ends_with("\nsteps       3 (q_halt confidence 0.500)\n\n"), "{text}");

        let wrong = solved(PUZZLE, 8, 6);
        let classic = Classic::solve(&Grid::parse(PUZZLE).unwrap());
        let compared = report(&wrong, Some(&classic), 4);
        assert!(compared.contains(&format!("\nclassic     {SOLUTION} (")), "{compared}");
        assert!(compared.contains("guesses); the model's answer is different\n"), "{compared}");
        assert!(
            compared
                .contains("time        model 6.00 ms (its share of a batch of 4), exact solver "),
            "{compared}"
        );
        assert_eq!(
            model_summary(&[right.clone(), wrong.clone()]),
            "2 puzzles: 1 solved by the model (valid and consistent with the givens); model time 10.00 ms"
        );
        let solution = classic.grid();
        assert_eq!(
            steps_title(&right, solution),
            "the answer after each supervision step: solved after 3 steps"
        );
        assert!(steps_title(&wrong, solution).ends_with(": not solved after 8 steps"));
        let one = Solved { rows: vec![Answer { steps: 1, ..right.rows[0].clone() }], ..right };
        assert!(steps_title(&one, None).ends_with(": the puzzle has no solution after 1 step"));
    }
}
