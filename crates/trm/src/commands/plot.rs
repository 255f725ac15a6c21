//! `trm plot RUN`: learning curves from a run's `metrics.jsonl`; `trm plot RUN RUN...`: their
//! held-out exact accuracy (or `--metric`) against wall-clock time in one picture.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use trm_viz::{curves, metrics::Metrics};

#[derive(clap::Args)]
pub struct Args {
    /// Run folder holding `metrics.jsonl`, or the metrics file itself. With several, one
    /// picture compares their held-out exact accuracy against wall-clock time.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Output picture, `.png` or `.svg` (default: RUN/curves.png; with several runs, required).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// With several runs: the evaluation metric to compare, e.g. `solved_accuracy` (mazes:
    /// answers that are any valid shortest path) or `accuracy` (per token).
    #[arg(long, default_value = "exact_accuracy")]
    metric: String,
}

/// The metrics file of a run argument and the folder it names.
fn metrics_file(run: &Path) -> Result<(PathBuf, PathBuf)> {
    let (file, dir) = if run.is_dir() {
        (run.join("metrics.jsonl"), run.to_path_buf())
    } else {
        (run.to_path_buf(), run.parent().map(PathBuf::from).unwrap_or_default())
    };
    ensure!(
        file.is_file(),
        "{}: no metrics file (expected RUN/metrics.jsonl written by `trm train`)",
        file.display()
    );
    Ok((file, dir))
}

/// The run folder's name, or the file's stem when a metrics file of another name is given.
fn run_name(file: &Path, dir: &Path) -> String {
    let named = if file.file_name().is_some_and(|n| n == "metrics.jsonl") {
        dir.file_name()
    } else {
        file.file_stem()
    };
    named.map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned())
}

pub fn run(args: Args) -> Result<()> {
    if args.runs.len() > 1 {
        let out =
            args.out.context("several runs: give the picture to write with --out FILE.png")?;
        trm_viz::Format::from_path(&out)?;
        let mut runs = Vec::new();
        for run in &args.runs {
            let (file, dir) = metrics_file(run)?;
            runs.push((run_name(&file, &dir), Metrics::read(&file)?));
        }
        curves::time_to_accuracy(&runs, &args.metric)?.save(&out)?;
        println!(
            "wrote {} (held-out {} against minutes, {} runs)",
            out.display(),
            args.metric,
            runs.len()
        );
        return Ok(());
    }
    let (file, dir) = metrics_file(&args.runs[0])?;
    let out = args.out.unwrap_or_else(|| dir.join("curves.png"));
    trm_viz::Format::from_path(&out)?;
    let metrics = Metrics::read(&file)?;
    let name = run_name(&file, &dir);
    let scene = curves::learning_curves(&metrics, &format!("Learning curves: {name}"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    scene.save(&out)?;
    let lines: std::collections::BTreeSet<usize> = metrics.samples.iter().map(|s| s.line).collect();
    println!(
        "wrote {} ({} metrics from {} lines; groups: {})",
        out.display(),
        metrics.metrics().len(),
        lines.len(),
        metrics.groups().join(", ")
    );
    if metrics.skipped_partial_line {
        println!("note: the last line of {} is incomplete (the run is still writing it) and was left out", file.display());
    }
    Ok(())
}
