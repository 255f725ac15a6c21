//! Fused CPU kernels with their gradients, for the hot ops of the block: parameter-free
//! RMSNorm over any axis, softmax over the last axis, SwiGLU (`silu(gate) * up` of a tensor
//! holding `[gate | up]`), the head split with RoPE, and softplus (for BCE with logits).
//!
//! Each public function takes the fused path on a CPU f32 tensor and falls back to plain
//! candle ops elsewhere (CUDA, other dtypes), so every device computes the same math.
//! candle's own fused `rms_norm`, `softmax_last_dim` and `rope` have no backward pass, which
//! the one-cycle-with-gradient of the recursion needs.

use std::sync::Arc;

use candle_core::backend::BackendStorage;
use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor, D,
};

/// The f32 values of a contiguous CPU storage, or an error naming `op`.
pub(crate) fn f32_contiguous<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else { bail!("{op}: expected f32, got {:?}", s.dtype()) };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("{op}: input must be contiguous"),
    }
}

fn fused(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// Elements per parallel piece: large enough to amortise the hand-off between threads.
const PIECE: usize = 1 << 13;

/// Fills `dst`, viewed as rows of `row` elements, piece by piece on rayon's pool (the
/// threads candle's matrix products use): `f(r, cols, out)` writes `out` = columns `cols`
/// of row `r`. Pieces follow rows when there are many short ones and cut long rows into
/// parts when there are few, so both a `[rows, D]` channel tensor and a `[1, B*D]`
/// token-major one use every thread.
fn for_row_pieces(
    dst: &mut [f32],
    row: usize,
    f: impl Fn(usize, std::ops::Range<usize>, &mut [f32]) + Sync + Send,
) {
    use rayon::prelude::*;
    if row == 0 {
        return;
    }
    let piece = if row >= PIECE { PIECE } else { row * (PIECE / row).max(1) };
    let work = |(i, out): (usize, &mut [f32])| {
        let mut at = i * piece;
        let mut out = out;
        while !out.is_empty() {
            let (r, c) = (at / row, at % row);
            let len = (row - c).min(out.len());
            let (head, tail) = out.split_at_mut(len);
            f(r, c..c + len, head);
            out = tail;
            at += len;
        }
    };
    if dst.len() > piece {
        dst.par_chunks_mut(piece).enumerate().for_each(work);
    } else {
        dst.chunks_mut(piece).enumerate().for_each(work);
    }
}

/// `f(r, row)` for every whole row of `row_len` elements of `dst`, rows shared among rayon's
/// threads (for reductions along the row, which a cut row would break).
fn for_rows(dst: &mut [f32], row_len: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    use rayon::prelude::*;
    if row_len == 0 {
        return;
    }
    if dst.len() > row_len {
        dst.par_chunks_mut(row_len).enumerate().for_each(|(i, r)| f(i, r));
    } else {
        dst.chunks_mut(row_len).enumerate().for_each(|(i, r)| f(i, r));
    }
}

/// `sum[o, j] += term(index of x[o, k, j])` over k, for a tensor viewed as `[outer, n, inner]`.
fn column_sums(sum: &mut [f32], n: usize, inner: usize, term: impl Fn(usize) -> f32 + Sync + Send) {
    for_row_pieces(sum, inner, |o, cols, out| {
        for k in 0..n {
            let base = (o * n + k) * inner;
            for (j, acc) in cols.clone().zip(out.iter_mut()) {
                *acc += term(base + j);
            }
        }
    });
}

/// Splits `dims` around axis `dim` into (outer, n, inner).
fn split_dims(dims: &[usize], dim: usize) -> (usize, usize, usize) {
    (dims[..dim].iter().product(), dims[dim], dims[dim + 1..].iter().product())
}

// ---------------------------------------------------------------------------------------
// RMSNorm

/// Parameter-free RMSNorm over axis `dim`: `x / sqrt(mean(x^2 over dim) + eps)` (official
/// `rms_norm`, computed in f32). `dim` is the last axis for the channel norm and the token
/// axis for the first sub-layer of the `mlp_t` block.
pub fn rms_norm(x: &Tensor, dim: usize, eps: f64) -> Result<Tensor> {
    if fused(x) {
        x.contiguous()?.apply_op1(RmsNorm { dim, eps })
    } else {
        let dt = x.dtype();
        let xf = x.to_dtype(DType::F32)?;
        let r = (xf.sqr()?.mean_keepdim(dim)? + eps)?.sqrt()?.recip()?;
        xf.broadcast_mul(&r)?.to_dtype(dt)
    }
}

struct RmsNorm {
    dim: usize,
    eps: f64,
}

impl CustomOp1 for RmsNorm {
    fn name(&self) -> &'static str {
        "trm-rms-norm"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let src = f32_contiguous(s, l, self.name())?;
        let (outer, n, inner) = split_dims(l.dims(), self.dim);
        let eps = self.eps as f32;
        let mut dst = vec![0f32; src.len()];
        if inner == 1 {
            // The usual case (the last axis): one row per output row.
            for_rows(&mut dst, n, |o, ys| {
                let xs = &src[o * n..(o + 1) * n];
                let r = 1.0 / (xs.iter().map(|v| v * v).sum::<f32>() / n as f32 + eps).sqrt();
                for (y, x) in ys.iter_mut().zip(xs) {
                    *y = x * r;
                }
            });
            return Ok((CpuStorage::F32(dst), l.shape().clone()));
        }
        // r[o, j] = 1 / sqrt(mean_k x[o, k, j]^2 + eps), then y = x r.
        let mut r = vec![0f32; outer * inner];
        for_row_pieces(&mut r, inner, |o, cols, out| {
            for k in 0..n {
                let base = (o * n + k) * inner;
                for (acc, v) in out.iter_mut().zip(&src[base + cols.start..base + cols.end]) {
                    *acc += v * v;
                }
            }
            for acc in out.iter_mut() {
                *acc = 1.0 / (*acc / n as f32 + eps).sqrt();
            }
        });
        for_row_pieces(&mut dst, inner, |q, cols, out| {
            let (o, base) = (q / n, q * inner);
            let rs = &r[o * inner + cols.start..o * inner + cols.end];
            for ((y, x), rr) in out.iter_mut().zip(&src[base + cols.start..base + cols.end]).zip(rs)
            {
                *y = x * rr;
            }
        });
        Ok((CpuStorage::F32(dst), l.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // y = x r, r = (mean x^2 + eps)^-1/2  =>  dx = r (g - y mean(g y)).
        if fused(arg) && fused(grad) {
            let dx = arg.apply_op2_no_bwd(
                &grad.contiguous()?,
                &RmsNormBwd { dim: self.dim, eps: self.eps },
            )?;
            return Ok(Some(dx));
        }
        let r = (arg.sqr()?.mean_keepdim(self.dim)? + self.eps)?.sqrt()?.recip()?;
        let gy = (grad * res)?.mean_keepdim(self.dim)?;
        Ok(Some((grad - res.broadcast_mul(&gy)?)?.broadcast_mul(&r)?))
    }
}

struct RmsNormBwd {
    dim: usize,
    eps: f64,
}

impl CustomOp2 for RmsNormBwd {
    fn name(&self) -> &'static str {
        "trm-rms-norm-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let xs = f32_contiguous(s1, l1, self.name())?;
        let gs = f32_contiguous(s2, l2, self.name())?;
        let (outer, n, inner) = split_dims(l1.dims(), self.dim);
        let eps = self.eps as f32;
        let nf = n as f32;
        let mut dst = vec![0f32; xs.len()];
        if inner == 1 {
            for_rows(&mut dst, n, |o, d| {
                let (x, g) = (&xs[o * n..(o + 1) * n], &gs[o * n..(o + 1) * n]);
                let r = 1.0 / (x.iter().map(|v| v * v).sum::<f32>() / nf + eps).sqrt();
                let m = r * g.iter().zip(x).map(|(a, b)| a * b).sum::<f32>() / nf;
                for j in 0..n {
                    d[j] = r * (g[j] - x[j] * r * m);
                }
            });
            return Ok((CpuStorage::F32(dst), l1.shape().clone()));
        }
        // r as in the forward pass; m = mean(g y) = r mean(g x); dx = r (g - x r m).
        let mut r = vec![0f32; outer * inner];
        column_sums(&mut r, n, inner, |i| xs[i] * xs[i]);
        for v in r.iter_mut() {
            *v = 1.0 / (*v / nf + eps).sqrt();
        }
        let mut m = vec![0f32; outer * inner];
        column_sums(&mut m, n, inner, |i| gs[i] * xs[i]);
        for (mv, rv) in m.iter_mut().zip(&r) {
            *mv = rv * *mv / nf;
        }
        for_row_pieces(&mut dst, inner, |q, cols, d| {
            let (o, base) = (q / n, q * inner);
            let (x, g) =
                (&xs[base + cols.start..base + cols.end], &gs[base + cols.start..base + cols.end]);
            let (rr, mm) = (
                &r[o * inner + cols.start..o * inner + cols.end],
                &m[o * inner + cols.start..o * inner + cols.end],
            );
            for j in 0..cols.len() {
                d[j] = rr[j] * (g[j] - x[j] * rr[j] * mm[j]);
            }
        });
        Ok((CpuStorage::F32(dst), l1.shape().clone()))
    }
}

// ---------------------------------------------------------------------------------------
// Softmax

/// Softmax over the last axis (attention probabilities).
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if fused(x) {
        x.contiguous()?.apply_op1(SoftmaxLastDim)
    } else {
        // bf16 / f16 scores: the softmax in f32 inside (as the official fused bf16
        // attention), probabilities back in the input dtype.
        let dt = x.dtype();
        let wide = if matches!(dt, DType::BF16 | DType::F16) { DType::F32 } else { dt };
        let x = x.to_dtype(wide)?;
        let max = x.max_keepdim(D::Minus1)?;
        let e = x.broadcast_sub(&max)?.exp()?;
        e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?.to_dtype(dt)
    }
}

