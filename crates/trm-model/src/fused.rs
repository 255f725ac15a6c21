//! The two sub-layers of the block as single CPU f32 ops with hand-written backward passes.
//!
//! ```text
//! channel:  y = RMSNorm_D(h + down(silu(g) * u)),      [g | u] = h gate_up^T    (h: [N, D])
//! tokens:   y = RMSNorm_S(h + down_t (silu(g) * u)),   [g | u] = gate_up_t h    (per batch row, h: [S, D])
//! ```
//! (the token-mixing products run on a token-major copy `[S, B D]` of h, one product for
//! the whole batch).
//!
//! Built from candle ops, each sub-layer is six to eight graph nodes: every node allocates
//! its output, the backward pass zero-fills and adds a gradient buffer per node, the
//! token-mixing weights are broadcast over the batch (their gradient is a `[B, ..]`
//! tensor summed afterwards) and the residual, the SwiGLU and the norm each take a pass
//! over memory. Here each sub-layer is two matrix products (the `gemm` crate, as candle
//! uses it) around fused element passes, the residual is accumulated by the second
//! product, and the backward pass reuses the forward's `[g | u]` buffer for its gradient.
//!
//! The ops keep `[g | u]` from the forward pass for the backward one (it is about half the
//! activations autograd would keep for the same sub-layer) and drop it with the graph; a
//! second backward over the same graph recomputes it.

use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::sync::Mutex;

use candle_core::{
    bail, CpuStorage, CustomOp3, DType, Device, Layout, Result, Shape, Storage, Tensor,
};
use rayon::prelude::*;

use crate::ops::f32_contiguous;
use crate::simd::with_simd;

/// Whether the fused sub-layers apply: CPU f32 tensors (other devices and dtypes take the
/// composite path of `layers.rs`, which computes the same function).
pub(crate) fn applies(tensors: &[&Tensor]) -> bool {
    tensors.iter().all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
}

/// Contiguous transposed copies of the channel weights, `gate_up^T [D, 2I]` and
/// `down^T [I, D]`, made once per step and used by every forward product of the step: with
/// the weight as a row-major right operand `gemm` skips repacking it on every call, which
/// makes the products of one puzzle (97 rows) about twice as fast and those of a batch of
/// 16 about 10% faster. Detached: gradients go to the original weights.
pub(crate) struct Transposed {
    gate_up_t: Tensor,
    down_t: Tensor,
}

impl Transposed {
    pub(crate) fn new(gate_up: &Tensor, down: &Tensor) -> Result<Self> {
        Ok(Self {
            gate_up_t: gate_up.detach().t()?.contiguous()?,
            down_t: down.detach().t()?.contiguous()?,
        })
    }
}

/// Whether autograd records an op on any of `tensors` (so its backward will run).
fn tracked(tensors: &[&Tensor]) -> bool {
    tensors.iter().any(|t| t.track_op())
}

/// `RMSNorm_D(h + SwiGLU(h))` over the last axis of `h` (`[..., D]`), weights
/// `gate_up [2I, D]` and `down [D, I]`, with their transposed copies when the caller has them.
pub(crate) fn channel_sublayer(
    h: &Tensor,
    gate_up: &Tensor,
    down: &Tensor,
    transposed: Option<&Transposed>,
    eps: f64,
) -> Result<Tensor> {
    let transposed = match transposed {
        Some(t)
            if t.gate_up_t.dims() == [gate_up.dim(1)?, gate_up.dim(0)?]
                && t.down_t.dims() == [down.dim(1)?, down.dim(0)?] =>
        {
            Some((t.gate_up_t.clone(), t.down_t.clone()))
        }
        Some(_) => bail!("transposed channel weights do not match the weights"),
        None => None,
    };
    h.contiguous()?.apply_op3(
        &gate_up.contiguous()?,
        &down.contiguous()?,
        ChannelMlp {
            eps: eps as f32,
            keep: tracked(&[h, gate_up, down]),
            transposed,
            saved: Mutex::new(None),
        },
    )
}

/// `RMSNorm_S(h + SwiGLU_S(h))` of the `mlp_t` block: `h [B, S, D]`, the SwiGLU mixes the
/// token axis (`gate_up [2I, S]`, `down [S, I]`) and the norm runs over it (official: on
/// the transposed `[B, D, S]` tensor).
pub(crate) fn token_sublayer(
    h: &Tensor,
    gate_up: &Tensor,
    down: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    h.contiguous()?.apply_op3(
        &gate_up.contiguous()?,
        &down.contiguous()?,
        TokenMlp { eps: eps as f32, keep: tracked(&[h, gate_up, down]), saved: Mutex::new(None) },
    )
}

// ---------------------------------------------------------------------------------------
// Matrix products

/// A strided view of a matrix for `gemm`: `rows x cols`, element (i, j) at `i rs + j cs`.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
}

/// A row-major `rows x cols` matrix over `data`.
fn mat(data: &[f32], rows: usize, cols: usize) -> Mat<'_> {
    assert!(data.len() >= rows * cols, "matrix view out of bounds");
    Mat { data, rows, cols, rs: cols as isize, cs: 1 }
}

impl Mat<'_> {
    fn t(self) -> Self {
        Mat { rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs, ..self }
    }
}

/// `dst = lhs rhs` (`accumulate`: `dst += lhs rhs`), `dst` row-major `[lhs.rows, rhs.cols]`,
/// on every thread candle uses.
fn matmul_into(dst: &mut [f32], lhs: Mat, rhs: Mat, accumulate: bool) {
    // SAFETY: dst is an exclusively borrowed, initialised slice of at least `len` elements.
    unsafe { gemm_raw(dst.as_mut_ptr(), dst.len(), rhs.cols, lhs, rhs, accumulate, threads()) }
}

/// [`matmul_into`] on the calling thread only, into rows of `dst` that are `dst_rs` apart
/// (a block of columns of a wider matrix when `dst_rs > rhs.cols`).
fn matmul_into_here(dst: &mut [f32], dst_rs: usize, lhs: Mat, rhs: Mat, accumulate: bool) {
    // SAFETY: as for `matmul_into`; gemm_raw checks that the strided rows fit in `dst`.
    unsafe { gemm_raw(dst.as_mut_ptr(), dst.len(), dst_rs, lhs, rhs, accumulate, 1) }
}

/// A new row-major `[lhs.rows, rhs.cols]` matrix `lhs rhs`, written once (no zero fill).
fn matmul(lhs: Mat, rhs: Mat) -> Vec<f32> {
    new_product(lhs, rhs, threads())
}

/// [`matmul`] on the calling thread only.
fn matmul_here(lhs: Mat, rhs: Mat) -> Vec<f32> {
    new_product(lhs, rhs, 1)
}

fn new_product(lhs: Mat, rhs: Mat, threads: usize) -> Vec<f32> {
    let len = lhs.rows * rhs.cols;
    let mut dst = Vec::<f32>::with_capacity(len);
    // SAFETY: the capacity holds `len` elements; without `accumulate` gemm writes every
    // element of its [rows, cols] output and reads none, so all are initialised before `set_len`.
    unsafe {
        gemm_raw(dst.as_mut_ptr(), len, rhs.cols, lhs, rhs, false, threads);
        dst.set_len(len);
    }
    dst
}

/// The threads candle computes on (a lookup once [`crate::settle_thread_counts`] ran).
fn threads() -> usize {
    candle_core::utils::get_num_threads()
}

/// # Safety
/// `dst` must be valid for writes (and reads when `accumulate`) of `len` elements.
unsafe fn gemm_raw(
    dst: *mut f32,
    len: usize,
    dst_rs: usize,
    lhs: Mat,
    rhs: Mat,
    accumulate: bool,
    threads: usize,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert!(rhs.rows == k && dst_rs >= n, "matrix product shapes");
    // The last row ends at (m - 1) dst_rs + n.
    assert!(m == 0 || n == 0 || len >= (m - 1) * dst_rs + n, "matrix product destination");
    let parallelism =
        if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // The asserts here and in `mat` keep every access of the views inside their slices
    // (each view is row-major or the transpose of one).
    gemm::gemm(
        m,
        n,
        k,
        dst,
        1,
        dst_rs as isize,
        accumulate,
        lhs.data.as_ptr(),
        lhs.cs,
        lhs.rs,
        rhs.data.as_ptr(),
        rhs.cs,
        rhs.rs,
        1.0,
        1.0,
        false,
        false,
        false,
        parallelism,
    )
}

// ---------------------------------------------------------------------------------------
// Element passes

/// Rows per parallel task of an element pass (rows are at least a few hundred floats).
const MIN_ROWS: usize = 8;

/// Elements per parallel piece of the SwiGLU passes.
const PIECE: usize = 1 << 12;

