//! Mazes in the official Maze-Hard format (HRM's `dataset/build_maze_dataset.py`;
//! the HRM paper, arXiv 2506.21734, section 3).
//!
//! A maze is a grid over the character set `# SGo`: wall, open cell, start, goal and
//! shortest-path cell (`o` only in answers). Its tokens are the character's index in
//! `"# SGo"` plus one, so 0 stays PAD and the vocabulary has 6 entries. Movement is
//! 4-connected and there is no implied border wall.
//!
//! - [`Maze`]: parse, print, tokens, dihedral transforms, solve (BFS, [`solve`]).
//! - [`generate`]: the Maze-Hard generator (random walls, start/goal draws, path filter).
//! - [`csv`]: the official `source,question,answer,rating` files.
//! - [`mod@file`]: files of mazes as people write them (blocks of rows, flat lines, CSV).
//! - [`check`]: the verdict on an answer (valid, shortest, extra and changed cells).
//! - [`build`]: the official dataset layout for mazes.
//! - [`mod@bench`]: the speed of the generator and of BFS.

pub mod bench;
pub mod build;
pub mod check;
pub mod csv;
pub mod file;
pub mod generate;
pub mod solve;

use crate::dihedral::Dihedral;
use anyhow::{bail, ensure, Context, Result};

pub use solve::MazeSolver;

/// The official character set; a character's token is its index here plus one.
pub const CHARSET: &str = "# SGo";
/// Vocabulary size of maze datasets: PAD plus the 5 characters.
pub const VOCAB_SIZE: usize = CHARSET.len() + 1;

/// One maze cell. The discriminant is the official token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Cell {
    /// `#`, token 1: impassable.
    Wall = 1,
    /// A space, token 2: a free cell.
    Open = 2,
    /// `S`, token 3: the start.
    Start = 3,
    /// `G`, token 4: the goal.
    Goal = 4,
    /// `o`, token 5: a cell of the shortest path (answers only).
    Path = 5,
}

impl Cell {
    /// The cell written `c` in `# SGo`, or `None` for any other character.
    pub fn from_char(c: char) -> Option<Cell> {
        Some(match c {
            '#' => Cell::Wall,
            ' ' => Cell::Open,
            'S' => Cell::Start,
            'G' => Cell::Goal,
            'o' => Cell::Path,
            _ => return None,
        })
    }

    /// The cell's character in `# SGo`.
    pub fn to_char(self) -> char {
        CHARSET.as_bytes()[self as usize - 1] as char
    }

    /// The official token, 1..=5.
    pub fn token(self) -> u8 {
        self as u8
    }

    /// The cell of official token `token`, or `None` outside 1..=5.
    pub fn from_token(token: u8) -> Option<Cell> {
        CHARSET.chars().nth((token as usize).checked_sub(1)?).and_then(Cell::from_char)
    }

    /// The character of a model's answer token: the cell's in `# SGo`, `?` for a token that
    /// is no cell (padding, or outside 1..=5).
    pub fn char_of_token(token: u32) -> char {
        u8::try_from(token).ok().and_then(Cell::from_token).map_or('?', Cell::to_char)
    }

    /// Whether a path may pass through this cell.
    pub fn is_passable(self) -> bool {
        self != Cell::Wall
    }
}

/// A rectangular maze, row-major.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Maze {
    rows: usize,
    cols: usize,
    cells: Vec<Cell>,
}

impl Maze {
    /// A maze from its cells; `cells.len()` must be `rows * cols`.
    pub fn new(rows: usize, cols: usize, cells: Vec<Cell>) -> Result<Maze> {
        ensure!(rows > 0 && cols > 0, "a maze needs at least one row and one column");
        ensure!(
            cells.len() == rows * cols,
            "a {rows}x{cols} maze needs {} cells, got {}",
            rows * cols,
            cells.len()
        );
        Ok(Maze { rows, cols, cells })
    }

