//! Answering new puzzles with a trained model: rows of input tokens (no labels) run for a
//! number of supervision steps from a fresh carry, each answer taken at the last step or,
//! with halting, at the first step whose q_halt logit is positive.
//!
//! A [`Task`] says how one of its puzzles becomes rows, how the model's answers to those rows
//! become the task's answer, and whether that answer solves the puzzle; [`solve`] runs the
//! puzzles of any task through the model, batching rows across puzzles. `trm solve` uses it
//! for Sudoku ([`sudoku`]), mazes ([`maze`]) and ARC ([`arc`]: each test input answered under
//! augmentations, voted).

pub mod arc;
pub mod maze;
pub mod sudoku;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use trm_model::{Batch, Model, IGNORE_LABEL_ID};

use crate::eval::argmax_tokens;

/// A kind of puzzle a trained model answers: Sudoku, mazes, ARC.
pub trait Task {
    /// One puzzle as read.
    type Puzzle;
    /// The task's answer to one puzzle.
    type Answer;

    /// The rows the model answers for `puzzle`: one for Sudoku and mazes, one per augmented
    /// copy for an ARC test input.
    fn encode(&self, puzzle: &Self::Puzzle) -> Result<Vec<Row>>;

    /// The answer to `puzzle` from the model's answers to its rows (`answers[i]` answers
    /// `rows[i]`).
    fn decode(
        &self,
        puzzle: &Self::Puzzle,
        rows: &[Row],
        answers: &[Answer],
    ) -> Result<Self::Answer>;

    /// Whether `answer` solves `puzzle`, and if not, why.
    fn check(&self, puzzle: &Self::Puzzle, answer: &Self::Answer) -> Verdict;
}

/// One row of input tokens for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The puzzle identifier the model sees (0, the blank one, unless the model learned one
    /// for this puzzle).
    pub id: u32,
    /// The input tokens.
    pub tokens: Vec<u8>,
}

/// Whether an answer solves its puzzle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The answer solves the puzzle.
    pub solved: bool,
    /// What is right or wrong, in words (as `trm solve` prints it).
    pub text: String,
    /// Per cell of the answer, whether it is wrong (empty where the task marks no cells).
    pub wrong: Vec<bool>,
}

/// One puzzle answered: the task's answer, its verdict and the model's answers to its rows.
#[derive(Debug, Clone)]
pub struct Solved<A> {
    /// The task's answer.
    pub answer: A,
    /// Whether it solves the puzzle.
    pub verdict: Verdict,
    /// The model's answers to the puzzle's rows (steps, confidence, time).
    pub rows: Vec<Answer>,
}

/// Answers every puzzle of `task`: encodes them, runs their rows through the model
/// `opts.batch_size` at a time (a batch may hold rows of several puzzles), decodes and checks
/// each answer.
pub fn solve<T: Task>(
    model: &Model,
    task: &T,
    puzzles: &[T::Puzzle],
    opts: &SolveOptions,
) -> Result<Vec<Solved<T::Answer>>> {
    let mut rows = Vec::new();
    let mut counts = Vec::with_capacity(puzzles.len());
    for puzzle in puzzles {
        let encoded = task.encode(puzzle)?;
        counts.push(encoded.len());
        rows.extend(encoded);
    }
    let mut answers = answer_rows(model, &rows, opts)?.into_iter();
    let mut start = 0;
    let mut out = Vec::with_capacity(puzzles.len());
    for (puzzle, n) in puzzles.iter().zip(counts) {
        let model_answers: Vec<Answer> = answers.by_ref().take(n).collect();
        let answer = task.decode(puzzle, &rows[start..start + n], &model_answers)?;
        let verdict = task.check(puzzle, &answer);
        out.push(Solved { answer, verdict, rows: model_answers });
        start += n;
    }
    Ok(out)
}

/// How puzzles are answered.
#[derive(Debug, Clone, Copy)]
pub struct SolveOptions {
    /// Supervision steps (at least 1; more than in training is test-time recursion).
    pub steps: usize,
    /// Take each answer at the first step whose q_halt logit is positive.
    pub halt: bool,
    /// Rows the model answers at once.
    pub batch_size: usize,
    /// Keep the answer after every step (see [`Answer::per_step`]).
    pub keep_steps: bool,
}

/// The answer after one supervision step.
#[derive(Debug, Clone)]
pub struct StepAnswer {
    /// The predicted token at every position.
    pub tokens: Vec<u32>,
    /// The q_halt logit of the step (positive: the model would stop here).
    pub q_halt: f64,
}