struct SoftmaxLastDim;

impl CustomOp1 for SoftmaxLastDim {
    fn name(&self) -> &'static str {
        "trm-softmax-last-dim"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let src = f32_contiguous(s, l, self.name())?;
        let n = *l.dims().last().unwrap_or(&1);
        let mut dst = vec![0f32; src.len()];
        for_rows(&mut dst, n, |i, ys| {
            let xs = &src[i * n..(i + 1) * n];
            let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for (y, x) in ys.iter_mut().zip(xs) {
                *y = (x - max).exp();
                sum += *y;
            }
            let inv = 1.0 / sum;
            for y in ys.iter_mut() {
                *y *= inv;
            }
        });
        Ok((CpuStorage::F32(dst), l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // dx = p (g - sum(g p))
        let gs = (grad * res)?.sum_keepdim(D::Minus1)?;
        Ok(Some((res * grad.broadcast_sub(&gs)?)?))
    }
}

// ---------------------------------------------------------------------------------------
// SwiGLU activation

/// `silu(gate) * up` for a tensor whose axis `dim` holds `[gate | up]` (first half gate, as
/// the official `gate_up_proj(x).chunk(2, dim=-1)`); the result has half the size on `dim`.
pub fn swiglu(x: &Tensor, dim: usize) -> Result<Tensor> {
    let width = x.dim(dim)?;
    if width % 2 != 0 {
        bail!("swiglu: axis {dim} of {:?} is odd", x.shape());
    }
    if fused(x) {
        x.contiguous()?.apply_op1(SwiGlu { dim })
    } else {
        let half = width / 2;
        let g = x.narrow(dim, 0, half)?;
        let u = x.narrow(dim, half, half)?;
        // bf16 / f16: silu in f32 rounded once (as PyTorch's `F.silu`), the product in the
        // input dtype.
        let dt = x.dtype();
        let wide = if matches!(dt, DType::BF16 | DType::F16) { DType::F32 } else { dt };
        g.to_dtype(wide)?.silu()?.to_dtype(dt)? * u
    }
}

struct SwiGlu {
    dim: usize,
}

impl CustomOp1 for SwiGlu {
    fn name(&self) -> &'static str {
        "trm-swiglu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let src = f32_contiguous(s, l, self.name())?;
        let (outer, n, rest) = split_dims(l.dims(), self.dim);
        let inner = n / 2 * rest;
        let mut dst = vec![0f32; outer * inner];
        for_row_pieces(&mut dst, inner, |o, cols, ys| {
            let base = 2 * o * inner;
            let g = &src[base + cols.start..base + cols.end];
            let u = &src[base + inner + cols.start..base + inner + cols.end];
            for ((y, g), u) in ys.iter_mut().zip(g).zip(u) {
                *y = g / (1.0 + (-g).exp()) * u;
            }
        });
        let mut dims = l.dims().to_vec();
        dims[self.dim] /= 2;
        Ok((CpuStorage::F32(dst), Shape::from(dims)))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        if fused(arg) && fused(grad) {
            return Ok(Some(
                arg.apply_op2_no_bwd(&grad.contiguous()?, &SwiGluBwd { dim: self.dim })?,
            ));
        }
        let half = arg.dim(self.dim)? / 2;
        let g = arg.narrow(self.dim, 0, half)?;
        let u = arg.narrow(self.dim, half, half)?;
        let sig = (g.neg()?.exp()? + 1.0)?.recip()?;
        let silu = (&g * &sig)?;
        let dsilu = (&sig * ((&g * (1.0 - &sig)?)? + 1.0)?)?;
        let dg = ((grad * u)? * dsilu)?;
        let du = (grad * silu)?;
        Ok(Some(Tensor::cat(&[dg, du], self.dim)?))
    }
}

