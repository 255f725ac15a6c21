//! Exponential moving average of the trainable weights (design 3.5).
//!
//! After every optimizer step `shadow = (1 - rate) * param + rate * shadow`, with no bias
//! correction and no warm-up. Only trainable parameters are averaged: the puzzle-embedding
//! table and the fixed initial states keep their live values. The shadow is what evaluation
//! uses and what `model.safetensors` holds.

use anyhow::Result;
use candle_core::{Tensor, Var};
use std::collections::BTreeMap;

/// The exponential moving average of the trainable weights (official `ema`, `ema_rate`).
pub struct Ema {
    /// Weight kept of the old average at every update (`ema_rate`, e.g. 0.999).
    pub rate: f64,
    /// The averaged weights by parameter name, detached from autograd.
    pub shadow: BTreeMap<String, Tensor>,
}

impl Ema {
    /// Starts the shadow at the current parameter values.
    ///
    /// The shadow is kept detached from autograd: a shadow that records its op would chain
    /// every step's average to the previous one and keep them all alive (4 MB a step for
    /// `sudoku9-cpu`, resident memory growing to gigabytes over a run).
    pub fn new(rate: f64, params: &[(String, Var)]) -> Result<Self> {
        let shadow = params
            .iter()
            .map(|(n, v)| Ok((n.clone(), v.as_tensor().copy()?.detach())))
            .collect::<Result<_>>()?;
        Ok(Self { rate, shadow })
    }

    /// Moves the shadow toward the current weights, once per optimizer step:
    /// `shadow = (1 - rate) * param + rate * shadow`.
    pub fn update(&mut self, params: &[(String, Var)]) -> Result<()> {
        for (name, var) in params {
            if let Some(s) = self.shadow.get_mut(name) {
                let live = var.as_tensor().detach();
                *s = ((live * (1.0 - self.rate))? + (s.clone() * self.rate)?)?.detach();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn shadow_moves_by_one_minus_rate_toward_the_parameter() -> Result<()> {
        let p = Var::from_vec(vec![0.0f32, 10.0], 2, &Device::Cpu)?;
        let params = vec![("w".to_string(), p.clone())];
        let mut ema = Ema::new(0.9, &params)?;
        p.set(&Tensor::new(&[1.0f32, 0.0], &Device::Cpu)?)?;
        ema.update(&params)?;
        let s = ema.shadow["w"].to_vec1::<f32>()?;
        assert!((s[0] - 0.1).abs() < 1e-6 && (s[1] - 9.0).abs() < 1e-5, "{s:?}");
        ema.update(&params)?;
        let s = ema.shadow["w"].to_vec1::<f32>()?;
        assert!((s[0] - 0.19).abs() < 1e-6 && (s[1] - 8.1).abs() < 1e-5, "{s:?}");
        Ok(())
    }

    #[test]
    fn shadow_records_no_op_so_old_averages_are_freed() -> Result<()> {
        let p = Var::from_vec(vec![1.0f32, 2.0], 2, &Device::Cpu)?;
        let params = vec![("w".to_string(), p.clone())];
        let mut ema = Ema::new(0.5, &params)?;
        assert!(!ema.shadow["w"].track_op(), "the initial shadow is tracked by autograd");
        ema.update(&params)?;
        assert!(!ema.shadow["w"].track_op(), "the updated shadow is tracked by autograd");
        Ok(())
    }
}
