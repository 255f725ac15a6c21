//! The two optimizers of design 3.4 and the learning-rate schedule.
//!
//! - [`AdamAtan2`] for every dense parameter: Adam with `atan2(m, sqrt(v))` in place of
//!   `m / (sqrt(v) + eps)` (package `adam-atan2`, its CUDA kernel's exact form: no epsilon,
//!   decoupled weight decay applied first, bias correction of `m` outside the atan2).
//! - [`SignSgd`] for the puzzle-embedding rows present in a batch (the official
//!   `CastedSparseEmbeddingSignSGD_Distributed`): duplicate ids summed, then
//!   `w = w * (1 - lr * wd) - lr * sign(g)`; rows absent from the batch are untouched.
//!
//! Where the arithmetic runs: on the CPU, Adam-atan2 works on host `f32` slices (one fused
//! pass over rayon's threads, the fastest there); on any other device it runs as candle ops
//! where the parameters live ([`adam_atan2_tensors`], with [`atan2_nonneg`] composed from
//! candle's elementwise ops since candle has no atan2), so no weight, gradient or moment is
//! copied to the host. Sign-SGD is candle ops on every device ([`SignSgd::step`]).

use anyhow::{ensure, Context, Result};
use candle_core::{DType, Tensor, Var};
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
    /// Elements per piece (about 1 ns each where the loop vectorises).
    const PIECE: usize = 1 << 15;
    let (b1, b2) = betas;
    let decay = (1.0 - lr * wd) as f32;
    let bias1 = 1.0 - b1.powi(t as i32);
    let bias2_sqrt = (1.0 - b2.powi(t as i32)).sqrt() as f32;
    let step = (lr / bias1) as f32;
    let (b1f, b2f) = (b1 as f32, b2 as f32);
    // One chunk of parameters with its gradient and both moments.
    type Chunk<'a> = ((&'a mut [f32], &'a [f32]), (&'a mut [f32], &'a mut [f32]));
    /// The update of one chunk, as a kernel so that its loop takes the CPU's vector width.
    struct Update<'a> {
        chunk: Chunk<'a>,
        decay: f32,
        betas: (f32, f32),
        step: f32,
        bias2_sqrt: f32,
    }
    impl trm_model::simd::Kernel for Update<'_> {
        type Output = ();
        #[inline(always)]
        fn run(self) {
            let Update { chunk: ((p, g), (m, v)), decay, betas: (b1f, b2f), step, bias2_sqrt } =
                self;
            for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *p *= decay;
                *m = b1f * *m + (1.0 - b1f) * g;
                *v = b2f * *v + (1.0 - b2f) * g * g;
                let denom = v.sqrt() / bias2_sqrt;
                *p -= step * atan2_nonneg_f32(*m, denom);
            }
        }
    }
    let update = |chunk: Chunk| {
        let betas = (b1f, b2f);
        trm_model::simd::with_simd(Update { chunk, decay, betas, step, bias2_sqrt })
    };
    p.par_chunks_mut(PIECE)
        .zip(g.par_chunks(PIECE))
        .zip(m.par_chunks_mut(PIECE).zip(v.par_chunks_mut(PIECE)))
        .for_each(update);
}

/// [`atan2_nonneg`] on one f32, `x >= 0`: the same steps in branch-free form, so that loops
/// over it vectorise (libm's `atan2f` is a call of about 20 ns per element, most of a
/// small model's update). Within 2e-7 of `f32::atan2`; `atan2(0, 0) = 0`; a NaN in gives NaN.
#[inline(always)]
pub fn atan2_nonneg_f32(y: f32, x: f32) -> f32 {
    use std::f32::consts::{FRAC_PI_2, FRAC_PI_4};
    const TAN_PI_8: f32 = 0.414_213_57;
    let ay = y.abs();
    let steep = ay > x;
    let (lo, hi) = if steep { (x, ay) } else { (ay, x) };
    // Comparisons false on NaN keep a NaN `hi` (f32::max would drop it).
    let a = lo / if hi < f32::MIN_POSITIVE { f32::MIN_POSITIVE } else { hi };
    let reduce = a > TAN_PI_8;
    let z = if reduce { (a - 1.0) / (a + 1.0) } else { a };
    let z2 = z * z;
    let poly = ((8.053_744_5e-2 * z2 - 1.387_768_6e-1) * z2 + 1.997_771_1e-1) * z2 - 3.333_295e-1;
    let atan_z = z + z * z2 * poly;
    let atan_a = if reduce { atan_z + FRAC_PI_4 } else { atan_z };
    let angle = if steep { FRAC_PI_2 - atan_a } else { atan_a };
    if y < 0.0 {
        -angle
    } else {
        angle
    }
}

