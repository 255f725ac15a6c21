//! Evaluation on a test split (design 5.1, 5.2): every batch from a fresh carry, all
//! supervision steps, predictions and metrics from the last one.
//!
//! Beyond the official loop: `max_steps` may exceed the training `halt_max_steps`
//! (test-time recursion: the carry simply goes on), `halt` stops each example at the first
//! step whose q_halt logit is positive (what adaptive halting would spend), and the exact
//! accuracy after every step is recorded (accuracy against test-time compute).
//!
//! On an ARC dataset the predictions are also voted over augmentations into pass@K and an
//! ARC Prize submission ([`arc_scores`]).

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use serde::Serialize;
use serde_json::json;
use trm_data::arc::evaluate::{ArcEvaluator, ArcScores, PASS_KS, SUBMISSION_ATTEMPTS};
use trm_data::dataset::Split;
use trm_data::maze::build::decode_example;
use trm_data::maze::check::solves_maze;
use trm_data::maze::VOCAB_SIZE;
use trm_model::{Batch, Model, IGNORE_LABEL_ID};

use crate::path_labels::maze_columns;

/// How an evaluation runs: batch size, how many test examples, supervision steps, halting.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Examples per evaluation batch.
    pub batch_size: usize,
    /// Evaluate the first `max_examples` test examples (0: all).
    pub max_examples: usize,
    /// Supervision steps (None: the model's `halt_max_steps`).
    pub max_steps: Option<usize>,
    /// Stop each example when q_halt > 0.
    pub halt: bool,
}

/// Metrics of one evaluation. Accuracies are fractions of `count` examples.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    /// Test examples scored (those with at least one valid label).
    pub count: usize,
    /// Mean over the examples of the share of valid tokens predicted right.
    pub token_accuracy: f64,
    /// Share of the examples with every token right.
    pub exact_accuracy: f64,
    /// Share of the examples where the halting call (q_halt logit >= 0) matches whether the
    /// answer is exactly right.
    pub q_halt_accuracy: f64,
    /// Mean supervision steps at which the answers were taken.
    pub mean_steps: f64,
    /// Exact accuracy if every example stopped after step k (k = 1..max_steps).
    pub exact_accuracy_per_step: Vec<f64>,
    /// Maze splits only: answers that are a valid shortest path, whether or not the one the
    /// label draws (most mazes have several; `exact_accuracy` asks for the label's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solved_accuracy: Option<f64>,
}

impl EvalReport {
    /// The metrics as the JSON object `trm eval --json` prints; with `per_step`, also the
    /// exact accuracy after every supervision step.
    pub fn to_json(&self, per_step: bool) -> serde_json::Value {
        let mut obj = json!({
            "exact_accuracy": self.exact_accuracy,
            "token_accuracy": self.token_accuracy,
            "q_halt_accuracy": self.q_halt_accuracy,
            "count": self.count,
            "mean_steps": self.mean_steps,
        });
        if let Some(solved) = self.solved_accuracy {
            obj["solved_accuracy"] = json!(solved);
        }
        if per_step {
            obj["exact_accuracy_per_step"] = json!(self.exact_accuracy_per_step);
        }
        obj
    }

    /// The metrics as the table `trm eval` prints, one per line; with `per_step`, also the
    /// exact accuracy after every supervision step.
    pub fn table(&self, per_step: bool) -> String {
        let mut out = format!("examples         {}\n", self.count);
        out += &format!("exact accuracy   {:.4}\n", self.exact_accuracy);
        if let Some(solved) = self.solved_accuracy {
            out +=
                &format!("solved accuracy  {solved:.4} (answers that are a valid shortest path)\n");
        }
        out += &format!("token accuracy   {:.4}\n", self.token_accuracy);
        out += &format!("q_halt accuracy  {:.4}\n", self.q_halt_accuracy);
        out += &format!("mean steps       {:.2}\n", self.mean_steps);
        if per_step {
            out += "\nstep  exact accuracy\n";
            for (k, a) in self.exact_accuracy_per_step.iter().enumerate() {
                out += &format!("{:>4}  {a:.4}\n", k + 1);
            }
        }
        out
    }