/// `e^x` in f32 without a libm call, so that loops over it vectorise: Cephes `expf`
/// (x = k ln 2 + r, |r| <= ln 2 / 2, a degree-7 polynomial for e^r, 2^k from the exponent
/// bits); within 2 ulp of libm for |x| <= 87, and x is clamped to that range (silu's
/// sigmoid saturates long before).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding it rounds to the nearest integer k, which then sits in the low bits
    // of the sum (its ulp is 1): bits(ROUND + k) = bits(ROUND) + k for |k| < 2^22.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 87.0);
    let rounded = x * LOG2E + ROUND;
    let k = rounded - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5e-1;
    let e = p * r * r + r + 1.0;
    // 2^k from k's bits (|k| <= 126) with integer lanes: Rust's saturating `k as i32` does not
    // vectorise (one scalar conversion and two compares per element).
    e * f32::from_bits(rounded.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23)
}

/// (sigmoid(g), silu(g) = g sigmoid(g)).
#[inline(always)]
fn silu_parts(g: f32) -> (f32, f32) {
    let s = 1.0 / (1.0 + exp(-g));
    (s, g * s)
}

/// `a = silu(g) * u` for `[g | u]` stored as blocks of `2 I` rows of `width` (gate rows,
/// then up rows): the channel layout is one block per token (`I` rows of width 1), the
/// token layout one block per batch row (`I` rows of width `D`).
fn swiglu_forward(gu: &[f32], inter: usize, width: usize) -> Vec<f32> {
    let (block, len) = (inter * width, gu.len() / 2);
    // The set_len below relies on whole blocks: every output element has its gate and up.
    assert!(
        block > 0 && gu.len() % (2 * block) == 0,
        "swiglu_forward: {} values are not whole [gate | up] blocks of {block}",
        gu.len()
    );
    let mut a = Vec::with_capacity(len);
    a.spare_capacity_mut()[..len].par_chunks_mut(block).zip(gu.par_chunks(2 * block)).for_each(
        |(a, gu)| {
            let (g, u) = gu.split_at(block);
            a.par_chunks_mut(PIECE).zip(g.par_chunks(PIECE).zip(u.par_chunks(PIECE))).for_each(
                |(a, (g, u))| {
                    with_simd(|| {
                        for ((a, g), u) in a.iter_mut().zip(g).zip(u) {
                            a.write(silu_parts(*g).1 * u);
                        }
                    })
                },
            );
        },
    );
    // SAFETY: the loop above wrote every element (`gu` holds 2 blocks per output block).
    unsafe { a.set_len(len) };
    a
}

/// Overwrites `[g | u]` with its gradient given `da`, the gradient of `a = silu(g) * u`, and
/// `da` with `a` itself (the down projection's weight gradient needs it), so that the backward
/// pass takes one exponential per element.
fn swiglu_backward(gu: &mut [f32], da: &mut [f32], inter: usize, width: usize) {
    let block = inter * width;
    gu.par_chunks_mut(2 * block).zip(da.par_chunks_mut(block)).for_each(|(gu, da)| {
        let (g, u) = gu.split_at_mut(block);
        g.par_chunks_mut(PIECE)
            .zip(u.par_chunks_mut(PIECE).zip(da.par_chunks_mut(PIECE)))
            .for_each(|(g, (u, da))| {
                with_simd(|| {
                    for ((g, u), da) in g.iter_mut().zip(u.iter_mut()).zip(da.iter_mut()) {
                        let (s, silu) = silu_parts(*g);
                        let grad = *da;
                        *da = silu * *u;
                        *g = grad * *u * (s + silu * (1.0 - s));
                        *u = grad * silu;
                    }
                })
            });
    });
}

/// Normalises every row of `y` (`[rows, D]`) in place; returns `1 / rms` per row.
fn norm_rows(y: &mut [f32], d: usize, eps: f32) -> Vec<f32> {
    let mut r = vec![0f32; y.len() / d];
    y.par_chunks_mut(d).zip(r.par_iter_mut()).with_min_len(MIN_ROWS).for_each(|(y, r)| {
        *r = 1.0 / (y.iter().map(|v| v * v).sum::<f32>() / d as f32 + eps).sqrt();
        y.iter_mut().for_each(|v| *v *= *r);
    });
    r
}

/// Gradient of the row norm: `dx = r (g - y mean(g y))` per row, `y` the normalised rows.
fn norm_rows_backward(g: &[f32], y: &[f32], r: &[f32], d: usize) -> Vec<f32> {
    let mut dx = vec![0f32; g.len()];
    dx.par_chunks_mut(d)
        .zip(g.par_chunks(d).zip(y.par_chunks(d)))
        .zip(r.par_iter())
        .with_min_len(MIN_ROWS)
        .for_each(|((dx, (g, y)), r)| {
            let m = g.iter().zip(y).map(|(g, y)| g * y).sum::<f32>() / d as f32;
            for ((dx, g), y) in dx.iter_mut().zip(g).zip(y) {
                *dx = r * (g - y * m);
            }
        });
    dx
}

/// Columns per parallel task of the token-axis norm.
const COLS: usize = 64;

/// `f(b, first column, piece)` for every piece of at most `COLS` columns of `out`
/// (`[B, D]`), in parallel.
fn for_column_pieces(
    out: &mut [f32],
    d: usize,
    f: impl Fn(usize, usize, &mut [f32]) + Sync + Send,
) {
    out.par_chunks_mut(d).enumerate().for_each(|(bi, row)| {
        row.par_chunks_mut(COLS).enumerate().for_each(|(ci, piece)| f(bi, ci * COLS, piece))
    });
}

/// Normalises `y` (`[B, S, D]`) over the token axis in place; returns `1 / rms` as `[B, D]`.
fn norm_tokens(y: &mut [f32], s: usize, d: usize, eps: f32) -> Vec<f32> {
    let b = y.len() / (s * d);
    let mut r = vec![0f32; b * d];
    for_column_pieces(&mut r, d, |bi, c0, out| {
        for t in 0..s {
            let row = &y[(bi * s + t) * d + c0..][..out.len()];
            for (acc, v) in out.iter_mut().zip(row) {
                *acc += v * v;
            }
        }
        out.iter_mut().for_each(|acc| *acc = 1.0 / (*acc / s as f32 + eps).sqrt());
    });
    y.par_chunks_mut(d).enumerate().with_min_len(MIN_ROWS).for_each(|(q, row)| {
        let rs = &r[(q / s) * d..][..d];
        row.iter_mut().zip(rs).for_each(|(v, r)| *v *= r);
    });
    r
}

/// Gradient of the token-axis norm: `dx = r (g - y mean_tokens(g y))` per column.
fn norm_tokens_backward(g: &[f32], y: &[f32], r: &[f32], s: usize, d: usize) -> Vec<f32> {
    let b = g.len() / (s * d);
    let mut m = vec![0f32; b * d];
    for_column_pieces(&mut m, d, |bi, c0, out| {
        for t in 0..s {
            let at = (bi * s + t) * d + c0;
            for ((acc, g), y) in out.iter_mut().zip(&g[at..]).zip(&y[at..]) {
                *acc += g * y;
            }
        }
        out.iter_mut().for_each(|acc| *acc /= s as f32);
    });
    let mut dx = vec![0f32; g.len()];
    dx.par_chunks_mut(d).enumerate().with_min_len(MIN_ROWS).for_each(|(q, dx)| {
        let at = q * d;
        let (ms, rs) = (&m[(q / s) * d..][..d], &r[(q / s) * d..][..d]);
        for j in 0..d {
            dx[j] = rs[j] * (g[at + j] - y[at + j] * ms[j]);
        }
    });
    dx
}

// ---------------------------------------------------------------------------------------
// Forward passes chunk by chunk

/// Floats of `[g | u]` per chunk of a chunked forward pass (512 KB): a chunk's `[g | u]`,
/// its SwiGLU and its output stay in the core's cache between the two products.
const CHUNK_FLOATS: usize = 1 << 17;

/// Whether a sub-layer of `chunks` chunks, with weights of `weights` floats, runs chunk by
/// chunk: each chunk is a task that takes every product (on its own thread) and element pass
/// of its rows, instead of each product and pass spreading over every thread in turn. At
/// small widths (the CPU presets) a step is mostly hand-offs between threads and passes over
/// memory, which chunks avoid. It needs a chunk for every thread (see [`chunk_units`]), and
/// small weights: every chunk's product packs the weight again (at the official widths, 6 MB
/// per chunk, chunks measured 1.6x slower).
fn by_chunks(chunks: usize, weights: usize) -> bool {
    chunks >= threads() && weights <= CHUNK_FLOATS
}

/// Units (rows, or batch rows) per chunk for `n` units at most `most` per chunk. Few chunks
/// are evened out to a multiple of the threads, at least one per thread where `n` allows, so
/// that no thread waits on a lone last chunk (with one puzzle, each sub-layer is then one
/// hand-off between the threads instead of one per product and pass).
fn chunk_units(n: usize, most: usize) -> usize {
    let t = threads();
    let chunks = n.div_ceil(most.max(1));
    if chunks >= 4 * t {
        return most;
    }
    n.div_ceil(chunks.div_ceil(t).max(1) * t).max(1)
}

/// Rows per chunk of the channel sub-layer over `n` rows with `inter` hidden units.
fn channel_chunk_rows(inter: usize, n: usize) -> usize {
    chunk_units(n, (CHUNK_FLOATS / (2 * inter).max(1)).max(16))
}

