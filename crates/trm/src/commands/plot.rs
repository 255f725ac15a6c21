//! `trm plot RUN`: learning curves from a run's `metrics.jsonl`.

use std::path::PathBuf;

use anyhow::{ensure, Result};
use trm_viz::{curves, metrics::Metrics};

#[derive(clap::Args)]
pub struct Args {
    /// Run folder holding `metrics.jsonl`, or the metrics file itself.
    run: PathBuf,
    /// Output picture, `.png` or `.svg` (default: RUN/curves.png).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let (file, dir) = if args.run.is_dir() {
        (args.run.join("metrics.jsonl"), args.run.clone())
    } else {
        (args.run.clone(), args.run.parent().map(PathBuf::from).unwrap_or_default())
    };
    ensure!(file.is_file(), "{}: no metrics file (expected RUN/metrics.jsonl written by `trm train`)", file.display());
    let out = args.out.unwrap_or_else(|| dir.join("curves.png"));
    trm_viz::Format::from_path(&out)?;
    let metrics = Metrics::read(&file)?;
    let name = dir.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
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
