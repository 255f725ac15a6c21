//! Checking an answer to a maze with breadth-first searches: whether its `o` cells draw
//! a path from S to G, whether that path is a shortest one, and which cells are wrong.

use super::{Cell, Maze, MazeSolver};

/// Whether `tokens` answer the maze question `input` (tokens, one per cell) with exactly
/// one shortest path and nothing else changed; false when `input` is no maze question.
pub fn solves_maze(input: &[i32], tokens: &[u32], (rows, cols): (usize, usize)) -> bool {
    let Some(q) = input.iter().map(|&t| u8::try_from(t).ok()).collect::<Option<Vec<u8>>>() else {
        return false;
    };
    match Maze::from_tokens(&q, rows, cols) {
        Ok(maze) if maze.check_question().is_ok() && tokens.len() == rows * cols => {
            check_path(&maze, tokens).is_exact()
        }
        _ => false,
    }
}

/// The verdict on one answer, from breadth-first searches.
#[derive(Debug, PartialEq)]
pub struct PathCheck {
    /// Cells (start and goal included) of the shortest S-G path through the answer's `o`
    /// cells on open cells of the maze; `None` when they do not connect S to G.
    pub drawn: Option<usize>,
    /// Cells of the maze's shortest path; `None` when there is no path at all.
    pub shortest: Option<usize>,
    /// `o` cells off that path.
    pub extra: usize,
    /// Cells changed other than an open cell becoming `o`: walls, S or G overwritten, open
    /// cells given another symbol, tokens that are no maze cell (padding).
    pub changed: usize,
    /// Per cell: extra `o` cells and changed cells (crossed in the picture).
    pub wrong: Vec<bool>,
}

impl PathCheck {
    /// Whether the drawn path connects S to G and is as short as the maze's shortest path.
    pub fn is_shortest(&self) -> bool {
        self.drawn.is_some() && self.drawn == self.shortest
    }

    /// One shortest path and nothing else: what exact accuracy counts (up to ties).
    pub fn is_exact(&self) -> bool {
        self.is_shortest() && self.extra == 0 && self.changed == 0
    }

    /// The verdict in a few words (picture titles).
    pub fn summary(&self) -> &'static str {
        match self.drawn {
            _ if self.is_exact() => "exact shortest path",
            Some(_) if self.is_shortest() => "valid shortest path",
            Some(_) => "valid path, not shortest",
            None => "no valid path",
        }
    }

    /// The verdict in a sentence: valid or not, shortest or not, extra and changed cells.
    pub fn verdict(&self) -> String {
        let best = match self.shortest {
            Some(s) => format!("BFS shortest: {s} cells"),
            None => "BFS: no path from S to G exists".to_string(),
        };
        let mut text = match self.drawn {
            Some(d) if self.is_shortest() => {
                format!("valid shortest path: S to G in {d} cells ({best})")
            }
            Some(d) => format!("valid path, NOT shortest: S to G in {d} cells ({best})"),
            None => format!("NOT a valid path: the 'o' cells do not connect S to G ({best})"),
        };
        if self.extra > 0 {
            text.push_str(&format!("; {} 'o' cells off the path", self.extra));
        }
        if self.changed > 0 {
            text.push_str(&format!("; {} walls, S, G or open cells changed", self.changed));
        }
        if self.is_exact() {
            text.push_str("; exact");
        }
        text
    }
}

