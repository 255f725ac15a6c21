//! `trm solve sudoku`: a trained model answers puzzles given on the command line, on stdin or
//! in a file; each answer is checked against the Sudoku rules and the givens, and can be
//! compared with the exact solver (`--classic`).

use anyhow::{ensure, Context, Result};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trm_data::sudoku::build::{self, named_puzzles, NamedPuzzle as Named};
use trm_data::sudoku::check::answer_grid;
use trm_data::sudoku::{solver, Grid};
use trm_train::run_dir::RunDir;
use trm_train::solve::sudoku::SudokuTask;
use trm_train::solve::{solve, Solved};
use trm_viz::terminal;

use super::picture_path;

#[derive(clap::Args)]
pub struct SudokuArgs {
    /// A run folder written by `trm train` on Sudoku (its config.toml and model.safetensors).
    /// Without it, `--classic` solves with the exact solver alone.
    #[arg(long, value_name = "RUN", required_unless_present = "classic")]
    model: Option<PathBuf>,
    /// One puzzle (16 or 81 characters, `.` or `0` for a blank), `-` to read puzzles from
    /// stdin, or a file of puzzles (one per line, or the Sudoku-Extreme CSV).
    #[arg(value_name = "PUZZLE")]
    puzzle: String,
    /// Print the answer after every supervision step, marking the cells that changed.
    #[arg(long, requires = "model")]
    steps: bool,
    /// Supervision steps (default: the training value; more is test-time recursion).
    #[arg(long, requires = "model")]
    max_steps: Option<usize>,
    /// Stop at the first step whose q_halt logit is positive.
    #[arg(long, requires = "model")]
    halt: bool,
    /// Also solve with the exact solver and print the time each took (alone without --model).
    #[arg(long)]
    classic: bool,
    /// With --steps: draw the puzzle, the answer after every step and the exact solver's
    /// solution side by side (.png or .svg; cells changed by a step shaded, wrong ones red).
    /// With several puzzles, one picture each (`out-2.png`, ...).
    #[arg(long, value_name = "OUT", requires = "steps")]
    picture: Option<PathBuf>,
    /// Puzzles the model answers at once.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn solve_sudoku(args: SudokuArgs) -> Result<()> {
    super::check_flags(args.batch_size, args.max_steps)?;
    let puzzles = read_puzzles(&args.puzzle)?;
    let Some(run) = &args.model else {
        return solve_classic(&puzzles);
    };
    let device = crate::commands::device(&args.device)?;
    let run = RunDir::open(run)?;
    let model = run.load_model(&device)?;
    for p in &puzzles {
        run.check_sudoku_fits(model.config(), p.puzzle.size(), &p.name)?;
    }
    if let Some(out) = &args.picture {
        trm_viz::Format::from_path(out)?;
    }
    let opts = super::options(&model, args.max_steps, args.halt, args.batch_size, args.steps);
    let grids: Vec<Grid> = puzzles.iter().map(|p| p.puzzle).collect();
    let solved = solve(&model, &SudokuTask, &grids, &opts)?;
    let colour = std::io::stdout().is_terminal();
    for (k, (p, s)) in puzzles.iter().zip(&solved).enumerate() {
        if !args.steps {
            println!("== {} ==", p.name);
            let batch_len =
                opts.batch_size.min(puzzles.len() - k / opts.batch_size * opts.batch_size);
            report(p, s, args.classic, true, batch_len);
            continue;
        }
        println!("== {} ==\npuzzle:\n{}", p.name, p.puzzle.render());
        print!("{}", terminal::sudoku_steps(&p.puzzle, s.rows[0].per_step_tokens(), None, colour));
        report(p, s, args.classic, false, 1);
        if let Some(out) = &args.picture {
            let path = picture_path(out, k, puzzles.len());
            steps_picture(p, s)?.save(&path)?;
            println!("picture     {}\n", path.display());
        }
    }

    if puzzles.len() > 1 {
        let count = solved.iter().filter(|s| s.verdict.solved).count();
        let model_time: Duration = solved.iter().map(|s| s.rows[0].time).sum();
        println!("{} puzzles: {count} solved by the model (valid and consistent with the givens); model time {}", puzzles.len(), ms(model_time));
    }
    Ok(())
}

