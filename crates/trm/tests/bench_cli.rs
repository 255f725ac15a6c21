//! `trm bench --json` as a script reads it: one row per batch size with the step times and
//! the training examples per second that follow from them; bad batch sizes are refused.

mod cli;
use cli::{fails, ok};

#[test]
fn bench_json_reports_training_examples_per_second() {
    let out = ok(&[
        "bench",
        "--preset",
        "sudoku4",
        "--batch-size",
        "4,8",
        "--reps",
        "1",
        "--no-single",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let (b, ms) = (row["batch_size"].as_f64().unwrap(), row["train_step_ms"].as_f64().unwrap());
        let per_s = row["train_examples_per_s"].as_f64().unwrap();
        assert!(ms > 0.0 && (per_s - b / (ms / 1e3)).abs() < 1e-6 * per_s, "{row}");
    }
    assert_eq!(v["train_examples_per_s"], rows[0]["train_examples_per_s"]);
    let err = fails(&["bench", "--preset", "sudoku4", "--batch-size", "0"]);
    assert!(err.contains("--batch-size"), "{err}");
}
