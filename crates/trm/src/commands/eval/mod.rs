//! `trm eval`: evaluate a trained model on a dataset's test split.

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use trm_data::dataset::{Dataset, Split};
use trm_model::{LoadOptions, Model, ModelConfig};
use trm_train::config::RunConfig;
use trm_train::eval::{evaluate, EvalOptions, EvalReport};
use trm_train::run_dir::RunDir;

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
    let (model, test, data, run_steps) = load_model_and_test(
        args.model.as_deref(),
        args.checkpoint.as_deref(),
        args.config.as_deref(),
        args.data.as_deref(),
        &device,
    )?;
    let is_arc = arc::is_arc_dataset(&data);
    if let (false, Some(path)) = (is_arc, &args.submission) {
        bail!(
            "--submission {}: {} is not an ARC dataset (no test_puzzles.json)",
            path.display(),
            data.display()
        );
    }
    let max_steps = args.max_steps.or(run_steps);
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
        let scores = arc::arc_scores(&data, &test, &predictions)?;
        let path = arc::submission_path(args.submission.as_deref(), args.model.as_deref());
        let written = arc::write(&scores, path.as_deref())?;
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

/// The model of a run folder (or weights + config), the test split to evaluate it on, the
/// dataset folder it came from and the run's evaluation steps (`[train] eval_max_steps`)
/// when it sets them.
pub fn load_model_and_test(
    run: Option<&Path>,
    weights: Option<&Path>,
    config: Option<&Path>,
    data: Option<&Path>,
    device: &candle_core::Device,
) -> Result<(Model, Split, PathBuf, Option<usize>)> {
    let (run, arch, weights, default_data, eval_steps) = match (run, weights) {
        (Some(path), None) => {
            let run = RunDir::open(path)?;
            let w = run.weights()?;
            let (arch, data) = (run.config.arch.clone(), run.data_dir());
            let steps = run.config.train.eval_steps();
            (Some(run), arch, w, Some(data), steps)
        }
        (None, Some(w)) => {
            let path = config.context("--checkpoint needs --config")?;
            (None, read_arch(path)?, w.to_path_buf(), None, None)
        }
        _ => bail!("give either --model RUN or --checkpoint FILE --config FILE"),
    };
    let data = data
        .map(Path::to_path_buf)
        .or(default_data)
        .context("--data DIR is needed to evaluate a checkpoint")?;
    let dataset = Dataset::load(&data)?;
    let test = dataset
        .test
        .with_context(|| format!("{}: the dataset has no test split", data.display()))?;
    let m = &test.meta;
    if let Some(run) = &run {
        run.check_dataset_fits(&data, m)?;
    }
    let arch =
        arch.with_dataset(m.vocab_size as usize, m.seq_len, m.num_puzzle_identifiers as usize);
    let (model, report) = Model::from_file(arch, device, &weights, &LoadOptions::default())
        .with_context(|| format!("loading {}", weights.display()))?;
    if !report.unexpected.is_empty() {
        eprintln!(
            "note: {} tensors of {} were not used: {}",
            report.unexpected.len(),
            weights.display(),
            report.unexpected.join(", ")
        );
    }
    Ok((model, test, data, eval_steps))
}

/// A model configuration from our run config (TOML) or an official JSON.
fn read_arch(path: &Path) -> Result<ModelConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        let (cfg, ignored) = ModelConfig::from_official_json(&text)
            .with_context(|| format!("config {}", path.display()))?;
        if !ignored.is_empty() {
            eprintln!(
                "note: keys of {} not used by the model: {}",
                path.display(),
                ignored.join(", ")
            );
        }
        return Ok(cfg);
    }
    match RunConfig::from_toml(&text) {
        Ok(run) => Ok(run.arch),
        Err(_) => ModelConfig::from_toml_str(&text).with_context(|| {
            format!("config {}: neither a run config nor a model config", path.display())
        }),
    }
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
