//! The loss head (official `ACTLossHead`, design 3.3) and the metrics of design 5.2.

use anyhow::Result;
use candle_core::{DType, Tensor, D};

use crate::carry::{Carry, IGNORE_LABEL_ID};
use crate::config::LossType;
use crate::model::StepOutput;
use crate::ops::softplus;

/// `log(s(x) / sum s(x))` over the last axis in f64, `s(v) = 1 + v` for v >= 0 and
/// `1 / (1 - v + 1e-30)` for v < 0 (official `log_stablemax`).
pub fn log_stablemax(logits: &Tensor) -> Result<Tensor> {
    let x = logits.to_dtype(DType::F64)?;
    let neg = (x.affine(-1.0, 1.0)? + 1e-30)?.recip()?;
    let pos = (&x + 1.0)?;
    let s = x.lt(0.0)?.where_cond(&neg, &pos)?;
    Ok(s.broadcast_div(&s.sum_keepdim(D::Minus1)?)?.log()?)
}

/// Per-position stablemax cross-entropy in f64. `targets` holds class indices (u32) with the
/// shape of `logits` minus the last axis; no masking here.
pub fn stablemax_cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    pick(&log_stablemax(logits)?, targets)
}

/// Per-position softmax cross-entropy in f32 (official `softmax_cross_entropy`).
pub fn softmax_cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let x = logits.to_dtype(DType::F32)?;
    let max = x.max_keepdim(D::Minus1)?.detach();
    let shifted = x.broadcast_sub(&max)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    pick(&shifted.broadcast_sub(&lse)?, targets)
}

/// `-logprobs[..., target]`.
fn pick(logprobs: &Tensor, targets: &Tensor) -> Result<Tensor> {
    Ok(logprobs.gather(&targets.unsqueeze(D::Minus1)?, D::Minus1)?.squeeze(D::Minus1)?.neg()?)
}

/// Sum over the elements of `BCEWithLogits(v, t) = softplus(v) - v t`.
pub fn bce_with_logits_sum(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    Ok((softplus(logits)? - (logits * targets)?)?.sum_all()?)
}

/// Sums over the rows that halted at this step and have at least one valid label
/// (design 5.2). Divide by `count` (or the losses by the global batch size) to log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Rows counted: halted at this step and with at least one valid label.
    pub count: usize,
    /// Sum over rows of (correct valid tokens / valid tokens).
    pub accuracy: f64,
    /// Rows whose every valid token is correct.
    pub exact_accuracy: f64,
    /// Rows where `(q_halt_logit >= 0) == row fully correct`.
    pub q_halt_accuracy: f64,
    /// Sum of the supervision steps used.
    pub steps: f64,
}

impl Metrics {
    /// Adds the sums and the count of `other` (e.g. another batch) to these.
    pub fn add(&mut self, other: &Metrics) {
        self.count += other.count;
        self.accuracy += other.accuracy;
        self.exact_accuracy += other.exact_accuracy;
        self.q_halt_accuracy += other.q_halt_accuracy;
        self.steps += other.steps;
    }
}

/// The result of [`act_loss`].
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// `lm + 0.5 (q_halt + q_continue)`, f64 scalar, recorded by autograd in training.
    /// Summed over rows, not divided by the batch size (the trainer divides by the global
    /// batch size before `backward`).
    pub total: Tensor,
    /// Token cross-entropy, averaged over each row's valid labels and summed over rows.
    pub lm_loss: f64,
    /// Binary cross-entropy of the Q-halt logit against "row fully correct", summed over rows.
    pub q_halt_loss: f64,
    /// Only when the step produced a Q-continue target (HRM training).
    pub q_continue_loss: Option<f64>,
    /// Metrics over the rows that halted at this step.
    pub metrics: Metrics,
    /// Argmax of the logits, `[B * seq_len]` (first maximum on ties, as `torch.argmax`).
    pub preds: Vec<u32>,
    /// Per row: every valid token predicted correctly (rows without valid labels count as correct).
    pub seq_is_correct: Vec<bool>,
}

/// The official `ACTLossHead` on one step's output and the carry after it (labels, halted,
/// steps). Loss over every slot; metrics over the halted ones.
pub fn act_loss(loss_type: LossType, out: &StepOutput, carry: &Carry) -> Result<LossOutput> {
    act_loss_on(loss_type, out, carry, &carry.current.labels)
}

