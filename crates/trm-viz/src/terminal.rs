//! Text pictures for the terminal: panels side by side, framed grids of one-character cells,
//! ARC grids on their palette colours, Sudoku answers with changed cells marked, the answer
//! after every supervision step, and dataset examples decoded for `trm data inspect`.
//!
//! Every function returns the text (lines ending in `\n`); the caller prints it. `colour`
//! asks for ANSI escapes (for a terminal); without it the marks are plain characters.

use std::path::Path;

use trm_data::arc::encode::{Canvas, VOCAB_SIZE as ARC_VOCAB_SIZE};
use trm_data::arc::Grid as ArcGrid;
use trm_data::dataset::{Dataset, Metadata, Split};
use trm_data::maze::build::decode_example;
use trm_data::maze::{Cell, Maze, VOCAB_SIZE as MAZE_VOCAB_SIZE};
use trm_data::sudoku::check::solved_labels;
use trm_data::sudoku::{self, Grid as SudokuGrid};

use crate::color::ARC_PALETTE;

/// One column of [`side_by_side`]: a title over text lines `line_width` characters wide on
/// screen (lines may hold colour escapes, so the width is given rather than measured).
pub struct Panel {
    /// The line above the panel.
    pub title: String,
    /// The panel's lines.
    pub lines: Vec<String>,
    /// Width of every line on screen, escapes not counted.
    pub line_width: usize,
}

impl Panel {
    /// A `rows x cols` grid of one-character cells inside a `+--+` frame, so open cells
    /// (spaces) stay visible. `cell(i)` gives the text of cell `i` (row-major).
    pub fn framed(title: &str, rows: usize, cols: usize, cell: impl Fn(usize) -> String) -> Panel {
        let edge = format!("+{}+", "-".repeat(cols));
        let mut lines = vec![edge.clone()];
        for r in 0..rows {
            lines.push(format!("|{}|", (0..cols).map(|c| cell(r * cols + c)).collect::<String>()));
        }
        lines.push(edge);
        Panel { title: title.to_string(), lines, line_width: cols + 2 }
    }

    /// A maze in its official characters.
    pub fn maze(title: &str, maze: &Maze) -> Panel {
        Panel::framed(title, maze.rows(), maze.cols(), |i| maze.cells()[i].to_char().to_string())
    }

    /// A `rows x cols` maze answer (model tokens) in the official characters.
    pub fn maze_tokens(title: &str, rows: usize, cols: usize, tokens: &[u32]) -> Panel {
        Panel::framed(title, rows, cols, |i| Cell::char_of_token(tokens[i]).to_string())
    }
}

