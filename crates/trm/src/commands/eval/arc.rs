//! The ARC part of `trm eval`: on a dataset built by `trm data arc` (it has
//! `test_puzzles.json`), the predictions are voted over augmentations by
//! `trm_data::arc::ArcEvaluator` (design 5.3) into pass@K and an ARC Prize `submission.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use trm_data::arc::build::TEST_PUZZLES_FILE;
use trm_data::arc::evaluate::{
    write_submission, ArcEvaluator, ArcScores, PASS_KS, SUBMISSION_ATTEMPTS,
};
use trm_data::dataset::Split;
use trm_train::eval::{example_puzzles, Prediction};

/// Whether `dir` is an ARC dataset (the evaluator needs its `test_puzzles.json`).
pub fn is_arc_dataset(dir: &Path) -> bool {
    dir.join(TEST_PUZZLES_FILE).is_file()
}

/// Votes the predictions of the first `predictions.len()` examples of `test` (the test split
/// of the ARC dataset `dir`). The confidence of a row is its `sigmoid(q_halt)` at the step
/// its answer was taken (the last step, as officially, unless `--halt`). The canvas is the
/// square root of the test split's `seq_len` (30x30 officially).
pub fn arc_scores(dir: &Path, test: &Split, predictions: &[Prediction]) -> Result<ArcScores> {
    let mut evaluator = ArcEvaluator::load(dir)?;
    let puzzles = example_puzzles(test);
    for (i, p) in predictions.iter().enumerate() {
        let identifier = test.puzzle_identifiers[puzzles[i]];
        let identifier = u32::try_from(identifier).with_context(|| {
            format!("{}: test puzzle {} has identifier {identifier}", dir.display(), puzzles[i])
        })?;
        let prediction: Vec<u8> = p.tokens.iter().map(|&t| t.min(u8::MAX as u32) as u8).collect();
        evaluator
            .add(identifier, test.example(i).0, &prediction, p.confidence)
            .with_context(|| format!("{}: test example {i}", dir.display()))?;
    }
    Ok(evaluator.evaluate(&PASS_KS, SUBMISSION_ATTEMPTS))
}

/// Where `submission.json` goes: `--submission FILE`, else `RUN/submission.json` for `--model RUN`.
pub fn submission_path(given: Option<&Path>, run: Option<&Path>) -> Option<PathBuf> {
    given.map(Path::to_path_buf).or_else(|| run.map(|r| r.join("submission.json")))
}

/// Writes the submission (when there is a path) and returns the path written.
pub fn write(scores: &ArcScores, path: Option<&Path>) -> Result<Option<PathBuf>> {
    let Some(path) = path else { return Ok(None) };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder for --submission", dir.display()))?;
    }
    write_submission(path, &scores.submission)?;
    Ok(Some(path.to_path_buf()))
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