/// `atan2(y, x)` elementwise for `x >= 0` (the Adam-atan2 denominator is a square root),
/// from candle ops, so that it runs on any device. With `a = min(|y|, x) / max(|y|, x)` in
/// [0, 1]: `atan(a)` from the odd polynomial of Cephes' `atanf` (Moshier), after reducing
/// `a > tan(pi/8)` to `pi/4 + atan((a - 1) / (a + 1))`; then `pi/2 - atan(a)` where `|y| > x`,
/// and the sign of `y`. Within 2e-7 of `f32::atan2`; `atan2(0, 0) = 0`.
pub fn atan2_nonneg(y: &Tensor, x: &Tensor) -> Result<Tensor> {
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};
    const TAN_PI_8: f64 = 0.414_213_562_373_095_1;
    let ay = y.abs()?;
    let (lo, hi) = (ay.minimum(x)?, ay.maximum(x)?);
    let a = lo.div(&hi.maximum(f64::from(f32::MIN_POSITIVE))?)?;
    let reduce = a.gt(TAN_PI_8)?;
    let z = reduce.where_cond(&((&a - 1.0)? / (&a + 1.0)?)?, &a)?;
    let z2 = z.sqr()?;
    let poly = z2
        .affine(8.053_744_495_38e-2, -1.387_768_560_32e-1)?
        .mul(&z2)?
        .affine(1.0, 1.997_771_064_78e-1)?
        .mul(&z2)?
        .affine(1.0, -3.333_294_915_39e-1)?;
    let atan_z = (&z + z.mul(&z2)?.mul(&poly)?)?;
    let atan_a = reduce.where_cond(&(&atan_z + FRAC_PI_4)?, &atan_z)?;
    let angle = ay.gt(x)?.where_cond(&atan_a.affine(-1.0, FRAC_PI_2)?, &atan_a)?;
    Ok(y.lt(0.0)?.where_cond(&angle.neg()?, &angle)?)
}

/// One Adam-atan2 update as candle ops on the tensors' device (the same arithmetic as
/// [`adam_atan2_update`]). Returns the new parameter, first and second moment.
#[allow(clippy::too_many_arguments)]
pub fn adam_atan2_tensors(
    p: &Tensor,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    t: u64,
    lr: f64,
    wd: f64,
    (b1, b2): (f64, f64),
) -> Result<(Tensor, Tensor, Tensor)> {
    let bias1 = 1.0 - b1.powi(t as i32);
    let bias2_sqrt = (1.0 - b2.powi(t as i32)).sqrt();
    let m = (m.affine(b1, 0.0)? + g.affine(1.0 - b1, 0.0)?)?;
    let v = (v.affine(b2, 0.0)? + g.sqr()?.affine(1.0 - b2, 0.0)?)?;
    let denom = v.sqrt()?.affine(1.0 / bias2_sqrt, 0.0)?;
    let p = (p.affine(1.0 - lr * wd, 0.0)? - atan2_nonneg(&m, &denom)?.affine(lr / bias1, 0.0)?)?;
    Ok((p, m, v))
}

/// The first and second moment of one parameter, where its update runs.
enum Moments {
    Host { m: Vec<f32>, v: Vec<f32> },
    Device { m: Tensor, v: Tensor },
}

