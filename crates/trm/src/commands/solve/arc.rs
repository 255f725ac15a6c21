//! `trm solve arc`: a trained ARC model answers the test inputs of task files. Each test
//! input is answered under several augmentations, the answers are mapped back and voted as
//! `trm eval` does (`trm_data::arc::ArcEvaluator`), and the top attempts are printed as grids
//! with their votes and confidence, checked against the test output when the file has it.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use trm_data::arc::augment::known_augmentations;
use trm_data::arc::build::{encode_test_inputs, task_augmentations};
use trm_data::arc::check::verdict;
use trm_data::arc::encode::{Canvas, VOCAB_SIZE};
use trm_data::arc::evaluate::{ArcEvaluator, Candidate};
use trm_data::arc::{read_tasks, Grid, Task};
use trm_data::dataset::{BLANK_IDENTIFIER, IDENTIFIERS_FILE};
use trm_model::{LoadOptions, Model};
use trm_train::run_dir::RunDir;
use trm_train::solve::{answer_rows, SolveOptions};

use trm_viz::terminal;

/// Augmentations drawn for a task the run does not know, when `--aug` is not given.
const DEFAULT_NEW_TASK_AUG: usize = 7;

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

/// An ARC model with the puzzle names of its dataset (empty when identifiers.json is absent)
/// and its canvas.
struct ArcRun {
    model: Model,
    identifiers: Vec<String>,
    canvas: Canvas,
}

/// What one test input got: its candidates, best first, and the number of rows voted.
struct Answer {
    ranked: Vec<Candidate>,
    rows: usize,
}

pub fn solve_arc(args: ArcArgs) -> Result<()> {
    ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    ensure!(args.attempts > 0, "--attempts must be at least 1");
    ensure!(args.max_steps != Some(0), "--max-steps must be at least 1");
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
    let run = load_arc_run(&args.model, &device)?;
    for task in &tasks {
        check_fits(task, run.canvas, &args.task)?;
    }
    let (mut inputs_solved, mut inputs_known) = (0, 0);
    for task in &tasks {
        let (answers, how) = answer_task(&run, task, &args)?;
        println!(
            "== task {} ({} demonstration pairs, {} test inputs): {how} ==",
            task.id,
            task.train.len(),
            task.test.len()
        );
        let mut attempts = Vec::with_capacity(task.test.len());
        for (i, (pair, answer)) in task.test.iter().zip(&answers).enumerate() {
            let top: Vec<&Candidate> = answer.ranked.iter().take(args.attempts).collect();
            println!(
                "\ntest input {} of {}: {} distinct answers from {} rows",
                i + 1,
                task.test.len(),
                answer.ranked.len(),
                answer.rows
            );
            let mut panels = vec![(format!("input {}", dims(&pair.input)), &pair.input)];
            for (j, c) in top.iter().enumerate() {
                panels.push((format!("attempt {} {}", j + 1, dims(&c.grid)), &c.grid));
            }
            if task.solutions_known {
                panels.push((format!("truth {}", dims(&pair.output)), &pair.output));
            }
            print!("{}", terminal::arc_grids(&panels, std::io::stdout().is_terminal()));
            for (j, c) in top.iter().enumerate() {
                let verdict = if task.solutions_known {
                    format!("   {}", verdict(&c.grid, &pair.output))
                } else {
                    String::new()
                };
                println!(
                    "attempt {}   {} of {} votes, mean confidence {:.3}{verdict}",
                    j + 1,
                    c.votes,
                    answer.rows,
                    c.mean_confidence()
                );
            }
            if task.solutions_known {
                inputs_known += 1;
                let solved = top.iter().any(|c| c.grid == pair.output);
                inputs_solved += solved as usize;
                println!(
                    "{}",
                    if solved {
                        "SOLVED".to_string()
                    } else {
                        format!("not solved by the top {} attempts", top.len())
                    }
                );
            } else {
                println!("(the task file has no test output to check against)");
            }
            attempts.push(
                top.iter()
                    .filter(|c| c.grid.rows() > 0)
                    .map(|c| trm_viz::Grid::from(&c.grid))
                    .collect::<Vec<_>>(),
            );
        }
        println!();
        if let Some(path) = &args.picture {
            let scene = trm_viz::arc::task_picture(
                &trm_viz::arc::Task::from(task),
                &attempts,
                Some(&task.id),
            )?;
            scene.save(path)?;
            println!("wrote {}", path.display());
        }
    }
    if inputs_known > 0 {
        println!(
            "{inputs_solved} of {inputs_known} test inputs solved by the top {} attempts",
            args.attempts
        );
    }
    Ok(())
}

