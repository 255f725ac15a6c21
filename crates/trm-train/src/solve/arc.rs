//! Answering ARC tasks with a trained model (`trm solve arc`): each test input is answered
//! under several augmentations of the task, the answers are mapped back and voted as the
//! evaluator does ([`ArcEvaluator`]).
//!
//! Puzzle identifiers: a TRM model learns one embedding row per training puzzle (each
//! augmented copy of each task). A task in the run's dataset is answered under the run's own
//! augmentations of it, each with its learned identifier; a task the run never saw (or a
//! model without puzzle embedding) under augmentations drawn as `trm data arc --seed` would,
//! with the blank identifier 0.

use std::collections::BTreeMap;

use anyhow::{ensure, Result};
use trm_data::arc::augment::known_augmentations;
use trm_data::arc::build::{encode_test_inputs, task_augmentations};
use trm_data::arc::encode::Canvas;
use trm_data::arc::evaluate::{ArcEvaluator, Candidate};
use trm_data::arc::Task;
use trm_data::dataset::BLANK_IDENTIFIER;
use trm_model::Model;

use super::{answer_rows, SolveOptions};

/// Augmentations drawn for a task the run does not know, when no number is given.
pub const DEFAULT_NEW_TASK_AUG: usize = 7;

/// An ARC model with the puzzle names of its dataset and its canvas
/// ([`crate::run_dir::RunDir::load_arc_model`]).
pub struct ArcModel {
    /// The model.
    pub model: Model,
    /// The names of the dataset's puzzle identifiers (`identifiers.json`; empty without it).
    pub identifiers: Vec<String>,
    /// The token canvas of the model (the square root of its `seq_len`).
    pub canvas: Canvas,
    /// What loading found that the user may want to know (a missing `identifiers.json`).
    pub notes: Vec<String>,
}

/// Which copies of a task were answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copies {
    /// The task is in the run's dataset: `used` of its `total` copies (the task and its
    /// augmentations), each with its learned identifier.
    Learned {
        /// Copies answered.
        used: usize,
        /// Copies in the dataset.
        total: usize,
    },
    /// The task and `count - 1` augmentations drawn from `seed`, with the blank identifier 0:
    /// the task is not in the run's dataset, or the model has no puzzle embedding.
    Drawn {
        /// Copies answered, the task itself included.
        count: usize,
        /// Seed of the augmentations.
        seed: u64,
        /// Whether the model has a puzzle embedding.
        has_embedding: bool,
    },
}

/// What one test input got: its candidates, best first, and the number of rows voted.
pub struct InputAnswer {
    /// Distinct answers, ranked by votes, then mean confidence.
    pub ranked: Vec<Candidate>,
    /// Rows (copies of the task) that voted.
    pub rows: usize,
}

impl ArcModel {
    /// Refuses a task whose test input is larger than the model's canvas; `source` names
    /// where the task came from in the error.
    pub fn check_fits(&self, task: &Task, source: &str) -> Result<()> {
        for (i, pair) in task.test.iter().enumerate() {
            ensure!(
                self.canvas.fits(&pair.input),
                "{source}: task {} test input {} is {}, larger than the model's {} canvas (seq_len {})",
                task.id,
                i + 1,
                pair.input.dims(),
                self.canvas,
                self.canvas.seq_len()
            );
        }
        Ok(())
    }

    /// Answers every test input of `task` under `aug` augmentations (a known task: its first
    /// `aug` copies besides itself, default all; a new one: `aug` drawn from `seed`, default
    /// [`DEFAULT_NEW_TASK_AUG`]) and votes; also says which copies were used.
    pub fn answer_task(
        &self,
        task: &Task,
        aug: Option<usize>,
        seed: u64,
        opts: &SolveOptions,
    ) -> Result<(Vec<InputAnswer>, Copies)> {
        let known = known_augmentations(&self.identifiers, &task.id)?;
        let has_embedding = self.model.config().puzzle_emb_ndim > 0;
        let (members, copies) = if !known.is_empty() && has_embedding {
            let total = known.len();
            let used = aug.map_or(total, |n| (n + 1).min(total));
            (known.into_iter().take(used).collect::<Vec<_>>(), Copies::Learned { used, total })
        } else {
            let augs = task_augmentations(task, aug.unwrap_or(DEFAULT_NEW_TASK_AUG), seed);
            let copies = Copies::Drawn { count: augs.len(), seed, has_embedding };
            (augs.into_iter().map(|a| (0u32, a)).collect(), copies)
        };
        // The evaluator decodes augmentations from names: give it one name per copy (row
        // identifier j + 1), independent of the identifiers the model sees.
        let names: Vec<String> = std::iter::once(BLANK_IDENTIFIER.to_string())
            .chain(members.iter().map(|(_, a)| a.name(&task.id)))
            .collect();
        let mut evaluator = ArcEvaluator::new(
            names,
            BTreeMap::from([(task.id.clone(), task.clone())]),
            self.canvas,
        );
        // One row per (copy, test input).
        let (mut copy_of_row, mut ids, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for (j, (model_id, a)) in members.iter().enumerate() {
            for input in encode_test_inputs(task, a, self.canvas) {
                copy_of_row.push(j as u32 + 1);
                ids.push(*model_id);
                rows.push(input);
            }
        }
        let answers = answer_rows(&self.model, &rows, &ids, opts)?;
        for ((copy, input), a) in copy_of_row.iter().zip(&rows).zip(answers) {
            let tokens: Vec<u8> = a.tokens.iter().map(|&t| t.min(u8::MAX as u32) as u8).collect();
            evaluator.add(*copy, input, &tokens, a.confidence)?;
        }
        let answers = task
            .test
            .iter()
            .map(|pair| InputAnswer {
                ranked: evaluator.ranked(&task.id, &pair.input),
                rows: members.len(),
            })
            .collect();
        Ok((answers, copies))
    }
}
