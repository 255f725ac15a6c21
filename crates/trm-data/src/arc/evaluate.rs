//! The ARC evaluator (design 5.3; official TRM `evaluators/arc.py`).
//!
//! For every test row the caller passes the puzzle identifier, the input tokens and the
//! predicted tokens (one canvas each: 900 tokens officially, `side * side` on a smaller
//! canvas) and the confidence `sigmoid(q_halt_logit)`. The evaluator crops both
//! grids at the EOS border, maps them back through the augmentation named by the puzzle's
//! identifier, and files the prediction as a vote under (original task, de-augmented input).
//! Per test input the distinct predicted grids are ranked by vote count, ties broken by mean
//! confidence (then by first appearance, as Python's stable sort does). pass@K counts a test
//! input solved when its target is among the top K; a task scores the fraction of its test
//! inputs solved and the result is the mean over the tasks of `test_puzzles.json`.
//!
//! Differences from the official evaluator: votes are kept per evaluator value, so a fresh
//! evaluator per evaluation gives per-checkpoint scores (the official one keeps voting across
//! evaluations unless `aggregated_voting=False`); a test input without any prediction still
//! gets a submission entry (attempts `[[0]]`) so the entries stay aligned with the inputs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{ensure, Context, Result};
use serde::Serialize;

use super::augment::Augmentation;
use super::build::TEST_PUZZLES_FILE;
use super::encode::Canvas;
use super::read::read_test_puzzles;
use super::{dummy_output, Grid, Task};
use crate::dataset::{Metadata, IDENTIFIERS_FILE, METADATA_FILE};

/// The K of the official pass@K report.
pub const PASS_KS: [usize; 6] = [1, 2, 5, 10, 100, 1000];
/// Attempts per test input in `submission.json` (ARC Prize: 2).
pub const SUBMISSION_ATTEMPTS: usize = 2;

/// One distinct predicted grid for one test input.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The predicted grid, cropped and mapped back to the original task (de-augmented).
    pub grid: Grid,
    /// Number of prediction rows that gave this grid.
    pub votes: u32,
    /// Sum of those rows' confidences, `sigmoid(q_halt_logit)`.
    pub confidence_sum: f64,
}

impl Candidate {
    /// Mean confidence of the votes (`confidence_sum / votes`), the tie-breaker of the ranking.
    pub fn mean_confidence(&self) -> f64 {
        self.confidence_sum / self.votes as f64
    }
}

/// Votes for one (task, input), in order of first appearance.
#[derive(Default)]
struct Ballot {
    candidates: Vec<Candidate>,
    index: HashMap<Grid, usize>,
}

/// `submission.json`: `{task: [{"attempt_1": grid, "attempt_2": grid}, ...one per test input]}`.
pub type Submission = BTreeMap<String, Vec<BTreeMap<String, Grid>>>;

/// Scores of one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArcScores {
    /// `(K, score)`: mean over tasks of the fraction of test inputs whose target is in the top K.
    pub pass_at: Vec<(usize, f64)>,
    /// Per task: the fraction of its test inputs solved at each K of `pass_at`.
    pub per_task: BTreeMap<String, Vec<f64>>,
    /// Number of tasks scored (those of `test_puzzles.json`).
    pub tasks: usize,
    /// Number of test inputs over those tasks.
    pub test_inputs: usize,
    /// Test inputs that received no prediction at all.
    pub inputs_without_predictions: usize,
    /// Prediction rows taken into account.
    pub rows: usize,
    /// The `submission.json` content (not serialised with the scores).
    #[serde(skip)]
    pub submission: Submission,
}

impl ArcScores {
    /// The score at `k`, if it was computed.
    pub fn pass(&self, k: usize) -> Option<f64> {
        self.pass_at.iter().find(|(kk, _)| *kk == k).map(|&(_, s)| s)
    }

    /// The `"arc"` object of `trm eval --json`: `pass@K` for every K, the counts, and the path
    /// `submission` was written to (null when none was).
    pub fn to_json(&self, submission: Option<&Path>) -> serde_json::Value {
        let mut obj = serde_json::json!({
            "tasks": self.tasks,
            "test_inputs": self.test_inputs,
            "inputs_without_predictions": self.inputs_without_predictions,
            "rows": self.rows,
            "submission": submission.map(|p| p.display().to_string()),
        });
        for &(k, s) in &self.pass_at {
            obj[format!("pass@{k}")] = serde_json::json!(s);
        }
        obj
    }

    /// The pass@K table `trm eval` prints after its usual metrics (it starts with an empty
    /// line), with where `submission` was written.
    pub fn table(&self, submission: Option<&Path>) -> String {
        let mut out = format!(
            "\nARC: {} tasks, {} test inputs, {} predictions voted (official evaluator: de-augment, vote, rank by votes then mean confidence)\n",
            self.tasks, self.test_inputs, self.rows
        );
        out += "     K  pass@K\n";
        for &(k, s) in &self.pass_at {
            out += &format!("{k:>6}  {s:.4}\n");
        }
        if self.inputs_without_predictions > 0 {
            out += &format!(
                "note: {} test inputs got no prediction (--limit?); they count as unsolved\n",
                self.inputs_without_predictions
            );
        }
        out += &match submission {
            Some(p) => format!(
                "submission (top {SUBMISSION_ATTEMPTS} attempts per test input): {}\n",
                p.display()
            ),
            None => "no submission.json written (give --submission FILE)\n".to_string(),
        };
        out
    }
}