/// Batch rows per chunk of the token sub-layer over `b` batch rows, `D = d`, `inter` hidden
/// units.
fn token_chunk_rows(b: usize, d: usize, inter: usize) -> usize {
    chunk_units(b, (CHUNK_FLOATS / (2 * inter * d).max(1)).max(1))
}

/// A pointer that tasks share to write disjoint parts of one buffer.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: every user writes a part of the buffer no other task touches (see its uses).
unsafe impl Send for SharedOut {}
// SAFETY: as above.
unsafe impl Sync for SharedOut {}

/// An output of `len` values for tasks that each write a part in full: its storage, not yet
/// initialised (see [`zeroed`] and [`copied`]; the caller sets the length when every part is
/// written). A serial `vec![0; len]` or `to_vec` would leave the other threads waiting.
fn uninit_output(len: usize) -> Vec<f32> {
    Vec::with_capacity(len)
}

/// A task's part of an [`uninit_output`], zero-filled (on the task's thread, into its cache).
fn zeroed(part: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    part.iter_mut().for_each(|v| {
        v.write(0.0);
    });
    // SAFETY: every element was written just above.
    unsafe { &mut *(part as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// A task's part of an [`uninit_output`], holding a copy of `src` (of the same length).
fn copied<'a>(part: &'a mut [MaybeUninit<f32>], src: &[f32]) -> &'a mut [f32] {
    assert_eq!(part.len(), src.len(), "copied: lengths differ");
    part.iter_mut().zip(src).for_each(|(v, s)| {
        v.write(*s);
    });
    // SAFETY: the zip wrote every element (the lengths are equal, asserted).
    unsafe { &mut *(part as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// `a = silu(g) * u` for one chunk, on this thread: `n` rows of `width`, `rows(i)` giving
/// row `i`'s gates and ups, into `a` (`[n, width]`).
fn swiglu_here<'a>(
    rows: impl Fn(usize) -> (&'a [f32], &'a [f32]),
    a: &mut Vec<f32>,
    n: usize,
    width: usize,
) {
    a.clear();
    a.reserve(n * width);
    for (i, out) in a.spare_capacity_mut()[..n * width].chunks_exact_mut(width).enumerate() {
        let (g, u) = rows(i);
        // The zip below stops at the shortest slice: every element of `out` is written only if
        // the row is as wide as `out` (set_len below rests on it).
        assert!(g.len() >= width && u.len() >= width, "row {i} narrower than {width}");
        with_simd(|| {
            for ((o, g), u) in out.iter_mut().zip(g).zip(u) {
                o.write(silu_parts(*g).1 * u);
            }
        });
    }
    // SAFETY: the loop wrote all n * width elements.
    unsafe { a.set_len(n * width) };
}

/// `lhs rhs` into `dst` (`[lhs.rows, rhs.cols]`, not yet initialised) on this thread; returns
/// `dst` as initialised values.
fn matmul_uninit_here<'a>(dst: &'a mut [MaybeUninit<f32>], lhs: Mat, rhs: Mat) -> &'a mut [f32] {
    let len = dst.len();
    let ptr = dst.as_mut_ptr().cast::<f32>();
    // SAFETY: `dst` is valid for writes of `len` elements; without `accumulate` gemm writes
    // every element of its output (gemm_raw checks that it fits in `len`) and reads none, so
    // afterwards all `len` elements are initialised.
    unsafe {
        gemm_raw(ptr, len, rhs.cols, lhs, rhs, false, 1);
        std::slice::from_raw_parts_mut(ptr, len)
    }
}

/// Channel forward chunk by chunk (see [`by_chunks`]), `rows` rows per chunk.
fn channel_forward_chunked(
    h: &[f32],
    gate_up_t: Mat,
    down_t: Mat,
    eps: f32,
    rows: usize,
    keep: bool,
) -> Forward {
    let (d, inter) = (gate_up_t.rows, down_t.rows);
    let n = h.len() / d;
    let mut y = uninit_output(h.len());
    let mut r = vec![0f32; n];
    let work =
        |c: usize, y: &mut [MaybeUninit<f32>], r: &mut [f32], gu: &mut [MaybeUninit<f32>]| {
            let m = r.len();
            let hc = &h[c * rows * d..][..m * d];
            // y starts as h: the second product adds the residual branch to it.
            let y = copied(y, hc);
            let gu = matmul_uninit_here(&mut gu[..m * 2 * inter], mat(hc, m, d), gate_up_t);
            let mut a = Vec::new();
            let row =
                |i: usize| (&gu[i * 2 * inter..][..inter], &gu[i * 2 * inter + inter..][..inter]);
            swiglu_here(row, &mut a, m, inter);
            matmul_into_here(y, d, mat(&a, m, inter), down_t, true);
            norm_rows_here(y, r, d, eps);
        };
    let (yc, rc) =
        (y.spare_capacity_mut()[..h.len()].par_chunks_mut(rows * d), r.par_chunks_mut(rows));
    let mut gu = Vec::new();
    if keep {
        gu.reserve(n * 2 * inter);
        let spare = &mut gu.spare_capacity_mut()[..n * 2 * inter];
        yc.zip(rc).zip(spare.par_chunks_mut(rows * 2 * inter)).enumerate().for_each(
            |(c, ((y, r), gu))| {
                // The chunk's part of the buffer is exactly its rows' products (set_len below).
                assert_eq!(gu.len(), r.len() * 2 * inter);
                work(c, y, r, gu)
            },
        );
        // SAFETY: every chunk's product wrote its part; the parts cover all n * 2I values.
        unsafe { gu.set_len(n * 2 * inter) };
    } else {
        yc.zip(rc).enumerate().for_each(|(c, (y, r))| {
            let mut local = Vec::with_capacity(r.len() * 2 * inter);
            work(c, y, r, local.spare_capacity_mut())
        });
    }
    // SAFETY: the chunks cover all h.len() values of y and each was written (`copied`).
    unsafe { y.set_len(h.len()) };
    (y, keep.then_some(gu), r)
}

/// [`norm_rows`] of one chunk on this thread, `1 / rms` into `r`.
fn norm_rows_here(y: &mut [f32], r: &mut [f32], d: usize, eps: f32) {
    with_simd(|| {
        for (y, r) in y.chunks_exact_mut(d).zip(r.iter_mut()) {
            *r = 1.0 / (y.iter().map(|v| v * v).sum::<f32>() / d as f32 + eps).sqrt();
            y.iter_mut().for_each(|v| *v *= *r);
        }
    })
}

/// What a forward pass gives: `y`, `[g | u]` (kept for the backward pass) and `1 / rms`.
type Forward = (Vec<f32>, Option<Vec<f32>>, Vec<f32>);

/// The token sub-layer's inputs: `h [B, S, D]`, `gate_up [2I, S]` (`wgu`), `down [S, I]`
/// (`wd`), `I = inter`, and the norm's `eps`.
#[derive(Clone, Copy)]
struct TokenIn<'a> {
    h: &'a [f32],
    wgu: &'a [f32],
    wd: &'a [f32],
    s: usize,
    d: usize,
    inter: usize,
    eps: f32,
}

/// Token forward chunk by chunk (see [`by_chunks`]), `k` batch rows per chunk: each chunk
/// makes its own token-major copy `[S, k D]`, takes both products and the token-axis norm.
/// With `keep`, `[g | u]` is written token-major `[2I, B D]` for the backward pass.
fn token_forward_chunked(x: TokenIn, k: usize, keep: bool) -> Forward {
    let TokenIn { h, wgu, wd, s, d, inter, eps } = x;
    let b = h.len() / (s * d);
    let cols = b * d;
    let mut y = uninit_output(h.len());
    let mut r = vec![0f32; b * d];
    let mut gu: Vec<f32> = Vec::with_capacity(if keep { 2 * inter * cols } else { 0 });
    let shared = SharedOut(gu.as_mut_ptr());
    let parts = y.spare_capacity_mut()[..h.len()].par_chunks_mut(k * s * d);
    parts.zip(r.par_chunks_mut(k * d)).enumerate().for_each(|(c, (y, r))| {
        // This chunk's columns (its batch rows times D), and its token-major copy [S, k D]:
        // column j D + e is (batch row j, channel e). y starts as h (the residual).
        let kc = r.len();
        let y = copied(y, &h[c * k * s * d..][..s * kc]);
        let mut ht = token_major_here(y, s, d);
        let (lhs, rhs) = (mat(wgu, 2 * inter, s), mat(&ht, s, kc));
        let mut local = Vec::new();
        let mut a = Vec::new();
        if keep {
            // This chunk's columns at..at + kc of every row of the token-major [2I, B D].
            let at = c * k * d;
            assert!(at + kc <= cols, "chunk columns {at}..{} beyond {cols}", at + kc);
            let (base, len) = ({ shared }.0.wrapping_add(at), (2 * inter - 1) * cols + kc);
            // SAFETY: the buffer has capacity for 2I rows of `cols` and at + kc <= cols
            // (asserted), so rows i < 2I of these columns lie inside it; the product below has
            // written them before `row` is called, and no other chunk touches these columns.
            let row = |i: usize| unsafe {
                let (g, u) = (base.add(i * cols), base.add((inter + i) * cols));
                (std::slice::from_raw_parts(g, kc), std::slice::from_raw_parts(u, kc))
            };
            // SAFETY: the extent `len` from `base` ends at row 2I - 1, column at + kc, inside
            // the buffer (asserted above; gemm_raw checks that the product fits in `len`), and
            // the product writes only this chunk's columns of each row, disjoint from the other
            // chunks' columns.
            unsafe { gemm_raw(base, len, cols, lhs, rhs, false, 1) };
            swiglu_here(row, &mut a, inter, kc);
        } else {
            local.reserve(2 * inter * kc);
            let gu =
                matmul_uninit_here(&mut local.spare_capacity_mut()[..2 * inter * kc], lhs, rhs);
            let row = |i: usize| (&gu[i * kc..][..kc], &gu[(inter + i) * kc..][..kc]);
            swiglu_here(row, &mut a, inter, kc);
        }
        // m = down_t a, [S, k D], into ht's buffer.
        matmul_into_here(&mut ht, kc, mat(wd, s, inter), mat(&a, inter, kc), false);
        add_token_major_here(y, &ht, s, d);
        // Norm over the tokens of every column (batch row j, channel e).
        for (j, r) in r.chunks_exact_mut(d).enumerate() {
            let block = &mut y[j * s * d..][..s * d];
            // SAFETY: batch row j's s rows of d values lie in `block`, borrowed here alone.
            unsafe { norm_token_block(block.as_mut_ptr(), d, r, s, eps) };
        }
    });
    if keep {
        // SAFETY: the chunks' products wrote every column of every row, 2I B D values.
        unsafe { gu.set_len(2 * inter * cols) };
    }
    // SAFETY: the chunks cover all h.len() values of y and each was written (`copied`).
    unsafe { y.set_len(h.len()) };
    (y, keep.then_some(gu), r)
}