struct SwiGluBwd {
    dim: usize,
}

impl CustomOp2 for SwiGluBwd {
    fn name(&self) -> &'static str {
        "trm-swiglu-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let xs = f32_contiguous(s1, l1, self.name())?;
        let gs = f32_contiguous(s2, l2, self.name())?;
        let (_, n, rest) = split_dims(l1.dims(), self.dim);
        let inner = n / 2 * rest;
        let mut dst = vec![0f32; xs.len()];
        // dst rows alternate [dgate | dup] per outer index: row q is half q % 2 of o = q / 2.
        for_row_pieces(&mut dst, inner, |q, cols, d| {
            let (o, up_half) = (q / 2, q % 2 == 1);
            let base = 2 * o * inner;
            let g = &xs[base + cols.start..base + cols.end];
            let u = &xs[base + inner + cols.start..base + inner + cols.end];
            let go = &gs[o * inner + cols.start..o * inner + cols.end];
            for j in 0..d.len() {
                let sig = 1.0 / (1.0 + (-g[j]).exp());
                d[j] = if up_half {
                    go[j] * g[j] * sig
                } else {
                    go[j] * u[j] * sig * (1.0 + g[j] * (1.0 - sig))
                };
            }
        });
        Ok((CpuStorage::F32(dst), l1.shape().clone()))
    }
}

