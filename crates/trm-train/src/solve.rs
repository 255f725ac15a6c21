//! Answering new puzzles with a trained model: rows of input tokens (no labels) run for a
//! number of supervision steps from a fresh carry, each answer taken at the last step or,
//! with halting, at the first step whose q_halt logit is positive. What `trm solve` uses for
//! Sudoku, mazes and ARC ([`arc`]: task files under augmentations, voted).

pub mod arc;

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use trm_model::{Batch, Model, IGNORE_LABEL_ID};

use crate::eval::argmax_tokens;

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

/// A batch of same-length input rows with the given puzzle identifiers and no labels.
pub fn unlabelled_batch(rows: &[Vec<u8>], ids: &[u32]) -> Result<Batch> {
    ensure!(!rows.is_empty() && rows.len() == ids.len(), "one identifier per row is needed");
    let inputs: Vec<i32> = rows.iter().flatten().map(|&t| i32::from(t)).collect();
    let labels = vec![IGNORE_LABEL_ID; inputs.len()];
    Batch::new(inputs, labels, ids.iter().map(|&i| i as i32).collect(), rows[0].len())
}

/// Answers every row (`ids`: its puzzle identifier), `opts.batch_size` rows at a time.
pub fn answer_rows(
    model: &Model,
    rows: &[Vec<u8>],
    ids: &[u32],
    opts: &SolveOptions,
) -> Result<Vec<Answer>> {
    ensure!(opts.batch_size > 0, "the batch size must be at least 1");
    ensure!(rows.len() == ids.len(), "one identifier per row is needed");
    let mut out = Vec::with_capacity(rows.len());
    for (chunk, chunk_ids) in rows.chunks(opts.batch_size).zip(ids.chunks(opts.batch_size)) {
        out.extend(answer_batch(model, &unlabelled_batch(chunk, chunk_ids)?, opts)?);
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

    #[test]
    fn unlabelled_batches_carry_ids_and_ignore_labels() {
        let b = unlabelled_batch(&[vec![1, 2, 3], vec![4, 5, 6]], &[0, 7]).unwrap();
        assert_eq!(
            (b.inputs.as_slice(), b.puzzle_identifiers.as_slice()),
            (&[1, 2, 3, 4, 5, 6][..], &[0, 7][..])
        );
        assert!(b.labels.iter().all(|&l| l == IGNORE_LABEL_ID));
        assert_eq!((b.batch_size(), b.seq_len), (2, 3));
        assert!(unlabelled_batch(&[vec![1]], &[]).is_err());
    }

    #[test]
    fn answers_match_evaluation() {
        let model = tiny_model();
        let rows: Vec<Vec<u8>> =
            (0..3u8).map(|k| (0..16u8).map(|i| 1 + (i * 7 + k) % 5).collect()).collect();
        let ids = vec![0; rows.len()];
        for halt in [false, true] {
            let opts = SolveOptions { steps: 3, halt, batch_size: 2, keep_steps: true };
            let answers = answer_rows(&model, &rows, &ids, &opts).unwrap();
            let mut preds = Vec::new();
            for (chunk, chunk_ids) in rows.chunks(2).zip(ids.chunks(2)) {
                let batch = unlabelled_batch(chunk, chunk_ids).unwrap();
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