/// Normalises a block of `s` token rows `stride` apart, each `r.len()` wide, over the tokens
/// of each column, and writes `1 / rms` per column into `r`.
///
/// # Safety
///
/// The block (from `y`, rows `t stride .. t stride + r.len()` for `t < s`) must be valid for
/// reads and writes, and nothing else may touch it meanwhile.
unsafe fn norm_token_block(y: *mut f32, stride: usize, r: &mut [f32], s: usize, eps: f32) {
    let w = r.len();
    // SAFETY: row t lies in the block (the caller's guarantee); one row is borrowed at a time.
    let row = |t: usize| unsafe { std::slice::from_raw_parts_mut(y.add(t * stride), w) };
    with_simd(|| {
        r.iter_mut().for_each(|r| *r = 0.0);
        for t in 0..s {
            r.iter_mut().zip(row(t).iter()).for_each(|(acc, v)| *acc += v * v);
        }
        r.iter_mut().for_each(|acc| *acc = 1.0 / (*acc / s as f32 + eps).sqrt());
        for t in 0..s {
            row(t).iter_mut().zip(r.iter()).for_each(|(v, r)| *v *= r);
        }
    })
}

/// Token forward in column chunks, for fewer batch rows than threads: each chunk takes
/// `D / pieces` columns (channels) of one batch row, whose `[S, D]` block is already
/// token-major, through both products, the SwiGLU and the token-axis norm on one thread.
/// With `keep`, `[g | u]` is written token-major `[2I, B D]` as by [`token_forward_chunked`].
fn token_forward_columns(x: TokenIn, pieces: usize, keep: bool) -> Forward {
    let TokenIn { h, wgu, wd, s, d, inter, eps } = x;
    let b = h.len() / (s * d);
    let (cols, width) = (b * d, d.div_ceil(pieces));
    let mut y = h.to_vec();
    let mut r = vec![0f32; cols];
    let mut gu: Vec<f32> = Vec::with_capacity(if keep { 2 * inter * cols } else { 0 });
    let (y_out, r_out, gu_out) =
        (SharedOut(y.as_mut_ptr()), SharedOut(r.as_mut_ptr()), SharedOut(gu.as_mut_ptr()));
    (0..b * pieces).into_par_iter().for_each(|c| {
        let (j, c0) = (c / pieces, (c % pieces) * width);
        let wc = width.min(d.saturating_sub(c0));
        if wc == 0 {
            return;
        }
        // Batch row j's tokens, columns c0..c0 + wc: [S, wc] with rows d apart.
        let x = &h[j * s * d + c0..][..(s - 1) * d + wc];
        let x = Mat { data: x, rows: s, cols: wc, rs: d as isize, cs: 1 };
        let lhs = mat(wgu, 2 * inter, s);
        let mut local = Vec::new();
        // [g | u] of this chunk: row i at g(i), stride `rs`.
        let (gu_ptr, rs) = if keep {
            // SAFETY: the buffer holds 2I rows of `cols`; this chunk's columns j D + c0 ..
            // + wc of every row lie inside it and no other chunk writes them; the product
            // writes them before they are read.
            let base = { gu_out }.0.wrapping_add(j * d + c0);
            unsafe { gemm_raw(base, (2 * inter - 1) * cols + wc, cols, lhs, x, false, 1) };
            (base.cast_const(), cols)
        } else {
            local.reserve(2 * inter * wc);
            let gu = matmul_uninit_here(&mut local.spare_capacity_mut()[..2 * inter * wc], lhs, x);
            (gu.as_ptr(), wc)
        };
        // SAFETY: rows i < 2I of `wc` values from gu_ptr, `rs` apart, were written above.
        let row = |i: usize| unsafe {
            let (g, u) = (gu_ptr.add(i * rs), gu_ptr.add((inter + i) * rs));
            (std::slice::from_raw_parts(g, wc), std::slice::from_raw_parts(u, wc))
        };
        let mut a = Vec::new();
        swiglu_here(row, &mut a, inter, wc);
        // y[j, :, c0..] += down_t a, then the norm of each column over the tokens.
        let yj = { y_out }.0.wrapping_add(j * s * d + c0);
        // SAFETY: the block of s rows d apart, wc wide, from yj lies inside y (batch row j,
        // columns c0..c0 + wc <= d) and only this chunk touches it; gemm reads and writes
        // just that block.
        unsafe {
            gemm_raw(yj, (s - 1) * d + wc, d, mat(wd, s, inter), mat(&a, inter, wc), true, 1)
        };
        // SAFETY: r's entries j D + c0 .. + wc belong to this chunk alone.
        let rc = unsafe { std::slice::from_raw_parts_mut({ r_out }.0.add(j * d + c0), wc) };
        // SAFETY: the block from yj, as above, is this chunk's alone.
        unsafe { norm_token_block(yj, d, rc, s, eps) };
    });
    if keep {
        // SAFETY: the chunks' products wrote every column of every row, 2I B D values.
        unsafe { gu.set_len(2 * inter * cols) };
    }
    (y, keep.then_some(gu), r)
}

/// [`swiglu_backward`] of one row on this thread: from gates `g`, ups `u` and `da`, writes
/// their gradients to `dg`, `du` and overwrites `da` with `a = silu(g) * u`.
fn swiglu_backward_row(
    g: &[f32],
    u: &[f32],
    da: &mut [f32],
    dg: &mut [MaybeUninit<f32>],
    du: &mut [MaybeUninit<f32>],
) {
    // The zip below stops at the shortest slice; callers rely on every dg and du being written.
    let n = da.len();
    assert!(g.len() == n && u.len() == n && dg.len() == n && du.len() == n, "row lengths differ");
    with_simd(|| swiglu_backward_loop(g, u, da, dg, du))
}

/// The loop of [`swiglu_backward_row`], at the vector width of its caller.
#[inline(always)]
fn swiglu_backward_loop(
    g: &[f32],
    u: &[f32],
    da: &mut [f32],
    dg: &mut [MaybeUninit<f32>],
    du: &mut [MaybeUninit<f32>],
) {
    for ((((g, u), da), dg), du) in g.iter().zip(u).zip(da.iter_mut()).zip(dg).zip(du) {
        let (s, silu) = silu_parts(*g);
        let grad = *da;
        *da = silu * u;
        dg.write(grad * u * (s + silu * (1.0 - s)));
        du.write(grad * silu);
    }
}

/// `acc += lhs rhs` on this thread, where an empty `acc` (a task's first chunk) takes the
/// product itself: no task zero-fills its weight gradients.
fn add_product_here(acc: &mut Vec<f32>, lhs: Mat, rhs: Mat) {
    if acc.is_empty() {
        *acc = matmul_here(lhs, rhs);
    } else {
        matmul_into_here(acc, rhs.cols, lhs, rhs, true);
    }
}