// ---------------------------------------------------------------------------------------
// Head split with RoPE

/// Rotary tables `[S, head_dim]` in the official half-split layout (angles repeated twice),
/// kept on the device for the fallback path and on the host for the fused kernel.
#[derive(Clone)]
pub struct RopeTables {
    /// Cosines of the rotary angles, `[S, head_dim]`, on the device.
    pub cos: Tensor,
    /// Sines of the rotary angles, `[S, head_dim]`, on the device.
    pub sin: Tensor,
    cos_host: Arc<Vec<f32>>,
    sin_host: Arc<Vec<f32>>,
    head_dim: usize,
}

impl RopeTables {
    /// Official `RotaryEmbedding(dim, max_position_embeddings, base)`: `inv_freq[i] =
    /// 1 / base^(2i/dim)`, angle = position * inv_freq, computed in f32 as official.
    pub fn new(
        head_dim: usize,
        positions: usize,
        base: f64,
        device: &candle_core::Device,
    ) -> Result<Self> {
        let inv_freq = inverse_frequencies(head_dim / 2, base);
        Self::from_angles(head_dim, positions, device, |p| {
            inv_freq.iter().map(|f| p as f32 * f).collect()
        })
    }

    /// Two-dimensional rotary tables for a grid of `width` columns after `prefix` slots (our
    /// extension, `pos_encodings = "rope2d"`): the first half of the rotated pairs turn with
    /// the token's row, the second half with its column, each with the frequencies of a
    /// `head_dim / 2` wide official table. Grid token `k` sits at row `k / width + 1`,
    /// column `k % width + 1`; the prefix slots at (0, 0), unrotated. Attention scores then
    /// depend on the row and column offsets between two cells, the same everywhere on the grid.
    pub fn new_2d(
        head_dim: usize,
        prefix: usize,
        width: usize,
        positions: usize,
        base: f64,
        device: &candle_core::Device,
    ) -> Result<Self> {
        let quarter = head_dim / 4;
        let inv_freq = inverse_frequencies(quarter, base);
        Self::from_angles(head_dim, positions, device, |p| {
            let (row, col) = match p.checked_sub(prefix) {
                Some(k) => (k / width + 1, k % width + 1),
                None => (0, 0),
            };
            let mut angles: Vec<f32> = inv_freq.iter().map(|f| row as f32 * f).collect();
            angles.extend(inv_freq.iter().map(|f| col as f32 * f));
            angles
        })
    }

