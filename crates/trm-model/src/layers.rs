//! The block of design 1.4: post-norm, no biases, no norm weights.
//!
//! ```text
//! attention:  h = RMSNorm(h + Attn(h));              h = RMSNorm(h + SwiGLU_D(h))
//! mlp_t:      h = RMSNorm_tokens(h + SwiGLU_S(h^T)^T); h = RMSNorm(h + SwiGLU_D(h))
//! ```
//! The weights arrive as plain tensors: the recursion passes either the trainable `Var`s
//! (recorded by autograd) or detached copies of them (nothing recorded), see `model.rs`.

use std::sync::Arc;

use candle_core::{Result, Tensor};

use crate::fused;
use crate::ops::{rms_norm, softmax_last_dim, swiglu, to_heads, RopeTables};

/// The token mixer of one block.
pub(crate) enum Mixer {
    /// Bidirectional multi-head attention: `qkv_proj [3 H hd, D]`, `o_proj [D, H hd]`.
    Attention { qkv: Tensor, o: Tensor },
    /// `mlp_t`: a SwiGLU along the token axis, `gate_up [2 I_t, S]`, `down [S, I_t]`.
    TokenMlp { gate_up: Tensor, down: Tensor },
}

/// One block's weights.
pub(crate) struct BlockWeights {
    pub mixer: Mixer,
    /// Channel SwiGLU `gate_up_proj [2 I, D]`, `down_proj [D, I]`.
    pub gate_up: Tensor,
    pub down: Tensor,
    /// Transposed copies of the channel weights for the fused CPU forward (see
    /// [`fused::Transposed`]); `None` where the fused ops do not apply.
    pub transposed: Option<Arc<fused::Transposed>>,
}

impl BlockWeights {
    /// `shared`: transposed copies already made from the same weights in this step.
    pub(crate) fn new(
        mixer: Mixer,
        gate_up: Tensor,
        down: Tensor,
        shared: Option<Arc<fused::Transposed>>,
    ) -> Result<Self> {
        let transposed = match shared {
            Some(t) => Some(t),
            None if fused::applies(&[&gate_up, &down]) => {
                Some(Arc::new(fused::Transposed::new(&gate_up, &down)?))
            }
            None => None,
        };
        Ok(Self { mixer, gate_up, down, transposed })
    }
}

/// What every block needs besides its weights.
pub(crate) struct BlockContext<'a> {
    pub rope: Option<&'a RopeTables>,
    pub num_heads: usize,
    pub head_dim: usize,
    pub eps: f64,
}

/// `x @ w^T` over the last axis (the official `CastedLinear`, no bias). A non-contiguous
/// 3-D `x` (a slice of the state) is multiplied in place against a broadcast weight.
pub(crate) fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dims = x.dims();
    let (in_dim, out_dim) = (dims[dims.len() - 1], w.dim(0)?);
    if x.is_contiguous() {
        let rows = x.elem_count() / in_dim;
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().unwrap() = out_dim;
        x.reshape((rows, in_dim))?.matmul(&w.t()?)?.reshape(out_dims)
    } else if dims.len() == 3 {
        x.matmul(&w.t()?.broadcast_as((dims[0], in_dim, out_dim))?)
    } else {
        linear(&x.contiguous()?, w)
    }
}

/// `w @ x[b]` for every batch row b: the weight multiplies from the left (token mixing),
/// broadcast without a copy.
fn left_linear(w: &Tensor, x: &Tensor) -> Result<Tensor> {
    let (b, _, _) = x.dims3()?;
    let (o, i) = w.dims2()?;
    w.broadcast_as((b, o, i))?.matmul(x)
}

/// SwiGLU over the channel axis: `down(silu(g) * u)`, `[g | u] = gate_up(h)`.
fn channel_mlp(gate_up: &Tensor, down: &Tensor, h: &Tensor) -> Result<Tensor> {
    let gu = linear(h, gate_up)?;
    let last = gu.rank() - 1;
    linear(&swiglu(&gu, last)?, down)
}

/// The official `Attention` (non-causal, no mask, n_kv = n_heads) with half-split RoPE.
fn attention(ctx: &BlockContext, qkv_w: &Tensor, o_w: &Tensor, h: &Tensor) -> Result<Tensor> {
    let (b, s, _) = h.dims3()?;
    let (nh, hd) = (ctx.num_heads, ctx.head_dim);
    let qkv = linear(h, qkv_w)?.reshape((b, s, 3 * nh, hd))?;
    // Heads 0..nh are queries, nh..2nh keys, 2nh..3nh values; 1/sqrt(hd) folded into q.
    let q = to_heads(&qkv.narrow(2, 0, nh)?, ctx.rope, 1.0 / (hd as f64).sqrt())?;
    let k = to_heads(&qkv.narrow(2, nh, nh)?, ctx.rope, 1.0)?;
    let v = to_heads(&qkv.narrow(2, 2 * nh, nh)?, None, 1.0)?;
    let p = softmax_last_dim(&q.matmul(&k.t()?)?)?;
    let o = p.matmul(&v)?.transpose(1, 2)?.reshape((b, s, nh * hd))?;
    linear(&o, o_w)
}

/// `RMSNorm_S(h + SwiGLU_S(h))`, the token-mixing sub-layer of the `mlp_t` block, from
/// candle ops. Official: transpose to [B, D, S], SwiGLU over S, RMSNorm over S, transpose
/// back. Same math without the transposes: the weights multiply from the left and the norm
/// runs over the token axis (1). Reference 1.4: NOT over D.
pub(crate) fn token_sublayer(
    h: &Tensor,
    gate_up: &Tensor,
    down: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let a = swiglu(&left_linear(gate_up, h)?, 1)?;
    rms_norm(&(h + left_linear(down, &a)?)?, 1, eps)
}

/// `RMSNorm_D(h + SwiGLU_D(h))`, the channel sub-layer, from candle ops.
pub(crate) fn channel_sublayer(
    h: &Tensor,
    gate_up: &Tensor,
    down: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let last = h.rank() - 1;
    rms_norm(&(h + channel_mlp(gate_up, down, h)?)?, last, eps)
}

/// One post-norm block. The MLP sub-layers take the fused CPU ops of `fused.rs` where they
/// apply (f32 on the CPU), the candle-op versions above elsewhere.
pub(crate) fn block(ctx: &BlockContext, w: &BlockWeights, h: &Tensor) -> Result<Tensor> {
    let h = match &w.mixer {
        Mixer::Attention { qkv, o } => rms_norm(&(h + attention(ctx, qkv, o, h)?)?, 2, ctx.eps)?,
        Mixer::TokenMlp { gate_up, down } if fused::applies(&[h, gate_up, down]) => {
            fused::token_sublayer(h, gate_up, down, ctx.eps)?
        }
        Mixer::TokenMlp { gate_up, down } => token_sublayer(h, gate_up, down, ctx.eps)?,
    };
    if fused::applies(&[&h, &w.gate_up, &w.down]) {
        fused::channel_sublayer(&h, &w.gate_up, &w.down, w.transposed.as_deref(), ctx.eps)
    } else {
        channel_sublayer(&h, &w.gate_up, &w.down, ctx.eps)
    }
}

/// A reasoning module (`L_level` / `H_level`): `hidden + injection`, then every block.
pub(crate) fn level(
    ctx: &BlockContext,
    layers: &[BlockWeights],
    hidden: &Tensor,
    injection: &Tensor,
) -> Result<Tensor> {
    let mut h = (hidden + injection)?;
    for w in layers {
        h = block(ctx, w, &h)?;
    }
    Ok(h)
}
