//! `trm render ...`: pictures of a Sudoku, a maze or an ARC task, PNG or SVG by the extension
//! of `--out`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use trm_data::maze::Maze;
use trm_data::sudoku::read_grid_arg;
use trm_data::text::read_file_or_stdin;
use trm_viz::{arc, maze, sudoku, Grid, Scene};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RenderCommand,
}

#[derive(Subcommand)]
enum RenderCommand {
    /// A Sudoku: givens dark, filled-in digits blue. With --solution, the solution is drawn
    /// over the puzzle and cells that break a rule or change a given are shaded red.
    Sudoku {
        /// 81 or 16 characters (digits, `.` or `0` for blanks), a file holding them (one line
        /// or rows), or `-` for standard input.
        puzzle: String,
        /// A solution or model answer, written the same way.
        #[arg(long)]
        solution: Option<String>,
        /// Output picture, `.png` or `.svg`.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// A maze with its path: walls dark, open cells white, start green, goal red, path blue.
    Maze {
        /// Maze text with `# SGo` (wall, open, start, goal, path): one line of a square number
        /// of characters (900 = 30x30) or one line per row; `-` for standard input.
        file: String,
        /// Draw the shortest path (breadth-first search) over a maze given without one.
        #[arg(long)]
        solve: bool,
        /// Output picture, `.png` or `.svg`.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// An ARC task: every pair (input -> output) in the standard palette, and with --attempts
    /// the attempts beside the truth of each test input, marked correct or wrong.
    Arc {
        /// Task JSON (`{"train": [...], "test": [...]}`), or a Kaggle challenges file (its
        /// `_solutions` sibling is read when present) with --task-id.
        task: PathBuf,
        /// Attempts JSON: ARC Prize submission (`[{"attempt_1": grid, "attempt_2": grid}]`,
        /// or `{"<task id>": [...]}`), or a list of attempt lists per test input.
        #[arg(long)]
        attempts: Option<PathBuf>,
        /// Task id inside a challenges file (not needed for a single-task file).
        #[arg(long)]
        task_id: Option<String>,
        /// Output picture, `.png` or `.svg`.
        #[arg(long, short)]
        out: PathBuf,
    },
}

fn save(scene: &Scene, out: &Path, what: &str) -> Result<()> {
    scene.save(out)?;
    println!("wrote {} ({}x{} {what})", out.display(), scene.width, scene.height);
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        RenderCommand::Sudoku { puzzle, solution, out } => {
            trm_viz::Format::from_path(&out)?;
            let puzzle = Grid::from(&read_grid_arg(&puzzle, "puzzle")?);
            let solution = solution.map(|s| read_grid_arg(&s, "solution")).transpose()?;
            let solution = solution.as_ref().map(Grid::from);
            let (scene, verdict) = sudoku::checked_picture(&puzzle, solution.as_ref())?;
            if let Some(verdict) = verdict {
                println!("{verdict}");
            }
            save(&scene, &out, "Sudoku")
        }
        RenderCommand::Maze { file, solve, out } => {
            trm_viz::Format::from_path(&out)?;
            let (text, name) = read_file_or_stdin(&file)?;
            let mut maze =
                Maze::parse_text(&text).with_context(|| format!("{name}: not a maze"))?;
            if solve {
                maze = maze
                    .solve()
                    .with_context(|| format!("{name}: cannot draw the shortest path"))?;
            }
            let grid = Grid::from(&maze);
            save(
                &maze::picture(&grid, None)?,
                &out,
                &format!("maze of {}x{} cells", grid.rows(), grid.cols()),
            )
        }
        RenderCommand::Arc { task, attempts, task_id, out } => {
            trm_viz::Format::from_path(&out)?;
            let found = trm_data::arc::read::read_task(&task, task_id.as_deref())?;
            let parsed = arc::Task::from(&found);
            let tries = match &attempts {
                Some(path) => arc::read_attempts(path, &parsed, Some(&found.id))?,
                None => Vec::new(),
            };
            let scene = arc::task_picture(&parsed, &tries, Some(&found.id))?;
            let (train, test) = (parsed.train.len(), parsed.test.len());
            save(&scene, &out, &format!("ARC task, {train} train + {test} test pairs"))
        }
    }
}
