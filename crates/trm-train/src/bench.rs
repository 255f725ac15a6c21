//! Timing the hot paths of a configuration on this machine (what `trm bench` prints):
//!
//! - eval step: one supervision step without gradient, T(n+1) network applications;
//! - train step: one supervision step with gradient, the loss, backward, Adam-atan2,
//!   sign-SGD on the puzzle rows and the EMA (exactly what the trainer does per step);
//! - single puzzle: batch 1, N_sup supervision steps (one puzzle answered);
//! - throughput: puzzles per second answered at N_sup steps at a batch size.
//!
//! GFLOP/s come from the analytic count of the matrix products
//! ([`ModelConfig::network_flops`]), the peak from a large matrix product timed in the same
//! process ([`matmul_gflops`]). [`export_for_peers`] writes the model, a batch and our outputs
//! for the PyTorch peers (`bench/official_bench.py`: the official module; `bench/torch_trm.py`:
//! a rewrite).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use trm_data::dataset::Split;
use trm_model::{act_loss, Batch, Model, ModelConfig};

use crate::config::RunConfig;
use crate::step::{apply_updates, Optimizers, UpdateRates};

/// The fastest training step split into forward (with the loss), backward and updates, in ms.
#[derive(Serialize, Clone, Copy, Debug, Default)]
pub struct Phases {
    /// Forward pass of one supervision step and the loss read back.
    pub forward: f64,
    /// Backward pass.
    pub backward: f64,
    /// Both optimizers and the EMA.
    pub update: f64,
}

/// The timings of one batch size.
#[derive(Serialize, Clone, Debug)]
pub struct BenchRow {
    /// Rows of the batch.
    pub batch_size: usize,
    /// The fastest evaluation step (one supervision step without gradient), in ms.
    pub eval_step_ms: f64,
    /// The fastest training step, in ms.
    pub train_step_ms: f64,
    /// The fastest training step split into forward (with the loss), backward and updates.
    pub train_phases_ms: Phases,
    /// Puzzles answered per second at N_sup evaluation steps each.
    pub puzzles_per_s: f64,
    /// Training examples per second at this batch size (one optimizer step per batch).
    pub train_examples_per_s: f64,
    /// GFLOP/s of the evaluation step (analytic count of the matrix products).
    pub eval_gflops: f64,
    /// GFLOP/s of the training step.
    pub train_gflops: f64,
}

/// What `trm bench` times: batch sizes, repetitions, the single-puzzle timing, an export.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Batch sizes to time, each positive.
    pub batch_sizes: Vec<usize>,
    /// Timed repetitions of each step (the best is kept, after one warm-up).
    pub reps: usize,
    /// Also time one puzzle answered at batch 1 ([`single_puzzle_ms`]).
    pub single: bool,
    /// Write the model, the batch of the first batch size and our outputs here for the
    /// PyTorch peers ([`export_for_peers`]).
    pub export: Option<PathBuf>,
}

/// A model ready to be timed on this machine, with the machine's matrix-product peak.
pub struct Bench {
    /// The model timed.
    pub model: Model,
    run: RunConfig,
    opts: BenchOptions,
    /// GFLOP/s of a large matrix product in the model's compute dtype ([`matmul_gflops`]).
    pub peak: f64,
    /// Threads candle computes with on the CPU.
    pub threads: usize,
}

impl Bench {
    /// The model of `run` with the architecture `cfg` ([`model_config`]) on `device`,
    /// computing in `dtype` (default: its configuration's), and the peak measured. Refuses an
    /// empty or zero batch size before building anything.
    pub fn new(
        run: RunConfig,
        cfg: ModelConfig,
        opts: BenchOptions,
        device: &Device,
        dtype: Option<DType>,
    ) -> Result<Bench> {
        if opts.batch_sizes.is_empty() || opts.batch_sizes.contains(&0) {
            bail!("--batch-size wants positive sizes, e.g. --batch-size 16,64");
        }
        let mut model = Model::new(cfg, device, run.train.seed)?;
        if let Some(dtype) = dtype {
            model.set_compute_dtype(dtype)?;
        }
        let peak = matmul_gflops(device, model.compute_dtype())?;
        let threads = candle_core::utils::get_num_threads();
        Ok(Bench { model, run, opts, peak, threads })
    }