/// Adam-atan2 over a named set of parameters. Its state (first and second moments, step) is
/// saved in checkpoints so that a resumed run continues exactly.
pub struct AdamAtan2 {
    /// Decay rates of the first and second moments (`beta1`, `beta2`).
    pub betas: (f64, f64),
    /// Decoupled weight decay: each update first scales the weights by `1 - lr * weight_decay`.
    pub weight_decay: f64,
    /// Number of updates done so far (the `t` of the bias correction is `step + 1` for the next one).
    pub step: u64,
    /// Run the update as candle ops also for CPU parameters (always so on other devices).
    pub tensor_ops_on_cpu: bool,
    moments: BTreeMap<String, Moments>,
}

impl AdamAtan2 {
    /// An optimizer at step 0; each parameter's moments start at zero at its first update.
    pub fn new(betas: (f64, f64), weight_decay: f64) -> Self {
        Self { betas, weight_decay, step: 0, tensor_ops_on_cpu: false, moments: BTreeMap::new() }
    }

    fn on_host(&self, var: &Var) -> bool {
        var.device().is_cpu() && !self.tensor_ops_on_cpu
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
            let (t, wd, betas) = (self.step, self.weight_decay, self.betas);
            if self.on_host(var) {
                let mut p =
                    flat(var.as_tensor()).with_context(|| format!("reading parameter {name}"))?;
                let g = flat(grad).with_context(|| format!("reading gradient of {name}"))?;
                let n = p.len();
                let state = self
                    .moments
                    .entry(name.clone())
                    .or_insert_with(|| Moments::Host { m: vec![0.0; n], v: vec![0.0; n] });
                let Moments::Host { m, v } = state else {
                    anyhow::bail!("Adam-atan2 moments of {name} live on a device, not the host")
                };
                adam_atan2_update(&mut p, &g, m, v, t, lr, wd, betas);
                var.set(&Tensor::from_vec(p, var.dims(), var.device())?)?;
            } else {
                let state = self.moments.entry(name.clone()).or_insert_with(|| {
                    let zeros = var.zeros_like().expect("zeros of a parameter's shape");
                    Moments::Device { m: zeros.clone(), v: zeros }
                });
                let Moments::Device { m, v } = state else {
                    anyhow::bail!("Adam-atan2 moments of {name} live on the host, not a device")
                };
                let g = grad.to_dtype(DType::F32)?;
                let (p, m2, v2) = adam_atan2_tensors(var.as_tensor(), &g, m, v, t, lr, wd, betas)?;
                var.set(&p)?;
                (*m, *v) = (m2, v2);
            }
        }
        Ok(())
    }

    /// The moments of `name` as host values (for a checkpoint); `None` before its first update.
    pub fn moments(&self, name: &str) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        Ok(match self.moments.get(name) {
            None => None,
            Some(Moments::Host { m, v }) => Some((m.clone(), v.clone())),
            Some(Moments::Device { m, v }) => Some((flat(m)?, flat(v)?)),
        })
    }

    /// Restores the moments of parameter `var` (named `name`) from host values, placing them
    /// where its updates run.
    pub fn set_moments(&mut self, name: &str, var: &Var, m: Vec<f32>, v: Vec<f32>) -> Result<()> {
        ensure!(
            m.len() == var.elem_count() && v.len() == var.elem_count(),
            "Adam-atan2 moments of {name} hold {} / {} values, the parameter {}",
            m.len(),
            v.len(),
            var.elem_count()
        );
        let state = if self.on_host(var) {
            Moments::Host { m, v }
        } else {
            let dev = var.device();
            Moments::Device {
                m: Tensor::from_vec(m, var.dims(), dev)?,
                v: Tensor::from_vec(v, var.dims(), dev)?,
            }
        };
        self.moments.insert(name.to_string(), state);
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
    /// Decoupled weight decay of the updated rows (`puzzle_emb_weight_decay`).
    pub weight_decay: f64,
}

