//! Answering new puzzles with a trained model: rows of input tokens (no labels) run for a
//! number of supervision steps from a fresh carry, each answer taken at the last step or,
//! with halting, at the first step whose q_halt logit is positive. What `trm solve` uses for
//! Sudoku, mazes and ARC.

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