    /// The line said before timing: `name` (the preset or configuration file), the model's
    /// size and sizes, the threads and the repetitions.
    pub fn header(&self, name: &str) -> String {
        let cfg = self.model.config();
        format!(
            "{name}: {} parameters, computing in {}, S = {}, T = {}, n = {}, N_sup = {}; {} threads; timing {} reps each",
            self.model.num_params(),
            self.model.compute_dtype().as_str(),
            cfg.total_len(),
            cfg.h_cycles,
            cfg.l_cycles,
            cfg.halt_max_steps,
            self.threads,
            self.opts.reps
        )
    }

    /// Times every batch size (a random batch each, seeded by its place), exports the first
    /// batch when asked, and times one puzzle unless told not to.
    pub fn run(&self) -> Result<BenchReport> {
        let (model, cfg, reps) = (&self.model, self.model.config(), self.opts.reps);
        let mut rows = Vec::new();
        for (i, &b) in self.opts.batch_sizes.iter().enumerate() {
            let batch = random_batch(cfg, b, i as u64)?;
            if let (0, Some(dir)) = (i, &self.opts.export) {
                export_for_peers(dir, model, &batch, &self.run)?;
            }
            rows.push(time_batch(model, &self.run, &batch, reps)?);
        }
        let single = if self.opts.single { Some(single_puzzle_ms(model, reps)?) } else { None };
        Ok(BenchReport {
            dtype: model.compute_dtype().as_str(),
            threads: self.threads,
            parameters: model.num_params(),
            network_gflop_per_row: cfg.network_flops(1) / 1e9,
            matmul_peak_gflops: self.peak,
            single_puzzle_ms: single,
            rows,
            halt_max_steps: cfg.halt_max_steps,
        })
    }
}

/// What `trm bench` measured ([`Bench::run`]).
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// The compute dtype (`f32`, `bf16`).
    pub dtype: &'static str,
    /// Threads candle computed with on the CPU.
    pub threads: usize,
    /// Trainable parameters of the model.
    pub parameters: usize,
    /// GFLOP of one network application to one row (the matrix products).
    pub network_gflop_per_row: f64,
    /// GFLOP/s of a large matrix product in the compute dtype, measured in the same process.
    pub matmul_peak_gflops: f64,
    /// One puzzle answered at batch 1, all supervision steps, in ms (None when not timed).
    pub single_puzzle_ms: Option<f64>,
    /// The timings of each batch size, in the order given.
    pub rows: Vec<BenchRow>,
    /// Supervision steps of one puzzle (N_sup).
    pub halt_max_steps: usize,
}

impl BenchReport {
    /// The JSON object of `trm bench --json`: the report with `config` (the preset or
    /// configuration file) and `device` (as named), and the first batch size's figures under
    /// the names the speed goals use.
    pub fn to_json(&self, config: &str, device: &str) -> serde_json::Value {
        let first = self.rows.first();
        serde_json::json!({
            "config": config,
            "device": device,
            "dtype": self.dtype,
            "threads": self.threads,
            "parameters": self.parameters,
            "network_gflop_per_row": self.network_gflop_per_row,
            "matmul_peak_gflops": self.matmul_peak_gflops,
            "single_puzzle_ms": self.single_puzzle_ms,
            "rows": self.rows,
            "train_step_ms": first.map(|r| r.train_step_ms),
            "train_examples_per_s": first.map(|r| r.train_examples_per_s),
            "eval_step_ms": first.map(|r| r.eval_step_ms),
        })
    }

    /// The table `trm bench` prints: a line per batch size (the GFLOP/s also as a share of the
    /// peak), the single puzzle, the peak.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:>6} {:>13} {:>14} {:>24} {:>11} {:>15} {:>16}\n",
            "batch",
            "eval step ms",
            "train step ms",
            "(fwd / bwd / update)",
            "puzzles/s",
            "eval GFLOP/s",
            "train GFLOP/s"
        );
        let peak = self.matmul_peak_gflops;
        for r in &self.rows {
            let p = &r.train_phases_ms;
            out += &format!(
                "{:>6} {:>13.1} {:>14.1} {:>24} {:>11.2} {:>8.1} ({:>3.0}%) {:>9.1} ({:>3.0}%)\n",
                r.batch_size,
                r.eval_step_ms,
                r.train_step_ms,
                format!("{:.0} / {:.0} / {:.0}", p.forward, p.backward, p.update),
                r.puzzles_per_s,
                r.eval_gflops,
                100.0 * r.eval_gflops / peak,
                r.train_gflops,
                100.0 * r.train_gflops / peak
            );
        }
        if let Some(ms) = self.single_puzzle_ms {
            out += &format!("single puzzle (batch 1, {} steps): {ms:.1} ms\n", self.halt_max_steps);
        }
        out + &format!(
            "matrix-product peak on this machine (2048^3 {}, same process): {peak:.1} GFLOP/s\n",
            self.dtype
        )
    }
}