/// Panels next to each other, four spaces apart.
pub fn side_by_side(panels: &[Panel]) -> String {
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

/// ARC grids side by side under their captions, one digit per cell; with `colour`, each cell
/// on its ARC palette colour (24-bit ANSI background).
pub fn arc_grids(panels: &[(String, &ArcGrid)], colour: bool) -> String {
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
                        let p = ARC_PALETTE[v as usize];
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

/// Sudoku grids next to each other, each under its title ([`SudokuGrid::render`]).
pub fn sudoku_grids(grids: &[(&str, &SudokuGrid)]) -> String {
    let pictures: Vec<Vec<String>> = grids
        .iter()
        .map(|(title, g)| {
            std::iter::once(title.to_string()).chain(g.render().lines().map(String::from)).collect()
        })
        .collect();
    let width = pictures.iter().flatten().map(|l| l.chars().count()).max().unwrap_or(0) + 4;
    let rows = pictures.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = String::new();
    for i in 0..rows {
        let mut line = String::new();
        for p in &pictures {
            let cell = p.get(i).map(String::as_str).unwrap_or("");
            line.push_str(&format!("{cell:<width$}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The answer tokens of a Sudoku as a grid, with cells changed since `previous` in colour
/// (terminal) or followed by `*`; given cells are printed plain.
pub fn sudoku_answer(
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

/// The halting confidence `sigmoid(q_halt)` of a step.
fn halt_confidence(q_halt: f64) -> f64 {
    1.0 / (1.0 + (-q_halt).exp())
}

/// The answer after every supervision step (its tokens and q_halt logit) with the cells
/// changed since the previous step marked; with `solution`, a step whose answer is it ends
/// in " - solved".
pub fn sudoku_steps<'a>(
    puzzle: &SudokuGrid,
    steps: impl IntoIterator<Item = (&'a [u32], f64)>,
    solution: Option<&SudokuGrid>,
    colour: bool,
) -> String {
    let mut out = String::new();
    let mut previous: Option<&[u32]> = None;
    for (j, (tokens, q)) in steps.into_iter().enumerate() {
        let solved = solution.is_some_and(|s| {
            s.to_tokens().iter().map(|&t| u32::from(t)).eq(tokens.iter().copied())
        });
        out.push_str(&format!(
            "step {}: q_halt {q:+.2} (halt confidence {:.2}){}\n",
            j + 1,
            halt_confidence(q),
            if solved { " - solved" } else { "" }
        ));
        out.push_str(&sudoku_answer(puzzle, tokens, previous, colour));
        out.push('\n');
        previous = Some(tokens);
    }
    out
}

/// The answer after every supervision step (its tokens and q_halt logit) with the cells
/// changed since the previous step (step 1: since the maze) marked: in colour, or without
/// `colour` in a second panel of the changed cells.
pub fn maze_steps<'a>(
    maze: &Maze,
    steps: impl IntoIterator<Item = (&'a [u32], f64)>,
    colour: bool,
) -> String {
    let (rows, cols) = (maze.rows(), maze.cols());
    let mut out = String::new();
    let mut previous: Vec<u32> = maze.tokens().into_iter().map(u32::from).collect();
    for (k, (tokens, q)) in steps.into_iter().enumerate() {
        let changed: Vec<bool> = tokens.iter().zip(&previous).map(|(a, b)| a != b).collect();
        let n_changed = changed.iter().filter(|&&c| c).count();
        out.push_str(&format!(
            "step {}: q_halt {q:+.2} (halt confidence {:.2}), {n_changed} cells changed\n",
            k + 1,
            halt_confidence(q)
        ));
        let drawn = Panel::framed("answer", rows, cols, |i| {
            let c = Cell::char_of_token(tokens[i]);
            if changed[i] && colour {
                format!("\x1b[1;30;43m{c}\x1b[0m")
            } else {
                c.to_string()
            }
        });
        let marks = Panel::framed("changed", rows, cols, |i| {
            if changed[i] {
                Cell::char_of_token(tokens[i]).to_string()
            } else {
                ".".into()
            }
        });
        let panels = if colour { vec![drawn] } else { vec![drawn, marks] };
        out.push_str(&side_by_side(&panels));
        previous = tokens.to_vec();
    }
    out
}

/// What `trm data inspect` prints about the dataset read from `dir`: the identifiers, then
/// per split its counts, metadata, for Sudoku how many labels solve their inputs, and up to
/// `examples` examples decoded ([`Split::sample_examples`], drawn by [`example`]).
pub fn describe_dataset(dataset: &Dataset, dir: &Path, examples: usize, colour: bool) -> String {
    let ids = &dataset.identifiers;
    let names: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
    let more = ids.len() - names.len();
    let more = if more > 0 { format!(", ... {more} more") } else { String::new() };
    let mut out = format!(
        "dataset {}\nidentifiers: {} ({}{more})\n",
        dir.display(),
        ids.len(),
        names.join(", ")
    );
    for (name, split) in dataset.splits() {
        let m = &split.meta;
        out += &format!("\n[{name}] {}\n", split.counts_line());
        out += &format!(
            "  seq_len {}  vocab_size {}  pad_id {}  ignore_label_id {:?}  blank_identifier_id {}  num_puzzle_identifiers {}\n",
            m.seq_len, m.vocab_size, m.pad_id, m.ignore_label_id, m.blank_identifier_id, m.num_puzzle_identifiers
        );
        out += &format!(
            "  total_groups {}  total_puzzles {}  mean_puzzle_examples {}  sets {:?}\n",
            m.total_groups, m.total_puzzles, m.mean_puzzle_examples, m.sets
        );
        if let Some(size) = sudoku::side_of_dataset(m) {
            let solved = solved_labels(split);
            let total = split.num_examples();
            out +=
                &format!("  {size}x{size} Sudoku: {solved} of {total} labels solve their inputs\n");
        }
        for i in split.sample_examples(examples) {
            out += &describe_example(split, i, colour);
        }
    }
    out
}

/// Example `i` of `split` for [`describe_dataset`]: where it sits (group, puzzle, original or
/// augmented copy, identifier), then the example drawn, indented.
fn describe_example(split: &Split, i: usize, colour: bool) -> String {
    let (input, label) = split.example(i);
    let puzzle = split.puzzle_of_example(i);
    let group = split.group_of_puzzle(puzzle);
    let copy = puzzle - split.group_puzzles(group).start;
    let copy = if copy == 0 { "original".to_string() } else { format!("augmented copy {copy}") };
    let id = split.puzzle_identifiers[puzzle];
    let mut out =
        format!("\n  example {i}: group {group}, puzzle {puzzle} ({copy}), identifier {id}\n");
    for line in example(&split.meta, input, label, colour).lines() {
        out += &format!("    {line}\n");
    }
    out
}

/// One dataset example decoded for the terminal: mazes, Sudoku and ARC grids drawn as such
/// (ARC cells in colour with `colour`), other tokens as rows of numbers.
pub fn example(meta: &Metadata, input: &[u8], label: &[u8], colour: bool) -> String {
    if let Some(text) = maze_example(meta, input, label) {
        return text;
    }
    if sudoku::side_of_dataset(meta).is_some() {
        if let (Ok(p), Ok(s)) = (SudokuGrid::from_tokens(input), SudokuGrid::from_tokens(label)) {
            return sudoku_grids(&[("input", &p), ("label", &s)]);
        }
    }
    if let Some(text) = arc_example(meta, input, label, colour) {
        return text;
    }
    format!("input: {}\nlabel: {}", token_rows(input), token_rows(label))
}

/// Tokens as rows of a square grid when their count is a square, else one line.
fn token_rows(tokens: &[u8]) -> String {
    let side = (tokens.len() as f64).sqrt() as usize;
    let line = |t: &[u8]| t.iter().map(u8::to_string).collect::<Vec<_>>().join(" ");
    if side * side == tokens.len() && side > 1 {
        let rows: Vec<String> = tokens.chunks(side).map(line).collect();
        format!("\n  {}", rows.join("\n  "))
    } else {
        line(tokens)
    }
}

/// A dataset example decoded as a maze, when it is one: vocab 6, a square `seq_len`, and
/// input and label each with exactly one `S` and one `G` (a 4x4 Sudoku also has vocab 6
/// and 16 cells; its solution has four of every digit). Shows question and answer side by
/// side and whether the answer is one shortest path (BFS). `None` for other datasets.
pub fn maze_example(meta: &Metadata, input: &[u8], label: &[u8]) -> Option<String> {
    let side = (meta.seq_len as f64).sqrt().round() as usize;
    if meta.vocab_size as usize != MAZE_VOCAB_SIZE || side * side != meta.seq_len || side < 2 {
        return None;
    }
    let pair = decode_example(input, label, side, side).ok()?;
    pair.question.endpoints().ok()?;
    pair.answer.endpoints().ok()?;
    let check = match pair.question.check_answer(&pair.answer) {
        Ok(cells) => format!("label: one shortest path of {cells} cells (checked by BFS)"),
        Err(e) => format!("label: NOT one shortest path: {e:#}"),
    };
    let grids =
        side_by_side(&[Panel::maze("input", &pair.question), Panel::maze("label", &pair.answer)]);
    Some(format!("{side}x{side} maze\n{grids}{check}"))
}

/// A dataset example decoded as ARC grids (a square canvas, 12 tokens): input and label
/// located on the canvas (training examples are translated), cropped at their EOS border and
/// drawn side by side. `None` for other datasets or undecodable rows.
pub fn arc_example(meta: &Metadata, input: &[u8], label: &[u8], colour: bool) -> Option<String> {
    if meta.vocab_size != ARC_VOCAB_SIZE {
        return None;
    }
    let canvas = Canvas::from_seq_len(meta.seq_len).ok()?;
    let (in_at, in_grid) = canvas.locate_grid(input)?;
    let (out_at, out_grid) = canvas.locate_grid(label)?;
    let place = |(r, c): (usize, usize)| {
        if (r, c) == (0, 0) {
            String::new()
        } else {
            format!(" at ({r},{c})")
        }
    };
    let panels = [
        (format!("input {}x{}{}", in_grid.rows(), in_grid.cols(), place(in_at)), &in_grid),
        (format!("label {}x{}{}", out_grid.rows(), out_grid.cols(), place(out_at)), &out_grid),
    ];
    Some(arc_grids(&panels, colour))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trm_data::maze::MazePair;

    fn meta(vocab_size: u32, seq_len: usize) -> Metadata {
        Metadata {
            pad_id: 0,
            ignore_label_id: Some(0),
            blank_identifier_id: 0,
            vocab_size,
            seq_len,
            num_puzzle_identifiers: 1,
            total_groups: 1,
            mean_puzzle_examples: 1.0,
            total_puzzles: 1,
            sets: vec!["all".into()],
        }
    }

    #[test]
    fn panels_align_with_colour_escapes() {
        let plain = Panel::framed("a", 1, 2, |_| "#".into());
        let coloured = Panel::framed("b", 1, 2, |_| "\x1b[1m#\x1b[0m".into());
        let text = side_by_side(&[coloured, plain]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "b       a");
        assert_eq!(lines[2], "|\x1b[1m#\x1b[0m\x1b[1m#\x1b[0m|    |##|");
    }

    #[test]
    fn maze_examples_decode_and_sudoku_ones_do_not() {
        let pair = MazePair::solve(Maze::parse_lines("S  #\n## #\n#   \nG   \n").unwrap()).unwrap();
        let text =
            maze_example(&meta(6, 16), &pair.question.tokens(), &pair.answer.tokens()).unwrap();
        assert!(text.contains("4x4 maze") && text.contains("|S  #|    |Soo#|"), "{text}");
        assert!(text.contains("one shortest path of"), "{text}");
        // A 4x4 Sudoku (tokens 1 blank, 2..=5 digits) is not read as a maze.
        let sudoku_input = [2, 1, 1, 1, 1, 1, 4, 1, 1, 3, 1, 1, 1, 1, 1, 5];
        let sudoku_label = [2, 3, 4, 5, 4, 5, 2, 3, 3, 2, 5, 4, 5, 4, 3, 2];
        assert_eq!(maze_example(&meta(6, 16), &sudoku_input, &sudoku_label), None);
        assert_eq!(
            maze_example(&meta(11, 16), &pair.question.tokens(), &pair.answer.tokens()),
            None
        );
    }

    #[test]
    fn translated_arc_grids_are_drawn() {
        let official = Canvas::OFFICIAL;
        let g = ArcGrid::from_rows(&[vec![1, 2, 3], vec![0, 5, 6]]).unwrap();
        let tokens = official.encode(&g, 4, 7);
        let m = Metadata { num_puzzle_identifiers: 2, ..meta(ARC_VOCAB_SIZE, 900) };
        let text = arc_example(&m, &tokens, &official.encode(&g, 0, 0), false).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "input 2x3 at (4,7)   label 2x3");
        assert_eq!(lines[1], "1 2 3                1 2 3");
        assert_eq!(lines[2], "0 5 6                0 5 6");
        let coloured = arc_grids(&[("x".into(), &g)], true);
        assert!(
            coloured.contains("\x1b[48;2;0;116;217m"),
            "colour 1 on the ARC blue: {coloured:?}"
        );
        assert!(arc_example(&Metadata { vocab_size: 6, ..m }, &tokens, &tokens, false).is_none());
    }

    #[test]
    fn a_dataset_is_described_with_its_examples() {
        use trm_data::dataset::{SplitBuilder, TokenSpec};
        let puzzle = SudokuGrid::parse("1.3...1..1..4.2.").unwrap().to_tokens();
        let solution = SudokuGrid::parse("1234341221434321").unwrap().to_tokens();
        let mut builder = SplitBuilder::new(16);
        builder.push_group(0, [(puzzle.as_slice(), solution.as_slice())]).unwrap();
        let spec = TokenSpec {
            pad_id: 0,
            ignore_label_id: Some(0),
            blank_identifier_id: 0,
            vocab_size: 6,
            num_puzzle_identifiers: 1,
        };
        let identifiers = ["<blank>", "a", "b", "c", "d", "e", "f"].map(String::from).to_vec();
        let dataset =
            Dataset { train: Some(builder.finish(spec).unwrap()), test: None, identifiers };
        let text = describe_dataset(&dataset, Path::new("ds"), 1, false);
        let expected = "dataset ds
identifiers: 7 (<blank>, a, b, c, d, ... 2 more)

[train] 1 groups, 1 puzzles, 1 examples
  seq_len 16  vocab_size 6  pad_id 0  ignore_label_id Some(0)  blank_identifier_id 0  num_puzzle_identifiers 1
  total_groups 1  total_puzzles 1  mean_puzzle_examples 1  sets [\"all\"]
  4x4 Sudoku: 1 of 1 labels solve their inputs

  example 0: group 0, puzzle 0 (original), identifier 0
    input        label
    1 . | 3 .    1 2 | 3 4
";
        assert!(text.starts_with(expected), "{text}");
        assert!(!describe_dataset(&dataset, Path::new("ds"), 0, false).contains("example 0:"));
    }
}