/// The model's answer to one row.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The predicted token at every position, at the step the answer was taken.
    pub tokens: Vec<u32>,
    /// The supervision step the answer was taken at, from 1.
    pub steps: usize,
    /// sigmoid(q_halt) at that step.
    pub confidence: f64,
    /// Model time for this row: its share of its batch.
    pub time: Duration,
    /// The answer after every step up to `steps` (empty unless kept).
    pub per_step: Vec<StepAnswer>,
}

impl Answer {
    /// The tokens and q_halt logit after every kept step (as `trm_viz::terminal` draws them).
    pub fn per_step_tokens(&self) -> impl Iterator<Item = (&[u32], f64)> {
        self.per_step.iter().map(|s| (s.tokens.as_slice(), s.q_halt))
    }
}

/// Rows in the batch that answers row `index` of `count` rows answered `batch_size` at a
/// time (the last batch may be short).
pub fn batch_len(index: usize, count: usize, batch_size: usize) -> usize {
    batch_size.min(count - index / batch_size * batch_size)
}

/// Where the picture of puzzle `k` (from 0) of `count` goes: `out` for a single puzzle, else
/// `out` with `-k` (from 1) before its extension: `maze.png` -> `maze-2.png`.
pub fn picture_path(out: &Path, k: usize, count: usize) -> PathBuf {
    if count == 1 {
        return out.to_path_buf();
    }
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = out.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    out.with_file_name(format!("{stem}-{}{ext}", k + 1))
}

/// A batch of same-length input rows, with their puzzle identifiers and no labels.
pub fn unlabelled_batch(rows: &[Row]) -> Result<Batch> {
    ensure!(!rows.is_empty(), "a batch needs at least one row");
    let inputs: Vec<i32> = rows.iter().flat_map(|r| &r.tokens).map(|&t| i32::from(t)).collect();
    let labels = vec![IGNORE_LABEL_ID; inputs.len()];
    Batch::new(inputs, labels, rows.iter().map(|r| r.id as i32).collect(), rows[0].tokens.len())
}

/// Answers every row, `opts.batch_size` rows at a time.
pub fn answer_rows(model: &Model, rows: &[Row], opts: &SolveOptions) -> Result<Vec<Answer>> {
    ensure!(opts.batch_size > 0, "the batch size must be at least 1");
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(opts.batch_size) {
        out.extend(answer_batch(model, &unlabelled_batch(chunk)?, opts)?);
    }
    Ok(out)
}

