//! ARC as a [`Task`] (`trm solve arc`): each test input of a task is answered under several
//! augmentations of the task, one row per copy; the answers are mapped back and voted as the
//! evaluator does ([`ArcEvaluator`]).
//!
//! Puzzle identifiers: a TRM model learns one embedding row per training puzzle (each
//! augmented copy of each task). A task in the run's dataset is answered under the run's own
//! augmentations of it, each with its learned identifier; a task the run never saw (or a
//! model without puzzle embedding) under augmentations drawn as `trm data arc --seed` would,
//! with the blank identifier 0.

use std::collections::BTreeMap;

use anyhow::{ensure, Result};
use trm_data::arc::augment::{known_augmentations, Augmentation};
use trm_data::arc::build::task_augmentations;
use trm_data::arc::check::verdict;
use trm_data::arc::encode::Canvas;
use trm_data::arc::evaluate::{ArcEvaluator, Candidate};
use trm_data::arc::{self, Grid};
use trm_data::dataset::BLANK_IDENTIFIER;
use trm_model::Model;

use super::{Answer, Row, Solved, Task, Verdict};

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

impl Copies {
    /// Which copies were answered, in words (`trm solve arc` says it after each task's name).
    pub fn describe(&self) -> String {
        match *self {
            Copies::Learned { used, total } => format!(
                "in the run's dataset; {used} of its {total} copies with their learned identifiers"
            ),
            Copies::Drawn { count, seed, has_embedding } => format!(
                "{}; {count} copies (the task and {} augmentations, seed {seed}) with the blank identifier 0",
                if has_embedding {
                    "not in the run's dataset"
                } else {
                    "the model has no puzzle embedding"
                },
                count - 1
            ),
        }
    }
}

/// The heading `trm solve arc` prints before a task's test inputs: its id, its pairs and the
/// copies answered.
pub fn task_heading(task: &arc::Task, copies: &Copies) -> String {
    format!(
        "== task {} ({} demonstration pairs, {} test inputs): {} ==",
        task.id,
        task.train.len(),
        task.test.len(),
        copies.describe()
    )
}

/// What `trm solve arc` says of the top `attempts` answers to one test input (`truth`: its
/// output, when the task file gives it): each attempt's votes and mean confidence, checked
/// against the truth, then the verdict.
pub fn attempt_lines(s: &Solved<Vec<Candidate>>, truth: Option<&Grid>, attempts: usize) -> String {
    let votes = s.rows.len();
    let mut out = String::new();
    for (j, c) in s.answer.iter().take(attempts).enumerate() {
        let check = truth.map(|t| format!("   {}", verdict(&c.grid, t))).unwrap_or_default();
        out += &format!(
            "attempt {}   {} of {votes} votes, mean confidence {:.3}{check}\n",
            j + 1,
            c.votes,
            c.mean_confidence()
        );
    }
    out + &s.verdict.text + "\n"
}

/// The closing line of `trm solve arc`: how many of the test inputs with a known output the top
/// `attempts` answers solved; None when no output is known.
pub fn summary(
    inputs: &[TestInput],
    solved: &[Solved<Vec<Candidate>>],
    attempts: usize,
) -> Option<String> {
    let known = inputs.iter().filter(|i| i.output.is_some()).count();
    let right = solved.iter().filter(|s| s.verdict.solved).count();
    (known > 0)
        .then(|| format!("{right} of {known} test inputs solved by the top {attempts} attempts"))
}

/// One test input of an ARC task, with the copies of the task it is answered under.
#[derive(Debug, Clone)]
pub struct TestInput {
    /// The id of the task.
    pub task: String,
    /// The test input.
    pub input: Grid,
    /// Its test output, when the task file gives it.
    pub output: Option<Grid>,
    /// The copies answered, the task itself first: the puzzle identifier the model sees and
    /// the augmentation.
    pub copies: Vec<(u32, Augmentation)>,
}

/// ARC test inputs on the model's canvas, counted solved when one of the top `attempts`
/// voted answers is the test output.
pub struct ArcTask {
    /// The model's canvas.
    pub canvas: Canvas,
    /// Attempts per test input (the ARC Prize allows 2).
    pub attempts: usize,
}

impl Task for ArcTask {
    type Puzzle = TestInput;
    /// The distinct answers, mapped back to the task, best first: by votes, then mean
    /// confidence.
    type Answer = Vec<Candidate>;