    /// Tables from the `head_dim / 2` angles of each position, repeated twice (half split).
    fn from_angles(
        head_dim: usize,
        positions: usize,
        device: &candle_core::Device,
        angles_at: impl Fn(usize) -> Vec<f32>,
    ) -> Result<Self> {
        let mut cos = Vec::with_capacity(positions * head_dim);
        let mut sin = Vec::with_capacity(positions * head_dim);
        for p in 0..positions {
            let angles = angles_at(p);
            assert_eq!(angles.len(), head_dim / 2, "rotary angles of position {p}");
            for _ in 0..2 {
                cos.extend(angles.iter().map(|a| (*a as f64).cos() as f32));
                sin.extend(angles.iter().map(|a| (*a as f64).sin() as f32));
            }
        }
        Ok(Self {
            cos: Tensor::from_slice(&cos, (positions, head_dim), device)?,
            sin: Tensor::from_slice(&sin, (positions, head_dim), device)?,
            cos_host: Arc::new(cos),
            sin_host: Arc::new(sin),
            head_dim,
        })
    }
}

/// `inv_freq[i] = 1 / base^(i / count)` for `i` in `0..count` (the official `1 /
/// base^(2i/dim)` with `count = dim / 2`), in f32 as official.
fn inverse_frequencies(count: usize, base: f64) -> Vec<f32> {
    (0..count).map(|i| 1.0 / (base as f32).powf((2 * i) as f32 / (2 * count) as f32)).collect()
}

/// `[B, S, H, hd]` (any strides, last axis contiguous, e.g. a slice of the qkv projection)
/// to `[B, H, S, hd]` contiguous, with the rotary embedding (`x cos + rotate_half(x) sin`)
/// when `rope` is given, times `scale` (the attention's 1/sqrt(hd) folded into q).
pub fn to_heads(x: &Tensor, rope: Option<&RopeTables>, scale: f64) -> Result<Tensor> {
    let (_, s, _, hd) = x.dims4()?;
    if let Some(r) = rope {
        if r.head_dim != hd || r.cos.dim(0)? < s {
            bail!("to_heads: rope tables {:?} do not fit {:?}", r.cos.shape(), x.shape());
        }
    }
    if fused(x) {
        let x = if x.stride()[3] == 1 { x.clone() } else { x.contiguous()? };
        x.apply_op1(ToHeads { rope: rope.cloned(), scale: scale as f32, inverse: false })
    } else {
        // bf16 / f16: the rotation and the scale in f32, the result back in the input dtype
        // (official `apply_rotary_pos_emb` casts q, k to the f32 tables and back).
        let dt = x.dtype();
        let wide = if matches!(dt, DType::BF16 | DType::F16) { DType::F32 } else { dt };
        let x = x.to_dtype(wide)?;
        let y = match rope {
            Some(r) => {
                let half = hd / 2;
                let rot =
                    Tensor::cat(&[x.narrow(3, half, half)?.neg()?, x.narrow(3, 0, half)?], 3)?;
                let cos = r.cos.narrow(0, 0, s)?.to_dtype(wide)?.unsqueeze(1)?;
                let sin = r.sin.narrow(0, 0, s)?.to_dtype(wide)?.unsqueeze(1)?;
                (x.broadcast_mul(&cos)? + rot.broadcast_mul(&sin)?)?
            }
            None => x.clone(),
        };
        (y * scale)?.to_dtype(dt)?.transpose(1, 2)?.contiguous()
    }
}

