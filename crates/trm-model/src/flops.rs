//! Analytic floating-point operation counts (multiply-adds count 2) of the matrix products,
//! which are nearly all the work; elementwise passes (norms, SwiGLU gates, RoPE) are left
//! out. Used by `trm bench` to turn times into GFLOP/s.

use crate::config::{Arch, ModelConfig};
use crate::init::swiglu_intermediate;

impl ModelConfig {
    /// FLOPs of one block on `batch` rows of `S = total_len()` positions.
    pub fn block_flops(&self, batch: usize) -> f64 {
        let (b, s, d) = (batch as f64, self.total_len() as f64, self.hidden_size as f64);
        let tokens = b * s;
        let inter = swiglu_intermediate(self.hidden_size, self.expansion) as f64;
        let channel = 2.0 * tokens * (d * 2.0 * inter + inter * d);
        let mixer = if self.mlp_t {
            let inter_t = swiglu_intermediate(self.total_len(), self.expansion) as f64;
            // Token mixing: every (row, channel) column of S values through a SwiGLU of width S.
            2.0 * b * d * (s * 2.0 * inter_t + inter_t * s)
        } else {
            let heads = (self.num_heads * self.head_dim()) as f64;
            // qkv and o projections, then Q K^T and P V for every head.
            2.0 * tokens * (d * 3.0 * heads + heads * d) + 2.0 * 2.0 * b * s * s * heads
        };
        channel + mixer
    }

    /// FLOPs of one application of the network used for a latent or answer update: the
    /// `L_layers` blocks of TRM's shared network (HRM: the L module; its H updates are
    /// counted by [`Self::supervision_step_flops`]).
    pub fn network_flops(&self, batch: usize) -> f64 {
        self.l_layers as f64 * self.block_flops(batch)
    }

    /// Network applications in one supervision step: TRM `T (n + 1)`, HRM `T n` L updates
    /// and `T` H updates (returned as (L-module, H-module) applications).
    pub fn applications(&self) -> (usize, usize) {
        match self.arch {
            Arch::Trm => (self.h_cycles * (self.l_cycles + 1), 0),
            Arch::Hrm => (self.h_cycles * self.l_cycles, self.h_cycles),
        }
    }

    /// FLOPs of one supervision step's forward pass (heads included).
    pub fn supervision_step_flops(&self, batch: usize) -> f64 {
        let (l_apps, h_apps) = self.applications();
        let block = self.block_flops(batch);
        let heads = 2.0 * (batch * self.seq_len * self.vocab_size * self.hidden_size) as f64;
        (l_apps * self.l_layers + h_apps * self.h_layers) as f64 * block + heads
    }

    /// FLOPs of one training step: the forward pass plus a backward pass (twice the forward
    /// cost) through the part that carries gradient: TRM n + 1 applications, HRM one L and
    /// one H update.
    pub fn train_step_flops(&self, batch: usize) -> f64 {
        let block = self.block_flops(batch);
        let grad_blocks = match self.arch {
            Arch::Trm => (self.l_cycles + 1) * self.l_layers,
            Arch::Hrm => self.l_layers + self.h_layers,
        };
        let heads = 2.0 * (batch * self.seq_len * self.vocab_size * self.hidden_size) as f64;
        self.supervision_step_flops(batch) + 2.0 * (grad_blocks as f64 * block + heads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudoku_mlp_network_is_about_19_5_gflop_at_batch_16() {
        // Reference 1.4: D 512 (I 1536), S 97 (I_t 512), 2 layers.
        let cfg = ModelConfig::official_sudoku_mlp();
        let tokens = 16.0 * 97.0;
        let channel = 2.0 * tokens * (512.0 * 3072.0 + 1536.0 * 512.0);
        let mixer = 2.0 * 16.0 * 512.0 * (97.0 * 1024.0 + 512.0 * 97.0);
        assert_eq!(cfg.network_flops(16), 2.0 * (channel + mixer));
        let g = cfg.network_flops(16) / 1e9;
        assert!((19.0..20.0).contains(&g), "{g}");
        assert_eq!(cfg.applications(), (21, 0));
        assert!(cfg.train_step_flops(16) > cfg.supervision_step_flops(16) * 1.6);
    }
}