    fn encode(&self, input: &TestInput) -> Result<Vec<Row>> {
        Ok(input
            .copies
            .iter()
            .map(|(id, aug)| Row {
                id: *id,
                tokens: self.canvas.encode(&aug.apply(&input.input), 0, 0),
            })
            .collect())
    }

    fn decode(
        &self,
        input: &TestInput,
        rows: &[Row],
        answers: &[Answer],
    ) -> Result<Vec<Candidate>> {
        // The evaluator decodes augmentations from names: give it one name per copy (row
        // identifier j + 1), independent of the identifiers the model sees.
        let names: Vec<String> = std::iter::once(BLANK_IDENTIFIER.to_string())
            .chain(input.copies.iter().map(|(_, a)| a.name(&input.task)))
            .collect();
        let mut evaluator = ArcEvaluator::new(names, BTreeMap::new(), self.canvas);
        for (j, (row, a)) in rows.iter().zip(answers).enumerate() {
            let tokens: Vec<u8> = a.tokens.iter().map(|&t| t.min(u8::MAX as u32) as u8).collect();
            evaluator.add(j as u32 + 1, &row.tokens, &tokens, a.confidence)?;
        }
        Ok(evaluator.ranked(&input.task, &input.input))
    }

    /// Marks the cells of the first attempt that differ from the test output, when the two
    /// have the same size.
    fn check(&self, input: &TestInput, ranked: &Vec<Candidate>) -> Verdict {
        let Some(truth) = &input.output else {
            let text = "(the task file has no test output to check against)".to_string();
            return Verdict { solved: false, text, wrong: Vec::new() };
        };
        let top = &ranked[..self.attempts.min(ranked.len())];
        let solved = top.iter().any(|c| c.grid == *truth);
        let text = if solved {
            "SOLVED".to_string()
        } else {
            format!("not solved by the top {} attempts", top.len())
        };
        let wrong = match top.first() {
            Some(c) if (c.grid.rows(), c.grid.cols()) == (truth.rows(), truth.cols()) => {
                c.grid.cells().iter().zip(truth.cells()).map(|(a, b)| a != b).collect()
            }
            _ => Vec::new(),
        };
        Verdict { solved, text, wrong }
    }
}

