//! Our training step against short training traces written by the official TRM code
//! (fixtures/official_trace/README.md; `bench/official_trace.py` writes them).
//!
//! Each trace starts from the weights of a reference vector (crates/trm-model/tests/fixtures/
//! vectors), runs a few optimizer steps of the official `train_batch` (carry, ACT loss,
//! loss / global batch backward, warm-up/cosine lr, sparse sign-SGD, Adam-atan2) and the
//! official EMA update, all in float64, and records after every step the loss, the carry
//! flags, the lr of both optimizers, the whole puzzle table and, for every parameter, the
//! displacement from the start, both Adam moments and the EMA shadow at recorded elements,
//! plus whole-tensor norms. We replay the same batches through `forward_step` and
//! `backward_and_update` (the trainer's step, `Optimizers` built from `TrainParams`, the lr
//! from `optim::learning_rate`) in float32 and compare after every step.
//!
//! So that the comparison cannot pass vacuously, step 1 is also recomputed by hand from our
//! state with wrong update rules (Adam-atan2 with the bias correction inside the atan2, with
//! the weight decay after the update, Adam's epsilon form instead of atan2; sign-SGD with the
//! decay after the sign step; the EMA with its rate swapped or from the weights before the
//! step; the lr of the next step), and step 2 with Adam-atan2's step counter stuck at 1; each
//! must then miss the trace by more than its tolerance. The right rule recomputed the same
//! way must land on our own step.
//!
//! Traces in the folder named by `TRM_TRACE_DIR` are replayed as well (their vector is
//! looked for among the built-in vectors, then in `TRM_REFERENCE_DIR`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use candle_core::{DType, Device, Tensor};
use rand::SeedableRng;
use serde_json::Value;
use trm_model::{read_state_file, Batch, LoadOptions, Model, ModelConfig};
use trm_train::collective::Single;
use trm_train::config::{RunConfig, TrainParams};
use trm_train::optim::{flat, learning_rate};
use trm_train::step::{backward_and_update, forward_step, Optimizers, UpdateRates};

/// The quantities compared, in the order of [`FIRST`] and [`LATER`]. Each error is relative:
/// max |ours - trace| / max |trace| over one tensor (the recorded elements), the worst tensor.
const QUANTITIES: [&str; 8] = ["lr", "loss", "param", "adam m", "adam v", "ema", "norms", "puzzle"];
const LR: usize = 0;
const LOSS: usize = 1;
const PARAM: usize = 2;
const MOM_M: usize = 3;
const MOM_V: usize = 4;
const EMA: usize = 5;
const NORMS: usize = 6;
const PUZZLE: usize = 7;

/// Tolerances of step 1 (no carry history; where the wrong rules are told apart), a few
/// times the worst error measured over the built-in traces (fixtures/official_trace/README.md):
/// lr and losses; parameter displacements from the start, Adam m and v, the EMA's
/// displacement, the whole-tensor norms, the puzzle-table displacement.
const FIRST: [f64; 8] = [1e-12, 1e-5, 2e-4, 1e-4, 1e-4, 1.5e-3, 1e-4, 1e-4];
/// Tolerances of the later steps: their carry holds float32 rounding from earlier supervision
/// steps, which the recursion amplifies (about tenfold per step in `mlp_t`, the vectors'
/// README), and each step's gradient feeds the moments of all steps after it. The official
/// code itself, run in float32, lies as far from its float64 trace (1.1e-2 on the `mlp_t`
/// parameters at step 4).
const LATER: [f64; 8] = [1e-12, 5e-3, 3e-2, 3e-2, 3e-2, 2e-2, 1e-3, 1e-4];

/// A puzzle-table element whose summed gradient lies within this fraction of the largest
/// of its step is not compared from that step on: sign-SGD moves it by the sign, which the
/// reference does not determine there (the trace leaves Adam's such elements out itself).
const PUZZLE_AMBIGUOUS: f64 = 1e-2;

fn builtin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/official_trace")
}