/// Collects predictions and scores them; see the module documentation.
pub struct ArcEvaluator {
    identifiers: Vec<String>,
    blank_identifier: u32,
    canvas: Canvas,
    test_puzzles: BTreeMap<String, Task>,
    decoded: HashMap<u32, (String, Augmentation)>,
    ballots: HashMap<(String, Grid), Ballot>,
    rows: usize,
}

impl ArcEvaluator {
    /// An evaluator for the names of `identifiers.json` and the tasks of `test_puzzles.json`,
    /// for rows on `canvas`.
    pub fn new(
        identifiers: Vec<String>,
        test_puzzles: BTreeMap<String, Task>,
        canvas: Canvas,
    ) -> ArcEvaluator {
        ArcEvaluator {
            identifiers,
            blank_identifier: 0,
            canvas,
            test_puzzles,
            decoded: HashMap::new(),
            ballots: HashMap::new(),
            rows: 0,
        }
    }

    /// Reads `identifiers.json`, `test_puzzles.json`, and the blank identifier and the canvas
    /// (from `seq_len`) of `test/dataset.json` from an ARC dataset folder (without that file:
    /// identifier 0 and the official canvas).
    pub fn load(dir: &Path) -> Result<ArcEvaluator> {
        let id_path = dir.join(IDENTIFIERS_FILE);
        let text = std::fs::read_to_string(&id_path)
            .with_context(|| format!("{}: cannot read", id_path.display()))?;
        let identifiers: Vec<String> = serde_json::from_str(&text)
            .with_context(|| format!("{}: expected a JSON list of names", id_path.display()))?;
        let puzzles_path = dir.join(TEST_PUZZLES_FILE);
        ensure!(
            puzzles_path.is_file(),
            "{}: missing; the ARC evaluator needs the test_puzzles.json that `trm data arc` writes",
            puzzles_path.display()
        );
        let mut evaluator =
            ArcEvaluator::new(identifiers, read_test_puzzles(&puzzles_path)?, Canvas::OFFICIAL);
        let meta_path = dir.join("test").join(METADATA_FILE);
        if let Ok(text) = std::fs::read_to_string(&meta_path) {
            let meta: Metadata = serde_json::from_str(&text)
                .with_context(|| format!("{}: invalid", meta_path.display()))?;
            evaluator.blank_identifier = meta.blank_identifier_id;
            evaluator.canvas = Canvas::from_seq_len(meta.seq_len).with_context(|| {
                format!("{}: rebuild the dataset with `trm data arc`", meta_path.display())
            })?;
        }
        Ok(evaluator)
    }

    /// The tasks scored: those of `test_puzzles.json`, by task name.
    pub fn test_puzzles(&self) -> &BTreeMap<String, Task> {
        &self.test_puzzles
    }

    /// The canvas of the rows.
    pub fn canvas(&self) -> Canvas {
        self.canvas
    }