    /// The exact accuracy against supervision steps, as points (step from 1, accuracy), and
    /// the step to mark as the training horizon `trained` (`halt_max_steps`): only when the
    /// curve goes past it (at the right edge a mark says nothing).
    pub fn per_step_curve(&self, trained: usize) -> (Vec<(usize, f64)>, Option<usize>) {
        let points: Vec<(usize, f64)> =
            self.exact_accuracy_per_step.iter().enumerate().map(|(k, &a)| (k + 1, a)).collect();
        let mark = (points.len() > trained).then_some(trained);
        (points, mark)
    }

    /// What `trm demo` says of the held-out puzzles: how many were solved exactly, the token
    /// accuracy and, on mazes, how many answers are a valid shortest path.
    pub fn held_out_summary(&self) -> String {
        let n = self.count as f64;
        let mut out = format!(
            "Held-out puzzles: {} of {} solved exactly ({:.1}%), token accuracy {:.1}%\n",
            (self.exact_accuracy * n).round(),
            self.count,
            100.0 * self.exact_accuracy,
            100.0 * self.token_accuracy
        );
        if let Some(solved) = self.solved_accuracy {
            out += &format!(
                "Valid shortest paths (any of the tied ones, not only the label's): {} of {} ({:.1}%)\n",
                (solved * n).round(),
                self.count,
                100.0 * solved
            );
        }
        out
    }
}

/// The grid (rows, columns) of a split's first `total` examples when every one is a maze
/// question whose label is a valid shortest path (the grid's columns from the model's
/// `grid_width`, else a square); None for other data.
pub fn maze_grid(split: &Split, model: &Model, total: usize) -> Option<(usize, usize)> {
    let seq = split.meta.seq_len;
    if split.meta.vocab_size as usize != VOCAB_SIZE {
        return None;
    }
    let cols = maze_columns(seq, model.config().grid_width).ok()?;
    let rows = seq / cols;
    let all_mazes = (0..total).all(|i| {
        let (x, y) = split.example(i);
        decode_example(x, y, rows, cols)
            .is_ok_and(|pair| pair.question.check_answer(&pair.answer).is_ok())
    });
    (total > 0 && all_mazes).then_some((rows, cols))
}

/// The model's answer to one example.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The predicted token at every position (argmax of the logits).
    pub tokens: Vec<u32>,
    /// sigmoid(q_halt) at the step the answer was taken.
    pub confidence: f64,
    /// The supervision step the answer was taken at, from 1.
    pub steps: usize,
    /// Whether every valid token of the answer is right.
    pub exact: bool,
}

/// Builds the batch of examples `rows` of `split` (labels equal to the split's
/// `ignore_label_id` become -100, as the official loader does).
pub fn collate(split: &Split, rows: &[usize], puzzles: &[usize]) -> Result<Batch> {
    let seq = split.meta.seq_len;
    let ignore = split.meta.ignore_label_id.map(|v| v as i32);
    let mut inputs = Vec::with_capacity(rows.len() * seq);
    let mut labels = Vec::with_capacity(rows.len() * seq);
    for &r in rows {
        let (x, y) = split.example(r);
        inputs.extend(x.iter().map(|&v| v as i32));
        labels.extend(y.iter().map(|&v| {
            if Some(v as i32) == ignore {
                IGNORE_LABEL_ID
            } else {
                v as i32
            }
        }));
    }
    let ids = puzzles.iter().map(|&p| split.puzzle_identifiers[p]).collect();
    Batch::new(inputs, labels, ids, seq)
}

/// For each example, the puzzle it belongs to.
pub fn example_puzzles(split: &Split) -> Vec<usize> {
    let mut out = Vec::with_capacity(split.num_examples());
    for p in 0..split.num_puzzles() {
        out.extend(std::iter::repeat_n(p, split.puzzle_examples(p).len()));
    }
    out
}

