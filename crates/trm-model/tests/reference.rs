//! The models against tensors produced by the official PyTorch code (fixtures/vectors/README.md).
//!
//! Every `NAME.json` / `NAME.safetensors` pair in `tests/fixtures/vectors` and, when set, in
//! the directory named by `TRM_REFERENCE_DIR` is checked: every evaluation step teacher-forced
//! (and step 1 from a fresh carry), the training loss and every gradient of the first training
//! call, the training-carry trace, and loading the same weights from `NAME.step_0`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use candle_core::{DType, Device, Tensor};
use rand::SeedableRng;
use trm_model::{act_loss, names, read_state_file, Batch, Carry, LoadOptions, Model, ModelConfig};

/// README tolerances (relative error = max |a - b| / max |b|).
const TOL_STEP: f64 = 1e-4;
const TOL_LOSS: f64 = 1e-5;
const TOL_GRAD: f64 = 1e-3;
/// Training-trace calls that must agree exactly.
const EXACT_CALLS: usize = 4;

fn host_f64(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?)
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

/// Worst error of one category and where it happened.
#[derive(Default)]
struct Worst {
    err: f64,
    at: String,
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

/// Names of the vectors in `dir` (a `NAME.json` next to a `NAME.safetensors`).
fn vector_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("json")
            && path.with_extension("safetensors").exists()
        {
            names.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Checks one vector; returns the line to print.
fn check_vector(dir: &Path, name: &str) -> Result<String> {
    let device = Device::Cpu;
    let (cfg, _ignored) = ModelConfig::from_official_json_file(&dir.join(format!("{name}.json")))?;
    let vectors = Vectors {
        tensors: read_state_file(&dir.join(format!("{name}.safetensors")))?.into_iter().collect(),
    };
    let opts = LoadOptions { key_prefix: Some("weights.".into()), ..Default::default() };
    let all: Vec<(String, Tensor)> =
        vectors.tensors.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let (model, report) = Model::from_state(cfg.clone(), &device, all, &opts)?;
    ensure!(
        report.unexpected.is_empty(),
        "reference weights the model does not have: {:?}",
        report.unexpected
    );

    // Loading the official torch.save checkpoint gives the same tensors.
    let step0 = dir.join(format!("{name}.step_0"));
    let step0_note = if step0.exists() {
        let (from_torch, report) =
            Model::from_file(cfg.clone(), &device, &step0, &LoadOptions::default())?;
        ensure!(
            report.unexpected.is_empty(),
            "{}: unexpected keys {:?}",
            step0.display(),
            report.unexpected
        );
        for ((n, a), (_, b)) in model.state().iter().zip(from_torch.state().iter()) {
            let d = (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            ensure!(
                d == 0.0,
                "{}: tensor {n} differs from the safetensors weights by {d}",
                step0.display()
            );
        }
        "step_0 identical"
    } else {
        "no step_0"
    };

    let batch0 = vectors.batch("batch0")?;
    let b = batch0.batch_size();

    // Evaluation: step 1 from a fresh carry, step K from the reference carry of step K-1.
    let mut fresh = Worst::default();
    let mut forced = Worst::default();
    let mut eval_loss = Worst::default();
    let mut per_kind: [Worst; 4] = Default::default();
    for k in 1..=cfg.halt_max_steps {
        let mut carry = if k == 1 {
            model.initial_carry(b)?
        } else {
            Carry {
                z_h: vectors.get(&format!("eval.step{}.z_H", k - 1))?.to_dtype(DType::F32)?,
                z_l: vectors.get(&format!("eval.step{}.z_L", k - 1))?.to_dtype(DType::F32)?,
                steps: vec![(k - 1) as u32; b],
                halted: vec![false; b],
                current: batch0.clone(),
            }
        };
        let out = model.eval_step(&mut carry, &batch0)?;
        let worst = if k == 1 { &mut fresh } else { &mut forced };
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
            worst.add(err, key.clone());
            per_kind[i].add(err, key);
        }
        let want_halted: Vec<bool> =
            vectors.ints(&format!("{p}.halted"))?.iter().map(|&h| h != 0).collect();
        ensure!(
            carry.halted == want_halted,
            "{p}.halted: ours {:?}, reference {want_halted:?}",
            carry.halted
        );
        let loss = act_loss(cfg.loss_type, &out, &carry)?;
        let total: f64 = loss.total.to_scalar()?;
        eval_loss
            .add(scalar_rel_err(total, vectors.scalar(&format!("{p}.loss"))?), format!("{p}.loss"));
    }
    fresh.check(TOL_STEP, "eval step 1 from a fresh carry")?;
    forced.check(TOL_STEP, "eval steps teacher-forced")?;
    eval_loss.check(TOL_STEP, "eval losses")?;

    // Training, call 1 from a fresh carry: losses and every gradient.
    // The reference ran them with halt_exploration_prob = 0, whatever NAME.json says.
    let mut train_cfg = cfg.clone();
    train_cfg.halt_exploration_prob = 0.0;
    let weights: Vec<(String, Tensor)> = model.state();
    let (model, _) = Model::from_state(train_cfg, &device, weights, &LoadOptions::default())?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut carry = model.initial_carry(b)?;
    let out = model.train_step(&mut carry, &batch0, &mut rng)?;
    let loss = act_loss(cfg.loss_type, &out, &carry)?;
    let mut train_loss = Worst::default();
    let total: f64 = loss.total.to_scalar()?;
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
        (ours, _) => bail!("q_continue_loss: ours {ours:?}, reference has it: {}", ours.is_none()),
    }
    train_loss.check(TOL_LOSS, "train.step1 losses")?;

    let grads = loss.total.backward()?;
    let mut grad = Worst::default();
    let mut checked = 0;
    for (pname, var) in model.trainable() {
        let g = grads.get(var).with_context(|| format!("no gradient for {pname}"))?;
        let key = format!("train.step1.grad.{pname}");
        grad.add(rel_err(g, vectors.get(&key)?, &key)?, pname.clone());
        checked += 1;
    }
    if let Some(rows) = &out.puzzle_rows {
        let g = grads.get(&rows.local).context("no gradient for the puzzle-embedding rows")?;
        grad.add(
            rel_err(g, vectors.get("train.step1.grad.puzzle_emb.local_weights")?, "puzzle rows")?,
            names::PUZZLE_LOCAL,
        );
        checked += 1;
    }
    let ref_grads = vectors.tensors.keys().filter(|k| k.starts_with("train.step1.grad.")).count();
    ensure!(checked == ref_grads, "checked {checked} gradients, the reference has {ref_grads}");
    grad.check(TOL_GRAD, "train.step1 gradients")?;

    // Training-carry trace: calls 2.. with fresh batches, no optimizer step in between.
    let mut k = 2;
    let mut agreeing = 1;
    let mut later_loss = Worst::default();
    while vectors.tensors.contains_key(&format!("train.step{k}.batch.inputs")) {
        let batch = vectors.batch(&format!("train.step{k}.batch"))?;
        let out = model.train_step(&mut carry, &batch, &mut rng)?;
        let halted: Vec<bool> =
            vectors.ints(&format!("train.step{k}.halted"))?.iter().map(|&h| h != 0).collect();
        let steps: Vec<u32> =
            vectors.ints(&format!("train.step{k}.steps"))?.iter().map(|&s| s as u32).collect();
        let inputs: Vec<i32> = vectors
            .ints(&format!("train.step{k}.current_inputs"))?
            .iter()
            .map(|&s| s as i32)
            .collect();
        let same = carry.halted == halted && carry.steps == steps && carry.current.inputs == inputs;
        if k <= EXACT_CALLS {
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
        if same {
            agreeing += 1;
            let loss = act_loss(cfg.loss_type, &out, &carry)?;
            let total: f64 = loss.total.to_scalar()?;
            later_loss.add(
                scalar_rel_err(total, vectors.scalar(&format!("train.step{k}.loss"))?),
                format!("train.step{k}.loss"),
            );
        }
        k += 1;
    }

    Ok(format!(
        "reference {name} ok: step1 {:.1e}, teacher-forced {:.1e} [logits {:.1e}, q_halt {:.1e}, z_H {:.1e}, z_L {:.1e}], \
         eval loss {:.1e}, train loss {:.1e}, grads {:.1e} ({}), trace {agreeing}/{} calls equal (loss {:.1e}), {step0_note}",
        fresh.err,
        forced.err,
        per_kind[0].err,
        per_kind[1].err,
        per_kind[2].err,
        per_kind[3].err,
        eval_loss.err,
        train_loss.err,
        grad.err,
        grad.at,
        k - 1,
        later_loss.err,
    ))
}

#[test]
fn reference_vectors() {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors")];
    if let Some(d) = std::env::var_os("TRM_REFERENCE_DIR") {
        dirs.push(PathBuf::from(d));
    }
    let mut failures = Vec::new();
    for dir in &dirs {
        let names = vector_names(dir).unwrap();
        assert!(!names.is_empty(), "no NAME.json / NAME.safetensors pairs in {}", dir.display());
        for name in names {
            match check_vector(dir, &name) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    println!("reference {name} FAILED ({}): {e:#}", dir.display());
                    failures.push(name);
                }
            }
        }
    }
    assert!(failures.is_empty(), "reference vectors failed: {failures:?}");
}
