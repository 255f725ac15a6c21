//! The two optimizers of reference section 3.4 and the learning-rate schedule.
//!
//! - [`AdamAtan2`] for every dense parameter: Adam with `atan2(m, sqrt(v))` in place of
//!   `m / (sqrt(v) + eps)` (package `adam-atan2`, its CUDA kernel's exact form: no epsilon,
//!   decoupled weight decay applied first, bias correction of `m` outside the atan2).
//! - [`SignSgd`] for the puzzle-embedding rows present in a batch (the official
//!   `CastedSparseEmbeddingSignSGD_Distributed`): duplicate ids summed, then
//!   `w = w * (1 - lr * wd) - lr * sign(g)`; rows absent from the batch are untouched.
//!
//! The update arithmetic runs on host `f32` slices (candle has no atan2); the tensors are
//! read and written back once per step.

use anyhow::{ensure, Context, Result};
use candle_core::{Tensor, Var};
use std::collections::BTreeMap;

/// Linear warm-up from 0 over `warmup_steps`, then cosine decay to `min_ratio * base_lr` at
/// `total_steps` (official `cosine_schedule_with_warmup_lr_lambda`, `num_cycles = 0.5`).
/// `step` counts from 1 (the official trainer increments before computing the rate).
pub fn learning_rate(
    base_lr: f64,
    step: u64,
    warmup_steps: u64,
    total_steps: u64,
    min_ratio: f64,
) -> f64 {
    if step < warmup_steps {
        return base_lr * step as f64 / warmup_steps.max(1) as f64;
    }
    let progress =
        (step - warmup_steps) as f64 / total_steps.saturating_sub(warmup_steps).max(1) as f64;
    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
    base_lr * (min_ratio + ((1.0 - min_ratio) * cosine).max(0.0))
}

/// One Adam-atan2 update of a flat parameter, in place, in pieces on rayon's threads.
/// `t` is the step counter (from 1).
#[allow(clippy::too_many_arguments)]
pub fn adam_atan2_update(
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    t: u64,
    lr: f64,
    wd: f64,
    betas: (f64, f64),
) {
    use rayon::prelude::*;
    /// Elements per piece: the update is about 20 ns per element (the atan2).
    const PIECE: usize = 1 << 14;
    let (b1, b2) = betas;
    let decay = (1.0 - lr * wd) as f32;
    let bias1 = 1.0 - b1.powi(t as i32);
    let bias2_sqrt = (1.0 - b2.powi(t as i32)).sqrt() as f32;
    let step = (lr / bias1) as f32;
    let (b1f, b2f) = (b1 as f32, b2 as f32);
    // One chunk of parameters with its gradient and both moments.
    type Chunk<'a> = ((&'a mut [f32], &'a [f32]), (&'a mut [f32], &'a mut [f32]));
    let update = |((p, g), (m, v)): Chunk| {
        for i in 0..p.len() {
            let gi = g[i];
            p[i] *= decay;
            m[i] = b1f * m[i] + (1.0 - b1f) * gi;
            v[i] = b2f * v[i] + (1.0 - b2f) * gi * gi;
            let denom = v[i].sqrt() / bias2_sqrt;
            p[i] -= step * m[i].atan2(denom);
        }
    };
    p.par_chunks_mut(PIECE)
        .zip(g.par_chunks(PIECE))
        .zip(m.par_chunks_mut(PIECE).zip(v.par_chunks_mut(PIECE)))
        .for_each(update);
}

/// Adam-atan2 over a named set of parameters. Its state (first and second moments, step) is
/// saved in checkpoints so that a resumed run continues exactly.
pub struct AdamAtan2 {
    pub betas: (f64, f64),
    pub weight_decay: f64,
    /// Number of updates done so far (the `t` of the bias correction is `step + 1` for the next one).
    pub step: u64,
    pub m: BTreeMap<String, Vec<f32>>,
    pub v: BTreeMap<String, Vec<f32>>,
}

impl AdamAtan2 {
    pub fn new(betas: (f64, f64), weight_decay: f64) -> Self {
        Self { betas, weight_decay, step: 0, m: BTreeMap::new(), v: BTreeMap::new() }
    }

