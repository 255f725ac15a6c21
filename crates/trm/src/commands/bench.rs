//! `trm bench`: times the hot paths of a configuration on this machine and prints one table.
//!
//! - eval step: one supervision step without gradient, T(n+1) network applications;
//! - train step: one supervision step with gradient, the loss, backward, Adam-atan2,
//!   sign-SGD on the puzzle rows and the EMA (exactly what the trainer does per step);
//! - single puzzle: batch 1, N_sup supervision steps (one puzzle answered);
//! - throughput: puzzles per second answered at N_sup steps at this batch size.
//!
//! GFLOP/s come from the analytic count of the matrix products ([`ModelConfig::network_flops`]),
//! the peak from a large matrix product timed in the same process. `--export DIR` writes the
//! model, the batch and our outputs for the PyTorch peers (`bench/official_bench.py`: the official module; `bench/torch_trm.py`: a rewrite).

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trm_data::dataset::Split;
use trm_model::{act_loss, Batch, Model, ModelConfig};
use trm_train::config::RunConfig;
use trm_train::step::{apply_updates, Optimizers, UpdateRates};

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

/// The timings of one batch size.
#[derive(serde::Serialize, Clone, Copy, Default)]
struct Phases {
    forward: f64,
    backward: f64,
    update: f64,
}

#[derive(serde::Serialize)]
struct Row {
    batch_size: usize,
    eval_step_ms: f64,
    train_step_ms: f64,
    /// The fastest training step split into forward (with the loss), backward and updates.
    train_phases_ms: Phases,
    puzzles_per_s: f64,
    /// Training examples per second at this batch size (one optimizer step per batch).
    train_examples_per_s: f64,
    eval_gflops: f64,
    train_gflops: f64,
}

pub fn run(args: Args) -> Result<()> {
    let device = super::device(&args.device)?;
    let run = match &args.config {
        Some(p) => RunConfig::from_file(p)?,
        None => RunConfig::preset(&args.preset)?,
    }
    .apply_overrides(&args.overrides)?;
    let (seq_len, vocab, ids) = match &args.data {
        Some(dir) => {
            let meta = Split::load(&dir.join("train"))?.meta;
            (meta.seq_len, meta.vocab_size as usize, meta.num_puzzle_identifiers as usize)
        }
        None => task_sizes(&run, args.config.is_none().then_some(args.preset.as_str()))?,
    };
    let cfg = run.arch.clone().with_dataset(vocab, seq_len, ids);
    cfg.validate()?;
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
                export(dir, &model, &cfg, &batch, &run)?;
            }
        }
        let eval_ms = best_ms(args.reps, &mut eval_stepper(&model, &batch)?)?;
        let (train_ms, train_phases_ms) =
            best_of(args.reps, &mut train_stepper(&model, &run, &batch)?)?;
        let eval_flops = cfg.supervision_step_flops(b);
        let train_flops = cfg.train_step_flops(b);
        rows.push(Row {
            batch_size: b,
            eval_step_ms: eval_ms,
            train_step_ms: train_ms,
            train_phases_ms,
            puzzles_per_s: b as f64 / (eval_ms * cfg.halt_max_steps as f64 / 1e3),
            train_examples_per_s: b as f64 / (train_ms / 1e3),
            eval_gflops: eval_flops / eval_ms / 1e6,
            train_gflops: train_flops / train_ms / 1e6,
        });
    }
    let single_ms =
        if args.no_single { None } else { Some(single_puzzle_ms(&model, &cfg, args.reps)?) };
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

/// seq_len, vocab size and puzzle identifiers of the task a configuration trains on: its
/// generated data, sizes set in its [arch], or the official dataset of the preset's task
/// (design 4.2-4.4; ARC's identifier count only sizes the puzzle table).
fn task_sizes(run: &RunConfig, preset: Option<&str>) -> Result<(usize, usize, usize)> {
    if let Some(g) = &run.data.generate {
        return Ok(match g.task.as_str() {
            "maze" => (g.size * g.size, 6, 1),
            _ => (g.size * g.size, g.size + 2, 1),
        });
    }
    let a = &run.arch;
    if a.seq_len > 0 && a.vocab_size > 0 {
        return Ok((a.seq_len, a.vocab_size, a.num_puzzle_identifiers.max(1)));
    }
    match preset {
        Some(p) if p.contains("maze") => Ok((900, 6, 1)),
        Some(p) if p.contains("arc") => Ok((900, 12, 1000)),
        Some(p) if p.contains("sudoku") => Ok((81, 11, 1)),
        _ => bail!("the configuration does not say its sequence length and vocabulary; give --data DIR (a dataset in the official layout)"),
    }
}

/// A batch of random tokens and labels (speed does not depend on the values).
fn random_batch(cfg: &ModelConfig, b: usize, seed: u64) -> Result<Batch> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = b * cfg.seq_len;
    let v = cfg.vocab_size as i32;
    let ids = cfg.num_puzzle_identifiers.max(1) as i32;
    Batch::new(
        (0..n).map(|_| rng.random_range(1..v)).collect(),
        (0..n).map(|_| rng.random_range(1..v)).collect(),
        (0..b).map(|_| rng.random_range(0..ids)).collect(),
        cfg.seq_len,
    )
}