/// Evaluates `model` on `split`; `on_batch(done, total)` reports progress.
pub fn evaluate(
    model: &Model,
    split: &Split,
    opts: &EvalOptions,
    mut on_batch: impl FnMut(usize, usize),
) -> Result<(EvalReport, Vec<Prediction>)> {
    ensure!(opts.batch_size > 0, "evaluation batch size must be at least 1");
    let total = match opts.max_examples {
        0 => split.num_examples(),
        n => n.min(split.num_examples()),
    };
    let puzzles = example_puzzles(split);
    let grid = maze_grid(split, model, total);
    let mut solved = 0usize;
    let mut report = EvalReport::default();
    let mut predictions = Vec::with_capacity(total);
    let mut start = 0;
    while start < total {
        let rows: Vec<usize> = (start..(start + opts.batch_size).min(total)).collect();
        let batch = collate(split, &rows, &puzzles[rows[0]..rows[0] + rows.len()])?;
        let (batch_preds, per_step) = predict_batch(model, &batch, opts.max_steps, opts.halt)?;
        if report.exact_accuracy_per_step.len() < per_step.len() {
            report.exact_accuracy_per_step.resize(per_step.len(), 0.0);
        }
        for (acc, n) in report.exact_accuracy_per_step.iter_mut().zip(&per_step) {
            *acc += *n as f64;
        }
        for (r, p) in batch_preds.into_iter().enumerate() {
            let labels = &batch.labels[r * batch.seq_len..(r + 1) * batch.seq_len];
            let (valid, correct) = score(&p.tokens, labels);
            if valid > 0 {
                report.count += 1;
                report.token_accuracy += correct as f64 / valid as f64;
                report.exact_accuracy += p.exact as u8 as f64;
                report.q_halt_accuracy += ((p.confidence >= 0.5) == p.exact) as u8 as f64;
                report.mean_steps += p.steps as f64;
                if let Some(grid) = grid {
                    let input = &batch.inputs[r * batch.seq_len..(r + 1) * batch.seq_len];
                    solved += solves_maze(input, &p.tokens, grid) as usize;
                }
            }
            predictions.push(p);
        }
        start += rows.len();
        on_batch(start, total);
    }
    let n = report.count.max(1) as f64;
    report.token_accuracy /= n;
    report.exact_accuracy /= n;
    report.q_halt_accuracy /= n;
    report.mean_steps /= n;
    report.solved_accuracy = grid.map(|_| solved as f64 / n);
    for a in &mut report.exact_accuracy_per_step {
        *a /= n;
    }
    Ok((report, predictions))
}

/// (valid labels, correctly predicted valid labels) of one row.
fn score(tokens: &[u32], labels: &[i32]) -> (usize, usize) {
    let mut valid = 0;
    let mut correct = 0;
    for (&t, &l) in tokens.iter().zip(labels) {
        if l != IGNORE_LABEL_ID {
            valid += 1;
            correct += (t as i32 == l) as usize;
        }
    }
    (valid, correct)
}

/// Runs one batch for `max_steps` supervision steps from a fresh carry. Returns each row's
/// answer (at the last step, or at its first q_halt > 0 with `halt`) and, per step, the
/// number of rows (with valid labels) whose answer at that step is exactly right.
pub fn predict_batch(
    model: &Model,
    batch: &Batch,
    max_steps: Option<usize>,
    halt: bool,
) -> Result<(Vec<Prediction>, Vec<usize>)> {
    let steps = max_steps.unwrap_or(model.config().halt_max_steps);
    ensure!(steps >= 1, "at least one supervision step is needed");
    let b = batch.batch_size();
    let seq = batch.seq_len;
    let mut carry = model.initial_carry(b)?;
    let mut answers: Vec<Option<Prediction>> = vec![None; b];
    let mut exact_per_step = Vec::with_capacity(steps);
    for step in 1..=steps {
        let out = model.eval_step(&mut carry, batch)?;
        // Keep going past the training horizon: a slot is restarted only when marked halted.
        carry.halted.fill(false);
        let tokens = argmax_tokens(&out.logits)?;
        let q: Vec<f32> = out.q_halt_logits.to_vec1()?;
        let mut exact_now = 0;
        for r in 0..b {
            let row = &tokens[r * seq..(r + 1) * seq];
            let labels = &batch.labels[r * seq..(r + 1) * seq];
            let (valid, correct) = score(row, labels);
            let exact = valid == correct;
            if valid > 0 && exact {
                exact_now += 1;
            }
            let done = answers[r].is_some();
            if !done && (step == steps || (halt && q[r] > 0.0)) {
                answers[r] = Some(Prediction {
                    tokens: row.to_vec(),
                    confidence: sigmoid(q[r] as f64),
                    steps: step,
                    exact,
                });
            }
        }
        exact_per_step.push(exact_now);
    }
    Ok((
        answers.into_iter().map(|a| a.expect("every row answered at the last step")).collect(),
        exact_per_step,
    ))
}

