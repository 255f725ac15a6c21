//! `trm bench`: times the hot paths of a configuration on this machine
//! (`trm_train::bench`) and prints one table or one JSON object. `--export DIR` writes the
//! model, the batch and our outputs for the PyTorch peers (`bench/official_bench.py`: the
//! official module; `bench/torch_trm.py`: a rewrite).

use anyhow::Result;
use std::path::PathBuf;
use trm_train::bench::{model_config, Bench, BenchOptions};
use trm_train::config::RunConfig;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  trm bench                                   # sudoku-mlp (official sizes) at batch 16
  trm bench --batch-size 1,16,64 --json
  trm bench --preset sudoku4 --batch-size 128
  trm bench --batch-size 16 --export /tmp/b16 && python3 bench/official_bench.py /tmp/b16 --official CLONE")]
pub struct Args {
    /// A built-in configuration (its [arch] and [train] sections are used).
    #[arg(long, default_value = "sudoku-mlp", conflicts_with = "config")]
    preset: String,
    /// A configuration file instead of a preset.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Take seq_len, vocab and puzzle identifiers from this dataset instead of the task's
    /// usual sizes.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Batch sizes to time, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "16")]
    batch_size: Vec<usize>,
    /// Timed repetitions of each step (the best is reported, after one warm-up).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Override a setting: key=value (as `trm train --set`). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Skip the single-puzzle timing.
    #[arg(long)]
    no_single: bool,
    /// Write the model, the batch of the first batch size and our outputs to DIR for
    /// bench/official_bench.py and bench/torch_trm.py.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Compute dtype, f32 or bf16 [default: bf16 on a GPU when forward_dtype = "bfloat16",
    /// else f32]. Parameters stay f32.
    #[arg(long, value_name = "f32|bf16")]
    dtype: Option<String>,
}

pub fn run(args: Args) -> Result<()> {
    let device = super::device(&args.device)?;
    let run = match &args.config {
        Some(p) => RunConfig::from_file(p)?,
        None => RunConfig::preset(&args.preset)?,
    }
    .apply_overrides(&args.overrides)?;
    let preset = args.config.is_none().then_some(args.preset.as_str());
    let name = args.config.as_ref().map_or(args.preset.clone(), |p| p.display().to_string());
    let cfg = model_config(&run, preset, args.data.as_deref())?;
    let dtype = args.dtype.as_deref().map(super::compute_dtype).transpose()?;
    let opts = BenchOptions {
        batch_sizes: args.batch_size,
        reps: args.reps,
        single: !args.no_single,
        export: args.export,
    };
    let bench = Bench::new(run, cfg, opts, &device, dtype)?;
    if !args.json {
        eprintln!("{}", bench.header(&name));
    }
    let report = bench.run()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json(&name, &args.device))?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
