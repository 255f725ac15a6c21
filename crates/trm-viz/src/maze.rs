//! Maze pictures: walls, open cells, start, goal and the path.

use anyhow::{bail, ensure, Result};

use crate::cells::{self, Kind, Overlay};
use crate::grid::{Grid, Marks};
use crate::scene::Scene;

/// The maze characters in token order: token `i + 1` is `CHARS[i]` (0 is padding).
pub const CHARS: &[u8; 5] = b"# SGo";

/// Reads a maze written with `# SGo` (wall, open, start, goal, path): either one line whose
/// length is a square number (a 900-character dataset row is 30x30) or one line per row.
/// Rows shorter than the longest are padded with open cells, since editors strip trailing
/// spaces. Returns official tokens (1..=5).
pub fn parse(text: &str) -> Result<Grid> {
    let mut lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    ensure!(!lines.is_empty(), "the maze is empty");
    let token = |ch: char, r: usize, c: usize| -> Result<u8> {
        match CHARS.iter().position(|&m| m as char == ch) {
            Some(i) => Ok(i as u8 + 1),
            None => bail!("character {ch:?} at line {r}, column {c} is not a maze cell; use # (wall), space (open), S, G, o (path)"),
        }
    };
    if lines.len() == 1 {
        let cells = lines[0].chars().enumerate().map(|(i, ch)| token(ch, 1, i + 1)).collect::<Result<Vec<u8>>>()?;
        let side = (cells.len() as f64).sqrt().round() as usize;
        ensure!(
            side * side == cells.len(),
            "a maze on one line needs a square number of cells (900 for 30x30), found {}",
            cells.len()
        );
        return Grid::new(side, side, cells);
    }
    let cols = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut cells = Vec::with_capacity(lines.len() * cols);
    for (r, line) in lines.iter().enumerate() {
        for (c, ch) in line.chars().enumerate() {
            cells.push(token(ch, r + 1, c + 1)?);
        }
        cells.extend(std::iter::repeat_n(2, cols - line.chars().count()));
    }
    Grid::new(lines.len(), cols, cells)
}

/// The maze as text, one line per row (tokens outside 1..=5 become `?`).
pub fn to_text(grid: &Grid) -> String {
    let mut s = String::with_capacity(grid.rows() * (grid.cols() + 1));
    for r in 0..grid.rows() {
        s.extend(grid.row(r).iter().map(|&t| CHARS.get((t as usize).wrapping_sub(1)).map_or('?', |&b| b as char)));
        s.push('\n');
    }
    s
}

const MARGIN: f32 = 10.0;

/// A maze of official tokens; `marks` frames changed cells and crosses wrong ones.
pub fn picture(grid: &Grid, marks: Option<&Marks>) -> Result<Scene> {
    let cell = cells::fit_cell(grid.rows(), grid.cols(), 600.0, 4.0, 32.0);
    let lay = cells::layout(Kind::Maze, grid.rows(), grid.cols(), cell);
    let mut scene = Scene::new(lay.width + 2.0 * MARGIN, lay.height + 2.0 * MARGIN);
    cells::draw(&mut scene, MARGIN, MARGIN, Kind::Maze, grid, &lay, Overlay { givens: None, marks });
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_line_and_rows() {
        let one = parse("#####S o##  oG####\n").unwrap_err().to_string();
        assert!(one.contains("found 18"), "{one}");
        let g = parse("#########S  o  ##   oG##########\n").unwrap_err();
        assert!(g.to_string().contains("square"));
        let g = parse("####\n#So#\n# G\n####\n").unwrap();
        assert_eq!((g.rows(), g.cols()), (4, 4));
        assert_eq!(g.row(1), &[1, 3, 5, 1]);
        assert_eq!(g.row(2), &[1, 2, 4, 2], "short row padded with open cells");
        assert_eq!(to_text(&g), "####\n#So#\n# G \n####\n");
        let sq = parse(&"#".repeat(9)).unwrap();
        assert_eq!((sq.rows(), sq.cols()), (3, 3));
        let err = parse("##\n#x\n").unwrap_err().to_string();
        assert!(err.contains("line 2, column 2"), "{err}");
    }
}
