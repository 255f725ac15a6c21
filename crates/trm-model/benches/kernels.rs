//! Criterion benches of the kernels under a supervision step, at the official Sudoku-MLP
//! shapes (D 512, S 97, batch 16): the fused RMSNorm and SwiGLU, the two matrix products of
//! the channel SwiGLU, the token-mixing product, and one whole evaluation step at batch 4.
//!
//! `cargo bench -p trm-model --bench kernels`

use candle_core::{Device, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use trm_model::ops::{rms_norm, swiglu};
use trm_model::{Batch, Model, ModelConfig};

const B: usize = 16;
const S: usize = 97;
const D: usize = 512;
const I: usize = 1536;

fn kernels(c: &mut Criterion) {
    let dev = Device::Cpu;
    let h = Tensor::randn(0f32, 1.0, (B, S, D), &dev).unwrap();
    let gu = Tensor::randn(0f32, 1.0, (B, S, 2 * I), &dev).unwrap();
    let w_gate_up = Tensor::randn(0f32, 0.04, (2 * I, D), &dev).unwrap();
    let w_down = Tensor::randn(0f32, 0.02, (D, I), &dev).unwrap();
    let w_t = Tensor::randn(0f32, 0.1, (1024, S), &dev).unwrap();
    let act = Tensor::randn(0f32, 1.0, (B * S, I), &dev).unwrap();
    let flat = h.reshape((B * S, D)).unwrap();

    c.bench_function("rms_norm over D [16,97,512]", |b| b.iter(|| rms_norm(&h, 2, 1e-5).unwrap()));
    c.bench_function("rms_norm over S [16,97,512]", |b| b.iter(|| rms_norm(&h, 1, 1e-5).unwrap()));
    c.bench_function("swiglu [16,97,3072]", |b| b.iter(|| swiglu(&gu, 2).unwrap()));
    c.bench_function("gate_up matmul [1552,512]x[512,3072]", |b| {
        b.iter(|| flat.matmul(&w_gate_up.t().unwrap()).unwrap())
    });
    c.bench_function("down matmul [1552,1536]x[1536,512]", |b| {
        b.iter(|| act.matmul(&w_down.t().unwrap()).unwrap())
    });
    c.bench_function("token mixing [16] x [1024,97]x[97,512]", |b| {
        b.iter(|| w_t.broadcast_as((B, 1024, S)).unwrap().matmul(&h).unwrap())
    });

    let cfg = ModelConfig::official_sudoku_mlp();
    let model = Model::new(cfg, &dev, 0).unwrap();
    let rows = 4;
    let batch = Batch::new(vec![2; rows * 81], vec![3; rows * 81], vec![0; rows], 81).unwrap();
    let mut carry = model.initial_carry(rows).unwrap();
    let mut group = c.benchmark_group("supervision step");
    group.sample_size(10);
    group.bench_function("sudoku-mlp eval step, batch 4", |b| {
        b.iter(|| model.eval_step(&mut carry, &batch).unwrap())
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
