//! `trm eval`: evaluate a trained model on a dataset's test split.

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::PathBuf;
use trm_data::arc::evaluate::{is_arc_dataset, write_submission};
use trm_train::eval::{arc_scores, evaluate, EvalOptions, EvalReport};
use trm_train::run_dir::{load_weights_for_eval, read_model_config, RunDir};

pub mod arc;

#[derive(clap::Args)]
pub struct Args {
    /// A run folder written by `trm train` (uses its config.toml and model.safetensors).
    #[arg(long, value_name = "RUN", required_unless_present = "checkpoint")]
    model: Option<PathBuf>,
    /// Weights to evaluate instead: safetensors or an official PyTorch checkpoint (needs --config).
    #[arg(long, requires = "config")]
    checkpoint: Option<PathBuf>,
    /// Model configuration for --checkpoint: our run config (TOML) or an official arch JSON.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Dataset folder (default: the run's own data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Supervision steps per example (default: the run's eval_max_steps if set, else the
    /// training halt_max_steps; more is test-time recursion).
    #[arg(long)]
    max_steps: Option<usize>,
    /// Stop each example when q_halt > 0 and report the mean steps used.
    #[arg(long)]
    halt: bool,
    /// Print the exact accuracy after every supervision step 1..N.
    #[arg(long)]
    per_step: bool,
    /// With --per-step: also draw exact accuracy against supervision steps (PNG or SVG).
    #[arg(long, value_name = "FILE", requires = "per_step")]
    plot: Option<PathBuf>,
    /// Evaluate only the first N test examples.
    #[arg(long, default_value_t = 0)]
    limit: usize,
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Print one JSON object instead of a table (on an ARC dataset with an "arc" object:
    /// pass@1..pass@1000, tasks, test_inputs, submission).
    #[arg(long)]
    json: bool,
    /// ARC datasets: where to write the ARC Prize submission.json (top-2 attempts per test
    /// input) [default: RUN/submission.json with --model RUN].
    #[arg(long, value_name = "FILE")]
    submission: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn run(args: Args) -> Result<()> {
    let device = crate::commands::device(&args.device)?;
    let loaded = match (&args.model, &args.checkpoint) {
        (Some(run), None) => RunDir::open(run)?.load_for_eval(args.data.as_deref(), &device)?,
        (None, Some(weights)) => {
            let config = args.config.as_deref().context("--checkpoint needs --config")?;
            let (arch, ignored) = read_model_config(config)?;
            if !ignored.is_empty() {
                let keys = ignored.join(", ");
                eprintln!("note: keys of {} not used by the model: {keys}", config.display());
            }
            let data =
                args.data.as_deref().context("--data DIR is needed to evaluate a checkpoint")?;
            load_weights_for_eval(arch, weights, data, &device)?
        }
        _ => bail!("give either --model RUN or --checkpoint FILE --config FILE"),
    };
    for note in &loaded.notes {
        eprintln!("note: {note}");
    }
    let (model, test, data) = (loaded.model, loaded.test, loaded.data);
    let is_arc = is_arc_dataset(&data);
    if let (false, Some(path)) = (is_arc, &args.submission) {
        bail!(
            "--submission {}: {} is not an ARC dataset (no test_puzzles.json)",
            path.display(),
            data.display()
        );
    }
    let max_steps = args.max_steps.or(loaded.eval_steps);
    let opts = EvalOptions {
        batch_size: args.batch_size,
        max_examples: args.limit,
        max_steps,
        halt: args.halt,
    };
    let (report, predictions) = evaluate(&model, &test, &opts, |done, total| {
        if !args.json {
            eprint!(
                "\revaluating {done}/{total} (computing in {})",
                model.compute_dtype().as_str()
            );
        }
    })?;
    if !args.json {
        eprintln!();
    }
    let arc = if is_arc {
        let scores = arc_scores(&data, &test, &predictions)?;
        let written = arc::submission_path(args.submission.as_deref(), args.model.as_deref());
        if let Some(path) = &written {
            write_submission(path, &scores.submission)?;
        }
        Some((scores, written))
    } else {
        None
    };
    match (&arc, args.json) {
        (Some((scores, written)), true) => {
            let mut obj = report_json(&report, args.per_step);
            obj["arc"] = arc::to_json(scores, written.as_deref());
            println!("{obj}");
        }
        (Some((scores, written)), false) => {
            print_report(&report, false, args.per_step);
            arc::print_table(scores, written.as_deref());
        }
        (None, _) => print_report(&report, args.json, args.per_step),
    }
    if let Some(path) = &args.plot {
        let points: Vec<(usize, f64)> =
            report.exact_accuracy_per_step.iter().enumerate().map(|(k, &a)| (k + 1, a)).collect();
        // Mark the training N_sup only when the curve goes past it (at the right edge it says nothing).
        let trained = model.config().halt_max_steps;
        trm_viz::curves::accuracy_vs_steps(&points, (points.len() > trained).then_some(trained))?
            .save(path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The metrics as the JSON object `--json` prints.
pub fn report_json(r: &EvalReport, per_step: bool) -> serde_json::Value {
    let mut obj = json!({
        "exact_accuracy": r.exact_accuracy,
        "token_accuracy": r.token_accuracy,
        "q_halt_accuracy": r.q_halt_accuracy,
        "count": r.count,
        "mean_steps": r.mean_steps,
    });
    if let Some(solved) = r.solved_accuracy {
        obj["solved_accuracy"] = json!(solved);
    }
    if per_step {
        obj["exact_accuracy_per_step"] = json!(r.exact_accuracy_per_step);
    }
    obj
}

pub fn print_report(r: &EvalReport, as_json: bool, per_step: bool) {
    if as_json {
        println!("{}", report_json(r, per_step));
        return;
    }
    println!("examples         {}", r.count);
    println!("exact accuracy   {:.4}", r.exact_accuracy);
    if let Some(solved) = r.solved_accuracy {
        println!("solved accuracy  {solved:.4} (answers that are a valid shortest path)");
    }
    println!("token accuracy   {:.4}", r.token_accuracy);
    println!("q_halt accuracy  {:.4}", r.q_halt_accuracy);
    println!("mean steps       {:.2}", r.mean_steps);
    if per_step {
        println!("\nstep  exact accuracy");
        for (k, a) in r.exact_accuracy_per_step.iter().enumerate() {
            println!("{:>4}  {a:.4}", k + 1);
        }
    }
}
