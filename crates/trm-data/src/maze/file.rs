//! Files of mazes as people write them: blocks of rows in the characters `# SGo`, the flat
//! form of the dataset CSV, or an official CSV file.

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};

use super::{Cell, Maze};

/// A maze with the name reports and errors give it (file and line or record).
#[derive(Debug)]
pub struct NamedMaze {
    /// E.g. `maze 2 of 3 (mazes.txt line 5)`.
    pub name: String,
    /// The maze, with one S and one G.
    pub maze: Maze,
}

/// The mazes of the file at `path` (see [`parse_maze_file`]).
pub fn read_maze_file(path: &Path) -> Result<Vec<NamedMaze>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the maze file", path.display()))?;
    parse_maze_file(&text, &path.display().to_string())
}

/// Mazes from text: an official CSV file, or blocks of rows separated by empty lines, one
/// line per row, or one line per maze in the flat form of a square maze. Path cells `o` are
/// read as open cells. Errors name `source` and the line.
pub fn parse_maze_file(text: &str, source: &str) -> Result<Vec<NamedMaze>> {
    let first = text.lines().find(|l| !l.trim().is_empty());
    if first.is_some_and(|l| l.contains(',') && l.contains("question")) {
        let pairs = super::csv::parse_csv(text)
            .with_context(|| format!("{source}: not a valid maze CSV"))?;
        ensure!(!pairs.is_empty(), "{source}: the CSV file holds no mazes");
        let n = pairs.len();
        return Ok(pairs
            .into_iter()
            .enumerate()
            .map(|(k, p)| NamedMaze {
                name: format!("maze {} of {n} ({source} record {})", k + 1, k + 1),
                maze: p.question,
            })
            .collect());
    }
    let mut blocks: Vec<(usize, Vec<&str>)> = Vec::new();
    let mut open = false;
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            open = false;
        } else if open {
            blocks.last_mut().expect("a block is open").1.push(line);
        } else {
            blocks.push((i + 1, vec![line]));
            open = true;
        }
    }
    ensure!(!blocks.is_empty(), "{source}: no mazes (the file is empty)");
    let n = blocks.len();
    blocks
        .iter()
        .enumerate()
        .map(|(k, (first_line, lines))| {
            let maze = parse_block(lines, *first_line)
                .with_context(|| format!("{source}: maze {} of {n}", k + 1))?;
            Ok(NamedMaze {
                name: format!("maze {} of {n} ({source} line {first_line})", k + 1),
                maze,
            })
        })
        .collect()
}

/// One maze from its lines (`first_line`: the file line of the first), rows or the flat form.
fn parse_block(lines: &[&str], first_line: usize) -> Result<Maze> {
    let len = lines[0].chars().count();
    let side = (len as f64).sqrt().round() as usize;
    let (rows, cols) = if lines.len() == 1 && side >= 2 && side * side == len {
        (side, side)
    } else {
        (lines.len(), len)
    };
    let mut cells = Vec::with_capacity(rows * cols);
    for (r, line) in lines.iter().enumerate() {
        let no = first_line + r;
        let count = line.chars().count();
        ensure!(
            count == len,
            "line {no}: row {} has {count} characters but the maze's first row (line {first_line}) has {len}; every row needs the same length (open cells are spaces)",
            r + 1
        );
        for (c, ch) in line.chars().enumerate() {
            let Some(cell) = Cell::from_char(ch) else {
                bail!("line {no}, column {}: character {ch:?} is not one of \"# SGo\" (wall, open, start, goal, path)", c + 1);
            };
            cells.push(if cell == Cell::Path { Cell::Open } else { cell });
        }
    }
    let maze = Maze::new(rows, cols, cells)?;
    maze.endpoints().with_context(|| format!("line {first_line}"))?;
    Ok(maze)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_flat_lines_and_names_bad_lines() {
        let text = "S  \n # \n  G\n\n#S  #  G#\n\r\n   \nSo#\n Go\n";
        let mazes = parse_maze_file(text, "f.txt").unwrap();
        assert_eq!(mazes.len(), 3);
        assert_eq!((mazes[0].maze.rows(), mazes[1].maze.rows(), mazes[1].maze.cols()), (3, 3, 3));
        assert!(mazes[2].name.contains("f.txt line 7"), "{}", mazes[2].name);
        assert_eq!(mazes[2].maze.to_string(), "   \nS #\n G \n", "'o' cells are read as open");

        let err = |text: &str| format!("{:#}", parse_maze_file(text, "f.txt").unwrap_err());
        let e = err("S  \n # \n  G\n\nS  \n #\n  G\n");
        assert!(
            e.contains("f.txt: maze 2 of 2") && e.contains("line 6: row 2 has 2 characters"),
            "{e}"
        );
        let e = err("S  \n x \n  G\n");
        assert!(e.contains("line 2, column 2: character 'x'"), "{e}");
        let e = err("S  \n # \n  S\n");
        assert!(e.contains("line 1") && e.contains("found 2 'S' and 0 'G'"), "{e}");
        assert!(err("\n\n").contains("no mazes"));
        let csv = "source,question,answer,rating\nx,S #G,So#G,3\n";
        let mazes = parse_maze_file(csv, "m.csv").unwrap();
        assert_eq!((mazes.len(), mazes[0].maze.to_string().as_str()), (1, "S \n#G\n"));
    }
}
