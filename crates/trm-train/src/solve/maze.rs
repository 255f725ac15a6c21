//! Mazes as a [`Task`]: one row per maze, its tokens; the answer is the model's tokens and
//! the path they draw, checked with breadth-first search.

use anyhow::Result;
use trm_data::maze::check::{check_path, PathCheck};
use trm_data::maze::Maze;

use super::{Answer, Row, Task, Verdict};

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
}