/// Where the vector a trace starts from is looked for (a trace has its vector's name, so
/// not beside the trace).
fn vector_dirs() -> Vec<PathBuf> {
    let mut dirs =
        vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../trm-model/tests/fixtures/vectors")];
    if let Some(d) = std::env::var_os("TRM_REFERENCE_DIR") {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

/// Names of the traces in `dir` (a `NAME.json` beside a `NAME.safetensors`), sorted.
fn trace_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("json")
            && path.with_extension("safetensors").exists()
        {
            names.push(path.file_stem().unwrap_or_default().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

struct Tensors(HashMap<String, Tensor>);

impl Tensors {
    fn read(path: &Path) -> Result<Self> {
        Ok(Self(read_state_file(path)?.into_iter().collect()))
    }
    fn get(&self, key: &str) -> Result<&Tensor> {
        self.0.get(key).with_context(|| format!("trace tensor {key} missing"))
    }
    fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
    fn f64s(&self, key: &str) -> Result<Vec<f64>> {
        Ok(self.get(key)?.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?)
    }
    fn scalar(&self, key: &str) -> Result<f64> {
        Ok(self.f64s(key)?[0])
    }
    fn ints(&self, key: &str) -> Result<Vec<i64>> {
        Ok(self.get(key)?.to_dtype(DType::I64)?.flatten_all()?.to_vec1()?)
    }
}

fn host(t: &Tensor) -> Result<Vec<f64>> {
    Ok(flat(t)?.into_iter().map(f64::from).collect())
}

/// max |a - b| / max |b| (max |a - b| when b is all zeros).
fn rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "compared lengths differ");
    let diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    let scale = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
    if scale > 0.0 {
        diff / scale
    } else {
        diff
    }
}

fn scalar_rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn pick(v: &[f64], idx: &[usize]) -> Vec<f64> {
    idx.iter().map(|&i| v[i]).collect()
}

/// The worst error of one quantity and where.
#[derive(Debug, Clone, Default)]
struct Worst {
    err: f64,
    at: String,
}

impl Worst {
    fn add(&mut self, err: f64, at: impl FnOnce() -> String) {
        assert!(!err.is_nan(), "NaN error");
        if err >= self.err {
            self.err = err;
            self.at = at();
        }
    }
}

/// Measured errors of one trace, per step, and the error of each wrong rule at step 1.
#[derive(Debug, Default)]
struct Report {
    name: String,
    steps: Vec<[Worst; 8]>,
    /// Our update recomputed by hand from our moments: how far from our own parameters.
    hand_vs_ours: f64,
    /// Per wrong rule: the quantity it shows in, the step (0 = step 1) it is checked at and
    /// its error against the trace there.
    wrong: Vec<(String, usize, usize, f64)>,
    /// Puzzle-table rows that moved / never moved over the trace.
    rows_moved: usize,
    rows_still: usize,
    /// Puzzle-table elements left out as ambiguous (see [`PUZZLE_AMBIGUOUS`]).
    puzzle_ambiguous: usize,
    distinct_lrs: usize,
}

fn tolerance(step: usize, q: usize) -> f64 {
    if step == 0 {
        FIRST[q]
    } else {
        LATER[q]
    }
}

impl Report {
    fn print(&self) {
        println!("trace {}: worst relative error per step (tolerance in brackets)", self.name);
        for (q, what) in QUANTITIES.iter().enumerate() {
            let cells: Vec<String> = self
                .steps
                .iter()
                .enumerate()
                .map(|(k, w)| format!("{:.1e} [{:.1e}]", w[q].err, tolerance(k, q)))
                .collect();
            let worst = self.steps.iter().map(|w| &w[q]).fold(&self.steps[0][q], |a, b| {
                if b.err > a.err {
                    b
                } else {
                    a
                }
            });
            println!("  {what:<7} {}  worst at {}", cells.join("  "), worst.at);
        }
        println!(
            "  hand-computed update vs our step: {:.1e}; puzzle elements left out: {}",
            self.hand_vs_ours, self.puzzle_ambiguous
        );
        for (what, q, k, err) in &self.wrong {
            let tol = tolerance(*k, *q);
            println!(
                "  wrong rule {what}: {} error {err:.1e} at step {} (must exceed {tol:.1e})",
                QUANTITIES[*q],
                k + 1
            );
        }
    }

    /// Every quantity within its tolerance, every wrong rule outside it.
    fn check(&self) -> Result<()> {
        for (k, worst) in self.steps.iter().enumerate() {
            for (q, w) in worst.iter().enumerate() {
                let tol = tolerance(k, q);
                ensure!(
                    w.err <= tol,
                    "{}: {} error {:.2e} at {} exceeds {tol:.0e}",
                    self.name,
                    QUANTITIES[q],
                    w.err,
                    w.at
                );
            }
        }
        ensure!(self.hand_vs_ours <= 1e-4, "{}: the hand-computed update differs", self.name);
        for (what, q, k, err) in &self.wrong {
            let tol = tolerance(*k, *q);
            ensure!(
                *err > tol,
                "{}: the wrong rule {what} lies within tolerance at step {} ({err:.2e} <= \
                 {tol:.0e}): the trace cannot tell it from the right one",
                self.name,
                k + 1
            );
        }
        Ok(())
    }
}

fn train_params(t: &Value) -> Result<(TrainParams, u64)> {
    let f = |k: &str| t[k].as_f64().with_context(|| format!("train.{k} missing"));
    let mut p = RunConfig::preset("sudoku4")?.train;
    p.global_batch_size = f("global_batch_size")? as usize;
    p.lr = f("lr")?;
    p.lr_min_ratio = f("lr_min_ratio")?;
    p.lr_warmup_steps = f("lr_warmup_steps")? as u64;
    p.beta1 = f("beta1")?;
    p.beta2 = f("beta2")?;
    p.weight_decay = f("weight_decay")?;
    p.puzzle_emb_lr = f("puzzle_emb_lr")?;
    p.puzzle_emb_weight_decay = f("puzzle_emb_weight_decay")?;
    p.ema = t["ema"].as_bool().context("train.ema missing")?;
    p.ema_rate = f("ema_rate")?;
    p.grad_clip = None;
    Ok((p, f("total_steps")? as u64))
}

/// The model of a trace: the vector's weights with the trace's initial puzzle table.
fn load_model(meta: &Value, trace: &Tensors) -> Result<Model> {
    let (cfg, _) = ModelConfig::from_official_json(&meta["model"].to_string())?;
    cfg.validate()?;
    ensure!(cfg.halt_exploration_prob == 0.0, "traces run without halting exploration");
    let vector = meta["vector"].as_str().context("no vector named")?;
    let path = vector_dirs()
        .into_iter()
        .map(|d| d.join(format!("{vector}.safetensors")))
        .find(|p| p.exists())
        .with_context(|| format!("the reference vector {vector}.safetensors is nowhere"))?;
    let table = trace.get("init.puzzle_emb")?.to_dtype(DType::F32)?;
    let mut state = read_state_file(&path)?;
    let mut replaced = false;
    for (name, t) in state.iter_mut() {
        if name == "weights.puzzle_emb.weights" {
            // The trace's table starts with the vector's rows.
            let n = t.dim(0)?;
            let d = rel(&host(&table.narrow(0, 0, n)?)?, &host(t)?);
            ensure!(d == 0.0, "init.puzzle_emb does not start with the vector's rows");
            *t = table.clone();
            replaced = true;
        }
    }
    ensure!(replaced, "{}: no puzzle table", path.display());
    let opts = LoadOptions { key_prefix: Some("weights.".into()), ..Default::default() };
    let (model, report) = Model::from_state(cfg, &Device::Cpu, state, &opts)?;
    ensure!(report.unexpected.is_empty(), "unexpected weights {:?}", report.unexpected);
    ensure!(model.compute_dtype() == DType::F32, "the replay runs in float32");
    Ok(model)
}

fn snapshot(model: &Model) -> Result<HashMap<String, Vec<f64>>> {
    model.trainable().iter().map(|(n, v)| Ok((n.clone(), host(v.as_tensor())?))).collect()
}

fn replay(dir: &Path, name: &str) -> Result<Report> {
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json")))?)?;
    let trace = Tensors::read(&dir.join(format!("{name}.safetensors")))?;
    let model = load_model(&meta, &trace)?;
    let (t, total_steps) = train_params(&meta["train"])?;
    let steps = meta["steps"].as_u64().context("steps missing")?;
    let gbs = t.global_batch_size;
    let mut params: Vec<String> = meta["params"]
        .as_array()
        .context("params missing")?
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    let mut ours: Vec<String> = model.trainable().iter().map(|(n, _)| n.clone()).collect();
    params.sort();
    ours.sort();
    ensure!(params == ours, "trainable parameters: trace {params:?}, ours {ours:?}");

    let mut opt = Optimizers::new(&t, &model)?;
    let mut carry = model.initial_carry(gbs)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let start = snapshot(&model)?;
    let index: HashMap<String, Vec<usize>> = params
        .iter()
        .map(|n| {
            let idx = trace.ints(&format!("index.{n}"))?;
            Ok((n.clone(), idx.into_iter().map(|i| i as usize).collect()))
        })
        .collect::<Result<_>>()?;
    let table = model.puzzle_table().context("the traces have a puzzle table")?;
    let table0 = trace.f64s("init.puzzle_emb")?;
    let width = table.dim(1)?;
    let mut moved = vec![false; table.dim(0)?];
    let mut ambiguous = vec![false; table0.len()];
    let mut lrs = Vec::new();
    let mut report = Report { name: name.to_string(), ..Default::default() };
    let (b1, b2, wd) = (t.beta1, t.beta2, t.weight_decay);

    for k in 1..=steps {
        let p = format!("step{k}.");
        let mut worst: [Worst; 8] = Default::default();
        let batch = Batch::from_tensors(
            trace.get(&format!("{p}batch.inputs"))?,
            trace.get(&format!("{p}batch.labels"))?,
            trace.get(&format!("{p}batch.puzzle_identifiers"))?,
        )?;
        let before = snapshot(&model)?;
        let ema = |opt: &Optimizers| -> Result<HashMap<String, Vec<f64>>> {
            let e = opt.ema.as_ref().context("traces keep an EMA")?;
            e.shadow.iter().map(|(n, s)| Ok((n.clone(), host(s)?))).collect()
        };
        let ema_before = ema(&opt)?;
        let table_before = host(table.as_tensor())?;

        // The trainer's step (train.rs `train_batch`), one rank.
        let local = forward_step(&model, &mut carry, &batch, &mut rng, &Single)?;
        let lr = learning_rate(t.lr, k, t.lr_warmup_steps, total_steps, t.lr_min_ratio);
        let plr = learning_rate(t.puzzle_emb_lr, k, t.lr_warmup_steps, total_steps, t.lr_min_ratio);
        let rates = UpdateRates { lr, puzzle_emb_lr: plr, grad_clip: None };
        backward_and_update(&model, &local, gbs, &Single, &mut opt, rates)?;
        let ema_now = ema(&opt)?;

        // Learning rates; the schedule shifted by one step must miss.
        let want_lr = trace.scalar(&format!("{p}lr"))?;
        let want_plr = trace.scalar(&format!("{p}puzzle_emb_lr"))?;
        worst[LR].add(scalar_rel(lr, want_lr).max(scalar_rel(plr, want_plr)), || p.clone());
        lrs.push(want_lr);
        if k == 1 {
            let next = learning_rate(t.lr, 2, t.lr_warmup_steps, total_steps, t.lr_min_ratio);
            report.wrong.push(("lr of the next step".into(), LR, 0, scalar_rel(next, want_lr)));
        }

        // Losses (sums over rows) and the carry, which must agree exactly.
        let s = &local.sums;
        for (what, ours) in [
            ("loss", Some(s.total)),
            ("lm_loss", Some(s.lm_loss)),
            ("q_halt_loss", Some(s.q_halt_loss)),
            ("q_continue_loss", s.q_continue_loss),
        ] {
            let key = format!("{p}{what}");
            match (ours, trace.has(&key)) {
                (Some(v), true) => worst[LOSS].add(scalar_rel(v, trace.scalar(&key)?), || key),
                (None, false) => {}
                (v, has) => anyhow::bail!("{key}: ours {v:?}, in the trace: {has}"),
            }
        }
        let metrics = trace.f64s(&format!("{p}metrics"))?;
        let count = s.metrics.count as f64;
        ensure!(count == metrics[0], "step {k}: {count} rows counted, the trace {}", metrics[0]);
        let flags = |key: &str| -> Result<Vec<i64>> { trace.ints(&format!("{p}{key}")) };
        let halted: Vec<bool> = flags("halted")?.iter().map(|&h| h != 0).collect();
        let steps_now: Vec<u32> = flags("steps")?.iter().map(|&h| h as u32).collect();
        let ids: Vec<i32> =
            flags("current_puzzle_identifiers")?.iter().map(|&h| h as i32).collect();
        ensure!(carry.halted == halted, "step {k}: halted {:?}, trace {halted:?}", carry.halted);
        ensure!(carry.steps == steps_now, "step {k}: steps {:?}, trace {steps_now:?}", carry.steps);
        ensure!(carry.current.puzzle_identifiers == ids, "step {k}: the carry's puzzle ids differ");

        // Parameters, moments, EMA, norms; at step 1 the wrong rules, recomputed by hand.
        let bc1 = 1.0 - b1.powi(k as i32);
        let bc2_sqrt = (1.0 - b2.powi(k as i32)).sqrt();
        let mut wrong_adam = [0.0f64; 3];
        let mut stuck = 0.0f64;
        let mut wrong_ema = [0.0f64; 2];
        for (n, var) in model.trainable() {
            let idx = &index[n];
            let now = host(var.as_tensor())?;
            let p0 = &start[n];
            let delta: Vec<f64> = now.iter().zip(p0).map(|(a, b)| a - b).collect();
            let (m, v) = opt.adam.moments(n)?.with_context(|| format!("no moments for {n}"))?;
            let m: Vec<f64> = m.into_iter().map(f64::from).collect();
            let v: Vec<f64> = v.into_iter().map(f64::from).collect();
            let ema_delta: Vec<f64> = ema_now[n].iter().zip(p0).map(|(a, b)| a - b).collect();
            let at = |what: &str| format!("{p}{what}.{n}");
            let want = |what: &str| trace.f64s(&format!("{p}{what}.{n}"));
            let (want_delta, want_ema) = (want("delta")?, want("ema_delta")?);
            worst[PARAM].add(rel(&pick(&delta, idx), &want_delta), || at("delta"));
            worst[MOM_M].add(rel(&pick(&m, idx), &want("m")?), || at("m"));
            worst[MOM_V].add(rel(&pick(&v, idx), &want("v")?), || at("v"));
            worst[EMA].add(rel(&pick(&ema_delta, idx), &want_ema), || at("ema_delta"));
            let norms = [norm(&delta), norm(&m), norm(&v), norm(&ema_delta)];
            worst[NORMS].add(rel(&norms, &want("norms")?), || at("norms"));

            // Adam-atan2 by hand from our moments: the right rule (0), then wrong ones.
            let prev = &before[n];
            let rule = |i: usize, variant: usize| -> f64 {
                let denom = v[i].sqrt() / bc2_sqrt;
                match variant {
                    0 => prev[i] * (1.0 - lr * wd) - lr / bc1 * m[i].atan2(denom),
                    1 => prev[i] * (1.0 - lr * wd) - lr * (m[i] / bc1).atan2(denom),
                    2 => (prev[i] - lr / bc1 * m[i].atan2(denom)) * (1.0 - lr * wd),
                    3 => prev[i] * (1.0 - lr * wd) - lr * (m[i] / bc1) / (denom + 1e-8),
                    // The bias corrections of step 1 (a step counter that does not advance).
                    _ => {
                        let denom1 = v[i].sqrt() / (1.0 - b2).sqrt();
                        prev[i] * (1.0 - lr * wd) - lr / (1.0 - b1) * m[i].atan2(denom1)
                    }
                }
            };
            let scale = want_delta.iter().map(|x| x.abs()).fold(0.0, f64::max).max(1e-30);
            let d = idx.iter().map(|&i| (rule(i, 0) - now[i]).abs()).fold(0.0, f64::max);
            report.hand_vs_ours = report.hand_vs_ours.max(d / scale);
            if k == 2 {
                let got: Vec<f64> = idx.iter().map(|&i| rule(i, 4) - p0[i]).collect();
                stuck = stuck.max(rel(&got, &want_delta));
            }
            if k == 1 {
                for (slot, variant) in wrong_adam.iter_mut().zip(1..) {
                    let got: Vec<f64> = idx.iter().map(|&i| rule(i, variant) - p0[i]).collect();
                    *slot = slot.max(rel(&got, &want_delta));
                }
                // The EMA with its rate swapped, and from the parameters before the step.
                let (r, s0) = (t.ema_rate, &ema_before[n]);
                let swapped: Vec<f64> =
                    idx.iter().map(|&i| r * now[i] + (1.0 - r) * s0[i] - p0[i]).collect();
                let early: Vec<f64> =
                    idx.iter().map(|&i| (1.0 - r) * prev[i] + r * s0[i] - p0[i]).collect();
                wrong_ema[0] = wrong_ema[0].max(rel(&swapped, &want_ema));
                wrong_ema[1] = wrong_ema[1].max(rel(&early, &want_ema));
            }
        }
        if k == 2 {
            report.wrong.push(("Adam-atan2 step counter stuck at 1".into(), PARAM, 1, stuck));
        }
        if k == 1 {
            let names = [
                "Adam-atan2 bias correction inside the atan2",
                "Adam-atan2 weight decay after the update",
                "Adam with epsilon instead of atan2",
            ];
            for (what, e) in names.iter().zip(wrong_adam) {
                report.wrong.push((what.to_string(), PARAM, 0, e));
            }
            report.wrong.push(("EMA rate swapped".into(), EMA, 0, wrong_ema[0]));
            report.wrong.push((
                "EMA of the parameters before the step".into(),
                EMA,
                0,
                wrong_ema[1],
            ));
        }

        // The puzzle table, leaving out elements whose summed gradient is near zero.
        let grad = trace.f64s(&format!("{p}puzzle_emb_grad"))?;
        let mut sums: HashMap<usize, Vec<f64>> = HashMap::new();
        for (b, &id) in ids.iter().enumerate() {
            let acc = sums.entry(id as usize).or_insert_with(|| vec![0.0; width]);
            for (a, g) in acc.iter_mut().zip(&grad[b * width..(b + 1) * width]) {
                *a += g;
            }
        }
        let largest = sums.values().flatten().map(|g| g.abs()).fold(0.0, f64::max);
        for (&id, row) in &sums {
            moved[id] = true;
            for (j, g) in row.iter().enumerate() {
                ambiguous[id * width + j] |= g.abs() < PUZZLE_AMBIGUOUS * largest;
            }
        }
        let now = host(table.as_tensor())?;
        let want = trace.f64s(&format!("{p}puzzle_emb_delta"))?;
        let clear = |v: &[f64]| -> Vec<f64> {
            v.iter().zip(&ambiguous).map(|(&x, &a)| if a { 0.0 } else { x }).collect()
        };
        let delta: Vec<f64> = now.iter().zip(&table0).map(|(a, b)| a - b).collect();
        worst[PUZZLE].add(rel(&clear(&delta), &clear(&want)), || format!("{p}puzzle_emb_delta"));
        for (row, still) in want.chunks(width).zip(moved.iter()) {
            ensure!(
                *still || row.iter().all(|&x| x == 0.0),
                "step {k}: a row not in any batch moved"
            );
        }
        if k == 1 {
            // Sign-SGD with the decay after the sign step (the sign read back from our update).
            let decay = 1.0 - plr * t.puzzle_emb_weight_decay;
            let got: Vec<f64> = table_before
                .iter()
                .zip(&now)
                .zip(&table0)
                .map(|((&w, &w_new), &w0)| {
                    if w_new == w {
                        w - w0
                    } else {
                        let sign = ((w * decay - w_new) / plr).round();
                        (w - plr * sign) * decay - w0
                    }
                })
                .collect();
            let e = rel(&clear(&got), &clear(&want));
            report.wrong.push(("sign-SGD decay after the sign step".into(), PUZZLE, 0, e));
        }
        report.steps.push(worst);
    }
    report.rows_moved = moved.iter().filter(|&&m| m).count();
    report.rows_still = moved.len() - report.rows_moved;
    report.puzzle_ambiguous = ambiguous.iter().filter(|&&a| a).count();
    lrs.dedup();
    report.distinct_lrs = lrs.len();
    Ok(report)
}

fn replay_dir(dir: &Path) -> Vec<Report> {
    let names = trace_names(dir).unwrap();
    assert!(!names.is_empty(), "{}: no traces (NAME.json beside NAME.safetensors)", dir.display());
    let mut failures = Vec::new();
    let mut reports = Vec::new();
    for name in names {
        match replay(dir, &name).and_then(|r| {
            r.print();
            r.check().map(|_| r)
        }) {
            Ok(r) => reports.push(r),
            Err(e) => {
                println!("trace {name} FAILED ({}): {e:#}", dir.display());
                failures.push(name);
            }
        }
    }
    assert!(failures.is_empty(), "official traces failed: {failures:?}");
    reports
}

/// The built-in traces: both TRM token mixers and HRM; in each, some puzzle rows move and
/// some do not, the lr changes at every step, and every wrong rule is told apart.
#[test]
fn official_training_traces() {
    let reports = replay_dir(&builtin_dir());
    let names: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["hrm_att_tiny", "maze_att_tiny", "sudoku_mlp_tiny"]);
    for r in &reports {
        assert!(
            r.rows_moved >= 2 && r.rows_still >= 1,
            "{}: rows moved {}, still {}",
            r.name,
            r.rows_moved,
            r.rows_still
        );
        assert!(r.distinct_lrs >= 4, "{}: {} distinct learning rates", r.name, r.distinct_lrs);
        assert_eq!(r.wrong.len(), 8, "{}", r.name);
    }
}

#[test]
fn traces_from_trm_trace_dir() {
    match std::env::var_os("TRM_TRACE_DIR") {
        Some(d) => {
            replay_dir(Path::new(&d));
        }
        None => eprintln!("TRM_TRACE_DIR not set: the built-in traces only"),
    }
}
