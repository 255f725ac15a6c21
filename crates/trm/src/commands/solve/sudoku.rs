//! `trm solve sudoku`: a trained model answers puzzles given on the command line, on stdin or
//! in a file; each answer is checked against the Sudoku rules and the givens, and can be
//! compared with the exact solver (`--classic`).

use anyhow::{ensure, Context, Result};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use trm_data::sudoku::build::{self, named_puzzles, NamedPuzzle as Named};
use trm_data::sudoku::check::answer_grid;
use trm_data::sudoku::Grid;
use trm_train::run_dir::RunDir;
use trm_train::solve::sudoku::{
    classic_summary, model_summary, report, steps_title, Classic, SudokuTask,
};
use trm_train::solve::{batch_len, picture_path, solve, Solved};
use trm_viz::terminal;

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
    /// Print the answer after every supervision step, marking the cells that changed; a step
    /// whose answer is the exact solver's solution says so.
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

impl SudokuArgs {
    /// `trm solve sudoku --model RUN PUZZLE --steps`, as `trm demo` runs it.
    pub fn for_demo(model: PathBuf, puzzle: String) -> SudokuArgs {
        SudokuArgs {
            model: Some(model),
            puzzle,
            steps: true,
            max_steps: None,
            halt: false,
            classic: false,
            picture: None,
            batch_size: 1,
            device: "cpu".into(),
        }
    }
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
        // With --steps, each step that is the exact solver's solution says so.
        let classic = (args.classic || args.steps).then(|| Classic::solve(&p.puzzle));
        let solution = classic.as_ref().and_then(Classic::grid);
        if args.steps {
            println!("== {} ==\npuzzle:\n{}", p.name, p.puzzle.render());
            let steps = s.rows[0].per_step_tokens();
            print!("{}", terminal::sudoku_steps(&p.puzzle, steps, solution, colour));
        } else {
            println!("== {} ==", p.name);
            let grids = [("puzzle", &p.puzzle), ("model answer", &s.answer)];
            print!("{}", terminal::sudoku_grids(&grids));
        }
        let compared = if args.classic { classic.as_ref() } else { None };
        print!("{}", report(s, compared, batch_len(k, puzzles.len(), opts.batch_size)));
        if let Some(out) = &args.picture {
            let path = picture_path(out, k, puzzles.len());
            steps_picture(p, s, solution)?.save(&path)?;
            println!("picture     {}\n", path.display());
        }
    }
    if puzzles.len() > 1 {
        println!("{}", model_summary(&solved));
    }
    Ok(())
}

/// `--classic` without a model: the exact solver's solution of every puzzle, its guesses and
/// time; fails when a puzzle has no solution.
fn solve_classic(puzzles: &[Named]) -> Result<()> {
    let mut results = Vec::with_capacity(puzzles.len());
    for p in puzzles {
        let c = Classic::solve(&p.puzzle);
        println!("== {} ==", p.name);
        if let Some(solution) = c.grid() {
            print!("{}", terminal::sudoku_grids(&[("puzzle", &p.puzzle), ("solution", solution)]));
        }
        print!("{}", c.report());
        results.push(c);
    }
    if puzzles.len() > 1 {
        println!("{}", classic_summary(&results));
    }
    let unsolvable: Vec<&str> = (puzzles.iter().zip(&results))
        .filter(|(_, c)| c.solution.is_none())
        .map(|(p, _)| p.name.as_str())
        .collect();
    ensure!(unsolvable.is_empty(), "no solution exists for {}", unsolvable.join(", "));
    Ok(())
}

/// The puzzle, the answer after every step and, when the puzzle has one, the exact solver's
/// `solution` (cells of a step that differ from it are marked wrong).
fn steps_picture(p: &Named, s: &Solved<Grid>, solution: Option<&Grid>) -> Result<trm_viz::Scene> {
    let size = p.puzzle.size();
    let grid = |tokens: &[u32]| trm_viz::Grid::from(&answer_grid(tokens, size));
    let opts = trm_viz::StripOptions {
        input: Some(trm_viz::Grid::from(&p.puzzle)),
        truth: solution.map(trm_viz::Grid::from),
        title: Some(steps_title(s, solution)),
        ..trm_viz::StripOptions::default()
    };
    let steps: Vec<trm_viz::Grid> = s.rows[0].per_step.iter().map(|st| grid(&st.tokens)).collect();
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