    /// Parse the official flat form: `rows * cols` characters of `# SGo`, row by row.
    /// Spaces are open cells, so nothing is trimmed.
    pub fn parse_flat(text: &str, rows: usize, cols: usize) -> Result<Maze> {
        let cells = text
            .chars()
            .enumerate()
            .map(|(i, c)| {
                Cell::from_char(c).ok_or_else(|| {
                    anyhow::anyhow!(
                        "character {c:?} at position {i} (row {}, column {}) is not one of \"# SGo\"",
                        i / cols.max(1),
                        i % cols.max(1)
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        ensure!(
            cells.len() == rows * cols,
            "expected {} characters for a {rows}x{cols} maze, got {} (open cells are spaces: \
             check that nothing stripped them)",
            rows * cols,
            cells.len()
        );
        Maze::new(rows, cols, cells)
    }

    /// Parse the printed form: one line per row, all lines the same length. Trailing
    /// newlines are ignored; trailing spaces are cells.
    pub fn parse_lines(text: &str) -> Result<Maze> {
        let lines: Vec<&str> = text.trim_end_matches(['\n', '\r']).lines().collect();
        ensure!(!lines.is_empty(), "empty maze");
        let cols = lines[0].chars().count();
        let mut cells = Vec::with_capacity(lines.len() * cols);
        for (r, line) in lines.iter().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            ensure!(
                line.chars().count() == cols,
                "maze row {} has {} characters but row 1 has {cols}",
                r + 1,
                line.chars().count()
            );
            cells.extend(
                Maze::parse_flat(line, 1, cols)
                    .map_err(|e| e.context(format!("maze row {}", r + 1)))?
                    .cells,
            );
        }
        Maze::new(lines.len(), cols, cells)
    }

    /// Parse a maze written either way: one line per row ([`Maze::parse_lines`]), or the
    /// flat form of the dataset CSV on one line of a square number of characters (900 for
    /// 30x30).
    pub fn parse_text(text: &str) -> Result<Maze> {
        let body = text.trim_end_matches(['\n', '\r']);
        if let Some(i) = body.lines().position(str::is_empty) {
            bail!("line {} is empty: this reads one maze, but an empty line separates mazes (a row of open cells is a line of spaces); give a file with one maze", i + 1);
        }
        if body.contains('\n') {
            return Maze::parse_lines(body);
        }
        let n = body.chars().count();
        let side = (n as f64).sqrt().round() as usize;
        if side * side != n {
            bail!("a maze on one line needs a square number of characters (900 for 30x30), found {n}; or write one line per row");
        }
        Maze::parse_flat(body, side, side)
    }

    /// A maze from official tokens (1..=5).
    pub fn from_tokens(tokens: &[u8], rows: usize, cols: usize) -> Result<Maze> {
        let cells = tokens
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                Cell::from_token(t).ok_or_else(|| {
                    anyhow::anyhow!("token {t} at position {i} is not a maze cell (1..=5)")
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Maze::new(rows, cols, cells)
    }

    /// Height of the maze in cells.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Width of the maze in cells.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The cells, row-major.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The cell at (`row`, `col`), 0-based.
    pub fn get(&self, row: usize, col: usize) -> Cell {
        self.cells[row * self.cols + col]
    }

    /// The official flat string, `rows * cols` characters.
    pub fn to_flat_string(&self) -> String {
        self.cells.iter().map(|c| c.to_char()).collect()
    }

    /// Official tokens, one per cell, row-major.
    pub fn tokens(&self) -> Vec<u8> {
        self.cells.iter().map(|c| c.token()).collect()
    }

    /// Row-major passability (everything but walls).
    pub fn passable(&self) -> Vec<bool> {
        self.cells.iter().map(|c| c.is_passable()).collect()
    }

    /// The maze under dihedral transform `t` (shape swaps for transposing transforms).
    pub fn transformed(&self, t: Dihedral) -> Maze {
        let (rows, cols) = t.output_shape(self.rows, self.cols);
        Maze { rows, cols, cells: t.apply(&self.cells, self.rows, self.cols) }
    }

    fn positions(&self, cell: Cell) -> Vec<usize> {
        self.cells.iter().enumerate().filter(|(_, &c)| c == cell).map(|(i, _)| i).collect()
    }

    /// Check that this is a puzzle (a question): exactly one `S`, exactly one `G`, no `o`.
    /// Returns the start and goal cell indices.
    pub fn check_question(&self) -> Result<(usize, usize)> {
        let path = self.positions(Cell::Path);
        ensure!(
            path.is_empty(),
            "a question must not contain path cells 'o' (found {})",
            path.len()
        );
        self.endpoints()
    }

    /// The start and goal cell indices; an error unless there is exactly one of each.
    pub fn endpoints(&self) -> Result<(usize, usize)> {
        let (starts, goals) = (self.positions(Cell::Start), self.positions(Cell::Goal));
        if starts.len() != 1 || goals.len() != 1 {
            bail!(
                "a maze needs exactly one start 'S' and one goal 'G', found {} 'S' and {} 'G'",
                starts.len(),
                goals.len()
            );
        }
        Ok((starts[0], goals[0]))
    }

    /// The answer: this question with one shortest path drawn with `o` (start and goal keep
    /// their letters). An error if the question is malformed or has no path.
    pub fn solve(&self) -> Result<Maze> {
        let (start, goal) = self.check_question()?;
        let mut solver = MazeSolver::new();
        let Some(path) = solver.shortest_path(&self.passable(), self.rows, self.cols, start, goal)
        else {
            bail!("no path from 'S' to 'G'");
        };
        let mut answer = self.clone();
        for &i in &path[1..path.len() - 1] {
            answer.cells[i] = Cell::Path;
        }
        Ok(answer)
    }

    /// Check that `answer` is this question with exactly one shortest `S`-`G` path drawn in
    /// `o` over open cells. Returns the path length in cells, start and goal included.
    pub fn check_answer(&self, answer: &Maze) -> Result<usize> {
        let (start, goal) = self.check_question()?;
        ensure!(
            (answer.rows, answer.cols) == (self.rows, self.cols),
            "answer is {}x{} but question is {}x{}",
            answer.rows,
            answer.cols,
            self.rows,
            self.cols
        );
        let mut marked = 0;
        for (i, (&q, &a)) in self.cells.iter().zip(&answer.cells).enumerate() {
            if q != a && !(q == Cell::Open && a == Cell::Path) {
                bail!(
                    "answer differs from question at row {}, column {}: {:?} became {:?} (only open cells may become 'o')",
                    i / self.cols,
                    i % self.cols,
                    q.to_char(),
                    a.to_char()
                );
            }
            marked += (a == Cell::Path) as usize;
        }
        let mut solver = MazeSolver::new();
        let Some(best) = solver.shortest_path(&self.passable(), self.rows, self.cols, start, goal)
        else {
            bail!("no path from 'S' to 'G'");
        };
        let on_path: Vec<bool> =
            answer.cells.iter().map(|&c| c != Cell::Wall && c != Cell::Open).collect();
        let drawn = solver.shortest_path(&on_path, self.rows, self.cols, start, goal);
        ensure!(
            drawn.as_ref().map(|p| p.len()) == Some(best.len()) && marked + 2 == best.len(),
            "the 'o' cells of the answer ({marked}) are not one shortest path (length {} cells)",
            best.len()
        );
        Ok(best.len())
    }
}

/// A question and its answer (the question with one shortest path drawn in `o`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MazePair {
    /// The maze to solve: walls, open cells, `S` and `G`.
    pub question: Maze,
    /// The question with one shortest path drawn in `o`.
    pub answer: Maze,
}

impl MazePair {
    /// Solves `question` by BFS.
    pub fn solve(question: Maze) -> Result<MazePair> {
        let answer = question.solve()?;
        Ok(MazePair { question, answer })
    }

    /// Length of the drawn path in cells, start and goal included.
    pub fn path_len(&self) -> usize {
        self.answer.cells.iter().filter(|&&c| c == Cell::Path).count() + 2
    }

    /// The pair under dihedral transform `t`.
    pub fn transformed(&self, t: Dihedral) -> MazePair {
        MazePair { question: self.question.transformed(t), answer: self.answer.transformed(t) }
    }
}

/// A maze size written `N` (N x N) or `RxC` (e.g. `12x20`); a maze needs at least 2 cells.
pub fn parse_size(text: &str) -> Result<(usize, usize)> {
    let parse = |s: &str| s.trim().parse::<usize>().context("expected N or RxC, e.g. 30 or 12x20");
    let (rows, cols) = match text.split_once(['x', 'X']) {
        Some((r, c)) => (parse(r)?, parse(c)?),
        None => {
            let n = parse(text)?;
            (n, n)
        }
    };
    ensure!(rows >= 1 && cols >= 1 && rows * cols >= 2, "a maze needs at least 2 cells");
    Ok((rows, cols))
}

/// The path lengths of `pairs` in cells, `min / mean / max` (mean to one decimal), as the
/// dataset and benchmark tables show them; `-` when there are none.
pub fn path_summary(pairs: &[MazePair]) -> String {
    let lens: Vec<usize> = pairs.iter().map(|p| p.path_len()).collect();
    match (lens.iter().min(), lens.iter().max()) {
        (Some(min), Some(max)) => {
            format!("{min} / {:.1} / {max}", lens.iter().sum::<usize>() as f64 / lens.len() as f64)
        }
        _ => "-".to_string(),
    }
}

impl std::fmt::Display for Maze {
    /// One line per row, in the official characters.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for row in self.cells.chunks(self.cols) {
            let line: String = row.iter().map(|c| c.to_char()).collect();
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "S  #\n## #\nG   \n";

    #[test]
    fn answer_tokens_read_as_cells_or_a_question_mark() {
        let chars: String = [0, 1, 2, 3, 4, 5, 6, 300].map(Cell::char_of_token).iter().collect();
        assert_eq!(chars, "?# SGo??");
    }

    #[test]
    fn tokens_follow_the_official_charset() {
        for (i, c) in CHARSET.chars().enumerate() {
            let cell = Cell::from_char(c).unwrap();
            assert_eq!(cell.token() as usize, i + 1);
            assert_eq!(cell.to_char(), c);
            assert_eq!(Cell::from_token(i as u8 + 1), Some(cell));
        }
        assert_eq!(Cell::from_token(0), None);
        assert_eq!(Cell::from_token(6), None);
    }

    #[test]
    fn parse_print_round_trip_keeps_spaces() {
        let maze = Maze::parse_lines(SMALL).unwrap();
        assert_eq!((maze.rows(), maze.cols()), (3, 4));
        assert_eq!(maze.to_string(), SMALL);
        assert_eq!(maze.to_flat_string(), "S  ### #G   ");
        assert_eq!(Maze::parse_flat(&maze.to_flat_string(), 3, 4).unwrap(), maze);
        assert!(Maze::parse_flat("S  ### #G  ", 3, 4)
            .unwrap_err()
            .to_string()
            .contains("stripped"));
    }

    #[test]
    fn solve_draws_the_shortest_path() {
        let maze = Maze::parse_lines(SMALL).unwrap();
        let answer = maze.solve().unwrap();
        assert_eq!(answer.to_string(), "Soo#\n##o#\nGoo \n");
        assert_eq!(maze.check_answer(&answer).unwrap(), 7);
        let pair = MazePair::solve(maze).unwrap();
        let short = MazePair::solve(Maze::parse_lines("SG\n").unwrap()).unwrap();
        assert_eq!(path_summary(&[pair, short]), "2 / 4.5 / 7");
        assert_eq!(path_summary(&[]), "-");
    }

    #[test]
    fn text_is_rows_or_one_square_line() {
        assert_eq!(Maze::parse_text("S #G\n").unwrap(), Maze::parse_lines("S \n#G").unwrap());
        assert_eq!(Maze::parse_text(SMALL).unwrap(), Maze::parse_lines(SMALL).unwrap());
        let two = Maze::parse_text("S \n#G\n\nS \n#G\n").unwrap_err().to_string();
        assert!(two.starts_with("line 3 is empty") && two.contains("one maze"), "{two}");
        let err = Maze::parse_text("S G").unwrap_err().to_string();
        assert!(err.contains("square number of characters"), "{err}");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("30").unwrap(), (30, 30));
        assert_eq!(parse_size("12x20").unwrap(), (12, 20));
        assert_eq!(parse_size(" 3 X 4").unwrap(), (3, 4));
        assert!(parse_size("1").unwrap_err().to_string().contains("at least 2 cells"));
        assert!(parse_size("3x").unwrap_err().to_string().contains("expected N or RxC"));
    }

    #[test]
    fn malformed_questions_are_rejected() {
        let two_starts = Maze::parse_lines("S S\n  G\n").unwrap();
        assert!(two_starts.solve().unwrap_err().to_string().contains("found 2 'S' and 1 'G'"));
        let blocked = Maze::parse_lines("S#G\n").unwrap();
        assert!(blocked.solve().unwrap_err().to_string().contains("no path"));
        let detour = Maze::parse_lines("S  \n   \n  G\n").unwrap();
        let long = Maze::parse_lines("Soo\n  o\n  G\n").unwrap();
        assert!(detour.check_answer(&long).is_ok());
        let not_shortest = Maze::parse_lines("Soo\noo \n  G\n").unwrap();
        assert!(detour.check_answer(&not_shortest).is_err());
    }
}