impl SignSgd {
    /// Updates the rows `ids` of `table` ([num_ids, width], modified in place) with the
    /// per-example gradient rows `local_grad` ([B, width]), as candle ops on the table's device:
    /// the rows of one id summed in batch order (`index_add`), the update on the gathered
    /// rows, written back with `scatter_set`. Bit for bit [`sum_rows_by_id`] then
    /// [`sign_sgd_update`] on the CPU.
    pub fn step(&self, table: &Tensor, ids: &[u32], local_grad: &Tensor, lr: f64) -> Result<()> {
        let width = table.dim(1)?;
        ensure!(
            local_grad.dims() == [ids.len(), width],
            "puzzle-embedding gradient has shape {:?}, expected [{}, {width}]",
            local_grad.dims(),
            ids.len()
        );
        if ids.is_empty() {
            return Ok(());
        }
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let slot: Vec<u32> =
            ids.iter().map(|id| unique.binary_search(id).expect("id in unique") as u32).collect();
        let dev = table.device();
        let n = unique.len();
        let sums = Tensor::zeros((n, width), DType::F32, dev)?.index_add(
            &Tensor::from_vec(slot, ids.len(), dev)?,
            &local_grad.to_dtype(DType::F32)?,
            0,
        )?;
        let unique = Tensor::from_vec(unique, n, dev)?;
        let rows = table.index_select(&unique, 0)?.to_dtype(DType::F32)?;
        let updated = (rows.affine(1.0 - lr * self.weight_decay, 0.0)?
            - sums.sign()?.affine(lr, 0.0)?)?
        .to_dtype(table.dtype())?;
        let at = unique.unsqueeze(1)?.broadcast_as((n, width))?.contiguous()?;
        table.scatter_set(&at, &updated, 0)?;
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

    fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| (rng.random::<f32>() - 0.5) * 2.0 * scale).collect()
    }

    /// Every octant boundary and sign, zeros, tiny and huge values, random magnitudes: the
    /// `(y, x)` pairs both atan2s are checked on.
    fn atan2_cases() -> (Vec<f32>, Vec<f32>) {
        let mut ys =
            vec![0.0f32, -0.0, 1.0, -1.0, 0.4142, 0.4143, 2.414, 1e-30, -1e-30, 3e38, -7.5];
        let mut xs = vec![0.0f32, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1e-30, 1.0, 0.0];
        let r = random(4000, 1, 10.0);
        ys.extend(r.iter().map(|v| v * v.abs()));
        xs.extend(random(4000, 2, 3.0).iter().map(|v| v.abs()));
        (ys, xs)
    }

    #[test]
    fn atan2_from_candle_ops_matches_the_host() -> Result<()> {
        let dev = Device::Cpu;
        let (ys, xs) = atan2_cases();
        let got =
            atan2_nonneg(&Tensor::new(ys.as_slice(), &dev)?, &Tensor::new(xs.as_slice(), &dev)?)?
                .to_vec1::<f32>()?;
        for ((y, x), g) in ys.iter().zip(&xs).zip(&got) {
            let want = y.atan2(*x);
            assert!((g - want).abs() <= 2e-7, "atan2({y}, {x}) = {g}, host {want}");
        }
        assert_eq!(got[0], 0.0);
        Ok(())
    }

    #[test]
    fn atan2_on_one_float_matches_the_host() {
        let (ys, xs) = atan2_cases();
        for (y, x) in ys.iter().zip(&xs) {
            let (got, want) = (atan2_nonneg_f32(*y, *x), y.atan2(*x));
            assert!((got - want).abs() <= 2e-7, "atan2({y}, {x}) = {got}, host {want}");
        }
        assert_eq!(atan2_nonneg_f32(0.0, 0.0), 0.0);
        let nan = f32::NAN;
        assert!(atan2_nonneg_f32(nan, 1.0).is_nan() && atan2_nonneg_f32(1.0, nan).is_nan());
    }

    /// The candle-op update (what a GPU runs) follows the host update step after step.
    #[test]
    fn adam_atan2_tensor_ops_follow_the_host_update() -> Result<()> {
        let dev = Device::Cpu;
        let n = 3000;
        let init = random(n, 3, 1.0);
        let host = Var::from_vec(init.clone(), (30, 100), &dev)?;
        let ops = Var::from_vec(init, (30, 100), &dev)?;
        let mut a = AdamAtan2::new((0.9, 0.95), 0.1);
        let mut b = AdamAtan2::new((0.9, 0.95), 0.1);
        b.tensor_ops_on_cpu = true;
        for step in 0..20u64 {
            let mut g = random(n, 10 + step, 0.01);
            g[step as usize] = 0.0; // zero gradients, zero moments
            let grads: BTreeMap<String, Tensor> =
                [("w".to_string(), Tensor::from_vec(g, (30, 100), &dev)?)].into();
            a.step(&[("w".into(), host.clone())], &grads, 1e-3)?;
            b.step(&[("w".into(), ops.clone())], &grads, 1e-3)?;
        }
        let (p, q) = (flat(host.as_tensor())?, flat(ops.as_tensor())?);
        let moved = p.iter().zip(random(n, 3, 1.0)).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(moved > 1e-3, "the parameters moved by {moved}");
        let diff = p.iter().zip(&q).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(diff < 1e-6, "host and tensor-op updates differ by {diff}");
        let ((m1, v1), (m2, v2)) = (a.moments("w")?.unwrap(), b.moments("w")?.unwrap());
        // The host takes 1 - beta in f32, the ops in f64: a rounding apart, relative to the scale.
        for (a, b) in [(m1, m2), (v1, v2)] {
            let scale = a.iter().map(|x| x.abs()).fold(0.0, f32::max);
            let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
            assert!(diff <= 1e-5 * scale, "moments differ by {diff} at scale {scale}");
        }
        assert!(a.moments("absent")?.is_none());
        Ok(())
    }

    #[test]
    fn moments_restore_where_the_update_runs() -> Result<()> {
        let dev = Device::Cpu;
        let var = Var::from_vec(vec![1.0f32, 2.0], 2, &dev)?;
        for tensor_ops in [false, true] {
            let mut a = AdamAtan2::new((0.9, 0.95), 0.0);
            a.tensor_ops_on_cpu = tensor_ops;
            a.set_moments("w", &var, vec![0.1, 0.2], vec![0.3, 0.4])?;
            assert_eq!(a.moments("w")?.unwrap(), (vec![0.1, 0.2], vec![0.3, 0.4]));
            let err = a.set_moments("w", &var, vec![0.1], vec![0.3]).unwrap_err().to_string();
            assert!(err.contains("hold 1 / 1 values, the parameter 2"), "{err}");
            let grads: BTreeMap<String, Tensor> = [("w".to_string(), var.ones_like()?)].into();
            a.step(&[("w".into(), var.clone())], &grads, 1e-3)?;
        }
        Ok(())
    }

    /// Sign-SGD as candle ops equals the host arithmetic bit for bit.
    #[test]
    fn sign_sgd_equals_the_host_rows_update() -> Result<()> {
        let dev = Device::Cpu;
        let (rows, width, b) = (40, 16, 64);
        let init = random(rows * width, 5, 1.0);
        let table = Tensor::from_vec(init.clone(), (rows, width), &dev)?;
        let ids: Vec<u32> =
            random(b, 6, 1.0).iter().map(|v| ((v.abs() * 97.0) as u32) % 12).collect();
        let mut g = random(b * width, 7, 1.0);
        g[3] = 0.0;
        SignSgd { weight_decay: 0.1 }.step(
            &table,
            &ids,
            &Tensor::from_vec(g.clone(), (b, width), &dev)?,
            0.01,
        )?;
        let mut want = init;
        for (id, sum) in sum_rows_by_id(&ids, &g, width) {
            let id = id as usize;
            sign_sgd_update(&mut want[id * width..(id + 1) * width], &sum, 0.01, 0.1);
        }
        assert_eq!(flat(&table)?, want);
        Ok(())
    }
}
