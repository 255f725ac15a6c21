//! `trm solve maze`: a trained model draws the path through mazes read from a file; each
//! answer is checked with breadth-first search (valid: its `o` cells connect S to G through
//! open cells; shortest: as long as the BFS path).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use trm_data::maze::{csv, Cell, Maze, MazeSolver, VOCAB_SIZE};
use trm_model::{Batch, Model, IGNORE_LABEL_ID};
use trm_train::eval::{argmax_tokens, predict_batch};
use trm_viz::{Grid, Kind, Mark, Marks, StripOptions};

use super::data_maze::{side_by_side, Panel};

/// Shown after the options of the command's `--help`.
const HELP: &str = "\
FILE holds one or more mazes in the official characters `# SGo` (wall, open, start, goal,
path): each maze is a block of lines, one line per row, blocks separated by empty lines (a
row of open cells is a line of spaces, not an empty line); a block of one line whose length
is a square number is the flat form of the dataset CSV (81 characters: 9x9). An official
CSV file (`source,question,answer,rating`) is read too. Path cells `o` in a maze are read as
open cells. Every maze needs one S and one G and the size the model was trained on.

Example: trm solve maze --model runs/maze mazes.txt --steps --picture maze.png";

#[derive(clap::Args)]
#[command(after_help = HELP)]
pub struct MazeArgs {
    /// A run folder written by `trm train` on mazes (its config.toml and model.safetensors).
    #[arg(long, value_name = "RUN")]
    model: PathBuf,
    /// File of mazes (see below), or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: String,
    /// Print the answer after every supervision step, marking the cells that changed.
    #[arg(long)]
    steps: bool,
    /// Supervision steps (default: the training value; more is test-time recursion).
    #[arg(long)]
    max_steps: Option<usize>,
    /// Stop at the first step whose q_halt logit is positive.
    #[arg(long)]
    halt: bool,
    /// Draw the answer as a picture (.png or .svg; with --steps, every step side by side).
    /// Several mazes are written as OUT-1.png, OUT-2.png, ...
    #[arg(long, value_name = "OUT.png")]
    picture: Option<PathBuf>,
    /// Mazes the model answers at once.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    #[arg(long, default_value = "cpu")]
    device: String,
}

impl MazeArgs {
    /// `trm solve maze --model RUN FILE --steps --picture PICTURE`, as `trm demo` runs it.
    pub fn for_demo(model: PathBuf, file: PathBuf, picture: PathBuf) -> MazeArgs {
        MazeArgs {
            model,
            file: file.display().to_string(),
            steps: true,
            max_steps: None,
            halt: false,
            picture: Some(picture),
            batch_size: 1,
            device: "cpu".into(),
        }
    }
}

/// A maze with the name reports and errors give it.
#[derive(Debug)]
struct Named {
    name: String,
    maze: Maze,
}

/// The model's answer to one maze.
struct Answer {
    tokens: Vec<u32>,
    /// sigmoid(q_halt) at the step the answer was taken.
    confidence: f64,
    steps: usize,
    /// The answer after each step (only with --steps).
    per_step: Vec<Vec<u32>>,
}

