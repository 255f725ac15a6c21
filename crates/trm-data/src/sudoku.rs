//! Sudoku of size 4 (2x2 boxes) and 9 (3x3 boxes): the grid, its text forms and its tokens.
//!
//! - [`solver`]: exact bitmask solver (singles, then guessing), difficulty and uniqueness.
//! - [`generate`]: puzzles with a unique solution from a seed, with difficulty filters.
//! - [`augment`]: the official shuffle (design 4.2), generalised to size 4.
//! - [`build`]: puzzle files (CSV or bare lines) and official-layout datasets.
//! - [`check`]: whether an answer solves a puzzle, and if not, why.
//! - [`mod@bench`]: solver speed on puzzle files.

pub mod augment;
pub mod bench;
pub mod build;
pub mod check;
pub mod generate;
pub mod solver;

use std::fmt;

use anyhow::{bail, ensure, Context, Result};

use crate::dataset::Metadata;

/// Sizes supported: the side must be a perfect square whose digits fit a 16-bit mask.
pub const SIZES: [usize; 2] = [4, 9];
/// Most cells a grid can have (9x9).
pub const MAX_CELLS: usize = 81;

/// Token map of the official builder: 0 pad, 1 blank cell, `d + 1` for digit `d`.
pub mod tokens {
    /// Token 0: padding (never inside a grid).
    pub const PAD: u8 = 0;
    /// Token of a blank cell.
    pub const BLANK: u8 = 1;

    /// Vocabulary size for a side of `size`: pad, blank and the digits (11 for 9x9, 6 for 4x4).
    pub fn vocab_size(size: usize) -> u32 {
        size as u32 + 2
    }
}

/// Two equal digits in one unit: `(digit, (row, col), (row, col))`, 0-based.
pub type Conflict = (u8, (usize, usize), (usize, usize));

/// A Sudoku grid of side 4 or 9; cell values are 0 (blank) or a digit `1..=size`, row by row.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grid {
    size: u8,
    cells: [u8; MAX_CELLS],
}

impl Grid {
    /// An empty grid. Panics on a size other than 4 or 9 (use [`check_size`] on user input).
    pub fn empty(size: usize) -> Grid {
        check_size(size).expect("valid Sudoku size");
        Grid { size: size as u8, cells: [0; MAX_CELLS] }
    }

    /// A grid from cell values (0 blank, 1..=size digits); the length gives the size.
    pub fn from_cells(cells: &[u8]) -> Result<Grid> {
        let size = size_for_cells(cells.len())?;
        let mut grid = Grid::empty(size);
        for (i, &v) in cells.iter().enumerate() {
            ensure!(
                v as usize <= size,
                "cell {} (row {}, column {}) has value {v}, above {size}",
                i,
                i / size + 1,
                i % size + 1
            );
            grid.cells[i] = v;
        }
        Ok(grid)
    }

