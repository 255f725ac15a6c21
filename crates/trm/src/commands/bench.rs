//! `trm bench`: times the hot paths of a configuration on this machine
//! (`trm_train::bench`) and prints one table or one JSON object. `--export DIR` writes the
//! model, the batch and our outputs for the PyTorch peers (`bench/official_bench.py`: the
//! official module; `bench/torch_trm.py`: a rewrite).

use anyhow::{bail, Result};
use std::path::PathBuf;
use trm_model::Model;
use trm_train::bench::{
    export_for_peers, matmul_gflops, model_config, random_batch, single_puzzle_ms, time_batch,
};
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
    let cfg = model_config(&run, preset, args.data.as_deref())?;
    ensure_batch_sizes(&args.batch_size)?;
    let mut model = Model::new(cfg.clone(), &device, run.train.seed)?;
    if let Some(name) = &args.dtype {
        model.set_compute_dtype(super::compute_dtype(name)?)?;
    }
    let dtype = model.compute_dtype();
    let peak = matmul_gflops(&device, dtype)?;
    let threads = candle_core::utils::get_num_threads();
    if !args.json {
        eprintln!(
            "{}: {} parameters, computing in {}, S = {}, T = {}, n = {}, N_sup = {}; {} threads; timing {} reps each",
            args.config.as_ref().map_or(args.preset.clone(), |p| p.display().to_string()),
            model.num_params(),
            dtype.as_str(),
            cfg.total_len(),
            cfg.h_cycles,
            cfg.l_cycles,
            cfg.halt_max_steps,
            threads,
            args.reps
        );
    }
    let mut rows = Vec::new();
    for (i, &b) in args.batch_size.iter().enumerate() {
        let batch = random_batch(&cfg, b, i as u64)?;
        if i == 0 {
            if let Some(dir) = &args.export {
                export_for_peers(dir, &model, &batch, &run)?;
            }
        }
        rows.push(time_batch(&model, &run, &batch, args.reps)?);
    }
    let single_ms = if args.no_single { None } else { Some(single_puzzle_ms(&model, args.reps)?) };
    if args.json {
        let out = serde_json::json!({
            "config": args.config.as_ref().map_or(args.preset.clone(), |p| p.display().to_string()),
            "device": args.device,
            "dtype": dtype.as_str(),
            "threads": threads,
            "parameters": model.num_params(),
            "network_gflop_per_row": cfg.network_flops(1) / 1e9,
            "matmul_peak_gflops": peak,
            "single_puzzle_ms": single_ms,
            "rows": rows,
            // The first batch size's figures under the names the speed goals use.
            "train_step_ms": rows[0].train_step_ms,
            "train_examples_per_s": rows[0].train_examples_per_s,
            "eval_step_ms": rows[0].eval_step_ms,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{:>6} {:>13} {:>14} {:>24} {:>11} {:>15} {:>16}",
        "batch",
        "eval step ms",
        "train step ms",
        "(fwd / bwd / update)",
        "puzzles/s",
        "eval GFLOP/s",
        "train GFLOP/s"
    );
    for r in &rows {
        println!(
            "{:>6} {:>13.1} {:>14.1} {:>24} {:>11.2} {:>8.1} ({:>3.0}%) {:>9.1} ({:>3.0}%)",
            r.batch_size,
            r.eval_step_ms,
            r.train_step_ms,
            format!(
                "{:.0} / {:.0} / {:.0}",
                r.train_phases_ms.forward, r.train_phases_ms.backward, r.train_phases_ms.update
            ),
            r.puzzles_per_s,
            r.eval_gflops,
            100.0 * r.eval_gflops / peak,
            r.train_gflops,
            100.0 * r.train_gflops / peak
        );
    }
    if let Some(ms) = single_ms {
        println!("single puzzle (batch 1, {} steps): {ms:.1} ms", cfg.halt_max_steps);
    }
    println!(
        "matrix-product peak on this machine (2048^3 {}, same process): {peak:.1} GFLOP/s",
        dtype.as_str()
    );
    Ok(())
}

fn ensure_batch_sizes(sizes: &[usize]) -> Result<()> {
    if sizes.is_empty() || sizes.contains(&0) {
        bail!("--batch-size wants positive sizes, e.g. --batch-size 16,64");
    }
    Ok(())
}