pub fn solve_maze(args: MazeArgs) -> Result<()> {
    ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    ensure!(args.max_steps != Some(0), "--max-steps must be at least 1");
    if let Some(out) = &args.picture {
        trm_viz::Format::from_path(out)?;
    }
    let mazes = read_mazes(&args.file)?;
    let device = super::device(&args.device)?;
    let model = super::solve::load_run_model(&args.model, &device)?;
    for m in &mazes {
        check_model_fits(&model, &args.model, m)?;
    }
    let steps = args.max_steps.unwrap_or(model.config().halt_max_steps);
    let colour = std::io::stdout().is_terminal();

    let mut answers = Vec::with_capacity(mazes.len());
    if args.steps {
        for m in &mazes {
            println!("== {} ==", m.name);
            print!("{}", side_by_side(&[Panel::maze("maze", &m.maze)]));
            answers.push(answer_with_steps(&model, &m.maze, steps, args.halt, colour)?);
        }
    } else {
        for chunk in mazes.chunks(args.batch_size) {
            let batch = maze_batch(chunk.iter().map(|m| &m.maze))?;
            let (preds, _) = predict_batch(&model, &batch, Some(steps), args.halt)?;
            answers.extend(preds.into_iter().map(|p| Answer {
                tokens: p.tokens,
                confidence: p.confidence,
                steps: p.steps,
                per_step: Vec::new(),
            }));
        }
    }

    let mut counts = [0usize; 3];
    for (k, (m, answer)) in mazes.iter().zip(&answers).enumerate() {
        let check = check_path(&m.maze, &answer.tokens);
        if !args.steps {
            println!("== {} ==", m.name);
            let (rows, cols) = (m.maze.rows(), m.maze.cols());
            let drawn = Panel::framed("model answer", rows, cols, |i| {
                cell_char(answer.tokens[i]).to_string()
            });
            print!("{}", side_by_side(&[Panel::maze("maze", &m.maze), drawn]));
        }
        println!(
            "answer      \"{}\"",
            answer.tokens.iter().map(|&t| cell_char(t)).collect::<String>()
        );
        println!("path        {}", check.verdict());
        println!("steps       {} (q_halt confidence {:.3})", answer.steps, answer.confidence);
        if let Some(out) = &args.picture {
            let path = if mazes.len() == 1 { out.clone() } else { numbered(out, k + 1) };
            let scene = picture(
                m,
                answer,
                &check,
                &format!("maze {} of {}: {}", k + 1, mazes.len(), check.summary()),
            )?;
            scene.save(&path)?;
            println!("picture     {}", path.display());
        }
        println!();
        counts[0] += check.drawn.is_some() as usize;
        counts[1] += check.is_shortest() as usize;
        counts[2] += check.is_exact() as usize;
    }
    if mazes.len() > 1 {
        println!(
            "{} mazes: {} valid paths, {} of them shortest, {} exact (a shortest path and nothing else changed)",
            mazes.len(),
            counts[0],
            counts[1],
            counts[2]
        );
    }
    Ok(())
}

/// Runs the supervision steps on one maze, printing the answer after each with the cells
/// changed since the previous step (step 1: since the maze) marked; stops as `trm eval`
/// does (last step, or the first q_halt > 0 with `halt`).
fn answer_with_steps(
    model: &Model,
    maze: &Maze,
    steps: usize,
    halt: bool,
    colour: bool,
) -> Result<Answer> {
    let batch = maze_batch([maze])?;
    let (rows, cols) = (maze.rows(), maze.cols());
    let mut carry = model.initial_carry(1)?;
    let mut previous: Vec<u32> = maze.tokens().into_iter().map(u32::from).collect();
    let mut per_step = Vec::with_capacity(steps);
    for step in 1..=steps {
        let out = model.eval_step(&mut carry, &batch)?;
        // Go on past the training horizon, as trm_train::eval::predict_batch does.
        carry.halted.fill(false);
        let tokens = argmax_tokens(&out.logits)?;
        let q = out.q_halt_logits.to_vec1::<f32>()?[0] as f64;
        let confidence = 1.0 / (1.0 + (-q).exp());
        let changed: Vec<bool> = tokens.iter().zip(&previous).map(|(a, b)| a != b).collect();
        let n_changed = changed.iter().filter(|&&c| c).count();
        println!("step {step}: q_halt {q:+.2} (halt confidence {confidence:.2}), {n_changed} cells changed");
        let answer = Panel::framed("answer", rows, cols, |i| {
            let c = cell_char(tokens[i]);
            if changed[i] && colour {
                format!("\x1b[1;30;43m{c}\x1b[0m")
            } else {
                c.to_string()
            }
        });
        let marks = Panel::framed("changed", rows, cols, |i| {
            if changed[i] {
                cell_char(tokens[i]).to_string()
            } else {
                ".".into()
            }
        });
        let panels = if colour { vec![answer] } else { vec![answer, marks] };
        print!("{}", side_by_side(&panels));
        per_step.push(tokens.clone());
        if step == steps || (halt && q > 0.0) {
            return Ok(Answer { tokens, confidence, steps: step, per_step });
        }
        previous = tokens;
    }
    unreachable!("steps >= 1 is checked by the caller")
}

