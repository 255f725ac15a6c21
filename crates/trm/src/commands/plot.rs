//! `trm plot RUN`: learning curves from a run's `metrics.jsonl`; `trm plot RUN RUN...`: their
//! held-out exact accuracy (or `--metric`) against wall-clock time in one picture.

use std::path::PathBuf;

use anyhow::{Context, Result};
use trm_viz::curves;
use trm_viz::metrics::MetricsFile;

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

pub fn run(args: Args) -> Result<()> {
    if args.runs.len() > 1 {
        let out =
            args.out.context("several runs: give the picture to write with --out FILE.png")?;
        trm_viz::Format::from_path(&out)?;
        let runs = MetricsFile::read_runs(&args.runs)?;
        curves::time_to_accuracy(&runs, &args.metric)?.save(&out)?;
        println!(
            "wrote {} (held-out {} against minutes, {} runs)",
            out.display(),
            args.metric,
            runs.len()
        );
        return Ok(());
    }
    let found = MetricsFile::find(&args.runs[0])?;
    let (file, name) = (&found.file, found.run_name());
    let out = args.out.unwrap_or_else(|| found.dir.join("curves.png"));
    trm_viz::Format::from_path(&out)?;
    let metrics = found.read()?;
    let scene = curves::learning_curves(&metrics, &format!("Learning curves: {name}"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    scene.save(&out)?;
    println!("wrote {} ({})", out.display(), metrics.describe());
    if metrics.skipped_partial_line {
        println!("note: the last line of {} is incomplete (the run is still writing it) and was left out", file.display());
    }
    Ok(())
}
