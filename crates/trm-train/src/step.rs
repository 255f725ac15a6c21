//! The training step: one supervision step and one update (the paper's figure 3, official
//! `pretrain.py` `train_batch`). [`forward_step`] runs the model once on this rank's rows with
//! its carry (deep recursion: T-1 cycles without gradient, one with) and computes the ACT loss;
//! [`backward_and_update`] back-propagates the loss divided by the global batch size, sums the
//! gradients over the ranks ([`reduce_gradients`]) and applies the [`Optimizers`]: optional
//! clipping, Adam-atan2 on the dense weights, sign-SGD on the puzzle-embedding rows of the
//! batch, then the EMA. [`data_parallel_step`] is both; with one rank it is the plain step.

use anyhow::{ensure, Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor};
use rand::Rng;
use std::collections::BTreeMap;
use trm_model::{
    act_loss, act_loss_on, Batch, Carry, LossOutput, Metrics, Model, PuzzleRows, StepOutput,
};

use crate::collective::{all_reduce_f64, Collective};
use crate::config::TrainParams;
use crate::ema::Ema;
use crate::optim::{flat, AdamAtan2, SignSgd};
use crate::path_labels::relabel_nearest_paths;

/// Per-step sums over all ranks' rows: losses (not divided), metrics, rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepSums {
    /// `lm + 0.5 (q_halt + q_continue)`, the loss before the division by the global batch.
    pub total: f64,
    /// Language-model loss: each row's mean token loss over its valid labels, summed over rows.
    pub lm_loss: f64,
    /// Binary cross-entropy of the q_halt logits against "answer exactly right", summed
    /// over rows.
    pub q_halt_loss: f64,
    /// Loss of the q_continue logits against their bootstrapped target, summed over rows (only
    /// when the step has that target, as in HRM training).
    pub q_continue_loss: Option<f64>,
    /// Accuracy sums over the rows that halted at this step.
    pub metrics: Metrics,
    /// Rows of the batch over all ranks (the global batch size).
    pub rows: usize,
}

impl StepSums {
    /// This rank's sums.
    pub fn local(loss: &LossOutput, rows: usize) -> Result<Self> {
        Ok(Self {
            total: loss.total.to_dtype(DType::F64)?.to_scalar()?,
            lm_loss: loss.lm_loss,
            q_halt_loss: loss.q_halt_loss,
            q_continue_loss: loss.q_continue_loss,
            metrics: loss.metrics.clone(),
            rows,
        })
    }

    /// Sums over every rank (official: metrics reduced to rank 0; here every rank gets them,
    /// so every rank sees the same non-finite loss and stops together).
    pub fn all_reduce(&mut self, dist: &dyn Collective) -> Result<()> {
        let m = &self.metrics;
        let mut v = [
            self.total,
            self.lm_loss,
            self.q_halt_loss,
            self.q_continue_loss.unwrap_or(0.0),
            self.q_continue_loss.is_some() as u8 as f64,
            m.count as f64,
            m.accuracy,
            m.exact_accuracy,
            m.q_halt_accuracy,
            m.steps,
            self.rows as f64,
        ];
        all_reduce_f64(dist, &mut v)?;
        *self = Self {
            total: v[0],
            lm_loss: v[1],
            q_halt_loss: v[2],
            q_continue_loss: (v[4] > 0.0).then_some(v[3]),
            metrics: Metrics {
                count: v[5] as usize,
                accuracy: v[6],
                exact_accuracy: v[7],
                q_halt_accuracy: v[8],
                steps: v[9],
            },
            rows: v[10] as usize,
        };
        Ok(())
    }
}

/// The gradients every rank applies: dense ones summed over ranks, the puzzle-embedding rows
/// of the whole global batch with their ids.
pub struct ReducedGrads {
    /// Each dense parameter's gradient by name, summed over the ranks (on the host).
    pub dense: BTreeMap<String, Tensor>,
    /// `(ids, rows [global rows, width])`.
    pub puzzle: Option<(Vec<u32>, Tensor)>,
}

