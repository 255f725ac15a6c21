//! `trm solve maze`: a trained model draws the path through mazes read from a file; each
//! answer is checked with breadth-first search (valid: its `o` cells connect S to G through
//! open cells; shortest: as long as the BFS path).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use trm_data::maze::file::{parse_maze_file, read_maze_file, NamedMaze as Named};
use trm_data::maze::Maze;
use trm_train::run_dir::RunDir;
use trm_train::solve::maze::{report, summary, MazeAnswer, MazeTask};
use trm_train::solve::{picture_path, solve, Solved};
use trm_viz::terminal::{self, side_by_side, Panel};
use trm_viz::{Grid, Kind, Mark, Marks, StripOptions};

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

pub fn solve_maze(args: MazeArgs) -> Result<()> {
    super::check_flags(args.batch_size, args.max_steps)?;
    if let Some(out) = &args.picture {
        trm_viz::Format::from_path(out)?;
    }
    let mazes = read_mazes(&args.file)?;
    let device = crate::commands::device(&args.device)?;
    let run = RunDir::open(&args.model)?;
    let model = run.load_model(&device)?;
    for m in &mazes {
        run.check_maze_fits(model.config(), (m.maze.rows(), m.maze.cols()), &m.name)?;
    }
    let opts = super::options(&model, args.max_steps, args.halt, args.batch_size, args.steps);
    let questions: Vec<Maze> = mazes.iter().map(|m| m.maze.clone()).collect();
    let solved = solve(&model, &MazeTask, &questions, &opts)?;
    let colour = std::io::stdout().is_terminal();
    for (k, (m, s)) in mazes.iter().zip(&solved).enumerate() {
        println!("== {} ==", m.name);
        if args.steps {
            print!("{}", side_by_side(&[Panel::maze("maze", &m.maze)]));
            print!("{}", terminal::maze_steps(&m.maze, s.rows[0].per_step_tokens(), colour));
        } else {
            let (rows, cols) = (m.maze.rows(), m.maze.cols());
            let drawn = Panel::maze_tokens("model answer", rows, cols, &s.answer.tokens);
            print!("{}", side_by_side(&[Panel::maze("maze", &m.maze), drawn]));
        }
        print!("{}", report(s));
        if let Some(out) = &args.picture {
            let path = picture_path(out, k, mazes.len());
            let title = format!("maze {} of {}: {}", k + 1, mazes.len(), s.answer.path.summary());
            picture(m, s, &title)?.save(&path)?;
            println!("picture     {}", path.display());
        }
        println!();
    }
    if mazes.len() > 1 {
        println!("{}", summary(&solved));
    }
    Ok(())
}

/// The picture of one answer: the answer with extra and changed cells crossed, or with
/// `--steps` the maze and every step side by side, changed cells framed.
fn picture(m: &Named, s: &Solved<MazeAnswer>, title: &str) -> Result<trm_viz::Scene> {
    let (rows, cols) = (m.maze.rows(), m.maze.cols());
    let grid =
        |tokens: &[u32]| Grid::new(rows, cols, tokens.iter().map(|&t| t.min(255) as u8).collect());
    let per_step = &s.rows[0].per_step;
    if per_step.is_empty() {
        let mut marks = Marks::none(rows, cols);
        for (i, &w) in s.verdict.wrong.iter().enumerate() {
            marks.set(i / cols, i % cols, Mark { changed: false, wrong: w });
        }
        return trm_viz::maze::picture(&grid(&s.answer.tokens)?, Some(&marks));
    }
    let steps = per_step.iter().map(|step| grid(&step.tokens)).collect::<Result<Vec<_>>>()?;
    let opts = StripOptions {
        input: Some(Grid::from(&m.maze)),
        title: Some(title.to_string()),
        ..StripOptions::default()
    };
    trm_viz::step_strip(Kind::Maze, &steps, &opts)
}

/// The mazes of FILE (`-`: standard input).
fn read_mazes(arg: &str) -> Result<Vec<Named>> {
    if arg != "-" {
        return read_maze_file(Path::new(arg));
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("reading mazes from standard input")?;
    parse_maze_file(&text, "stdin")
}