impl ArcModel {
    /// Refuses a task whose test input is larger than the model's canvas; `source` names
    /// where the task came from in the error.
    pub fn check_fits(&self, task: &arc::Task, source: &str) -> Result<()> {
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

    /// The test inputs of `task`, each answered under `aug` copies besides the task itself
    /// (a known task: its first `aug` copies, default all; a new one: `aug` drawn from `seed`,
    /// default [`DEFAULT_NEW_TASK_AUG`]); also says which copies those are.
    pub fn test_inputs(
        &self,
        task: &arc::Task,
        aug: Option<usize>,
        seed: u64,
    ) -> Result<(Vec<TestInput>, Copies)> {
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
        let inputs = task
            .test
            .iter()
            .map(|pair| TestInput {
                task: task.id.clone(),
                input: pair.input.clone(),
                output: task.solutions_known.then(|| pair.output.clone()),
                copies: members.clone(),
            })
            .collect();
        Ok((inputs, copies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solve::tests::row_answer;
    use trm_data::dihedral::Dihedral;

    #[test]
    fn encodes_votes_and_checks() {
        let canvas = Canvas::new(4).unwrap();
        let grid = |rows: &[Vec<u8>]| Grid::from_rows(rows).unwrap();
        let (input, truth) = (grid(&[vec![1, 2], vec![3, 4]]), grid(&[vec![4, 3], vec![2, 1]]));
        let turned = Augmentation { dihedral: Dihedral::ALL[1], ..Augmentation::IDENTITY };
        let test_input = TestInput {
            task: "t".into(),
            input: input.clone(),
            output: Some(truth.clone()),
            copies: vec![(0, Augmentation::IDENTITY), (5, turned)],
        };
        let task = ArcTask { canvas, attempts: 1 };
        let rows = task.encode(&test_input).unwrap();
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [0, 5]);
        assert_eq!(rows[0].tokens, canvas.encode(&input, 0, 0));
        assert_eq!(rows[1].tokens, canvas.encode(&turned.apply(&input), 0, 0));

        // Each copy answers with the truth under its own augmentation: one answer, two votes.
        let answer = |aug: &Augmentation, grid: &Grid, confidence: f64| {
            let tokens = canvas.encode(&aug.apply(grid), 0, 0).into_iter().map(u32::from);
            Answer { confidence, ..row_answer(tokens.collect()) }
        };
        let right = [answer(&Augmentation::IDENTITY, &truth, 0.5), answer(&turned, &truth, 0.5)];
        let ranked = task.decode(&test_input, &rows, &right).unwrap();
        assert_eq!((ranked.len(), &ranked[0].grid, ranked[0].votes), (1, &truth, 2));
        let verdict = task.check(&test_input, &ranked);
        assert!(verdict.solved && verdict.text == "SOLVED", "{verdict:?}");
        assert_eq!(verdict.wrong, [false; 4]);

        // One vote each; the wrong answer is more confident, so it is the single attempt.
        let wrong = [answer(&Augmentation::IDENTITY, &input, 0.9), right[1].clone()];
        let ranked = task.decode(&test_input, &rows, &wrong).unwrap();
        assert_eq!((ranked.len(), &ranked[0].grid), (2, &input));
        let verdict = task.check(&test_input, &ranked);
        assert!(!verdict.solved && verdict.text == "not solved by the top 1 attempts");
        assert_eq!(verdict.wrong, [true; 4]);
        assert!(ArcTask { canvas, attempts: 2 }.check(&test_input, &ranked).solved);

        let unknown = TestInput { output: None, ..test_input };
        let verdict = task.check(&unknown, &ranked);
        assert!(!verdict.solved && verdict.text.contains("no test output"), "{verdict:?}");
    }

    #[test]
    fn copies_attempts_and_tasks_in_words() {
        let learned = Copies::Learned { used: 4, total: 9 };
        assert_eq!(
            learned.describe(),
            "in the run's dataset; 4 of its 9 copies with their learned identifiers"
        );
        let drawn = Copies::Drawn { count: 8, seed: 42, has_embedding: false };
        assert_eq!(drawn.describe(), "the model has no puzzle embedding; 8 copies (the task and 7 augmentations, seed 42) with the blank identifier 0");
        let grid = |rows: &[Vec<u8>]| Grid::from_rows(rows).unwrap();
        let (input, truth) = (grid(&[vec![1, 2]]), grid(&[vec![2, 1]]));
        let pair = arc::Pair { input: input.clone(), output: truth.clone() };
        let task = arc::Task {
            id: "t1".into(),
            train: vec![pair.clone(); 3],
            test: vec![pair],
            solutions_known: true,
        };
        assert_eq!(
            task_heading(&task, &learned),
            format!("== task t1 (3 demonstration pairs, 1 test inputs): {} ==", learned.describe())
        );

        let candidate = |grid: &Grid, votes, confidence_sum| Candidate {
            grid: grid.clone(),
            votes,
            confidence_sum,
        };
        let answer = vec![candidate(&input, 2, 1.5), candidate(&truth, 1, 0.25)];
        let verdict = Verdict { solved: true, text: "SOLVED".into(), wrong: Vec::new() };
        let solved = Solved { answer, verdict, rows: vec![row_answer(vec![]); 3] };
        assert_eq!(
            attempt_lines(&solved, Some(&truth), 2),
            "attempt 1   2 of 3 votes, mean confidence 0.750   wrong (2 of 2 cells differ)\n\
             attempt 2   1 of 3 votes, mean confidence 0.250   correct\nSOLVED\n"
        );
        assert_eq!(
            attempt_lines(&solved, None, 1),
            "attempt 1   2 of 3 votes, mean confidence 0.750\nSOLVED\n"
        );

        let test_input =
            TestInput { task: "t1".into(), input, output: Some(truth), copies: Vec::new() };
        let unknown = TestInput { output: None, ..test_input.clone() };
        let inputs = [test_input, unknown.clone()];
        let both = [
            solved.clone(),
            Solved { verdict: Verdict { solved: false, ..solved.verdict.clone() }, ..solved },
        ];
        assert_eq!(
            summary(&inputs, &both, 2).unwrap(),
            "1 of 1 test inputs solved by the top 2 attempts"
        );
        assert_eq!(summary(&[unknown], &both[1..], 2), None);
    }
}