/// `--classic` without a model: the exact solver's solution of every puzzle, its guesses and
/// time; fails when a puzzle has no solution.
fn solve_classic(puzzles: &[Named]) -> Result<()> {
    let mut unsolvable = Vec::new();
    let mut total = Duration::ZERO;
    for p in puzzles {
        let start = Instant::now();
        let solved = solver::solve(&p.puzzle);
        let time = start.elapsed();
        total += time;
        println!("== {} ==", p.name);
        match solved {
            Some((solution, guesses)) => {
                print!(
                    "{}",
                    terminal::sudoku_grids(&[("puzzle", &p.puzzle), ("solution", &solution)])
                );
                println!("answer      {}", solution.to_line('.'));
                println!("classic     {guesses} guesses, {}\n", ms(time));
            }
            None => {
                println!("classic     no solution exists\n");
                unsolvable.push(p.name.clone());
            }
        }
    }
    if puzzles.len() > 1 {
        let n = puzzles.len();
        println!(
            "{n} puzzles: {} solved by the exact solver in {}",
            n - unsolvable.len(),
            ms(total)
        );
    }
    ensure!(unsolvable.is_empty(), "no solution exists for {}", unsolvable.join(", "));
    Ok(())
}

/// Prints one puzzle's result: the answer (grids side by side unless the steps were shown),
/// whether it solves the puzzle, the steps and q-halt confidence, and with `classic` the
/// exact solver's result and both times.
fn report(p: &Named, s: &Solved<Grid>, classic: bool, show_grids: bool, batch_len: usize) {
    let (grid, row) = (&s.answer, &s.rows[0]);
    if show_grids {
        print!("{}", terminal::sudoku_grids(&[("puzzle", &p.puzzle), ("model answer", grid)]));
    }
    println!("answer      {}", grid.to_line('.'));
    println!("check       {}", s.verdict.text);
    println!("steps       {} (q_halt confidence {:.3})", row.steps, row.confidence);
    if classic {
        let start = Instant::now();
        let solved = solver::solve(&p.puzzle);
        let solver_time = start.elapsed();
        match solved {
            Some((solution, guesses)) => println!(
                "classic     {} ({guesses} guesses); the model's answer is {}",
                solution.to_line('.'),
                if solution == *grid { "the same" } else { "different" }
            ),
            None => println!("classic     no solution exists"),
        }
        let share = if batch_len > 1 {
            format!(" (its share of a batch of {batch_len})")
        } else {
            String::new()
        };
        println!("time        model {}{share}, exact solver {}", ms(row.time), ms(solver_time));
    }
    println!();
}

/// The puzzle, the answer after every step and, when the puzzle has one, the exact solver's
/// solution (cells of a step that differ from it are marked wrong).
fn steps_picture(p: &Named, s: &Solved<Grid>) -> Result<trm_viz::Scene> {
    let (size, row) = (p.puzzle.size(), &s.rows[0]);
    let steps: Vec<trm_viz::Grid> = row
        .per_step
        .iter()
        .map(|step| trm_viz::Grid::from(&answer_grid(&step.tokens, size)))
        .collect();
    let solved = solver::solve(&p.puzzle).map(|(solution, _)| solution);
    let verdict = match &solved {
        Some(solution) if *solution == s.answer => "solved",
        Some(_) => "not solved",
        None => "the puzzle has no solution",
    };
    let opts = trm_viz::StripOptions {
        input: Some(trm_viz::Grid::from(&p.puzzle)),
        truth: solved.as_ref().map(trm_viz::Grid::from),
        title: Some(format!(
            "the answer after each supervision step: {verdict} after {} step{}",
            row.steps,
            if row.steps == 1 { "" } else { "s" }
        )),
        ..trm_viz::StripOptions::default()
    };
    trm_viz::step_strip(trm_viz::Kind::Sudoku, &steps, &opts)
}

/// The puzzles named by the PUZZLE argument, each checked for consistent givens.
fn read_puzzles(arg: &str) -> Result<Vec<Named>> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading puzzles from stdin")?;
        return named_puzzles(build::parse_records(&text).context("stdin")?, "stdin");
    }
    if Path::new(arg).is_file() {
        return named_puzzles(build::read_records(Path::new(arg))?, arg);
    }
    let puzzle = Grid::parse(arg).with_context(|| format!("puzzle {arg:?} (not a file either)"))?;
    puzzle.check_consistent().with_context(|| format!("puzzle {arg}: conflicting givens"))?;
    Ok(vec![Named { name: format!("puzzle {}", puzzle.to_line('.')), puzzle }])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