/// Checks the answer `tokens` (one per cell) to `maze`, which must have one S and one G.
///
/// # Panics
///
/// When the maze has not exactly one S and one G.
pub fn check_path(maze: &Maze, tokens: &[u32]) -> PathCheck {
    let (rows, cols) = (maze.rows(), maze.cols());
    let (start, goal) = maze.endpoints().expect("mazes are checked when read");
    let mut wrong = vec![false; rows * cols];
    let mut on_path = vec![false; rows * cols];
    let (mut marked, mut changed) = (0, 0);
    for (i, (&q, &t)) in maze.cells().iter().zip(tokens).enumerate() {
        match (q, u8::try_from(t).ok().and_then(Cell::from_token)) {
            (Cell::Open, Some(Cell::Path)) => {
                on_path[i] = true;
                marked += 1;
            }
            (q, Some(a)) if q == a => {}
            _ => {
                wrong[i] = true;
                changed += 1;
            }
        }
    }
    on_path[start] = true;
    on_path[goal] = true;
    let mut solver = MazeSolver::new();
    let shortest = solver.shortest_path(&maze.passable(), rows, cols, start, goal).map(|p| p.len());
    let drawn = solver.shortest_path(&on_path, rows, cols, start, goal);
    let extra = match &drawn {
        Some(path) => {
            let mut off = on_path.clone();
            for &i in path {
                off[i] = false;
            }
            for (w, o) in wrong.iter_mut().zip(&off) {
                *w |= *o;
            }
            off.iter().filter(|&&o| o).count()
        }
        None => marked,
    };
    PathCheck { drawn: drawn.map(|p| p.len()), shortest, extra, changed, wrong }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<u32> {
        Maze::parse_lines(text).unwrap().tokens().into_iter().map(u32::from).collect()
    }
    #[test]
    fn checks_paths_with_bfs() {
        let maze = Maze::parse_lines("S  \n # \n  G\n").unwrap();
        let best = check_path(&maze, &tokens("Soo\n #o\n  G\n"));
        assert_eq!((best.drawn, best.shortest, best.extra, best.changed), (Some(5), Some(5), 0, 0));
        assert!(
            best.is_exact() && best.verdict().starts_with("valid shortest path"),
            "{}",
            best.verdict()
        );

        let extra = check_path(&maze, &tokens("Soo\no#o\n  G\n"));
        assert!(
            extra.is_shortest() && !extra.is_exact() && extra.extra == 1 && extra.wrong[3],
            "{extra:?}"
        );

        let broken = check_path(&maze, &tokens("So \n #o\n  G\n"));
        assert_eq!(broken.drawn, None);
        assert!(broken.verdict().starts_with("NOT a valid path"), "{}", broken.verdict());

        let mut over_wall = tokens("S  \n # \n  G\n");
        over_wall[1] = 5;
        over_wall[4] = 5; // 'o' on the wall: a changed cell, not a path cell
        over_wall[7] = 0; // padding
        let c = check_path(&maze, &over_wall);
        assert_eq!((c.drawn, c.changed), (None, 2));
        assert!(c.wrong[4] && c.wrong[7] && !c.wrong[1]);
    }

    #[test]
    fn any_shortest_path_solves_a_maze_and_nothing_else_does() {
        // S . .
        // . # .
        // . . G   two shortest paths, right-then-down and down-then-right.
        let question = Maze::parse_lines("S  \n # \n  G").unwrap();
        let input: Vec<i32> = question.tokens().iter().map(|&t| t as i32).collect();
        let answer = |lines: &str| -> Vec<u32> {
            Maze::parse_lines(lines).unwrap().tokens().iter().map(|&t| t as u32).collect()
        };
        assert!(solves_maze(&input, &answer("Soo\n #o\n  G"), (3, 3)));
        assert!(solves_maze(&input, &answer("S  \no# \nooG"), (3, 3)));
        // Broken, over-drawn, or a wall moved.
        assert!(!solves_maze(&input, &answer("So \n #o\n  G"), (3, 3)));
        assert!(!solves_maze(&input, &answer("Soo\no#o\nooG"), (3, 3)));
        assert!(!solves_maze(&input, &answer("Soo\n  o\n  G"), (3, 3)));
        // Tokens outside the maze vocabulary.
        let mut junk = answer("Soo\n #o\n  G");
        junk[4] = 300;
        assert!(!solves_maze(&input, &junk, (3, 3)));
    }
}