/// seq_len, vocab size and puzzle identifiers of the task a configuration trains on: its
/// generated data, sizes set in its `[arch]`, or the official dataset of the preset's task
/// (design 4.2-4.4; ARC's identifier count only sizes the puzzle table).
pub fn task_sizes(run: &RunConfig, preset: Option<&str>) -> Result<(usize, usize, usize)> {
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

/// The model `trm bench` times: the architecture of `run`, sized for the dataset at `data`
/// (its train split's metadata) when one is given, else by [`task_sizes`]; validated.
pub fn model_config(
    run: &RunConfig,
    preset: Option<&str>,
    data: Option<&Path>,
) -> Result<ModelConfig> {
    let (seq_len, vocab, ids) = match data {
        Some(dir) => {
            let meta = Split::load(&dir.join("train"))?.meta;
            (meta.seq_len, meta.vocab_size as usize, meta.num_puzzle_identifiers as usize)
        }
        None => task_sizes(run, preset)?,
    };
    let cfg = run.arch.clone().with_dataset(vocab, seq_len, ids);
    cfg.validate()?;
    Ok(cfg)
}

/// A batch of `b` rows of random tokens and labels (speed does not depend on the values).
pub fn random_batch(cfg: &ModelConfig, b: usize, seed: u64) -> Result<Batch> {
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

/// Wall time in ms of the fastest of `reps` calls after one warm-up call, with that call's
/// result.
pub fn best_of<T: Default>(reps: usize, step: &mut dyn FnMut() -> Result<T>) -> Result<(f64, T)> {
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

/// One evaluation step per call, on a carry that goes on from call to call.
pub fn eval_stepper<'a>(
    model: &'a Model,
    batch: &'a Batch,
) -> Result<impl FnMut() -> Result<()> + 'a> {
    let mut carry = model.initial_carry(batch.batch_size())?;
    Ok(move || {
        model.eval_step(&mut carry, batch)?;
        Ok(())
    })
}

/// One trainer step per call as `Trainer` does it: forward, loss read back, backward, both
/// optimizers, EMA; each call returns the time of its phases.
pub fn train_stepper<'a>(
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
        let (grads, backward) = trm_model::threads::with_workers_awake(|| {
            let grads = (&loss.total / batch.batch_size() as f64)?.backward()?;
            anyhow::Ok((grads, Instant::now()))
        })?;
        trm_model::threads::with_workers_awake(|| {
            apply_updates(model, &grads, out.puzzle_rows.as_ref(), &mut opt, rates)
        })?;
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        Ok(Phases {
            forward: ms(start, forward),
            backward: ms(forward, backward),
            update: ms(backward, Instant::now()),
        })
    })
}

/// Times the evaluation and training steps of `model` on `batch` (best of `reps` each) and
/// derives the throughput and GFLOP/s of that batch size.
pub fn time_batch(model: &Model, run: &RunConfig, batch: &Batch, reps: usize) -> Result<BenchRow> {
    let (cfg, b) = (model.config(), batch.batch_size());
    let eval_ms = best_ms(reps, &mut eval_stepper(model, batch)?)?;
    let (train_ms, train_phases_ms) = best_of(reps, &mut train_stepper(model, run, batch)?)?;
    Ok(BenchRow {
        batch_size: b,
        eval_step_ms: eval_ms,
        train_step_ms: train_ms,
        train_phases_ms,
        puzzles_per_s: b as f64 / (eval_ms * cfg.halt_max_steps as f64 / 1e3),
        train_examples_per_s: b as f64 / (train_ms / 1e3),
        eval_gflops: cfg.supervision_step_flops(b) / eval_ms / 1e6,
        train_gflops: cfg.train_step_flops(b) / train_ms / 1e6,
    })
}

/// One puzzle answered: batch 1, every supervision step, from a fresh carry (best of `reps`),
/// in ms.
pub fn single_puzzle_ms(model: &Model, reps: usize) -> Result<f64> {
    let batch = random_batch(model.config(), 1, 99)?;
    let mut run = || -> Result<()> {
        model.eval_run(&batch, |_, _, _| Ok(()))?;
        Ok(())
    };
    best_ms(reps, &mut run)
}

