//! Mazes as a [`Task`]: one row per maze, its tokens; the answer is the model's tokens and
//! the path they draw, checked with breadth-first search. Also what `trm solve maze` says of
//! the answers.

use anyhow::Result;
use trm_data::maze::check::{check_path, PathCheck};
use trm_data::maze::{Cell, Maze};

use super::{Answer, Row, Solved, Task, Verdict};

/// Mazes of the size the model was trained on, each with one S and one G.
pub struct MazeTask;

/// The model's answer to a maze.
#[derive(Debug)]
pub struct MazeAnswer {
    /// The predicted token of every cell.
    pub tokens: Vec<u32>,
    /// The path those tokens draw, checked with breadth-first search.
    pub path: PathCheck,
}

impl Task for MazeTask {
    type Puzzle = Maze;
    type Answer = MazeAnswer;

    fn encode(&self, maze: &Maze) -> Result<Vec<Row>> {
        Ok(vec![Row { id: 0, tokens: maze.tokens() }])
    }

    fn decode(&self, maze: &Maze, _rows: &[Row], answers: &[Answer]) -> Result<MazeAnswer> {
        let tokens = answers[0].tokens.clone();
        Ok(MazeAnswer { path: check_path(maze, &tokens), tokens })
    }

    /// Solved: one shortest path and nothing else changed.
    fn check(&self, _maze: &Maze, answer: &MazeAnswer) -> Verdict {
        Verdict {
            solved: answer.path.is_exact(),
            text: answer.path.verdict(),
            wrong: answer.path.wrong.clone(),
        }
    }
}

impl MazeAnswer {
    /// The answer in the official characters `# SGo`, `?` for a token that is no cell.
    pub fn line(&self) -> String {
        self.tokens.iter().map(|&t| Cell::char_of_token(t)).collect()
    }
}

/// What `trm solve maze` says of one answer: its characters, the path's verdict, the steps
/// and q_halt confidence.
pub fn report(s: &Solved<MazeAnswer>) -> String {
    let row = &s.rows[0];
    format!(
        "answer      \"{}\"\npath        {}\nsteps       {} (q_halt confidence {:.3})\n",
        s.answer.line(),
        s.verdict.text,
        row.steps,
        row.confidence
    )
}

/// The closing line of `trm solve maze` over several mazes: how many answers draw a valid
/// path, how many of those are shortest, how many are exact.
pub fn summary(solved: &[Solved<MazeAnswer>]) -> String {
    let count = |f: &dyn Fn(&Solved<MazeAnswer>) -> bool| solved.iter().filter(|s| f(s)).count();
    format!(
        "{} mazes: {} valid paths, {} of them shortest, {} exact (a shortest path and nothing else changed)",
        solved.len(),
        count(&|s| s.answer.path.drawn.is_some()),
        count(&|s| s.answer.path.is_shortest()),
        count(&|s| s.verdict.solved)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solve::tests::row_answer;

    #[test]
    fn encodes_decodes_and_checks() {
        let maze = Maze::parse_lines("S  \n # \n  G").unwrap();
        let rows = MazeTask.encode(&maze).unwrap();
        assert_eq!(rows, [Row { id: 0, tokens: maze.tokens() }]);
        let solve = |lines: &str| {
            let tokens = Maze::parse_lines(lines).unwrap().tokens();
            let answer = row_answer(tokens.into_iter().map(u32::from).collect());
            let decoded = MazeTask.decode(&maze, &rows, &[answer]).unwrap();
            (MazeTask.check(&maze, &decoded), decoded)
        };
        let (right, decoded) = solve("Soo\n #o\n  G");
        assert_eq!(decoded.tokens.len(), 9);
        assert!(right.solved && right.text.starts_with("valid shortest path"), "{right:?}");
        assert_eq!(right.wrong, [false; 9]);
        // A shortest path with one 'o' too many: valid and shortest, not solved, marked.
        let (extra, _) = solve("Soo\no#o\n  G");
        assert!(!extra.solved && extra.text.contains("1 'o' cells off the path"), "{extra:?}");
        assert_eq!((0..9).filter(|&i| extra.wrong[i]).collect::<Vec<_>>(), [3]);
        let (broken, _) = solve("So \n #o\n  G");
        assert!(!broken.solved && broken.text.starts_with("NOT a valid path"), "{broken:?}");
    }

    #[test]
    fn answers_are_reported_and_counted() {
        let maze = Maze::parse_lines("S  \n # \n  G").unwrap();
        let solved = |lines: &str| {
            let tokens: Vec<u32> =
                Maze::parse_lines(lines).unwrap().tokens().into_iter().map(u32::from).collect();
            let rows = MazeTask.encode(&maze).unwrap();
            let answer = MazeTask.decode(&maze, &rows, &[row_answer(tokens)]).unwrap();
            Solved {
                verdict: MazeTask.check(&maze, &answer),
                answer,
                rows: vec![row_answer(vec![])],
            }
        };
        let exact = solved("Soo\n #o\n  G");
        assert_eq!(exact.answer.line(), "Soo #o  G");
        let text = report(&exact);
        assert!(
            text.starts_with("answer      \"Soo #o  G\"\npath        valid shortest path"),
            "{text}"
        );
        assert!(text.ends_with("\nsteps       1 (q_halt confidence 0.500)\n"), "{text}");
        let mut odd = solved("So \n #o\n  G");
        odd.answer.tokens[2] = 99;
        assert_eq!(odd.answer.line(), "So? #o  G");
        let all = [exact, solved("Soo\no#o\n  G"), odd];
        assert_eq!(summary(&all), "3 mazes: 2 valid paths, 2 of them shortest, 1 exact (a shortest path and nothing else changed)");
    }
}