    /// Applies one update to every parameter that has a gradient. `grads` maps parameter
    /// names to gradients of the same shape.
    pub fn step(
        &mut self,
        params: &[(String, Var)],
        grads: &BTreeMap<String, Tensor>,
        lr: f64,
    ) -> Result<()> {
        self.step += 1;
        for (name, var) in params {
            let Some(grad) = grads.get(name) else { continue };
            ensure!(
                grad.dims() == var.dims(),
                "gradient of {name} has shape {:?}, parameter {:?}",
                grad.dims(),
                var.dims()
            );
            let mut p =
                flat(var.as_tensor()).with_context(|| format!("reading parameter {name}"))?;
            let g = flat(grad).with_context(|| format!("reading gradient of {name}"))?;
            let m = self.m.entry(name.clone()).or_insert_with(|| vec![0.0; p.len()]);
            let v = self.v.entry(name.clone()).or_insert_with(|| vec![0.0; p.len()]);
            adam_atan2_update(&mut p, &g, m, v, self.step, lr, self.weight_decay, self.betas);
            var.set(&Tensor::from_vec(p, var.dims(), var.device())?)?;
        }
        Ok(())
    }
}

/// Sums gradient rows that belong to the same id (official: `unique` + `scatter_add`).
/// Returns the ids in ascending order with their summed rows.
pub fn sum_rows_by_id(ids: &[u32], rows: &[f32], width: usize) -> Vec<(u32, Vec<f32>)> {
    let mut sums: BTreeMap<u32, Vec<f32>> = BTreeMap::new();
    for (b, &id) in ids.iter().enumerate() {
        let row = &rows[b * width..(b + 1) * width];
        let acc = sums.entry(id).or_insert_with(|| vec![0.0; width]);
        for (a, r) in acc.iter_mut().zip(row) {
            *a += r;
        }
    }
    sums.into_iter().collect()
}

/// One sign-SGD update of one row, in place: `w = w * (1 - lr * wd) - lr * sign(g)`
/// (`sign(0) = 0` as `torch.sign`).
pub fn sign_sgd_update(w: &mut [f32], g: &[f32], lr: f64, wd: f64) {
    let decay = (1.0 - lr * wd) as f32;
    let lr = lr as f32;
    for (wi, &gi) in w.iter_mut().zip(g) {
        let sign = if gi > 0.0 {
            1.0
        } else if gi < 0.0 {
            -1.0
        } else {
            0.0
        };
        *wi = *wi * decay - lr * sign;
    }
}

/// Sparse sign-SGD with decoupled weight decay for the puzzle-embedding table. Stateless.
pub struct SignSgd {
    pub weight_decay: f64,
}

impl SignSgd {
    /// Updates the rows `ids` of `table` ([num_ids, width], modified in place) with the
    /// per-example gradient rows `local_grad` ([B, width]).
    pub fn step(&self, table: &Tensor, ids: &[u32], local_grad: &Tensor, lr: f64) -> Result<()> {
        let width = table.dim(1)?;
        ensure!(
            local_grad.dims() == [ids.len(), width],
            "puzzle-embedding gradient has shape {:?}, expected [{}, {width}]",
            local_grad.dims(),
            ids.len()
        );
        let rows = flat(local_grad)?;
        for (id, g) in sum_rows_by_id(ids, &rows, width) {
            let current = table.narrow(0, id as usize, 1)?;
            let mut w = flat(&current)?;
            sign_sgd_update(&mut w, &g, lr, self.weight_decay);
            let updated =
                Tensor::from_vec(w, (1, width), table.device())?.to_dtype(table.dtype())?;
            table.slice_set(&updated, 0, id as usize)?;
        }
        Ok(())
    }
}

