//! Helpers shared by the training tests of this crate and the crash tests of the CLI
//! (`crates/trm/tests/faults_cli.rs` includes this file).
#![allow(dead_code)]

use trm_train::config::RunConfig;

/// A small, fast configuration of the sudoku4 preset.
pub fn tiny(overrides: &[&str]) -> RunConfig {
    let mut all: Vec<String> = [
        "hidden_size=32",
        "puzzle_emb_ndim=32",
        "global_batch_size=64",
        "data.generate.train=300",
        "data.generate.test=100",
        "data.generate.aug=4",
        "log_interval=5",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.extend(overrides.iter().map(|s| s.to_string()));
    let cfg = RunConfig::preset("sudoku4").unwrap().apply_overrides(&all).unwrap();
    cfg.validate().unwrap();
    cfg
}

/// The lines of a `metrics.jsonl` without their wall-clock fields (`elapsed_s`,
/// `examples_per_s`), the only ones that differ between two runs of the same configuration.
pub fn metrics_without_time(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("elapsed_s");
            o.remove("examples_per_s");
            v
        })
        .collect()
}
