//! The ARC part of `trm eval`: on a dataset built by `trm data arc` (it has
//! `test_puzzles.json`), the predictions are voted over augmentations
//! (`trm_train::eval::arc_scores`, design 5.3) into pass@K and an ARC Prize `submission.json`;
//! here they are printed.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use trm_data::arc::evaluate::{ArcScores, SUBMISSION_ATTEMPTS};

/// Where `submission.json` goes: `--submission FILE`, else `RUN/submission.json` for `--model RUN`.
pub fn submission_path(given: Option<&Path>, run: Option<&Path>) -> Option<PathBuf> {
    given.map(Path::to_path_buf).or_else(|| run.map(|r| r.join("submission.json")))
}

/// The `"arc"` object of `trm eval --json`: `pass@K` for every K, counts, the submission path.
pub fn to_json(scores: &ArcScores, submission: Option<&Path>) -> Value {
    let mut obj = json!({
        "tasks": scores.tasks,
        "test_inputs": scores.test_inputs,
        "inputs_without_predictions": scores.inputs_without_predictions,
        "rows": scores.rows,
        "submission": submission.map(|p| p.display().to_string()),
    });
    for &(k, s) in &scores.pass_at {
        obj[format!("pass@{k}")] = json!(s);
    }
    obj
}

/// The pass@K table, as printed after the usual metrics.
pub fn print_table(scores: &ArcScores, submission: Option<&Path>) {
    println!(
        "\nARC: {} tasks, {} test inputs, {} predictions voted (official evaluator: de-augment, vote, rank by votes then mean confidence)",
        scores.tasks, scores.test_inputs, scores.rows
    );
    println!("     K  pass@K");
    for &(k, s) in &scores.pass_at {
        println!("{k:>6}  {s:.4}");
    }
    if scores.inputs_without_predictions > 0 {
        println!(
            "note: {} test inputs got no prediction (--limit?); they count as unsolved",
            scores.inputs_without_predictions
        );
    }
    match submission {
        Some(p) => println!(
            "submission (top {SUBMISSION_ATTEMPTS} attempts per test input): {}",
            p.display()
        ),
        None => println!("no submission.json written (give --submission FILE)"),
    }
}
