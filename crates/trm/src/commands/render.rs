//! `trm render ...`: pictures of a Sudoku, a maze or an ARC task, PNG or SVG by the extension
//! of `--out`.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use trm_viz::{arc, maze, sudoku, Scene};

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
        /// Output picture, `.png` or `.svg`.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// An ARC task: every pair (input -> output) in the standard palette, and with --attempts
    /// the attempts beside the truth of each test input, marked correct or wrong.
    Arc {
        /// Task JSON (`{"train": [...], "test": [...]}`), or a challenges file holding many
        /// tasks with --task-id.
        task: PathBuf,
        /// Attempts JSON: ARC Prize submission (`[{"attempt_1": grid, "attempt_2": grid}]`,
        /// or `{"<task id>": [...]}`), or a list of attempt lists per test input.
        #[arg(long)]
        attempts: Option<PathBuf>,
        /// Task id inside a multi-task file (default: the task file's name without `.json`).
        #[arg(long)]
        task_id: Option<String>,
        /// Output picture, `.png` or `.svg`.
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// The text of `arg`: standard input for `-`, the file's content when `arg` names a file, else
/// `arg` itself. Returns the text and a name for error messages.
fn text_or_file(arg: &str) -> Result<(String, String)> {
    if arg == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("cannot read standard input")?;
        return Ok((s, "<stdin>".into()));
    }
    let path = Path::new(arg);
    if path.is_file() {
        let s = std::fs::read_to_string(path).with_context(|| format!("{arg}: cannot read"))?;
        return Ok((s, arg.to_string()));
    }
    Ok((arg.to_string(), format!("\"{arg}\"")))
}

fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
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
            let (text, name) = text_or_file(&puzzle)?;
            let puzzle = sudoku::parse(&text).with_context(|| format!("puzzle {name}"))?;
            let (answer, marks) = match solution {
                Some(s) => {
                    let (text, name) = text_or_file(&s)?;
                    let answer = sudoku::parse(&text).with_context(|| format!("solution {name}"))?;
                    let marks = sudoku::mistakes(&puzzle, &answer).with_context(|| format!("solution {name}"))?;
                    match marks.count_wrong() {
                        0 => println!("the solution is valid and keeps every given"),
                        n => println!("{n} cells of the solution break a rule or a given (shaded red)"),
                    }
                    (Some(answer), Some(marks))
                }
                None => (None, None),
            };
            let scene = sudoku::picture(&puzzle, answer.as_ref(), marks.as_ref())?;
            save(&scene, &out, "Sudoku")
        }
        RenderCommand::Maze { file, out } => {
            trm_viz::Format::from_path(&out)?;
            let (text, name) = if file == "-" {
                text_or_file("-")?
            } else {
                (read_file(Path::new(&file))?, file.clone())
            };
            let grid = maze::parse(&text).with_context(|| format!("{name}: not a maze"))?;
            save(&maze::picture(&grid, None)?, &out, &format!("maze of {}x{} cells", grid.rows(), grid.cols()))
        }
        RenderCommand::Arc { task, attempts, task_id, out } => {
            trm_viz::Format::from_path(&out)?;
            let stem = task.file_stem().map(|s| s.to_string_lossy().into_owned());
            let id = task_id.or(stem);
            let json: serde_json::Value = serde_json::from_str(&read_file(&task)?)
                .with_context(|| format!("{}: not valid JSON", task.display()))?;
            let json = match (&json, json.get("train")) {
                (serde_json::Value::Object(map), None) => {
                    let id = id.as_deref().unwrap_or_default();
                    map.get(id).with_context(|| {
                        format!(
                            "{}: no \"train\" key and no task \"{id}\" among its {} entries; pass --task-id for a multi-task file",
                            task.display(),
                            map.len()
                        )
                    })?
                }
                _ => &json,
            };
            let parsed = arc::task_from_json(json).with_context(|| format!("{}: not an ARC task", task.display()))?;
            let tries = match &attempts {
                Some(path) => arc::parse_attempts(&read_file(path)?, id.as_deref())
                    .with_context(|| format!("{}: bad attempts", path.display()))?,
                None => Vec::new(),
            };
            if tries.len() > parsed.test.len() {
                anyhow::bail!(
                    "{}: attempts for {} test inputs, but the task has {}",
                    attempts.unwrap().display(),
                    tries.len(),
                    parsed.test.len()
                );
            }
            let scene = arc::task_picture(&parsed, &tries, id.as_deref())?;
            save(&scene, &out, &format!("ARC task, {} train + {} test pairs", parsed.train.len(), parsed.test.len()))
        }
    }
}