    /// Adds one prediction row: `input` and `prediction` are canvases ([`Self::canvas`]), `identifier`
    /// the row's puzzle identifier and `confidence` its `sigmoid(q_halt_logit)`. Rows with the
    /// blank identifier (batch padding) are ignored.
    pub fn add(
        &mut self,
        identifier: u32,
        input: &[u8],
        prediction: &[u8],
        confidence: f64,
    ) -> Result<()> {
        if identifier == self.blank_identifier {
            return Ok(());
        }
        let seq_len = self.canvas.seq_len();
        ensure!(
            input.len() == seq_len && prediction.len() == seq_len,
            "ARC rows on the {} canvas have {seq_len} tokens; got input {} and prediction {}",
            self.canvas,
            input.len(),
            prediction.len()
        );
        if !self.decoded.contains_key(&identifier) {
            let name = self.identifiers.get(identifier as usize).with_context(|| {
                format!(
                    "puzzle identifier {identifier} is beyond identifiers.json ({} names)",
                    self.identifiers.len()
                )
            })?;
            let (original, aug) = Augmentation::parse_name(name)?;
            self.decoded.insert(identifier, (original.to_string(), aug));
        }
        let (original, aug) = &self.decoded[&identifier];
        let input = aug.invert(&self.canvas.crop(input));
        let predicted = aug.invert(&self.canvas.crop(prediction));
        let ballot = self.ballots.entry((original.clone(), input)).or_default();
        match ballot.index.get(&predicted) {
            Some(&i) => {
                ballot.candidates[i].votes += 1;
                ballot.candidates[i].confidence_sum += confidence;
            }
            None => {
                ballot.index.insert(predicted.clone(), ballot.candidates.len());
                ballot.candidates.push(Candidate {
                    grid: predicted,
                    votes: 1,
                    confidence_sum: confidence,
                });
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// The distinct predictions for one test input of a task, best first: by votes, then
    /// mean confidence, then first appearance.
    pub fn ranked(&self, task: &str, input: &Grid) -> Vec<Candidate> {
        let Some(ballot) = self.ballots.get(&(task.to_string(), input.clone())) else {
            return Vec::new();
        };
        let mut ranked = ballot.candidates.clone();
        ranked.sort_by(|a, b| {
            b.votes.cmp(&a.votes).then(b.mean_confidence().total_cmp(&a.mean_confidence()))
        });
        ranked
    }

    /// pass@K for each of `pass_ks` and the submission with `attempts` grids per test input
    /// (the best ones, the first repeated when there are fewer).
    pub fn evaluate(&self, pass_ks: &[usize], attempts: usize) -> ArcScores {
        let mut totals = vec![0.0; pass_ks.len()];
        let mut per_task = BTreeMap::new();
        let mut submission = Submission::new();
        let (mut test_inputs, mut without) = (0, 0);
        for (name, task) in &self.test_puzzles {
            let mut solved = vec![0usize; pass_ks.len()];
            let mut entries = Vec::with_capacity(task.test.len());
            for pair in &task.test {
                test_inputs += 1;
                let ranked = self.ranked(name, &pair.input);
                if ranked.is_empty() {
                    without += 1;
                }
                for (k, count) in pass_ks.iter().zip(&mut solved) {
                    *count += ranked.iter().take(*k).any(|c| c.grid == pair.output) as usize;
                }
                let best: Vec<Grid> =
                    ranked.iter().take(attempts).map(|c| c.grid.clone()).collect();
                let first = best.first().cloned().unwrap_or_else(dummy_output);
                let entry = (0..attempts)
                    .map(|i| {
                        (
                            format!("attempt_{}", i + 1),
                            best.get(i).cloned().unwrap_or_else(|| first.clone()),
                        )
                    })
                    .collect();
                entries.push(entry);
            }
            let fractions: Vec<f64> =
                solved.iter().map(|&s| s as f64 / task.test.len() as f64).collect();
            for (t, f) in totals.iter_mut().zip(&fractions) {
                *t += f;
            }
            per_task.insert(name.clone(), fractions);
            submission.insert(name.clone(), entries);
        }
        let tasks = self.test_puzzles.len();
        ArcScores {
            pass_at: pass_ks
                .iter()
                .zip(totals)
                .map(|(&k, t)| (k, if tasks == 0 { 0.0 } else { t / tasks as f64 }))
                .collect(),
            per_task,
            tasks,
            test_inputs,
            inputs_without_predictions: without,
            rows: self.rows,
            submission,
        }
    }
}

/// Whether `dir` is an ARC dataset that the evaluator can score (it has the
/// `test_puzzles.json` that `trm data arc` writes).
pub fn is_arc_dataset(dir: &Path) -> bool {
    dir.join(TEST_PUZZLES_FILE).is_file()
}

/// Writes `submission.json` in the ARC Prize format, creating its folder.
pub fn write_submission(path: &Path, submission: &Submission) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder for --submission", dir.display()))?;
    }
    let text = serde_json::to_string(submission)?;
    std::fs::write(path, text)
        .with_context(|| format!("{}: cannot write submission", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(without: usize) -> ArcScores {
        ArcScores {
            pass_at: vec![(1, 0.5), (2, 0.75)],
            per_task: BTreeMap::new(),
            tasks: 2,
            test_inputs: 3,
            inputs_without_predictions: without,
            rows: 12,
            submission: Submission::new(),
        }
    }

    #[test]
    fn scores_print_as_json_and_a_table() {
        let json = scores(0).to_json(Some(Path::new("runs/arc/submission.json")));
        assert_eq!((json["pass@1"].as_f64(), json["pass@2"].as_f64()), (Some(0.5), Some(0.75)));
        assert_eq!((json["tasks"].as_u64(), json["rows"].as_u64()), (Some(2), Some(12)));
        assert_eq!(json["submission"], "runs/arc/submission.json");
        assert!(scores(0).to_json(None)["submission"].is_null());

        let table = scores(1).table(None);
        assert!(
            table.starts_with("\nARC: 2 tasks, 3 test inputs, 12 predictions voted"),
            "{table}"
        );
        assert!(table.contains("     K  pass@K\n     1  0.5000\n     2  0.7500\n"), "{table}");
        assert!(table.contains("note: 1 test inputs got no prediction"), "{table}");
        assert!(table.ends_with("no submission.json written (give --submission FILE)\n"));
        let table = scores(0).table(Some(Path::new("s.json")));
        assert!(
            !table.contains("note:") && table.ends_with("per test input): s.json\n"),
            "{table}"
        );
    }
}
