//! `trm solve arc`: a trained ARC model answers the test inputs of task files. Each test
//! input is answered under several augmentations, the answers are mapped back and voted as
//! `trm eval` does (`trm_data::arc::ArcEvaluator`), and the top attempts are printed as grids
//! with their votes and confidence, checked against the test output when the file has it.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, ensure, Result};
use trm_data::arc::evaluate::Candidate;
use trm_data::arc::read_tasks;
use trm_train::run_dir::RunDir;
use trm_train::solve::arc::{attempt_lines, summary, task_heading, ArcTask};
use trm_train::solve::solve;
use trm_viz::terminal;

const SOLVE_ARC_HELP: &str = "\
Puzzle identifiers: a TRM model learns one embedding row per training puzzle (each augmented
copy of each task). When the task's id (the file stem) is in the run's identifiers.json, the
task was in its dataset (e.g. an evaluation task whose demonstrations were trained on): the
test inputs are then answered under the run's own augmentations of the task, each with its
learned identifier, exactly as `trm eval` does (--aug N keeps the task and its first N
augmented copies; default all). A task the run never saw has no learned embedding: it is
answered with identifier 0 (the blank row, never trained) under the task and --aug
augmentations drawn as `trm data arc --seed` would (default 7), so expect poor answers; to
really solve new tasks, build them into the dataset as a test set (`trm data arc
--test-set`) so that their demonstrations are trained on, as the official pipeline does.

Canvas: the test inputs are encoded on the model's canvas, whose side is the square root of
its seq_len (30x30 officially; smaller for `trm data arc --canvas N`); a test input larger
than it is an error.

Voting (official evaluator): every answer is cropped at its EOS border and mapped back
through its augmentation; distinct grids are ranked by votes, then mean confidence
sigmoid(q_halt) of the step the answer was taken.

Examples:
  trm solve arc --model runs/arc TASK.json
  trm solve arc --model runs/arc TASK.json --aug 15 --picture task.png";

#[derive(clap::Args)]
#[command(after_help = SOLVE_ARC_HELP)]
pub struct ArcArgs {
    /// A run folder written by `trm train` on an ARC dataset.
    #[arg(long, value_name = "RUN")]
    model: PathBuf,
    /// An ARC task file ({"train": [...], "test": [...]}), or a Kaggle challenges file or a
    /// folder of task files (every task is solved).
    #[arg(value_name = "TASK.json")]
    task: PathBuf,
    /// Augmented copies voted over besides the task itself (see below for the default).
    #[arg(long, value_name = "N")]
    aug: Option<usize>,
    /// Seed of the augmentations drawn for a task the run does not know.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Supervision steps (default: the training value; more is test-time recursion).
    #[arg(long)]
    max_steps: Option<usize>,
    /// Take each answer at the first step whose q_halt logit is positive.
    #[arg(long)]
    halt: bool,
    /// Attempts shown per test input (the ARC Prize allows 2).
    #[arg(long, default_value_t = 2)]
    attempts: usize,
    /// Draw the task with the attempts beside the truth (PNG or SVG; one task only).
    #[arg(long, value_name = "FILE")]
    picture: Option<PathBuf>,
    /// Rows the model answers at once.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn solve_arc(args: ArcArgs) -> Result<()> {
    super::check_flags(args.batch_size, args.max_steps)?;
    ensure!(args.attempts > 0, "--attempts must be at least 1");
    let tasks = read_tasks(&args.task)?;
    ensure!(!tasks.is_empty(), "{}: no ARC tasks found", args.task.display());
    if args.picture.is_some() && tasks.len() > 1 {
        bail!(
            "--picture draws one task, but {} holds {}; pass a single task file",
            args.task.display(),
            tasks.len()
        );
    }
    let device = crate::commands::device(&args.device)?;
    let run = RunDir::open(&args.model)?.load_arc_model(&device)?;
    for note in &run.notes {
        eprintln!("note: {note}");
    }
    let (mut inputs, mut copies) = (Vec::new(), Vec::new());
    for task in &tasks {
        run.check_fits(task, &args.task.display().to_string())?;
        let (task_inputs, task_copies) = run.test_inputs(task, args.aug, args.seed)?;
        inputs.extend(task_inputs);
        copies.push(task_copies);
    }
    let opts = super::options(&run.model, args.max_steps, args.halt, args.batch_size, false);
    let arc = ArcTask { canvas: run.canvas, attempts: args.attempts };
    let solved = solve(&run.model, &arc, &inputs, &opts)?;
    let colour = std::io::stdout().is_terminal();
    let mut first = 0;
    for (task, copies) in tasks.iter().zip(copies) {
        println!("{}", task_heading(task, &copies));
        let answers = &solved[first..first + task.test.len()];
        first += task.test.len();
        let mut attempts = Vec::with_capacity(task.test.len());
        for (i, (pair, s)) in task.test.iter().zip(answers).enumerate() {
            let top: Vec<&Candidate> = s.answer.iter().take(args.attempts).collect();
            println!(
                "\ntest input {} of {}: {} distinct answers from {} rows",
                i + 1,
                task.test.len(),
                s.answer.len(),
                s.rows.len()
            );
            let mut panels = vec![(format!("input {}", pair.input.dims()), &pair.input)];
            for (j, c) in top.iter().enumerate() {
                panels.push((format!("attempt {} {}", j + 1, c.grid.dims()), &c.grid));
            }
            let truth = task.solutions_known.then_some(&pair.output);
            if let Some(truth) = truth {
                panels.push((format!("truth {}", truth.dims()), truth));
            }
            print!("{}", terminal::arc_grids(&panels, colour));
            print!("{}", attempt_lines(s, truth, args.attempts));
            let drawn = top.iter().filter(|c| c.grid.rows() > 0);
            attempts.push(drawn.map(|c| trm_viz::Grid::from(&c.grid)).collect::<Vec<_>>());
        }
        println!();
        if let Some(path) = &args.picture {
            let drawn = trm_viz::arc::Task::from(task);
            trm_viz::arc::task_picture(&drawn, &attempts, Some(&task.id))?.save(path)?;
            println!("wrote {}", path.display());
        }
    }
    if let Some(line) = summary(&inputs, &solved, args.attempts) {
        println!("{line}");
    }
    Ok(())
}