/// A tensor's values as a flat host `Vec<f32>`.
pub fn flat(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn schedule_warms_up_then_follows_the_cosine() {
        assert_eq!(learning_rate(1e-3, 0, 10, 100, 0.1), 0.0);
        assert!((learning_rate(1e-3, 5, 10, 100, 0.1) - 5e-4).abs() < 1e-15);
        assert!((learning_rate(1e-3, 10, 10, 100, 0.1) - 1e-3).abs() < 1e-15);
        // Half way through the decay: 0.1 + 0.9 * 0.5.
        assert!((learning_rate(1e-3, 55, 10, 100, 0.1) - 1e-3 * 0.55).abs() < 1e-12);
        assert!((learning_rate(1e-3, 100, 10, 100, 0.1) - 1e-4).abs() < 1e-12);
        // min_ratio 1 (all published runs): constant after warm-up.
        assert_eq!(learning_rate(1e-4, 5000, 2000, 65104, 1.0), 1e-4);
    }

    #[test]
    fn adam_atan2_matches_hand_computed_values() {
        // t = 1, g = 0.5, p = 1, lr = 0.1, wd = 0.5, betas (0.9, 0.95):
        // p <- 1 * (1 - 0.05) = 0.95; m = 0.05; v = 0.0125; d = sqrt(0.0125)/sqrt(0.05) = 0.5
        // p <- 0.95 - (0.1 / 0.1) * atan2(0.05, 0.5)
        let (mut p, mut m, mut v) = (vec![1.0f32], vec![0.0f32], vec![0.0f32]);
        adam_atan2_update(&mut p, &[0.5], &mut m, &mut v, 1, 0.1, 0.5, (0.9, 0.95));
        let expected = 0.95 - (0.05f64).atan2(0.5);
        assert!((p[0] as f64 - expected).abs() < 1e-6, "{} vs {expected}", p[0]);
        assert!((m[0] - 0.05).abs() < 1e-7 && (v[0] - 0.0125).abs() < 1e-7);
        // t = 2, g = -1: m = 0.9*0.05 - 0.1 = -0.055; v = 0.95*0.0125 + 0.05 = 0.061875
        // d = sqrt(0.061875)/sqrt(1 - 0.9025); p -= (0.1/0.19) * atan2(-0.055, d)
        let before = p[0] as f64;
        adam_atan2_update(&mut p, &[-1.0], &mut m, &mut v, 2, 0.1, 0.0, (0.9, 0.95));
        let d = 0.061875f64.sqrt() / (1.0 - 0.9025f64).sqrt();
        let expected = before - (0.1 / 0.19) * (-0.055f64).atan2(d);
        assert!((p[0] as f64 - expected).abs() < 1e-6, "{} vs {expected}", p[0]);
    }

    #[test]
    fn adam_atan2_zero_gradient_only_decays() {
        let (mut p, mut m, mut v) = (vec![2.0f32], vec![0.0f32], vec![0.0f32]);
        adam_atan2_update(&mut p, &[0.0], &mut m, &mut v, 1, 0.1, 1.0, (0.9, 0.95));
        assert!((p[0] - 1.8).abs() < 1e-6);
    }

    #[test]
    fn adam_atan2_updates_vars_by_name() -> Result<()> {
        let dev = Device::Cpu;
        let a = Var::from_vec(vec![1.0f32, -1.0], 2, &dev)?;
        let b = Var::from_vec(vec![3.0f32], 1, &dev)?;
        let params = vec![("a".to_string(), a.clone()), ("b".to_string(), b.clone())];
        let mut grads = BTreeMap::new();
        grads.insert("a".to_string(), Tensor::new(&[1.0f32, -2.0], &dev)?);
        let mut opt = AdamAtan2::new((0.9, 0.95), 0.0);
        opt.step(&params, &grads, 0.01)?;
        // First step: atan2(0.1 g, |g| sqrt(0.05)/sqrt(0.05)) = atan2(0.1 g, |g|), times lr/0.1.
        let got = a.as_tensor().to_vec1::<f32>()?;
        let delta = 0.1 * (0.1f32).atan2(1.0);
        assert!(
            (got[0] - (1.0 - delta)).abs() < 1e-6 && (got[1] - (-1.0 + delta)).abs() < 1e-6,
            "{got:?}"
        );
        assert_eq!(b.as_tensor().to_vec1::<f32>()?, vec![3.0], "no gradient, no update");
        Ok(())
    }

    #[test]
    fn sign_sgd_sums_duplicate_ids_and_leaves_other_rows() -> Result<()> {
        let dev = Device::Cpu;
        let table = Tensor::new(&[[1.0f32, 1.0], [2.0, 2.0], [3.0, 3.0]], &dev)?;
        // Ids 2, 0, 2: the two rows of id 2 sum to (0.5 - 1.0, -0.5 + 0.5) = (-0.5, 0).
        let grad = Tensor::new(&[[0.5f32, -0.5], [0.1, -0.2], [-1.0, 0.5]], &dev)?;
        SignSgd { weight_decay: 0.5 }.step(&table, &[2, 0, 2], &grad, 0.1)?;
        let got = table.to_vec2::<f32>()?;
        // Row 0: 1 * 0.95 - 0.1 * (+1, -1) = (0.85, 1.05)
        assert!((got[0][0] - 0.85).abs() < 1e-6 && (got[0][1] - 1.05).abs() < 1e-6, "{got:?}");
        assert_eq!(got[1], vec![2.0, 2.0], "row 1 was not in the batch");
        // Row 2: 3 * 0.95 - 0.1 * (-1, 0) = (2.95, 2.85)
        assert!((got[2][0] - 2.95).abs() < 1e-6 && (got[2][1] - 2.85).abs() < 1e-6, "{got:?}");
        Ok(())
    }
}