/// The best wall time of `reps` calls after one warm-up call, in ms.
fn best_ms(reps: usize, step: &mut dyn FnMut() -> Result<()>) -> Result<f64> {
    Ok(best_of(reps, step)?.0)
}

/// Wall time in ms of the fastest of `reps` calls after one warm-up call, with that call's result.
fn best_of<T: Default>(reps: usize, step: &mut dyn FnMut() -> Result<T>) -> Result<(f64, T)> {
    step()?;
    let mut best = (f64::INFINITY, T::default());
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let out = step()?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if ms < best.0 {
            best = (ms, out);
        }
    }
    Ok(best)
}

fn eval_stepper<'a>(model: &'a Model, batch: &'a Batch) -> Result<impl FnMut() -> Result<()> + 'a> {
    let mut carry = model.initial_carry(batch.batch_size())?;
    Ok(move || {
        model.eval_step(&mut carry, batch)?;
        Ok(())
    })
}

/// One trainer step as `Trainer` does it: forward, loss read back, backward, both
/// optimizers, EMA.
fn train_stepper<'a>(
    model: &'a Model,
    run: &'a RunConfig,
    batch: &'a Batch,
) -> Result<impl FnMut() -> Result<Phases> + 'a> {
    let t = &run.train;
    let mut carry = model.initial_carry(batch.batch_size())?;
    let mut rng = ChaCha8Rng::seed_from_u64(t.seed);
    let mut opt = Optimizers::new(t, model)?;
    let rates = UpdateRates { lr: t.lr, puzzle_emb_lr: t.puzzle_emb_lr, grad_clip: t.grad_clip };
    Ok(move || {
        let start = Instant::now();
        let out = model.train_step(&mut carry, batch, &mut rng)?;
        let loss = act_loss(model.config().loss_type, &out, &carry)?;
        let _total: f64 = loss.total.to_dtype(DType::F64)?.to_scalar()?;
        let forward = Instant::now();
        let grads = (&loss.total / batch.batch_size() as f64)?.backward()?;
        let backward = Instant::now();
        apply_updates(model, &grads, out.puzzle_rows.as_ref(), &mut opt, rates)?;
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        Ok(Phases {
            forward: ms(start, forward),
            backward: ms(forward, backward),
            update: ms(backward, Instant::now()),
        })
    })
}

/// One puzzle answered: batch 1, every supervision step, from a fresh carry (best of `reps`).
fn single_puzzle_ms(model: &Model, cfg: &ModelConfig, reps: usize) -> Result<f64> {
    let batch = random_batch(cfg, 1, 99)?;
    let mut run = || -> Result<()> {
        model.eval_run(&batch, |_, _, _| Ok(()))?;
        Ok(())
    };
    best_ms(reps, &mut run)
}

/// GFLOP/s of a 2048 x 2048 x 2048 matrix product in the model's compute dtype (best of
/// three), the yardstick for the share of the machine a step uses.
fn matmul_gflops(device: &Device, dtype: DType) -> Result<f64> {
    let n = 2048;
    let a = Tensor::randn(0f32, 1.0, (n, n), device)?.to_dtype(dtype)?;
    let b = Tensor::randn(0f32, 1.0, (n, n), device)?.to_dtype(dtype)?;
    let mut product = || -> Result<()> {
        a.matmul(&b)?.sum_all()?.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        Ok(())
    };
    let ms = best_ms(3, &mut product)?;
    Ok(2.0 * (n * n * n) as f64 / ms / 1e6)
}

/// Writes what the PyTorch peers need: `config.json` (official keys), `weights.safetensors`,
/// `batch.safetensors`, and `expected.safetensors` (our logits and q_halt after one
/// evaluation step from a fresh carry, and the training loss of the first step).
fn export(
    dir: &Path,
    model: &Model,
    cfg: &ModelConfig,
    batch: &Batch,
    run: &RunConfig,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dev = model.device();
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(cfg)?)?;
    model.save_safetensors(&dir.join("weights.safetensors"))?;
    let (b, s) = (batch.batch_size(), cfg.seq_len);
    let as_i64 = |v: &[i32], shape: &[usize]| {
        Tensor::from_vec(v.iter().map(|&x| x as i64).collect::<Vec<_>>(), shape, dev)
    };
    let tensors = [
        ("inputs", as_i64(&batch.inputs, &[b, s])?),
        ("labels", as_i64(&batch.labels, &[b, s])?),
        ("puzzle_identifiers", as_i64(&batch.puzzle_identifiers, &[b])?),
    ];
    candle_core::safetensors::save(
        &tensors.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        dir.join("batch.safetensors"),
    )?;
    let mut carry = model.initial_carry(b)?;
    let out = model.eval_step(&mut carry, batch)?;
    let mut carry = model.initial_carry(b)?;
    let mut rng = ChaCha8Rng::seed_from_u64(run.train.seed);
    let train_out = model.train_step(&mut carry, batch, &mut rng)?;
    let loss = act_loss(cfg.loss_type, &train_out, &carry)?;
    let expected = [
        ("logits".to_string(), out.logits.clone()),
        ("q_halt".to_string(), out.q_halt_logits.clone()),
        ("loss".to_string(), loss.total.to_dtype(DType::F64)?.reshape(1)?),
    ];
    candle_core::safetensors::save(
        &expected.into_iter().collect(),
        dir.join("expected.safetensors"),
    )?;
    Ok(())
}