/// The weight gradients of a chunked backward pass: each task adds its chunks' products to
/// its own pair (empty until its first chunk, see [`add_product_here`]), and the pairs are
/// summed at the end.
fn sum_weight_grads(
    pairs: impl ParallelIterator<Item = (Vec<f32>, Vec<f32>)>,
    lens: (usize, usize),
) -> (Vec<f32>, Vec<f32>) {
    fn sum(mut a: Vec<f32>, b: Vec<f32>) -> Vec<f32> {
        if a.is_empty() {
            return b;
        }
        a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
        a
    }
    let (d0, d1) =
        pairs.reduce(|| (Vec::new(), Vec::new()), |(a0, a1), (b0, b1)| (sum(a0, b0), sum(a1, b1)));
    // Empty only without any chunk: zero gradients then.
    let whole = |v: Vec<f32>, len: usize| if v.is_empty() { vec![0f32; len] } else { v };
    (whole(d0, lens.0), whole(d1, lens.1))
}

/// Channel backward chunk by chunk, `rows` rows per chunk: `[dh, d gate_up, d down]` from
/// `h`, the weights, the output `y`, its gradient `g` and the forward's `[g | u]` and `1 / rms`.
#[allow(clippy::too_many_arguments)]
fn channel_backward_chunked(
    h: &[f32],
    wgu: &[f32],
    wd: &[f32],
    y: &[f32],
    g: &[f32],
    gu: &[f32],
    r: &[f32],
    d: usize,
    inter: usize,
    rows: usize,
) -> [Vec<f32>; 3] {
    let mut dx = uninit_output(h.len());
    let parts = dx.spare_capacity_mut()[..h.len()].par_chunks_mut(rows * d);
    let (d_down, d_gate_up) = sum_weight_grads(
        parts.zip(r.par_chunks(rows)).enumerate().fold(
            || (Vec::new(), Vec::new()),
            |(mut d_down, mut d_gate_up), (c, (dx, r))| {
                let dx = zeroed(dx);
                let m = r.len();
                let at = c * rows * d;
                let (hc, yc, gc) = (&h[at..][..m * d], &y[at..][..m * d], &g[at..][..m * d]);
                let guc = &gu[c * rows * 2 * inter..][..m * 2 * inter];
                // dx starts as the gradient at the residual sum h + m.
                with_simd(|| {
                    let rows = dx.chunks_exact_mut(d).zip(gc.chunks_exact(d));
                    for ((dx, g), (y, r)) in rows.zip(yc.chunks_exact(d).zip(r)) {
                        let mean = g.iter().zip(y).map(|(g, y)| g * y).sum::<f32>() / d as f32;
                        for ((dx, g), y) in dx.iter_mut().zip(g).zip(y) {
                            *dx = r * (g - y * mean);
                        }
                    }
                });
                // da = dx down, which the SwiGLU's backward overwrites with a.
                let mut a = matmul_here(mat(dx, m, d), mat(wd, d, inter));
                let mut dgu = Vec::with_capacity(m * 2 * inter);
                let rows = dgu.spare_capacity_mut()[..m * 2 * inter].chunks_exact_mut(2 * inter);
                for (i, (dgu, a)) in rows.zip(a.chunks_exact_mut(inter)).enumerate() {
                    let (dg, du) = dgu.split_at_mut(inter);
                    let gu = &guc[i * 2 * inter..][..2 * inter];
                    swiglu_backward_row(&gu[..inter], &gu[inter..], a, dg, du);
                }
                // SAFETY: the m rows above wrote every dg and du (swiglu_backward_row writes all).
                unsafe { dgu.set_len(m * 2 * inter) };
                add_product_here(&mut d_down, mat(dx, m, d).t(), mat(&a, m, inter));
                let dgu_m = mat(&dgu, m, 2 * inter);
                add_product_here(&mut d_gate_up, dgu_m.t(), mat(hc, m, d));
                matmul_into_here(dx, d, dgu_m, mat(wgu, 2 * inter, d), true);
                (d_down, d_gate_up)
            },
        ),
        (d * inter, 2 * inter * d),
    );
    // SAFETY: the chunks cover all h.len() values and each was zero-filled (`zeroed`).
    unsafe { dx.set_len(h.len()) };
    [dx, d_gate_up, d_down]
}

/// `[S, k D]` token-major copy of `k` batch rows `x` (`[k, S, D]`).
fn token_major_here(x: &[f32], s: usize, d: usize) -> Vec<f32> {
    let kc = x.len() / s;
    // Written in order, row t of the copy after row t - 1 (no zero fill first).
    let mut out = Vec::with_capacity(x.len());
    for t in 0..s {
        for j in 0..kc / d {
            out.extend_from_slice(&x[(j * s + t) * d..][..d]);
        }
    }
    out
}

/// `x[j, t, :] += src[t, j D..(j + 1) D]` for `k` batch rows `x` (`[k, S, D]`) and their
/// token-major `src` (`[S, k D]`).
fn add_token_major_here(x: &mut [f32], src: &[f32], s: usize, d: usize) {
    let kc = x.len() / s;
    with_simd(|| {
        for j in 0..kc / d {
            for t in 0..s {
                let (row, m) = (&mut x[(j * s + t) * d..][..d], &src[t * kc + j * d..][..d]);
                row.iter_mut().zip(m).for_each(|(v, m)| *v += m);
            }
        }
    })
}

/// The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix.
fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    for (i, row) in x.chunks_exact(cols).enumerate().take(rows) {
        for (j, v) in row.iter().enumerate() {
            out[j * rows + i] = *v;
        }
    }
    out
}

/// Token backward chunk by chunk, `k` batch rows per chunk: as [`channel_backward_chunked`]
/// for the token sub-layer, `[g | u]` token-major `[2I, B D]`, `1 / rms` `[B, D]`.
#[allow(clippy::too_many_arguments)]
fn token_backward_chunked(
    h: &[f32],
    wgu: &[f32],
    wd: &[f32],
    y: &[f32],
    g: &[f32],
    gu: &[f32],
    r: &[f32],
    s: usize,
    d: usize,
    inter: usize,
    k: usize,
) -> [Vec<f32>; 3] {
    let cols = h.len() / s;
    // down^T and gate_up^T as row-major copies for the products that take them as left
    // operands: gemm would otherwise pack the weight anew for every chunk.
    let (wd_t, wgu_t) = (transpose(wd, s, inter), transpose(wgu, 2 * inter, s));
    let mut dx = uninit_output(h.len());
    let parts = dx.spare_capacity_mut()[..h.len()].par_chunks_mut(k * s * d);
    let (d_down_t, d_gate_up) = sum_weight_grads(
        parts.zip(r.par_chunks(k * d)).enumerate().fold(
            || (Vec::new(), Vec::new()),
            |(mut d_down_t, mut d_gate_up), (c, (dx, r))| {
                let dx = zeroed(dx);
                let kc = r.len();
                let at = c * k * s * d;
                let (hc, yc, gc) = (&h[at..][..s * kc], &y[at..][..s * kc], &g[at..][..s * kc]);
                // dx starts as the gradient at the residual sum: per column (batch row j,
                // channel e), r (g - y mean_tokens(g y)).
                let mut mean = vec![0f32; d];
                with_simd(|| {
                    let blocks = dx.chunks_exact_mut(s * d).zip(gc.chunks_exact(s * d));
                    for ((dx, gc), (yc, r)) in blocks.zip(yc.chunks_exact(s * d).zip(r.chunks(d))) {
                        mean.iter_mut().for_each(|m| *m = 0.0);
                        for (g, y) in gc.chunks_exact(d).zip(yc.chunks_exact(d)) {
                            mean.iter_mut().zip(g).zip(y).for_each(|((m, g), y)| *m += g * y);
                        }
                        let rows = dx.chunks_exact_mut(d).zip(gc.chunks_exact(d));
                        for ((dx, g), y) in rows.zip(yc.chunks_exact(d)) {
                            let terms = dx.iter_mut().zip(g).zip(y).zip(r.iter().zip(&mean));
                            for (((dx, g), y), (r, m)) in terms {
                                *dx = r * (g - y * m / s as f32);
                            }
                        }
                    }
                });
                let drt = token_major_here(dx, s, d);
                let col0 = c * k * d;
                let row = |i: usize| {
                    (&gu[i * cols + col0..][..kc], &gu[(inter + i) * cols + col0..][..kc])
                };
                // da = down^T dr, which the SwiGLU's backward overwrites with a.
                let mut a = matmul_here(mat(&wd_t, inter, s), mat(&drt, s, kc));
                let mut dgu = Vec::with_capacity(2 * inter * kc);
                let (dg, du) = dgu.spare_capacity_mut()[..2 * inter * kc].split_at_mut(inter * kc);
                let rows = dg.chunks_exact_mut(kc).zip(du.chunks_exact_mut(kc));
                for (i, ((dg, du), a)) in rows.zip(a.chunks_exact_mut(kc)).enumerate() {
                    let (gi, ui) = row(i);
                    swiglu_backward_row(gi, ui, a, dg, du);
                }
                // SAFETY: the I rows above wrote every dg and du (swiglu_backward_row writes all).
                unsafe { dgu.set_len(2 * inter * kc) };
                // d down^T += a dr^T: as d down += dr a^T, gemm would copy all of `a` into
                // its packed layout first; this way it copies `dr`, a third of the size.
                add_product_here(&mut d_down_t, mat(&a, inter, kc), mat(&drt, s, kc).t());
                let ht = token_major_here(hc, s, d);
                let dgu_m = mat(&dgu, 2 * inter, kc);
                add_product_here(&mut d_gate_up, dgu_m, mat(&ht, s, kc).t());
                // dh from the products, token-major [S, k D], added to dx.
                let mut dxt = ht;
                matmul_into_here(&mut dxt, kc, mat(&wgu_t, s, 2 * inter), dgu_m, false);
                add_token_major_here(dx, &dxt, s, d);
                (d_down_t, d_gate_up)
            },
        ),
        (s * inter, 2 * inter * s),
    );
    // SAFETY: the chunks cover all h.len() values and each was zero-filled (`zeroed`).
    unsafe { dx.set_len(h.len()) };
    [dx, d_gate_up, transpose(&d_down_t, inter, s)]
}

