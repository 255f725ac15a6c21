//! The models against tensors produced by the official PyTorch code (reference vectors).
//!
//! A vector is a pair `NAME.json` (an official configuration) and `NAME.safetensors` (weights,
//! a batch, and what the official code computed from them, in float64), optionally with
//! `NAME.step_0` (the same weights as the official trainer's `torch.save` checkpoint). The
//! format and the tolerances are described in the README beside the repository's vectors
//! (`crates/trm-model/tests/fixtures/vectors`). [`check_dir`] checks every vector of a folder:
//! every evaluation step teacher-forced (and step 1 from a fresh carry), the evaluation losses,
//! the training loss and every gradient of the first training call, the training-carry trace,
//! and loading the same weights from `NAME.step_0`. `trm check-reference` and the test
//! `tests/reference.rs` both call it, on any device and in f32 or bf16.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use candle_core::{DType, Device, Tensor};
use rand::SeedableRng;

use crate::{act_loss, names, read_state_file, Batch, Carry, LoadOptions, Model, ModelConfig};

/// How far a run may lie from the reference (relative error = max |a - b| / max |b|).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// One supervision step (logits, Q logits, z_H, z_L) and the evaluation losses.
    pub step: f64,
    /// The losses of the first training call.
    pub loss: f64,
    /// The gradients of the first training call.
    pub grad: f64,
    /// Training-trace calls whose `halted`, `steps` and `current_inputs` must agree exactly.
    pub exact_calls: usize,
}

impl Tolerances {
    /// What a faithful float32 port meets (the vectors README: the official code in float32
    /// stays within 2.1e-5 per step, 1.7e-7 on the loss, 3.7e-5 on the gradients).
    pub const F32: Tolerances = Tolerances { step: 1e-4, loss: 1e-5, grad: 1e-3, exact_calls: 4 };
    /// bf16 autocast (weights f32, activations bf16), measured on the CPU with bf16 forced:
    /// the attention vectors stay within 6e-2 per step, 1.3e-3 on the losses and 5.6e-2 on the
    /// gradients; the `mlp_t` vector, whose random-weight recursion amplifies rounding (the
    /// README: about tenfold per supervision step), reaches 1.8e-1 per step, 2.9e-2 on the loss
    /// and 1.7e-1 on the gradients. The trace's halting decisions rest on Q logits near zero,
    /// so bf16 rounding may flip them: the trace is reported, not enforced.
    pub const BF16: Tolerances =
        Tolerances { step: 2.5e-1, loss: 5e-2, grad: 2.5e-1, exact_calls: 0 };

    /// The tolerances of a compute dtype (f32 or bf16).
    pub fn for_dtype(dtype: DType) -> Result<Tolerances> {
        match dtype {
            DType::F32 => Ok(Tolerances::F32),
            DType::BF16 => Ok(Tolerances::BF16),
            other => bail!("no reference tolerances for {other:?}; use f32 or bf16"),
        }
    }

    /// The tolerances as a JSON object (`trm check-reference --json`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "step": self.step, "loss": self.loss, "grad": self.grad, "exact_calls": self.exact_calls,
        })
    }
}

/// The worst error of one category and where it happened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Worst {
    /// The largest relative error seen so far.
    pub err: f64,
    /// Where it occurred: the reference key or the parameter name.
    pub at: String,
}

impl Worst {
    fn add(&mut self, err: f64, at: impl Into<String>) {
        if err >= self.err {
            self.err = err;
            self.at = at.into();
        }
    }

    fn check(&self, tol: f64, category: &str) -> Result<()> {
        ensure!(
            self.err <= tol,
            "{category}: relative error {:.2e} at {} exceeds {tol:.0e}",
            self.err,
            self.at
        );
        Ok(())
    }
}