/// [`act_loss`] against `labels` (`[B * S]`, row-major) instead of the carry's own.
pub fn act_loss_on(
    loss_type: LossType,
    out: &StepOutput,
    carry: &Carry,
    labels: &[i32],
) -> Result<LossOutput> {
    let (b, seq, vocab) = out.logits.dims3()?;
    let device = out.logits.device();
    anyhow::ensure!(
        labels.len() == b * seq,
        "labels hold {} values, logits are [{b}, {seq}, {vocab}]",
        labels.len()
    );

    let host: Vec<f32> = out.logits.detach().flatten_all()?.to_vec1()?;
    let preds: Vec<u32> = host
        .chunks_exact(vocab)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best as u32
        })
        .collect();
    let q_halt: Vec<f32> = out.q_halt_logits.detach().to_vec1()?;

    let mut metrics = Metrics::default();
    let mut seq_is_correct = Vec::with_capacity(b);
    let mut divisors = Vec::with_capacity(b);
    for (r, (row_labels, row_preds)) in
        labels.chunks_exact(seq).zip(preds.chunks_exact(seq)).enumerate()
    {
        let (mut valid, mut correct) = (0usize, 0usize);
        for (&l, &p) in row_labels.iter().zip(row_preds) {
            if l != IGNORE_LABEL_ID {
                valid += 1;
                correct += (p as i32 == l) as usize;
            }
        }
        let divisor = valid.max(1) as f64;
        let row_correct = correct == valid;
        seq_is_correct.push(row_correct);
        divisors.push(divisor);
        if carry.halted[r] && valid > 0 {
            metrics.count += 1;
            metrics.accuracy += correct as f64 / divisor;
            metrics.exact_accuracy += row_correct as u8 as f64;
            metrics.q_halt_accuracy += ((q_halt[r] >= 0.0) == row_correct) as u8 as f64;
            metrics.steps += carry.steps[r] as f64;
        }
    }

    let targets: Vec<u32> =
        labels.iter().map(|&l| if l == IGNORE_LABEL_ID { 0 } else { l as u32 }).collect();
    let targets = Tensor::from_vec(targets, (b, seq), device)?;
    let per_token = match loss_type {
        LossType::StablemaxCrossEntropy => stablemax_cross_entropy(&out.logits, &targets)?,
        LossType::SoftmaxCrossEntropy => softmax_cross_entropy(&out.logits, &targets)?,
    };
    let dt = per_token.dtype();
    let mask: Vec<f64> = labels.iter().map(|&l| (l != IGNORE_LABEL_ID) as u8 as f64).collect();
    let mask = Tensor::from_vec(mask, (b, seq), device)?.to_dtype(dt)?;
    let divisors = Tensor::from_vec(divisors, (b, 1), device)?.to_dtype(dt)?;
    let lm = (per_token * mask)?.broadcast_div(&divisors)?.sum_all()?;

    let halt_targets: Vec<f32> = seq_is_correct.iter().map(|&c| c as u8 as f32).collect();
    let halt_targets = Tensor::from_vec(halt_targets, b, device)?;
    let q_halt_loss = bce_with_logits_sum(&out.q_halt_logits, &halt_targets)?;
    let q_continue_loss = match &out.target_q_continue {
        Some(t) => Some(bce_with_logits_sum(&out.q_continue_logits, t)?),
        None => None,
    };
    let q_sum = match &q_continue_loss {
        Some(c) => (&q_halt_loss + c)?,
        None => q_halt_loss.clone(),
    };
    let total = (lm.to_dtype(DType::F64)? + (q_sum * 0.5)?.to_dtype(DType::F64)?)?;

    Ok(LossOutput {
        lm_loss: lm.to_dtype(DType::F64)?.to_scalar()?,
        q_halt_loss: q_halt_loss.to_dtype(DType::F64)?.to_scalar()?,
        q_continue_loss: match q_continue_loss {
            Some(c) => Some(c.to_dtype(DType::F64)?.to_scalar()?),
            None => None,
        },
        total,
        metrics,
        preds,
        seq_is_correct,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn stablemax_matches_hand_values() {
        // logits [2, -1, 0]: s = [3, 1/2, 1], sum 4.5
        let x = Tensor::new(&[[2f32, -1.0, 0.0]], &Device::Cpu).unwrap();
        let t = Tensor::new(&[0u32], &Device::Cpu).unwrap();
        let ce: Vec<f64> = stablemax_cross_entropy(&x, &t).unwrap().to_vec1().unwrap();
        assert!((ce[0] - (4.5f64 / 3.0).ln()).abs() < 1e-12);
        let t = Tensor::new(&[1u32], &Device::Cpu).unwrap();
        let ce: Vec<f64> = stablemax_cross_entropy(&x, &t).unwrap().to_vec1().unwrap();
        assert!((ce[0] - 9f64.ln()).abs() < 1e-12);
        let sm: Vec<f32> = softmax_cross_entropy(&x, &t).unwrap().to_vec1().unwrap();
        let z = 2f64.exp() + (-1f64).exp() + 1.0;
        assert!((sm[0] as f64 - (z.ln() + 1.0)).abs() < 1e-6);
    }

    #[test]
    fn bce_with_logits_matches_formula_and_gradient() {
        use candle_core::Var;
        let v = Var::new(&[0f32, 3.0, -2.0], &Device::Cpu).unwrap();
        let t = Tensor::new(&[1f32, 0.0, 0.25], &Device::Cpu).unwrap();
        let l = bce_with_logits_sum(&v, &t).unwrap();
        let want: f64 = [(0f64, 1f64), (3.0, 0.0), (-2.0, 0.25)]
            .iter()
            .map(|&(v, t)| v.max(0.0) - v * t + (1.0 + (-v.abs()).exp()).ln())
            .sum();
        assert!((l.to_scalar::<f32>().unwrap() as f64 - want).abs() < 1e-5);
        let g: Vec<f32> = l.backward().unwrap().get(&v).unwrap().to_vec1().unwrap();
        for (gi, (vi, ti)) in g.iter().zip([(0f32, 1f32), (3.0, 0.0), (-2.0, 0.25)]) {
            assert!((gi - (1.0 / (1.0 + (-vi).exp()) - ti)).abs() < 1e-6);
        }
    }
}