// ---------------------------------------------------------------------------------------
// Storage access

/// The f32 values of a CPU tensor's storage (the tensor must be contiguous).
fn slice<'a>(storage: &'a Storage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    match storage {
        Storage::Cpu(s) => f32_contiguous(s, layout, op),
        _ => bail!("{op}: expected a CPU tensor"),
    }
}

fn tensor(v: Vec<f32>, shape: &Shape) -> Result<Tensor> {
    Tensor::from_vec(v, shape.clone(), &Device::Cpu)
}

/// The backward of a sub-layer op: `f` gets the values of `[h, gate_up, down, y, dy]` and
/// returns `[dh, d gate_up, d down]`, which come back as tensors of the inputs' shapes.
fn sublayer_backward(
    op: &str,
    [h, gate_up, down, res, grad]: [&Tensor; 5],
    f: impl FnOnce([&[f32]; 5]) -> [Vec<f32>; 3],
) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let grad = grad.contiguous()?;
    let held = [h, gate_up, down, res, &grad].map(|t| t.storage_and_layout());
    let mut values = [&[][..]; 5];
    for (v, (storage, layout)) in values.iter_mut().zip(&held) {
        *v = slice(storage, layout, op)?;
    }
    let [dh, d_gate_up, d_down] = f(values);
    Ok((
        Some(tensor(dh, h.shape())?),
        Some(tensor(d_gate_up, gate_up.shape())?),
        Some(tensor(d_down, down.shape())?),
    ))
}

/// Checks `gate_up [2I, K]` and `down [M, I]` and returns `I`.
fn swiglu_inter(gate_up: &Layout, down: &Layout, k: usize, m: usize, op: &str) -> Result<usize> {
    let (gu, dn) = (gate_up.dims(), down.dims());
    if gu.len() != 2
        || dn.len() != 2
        || gu[0] % 2 != 0
        || gu[1] != k
        || dn[0] != m
        || dn[1] * 2 != gu[0]
    {
        bail!("{op}: weights {gu:?} / {dn:?} do not fit an input of width {k}, output {m}");
    }
    Ok(dn[1])
}

// ---------------------------------------------------------------------------------------
// Channel sub-layer

/// Forward of the channel sub-layer on `h [n, d]` given `gate_up^T` (`[d, 2I]`) and
/// `down^T` (`[I, d]`) as views: (`y`, `[g | u]`, `1 / rms`); `[g | u]` may be left out
/// unless `keep`.
fn channel_forward(h: &[f32], gate_up_t: Mat, down_t: Mat, eps: f32, keep: bool) -> Forward {
    let (d, inter) = (gate_up_t.rows, down_t.rows);
    let n = h.len() / d.max(1);
    let rows = channel_chunk_rows(inter, n);
    if d > 0 && by_chunks(n.div_ceil(rows), 2 * inter * d) {
        return channel_forward_chunked(h, gate_up_t, down_t, eps, rows, keep);
    }
    channel_forward_whole(h, gate_up_t, down_t, eps)
}

/// [`channel_forward`] product by product, each on every thread.
fn channel_forward_whole(h: &[f32], gate_up_t: Mat, down_t: Mat, eps: f32) -> Forward {
    let (d, inter) = (gate_up_t.rows, down_t.rows);
    let n = h.len() / d.max(1);
    let gu = matmul(mat(h, n, d), gate_up_t);
    let a = swiglu_forward(&gu, inter, 1);
    let mut y = h.to_vec();
    matmul_into(&mut y, mat(&a, n, inter), down_t, true);
    let r = norm_rows(&mut y, d, eps);
    (y, Some(gu), r)
}

struct ChannelMlp {
    eps: f32,
    /// Whether the backward pass will want `[g | u]` (some input is tracked by autograd).
    keep: bool,
    /// `gate_up^T`, `down^T` (see [`Transposed`]).
    transposed: Option<(Tensor, Tensor)>,
    /// `[g | u]` (`[N, 2I]`) and `1 / rms` (`[N]`) of the forward pass.
    saved: Mutex<Option<(Vec<f32>, Vec<f32>)>>,
}

impl CustomOp3 for ChannelMlp {
    fn name(&self) -> &'static str {
        "trm-channel-mlp"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let op = self.name();
        let (h, wgu, wd) =
            (f32_contiguous(s1, l1, op)?, f32_contiguous(s2, l2, op)?, f32_contiguous(s3, l3, op)?);
        let d = *l1.dims().last().unwrap_or(&0);
        let inter = swiglu_inter(l2, l3, d, d, op)?;
        let (y, gu, r) = match &self.transposed {
            Some((gut, dnt)) => {
                let held = [gut, dnt].map(|t| t.storage_and_layout());
                let gut = slice(&held[0].0, held[0].1, op)?;
                let dnt = slice(&held[1].0, held[1].1, op)?;
                channel_forward(h, mat(gut, d, 2 * inter), mat(dnt, inter, d), self.eps, self.keep)
            }
            None => {
                let (gut, dnt) = (mat(wgu, 2 * inter, d).t(), mat(wd, d, inter).t());
                channel_forward(h, gut, dnt, self.eps, self.keep)
            }
        };
        if self.keep {
            *self.saved.lock().unwrap() = gu.map(|gu| (gu, r));
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        h_t: &Tensor,
        gate_up: &Tensor,
        down: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = h_t.dim(candle_core::D::Minus1)?;
        let inter = down.dim(1)?;
        sublayer_backward(self.name(), [h_t, gate_up, down, res, grad], |[h, wgu, wd, y, g]| {
            let n = h.len() / d.max(1);
            let saved = self.saved.lock().unwrap().take();
            // None: a second backward over the same graph, which recomputes.
            let (gu, r) = saved.unwrap_or_else(|| {
                let (gut, dnt) = (mat(wgu, 2 * inter, d).t(), mat(wd, d, inter).t());
                let (_, gu, r) = channel_forward(h, gut, dnt, self.eps, true);
                (gu.expect("kept"), r)
            });
            let rows = channel_chunk_rows(inter, n);
            if d > 0 && by_chunks(n.div_ceil(rows), 2 * inter * d) {
                return channel_backward_chunked(h, wgu, wd, y, g, &gu, &r, d, inter, rows);
            }
            channel_backward_whole(h, wgu, wd, y, g, gu, &r, d, inter)
        })
    }
}

/// The channel backward product by product, each on every thread: `[dh, d gate_up, d down]`
/// from `h`, the weights, the output `y`, its gradient `g` and the forward's `[g | u]` (whose
/// buffer takes its gradient) and `1 / rms`.
#[allow(clippy::too_many_arguments)]
fn channel_backward_whole(
    h: &[f32],
    wgu: &[f32],
    wd: &[f32],
    y: &[f32],
    g: &[f32],
    mut gu: Vec<f32>,
    r: &[f32],
    d: usize,
    inter: usize,
) -> [Vec<f32>; 3] {
    let n = h.len() / d.max(1);
    // dx starts as the gradient at the residual sum h + m.
    let mut dx = norm_rows_backward(g, y, r, d);
    // da = dx down, which the SwiGLU's backward overwrites with a.
    let mut a = matmul(mat(&dx, n, d), mat(wd, d, inter));
    swiglu_backward(&mut gu, &mut a, inter, 1);
    let d_down = matmul(mat(&dx, n, d).t(), mat(&a, n, inter));
    let d_gate_up = matmul(mat(&gu, n, 2 * inter).t(), mat(h, n, d));
    matmul_into(&mut dx, mat(&gu, n, 2 * inter), mat(wgu, 2 * inter, d), true);
    [dx, d_gate_up, d_down]
}

// ---------------------------------------------------------------------------------------
// Token sub-layer (mlp_t)

/// `[B, S, D]` to token-major `[S, B, D]` (whole rows of D move): every token-mixing
/// product then is one matrix product over all batch rows, `[., S] x [S, B D]`, instead of
/// B products with D columns, which run about a third slower.
fn to_token_major(x: &[f32], s: usize, d: usize) -> Cow<'_, [f32]> {
    let b = x.len() / (s * d).max(1);
    if b <= 1 {
        // One batch row is its own token-major layout.
        return Cow::Borrowed(x);
    }
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(d).enumerate().with_min_len(MIN_ROWS).for_each(|(q, row)| {
        let (t, i) = (q / b, q % b);
        row.copy_from_slice(&x[(i * s + t) * d..][..d]);
    });
    Cow::Owned(out)
}