/// What one vector measured; every category already passed its tolerance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VectorReport {
    /// The vector's `NAME` (of `NAME.json` and `NAME.safetensors`).
    pub name: String,
    /// Evaluation step 1 from a fresh carry.
    pub fresh: Worst,
    /// Evaluation steps 2.. from the reference carry of the step before.
    pub forced: Worst,
    /// Worst of all evaluation steps, by kind: logits, q_halt_logits, z_H, z_L.
    pub by_kind: [f64; 4],
    /// The evaluation losses of every supervision step.
    pub eval_loss: Worst,
    /// The losses of the first training call (total, token, Q-halt, Q-continue).
    pub train_loss: Worst,
    /// The gradients of the first training call, over every parameter.
    pub grad: Worst,
    /// Training calls (the first included) whose carry equals the reference's, of `calls`.
    pub trace_equal: usize,
    /// Training calls in the reference trace, the first included.
    pub calls: usize,
    /// Worst loss of the later training calls whose carry agreed.
    pub trace_loss: Worst,
    /// `Some(true)` when `NAME.step_0` loads to the same tensors; `None` without that file.
    pub step0_identical: Option<bool>,
}

impl VectorReport {
    /// One line for a person.
    pub fn line(&self) -> String {
        let step0 = match self.step0_identical {
            Some(_) => "step_0 identical",
            None => "no step_0",
        };
        format!(
            "reference {} ok: step1 {:.1e}, teacher-forced {:.1e} [logits {:.1e}, q_halt {:.1e}, \
             z_H {:.1e}, z_L {:.1e}], eval loss {:.1e}, train loss {:.1e}, grads {:.1e} ({}), \
             trace {}/{} calls equal (loss {:.1e}), {step0}",
            self.name,
            self.fresh.err,
            self.forced.err,
            self.by_kind[0],
            self.by_kind[1],
            self.by_kind[2],
            self.by_kind[3],
            self.eval_loss.err,
            self.train_loss.err,
            self.grad.err,
            self.grad.at,
            self.trace_equal,
            self.calls,
            self.trace_loss.err,
        )
    }

    /// The measured errors as a JSON object (the fields of a passed vector in
    /// `trm check-reference --json`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "vector": self.name, "ok": true,
            "step1": self.fresh.err, "teacher_forced": self.forced.err,
            "logits": self.by_kind[0], "q_halt_logits": self.by_kind[1],
            "z_H": self.by_kind[2], "z_L": self.by_kind[3],
            "eval_loss": self.eval_loss.err, "train_loss": self.train_loss.err,
            "grad": self.grad.err, "grad_at": self.grad.at,
            "trace_equal": self.trace_equal, "trace_calls": self.calls,
            "trace_loss": self.trace_loss.err, "step0_identical": self.step0_identical,
        })
    }
}

/// One folder's outcome: a report per vector that passed, an error per vector that failed.
pub struct DirOutcome {
    /// The folder that was checked.
    pub dir: PathBuf,
    /// The dtype the models computed in.
    pub dtype: DType,
    /// The tolerances of that dtype.
    pub tolerances: Tolerances,
    /// Each vector's name with its report, or the error it failed with.
    pub results: Vec<(String, Result<VectorReport>)>,
}

impl DirOutcome {
    /// Names of the vectors that failed.
    pub fn failures(&self) -> Vec<&str> {
        self.results.iter().filter(|(_, r)| r.is_err()).map(|(n, _)| n.as_str()).collect()
    }

    /// One line per vector for a person, each led by `device` (as named) and the dtype.
    pub fn lines(&self, device: &str) -> String {
        let dtype = self.dtype.as_str();
        let line = |(vector, result): &(String, Result<VectorReport>)| match result {
            Ok(r) => format!("{device} {dtype}: {}\n", r.line()),
            Err(e) => format!("{device} {dtype}: reference {vector} FAILED: {e:#}\n"),
        };
        self.results.iter().map(line).collect()
    }

    /// One JSON object per vector (`trm check-reference --json`): its name, the dtype,
    /// whether it passed, the errors measured ([`VectorReport::to_json`]) or the error it
    /// failed with, and the tolerances.
    pub fn json_rows(&self) -> Vec<serde_json::Value> {
        let tolerances = self.tolerances.to_json();
        let row = |(vector, result): &(String, Result<VectorReport>)| {
            let mut row = match result {
                Ok(r) => r.to_json(),
                Err(e) => {
                    serde_json::json!({ "vector": vector, "ok": false, "error": format!("{e:#}") })
                }
            };
            row["dtype"] = self.dtype.as_str().into();
            row["tolerances"] = tolerances.clone();
            row
        };
        self.results.iter().map(row).collect()
    }
}