    /// Parses the one-line form: 16 or 81 characters, `.` or `0` for a blank, `1..=size` digits.
    /// Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Grid> {
        let text = text.trim();
        let n = text.chars().count();
        let size = match n {
            16 => 4,
            81 => 9,
            _ => bail!("{n} characters, expected 81 (9x9) or 16 (4x4)"),
        };
        let mut grid = Grid::empty(size);
        for (i, ch) in text.chars().enumerate() {
            grid.cells[i] = match ch {
                '.' | '0' => 0,
                '1'..='9' if (ch as usize - '0' as usize) <= size => ch as u8 - b'0',
                _ => bail!(
                    "character {:?} at position {} (row {}, column {}) is not `.`, `0` or a digit 1-{size}",
                    ch,
                    i + 1,
                    i / size + 1,
                    i % size + 1
                ),
            };
        }
        Ok(grid)
    }

    /// Decodes official tokens (1 blank, `d + 1` digit); the length gives the size.
    pub fn from_tokens(tokens: &[u8]) -> Result<Grid> {
        let size = size_for_cells(tokens.len())?;
        let mut grid = Grid::empty(size);
        for (i, &t) in tokens.iter().enumerate() {
            ensure!(
                t >= tokens::BLANK && (t as usize) <= size + 1,
                "token {t} at position {i} is not a Sudoku cell token (1 blank, 2-{} digits)",
                size + 1
            );
            grid.cells[i] = t - 1;
        }
        Ok(grid)
    }

    /// Official tokens: blank -> 1, digit d -> d + 1.
    pub fn to_tokens(&self) -> Vec<u8> {
        self.cells().iter().map(|&v| v + 1).collect()
    }

    /// Side of the grid: 4 or 9.
    pub fn size(&self) -> usize {
        self.size as usize
    }

    /// Side of a box: 2 for 4x4, 3 for 9x9.
    pub fn box_size(&self) -> usize {
        box_size(self.size())
    }

    /// Number of cells: `size * size`.
    pub fn num_cells(&self) -> usize {
        self.size() * self.size()
    }

    /// Cell values row by row: 0 blank, `1..=size` digits.
    pub fn cells(&self) -> &[u8] {
        &self.cells[..self.num_cells()]
    }

    /// Value of the cell at (`row`, `col`), 0-based: 0 blank or a digit.
    pub fn get(&self, row: usize, col: usize) -> u8 {
        self.cells[row * self.size() + col]
    }

    /// Sets the cell at (`row`, `col`) to `value` (0 blanks it); panics above the size.
    pub fn set(&mut self, row: usize, col: usize, value: u8) {
        assert!(value as usize <= self.size(), "value {value} above size {}", self.size());
        let n = self.size();
        self.cells[row * n + col] = value;
    }

    /// Number of filled cells.
    pub fn givens(&self) -> usize {
        self.cells().iter().filter(|&&v| v != 0).count()
    }

    /// Whether every cell holds a digit (no blank left).
    pub fn is_complete(&self) -> bool {
        self.givens() == self.num_cells()
    }

    /// The first pair of equal digits sharing a row, column or box, as
    /// `(digit, (row, col), (row, col))` with 0-based coordinates.
    pub fn conflict(&self) -> Option<Conflict> {
        let (n, b) = (self.size(), self.box_size());
        let mut seen: [[Option<usize>; 10]; 27] = [[None; 10]; 27];
        for i in 0..self.num_cells() {
            let v = self.cells[i] as usize;
            if v == 0 {
                continue;
            }
            let (r, c) = (i / n, i % n);
            for unit in [r, n + c, 2 * n + (r / b) * b + c / b] {
                if let Some(j) = seen[unit][v] {
                    return Some((v as u8, (j / n, j % n), (r, c)));
                }
                seen[unit][v] = Some(i);
            }
        }
        None
    }

    /// Checks that the grid has no two equal digits in a row, column or box.
    pub fn check_consistent(&self) -> Result<()> {
        if let Some((d, (r1, c1), (r2, c2))) = self.conflict() {
            bail!(
                "digit {d} twice in a row, column or box: at row {}, column {} and at row {}, column {}",
                r1 + 1,
                c1 + 1,
                r2 + 1,
                c2 + 1
            );
        }
        Ok(())
    }

    /// True when `solution` is a complete valid grid that keeps every given of `self`.
    pub fn is_solved_by(&self, solution: &Grid) -> bool {
        solution.size == self.size
            && solution.is_complete()
            && solution.conflict().is_none()
            && self.cells().iter().zip(solution.cells()).all(|(&p, &s)| p == 0 || p == s)
    }

    /// The one-line form with `blank` for empty cells.
    pub fn to_line(&self, blank: char) -> String {
        self.cells().iter().map(|&v| if v == 0 { blank } else { (b'0' + v) as char }).collect()
    }

    /// A multi-line picture for the terminal, boxes separated by `|` and `-+-` rules.
    pub fn render(&self) -> String {
        let (n, b) = (self.size(), self.box_size());
        // Box columns are "d d d " wide, plus one space after the `|` for inner ones.
        let rule: String = (0..b)
            .map(|i| "-".repeat(if i == 0 || i == b - 1 { 2 * b } else { 2 * b + 1 }))
            .collect::<Vec<_>>()
            .join("+");
        let mut out = String::new();
        for r in 0..n {
            if r > 0 && r % b == 0 {
                out.push_str(&rule);
                out.push('\n');
            }
            let mut line = String::new();
            for c in 0..n {
                if c > 0 && c % b == 0 {
                    line.push_str("| ");
                }
                let v = self.get(r, c);
                line.push(if v == 0 { '.' } else { (b'0' + v) as char });
                line.push(' ');
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// The one-line form with `.` blanks.
impl fmt::Display for Grid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_line('.'))
    }
}

impl fmt::Debug for Grid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Grid({})", self.to_line('.'))
    }
}

impl std::str::FromStr for Grid {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Grid> {
        Grid::parse(s)
    }
}

/// A Sudoku named by a command-line argument ([`crate::text::read_text_arg`]: the grid
/// itself, a file holding it, or `-` for standard input), on one line or as rows: whitespace
/// is ignored. Errors start with `what` (e.g. `puzzle`) and the argument's name.
pub fn read_grid_arg(arg: &str, what: &str) -> Result<Grid> {
    let (text, name) = crate::text::read_text_arg(arg)?;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let is_text = arg != "-" && !std::path::Path::new(arg).is_file();
    let hint = if is_text { " (not a file either)" } else { "" };
    Grid::parse(&compact).with_context(|| format!("{what} {name}{hint}"))
}