/// Scores the predictions of the first `predictions.len()` examples of `test`, the test split
/// of the ARC dataset `dir` (see [`trm_data::arc::evaluate::is_arc_dataset`]): voted over augmentations by
/// [`ArcEvaluator`] (design 5.3) into pass@K for every K of [`PASS_KS`] and a submission of
/// [`SUBMISSION_ATTEMPTS`] attempts per test input. The confidence of a row is its
/// `sigmoid(q_halt)` at the step its answer was taken; the canvas is the square root of the
/// split's `seq_len` (30x30 officially).
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

/// Where `trm eval` writes an ARC `submission.json`: `given` (`--submission FILE`), else
/// `submission.json` in the run folder `run` (`--model RUN`); None without either.
pub fn submission_path(given: Option<&Path>, run: Option<&Path>) -> Option<PathBuf> {
    given.map(Path::to_path_buf).or_else(|| run.map(|r| r.join("submission.json")))
}

/// Argmax over the last axis of `[B, seq, vocab]` logits (first maximum on ties).
pub fn argmax_tokens(logits: &candle_core::Tensor) -> Result<Vec<u32>> {
    Ok(logits.argmax(candle_core::D::Minus1)?.flatten_all()?.to_vec1::<u32>()?)
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(solved: Option<f64>) -> EvalReport {
        EvalReport {
            count: 8,
            token_accuracy: 0.75,
            exact_accuracy: 0.25,
            q_halt_accuracy: 0.5,
            mean_steps: 3.5,
            exact_accuracy_per_step: vec![0.125, 0.25],
            solved_accuracy: solved,
        }
    }

    #[test]
    fn reports_print_as_json_and_tables() {
        let r = report(None);
        let json = r.to_json(false);
        assert_eq!(json["count"], 8);
        assert_eq!(json["exact_accuracy"], 0.25);
        assert!(
            json.get("solved_accuracy").is_none() && json.get("exact_accuracy_per_step").is_none()
        );
        let json = report(Some(0.5)).to_json(true);
        assert_eq!(
            (json["solved_accuracy"].as_f64(), json["exact_accuracy_per_step"][1].as_f64()),
            (Some(0.5), Some(0.25))
        );

        let table = r.table(true);
        assert!(
            table.starts_with(
                "examples         8\nexact accuracy   0.2500\ntoken accuracy   0.7500\n"
            ),
            "{table}"
        );
        assert!(
            table.ends_with(
                "mean steps       3.50\n\nstep  exact accuracy\n   1  0.1250\n   2  0.2500\n"
            ),
            "{table}"
        );
        assert!(report(Some(0.5))
            .table(false)
            .contains("solved accuracy  0.5000 (answers that are a valid shortest path)\n"));
    }

    #[test]
    fn per_step_curve_marks_the_training_horizon_inside_the_curve() {
        let r = report(None);
        assert_eq!(r.per_step_curve(1), (vec![(1, 0.125), (2, 0.25)], Some(1)));
        assert_eq!(r.per_step_curve(2).1, None);
    }

    #[test]
    fn held_out_summary_counts_puzzles() {
        assert_eq!(
            report(None).held_out_summary(),
            "Held-out puzzles: 2 of 8 solved exactly (25.0%), token accuracy 75.0%\n"
        );
        let maze = report(Some(0.5)).held_out_summary();
        assert!(maze.ends_with("not only the label's): 4 of 8 (50.0%)\n"), "{maze}");
    }

    #[test]
    fn submissions_go_where_asked_or_into_the_run() {
        let (file, run) = (Path::new("out/s.json"), Path::new("runs/arc"));
        assert_eq!(submission_path(Some(file), Some(run)), Some(file.to_path_buf()));
        assert_eq!(submission_path(None, Some(run)), Some(run.join("submission.json")));
        assert_eq!(submission_path(None, None), None);
    }
}