/// Checks every vector of `dir` on `device`, computing in `dtype` (f32 or bf16). Errors only
/// when the folder cannot be read or holds no vector; a vector that fails is in the outcome.
pub fn check_dir(dir: &Path, device: &Device, dtype: DType) -> Result<DirOutcome> {
    let tol = Tolerances::for_dtype(dtype)?;
    let names = vector_names(dir)?;
    ensure!(
        !names.is_empty(),
        "{}: no reference vectors here (a vector is a NAME.json next to a NAME.safetensors)",
        dir.display()
    );
    let results =
        names.into_iter().map(|n| (n.clone(), check_vector(dir, &n, device, dtype, tol))).collect();
    Ok(DirOutcome { dir: dir.to_path_buf(), dtype, tolerances: tol, results })
}

/// Names of the vectors in `dir` (a `NAME.json` next to a `NAME.safetensors`), sorted.
pub fn vector_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the reference folder {}", dir.display()))?;
    for entry in entries {
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

fn host_f64(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.to_device(&Device::Cpu)?.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?)
}

fn rel_err(ours: &Tensor, reference: &Tensor, what: &str) -> Result<f64> {
    ensure!(
        ours.dims() == reference.dims(),
        "{what}: shape {:?}, reference {:?}",
        ours.dims(),
        reference.dims()
    );
    let (a, b) = (host_f64(ours)?, host_f64(reference)?);
    let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    let scale = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
    let err = if scale > 0.0 { diff / scale } else { diff };
    ensure!(err.is_finite(), "{what}: non-finite error");
    Ok(err)
}

fn scalar_rel_err(ours: f64, reference: f64) -> f64 {
    (ours - reference).abs() / reference.abs().max(f64::MIN_POSITIVE)
}

struct Vectors {
    tensors: HashMap<String, Tensor>,
}

impl Vectors {
    fn get(&self, key: &str) -> Result<&Tensor> {
        self.tensors.get(key).with_context(|| format!("reference tensor {key} missing"))
    }

    fn ints(&self, key: &str) -> Result<Vec<i64>> {
        Ok(self.get(key)?.to_dtype(DType::I64)?.flatten_all()?.to_vec1()?)
    }

    fn flags(&self, key: &str) -> Result<Vec<bool>> {
        Ok(self.ints(key)?.iter().map(|&h| h != 0).collect())
    }

    fn scalar(&self, key: &str) -> Result<f64> {
        Ok(host_f64(self.get(key)?)?[0])
    }

    fn batch(&self, prefix: &str) -> Result<Batch> {
        Batch::from_tensors(
            self.get(&format!("{prefix}.inputs"))?,
            self.get(&format!("{prefix}.labels"))?,
            self.get(&format!("{prefix}.puzzle_identifiers"))?,
        )
    }
}

fn load(
    cfg: ModelConfig,
    device: &Device,
    dtype: DType,
    state: Vec<(String, Tensor)>,
) -> Result<Model> {
    let opts = LoadOptions { key_prefix: Some("weights.".into()), ..Default::default() };
    let (mut model, report) = Model::from_state(cfg, device, state, &opts)?;
    ensure!(
        report.unexpected.is_empty(),
        "reference weights the model does not have: {:?}",
        report.unexpected
    );
    model.set_compute_dtype(dtype)?;
    Ok(model)
}