/// `dst[b, t, :] += src[t, b, :]` for `dst` `[B, S, D]` and a token-major `src`.
fn add_token_major(dst: &mut [f32], src: &[f32], s: usize, d: usize) {
    let b = dst.len() / (s * d).max(1);
    dst.par_chunks_mut(d).enumerate().with_min_len(MIN_ROWS).for_each(|(q, row)| {
        let (i, t) = (q / s, q % s);
        let from = &src[(t * b + i) * d..][..d];
        row.iter_mut().zip(from).for_each(|(v, m)| *v += m);
    });
}

/// Forward of the token sub-layer on `h [b, s, d]`: (`y`, `[g | u]` token-major as
/// `[2I, B D]`, `1 / rms` as `[b, d]`); `[g | u]` may be left out unless `keep`.
fn token_forward(x: TokenIn, keep: bool) -> Forward {
    let TokenIn { h, s, d, inter, .. } = x;
    let b = h.len() / (s * d).max(1);
    let k = token_chunk_rows(b, d, inter);
    if s > 0 && d > 0 && by_chunks(b.div_ceil(k), 2 * inter * s) {
        return token_forward_chunked(x, k, keep);
    }
    // Fewer batch rows than threads (one puzzle): chunks of columns instead.
    let pieces = threads().div_ceil(b.max(1));
    if s > 0 && d >= pieces && by_chunks(b * pieces, 2 * inter * s) {
        return token_forward_columns(x, pieces, keep);
    }
    token_forward_whole(x)
}

/// [`token_forward`] product by product, each on every thread.
fn token_forward_whole(x: TokenIn) -> Forward {
    let TokenIn { h, wgu, wd, s, d, inter, eps } = x;
    let cols = h.len() / s.max(1);
    let ht = to_token_major(h, s, d);
    let gu = matmul(mat(wgu, 2 * inter, s), mat(&ht, s, cols));
    let a = swiglu_forward(&gu, inter, cols);
    let m = matmul(mat(wd, s, inter), mat(&a, inter, cols));
    let mut y = h.to_vec();
    add_token_major(&mut y, &m, s, d);
    let r = norm_tokens(&mut y, s, d, eps);
    (y, Some(gu), r)
}

struct TokenMlp {
    eps: f32,
    /// Whether the backward pass will want `[g | u]` (some input is tracked by autograd).
    keep: bool,
    /// `[g | u]` (token-major `[2I, B D]`) and `1 / rms` (`[B, D]`) of the forward pass.
    saved: Mutex<Option<(Vec<f32>, Vec<f32>)>>,
}

impl CustomOp3 for TokenMlp {
    fn name(&self) -> &'static str {
        "trm-token-mlp"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let op = self.name();
        let (h, wgu, wd) =
            (f32_contiguous(s1, l1, op)?, f32_contiguous(s2, l2, op)?, f32_contiguous(s3, l3, op)?);
        let Ok((_, s, d)) = l1.shape().dims3() else {
            bail!("{op}: expected [B, S, D], got {:?}", l1.dims())
        };
        let inter = swiglu_inter(l2, l3, s, s, op)?;
        let (y, gu, r) =
            token_forward(TokenIn { h, wgu, wd, s, d, inter, eps: self.eps }, self.keep);
        if self.keep {
            *self.saved.lock().unwrap() = gu.map(|gu| (gu, r));
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        h_t: &Tensor,
        gate_up: &Tensor,
        down: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, s, d) = h_t.dims3()?;
        let inter = down.dim(1)?;
        sublayer_backward(self.name(), [h_t, gate_up, down, res, grad], |[h, wgu, wd, y, g]| {
            let saved = self.saved.lock().unwrap().take();
            let (gu, r) = saved.unwrap_or_else(|| {
                let (_, gu, r) =
                    token_forward(TokenIn { h, wgu, wd, s, d, inter, eps: self.eps }, true);
                (gu.expect("kept"), r)
            });
            let k = token_chunk_rows(b, d, inter);
            if s > 0 && d > 0 && by_chunks(b.div_ceil(k), 2 * inter * s) {
                return token_backward_chunked(h, wgu, wd, y, g, &gu, &r, s, d, inter, k);
            }
            token_backward_whole(h, wgu, wd, y, g, gu, &r, s, d, inter)
        })
    }
}