/// Runs one batch from a fresh carry until every row has its answer (see [`SolveOptions`]).
pub fn answer_batch(model: &Model, batch: &Batch, opts: &SolveOptions) -> Result<Vec<Answer>> {
    ensure!(opts.steps >= 1, "at least one supervision step is needed");
    let (b, seq) = (batch.batch_size(), batch.seq_len);
    let start = Instant::now();
    let mut carry = model.initial_carry(b)?;
    let mut per_step: Vec<Vec<StepAnswer>> = vec![Vec::new(); b];
    let mut answers: Vec<Option<Answer>> = vec![None; b];
    for step in 1..=opts.steps {
        let out = model.eval_step(&mut carry, batch)?;
        // Go on past the training horizon: a slot is restarted only when marked halted.
        carry.halted.fill(false);
        let tokens = argmax_tokens(&out.logits)?;
        let q: Vec<f32> = out.q_halt_logits.to_vec1()?;
        for r in 0..b {
            if answers[r].is_some() {
                continue;
            }
            let row = tokens[r * seq..(r + 1) * seq].to_vec();
            let q_halt = q[r] as f64;
            if opts.keep_steps {
                per_step[r].push(StepAnswer { tokens: row.clone(), q_halt });
            }
            if step == opts.steps || (opts.halt && q_halt > 0.0) {
                answers[r] = Some(Answer {
                    tokens: row,
                    steps: step,
                    confidence: 1.0 / (1.0 + (-q_halt).exp()),
                    time: Duration::ZERO,
                    per_step: std::mem::take(&mut per_step[r]),
                });
            }
        }
        if answers.iter().all(Option::is_some) {
            break;
        }
    }
    let share = start.elapsed() / b as u32;
    Ok(answers
        .into_iter()
        .map(|a| Answer { time: share, ..a.expect("every row is answered at the last step") })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;
    use crate::eval::predict_batch;

    fn tiny_model() -> Model {
        let mut cfg = RunConfig::preset("sudoku4").unwrap().arch.with_dataset(6, 16, 1);
        cfg.hidden_size = 32;
        cfg.puzzle_emb_ndim = 32;
        cfg.validate().unwrap();
        Model::new(cfg, &candle_core::Device::Cpu, 0).unwrap()
    }

    /// The model's answer to a row with these tokens, taken at step 1.
    pub(super) fn row_answer(tokens: Vec<u32>) -> Answer {
        Answer { tokens, steps: 1, confidence: 0.5, time: Duration::ZERO, per_step: Vec::new() }
    }

    /// Puzzles of one to three rows each; the answer is the first token of every row.
    struct Rows;

    impl Task for Rows {
        type Puzzle = Vec<u8>;
        type Answer = Vec<u32>;
        fn encode(&self, puzzle: &Vec<u8>) -> Result<Vec<Row>> {
            Ok(puzzle.iter().map(|&t| Row { id: 0, tokens: vec![t; 16] }).collect())
        }
        fn decode(&self, puzzle: &Vec<u8>, rows: &[Row], answers: &[Answer]) -> Result<Vec<u32>> {
            assert_eq!((rows.len(), answers.len()), (puzzle.len(), puzzle.len()));
            assert!(rows.iter().zip(puzzle).all(|(r, &t)| r.tokens[0] == t));
            Ok(answers.iter().map(|a| a.tokens[0]).collect())
        }
        fn check(&self, puzzle: &Vec<u8>, answer: &Vec<u32>) -> Verdict {
            let solved = answer.len() == puzzle.len();
            Verdict { solved, text: String::new(), wrong: Vec::new() }
        }
    }

    #[test]
    fn puzzles_get_the_answers_to_their_own_rows() {
        let model = tiny_model();
        let puzzles = vec![vec![1, 2], vec![3], vec![4, 5, 1]];
        let opts = SolveOptions { steps: 2, halt: false, batch_size: 4, keep_steps: false };
        let solved = solve(&model, &Rows, &puzzles, &opts).unwrap();
        let rows: Vec<Row> = puzzles.iter().flat_map(|p| Rows.encode(p).unwrap()).collect();
        let answers = answer_rows(&model, &rows, &opts).unwrap();
        let mut k = 0;
        for (p, s) in puzzles.iter().zip(&solved) {
            assert!(s.verdict.solved && s.rows.len() == p.len());
            for (a, row) in s.answer.iter().zip(&s.rows) {
                assert_eq!((*a, &row.tokens), (answers[k].tokens[0], &answers[k].tokens));
                k += 1;
            }
        }
        assert!(solve(&model, &Rows, &[], &opts).unwrap().is_empty());
    }

    #[test]
    fn batches_and_pictures_are_numbered() {
        assert_eq!((0..5).map(|k| batch_len(k, 5, 2)).collect::<Vec<_>>(), [2, 2, 2, 2, 1]);
        assert_eq!(batch_len(0, 3, 256), 3);
        assert_eq!(picture_path(Path::new("out/m.png"), 1, 3), PathBuf::from("out/m-2.png"));
        assert_eq!(picture_path(Path::new("out/m.png"), 0, 1), PathBuf::from("out/m.png"));
    }

    #[test]
    fn unlabelled_batches_carry_ids_and_ignore_labels() {
        let rows = [Row { id: 0, tokens: vec![1, 2, 3] }, Row { id: 7, tokens: vec![4, 5, 6] }];
        let b = unlabelled_batch(&rows).unwrap();
        assert_eq!(
            (b.inputs.as_slice(), b.puzzle_identifiers.as_slice()),
            (&[1, 2, 3, 4, 5, 6][..], &[0, 7][..])
        );
        assert!(b.labels.iter().all(|&l| l == IGNORE_LABEL_ID));
        assert_eq!((b.batch_size(), b.seq_len), (2, 3));
        assert!(unlabelled_batch(&[]).is_err());
    }

    #[test]
    fn answers_match_evaluation() {
        let model = tiny_model();
        let rows: Vec<Row> = (0..3u8)
            .map(|k| Row { id: 0, tokens: (0..16u8).map(|i| 1 + (i * 7 + k) % 5).collect() })
            .collect();
        for halt in [false, true] {
            let opts = SolveOptions { steps: 3, halt, batch_size: 2, keep_steps: true };
            let answers = answer_rows(&model, &rows, &opts).unwrap();
            let mut preds = Vec::new();
            for chunk in rows.chunks(2) {
                let batch = unlabelled_batch(chunk).unwrap();
                preds.extend(predict_batch(&model, &batch, Some(3), halt).unwrap().0);
            }
            assert_eq!(answers.len(), 3);
            for (a, p) in answers.iter().zip(&preds) {
                assert_eq!((&a.tokens, a.steps), (&p.tokens, p.steps));
                assert!((a.confidence - p.confidence).abs() < 1e-12);
                assert_eq!(a.per_step.len(), a.steps);
                assert_eq!(a.per_step.last().unwrap().tokens, a.tokens);
                let first_halt = a.per_step.iter().position(|s| s.q_halt > 0.0);
                assert_eq!(a.steps, if halt { first_halt.map_or(3, |k| k + 1) } else { 3 });
            }
        }
    }
}
