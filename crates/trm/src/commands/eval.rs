//! `trm eval`: evaluate a trained model on a dataset's test split (`trm_train::eval`). On an
//! ARC dataset (built by `trm data arc`) the predictions are also voted over augmentations into
//! pass@K and an ARC Prize `submission.json` (`trm_train::eval::arc_scores`, design 5.3).

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use trm_data::arc::evaluate::{is_arc_dataset, write_submission};
use trm_train::eval::{arc_scores, evaluate, submission_path, EvalOptions};
use trm_train::run_dir::{load_weights_for_eval, read_model_config, RunDir};

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
        let written = submission_path(args.submission.as_deref(), args.model.as_deref());
        if let Some(path) = &written {
            write_submission(path, &scores.submission)?;
        }
        Some((scores, written))
    } else {
        None
    };
    if args.json {
        let mut obj = report.to_json(args.per_step);
        if let Some((scores, written)) = &arc {
            obj["arc"] = scores.to_json(written.as_deref());
        }
        println!("{obj}");
    } else {
        print!("{}", report.table(args.per_step));
        if let Some((scores, written)) = &arc {
            print!("{}", scores.table(written.as_deref()));
        }
    }
    if let Some(path) = &args.plot {
        let (points, mark) = report.per_step_curve(model.config().halt_max_steps);
        trm_viz::curves::accuracy_vs_steps(&points, mark)?.save(path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
