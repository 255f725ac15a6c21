//! The optimizer side of one training step (reference 3.4, 3.5), shared by the trainer and
//! `trm bench`: optional gradient clipping, Adam-atan2 on the dense weights, sign-SGD on the
//! puzzle-embedding rows of the batch, then the EMA.

use anyhow::Result;
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor};
use std::collections::BTreeMap;
use trm_model::{Model, PuzzleRows};

use crate::ema::Ema;
use crate::optim::{AdamAtan2, SignSgd};

/// Learning rates and clipping of one step.
#[derive(Debug, Clone, Copy)]
pub struct UpdateRates {
    pub lr: f64,
    pub puzzle_emb_lr: f64,
    /// Global-norm clipping of the dense gradients (off in the official runs).
    pub grad_clip: Option<f64>,
}

/// Applies the gradients of one supervision step to `model`.
pub fn apply_updates(
    model: &Model,
    grads: &GradStore,
    puzzle_rows: Option<&PuzzleRows>,
    adam: &mut AdamAtan2,
    sign_sgd: &SignSgd,
    ema: Option<&mut Ema>,
    rates: UpdateRates,
) -> Result<()> {
    let mut dense = BTreeMap::new();
    for (name, var) in model.trainable() {
        if let Some(g) = grads.get(var) {
            dense.insert(name.clone(), g.to_dtype(DType::F32)?);
        }
    }
    let puzzle = puzzle_rows.and_then(|rows| Some((rows.ids.as_slice(), grads.get(&rows.local)?)));
    apply_reduced_updates(model, dense, puzzle, adam, sign_sgd, ema, rates)
}

/// The updates from gradients already gathered (one process: [`apply_updates`]; data-parallel
/// training: [`crate::distributed`]): `dense` maps parameter names to their gradient summed over the
/// ranks, `puzzle` holds the ids and gradient rows `[n, width]` of the whole global batch.
pub fn apply_reduced_updates(
    model: &Model,
    mut dense: BTreeMap<String, Tensor>,
    puzzle: Option<(&[u32], &Tensor)>,
    adam: &mut AdamAtan2,
    sign_sgd: &SignSgd,
    ema: Option<&mut Ema>,
    rates: UpdateRates,
) -> Result<()> {
    if let Some(max_norm) = rates.grad_clip {
        clip_global_norm(&mut dense, max_norm)?;
    }
    adam.step(model.trainable(), &dense, rates.lr)?;
    if let (Some((ids, rows)), Some(table)) = (puzzle, model.puzzle_table()) {
        sign_sgd.step(table.as_tensor(), ids, rows, rates.puzzle_emb_lr)?;
    }
    if let Some(ema) = ema {
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