/// SUM-all-reduces the dense gradients (one flat buffer, one collective) and all-gathers the
/// puzzle-embedding gradient rows and ids. A parameter counts as having a gradient when it
/// has one on some rank, as in a single process running the global batch.
pub fn reduce_gradients(
    model: &Model,
    grads: &GradStore,
    puzzle_rows: Option<&PuzzleRows>,
    dist: &dyn Collective,
) -> Result<ReducedGrads> {
    let params = model.trainable();
    let mut buffer = Vec::with_capacity(model.num_params() + params.len() + 1);
    let mut present = Vec::with_capacity(params.len() + 1);
    for (name, var) in params {
        match grads.get(var) {
            Some(g) => {
                let g = flat(g).with_context(|| format!("reading the gradient of {name}"))?;
                ensure!(
                    g.len() == var.elem_count(),
                    "gradient of {name} has {} values, the parameter {}",
                    g.len(),
                    var.elem_count()
                );
                buffer.extend_from_slice(&g);
                present.push(1.0);
            }
            None => {
                buffer.resize(buffer.len() + var.elem_count(), 0.0);
                present.push(0.0);
            }
        }
    }
    let puzzle_grad = puzzle_rows.and_then(|rows| grads.get(&rows.local));
    present.push(puzzle_grad.is_some() as u8 as f32);
    let dense_len = buffer.len();
    buffer.extend_from_slice(&present);
    dist.all_reduce_sum(&mut buffer)?;

    let mut dense = BTreeMap::new();
    let mut offset = 0;
    for (i, (name, var)) in params.iter().enumerate() {
        let n = var.elem_count();
        if buffer[dense_len + i] > 0.0 {
            // On the host: the optimizer reads gradients there anyway.
            dense.insert(
                name.clone(),
                Tensor::from_vec(buffer[offset..offset + n].to_vec(), var.dims(), &Device::Cpu)?,
            );
        }
        offset += n;
    }

    let mut puzzle = None;
    if let (Some(rows), true) = (puzzle_rows, buffer[dense_len + params.len()] > 0.0) {
        let width = rows.local.dim(1)?;
        let local = match puzzle_grad {
            Some(g) => flat(g)?,
            None => vec![0.0; rows.ids.len() * width],
        };
        let all_rows = dist.all_gather_f32(&local)?;
        let all_ids = dist.all_gather_u32(&rows.ids)?;
        let n = all_ids.len();
        puzzle = Some((all_ids, Tensor::from_vec(all_rows, (n, width), &Device::Cpu)?));
    }
    Ok(ReducedGrads { dense, puzzle })
}

/// The forward half of one data-parallel step on this rank.
pub struct LocalStep {
    /// The model's output on this rank's rows (logits, Q logits, puzzle-embedding rows).
    pub out: StepOutput,
    /// This rank's ACT loss, still recorded by autograd for the backward.
    pub loss: LossOutput,
    /// Sums over every rank.
    pub sums: StepSums,
}

/// One supervision step of this rank's carry on its rows `local` of the global batch, its
/// loss, and the sums of the losses and metrics over all ranks.
pub fn forward_step<R: Rng>(
    model: &Model,
    carry: &mut Carry,
    local: &Batch,
    rng: &mut R,
    dist: &dyn Collective,
) -> Result<LocalStep> {
    forward_step_with(model, carry, local, rng, dist, None)
}

/// `path_labels = "nearest"` for one step: maze grids of `cols` columns, and the pull toward
/// the dataset's label path at this step (`path_pull` after its ramp).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearestPaths {
    /// Columns of the maze grids.
    pub cols: usize,
    /// Nats per cell of the dataset's label path taken off its cost.
    pub pull: f64,
}

/// [`forward_step`], and with `nearest` set, the loss taken against each maze row's shortest
/// path that the step's logits favour (`path_labels = "nearest"`). The carry keeps the
/// dataset's labels.
pub fn forward_step_with<R: Rng>(
    model: &Model,
    carry: &mut Carry,
    local: &Batch,
    rng: &mut R,
    dist: &dyn Collective,
    nearest: Option<NearestPaths>,
) -> Result<LocalStep> {
    let out = model.train_step(carry, local, rng)?;
    let loss_type = model.config().loss_type;
    let loss = match nearest {
        None => act_loss(loss_type, &out, carry)?,
        Some(NearestPaths { cols, pull }) => {
            let mut chosen = carry.current.clone();
            relabel_nearest_paths(&out.logits, loss_type, &mut chosen, cols, pull)?;
            act_loss_on(loss_type, &out, carry, &chosen.labels)?
        }
    };
    let mut sums = StepSums::local(&loss, local.batch_size())?;
    sums.all_reduce(dist)?;
    Ok(LocalStep { out, loss, sums })
}

/// The backward half: this rank's loss divided by the global batch size, gradients reduced
/// across ranks, then the same updates as a single process (Adam-atan2, sign-SGD, EMA).
/// With one rank it is exactly the single-process update ([`apply_updates`]).
#[allow(clippy::too_many_arguments)]
pub fn backward_and_update(
    model: &Model,
    step: &LocalStep,
    global_batch_size: usize,
    dist: &dyn Collective,
    opt: &mut Optimizers,
    rates: UpdateRates,
) -> Result<()> {
    let backward = || (&step.loss.total / global_batch_size as f64)?.backward();
    if dist.world_size() == 1 {
        return trm_model::threads::with_workers_awake(|| {
            apply_updates(model, &backward()?, step.out.puzzle_rows.as_ref(), opt, rates)
        });
    }
    let grads = backward()?;
    let reduced = reduce_gradients(model, &grads, step.out.puzzle_rows.as_ref(), dist)?;
    let puzzle = reduced.puzzle.as_ref().map(|(ids, rows)| (ids.as_slice(), rows));
    apply_reduced_updates(model, reduced.dense, puzzle, opt, rates)
}

