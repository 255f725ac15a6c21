//! Helpers shared by the model integration tests: configurations from official JSON, models
//! with every path non-zero, and random batches.

use candle_core::{Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use trm_model::{names, Batch, Model, ModelConfig, IGNORE_LABEL_ID};

/// A checked configuration from official JSON keys (no key may be ignored).
pub fn config(json: &str) -> ModelConfig {
    let (cfg, ignored) = ModelConfig::from_official_json(json).unwrap();
    assert!(ignored.is_empty());
    cfg.validate().unwrap();
    cfg
}

/// A CPU model with the Q head and the puzzle table made non-zero (the official init leaves
/// them at zero, which would hide their paths).
pub fn model(cfg: &ModelConfig, seed: u64) -> Model {
    let m = Model::new(cfg.clone(), &Device::Cpu, seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    let mut randomize = |v: &Var, std: f32| {
        let data: Vec<f32> =
            (0..v.elem_count()).map(|_| (rng.random::<f32>() - 0.5) * 2.0 * std).collect();
        v.set(&Tensor::from_vec(data, v.shape(), &Device::Cpu).unwrap()).unwrap();
    };
    randomize(m.param(names::Q_HEAD_WEIGHT).unwrap(), 0.3);
    randomize(m.param(names::Q_HEAD_BIAS).unwrap(), 0.3);
    if let Some(t) = m.puzzle_table() {
        randomize(t, 0.5);
    }
    m
}

/// `b` random rows; label `i` is ignored where `i % every == at`.
pub fn batch(cfg: &ModelConfig, b: usize, seed: u64, (every, at): (usize, usize)) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = b * cfg.seq_len;
    let v = cfg.vocab_size as i32;
    let inputs = (0..n).map(|_| rng.random_range(0..v)).collect();
    let labels = (0..n)
        .map(|i| if i % every == at { IGNORE_LABEL_ID } else { rng.random_range(0..v) })
        .collect();
    let ids =
        (0..b).map(|_| rng.random_range(0..cfg.num_puzzle_identifiers.max(1) as i32)).collect();
    Batch::new(inputs, labels, ids, cfg.seq_len).unwrap()
}