struct ToHeads {
    rope: Option<RopeTables>,
    scale: f32,
    /// Apply the transposed rotation (the backward pass): sin negated. Exact because the
    /// official tables repeat each angle in both halves.
    inverse: bool,
}

impl CustomOp1 for ToHeads {
    fn name(&self) -> &'static str {
        "trm-to-heads"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(src) = s else { bail!("{}: expected f32", self.name()) };
        let dims = l.dims();
        let (b, sl, h, hd) = (dims[0], dims[1], dims[2], dims[3]);
        let st = l.stride();
        if st[3] != 1 {
            bail!("{}: last axis must be contiguous", self.name());
        }
        let off = l.start_offset();
        let half = hd / 2;
        let sign = if self.inverse { -1.0f32 } else { 1.0 };
        let scale = self.scale;
        let mut dst = vec![0f32; b * h * sl * hd];
        for bi in 0..b {
            for hi in 0..h {
                for si in 0..sl {
                    let xs = &src[off + bi * st[0] + si * st[1] + hi * st[2]..][..hd];
                    let ys = &mut dst[((bi * h + hi) * sl + si) * hd..][..hd];
                    match &self.rope {
                        Some(r) => {
                            let c = &r.cos_host[si * hd..(si + 1) * hd];
                            let sn = &r.sin_host[si * hd..(si + 1) * hd];
                            for i in 0..half {
                                ys[i] = scale * (xs[i] * c[i] - sign * xs[i + half] * sn[i]);
                                ys[i + half] = scale
                                    * (xs[i + half] * c[i + half] + sign * xs[i] * sn[i + half]);
                            }
                        }
                        None => {
                            for (y, x) in ys.iter_mut().zip(xs) {
                                *y = scale * x;
                            }
                        }
                    }
                }
            }
        }
        Ok((CpuStorage::F32(dst), Shape::from((b, h, sl, hd))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // The op is linear: its transpose is the inverse rotation, heads moved back.
        let g = grad.contiguous()?.transpose(1, 2)?;
        let back = g.apply_op1_no_bwd(&ToHeads {
            rope: self.rope.clone(),
            scale: self.scale,
            inverse: !self.inverse,
        })?;
        Ok(Some(back.transpose(1, 2)?))
    }
}

// ---------------------------------------------------------------------------------------
// Softplus

/// `ln(1 + e^x)`, stable; its gradient is exactly `sigmoid(x)` (so BCE-with-logits written as
/// `softplus(v) - v t` has the official gradient `sigmoid(v) - t` everywhere, also at 0).
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    if fused(x) {
        x.contiguous()?.apply_op1(Softplus)
    } else {
        x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?
    }
}

struct Softplus;

