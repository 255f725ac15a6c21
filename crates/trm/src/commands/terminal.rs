//! Text pictures for the terminal: panels side by side, framed grids of one-character
//! cells, ARC grids on their palette colours, Sudoku answers with changed cells marked.

use trm_data::arc::Grid as ArcGrid;
use trm_data::maze::Maze;
use trm_data::sudoku::Grid as SudokuGrid;

/// One column of [`side_by_side`]: a title over text lines `line_width` characters wide on
/// screen (lines may hold colour escapes, so the width is given rather than measured).
pub(crate) struct Panel {
    pub title: String,
    pub lines: Vec<String>,
    pub line_width: usize,
}

impl Panel {
    /// A `rows x cols` grid of one-character cells inside a `+--+` frame, so open cells
    /// (spaces) stay visible. `cell(i)` gives the text of cell `i` (row-major).
    pub(crate) fn framed(
        title: &str,
        rows: usize,
        cols: usize,
        cell: impl Fn(usize) -> String,
    ) -> Panel {
        let edge = format!("+{}+", "-".repeat(cols));
        let mut lines = vec![edge.clone()];
        for r in 0..rows {
            lines.push(format!("|{}|", (0..cols).map(|c| cell(r * cols + c)).collect::<String>()));
        }
        lines.push(edge);
        Panel { title: title.to_string(), lines, line_width: cols + 2 }
    }

    /// A maze in its official characters.
    pub(crate) fn maze(title: &str, maze: &Maze) -> Panel {
        Panel::framed(title, maze.rows(), maze.cols(), |i| maze.cells()[i].to_char().to_string())
    }
}

/// Panels next to each other, four spaces apart.
pub(crate) fn side_by_side(panels: &[Panel]) -> String {
    let rows = panels.iter().map(|p| p.lines.len() + 1).max().unwrap_or(0);
    let mut out = String::new();
    for i in 0..rows {
        let mut line = String::new();
        for p in panels {
            let title_width = p.title.chars().count();
            let (text, visible) = match i {
                0 => (p.title.as_str(), title_width),
                _ => p.lines.get(i - 1).map_or(("", 0), |l| (l.as_str(), p.line_width)),
            };
            line.push_str(text);
            line.push_str(&" ".repeat(p.line_width.max(title_width) - visible + 4));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Grids side by side under their captions, one digit per cell; with `colour`, each cell on
/// its ARC palette colour (24-bit ANSI background).
pub fn render_grids(panels: &[(String, &ArcGrid)], colour: bool) -> String {
    let width = |(caption, g): &(String, &ArcGrid)| caption.chars().count().max(2 * g.cols());
    let widths: Vec<usize> = panels.iter().map(width).collect();
    let height = panels.iter().map(|(_, g)| g.rows()).max().unwrap_or(0);
    let mut out = String::new();
    let mut line = String::new();
    for ((caption, _), w) in panels.iter().zip(&widths) {
        line.push_str(&format!("{caption:<w$}   "));
    }
    out.push_str(line.trim_end());
    out.push('\n');
    for r in 0..height {
        let mut line = String::new();
        for ((_, g), w) in panels.iter().zip(&widths) {
            let mut used = 0;
            if r < g.rows() {
                for c in 0..g.cols() {
                    let v = g.get(r, c);
                    if colour {
                        let p = trm_viz::color::ARC_PALETTE[v as usize];
                        let ink = p.ink();
                        line.push_str(&format!(
                            "\x1b[48;2;{};{};{}m\x1b[38;2;{};{};{}m{v} \x1b[0m",
                            p.r, p.g, p.b, ink.r, ink.g, ink.b
                        ));
                    } else {
                        line.push_str(&format!("{v} "));
                    }
                    used += 2;
                }
            }
            line.push_str(&" ".repeat(w - used + 3));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The answer grid with cells changed since `previous` in colour (terminal) or followed by
/// `*`; given cells are printed plain.
pub fn render_marked(
    puzzle: &SudokuGrid,
    tokens: &[u32],
    previous: Option<&[u32]>,
    colour: bool,
) -> String {
    let n = puzzle.size();
    let b = puzzle.box_size();
    let mut out = String::new();
    for r in 0..n {
        if r > 0 && r % b == 0 {
            out.push_str(&"-".repeat(n * 3 + (n / b - 1) * 2));
            out.push('\n');
        }
        for c in 0..n {
            if c > 0 && c % b == 0 {
                out.push_str("| ");
            }
            let i = r * n + c;
            let digit = tokens[i].saturating_sub(1);
            let text =
                if digit == 0 || digit as usize > n { ".".to_string() } else { digit.to_string() };
            let changed = previous.is_some_and(|p| p[i] != tokens[i]);
            let given = puzzle.cells()[i] != 0;
            if changed && colour {
                out.push_str(&format!("\x1b[1;33m{text}\x1b[0m  "));
            } else if changed {
                out.push_str(&format!("{text}* "));
            } else if given && colour {
                out.push_str(&format!("\x1b[2m{text}\x1b[0m  "));
            } else {
                out.push_str(&format!("{text}  "));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_align_with_colour_escapes() {
        let plain = Panel::framed("a", 1, 2, |_| "#".into());
        let coloured = Panel::framed("b", 1, 2, |_| "\x1b[1m#\x1b[0m".into());
        let text = side_by_side(&[coloured, plain]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "b       a");
        assert_eq!(lines[2], "|\x1b[1m#\x1b[0m\x1b[1m#\x1b[0m|    |##|");
    }
}