/// One complete data-parallel training step of this rank (forward on its rows with its own
/// carry, loss / global batch size, backward, all-reduce, identical update on every rank).
/// Returns the sums over all ranks; fails on every rank alike when the global loss is not finite.
#[allow(clippy::too_many_arguments)]
pub fn data_parallel_step<R: Rng>(
    model: &Model,
    carry: &mut Carry,
    local: &Batch,
    rng: &mut R,
    global_batch_size: usize,
    dist: &dyn Collective,
    opt: &mut Optimizers,
    rates: UpdateRates,
) -> Result<StepSums> {
    let step = forward_step(model, carry, local, rng, dist)?;
    ensure!(
        step.sums.total.is_finite(),
        "the loss summed over the ranks became {}",
        step.sums.total
    );
    backward_and_update(model, &step, global_batch_size, dist, opt, rates)?;
    Ok(step.sums)
}

/// What updates the weights after a step's backward, built in one place: Adam-atan2 on the
/// dense weights, sign-SGD on the puzzle-embedding rows, and the EMA of the weights when the
/// run keeps one.
pub struct Optimizers {
    /// Adam-atan2 for the dense weights.
    pub adam: AdamAtan2,
    /// Sign-SGD for the puzzle-embedding rows of the batch.
    pub sign_sgd: SignSgd,
    /// The EMA of the weights, when the run keeps one (`ema`).
    pub ema: Option<Ema>,
}

impl Optimizers {
    /// The optimizers of a run's `[train]` settings, for `model` (the EMA starts at its weights).
    pub fn new(t: &TrainParams, model: &Model) -> Result<Optimizers> {
        Ok(Optimizers {
            adam: AdamAtan2::new((t.beta1, t.beta2), t.weight_decay),
            sign_sgd: SignSgd { weight_decay: t.puzzle_emb_weight_decay },
            ema: if t.ema { Some(Ema::new(t.ema_rate, model.trainable())?) } else { None },
        })
    }
}

/// Learning rates and clipping of one step.
#[derive(Debug, Clone, Copy)]
pub struct UpdateRates {
    /// Learning rate of the dense weights at this step, from the schedule.
    pub lr: f64,
    /// Learning rate of the puzzle-embedding rows at this step, from the schedule.
    pub puzzle_emb_lr: f64,
    /// Global-norm clipping of the dense gradients (off in the official runs).
    pub grad_clip: Option<f64>,
}

/// Applies the gradients of one supervision step to `model`.
pub fn apply_updates(
    model: &Model,
    grads: &GradStore,
    puzzle_rows: Option<&PuzzleRows>,
    opt: &mut Optimizers,
    rates: UpdateRates,
) -> Result<()> {
    let mut dense = BTreeMap::new();
    for (name, var) in model.trainable() {
        if let Some(g) = grads.get(var) {
            dense.insert(name.clone(), g.to_dtype(DType::F32)?);
        }
    }
    let puzzle = puzzle_rows.and_then(|rows| Some((rows.ids.as_slice(), grads.get(&rows.local)?)));
    apply_reduced_updates(model, dense, puzzle, opt, rates)
}

/// The updates from gradients already gathered (one process: [`apply_updates`]; data-parallel
/// training: [`crate::distributed`]): `dense` maps parameter names to their gradient summed over the
/// ranks, `puzzle` holds the ids and gradient rows `[n, width]` of the whole global batch.
pub fn apply_reduced_updates(
    model: &Model,
    mut dense: BTreeMap<String, Tensor>,
    puzzle: Option<(&[u32], &Tensor)>,
    opt: &mut Optimizers,
    rates: UpdateRates,
) -> Result<()> {
    if let Some(max_norm) = rates.grad_clip {
        clip_global_norm(&mut dense, max_norm)?;
    }
    opt.adam.step(model.trainable(), &dense, rates.lr)?;
    if let (Some((ids, rows)), Some(table)) = (puzzle, model.puzzle_table()) {
        opt.sign_sgd.step(table.as_tensor(), ids, rows, rates.puzzle_emb_lr)?;
    }
    if let Some(ema) = &mut opt.ema {
        ema.update(model.trainable())?;
    }
    Ok(())
}

/// Scales every gradient by `max_norm / norm` when their global L2 norm exceeds `max_norm`.
fn clip_global_norm(grads: &mut BTreeMap<String, Tensor>, max_norm: f64) -> Result<()> {
    let mut sq = 0.0f64;
    for g in grads.values() {
        sq += g.sqr()?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    }
    let norm = sq.sqrt();
    if norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        for g in grads.values_mut() {
            *g = (g.clone() * scale)?;
        }
    }
    Ok(())
}