/// The verdict on one answer, from breadth-first searches.
#[derive(Debug, PartialEq)]
struct PathCheck {
    /// Cells (start and goal included) of the shortest S-G path through the answer's `o`
    /// cells on open cells of the maze; `None` when they do not connect S to G.
    drawn: Option<usize>,
    /// Cells of the maze's shortest path; `None` when there is no path at all.
    shortest: Option<usize>,
    /// `o` cells off that path.
    extra: usize,
    /// Cells changed other than an open cell becoming `o`: walls, S or G overwritten, open
    /// cells given another symbol, tokens that are no maze cell (padding).
    changed: usize,
    /// Per cell: extra `o` cells and changed cells (crossed in the picture).
    wrong: Vec<bool>,
}

impl PathCheck {
    fn is_shortest(&self) -> bool {
        self.drawn.is_some() && self.drawn == self.shortest
    }

    /// One shortest path and nothing else: what exact accuracy counts (up to ties).
    fn is_exact(&self) -> bool {
        self.is_shortest() && self.extra == 0 && self.changed == 0
    }

    /// The verdict in a few words (picture titles).
    fn summary(&self) -> &'static str {
        match self.drawn {
            _ if self.is_exact() => "exact shortest path",
            Some(_) if self.is_shortest() => "valid shortest path",
            Some(_) => "valid path, not shortest",
            None => "no valid path",
        }
    }

    fn verdict(&self) -> String {
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

/// Checks the model's answer `tokens` to `maze` (which has one S and one G).
fn check_path(maze: &Maze, tokens: &[u32]) -> PathCheck {
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

/// The character of an answer token; `?` for tokens that are no maze cell (padding).
fn cell_char(token: u32) -> char {
    u8::try_from(token).ok().and_then(Cell::from_token).map_or('?', Cell::to_char)
}

/// A batch of same-size mazes in the official tokens, puzzle identifier 0, no labels.
fn maze_batch<'a>(mazes: impl IntoIterator<Item = &'a Maze>) -> Result<Batch> {
    let mut inputs = Vec::new();
    let (mut count, mut seq) = (0, 0);
    for m in mazes {
        seq = m.rows() * m.cols();
        inputs.extend(m.tokens().into_iter().map(i32::from));
        count += 1;
    }
    ensure!(count > 0, "no mazes");
    let labels = vec![IGNORE_LABEL_ID; inputs.len()];
    Batch::new(inputs, labels, vec![0; count], seq)
}

/// The picture of one answer: the answer with extra and changed cells crossed, or with
/// `--steps` the maze and every step side by side, changed cells framed.
fn picture(m: &Named, answer: &Answer, check: &PathCheck, title: &str) -> Result<trm_viz::Scene> {
    let (rows, cols) = (m.maze.rows(), m.maze.cols());
    let grid =
        |tokens: &[u32]| Grid::new(rows, cols, tokens.iter().map(|&t| t.min(255) as u8).collect());
    if answer.per_step.is_empty() {
        let mut marks = Marks::none(rows, cols);
        for (i, &w) in check.wrong.iter().enumerate() {
            marks.set(i / cols, i % cols, Mark { changed: false, wrong: w });
        }
        return trm_viz::maze::picture(&grid(&answer.tokens)?, Some(&marks));
    }
    let steps = answer.per_step.iter().map(|t| grid(t)).collect::<Result<Vec<_>>>()?;
    let opts = StripOptions {
        input: Some(Grid::from(&m.maze)),
        title: Some(title.to_string()),
        ..StripOptions::default()
    };
    trm_viz::step_strip(Kind::Maze, &steps, &opts)
}

/// `out` with `-k` before its extension: `maze.png` -> `maze-2.png`.
pub(crate) fn numbered(out: &Path, k: usize) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = out.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    out.with_file_name(format!("{stem}-{k}{ext}"))
}