/// Checks one vector against `tol`.
fn check_vector(
    dir: &Path,
    name: &str,
    device: &Device,
    dtype: DType,
    tol: Tolerances,
) -> Result<VectorReport> {
    let (cfg, _ignored) = ModelConfig::from_official_json_file(&dir.join(format!("{name}.json")))?;
    let vectors = Vectors {
        tensors: read_state_file(&dir.join(format!("{name}.safetensors")))?.into_iter().collect(),
    };
    let all: Vec<(String, Tensor)> =
        vectors.tensors.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let model = load(cfg.clone(), device, dtype, all.clone())?;
    let mut report = VectorReport { name: name.to_string(), ..Default::default() };

    // Loading the official torch.save checkpoint gives the same tensors.
    let step0 = dir.join(format!("{name}.step_0"));
    if step0.exists() {
        let (from_torch, loaded) =
            Model::from_file(cfg.clone(), device, &step0, &LoadOptions::default())?;
        ensure!(
            loaded.unexpected.is_empty(),
            "{}: unexpected keys {:?}",
            step0.display(),
            loaded.unexpected
        );
        for ((n, a), (_, b)) in model.state().iter().zip(from_torch.state().iter()) {
            let d = host_f64(&(a - b)?.abs()?)?.into_iter().fold(0.0, f64::max);
            ensure!(
                d == 0.0,
                "{}: tensor {n} differs from the safetensors weights by {d}",
                step0.display()
            );
        }
        report.step0_identical = Some(true);
    }

    let batch0 = vectors.batch("batch0")?;
    let b = batch0.batch_size();

    // Evaluation: step 1 from a fresh carry, step K from the reference carry of step K-1.
    for k in 1..=cfg.halt_max_steps {
        let mut carry = if k == 1 {
            model.initial_carry(b)?
        } else {
            let z = |kind: &str| -> Result<Tensor> {
                Ok(vectors.get(&format!("eval.step{}.{kind}", k - 1))?.to_device(device)?)
            };
            Carry {
                z_h: z("z_H")?,
                z_l: z("z_L")?,
                steps: vec![(k - 1) as u32; b],
                halted: vec![false; b],
                current: batch0.clone(),
            }
        };
        let out = model.eval_step(&mut carry, &batch0)?;
        let p = format!("eval.step{k}");
        for (i, (kind, ours)) in [
            ("logits", &out.logits),
            ("q_halt_logits", &out.q_halt_logits),
            ("z_H", &carry.z_h),
            ("z_L", &carry.z_l),
        ]
        .into_iter()
        .enumerate()
        {
            let key = format!("{p}.{kind}");
            let err = rel_err(ours, vectors.get(&key)?, &key)?;
            if k == 1 { &mut report.fresh } else { &mut report.forced }.add(err, key);
            report.by_kind[i] = report.by_kind[i].max(err);
        }
        let want_halted = vectors.flags(&format!("{p}.halted"))?;
        ensure!(
            carry.halted == want_halted,
            "{p}.halted: ours {:?}, reference {want_halted:?}",
            carry.halted
        );
        let loss = act_loss(cfg.loss_type, &out, &carry)?;
        let total: f64 = loss.total.to_scalar()?;
        report
            .eval_loss
            .add(scalar_rel_err(total, vectors.scalar(&format!("{p}.loss"))?), format!("{p}.loss"));
    }
    report.fresh.check(tol.step, "eval step 1 from a fresh carry")?;
    report.forced.check(tol.step, "eval steps teacher-forced")?;
    report.eval_loss.check(tol.step, "eval losses")?;

    // Training, call 1 from a fresh carry: losses and every gradient.
    // The reference ran them with halt_exploration_prob = 0, whatever NAME.json says.
    let mut train_cfg = cfg.clone();
    train_cfg.halt_exploration_prob = 0.0;
    let model = load(train_cfg, device, dtype, all)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut carry = model.initial_carry(b)?;
    let out = model.train_step(&mut carry, &batch0, &mut rng)?;
    let loss = act_loss(cfg.loss_type, &out, &carry)?;
    let total: f64 = loss.total.to_scalar()?;
    let train_loss = &mut report.train_loss;
    train_loss.add(scalar_rel_err(total, vectors.scalar("train.step1.loss")?), "loss");
    train_loss.add(scalar_rel_err(loss.lm_loss, vectors.scalar("train.step1.lm_loss")?), "lm_loss");
    train_loss.add(
        scalar_rel_err(loss.q_halt_loss, vectors.scalar("train.step1.q_halt_loss")?),
        "q_halt_loss",
    );
    match (loss.q_continue_loss, vectors.tensors.contains_key("train.step1.q_continue_loss")) {
        (Some(ours), true) => train_loss.add(
            scalar_rel_err(ours, vectors.scalar("train.step1.q_continue_loss")?),
            "q_continue_loss",
        ),
        (None, false) => {}
        (ours, has) => bail!("q_continue_loss: ours {ours:?}, in the reference: {has}"),
    }
    report.train_loss.check(tol.loss, "train.step1 losses")?;

    let grads = loss.total.backward()?;
    let mut checked = 0;
    for (pname, var) in model.trainable() {
        let g = grads.get(var).with_context(|| format!("no gradient for {pname}"))?;
        let key = format!("train.step1.grad.{pname}");
        report.grad.add(rel_err(g, vectors.get(&key)?, &key)?, pname.clone());
        checked += 1;
    }
    if let Some(rows) = &out.puzzle_rows {
        let g = grads.get(&rows.local).context("no gradient for the puzzle-embedding rows")?;
        let key = "train.step1.grad.puzzle_emb.local_weights";
        report.grad.add(rel_err(g, vectors.get(key)?, "puzzle rows")?, names::PUZZLE_LOCAL);
        checked += 1;
    }
    let ref_grads = vectors.tensors.keys().filter(|k| k.starts_with("train.step1.grad.")).count();
    ensure!(checked == ref_grads, "checked {checked} gradients, the reference has {ref_grads}");
    report.grad.check(tol.grad, "train.step1 gradients")?;

    // Training-carry trace: calls 2.. with fresh batches, no optimizer step in between.
    let mut k = 2;
    report.trace_equal = 1;
    while vectors.tensors.contains_key(&format!("train.step{k}.batch.inputs")) {
        let batch = vectors.batch(&format!("train.step{k}.batch"))?;
        let out = model.train_step(&mut carry, &batch, &mut rng)?;
        let halted = vectors.flags(&format!("train.step{k}.halted"))?;
        let steps: Vec<u32> =
            vectors.ints(&format!("train.step{k}.steps"))?.iter().map(|&s| s as u32).collect();
        let inputs: Vec<i32> = vectors
            .ints(&format!("train.step{k}.current_inputs"))?
            .iter()
            .map(|&s| s as i32)
            .collect();
        if k <= tol.exact_calls {
            ensure!(
                carry.halted == halted,
                "train call {k}: halted {:?}, reference {halted:?}",
                carry.halted
            );
            ensure!(
                carry.steps == steps,
                "train call {k}: steps {:?}, reference {steps:?}",
                carry.steps
            );
            ensure!(
                carry.current.inputs == inputs,
                "train call {k}: current_inputs differ from the reference"
            );
        }
        if carry.halted == halted && carry.steps == steps && carry.current.inputs == inputs {
            report.trace_equal += 1;
            let loss = act_loss(cfg.loss_type, &out, &carry)?;
            let total: f64 = loss.total.to_scalar()?;
            report.trace_loss.add(
                scalar_rel_err(total, vectors.scalar(&format!("train.step{k}.loss"))?),
                format!("train.step{k}.loss"),
            );
        }
        k += 1;
    }
    report.calls = k - 1;
    report.trace_loss.check(tol.step, "losses of the later training calls that agree")?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_print_as_lines_and_json_rows() {
        let report = VectorReport {
            name: "good".into(),
            grad: Worst { err: 2e-6, at: "w".into() },
            calls: 5,
            trace_equal: 5,
            ..VectorReport::default()
        };
        let outcome = DirOutcome {
            dir: PathBuf::from("vectors"),
            dtype: DType::BF16,
            tolerances: Tolerances::BF16,
            results: vec![
                ("good".into(), Ok(report)),
                ("bad".into(), Err(anyhow::anyhow!("logits: too far"))),
            ],
        };
        let lines = outcome.lines("cuda");
        assert!(lines.starts_with("cuda bf16: reference good ok: step1 0.0e0,"), "{lines}");
        assert!(lines.contains("grads 2.0e-6 (w), trace 5/5 calls equal"), "{lines}");
        assert!(lines.ends_with("\ncuda bf16: reference bad FAILED: logits: too far\n"), "{lines}");

        let rows = outcome.json_rows();
        assert_eq!(
            (rows[0]["vector"].as_str(), rows[0]["ok"].as_bool()),
            (Some("good"), Some(true))
        );
        assert_eq!(
            (rows[0]["grad"].as_f64(), rows[0]["grad_at"].as_str()),
            (Some(2e-6), Some("w"))
        );
        assert_eq!(
            (rows[0]["trace_calls"].as_u64(), rows[0]["dtype"].as_str()),
            (Some(5), Some("bf16"))
        );
        assert!(rows[0]["step0_identical"].is_null());
        assert_eq!(rows[1]["error"], "logits: too far");
        assert_eq!(
            (rows[1]["ok"].as_bool(), rows[1]["tolerances"]["step"].as_f64()),
            (Some(false), Some(0.25))
        );
    }
}
