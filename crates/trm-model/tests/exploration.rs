//! Halting exploration in training (design 3.2) against its definition: with probability
//! `halt_exploration_prob` a row gets a minimum of Uniform{2..=halt_max_steps} supervision
//! steps before it may halt, drawn anew at every call (official: `explore = rand < p`,
//! `min_halt_steps = explore * randint(2, max + 1)`, `halted &= steps >= min_halt_steps`).
//!
//! The Q head is set so that q_halt is far above 0 for every row: without exploration every
//! row would halt after its first step, so each row's halting step shows its minimum.

#[allow(dead_code)]
mod common;

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use trm_model::{names, Model, ModelConfig};

const MAX_STEPS: u32 = 5;

fn config(prob: f64) -> ModelConfig {
    common::config(&format!(
        r#"{{"arch": "trm", "seq_len": 4, "vocab_size": 5, "num_puzzle_identifiers": 1, "puzzle_emb_ndim": 0, "puzzle_emb_len": 0,
            "H_cycles": 1, "L_cycles": 1, "L_layers": 1, "hidden_size": 16, "expansion": 2,
            "num_heads": 2, "pos_encodings": "rope", "halt_max_steps": {MAX_STEPS},
            "halt_exploration_prob": {prob}}}"#
    ))
}

/// A model whose q_halt logit is +20 on every row (q_head weight 0, bias +20).
fn always_halting(prob: f64) -> Model {
    let m = Model::new(config(prob), &Device::Cpu, 0).unwrap();
    let bias = m.param(names::Q_HEAD_BIAS).unwrap();
    bias.set(&Tensor::new(&[20f32, 0.0], &Device::Cpu).unwrap()).unwrap();
    m
}

/// The `halted` flags of `calls` consecutive training calls on a batch of `rows`.
fn halted_per_call(model: &Model, rows: usize, calls: usize, seed: u64) -> Vec<Vec<bool>> {
    let batch = common::batch(model.config(), rows, 1, (1000, 999));
    let mut carry = model.initial_carry(rows).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..calls)
        .map(|_| {
            model.train_step(&mut carry, &batch, &mut rng).unwrap();
            carry.halted.clone()
        })
        .collect()
}

/// The definition, step by step, with the same generator: per call and row, the explore
/// draw, then the minimum's draw; a row halts once its steps reach the minimum (q_halt > 0).
fn expected_halted(prob: f64, rows: usize, calls: usize, seed: u64) -> Vec<Vec<bool>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut steps = vec![0u32; rows];
    let mut halted = vec![true; rows];
    (0..calls)
        .map(|_| {
            for r in 0..rows {
                steps[r] = if halted[r] { 1 } else { steps[r] + 1 };
                let explore = rng.random::<f64>() < prob;
                let min_steps = rng.random_range(2..=MAX_STEPS);
                let min_steps = if explore { min_steps } else { 0 };
                halted[r] = steps[r] >= MAX_STEPS || steps[r] >= min_steps;
            }
            halted.clone()
        })
        .collect()
}

#[test]
fn halting_follows_the_definition_draw_for_draw() {
    let (prob, rows, calls) = (0.3, 64, 12);
    let model = always_halting(prob);
    let got = halted_per_call(&model, rows, calls, 7);
    assert_eq!(got, expected_halted(prob, rows, calls, 7));
    // Some rows did explore (the case is not trivial).
    assert!(got.iter().any(|h| h.iter().any(|&x| !x)));
}

#[test]
fn exploration_statistics_match_the_definition() {
    let (prob, rows) = (0.2, 4000);
    let model = always_halting(prob);
    // At the first call every row is new: it halts unless it explored (a minimum is at least
    // 2, so a first step never meets it).
    let first = &halted_per_call(&model, rows, 1, 11)[0];
    let explored = first.iter().filter(|&&h| !h).count() as f64;
    let sigma = (rows as f64 * prob * (1.0 - prob)).sqrt();
    assert!((explored - prob * rows as f64).abs() < 5.0 * sigma, "{explored} of {rows} explored");

    // With p = 1 every call draws a minimum from 2..=MAX anew, so a row at step s halts with
    // the probability that the draw is at most s: (s - 1) / (MAX - 1), and always at MAX.
    let model = always_halting(1.0);
    let calls = 12;
    let per_call = halted_per_call(&model, rows, calls, 13);
    assert!(per_call[0].iter().all(|&h| !h), "with p = 1 no row halts at its first step");
    // Rows at each step and how many of them halted, over all calls.
    let mut at_step = vec![(0usize, 0usize); MAX_STEPS as usize + 1];
    let mut steps = vec![0u32; rows];
    for (k, halted) in per_call.iter().enumerate() {
        for r in 0..rows {
            steps[r] = if k == 0 || per_call[k - 1][r] { 1 } else { steps[r] + 1 };
            assert!(steps[r] <= MAX_STEPS, "row {r} ran past halt_max_steps");
            at_step[steps[r] as usize].0 += 1;
            at_step[steps[r] as usize].1 += halted[r] as usize;
        }
    }
    assert_eq!(at_step[1].1, 0, "a minimum is at least 2");
    for step in 2..=MAX_STEPS {
        let (n, stopped) = (at_step[step as usize].0 as f64, at_step[step as usize].1 as f64);
        let p_stop =
            if step == MAX_STEPS { 1.0 } else { (step - 1) as f64 / (MAX_STEPS - 1) as f64 };
        let sigma = (n * p_stop * (1.0 - p_stop)).sqrt().max(1.0);
        assert!(n > 100.0, "step {step}: only {n} rows");
        assert!(
            (stopped - n * p_stop).abs() < 5.0 * sigma,
            "step {step}: {stopped} of {n} halted, expected {:.0}",
            n * p_stop
        );
    }
}

#[test]
fn without_exploration_the_q_head_decides_alone() {
    let model = always_halting(0.0);
    let got = halted_per_call(&model, 32, 3, 1);
    assert!(got.iter().all(|h| h.iter().all(|&x| x)));
}