impl CustomOp1 for Softplus {
    fn name(&self) -> &'static str {
        "trm-softplus"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let src = f32_contiguous(s, l, self.name())?;
        let dst = src.iter().map(|&x| x.max(0.0) + (-x.abs()).exp().ln_1p()).collect();
        Ok((CpuStorage::F32(dst), l.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let sig = (arg.neg()?.exp()? + 1.0)?.recip()?;
        Ok(Some((grad * sig)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// With `rope2d`, the score of a query and a key depends on their row and column offsets
    /// only: equal for two cell pairs with one offset, different for another offset; the
    /// prefix slot is not rotated.
    #[test]
    fn rope2d_scores_depend_on_grid_offsets_only() {
        let (prefix, width, rows, hd) = (1, 3, 3, 8);
        let s = prefix + width * rows;
        let rope = RopeTables::new_2d(hd, prefix, width, s, 10000.0, &Device::Cpu).unwrap();
        let v: Vec<f32> = (0..hd).map(|i| 0.3 + i as f32 * 0.1).collect();
        let x = Tensor::from_slice(&v.repeat(s), (1, s, 1, hd), &Device::Cpu).unwrap();
        let r = to_heads(&x, Some(&rope), 1.0).unwrap().squeeze(0).unwrap().squeeze(0).unwrap();
        let r: Vec<Vec<f32>> = r.to_vec2().unwrap();
        let cell = |row: usize, col: usize| prefix + row * width + col;
        let score = |a: usize, b: usize| r[a].iter().zip(&r[b]).map(|(p, q)| p * q).sum::<f32>();
        // (0,0)->(1,2) and (1,0)->(2,2): the same offset (1, 2)
        let same = (score(cell(0, 0), cell(1, 2)) - score(cell(1, 0), cell(2, 2))).abs();
        assert!(same < 1e-5, "{same}");
        // offset (2, 1) against (1, 2): rows and columns are told apart
        let other = (score(cell(0, 0), cell(2, 1)) - score(cell(0, 0), cell(1, 2))).abs();
        assert!(other > 1e-2, "{other}");
        assert_eq!(r[0], v, "the prefix slot is not rotated");
    }

    fn rand(shape: &[usize], seed: u64) -> Tensor {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n = shape.iter().product();
        let v = crate::init::trunc_normal(&mut rng, n, 1.0);
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// Fused forward and backward agree with the plain candle ops (run through f64, which
    /// takes the fallback path).
    fn check_against_fallback(f: impl Fn(&Tensor) -> Result<Tensor>, x: &Tensor, w: &Tensor) {
        let xv = Var::from_tensor(x).unwrap();
        let y = f(&xv).unwrap();
        let g = (&y * w).unwrap().sum_all().unwrap().backward().unwrap();
        let gx = g.get(&xv).unwrap().clone();
        let x64 = Var::from_tensor(&x.to_dtype(DType::F64).unwrap()).unwrap();
        let y64 = f(&x64).unwrap();
        let g64 = (&y64 * w.to_dtype(DType::F64).unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gx64 = g64.get(&x64).unwrap().to_dtype(DType::F32).unwrap();
        assert!(max_diff(&y, &y64.to_dtype(DType::F32).unwrap()) < 1e-5);
        assert!(max_diff(&gx, &gx64) < 1e-4, "grad diff {}", max_diff(&gx, &gx64));
    }

    #[test]
    fn rms_norm_over_last_and_middle_axis() {
        let x = rand(&[2, 5, 7], 1);
        let v = x.to_vec3::<f32>().unwrap();
        let y = rms_norm(&x, 2, 1e-5).unwrap().to_vec3::<f32>().unwrap();
        let row = &v[1][3];
        let r = 1.0 / (row.iter().map(|a| a * a).sum::<f32>() / 7.0 + 1e-5).sqrt();
        assert!((y[1][3][4] - row[4] * r).abs() < 1e-6);
        let y = rms_norm(&x, 1, 1e-5).unwrap().to_vec3::<f32>().unwrap();
        let col: Vec<f32> = (0..5).map(|k| v[1][k][2]).collect();
        let r = 1.0 / (col.iter().map(|a| a * a).sum::<f32>() / 5.0 + 1e-5).sqrt();
        assert!((y[1][3][2] - col[3] * r).abs() < 1e-6);
        let w = rand(&[2, 5, 7], 2);
        check_against_fallback(|t| rms_norm(t, 2, 1e-5), &x, &w);
        check_against_fallback(|t| rms_norm(t, 1, 1e-5), &x, &w);
    }

    #[test]
    fn softmax_swiglu_softplus_match_fallback() {
        let x = rand(&[3, 4, 6], 3);
        let w = rand(&[3, 4, 6], 4);
        check_against_fallback(softmax_last_dim, &x, &w);
        let w = rand(&[3, 4, 3], 5);
        check_against_fallback(|t| swiglu(t, 2), &x, &w);
        let w = rand(&[3, 2, 6], 6);
        check_against_fallback(|t| swiglu(t, 1), &x, &w);
        let x = rand(&[9], 7);
        let w = rand(&[9], 8);
        check_against_fallback(softplus, &x, &w);
    }

    /// Shapes whose rows are cut into several parallel pieces (rows longer than `PIECE`),
    /// pieces that hold several short rows, and the token-major norm over axis 0.
    #[test]
    fn fused_ops_match_fallback_across_piece_boundaries() {
        let x = rand(&[5, 2, 9001], 11);
        let w = rand(&[5, 2, 9001], 12);
        check_against_fallback(|t| rms_norm(t, 0, 1e-5), &x, &w);
        check_against_fallback(|t| rms_norm(t, 1, 1e-5), &x, &w);
        check_against_fallback(|t| rms_norm(t, 2, 1e-5), &x, &w);
        let x = rand(&[6, 3, 4001], 13);
        let w = rand(&[3, 3, 4001], 14);
        check_against_fallback(|t| swiglu(t, 0), &x, &w);
        let x = rand(&[700, 26], 15);
        let w = rand(&[700, 13], 16);
        check_against_fallback(|t| swiglu(t, 1), &x, &w);
        let w = rand(&[700, 26], 17);
        check_against_fallback(softmax_last_dim, &x, &w);
    }

    #[test]
    fn rope_is_the_half_split_rotation() {
        let hd = 4;
        let rope = RopeTables::new(hd, 3, 10000.0, &Device::Cpu).unwrap();
        // one head, position 2: angles 2 * [1, 1/100]
        let x = Tensor::from_vec(vec![1f32, 2., 3., 4.], (1, 1, 1, 4), &Device::Cpu).unwrap();
        let x = x.broadcast_as((1, 3, 1, 4)).unwrap().contiguous().unwrap();
        let y = to_heads(&x, Some(&rope), 1.0)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let (a0, a1) = (2.0f64, 2.0f64 / 100.0);
        let want = [
            1.0 * a0.cos() - 3.0 * a0.sin(),
            2.0 * a1.cos() - 4.0 * a1.sin(),
            3.0 * a0.cos() + 1.0 * a0.sin(),
            4.0 * a1.cos() + 2.0 * a1.sin(),
        ];
        for (i, w) in want.iter().enumerate() {
            assert!((y[8 + i] as f64 - w).abs() < 1e-5, "{i}: {} vs {w}", y[8 + i]);
        }
        // fused vs fallback with gradient, strided input (a slice of a wider tensor)
        let wide = rand(&[2, 3, 5, hd], 9);
        let w = rand(&[2, 2, 3, hd], 10);
        let rope64 = RopeTables::new(hd, 3, 10000.0, &Device::Cpu).unwrap();
        let xv = Var::from_tensor(&wide).unwrap();
        let y = to_heads(&xv.narrow(2, 1, 2).unwrap(), Some(&rope), 0.5).unwrap();
        let gx =
            (&y * &w).unwrap().sum_all().unwrap().backward().unwrap().get(&xv).unwrap().clone();
        let x64 = Var::from_tensor(&wide.to_dtype(DType::F64).unwrap()).unwrap();
        let r64 = RopeTables {
            cos: rope64.cos.to_dtype(DType::F64).unwrap(),
            sin: rope64.sin.to_dtype(DType::F64).unwrap(),
            ..rope64.clone()
        };
        let y64 = to_heads(&x64.narrow(2, 1, 2).unwrap(), Some(&r64), 0.5).unwrap();
        let g64 = (&y64 * w.to_dtype(DType::F64).unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gx64 = g64.get(&x64).unwrap().to_dtype(DType::F32).unwrap();
        assert!(max_diff(&y, &y64.to_dtype(DType::F32).unwrap()) < 1e-5);
        assert!(max_diff(&gx, &gx64) < 1e-5);
    }
}
