//! Wall time of one supervision step (evaluation, and training with loss and backward) for
//! the published architectures at a small batch, on the CPU. Prints one table.
//!
//! `cargo run --release -p trm-model --example step_time [batch_size]`

use std::time::Instant;

use anyhow::Result;
use candle_core::Device;
use rand::{Rng, SeedableRng};
use trm_model::{act_loss, Batch, Model, ModelConfig};

fn config(json: &str) -> ModelConfig {
    ModelConfig::from_official_json(json).unwrap().0
}

fn main() -> Result<()> {
    let batch_size: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(8);
    let common = r#""puzzle_emb_ndim": 512, "num_puzzle_identifiers": 16, "H_cycles": 3, "H_layers": 0, "L_layers": 2,
        "hidden_size": 512, "expansion": 4, "num_heads": 8, "halt_max_steps": 16, "halt_exploration_prob": 0.1"#;
    let configs = [
        (
            "sudoku-mlp (S 97, n 6)",
            format!(
                r#"{{{common}, "seq_len": 81, "vocab_size": 11, "L_cycles": 6, "pos_encodings": "none", "mlp_t": true}}"#
            ),
        ),
        (
            "sudoku-att (S 97, n 6)",
            format!(
                r#"{{{common}, "seq_len": 81, "vocab_size": 11, "L_cycles": 6, "pos_encodings": "rope"}}"#
            ),
        ),
        (
            "maze-att (S 916, n 4)",
            format!(
                r#"{{{common}, "seq_len": 900, "vocab_size": 6, "L_cycles": 4, "pos_encodings": "rope"}}"#
            ),
        ),
    ];
    println!("batch {batch_size}, {} threads", candle_core::utils::get_num_threads());
    println!("{:<24} {:>12} {:>14} {:>16}", "config", "eval ms", "train ms", "train ex/s");
    for (name, json) in configs {
        let cfg = config(&json);
        let model = Model::new(cfg.clone(), &Device::Cpu, 0)?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let n = batch_size * cfg.seq_len;
        let batch = Batch::new(
            (0..n).map(|_| rng.random_range(0..cfg.vocab_size as i32)).collect(),
            (0..n).map(|_| rng.random_range(0..cfg.vocab_size as i32)).collect(),
            (0..batch_size).map(|_| rng.random_range(0..16)).collect(),
            cfg.seq_len,
        )?;
        let mut carry = model.initial_carry(batch_size)?;
        model.eval_step(&mut carry, &batch)?; // warm-up
        let reps = 2;
        let t = Instant::now();
        for _ in 0..reps {
            model.eval_step(&mut carry, &batch)?;
        }
        let eval_ms = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
        let t = Instant::now();
        for _ in 0..reps {
            let out = model.train_step(&mut carry, &batch, &mut rng)?;
            let loss = act_loss(cfg.loss_type, &out, &carry)?;
            let _grads = loss.total.backward()?;
        }
        let train_ms = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
        println!(
            "{name:<24} {eval_ms:>12.1} {train_ms:>14.1} {:>16.1}",
            batch_size as f64 / train_ms * 1e3
        );
    }
    Ok(())
}
