//! The ceiling of a step: the matrix products of one `mlp_t` layer alone, timed as `gemm`
//! runs them for the fused sub-layers (same shapes, same threads), and what they add up to
//! over one evaluation step (T(n+1) network applications of L layers). Compare with
//! `trm bench`'s eval step to see how far a step is from its products, and with
//! `bench/products.py` for PyTorch's `F.linear` on the same shapes.
//!
//! `cargo run --release -p trm-model --example products [threads]`

use std::time::Instant;

/// Best time in seconds of `reps` products `[m, k] x [k, n]` on `threads` threads.
fn product_time(m: usize, k: usize, n: usize, threads: usize, reps: usize) -> f64 {
    let (a, b) = (vec![0.5f32; m * k], vec![0.25f32; k * n]);
    let mut c = vec![0f32; m * n];
    let parallelism =
        if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    let mut best = f64::MAX;
    for _ in 0..reps {
        let t = Instant::now();
        // SAFETY: a, b and c are row-major buffers of exactly [m, k], [k, n] and [m, n].
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                k as isize,
                b.as_ptr(),
                1,
                n as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            )
        };
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// The SwiGLU inner width of `width` (see `ModelConfig::expansion`), expansion 4.
fn inner(width: usize) -> usize {
    let i = (4.0 * 2.0 / 3.0 * width as f64).round() as usize;
    i.div_ceil(256) * 256
}

fn main() {
    let threads: usize = std::env::args().nth(1).map_or(2, |s| s.parse().expect("threads"));
    // This thread is worker 0, as in `trm` (`trm_model::settle_thread_counts`).
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .use_current_thread()
        .build_global()
        .expect("thread pool");
    // (name, batch, S = puzzle_emb_len + seq_len, D, network applications per eval step)
    let cases = [
        ("maze-cpu", 64, 82, 64, 2 * (2 + 1)),
        ("sudoku9-cpu", 64, 82, 64, 2 * (2 + 1)),
        ("sudoku9-cpu", 1, 82, 64, 2 * (2 + 1)),
        ("sudoku-mlp", 1, 97, 512, 3 * (6 + 1)),
        ("sudoku-mlp", 16, 97, 512, 3 * (6 + 1)),
        ("sudoku-mlp", 64, 97, 512, 3 * (6 + 1)),
    ];
    println!("{threads} threads; products of one mlp_t layer ([m, k] x [k, n]), best of 50 (5 when large)");
    for (name, b, s, d, apps) in cases {
        let (i, it) = (inner(d), inner(s));
        let shapes = [
            ("channel gate-up", b * s, d, 2 * i),
            ("channel down", b * s, i, d),
            ("token gate-up", 2 * it, s, b * d),
            ("token down", s, it, b * d),
        ];
        let mut layer = 0.0;
        for (what, m, k, n) in shapes {
            let reps = if m * k * n > 1 << 28 { 5 } else { 50 };
            let t = product_time(m, k, n, threads, reps);
            layer += t;
            let gflops = 2.0 * (m * k * n) as f64 / t / 1e9;
            println!(
                "  {name} b{b} {what:16} [{m}, {k}] x [{k}, {n}]: {:8.3} ms, {gflops:5.0} GFLOP/s",
                t * 1e3
            );
        }
        // Two layers per network application.
        println!(
            "{name} b{b}: products of one layer {:.2} ms; of one eval step ({apps} applications of 2 layers) {:.1} ms",
            layer * 1e3,
            layer * 2.0 * apps as f64 * 1e3
        );
    }
}