/// The token backward product by product, each on every thread (arguments as
/// [`channel_backward_whole`]; `[g | u]` token-major `[2I, B D]`, `1 / rms` `[B, D]`).
#[allow(clippy::too_many_arguments)]
fn token_backward_whole(
    h: &[f32],
    wgu: &[f32],
    wd: &[f32],
    y: &[f32],
    g: &[f32],
    mut gu: Vec<f32>,
    r: &[f32],
    s: usize,
    d: usize,
    inter: usize,
) -> [Vec<f32>; 3] {
    let cols = h.len() / s.max(1);
    // dx starts as the gradient at the residual sum; its token-major copy feeds the products.
    let mut dx = norm_tokens_backward(g, y, r, s, d);
    let drt = to_token_major(&dx, s, d);
    // da = down^T dr, which the SwiGLU's backward overwrites with a.
    let mut a = matmul(mat(wd, s, inter).t(), mat(&drt, s, cols));
    swiglu_backward(&mut gu, &mut a, inter, cols);
    let d_down = matmul(mat(&drt, s, cols), mat(&a, inter, cols).t());
    let ht = to_token_major(h, s, d);
    let d_gate_up = matmul(mat(&gu, 2 * inter, cols), mat(&ht, s, cols).t());
    let dxt = matmul(mat(wgu, 2 * inter, s).t(), mat(&gu, 2 * inter, cols));
    add_token_major(&mut dx, &dxt, s, d);
    [dx, d_gate_up, d_down]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers;
    use candle_core::Var;

    fn rand(shape: &[usize], seed: u64, std: f64) -> Tensor {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let v = crate::init::trunc_normal(&mut rng, shape.iter().product(), std);
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// Largest difference relative to the largest value of `b`.
    fn rel_diff(a: &Tensor, b: &Tensor) -> f32 {
        let a = a.to_dtype(DType::F32).unwrap();
        let b = b.to_dtype(DType::F32).unwrap();
        let scale =
            b.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        let diff = (a - &b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap();
        diff.to_scalar::<f32>().unwrap() / scale.max(1e-12)
    }

    type Sublayer = fn(&Tensor, &Tensor, &Tensor, f64) -> Result<Tensor>;

    fn channel_plain(h: &Tensor, gate_up: &Tensor, down: &Tensor, eps: f64) -> Result<Tensor> {
        channel_sublayer(h, gate_up, down, None, eps)
    }

    fn channel_transposed(h: &Tensor, gate_up: &Tensor, down: &Tensor, eps: f64) -> Result<Tensor> {
        channel_sublayer(h, gate_up, down, Some(&Transposed::new(gate_up, down)?), eps)
    }

    /// Output and the gradients of `sum(y * probe)` for h and both weights.
    fn run(f: Sublayer, ts: &[Tensor; 4], dtype: DType, backwards: usize) -> Vec<Tensor> {
        let vars: Vec<Var> = ts[..3]
            .iter()
            .map(|t| Var::from_tensor(&t.to_dtype(dtype).unwrap()).unwrap())
            .collect();
        let y = f(vars[0].as_tensor(), vars[1].as_tensor(), vars[2].as_tensor(), 1e-5).unwrap();
        let loss = (&y * ts[3].to_dtype(dtype).unwrap()).unwrap().sum_all().unwrap();
        let mut grads = loss.backward().unwrap();
        for _ in 1..backwards {
            grads = loss.backward().unwrap();
        }
        let mut out = vec![y];
        out.extend(vars.iter().map(|v| grads.get(v).unwrap().clone()));
        out
    }

    /// The fused f32 op against the candle-op sub-layer in f64 (which never takes the
    /// fused path), forward and every gradient, on shapes that are not multiples of any
    /// kernel's tile, including a second backward over the same graph (recomputation).
    fn check(
        fused_op: Sublayer,
        composite: Sublayer,
        h: &[usize],
        gate_up: &[usize],
        down: &[usize],
    ) {
        let ts = [rand(h, 1, 1.0), rand(gate_up, 2, 0.3), rand(down, 3, 0.3), rand(h, 4, 1.0)];
        let want = run(composite, &ts, DType::F64, 1);
        for backwards in [1, 2] {
            let got = run(fused_op, &ts, DType::F32, backwards);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.dims(), w.dims());
                let d = rel_diff(g, w);
                assert!(
                    d < 2e-5,
                    "output {i} (0 = y, 1 = dh, 2 = d gate_up, 3 = d down) differs by {d}"
                );
            }
        }
    }

    #[test]
    fn channel_sublayer_matches_candle_ops() {
        for f in [channel_plain as Sublayer, channel_transposed] {
            check(f, layers::channel_sublayer, &[3, 13, 70], &[2 * 45, 70], &[70, 45]);
            check(f, layers::channel_sublayer, &[1, 1, 8], &[6, 8], &[8, 3]);
        }
    }

    #[test]
    fn token_sublayer_matches_candle_ops() {
        check(token_sublayer, layers::token_sublayer, &[3, 13, 70], &[2 * 9, 13], &[13, 9]);
        check(token_sublayer, layers::token_sublayer, &[1, 5, 130], &[2 * 4, 5], &[5, 4]);
    }

    fn values(len: usize, seed: u64, std: f64) -> Vec<f32> {
        rand(&[len], seed, std).to_vec1().unwrap()
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
    }

    /// The chunked forward passes against the whole ones, with chunks that do not divide the
    /// rows, with and without keeping `[g | u]`.
    #[test]
    fn chunked_forwards_match_the_whole_ones() {
        let (n, d, inter) = (3 * 37, 24, 40);
        let (h, gut, dnt) =
            (values(n * d, 1, 1.0), values(d * 2 * inter, 2, 0.3), values(inter * d, 3, 0.3));
        let (gut, dnt) = (mat(&gut, d, 2 * inter), mat(&dnt, inter, d));
        let (y, gu, r) = channel_forward_whole(&h, gut, dnt, 1e-5);
        for (rows, keep) in [(16, true), (7, false), (n, true)] {
            let (y2, gu2, r2) = channel_forward_chunked(&h, gut, dnt, 1e-5, rows, keep);
            assert!(max_diff(&y, &y2) < 1e-5 && max_diff(&r, &r2) < 1e-5, "rows {rows}");
            assert_eq!(gu2.is_some(), keep);
            if let Some(gu2) = gu2 {
                assert!(max_diff(gu.as_ref().unwrap(), &gu2) < 1e-5, "rows {rows}");
            }
        }
        let (b, s, d, inter) = (7, 13, 10, 9);
        let (h, wgu, wd) =
            (values(b * s * d, 4, 1.0), values(2 * inter * s, 5, 0.3), values(s * inter, 6, 0.3));
        let x = TokenIn { h: &h, wgu: &wgu, wd: &wd, s, d, inter, eps: 1e-5 };
        let (y, gu, r) = token_forward_whole(x);
        for (k, keep) in [(1, true), (3, false), (3, true), (b, true)] {
            let (y2, gu2, r2) = token_forward_chunked(x, k, keep);
            assert!(max_diff(&y, &y2) < 1e-5 && max_diff(&r, &r2) < 1e-5, "k {k}");
            assert_eq!(gu2.is_some(), keep);
            if let Some(gu2) = gu2 {
                assert!(max_diff(gu.as_ref().unwrap(), &gu2) < 1e-5, "k {k}");
            }
        }
        // Column chunks, some not dividing D (10 = 4 + 4 + 2; 7 pieces of 2 leave 2 empty).
        for (pieces, keep) in [(1, true), (2, false), (3, true), (7, true), (10, false)] {
            let (y2, gu2, r2) = token_forward_columns(x, pieces, keep);
            assert!(max_diff(&y, &y2) < 1e-5 && max_diff(&r, &r2) < 1e-5, "pieces {pieces}");
            assert_eq!(gu2.is_some(), keep);
            if let Some(gu2) = gu2 {
                assert!(max_diff(gu.as_ref().unwrap(), &gu2) < 1e-5, "pieces {pieces}");
            }
        }
    }

    /// The chunked backward passes against the whole ones.
    #[test]
    fn chunked_backwards_match_the_whole_ones() {
        let close = |a: &[Vec<f32>; 3], b: &[Vec<f32>; 3], what: &str| {
            for (i, (a, b)) in a.iter().zip(b).enumerate() {
                let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
                assert!(max_diff(a, b) <= 1e-5 * scale.max(1.0), "{what}: output {i}");
            }
        };
        let (n, d, inter) = (3 * 37, 24, 40);
        let (h, wgu, wd) =
            (values(n * d, 1, 1.0), values(2 * inter * d, 2, 0.3), values(d * inter, 3, 0.3));
        let (gut, dnt): (Vec<f32>, Vec<f32>) = (
            (0..d * 2 * inter).map(|q| wgu[(q % (2 * inter)) * d + q / (2 * inter)]).collect(),
            (0..inter * d).map(|q| wd[(q % d) * inter + q / d]).collect(),
        );
        let (y, gu, r) =
            channel_forward_whole(&h, mat(&gut, d, 2 * inter), mat(&dnt, inter, d), 1e-5);
        let (gu, dy) = (gu.unwrap(), values(n * d, 4, 1.0));
        let want = channel_backward_whole(&h, &wgu, &wd, &y, &dy, gu.clone(), &r, d, inter);
        for rows in [16, 7, n] {
            let got = channel_backward_chunked(&h, &wgu, &wd, &y, &dy, &gu, &r, d, inter, rows);
            close(&got, &want, &format!("channel, {rows} rows"));
        }
        let (b, s, d, inter) = (7, 13, 10, 9);
        let (h, wgu, wd) =
            (values(b * s * d, 5, 1.0), values(2 * inter * s, 6, 0.3), values(s * inter, 7, 0.3));
        let (y, gu, r) =
            token_forward_whole(TokenIn { h: &h, wgu: &wgu, wd: &wd, s, d, inter, eps: 1e-5 });
        let (gu, dy) = (gu.unwrap(), values(b * s * d, 8, 1.0));
        let want = token_backward_whole(&h, &wgu, &wd, &y, &dy, gu.clone(), &r, s, d, inter);
        for k in [1, 3, b] {
            let got = token_backward_chunked(&h, &wgu, &wd, &y, &dy, &gu, &r, s, d, inter, k);
            close(&got, &want, &format!("token, {k} rows"));
        }
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 174.0 * i as f32 / 200_000.0;
            let (got, want) = (exp(x) as f64, (x as f64).exp());
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
        assert!(exp(f32::NAN).is_nan());
        assert!(silu_parts(1e4).0 == 1.0 && silu_parts(-1e4).1.abs() < 1e-30);
    }

    /// `exp` and the SwiGLU's backward loop over rows of `[g | u]`, as a kernel so that it
    /// compiles inside the function of each width.
    struct ElementPasses<'a> {
        gu: &'a [f32],
        da: &'a [f32],
        inter: usize,
    }

    impl crate::simd::Kernel for ElementPasses<'_> {
        type Output = Vec<u32>;
        #[inline(always)]
        fn run(self) -> Vec<u32> {
            let (gu, inter) = (self.gu, self.inter);
            let mut out = Vec::new();
            for (gu, da) in gu.chunks_exact(2 * inter).zip(self.da.chunks_exact(inter)) {
                let (g, u) = gu.split_at(inter);
                let mut a = da.to_vec();
                let (mut dg, mut du) = (Vec::with_capacity(inter), Vec::with_capacity(inter));
                out.extend(g.iter().map(|g| exp(*g)));
                let (dgs, dus) =
                    (&mut dg.spare_capacity_mut()[..inter], &mut du.spare_capacity_mut()[..inter]);
                swiglu_backward_loop(g, u, &mut a, dgs, dus);
                // SAFETY: swiglu_backward_loop wrote all `inter` values of each.
                unsafe { (dg.set_len(inter), du.set_len(inter)) };
                out.extend(a.iter().chain(&dg).chain(&du));
            }
            out.iter().map(|v| v.to_bits()).collect()
        }
    }

    /// The element passes give the same bits at every vector width this CPU runs (the
    /// narrower paths are otherwise untested on a CPU with AVX-512).
    #[test]
    fn element_passes_agree_at_every_width() {
        use crate::simd::{with_width, Width};
        let inter = 40;
        let mut gu = values(7 * 2 * inter, 5, 3.0);
        gu[..6].copy_from_slice(&[0.0, -0.0, 100.0, -100.0, 1e-30, 88.5]);
        let da = values(7 * inter, 6, 1.0);
        let widths = Width::available();
        let first = with_width(widths[0], ElementPasses { gu: &gu, da: &da, inter });
        for w in &widths[1..] {
            let got = with_width(*w, ElementPasses { gu: &gu, da: &da, inter });
            assert!(got == first, "{w:?} differs from {:?}", widths[0]);
        }
    }

    #[test]
    fn wrong_weight_shapes_are_refused() {
        let h = rand(&[2, 5, 8], 1, 1.0);
        let err =
            token_sublayer(&h, &rand(&[8, 6], 2, 1.0), &rand(&[5, 4], 3, 1.0), 1e-5).unwrap_err();
        assert!(err.to_string().contains("do not fit"), "{err}");
        let err =
            channel_plain(&h, &rand(&[6, 8], 2, 1.0), &rand(&[8, 4], 3, 1.0), 1e-5).unwrap_err();
        assert!(err.to_string().contains("do not fit"), "{err}");
        let (gu, dn) = (rand(&[6, 8], 2, 1.0), rand(&[8, 3], 3, 1.0));
        let other = Transposed::new(&rand(&[4, 8], 2, 1.0), &rand(&[8, 2], 3, 1.0)).unwrap();
        let err = channel_sublayer(&h, &gu, &dn, Some(&other), 1e-5).unwrap_err();
        assert!(err.to_string().contains("do not match"), "{err}");
    }
}