/// Accepts 4 and 9, the sizes with a square box whose digits are single characters.
pub fn check_size(size: usize) -> Result<()> {
    ensure!(SIZES.contains(&size), "Sudoku size {size} is not supported; use 4 or 9");
    Ok(())
}

/// The Sudoku side when a dataset's metadata is the official Sudoku token layout (`seq_len`
/// `size * size`, vocabulary `size + 2`).
pub fn side_of_dataset(meta: &Metadata) -> Option<usize> {
    SIZES.into_iter().find(|&s| meta.seq_len == s * s && meta.vocab_size == tokens::vocab_size(s))
}

/// Side of a box for a grid side of `size` (2 or 3).
pub fn box_size(size: usize) -> usize {
    match size {
        4 => 2,
        9 => 3,
        _ => panic!("unsupported Sudoku size {size}"),
    }
}

fn size_for_cells(cells: usize) -> Result<usize> {
    match cells {
        16 => Ok(4),
        81 => Ok(9),
        _ => bail!("{cells} cells, expected 81 (9x9) or 16 (4x4)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUZZLE: &str =
        "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..";

    #[test]
    fn a_grid_argument_may_be_a_file_of_rows() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rows.txt");
        std::fs::write(&file, "1.3.\n..1.\n.1..\n4.2.\n").unwrap();
        let grid = read_grid_arg(file.to_str().unwrap(), "puzzle").unwrap();
        assert_eq!(grid, Grid::parse("1.3...1..1..4.2.").unwrap());
        let e = format!("{:#}", read_grid_arg("1.3", "solution").unwrap_err());
        assert_eq!(
            e,
            "solution \"1.3\" (not a file either): 3 characters, expected 81 (9x9) or 16 (4x4)"
        );
    }

    #[test]
    fn parses_and_prints_both_sizes() {
        let g = Grid::parse(PUZZLE).unwrap();
        assert_eq!((g.size(), g.givens()), (9, 32));
        assert_eq!(g.get(0, 2), 3);
        assert_eq!(g.to_string(), PUZZLE);
        assert_eq!(Grid::parse(&PUZZLE.replace('.', "0")).unwrap(), g);
        let small = Grid::parse("1.3..4......2..1").unwrap();
        assert_eq!((small.size(), small.box_size(), small.givens()), (4, 2, 5));
        assert_eq!(small.to_line('0'), "1030040000002001");
    }

    #[test]
    fn parse_errors_name_the_problem() {
        assert!(Grid::parse("123").unwrap_err().to_string().contains("3 characters"));
        let err = Grid::parse("1.5..4......2..1").unwrap_err().to_string();
        assert!(err.contains("'5'") && err.contains("position 3"), "{err}");
        assert!(Grid::parse(&PUZZLE.replacen('.', "x", 1)).is_err());
    }

    #[test]
    fn tokens_follow_the_official_map() {
        let g = Grid::parse("1.3..4......2..1").unwrap();
        let t = g.to_tokens();
        assert_eq!(&t[..4], &[2, 1, 4, 1]);
        assert_eq!(Grid::from_tokens(&t).unwrap(), g);
        assert!(Grid::from_tokens(&[0; 16]).is_err(), "pad is not a cell");
        assert_eq!(tokens::vocab_size(9), 11);
        assert_eq!(tokens::vocab_size(4), 6);
    }

    #[test]
    fn finds_conflicts() {
        assert!(Grid::parse(PUZZLE).unwrap().conflict().is_none());
        let mut g = Grid::parse(PUZZLE).unwrap();
        g.set(0, 0, 3); // row 1 already has a 3 in column 3
        assert_eq!(g.conflict(), Some((3, (0, 0), (0, 2))));
        let err = g.check_consistent().unwrap_err().to_string();
        assert!(err.contains("digit 3 twice") && err.contains("row 1, column 1"), "{err}");
        let boxed = Grid::parse("1...01..........").unwrap();
        assert_eq!(boxed.conflict(), Some((1, (0, 0), (1, 1))));
    }

    #[test]
    fn renders_boxes() {
        let g = Grid::parse("1.3..4......2..1").unwrap();
        assert_eq!(g.render(), "1 . | 3 .\n. 4 | . .\n----+----\n. . | . .\n2 . | . 1\n");
        let pic = Grid::parse(PUZZLE).unwrap().render();
        assert_eq!(pic.lines().count(), 11);
        assert_eq!(pic.lines().nth(3).unwrap(), "------+-------+------");
    }
}