/// Refuses mazes of another size than the model's, and models whose puzzle embedding has
/// one row per training puzzle (no row to use for a new maze).
fn check_model_fits(model: &Model, run: &Path, m: &Named) -> Result<()> {
    let c = model.config();
    let (rows, cols) = (m.maze.rows(), m.maze.cols());
    let side = (c.seq_len as f64).sqrt().round() as usize;
    if c.vocab_size != VOCAB_SIZE || rows != cols || rows * cols != c.seq_len {
        let what = if c.vocab_size == VOCAB_SIZE && side * side == c.seq_len {
            format!("a {side}x{side} maze model")
        } else {
            "not a maze model".to_string()
        };
        bail!(
            "{}: a {rows}x{cols} maze needs a model trained on {rows}x{cols} mazes (seq_len {}, vocab_size {VOCAB_SIZE}; maze models are square), but {} has seq_len {} and vocab_size {} ({what})",
            m.name,
            rows * cols,
            run.display(),
            c.seq_len,
            c.vocab_size
        );
    }
    if c.puzzle_emb_ndim > 0 && c.num_puzzle_identifiers != 1 {
        bail!(
            "{}: the model has {} puzzle identifiers (one per training puzzle, as for ARC); a maze model has one, used for every maze",
            run.display(),
            c.num_puzzle_identifiers
        );
    }
    Ok(())
}

/// The mazes of FILE (`-`: standard input).
fn read_mazes(arg: &str) -> Result<Vec<Named>> {
    let (text, source) = if arg == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading mazes from standard input")?;
        (text, "stdin".to_string())
    } else {
        (
            std::fs::read_to_string(arg)
                .with_context(|| format!("{arg}: cannot read the maze file"))?,
            arg.to_string(),
        )
    };
    parse_mazes(&text, &source)
}

/// Mazes from text: an official CSV file, or blocks of rows separated by empty lines (see
/// the command's help). Errors name `source` and the line.
fn parse_mazes(text: &str, source: &str) -> Result<Vec<Named>> {
    let first = text.lines().find(|l| !l.trim().is_empty());
    if first.is_some_and(|l| l.contains(',') && l.contains("question")) {
        let pairs =
            csv::parse_csv(text).with_context(|| format!("{source}: not a valid maze CSV"))?;
        ensure!(!pairs.is_empty(), "{source}: the CSV file holds no mazes");
        let n = pairs.len();
        return Ok(pairs
            .into_iter()
            .enumerate()
            .map(|(k, p)| Named {
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
            Ok(Named { name: format!("maze {} of {n} ({source} line {first_line})", k + 1), maze })
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
    fn reads_blocks_flat_lines_and_names_bad_lines() {
        let text = "S  \n # \n  G\n\n#S  #  G#\n\r\n   \nSo#\n Go\n";
        let mazes = parse_mazes(text, "f.txt").unwrap();
        assert_eq!(mazes.len(), 3);
        assert_eq!((mazes[0].maze.rows(), mazes[1].maze.rows(), mazes[1].maze.cols()), (3, 3, 3));
        assert!(mazes[2].name.contains("f.txt line 7"), "{}", mazes[2].name);
        assert_eq!(mazes[2].maze.to_string(), "   \nS #\n G \n", "'o' cells are read as open");

        let err = |text: &str| format!("{:#}", parse_mazes(text, "f.txt").unwrap_err());
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
        let mazes = parse_mazes(csv, "m.csv").unwrap();
        assert_eq!((mazes.len(), mazes[0].maze.to_string().as_str()), (1, "S \n#G\n"));
    }

    #[test]
    fn numbered_pictures() {
        assert_eq!(numbered(Path::new("out/m.png"), 2), PathBuf::from("out/m-2.png"));
    }
}