/// GFLOP/s of a 2048 x 2048 x 2048 matrix product in `dtype` on `device` (best of three), the
/// yardstick for the share of the machine a step uses.
pub fn matmul_gflops(device: &Device, dtype: DType) -> Result<f64> {
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

/// Writes what the PyTorch peers need into `dir`: `config.json` (official keys),
/// `weights.safetensors`, `batch.safetensors`, and `expected.safetensors` (our logits and
/// q_halt after one evaluation step from a fresh carry, and the training loss of the first
/// step).
pub fn export_for_peers(dir: &Path, model: &Model, batch: &Batch, run: &RunConfig) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (cfg, dev) = (model.config(), model.device());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_benched_model_is_sized_by_the_task_or_the_dataset() {
        let run = RunConfig::preset("sudoku4").unwrap();
        let cfg = model_config(&run, Some("sudoku4"), None).unwrap();
        assert_eq!((cfg.seq_len, cfg.vocab_size, cfg.num_puzzle_identifiers), (16, 6, 1));

        let dir = tempfile::tempdir().unwrap();
        let build = trm_data::sudoku::build::BuildConfig::generated(9, 3, 0);
        trm_data::sudoku::build::build_dataset(&build).unwrap().write(dir.path()).unwrap();
        let cfg = model_config(&run, Some("sudoku4"), Some(dir.path())).unwrap();
        assert_eq!((cfg.seq_len, cfg.vocab_size, cfg.num_puzzle_identifiers), (81, 11, 1));
        assert!(model_config(&run, None, Some(&dir.path().join("none"))).is_err());
    }

    fn report() -> BenchReport {
        let row = BenchRow {
            batch_size: 16,
            eval_step_ms: 10.0,
            train_step_ms: 40.0,
            train_phases_ms: Phases { forward: 12.0, backward: 25.0, update: 3.0 },
            puzzles_per_s: 200.0,
            train_examples_per_s: 400.0,
            eval_gflops: 25.0,
            train_gflops: 50.0,
        };
        BenchReport {
            dtype: "f32",
            threads: 2,
            parameters: 1000,
            network_gflop_per_row: 0.5,
            matmul_peak_gflops: 100.0,
            single_puzzle_ms: Some(12.34),
            rows: vec![row],
            halt_max_steps: 8,
        }
    }

    #[test]
    fn reports_print_as_a_table_and_json() {
        let table = report().table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].trim_start().starts_with("batch  eval step ms  train step ms"));
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            [
                "16", "10.0", "40.0", "12", "/", "25", "/", "3", "200.00", "25.0", "(", "25%)",
                "50.0", "(", "50%)"
            ]
        );
        assert_eq!(lines[2], "single puzzle (batch 1, 8 steps): 12.3 ms");
        assert_eq!(
            lines[3],
            "matrix-product peak on this machine (2048^3 f32, same process): 100.0 GFLOP/s"
        );

        let json = report().to_json("sudoku4", "cpu");
        assert_eq!(
            (json["config"].as_str(), json["device"].as_str()),
            (Some("sudoku4"), Some("cpu"))
        );
        assert_eq!(
            (json["train_step_ms"].as_f64(), json["eval_step_ms"].as_f64()),
            (Some(40.0), Some(10.0))
        );
        assert_eq!(json["rows"][0]["train_phases_ms"]["backward"].as_f64(), Some(25.0));
        assert_eq!(
            (json["parameters"].as_u64(), json["single_puzzle_ms"].as_f64()),
            (Some(1000), Some(12.34))
        );
        assert!(json.get("halt_max_steps").is_none());
    }

    #[test]
    fn a_bench_checks_its_batch_sizes_and_says_what_it_times() {
        let run = RunConfig::preset("sudoku4").unwrap();
        let cfg = model_config(&run, Some("sudoku4"), None).unwrap();
        let opts = BenchOptions { batch_sizes: vec![4, 0], reps: 1, single: false, export: None };
        let err = Bench::new(run.clone(), cfg.clone(), opts.clone(), &Device::Cpu, None).err();
        assert!(err.unwrap().to_string().contains("positive sizes"));

        let opts = BenchOptions { batch_sizes: vec![2], ..opts };
        let bench = Bench::new(run, cfg, opts, &Device::Cpu, None).unwrap();
        let header = bench.header("sudoku4");
        let params = bench.model.num_params();
        assert!(
            header.starts_with(&format!(
                "sudoku4: {params} parameters, computing in f32, S = 17, T = 2, n = 2, N_sup = 8; "
            )),
            "{header}"
        );
        assert!(header.ends_with("timing 1 reps each"), "{header}");
        let report = bench.run().unwrap();
        assert_eq!(
            (report.rows.len(), report.rows[0].batch_size, report.parameters),
            (1, 2, params)
        );
        assert!(report.single_puzzle_ms.is_none() && report.matmul_peak_gflops > 0.0);
    }
}