/// Answers every test input of `task` under its augmentations and votes; also says which
/// identifiers were used.
fn answer_task(run: &ArcRun, task: &Task, args: &ArcArgs) -> Result<(Vec<Answer>, String)> {
    let known = known_augmentations(&run.identifiers, &task.id)?;
    let has_embedding = run.model.config().puzzle_emb_ndim > 0;
    let (members, how) = if !known.is_empty() && has_embedding {
        let total = known.len();
        let keep = args.aug.map_or(total, |n| (n + 1).min(total));
        let how = format!(
            "in the run's dataset; {keep} of its {total} copies with their learned identifiers"
        );
        (known.into_iter().take(keep).collect::<Vec<_>>(), how)
    } else {
        let augs = task_augmentations(task, args.aug.unwrap_or(DEFAULT_NEW_TASK_AUG), args.seed);
        let how = format!(
            "{}; {} copies (the task and {} augmentations, seed {}) with the blank identifier 0",
            if has_embedding {
                "not in the run's dataset"
            } else {
                "the model has no puzzle embedding"
            },
            augs.len(),
            augs.len() - 1,
            args.seed
        );
        (augs.into_iter().map(|a| (0u32, a)).collect(), how)
    };
    // The evaluator decodes augmentations from names: give it one name per copy (row
    // identifier j + 1), independent of the identifiers the model sees.
    let names: Vec<String> = std::iter::once(BLANK_IDENTIFIER.to_string())
        .chain(members.iter().map(|(_, a)| a.name(&task.id)))
        .collect();
    let mut evaluator =
        ArcEvaluator::new(names, BTreeMap::from([(task.id.clone(), task.clone())]), run.canvas);
    // One row per (copy, test input).
    let (mut copies, mut ids, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    for (j, (model_id, aug)) in members.iter().enumerate() {
        for input in encode_test_inputs(task, aug, run.canvas) {
            copies.push(j as u32 + 1);
            ids.push(*model_id);
            rows.push(input);
        }
    }
    let opts = SolveOptions {
        steps: args.max_steps.unwrap_or(run.model.config().halt_max_steps),
        halt: args.halt,
        batch_size: args.batch_size,
        keep_steps: false,
    };
    let answers = answer_rows(&run.model, &rows, &ids, &opts)?;
    for ((copy, input), a) in copies.iter().zip(&rows).zip(answers) {
        let tokens: Vec<u8> = a.tokens.iter().map(|&t| t.min(u8::MAX as u32) as u8).collect();
        evaluator.add(*copy, input, &tokens, a.confidence)?;
    }
    let answers = task
        .test
        .iter()
        .map(|pair| Answer { ranked: evaluator.ranked(&task.id, &pair.input), rows: members.len() })
        .collect();
    Ok((answers, how))
}

/// Refuses a task whose test input is larger than the model's canvas, naming the file.
fn check_fits(task: &Task, canvas: Canvas, file: &Path) -> Result<()> {
    for (i, pair) in task.test.iter().enumerate() {
        ensure!(
            canvas.fits(&pair.input),
            "{}: task {} test input {} is {}, larger than the model's {canvas} canvas (seq_len {})",
            file.display(),
            task.id,
            i + 1,
            dims(&pair.input),
            canvas.seq_len()
        );
    }
    Ok(())
}

/// The model of an ARC run and its dataset's puzzle names.
fn load_arc_run(run: &Path, device: &candle_core::Device) -> Result<ArcRun> {
    let run_dir = RunDir::open(run)?;
    let weights = run_dir.weights()?;
    let data = run_dir.data_dir();
    let arch = run_dir.model_config()?;
    let not_arc =
        || format!("{}: not an ARC model (train one on a `trm data arc` dataset)", run.display());
    ensure!(
        arch.vocab_size == VOCAB_SIZE as usize,
        "{}: vocab_size {}, not {VOCAB_SIZE}",
        not_arc(),
        arch.vocab_size
    );
    let canvas = Canvas::from_seq_len(arch.seq_len).with_context(not_arc)?;
    let id_path = data.join(IDENTIFIERS_FILE);
    let identifiers: Vec<String> = match std::fs::read_to_string(&id_path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{}: expected a JSON list of names", id_path.display()))?,
        Err(_) => {
            eprintln!(
                "note: {} is missing; every task is treated as new (blank identifier)",
                id_path.display()
            );
            Vec::new()
        }
    };
    if !identifiers.is_empty() && identifiers.len() != arch.num_puzzle_identifiers {
        bail!(
            "{}: {} names but the model has {} puzzle identifiers; the run's dataset was replaced",
            id_path.display(),
            identifiers.len(),
            arch.num_puzzle_identifiers
        );
    }
    let (model, _) = Model::from_file(arch, device, &weights, &LoadOptions::default())
        .with_context(|| format!("loading {}", weights.display()))?;
    Ok(ArcRun { model, identifiers, canvas })
}

fn dims(g: &Grid) -> String {
    format!("{}x{}", g.rows(), g.cols())
}
