//! The training loop (design 3), readable top to bottom.
//!
//! One optimizer step per supervision step: the ACT carry of B slots persists across
//! batches; halted slots take the next batch's row and restart, running slots keep their
//! example (3.1). The loss over all slots, divided by the global batch size, is
//! back-propagated; Adam-atan2 updates the dense weights, sign-SGD the puzzle-embedding rows
//! of the batch, the EMA follows. Every `eval_interval` epochs the EMA weights are
//! evaluated on the test split, saved as `model.safetensors`, and a checkpoint is written.
//!
//! A run folder holds `config.toml` (fully resolved), `metrics.jsonl`, `model.safetensors`,
//! `checkpoints/step_N.safetensors` (last two kept) and, for generated data, `data/`.
//! A run started from other weights (`--init-from`) also holds `init.json`.
//! A checkpoint holds everything needed to continue exactly: weights, EMA, Adam moments,
//! the puzzle table, the carry, the sampler position and the exploration RNG.

use crate::checkpoint::{self, Checkpoint};
use crate::collective::{all_gather_u128, Collective, Single};
use crate::config::{GenerateSpec, RunConfig};
use crate::distributed;
use crate::eval::{self, EvalOptions, EvalReport};
use crate::generated;
pub use crate::generated::ensure_generated_data;
use crate::init::{self, InitReport};
use crate::optim;
use crate::path_labels::{check_maze_vocab, maze_columns, PathLabels};
use crate::run_dir::{RunDir, RunLock};
use crate::sampler;
use crate::step::{self, Optimizers, UpdateRates};
use anyhow::{bail, ensure, Context, Result};
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trm_data::dataset::{Dataset, Split};
use trm_model::{Batch, Carry, Model};

/// The run's resolved configuration, in the run folder.
pub const CONFIG_FILE: &str = "config.toml";
/// The log of training and evaluation metrics ([`MetricsLine`]), one JSON object a line.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The model weights, written at every evaluation (the EMA weights when `ema` is on).
pub const MODEL_FILE: &str = "model.safetensors";
/// The folder of the run's checkpoints (`step_N.safetensors`).
pub const CHECKPOINT_DIR: &str = "checkpoints";
/// Checkpoints kept in a run folder (the newest ones).
const KEEP_CHECKPOINTS: usize = 2;

/// One line of `metrics.jsonl`. Training lines have `split = "train"`; evaluation lines
/// `split = "eval"` and the evaluation metrics.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsLine {
    /// `"train"` or `"eval"`.
    pub split: &'static str,
    /// Optimizer steps done when the line was written.
    pub step: u64,
    /// Epochs done, fractional: examples trained on over the examples of one epoch.
    pub epoch: f64,
    /// Wall time of the run so far in seconds, earlier processes of a resumed run included.
    pub elapsed_s: f64,
    /// Train lines: the learning rate of the dense weights at the last step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Train lines: language-model loss per example of the global batch, mean over the steps
    /// since the previous line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lm_loss: Option<f64>,
    /// Train lines: the q_halt loss, reduced as `lm_loss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q_halt_loss: Option<f64>,
    /// Train lines of runs with a Q-continue target (HRM): its loss, reduced as `lm_loss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q_continue_loss: Option<f64>,
    /// Token accuracy: mean over the counted examples of the share of valid tokens right.
    pub accuracy: f64,
    /// Exact accuracy: share of the counted examples with every token right.
    pub exact_accuracy: f64,
    /// Share of the counted examples where the halting call (q_halt logit >= 0) matches
    /// whether the answer is exactly right.
    pub q_halt_accuracy: f64,
    /// Mean supervision steps of the counted examples.
    pub steps: f64,
    /// Examples counted: in train lines those that halted since the previous line, in eval
    /// lines the test examples scored.
    pub count: usize,
    /// Train lines: examples (carry slots of all ranks) stepped per second since the
    /// previous line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examples_per_s: Option<f64>,
    /// Evaluations of maze splits: answers that are a valid shortest path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solved_accuracy: Option<f64>,
}

/// What the loop tells its caller (the CLI draws a progress bar from these).
pub enum Event<'a> {
    /// Training starts, or resumes from a checkpoint.
    Started {
        /// Optimizer steps of the whole run.
        total_steps: u64,
        /// Steps already done: 0 for a new run, the checkpoint's step when resumed.
        start_step: u64,
        /// Trainable parameters of the model (without the puzzle-embedding table).
        num_params: usize,
        /// Examples in the training split.
        train_examples: usize,
        /// Examples in the test split (0 without one).
        test_examples: usize,
        /// The dtype the model computes in (`f32`, `bf16`).
        dtype: &'static str,
    },
    /// A training line was appended to `metrics.jsonl` (every `log_interval` steps).
    Step(&'a MetricsLine),
    /// Progress of an evaluation, after each batch.
    EvalProgress {
        /// Test examples evaluated so far.
        done: usize,
        /// Test examples this evaluation covers.
        total: usize,
    },
    /// An evaluation line was appended to `metrics.jsonl`.
    Eval(&'a MetricsLine),
    /// A checkpoint was written at this path.
    Checkpoint(&'a Path),
}

impl Event<'_> {
    /// What a person is told of the event: the run's sizes when it starts, a training line's
    /// figures (for beside a progress bar), the evaluation's progress and its results, the
    /// checkpoint written.
    pub fn message(&self) -> String {
        match self {
            Event::Started {
                total_steps,
                num_params,
                train_examples,
                test_examples,
                dtype,
                ..
            } => {
                format!("{num_params} parameters, computing in {dtype}; {train_examples} training examples, {test_examples} test examples; {total_steps} steps")
            }
            Event::Step(m) => format!(
                "epoch {:.1} loss {:.4} exact {:.3} steps {:.1} {:.0} ex/s",
                m.epoch,
                m.lm_loss.unwrap_or(f64::NAN),
                m.exact_accuracy,
                m.steps,
                m.examples_per_s.unwrap_or(0.0)
            ),
            Event::EvalProgress { done, total } => format!("evaluating {done}/{total}"),
            Event::Eval(m) => {
                let solved = m
                    .solved_accuracy
                    .map(|a| format!(", solved (any shortest path) {a:.4}"))
                    .unwrap_or_default();
                format!(
                    "eval at step {}: exact accuracy {:.4}{solved}, token accuracy {:.4}, q_halt accuracy {:.4} over {} examples ({:.0}s)",
                    m.step, m.exact_accuracy, m.accuracy, m.q_halt_accuracy, m.count, m.elapsed_s
                )
            }
            Event::Checkpoint(path) => format!("checkpoint {}", path.display()),
        }
    }
}

/// The run being trained: model, optimizers, EMA, carry, sampler position, RNG.
pub struct Trainer {
    /// The run's configuration, with the model sizes its dataset gave.
    pub config: RunConfig,
    /// The run folder.
    pub run_dir: PathBuf,
    /// The model, holding the live (trained) weights.
    pub model: Model,
    train: Split,
    test: Option<Split>,
    opt: Optimizers,
    carry: Carry,
    /// Optimizer steps done.
    step: u64,
    total_steps: u64,
    /// Sampler position: the iteration in progress (from 1) and its next batch.
    iteration: u64,
    batch_in_iteration: usize,
    /// Halting exploration draws.
    explore_rng: ChaCha8Rng,
    /// Wall time of the run before this process (resumed runs).
    elapsed_before: f64,
    started: Instant,
    /// The ranks of a data-parallel run ([`Single`] unless [`Self::join_ranks`]); `carry`
    /// then holds this rank's slots only.
    dist: Box<dyn Collective>,
    /// This rank's rows of every global batch (design 3.6).
    rows: Range<usize>,
    /// Every rank's exploration-generator position in the checkpoint resumed from.
    restored_rng_positions: Vec<u128>,
    /// Online data (`[data.generate] online`): the spec, and the iteration whose fresh
    /// puzzles `train` holds.
    online: Option<GenerateSpec>,
    train_iteration: u64,
    /// Held while this process trains in `run_dir` (the process that created or resumed it).
    lock: Option<RunLock>,
    /// The maze grids' columns when `path_labels = "nearest"` relabels each step.
    nearest_path_columns: Option<usize>,
}

/// Removes what killed writers left in a run folder and its checkpoints (temporary files of
/// atomic writes), saying so.
fn clean_stale_temporaries(run_dir: &Path) -> Result<()> {
    for dir in [run_dir.to_path_buf(), run_dir.join(CHECKPOINT_DIR)] {
        for path in trm_data::atomic::remove_stale_temporaries(&dir)? {
            eprintln!(
                "removed {}, left by a process that was stopped while writing",
                path.display()
            );
        }
    }
    Ok(())
}

/// Where the data of a run lives: the configured path, or `RUN/data` for generated data.
pub fn data_dir(config: &RunConfig, run_dir: &Path) -> PathBuf {
    if config.data.path.as_os_str().is_empty() {
        run_dir.join("data")
    } else {
        config.data.path.clone()
    }
}

impl Trainer {
    /// Starts a new run in `run_dir` (created; must not already hold a run).
    pub fn create(config: RunConfig, run_dir: &Path, device: &Device) -> Result<Self> {
        Self::create_with_init(config, run_dir, device, None).map(|(trainer, _)| trainer)
    }

    /// [`Self::create`], starting from the weights `init_from` names instead of a fresh
    /// initialisation (fine-tuning; [`crate::init`] says what is accepted).
    pub fn create_with_init(
        config: RunConfig,
        run_dir: &Path,
        device: &Device,
        init_from: Option<&Path>,
    ) -> Result<(Self, Option<InitReport>)> {
        config.validate()?;
        ensure!(
            !run_dir.join(CONFIG_FILE).exists(),
            "{} already holds a run; continue it with --resume {0} or choose another --out",
            run_dir.display()
        );
        std::fs::create_dir_all(run_dir)
            .with_context(|| format!("creating {}", run_dir.display()))?;
        let lock = RunLock::acquire(run_dir)?;
        ensure!(
            !run_dir.join(CONFIG_FILE).exists(),
            "{} already holds a run; continue it with --resume {0} or choose another --out",
            run_dir.display()
        );
        clean_stale_temporaries(run_dir)?;
        let dir = data_dir(&config, run_dir);
        ensure_generated_data(&config, &dir)?;
        let dataset = Dataset::load(&dir)?;
        let train = dataset
            .train
            .with_context(|| format!("{}: the dataset has no train split", dir.display()))?;
        let meta = &train.meta;
        let arch = config.arch.clone().with_dataset(
            meta.vocab_size as usize,
            meta.seq_len,
            meta.num_puzzle_identifiers as usize,
        );
        let mut config = config;
        config.arch = arch;
        config.validate()?;
        let mut model = Model::new(config.arch.clone(), device, config.train.seed)?;
        let init = init_from.map(|path| init::load_into(&mut model, path)).transpose()?;
        checkpoint::write_atomically(&run_dir.join(CONFIG_FILE), config.to_toml()?.as_bytes())?;
        let _ = std::fs::remove_file(run_dir.join(METRICS_FILE));
        if let Some(report) = &init {
            report.write(run_dir)?;
        }
        let mut trainer = Self::assemble(config, run_dir, model, train, dataset.test)?;
        trainer.lock = Some(lock);
        Ok((trainer, init))
    }

    fn assemble(
        config: RunConfig,
        run_dir: &Path,
        model: Model,
        train: Split,
        test: Option<Split>,
    ) -> Result<Self> {
        let t = &config.train;
        let online = config
            .data
            .generate
            .clone()
            .filter(|g| g.online && config.data.path.as_os_str().is_empty());
        let total_steps = sampler::total_steps(
            t.epochs,
            train.meta.total_groups,
            train.meta.mean_puzzle_examples,
            t.global_batch_size,
        );
        ensure!(
            total_steps > 0 && train.num_examples() >= t.global_batch_size,
            "the training split has {} examples in {} groups: too few for global_batch_size {} (lower it with --set global_batch_size=N)",
            train.num_examples(),
            train.meta.total_groups,
            t.global_batch_size
        );
        let nearest_path_columns = match t.path_labels {
            PathLabels::Dataset => None,
            PathLabels::Nearest => {
                check_maze_vocab(train.meta.vocab_size as usize)?;
                Some(maze_columns(train.meta.seq_len, config.arch.grid_width)?)
            }
        };
        let opt = Optimizers::new(t, &model)?;
        let carry = model.initial_carry(t.global_batch_size)?;
        Ok(Self {
            nearest_path_columns,
            opt,
            explore_rng: exploration_rng(t.seed, 0),
            dist: Box::new(Single),
            rows: 0..t.global_batch_size,
            restored_rng_positions: Vec::new(),
            online,
            train_iteration: 1,
            lock: None,
            carry,
            step: 0,
            total_steps,
            iteration: 1,
            batch_in_iteration: 0,
            elapsed_before: 0.0,
            started: Instant::now(),
            run_dir: run_dir.to_path_buf(),
            model,
            train,
            test,
            config,
        })
    }

    /// Continues the run in `run_dir` from its newest complete checkpoint. `expected`, when
    /// given, must equal the run's configuration unless `force`.
    pub fn resume(
        run_dir: &Path,
        expected: Option<&RunConfig>,
        force: bool,
        device: &Device,
    ) -> Result<Self> {
        let mut config = RunDir::open(run_dir)?.config;
        let lock = RunLock::acquire(run_dir)?;
        clean_stale_temporaries(run_dir)?;
        let mut changed = false;
        if let Some(want) = expected {
            let mut want = want.clone();
            want.arch = want.arch.with_dataset(
                config.arch.vocab_size,
                config.arch.seq_len,
                config.arch.num_puzzle_identifiers,
            );
            if want != config {
                if !force {
                    bail!(
                        "the configuration given differs from the run's ({}); resume without --preset/--config/--set, or add --force to continue with the new one",
                        run_dir.join(CONFIG_FILE).display()
                    );
                }
                ensure!(
                    want.arch == config.arch,
                    "--force cannot change the model ([arch]) of a run; start a new run instead"
                );
                config = want;
                changed = true;
            }
        }
        let mut trainer = Self::open_existing(config, run_dir, device)?;
        trainer.lock = Some(lock);
        let checkpoints = checkpoint::list(&run_dir.join(CHECKPOINT_DIR))?;
        ensure!(!checkpoints.is_empty(), "{}: no checkpoint to resume from (none was written before the run stopped); start it again", run_dir.display());
        // The newest checkpoint that reads back (a damaged one is skipped, saying why).
        let mut damaged = Vec::new();
        let Some((path, ck)) =
            checkpoints.iter().rev().find_map(|(_, path)| match Checkpoint::load(path, device) {
                Ok(ck) => Some((path, ck)),
                Err(e) => {
                    eprintln!("warning: skipping checkpoint {}: {e:#}", path.display());
                    damaged.push(format!("{e:#}"));
                    None
                }
            })
        else {
            bail!("{}: none of its checkpoints can be read, so the run cannot continue; start it again. {}", run_dir.display(), damaged.join("; "));
        };
        trainer.restore(&ck, !changed).with_context(|| format!("restoring {}", path.display()))?;
        if changed {
            checkpoint::write_atomically(
                &run_dir.join(CONFIG_FILE),
                trainer.config.to_toml()?.as_bytes(),
            )?;
        }
        truncate_metrics(&run_dir.join(METRICS_FILE), trainer.step)?;
        Ok(trainer)
    }

    /// A trainer for an existing run folder's configuration: its data loaded, a fresh model
    /// (the caller restores a checkpoint into it).
    fn open_existing(config: RunConfig, run_dir: &Path, device: &Device) -> Result<Self> {
        let dir = data_dir(&config, run_dir);
        let dataset = Dataset::load(&dir)?;
        let train = dataset
            .train
            .with_context(|| format!("{}: the dataset has no train split", dir.display()))?;
        let model = Model::new(config.arch.clone(), device, config.train.seed)?;
        Self::assemble(config, run_dir, model, train, dataset.test)
    }

    /// Opens the run in `run_dir` as a rank other than 0 of a data-parallel run, once rank 0
    /// has created or resumed it: reads the configuration, the data and the checkpoint rank 0
    /// resumed from (the newest readable one), writes nothing. [`Self::join_ranks`] follows.
    pub fn open_for_rank(run_dir: &Path, device: &Device) -> Result<Self> {
        let config = RunDir::open(run_dir)
            .context("the other ranks open the folder rank 0 created: it must be on a filesystem they share")?
            .config;
        let mut trainer = Self::open_existing(config, run_dir, device)?;
        let checkpoints = checkpoint::list(&run_dir.join(CHECKPOINT_DIR))?;
        if let Some((path, ck)) = checkpoints
            .iter()
            .rev()
            .find_map(|(_, path)| Some((path, Checkpoint::load(path, device).ok()?)))
        {
            trainer.restore(&ck, false).with_context(|| format!("restoring {}", path.display()))?;
        }
        Ok(trainer)
    }

    /// This rank's trainer of a data-parallel run (design 3.7; docs/distributed.md): rank 0
    /// opens the run with `open_on_rank_0` (creating or resuming it), the other ranks with
    /// [`Self::open_for_rank`] once rank 0 has; every rank learns whether rank 0 could start,
    /// so none waits for it forever; then every rank joins ([`Self::join_ranks`]). `given`, the
    /// configuration asked for, is checked on every rank before rank 0 writes anything.
    pub fn open_ranked(
        run_dir: &Path,
        device: &Device,
        dist: Box<dyn Collective>,
        given: Option<&RunConfig>,
        open_on_rank_0: impl FnOnce() -> Result<Trainer>,
    ) -> Result<Trainer> {
        let rank = dist.rank();
        if let Some(cfg) = given {
            // Before anything is written (every rank fails alike).
            distributed::rank_rows(cfg.train.global_batch_size, rank, dist.world_size())?;
        }
        let opened = (rank == 0).then(open_on_rank_0);
        let mut failed = [opened.as_ref().is_some_and(|r| r.is_err()) as u8 as f32];
        dist.all_reduce_sum(&mut failed)?;
        let trainer = match opened {
            Some(result) => result?,
            None if failed[0] > 0.0 => {
                bail!("rank {rank}: rank 0 could not start the run (see its error)")
            }
            None => Trainer::open_for_rank(run_dir, device)?,
        };
        trainer.join_ranks(dist)
    }

    /// Makes this trainer rank `dist.rank()` of a data-parallel run (design 3.7): it takes
    /// rank 0's weights, keeps the carry slots of its rows of the global batch and draws halting
    /// exploration from its own stream. Every rank calls it once, rank 0 after creating or
    /// resuming the run, the others after [`Self::open_for_rank`]. Only rank 0 writes files.
    pub fn join_ranks(mut self, dist: Box<dyn Collective>) -> Result<Self> {
        let (rank, world) = (dist.rank(), dist.world_size());
        let t = &self.config.train;
        let rows = distributed::rank_rows(t.global_batch_size, rank, world)?;
        let steps = all_gather_u128(&*dist, self.step as u128)?;
        if let Some(r) = steps.iter().position(|&s| s != steps[0]) {
            bail!("rank {r} opened the run at step {} but rank 0 at step {}: every rank must see the same run folder and checkpoint", steps[r], steps[0]);
        }
        distributed::broadcast_model(&mut self.model, self.opt.ema.as_mut(), &*dist)?;
        self.carry = distributed::slice_carry(&self.carry, rows.clone(), self.model.device())?;
        if rank > 0 {
            // Rank 0 keeps the stream (and position) of a single process.
            self.explore_rng = exploration_rng(t.seed, rank);
            if self.restored_rng_positions.len() == world {
                self.explore_rng.set_word_pos(self.restored_rng_positions[rank]);
            }
        }
        self.dist = dist;
        self.rows = rows;
        Ok(self)
    }

    /// Optimizer steps done so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Optimizer steps of the whole run: `epochs` passes over the training data at
    /// `global_batch_size` examples a step.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    fn epoch(&self) -> f64 {
        let examples_per_epoch =
            self.train.meta.total_groups as f64 * self.train.meta.mean_puzzle_examples;
        self.step as f64 * self.config.train.global_batch_size as f64 / examples_per_epoch.max(1.0)
    }

    /// Trains to the end (or until `stop_after` more steps, for tests), evaluating and
    /// checkpointing every `eval_interval` epochs.
    pub fn run(&mut self, stop_after: Option<u64>, mut on_event: impl FnMut(Event)) -> Result<()> {
        let t = self.config.train.clone();
        let total_iters = (t.epochs / t.eval_interval) as u64;
        on_event(Event::Started {
            total_steps: self.total_steps,
            start_step: self.step,
            num_params: self.model.num_params(),
            train_examples: self.train.num_examples(),
            test_examples: self.test.as_ref().map_or(0, Split::num_examples),
            dtype: self.model.compute_dtype().as_str(),
        });
        let stop_at = stop_after.map(|n| self.step + n);
        let mut window = Window::default();
        let mut window_start = Instant::now();
        while self.iteration <= total_iters {
            // Online data: this iteration's fresh puzzles.
            if let Some(g) = &self.online {
                if self.train_iteration != self.iteration {
                    let test = self
                        .test
                        .as_ref()
                        .context("online data needs the run's test split (RUN/data/test)")?;
                    self.train = generated::online_train_split(g, test, self.iteration)?;
                    self.train_iteration = self.iteration;
                }
            }
            let batches = sampler::iteration_batches(
                &self.train,
                t.seed,
                self.iteration,
                t.eval_interval,
                t.global_batch_size,
            );
            while self.batch_in_iteration < batches.len() && self.step < self.total_steps {
                if stop_at == Some(self.step) {
                    return Ok(());
                }
                let b = &batches[self.batch_in_iteration];
                let batch = eval::collate(
                    &self.train,
                    &b.examples[self.rows.clone()],
                    &b.puzzles[self.rows.clone()],
                )?;
                let stats = self.train_batch(&batch)?;
                self.batch_in_iteration += 1;
                window.add(&stats);
                if self.step % t.log_interval == 0 {
                    let line = window.line(self, window_start.elapsed().as_secs_f64());
                    self.append_metrics(&line)?;
                    on_event(Event::Step(&line));
                    window = Window::default();
                    window_start = Instant::now();
                }
                if t.checkpoint_interval > 0
                    && self.step % t.checkpoint_interval == 0
                    && self.batch_in_iteration < batches.len()
                {
                    let path = self.save_checkpoint()?;
                    on_event(Event::Checkpoint(&path));
                }
            }
            let finished_iteration = self.iteration;
            self.iteration += 1;
            self.batch_in_iteration = 0;
            let last = finished_iteration == total_iters || self.step >= self.total_steps;
            if finished_iteration > t.min_eval_interval as u64 || last {
                self.evaluate_and_save(&mut on_event)?;
            }
            if self.step >= self.total_steps {
                break;
            }
        }
        Ok(())
    }

    /// One supervision step on `batch` and one update of every optimizer (design 3.1).
    fn train_batch(&mut self, batch: &Batch) -> Result<StepStats> {
        let t = &self.config.train;
        // This rank's rows with its carry; losses and metrics summed over the ranks.
        let local = step::forward_step_with(
            &self.model,
            &mut self.carry,
            batch,
            &mut self.explore_rng,
            &*self.dist,
            self.nearest_path_columns.map(|cols| step::NearestPaths {
                cols,
                // path_pull, ramped linearly from 0 at the first step to the last.
                pull: t.path_pull * self.step as f64 / self.total_steps.max(1) as f64,
            }),
        )?;
        let total = local.sums.total;
        if !total.is_finite() {
            let last = checkpoint::list(&self.run_dir.join(CHECKPOINT_DIR))?
                .last()
                .map(|(_, p)| p.display().to_string());
            bail!(
                "the loss became {total} at step {}; last good checkpoint: {}. Try a lower learning rate (--set lr=...) or a longer warm-up (--set lr_warmup_steps=...), then resume or restart",
                self.step + 1,
                last.unwrap_or_else(|| "none yet".into())
            );
        }
        self.step += 1;
        let lr = optim::learning_rate(
            t.lr,
            self.step,
            t.lr_warmup_steps,
            self.total_steps,
            t.lr_min_ratio,
        );
        let rates = UpdateRates {
            lr,
            puzzle_emb_lr: optim::learning_rate(
                t.puzzle_emb_lr,
                self.step,
                t.lr_warmup_steps,
                self.total_steps,
                t.lr_min_ratio,
            ),
            grad_clip: t.grad_clip,
        };
        // Loss / global batch size, gradients reduced over the ranks, the same update everywhere.
        step::backward_and_update(
            &self.model,
            &local,
            t.global_batch_size,
            &*self.dist,
            &mut self.opt,
            rates,
        )?;
        let s = local.sums;
        Ok(StepStats {
            lr,
            lm_loss: s.lm_loss,
            q_halt_loss: s.q_halt_loss,
            q_continue_loss: s.q_continue_loss,
            metrics: s.metrics,
            rows: s.rows,
        })
    }

    /// Evaluates the EMA weights (the live ones without EMA), saves them as the model and
    /// writes a checkpoint.
    fn evaluate_and_save(&mut self, on_event: &mut impl FnMut(Event)) -> Result<()> {
        let report = self.with_eval_weights(|trainer| {
            if trainer.dist.rank() == 0 {
                trainer.model.save_safetensors(&trainer.run_dir.join(MODEL_FILE))?;
            }
            match &trainer.test {
                Some(test) => {
                    let opts = trainer.eval_options();
                    let progress = |done, total| on_event(Event::EvalProgress { done, total });
                    let report = match trainer.dist.world_size() {
                        1 => eval::evaluate(&trainer.model, test, &opts, progress)?.0,
                        // Each rank evaluates its share of the batches.
                        _ => distributed::evaluate_shared(
                            &trainer.model,
                            test,
                            &opts,
                            &*trainer.dist,
                            progress,
                        )?,
                    };
                    Ok(Some(report))
                }
                None => Ok(None),
            }
        })?;
        if let Some(report) = report {
            let line = self.eval_line(&report);
            self.append_metrics(&line)?;
            on_event(Event::Eval(&line));
        }
        let path = self.save_checkpoint()?;
        on_event(Event::Checkpoint(&path));
        Ok(())
    }

    /// The evaluation settings of the run's `[train]` section (`eval_batch_size`,
    /// `eval_max_examples`, `eval_max_steps`), without early halting.
    pub fn eval_options(&self) -> EvalOptions {
        let t = &self.config.train;
        EvalOptions {
            batch_size: if t.eval_batch_size > 0 { t.eval_batch_size } else { t.global_batch_size },
            max_examples: t.eval_max_examples,
            max_steps: t.eval_steps(),
            halt: false,
        }
    }

    fn eval_line(&self, r: &EvalReport) -> MetricsLine {
        MetricsLine {
            split: "eval",
            step: self.step,
            epoch: self.epoch(),
            elapsed_s: self.elapsed(),
            lr: None,
            lm_loss: None,
            q_halt_loss: None,
            q_continue_loss: None,
            accuracy: r.token_accuracy,
            exact_accuracy: r.exact_accuracy,
            q_halt_accuracy: r.q_halt_accuracy,
            steps: r.mean_steps,
            count: r.count,
            examples_per_s: None,
            solved_accuracy: r.solved_accuracy,
        }
    }

    /// Runs `f` with the EMA weights in the model, then puts the live weights back exactly.
    fn with_eval_weights<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let Some(ema) = &self.opt.ema else { return f(self) };
        let mut live = Vec::new();
        for (name, var) in self.model.trainable() {
            live.push(var.as_tensor().copy()?);
            var.set(&ema.shadow[name])?;
        }
        let result = f(self);
        for ((_, var), saved) in self.model.trainable().iter().zip(live) {
            var.set(&saved)?;
        }
        result
    }

    /// Appends `line` to `metrics.jsonl` (rank 0 only: every rank holds the same sums).
    fn append_metrics(&self, line: &MetricsLine) -> Result<()> {
        if self.dist.rank() != 0 {
            return Ok(());
        }
        let path = self.run_dir.join(METRICS_FILE);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{}", serde_json::to_string(line)?)?;
        Ok(())
    }

    /// Writes `checkpoints/step_N.safetensors` atomically and keeps the newest two. With
    /// several ranks every rank calls it: the carry of the whole global batch and every rank's
    /// exploration position are gathered, and rank 0 writes.
    pub fn save_checkpoint(&self) -> Result<PathBuf> {
        let global_carry = match self.dist.world_size() {
            1 => None,
            _ => Some(distributed::gather_carry(&self.carry, &*self.dist)?),
        };
        let rng_positions = all_gather_u128(&*self.dist, self.explore_rng.get_word_pos())?;
        let dir = self.run_dir.join(CHECKPOINT_DIR);
        let path = checkpoint::path_for_step(&dir, self.step);
        if self.dist.rank() != 0 {
            return Ok(path);
        }
        let mut tensors = BTreeMap::new();
        for (name, var) in self.model.trainable() {
            tensors.insert(format!("param.{name}"), var.as_tensor().clone());
            if let Some((m, v)) = self.opt.adam.moments(name)? {
                let n = m.len();
                tensors.insert(format!("adam.m.{name}"), Tensor::from_vec(m, n, &Device::Cpu)?);
                tensors.insert(format!("adam.v.{name}"), Tensor::from_vec(v, n, &Device::Cpu)?);
            }
        }
        if let Some(ema) = &self.opt.ema {
            for (name, t) in &ema.shadow {
                tensors.insert(format!("ema.{name}"), t.clone());
            }
        }
        if let Some(table) = self.model.puzzle_table() {
            tensors.insert("buffer.puzzle_emb.weights".into(), table.as_tensor().clone());
        }
        // The initial states: drawn from the seed, or loaded by --init-from.
        tensors.insert("buffer.H_init".into(), self.model.h_init().clone());
        tensors.insert("buffer.L_init".into(), self.model.l_init().clone());
        let c = global_carry.as_ref().unwrap_or(&self.carry);
        let (b, seq) = (c.batch_size(), c.current.seq_len);
        tensors.insert("carry.z_H".into(), c.z_h.clone());
        tensors.insert("carry.z_L".into(), c.z_l.clone());
        tensors.insert("carry.steps".into(), Tensor::from_vec(c.steps.clone(), b, &Device::Cpu)?);
        tensors.insert(
            "carry.halted".into(),
            Tensor::from_vec(
                c.halted.iter().map(|&h| h as u8).collect::<Vec<u8>>(),
                b,
                &Device::Cpu,
            )?,
        );
        tensors.insert(
            "carry.inputs".into(),
            Tensor::from_vec(
                c.current.inputs.iter().map(|&v| v as i64).collect::<Vec<i64>>(),
                (b, seq),
                &Device::Cpu,
            )?,
        );
        tensors.insert(
            "carry.labels".into(),
            Tensor::from_vec(
                c.current.labels.iter().map(|&v| v as i64).collect::<Vec<i64>>(),
                (b, seq),
                &Device::Cpu,
            )?,
        );
        tensors.insert(
            "carry.puzzle_identifiers".into(),
            Tensor::from_vec(
                c.current.puzzle_identifiers.iter().map(|&v| v as i64).collect::<Vec<i64>>(),
                b,
                &Device::Cpu,
            )?,
        );
        let state = serde_json::json!({
            "step": self.step,
            "iteration": self.iteration,
            "batch_in_iteration": self.batch_in_iteration,
            "adam_step": self.opt.adam.step,
            "explore_rng_word_pos": self.explore_rng.get_word_pos().to_string(),
            "explore_rng_word_pos_ranks": rng_positions.iter().map(u128::to_string).collect::<Vec<_>>(),
            "elapsed_s": self.elapsed(),
            "config": self.config.to_toml()?,
        });
        Checkpoint { tensors, state }.save(&path)?;
        checkpoint::prune(&dir, KEEP_CHECKPOINTS)?;
        Ok(path)
    }

    /// Loads the state of `ck`; with `same_config`, the checkpoint must have been written
    /// under the run's configuration.
    fn restore(&mut self, ck: &Checkpoint, same_config: bool) -> Result<()> {
        let state = &ck.state;
        let int = |key: &str| -> Result<u64> {
            state[key].as_u64().with_context(|| format!("checkpoint state has no {key}"))
        };
        let saved_config = state["config"].as_str().context("checkpoint state has no config")?;
        if same_config {
            ensure!(
                RunConfig::from_toml(saved_config)? == self.config,
                "the checkpoint was written with another configuration than the run's config.toml"
            );
        }
        for (name, var) in self.model.trainable() {
            let t = ck.tensor(&format!("param.{name}"))?;
            ensure!(
                t.dims() == var.dims(),
                "checkpoint param.{name} has shape {:?}, the model {:?}",
                t.dims(),
                var.dims()
            );
            var.set(&t.to_dtype(var.dtype())?)?;
            if let Ok(m) = ck.tensor(&format!("adam.m.{name}")) {
                let (m, v) = (optim::flat(m)?, optim::flat(ck.tensor(&format!("adam.v.{name}"))?)?);
                // Moments of another size made the update index out of bounds (found by fuzzing).
                ensure!(m.len() == var.elem_count() && v.len() == var.elem_count(), "checkpoint adam.m.{name} / adam.v.{name} hold {} / {} values, the parameter {}", m.len(), v.len(), var.elem_count());
                self.opt.adam.set_moments(name, var, m, v)?;
            }
        }
        if let Some(ema) = &mut self.opt.ema {
            for (name, shadow) in ema.shadow.iter_mut() {
                *shadow = ck.tensor(&format!("ema.{name}"))?.clone();
            }
        }
        if let Some(table) = self.model.puzzle_table() {
            table.set(ck.tensor("buffer.puzzle_emb.weights")?)?;
        }
        // Checkpoints written before the initial states were saved keep the seed's.
        if let (Ok(h), Ok(l)) = (ck.tensor("buffer.H_init"), ck.tensor("buffer.L_init")) {
            self.model.set_buffers(h.clone(), l.clone())?;
        }
        let host_i64 = |name: &str| -> Result<Vec<i64>> {
            Ok(ck.tensor(name)?.flatten_all()?.to_vec1::<i64>()?)
        };
        let (slots, seq, z_dims) =
            (self.carry.batch_size(), self.carry.current.seq_len, self.carry.z_h.dims().to_vec());
        self.carry.z_h = ck.tensor("carry.z_H")?.clone();
        self.carry.z_l = ck.tensor("carry.z_L")?.clone();
        self.carry.steps = ck.tensor("carry.steps")?.to_vec1::<u32>()?;
        self.carry.halted =
            ck.tensor("carry.halted")?.to_vec1::<u8>()?.into_iter().map(|h| h != 0).collect();
        self.carry.current.inputs =
            host_i64("carry.inputs")?.into_iter().map(|v| v as i32).collect();
        self.carry.current.labels =
            host_i64("carry.labels")?.into_iter().map(|v| v as i32).collect();
        self.carry.current.puzzle_identifiers =
            host_i64("carry.puzzle_identifiers")?.into_iter().map(|v| v as i32).collect();
        // A carry of another size, or iteration 0, made the training step panic (same class as above).
        let c = &self.carry;
        ensure!(
            c.z_h.dims() == z_dims
                && c.z_l.dims() == z_dims
                && [c.steps.len(), c.halted.len(), c.current.puzzle_identifiers.len()]
                    == [slots; 3]
                && [c.current.inputs.len(), c.current.labels.len()] == [slots * seq; 2],
            "checkpoint carry does not fit the run's {slots} slots of {seq} tokens"
        );
        self.step = int("step")?;
        self.iteration = int("iteration")?;
        ensure!(self.iteration >= 1, "checkpoint iteration is 0; iterations count from 1");
        self.batch_in_iteration = int("batch_in_iteration")? as usize;
        self.opt.adam.step = int("adam_step")?;
        let word_pos: u128 = state["explore_rng_word_pos"]
            .as_str()
            .context("checkpoint state has no RNG position")?
            .parse()?;
        self.explore_rng.set_word_pos(word_pos);
        // Every rank's position (data-parallel runs; absent in older checkpoints).
        self.restored_rng_positions = match state["explore_rng_word_pos_ranks"].as_array() {
            Some(all) => all
                .iter()
                .map(|p| {
                    p.as_str()
                        .context("checkpoint RNG positions")?
                        .parse::<u128>()
                        .context("checkpoint RNG positions")
                })
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        self.elapsed_before = state["elapsed_s"].as_f64().unwrap_or(0.0);
        self.started = Instant::now();
        Ok(())
    }
}

/// The halting-exploration generator of a run: its own stream of the run's seed, one per
/// rank of a data-parallel run (rank 0's is the single process's).
fn exploration_rng(seed: u64, rank: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(7 + ((rank as u64) << 32));
    rng
}

/// Drops lines of `metrics.jsonl` logged after `step` (written after the checkpoint a
/// resumed run restarts from), so the file reads as one uninterrupted run.
fn truncate_metrics(path: &Path, step: u64) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["step"].as_u64())
                .is_some_and(|s| s <= step)
        })
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    checkpoint::write_atomically(path, out.as_bytes())
}

struct StepStats {
    lr: f64,
    lm_loss: f64,
    q_halt_loss: f64,
    q_continue_loss: Option<f64>,
    metrics: trm_model::Metrics,
    rows: usize,
}

/// Training metrics accumulated between two log lines (official reduction: losses divided
/// by the global batch size, the rest by the count of halted rows).
#[derive(Default)]
struct Window {
    steps: u64,
    lr: f64,
    lm_loss: f64,
    q_halt_loss: f64,
    q_continue_loss: Option<f64>,
    metrics: trm_model::Metrics,
    rows: usize,
}

impl Window {
    fn add(&mut self, s: &StepStats) {
        self.steps += 1;
        self.lr = s.lr;
        self.lm_loss += s.lm_loss / s.rows as f64;
        self.q_halt_loss += s.q_halt_loss / s.rows as f64;
        if let Some(c) = s.q_continue_loss {
            *self.q_continue_loss.get_or_insert(0.0) += c / s.rows as f64;
        }
        self.metrics.add(&s.metrics);
        self.rows += s.rows;
    }

    fn line(&self, trainer: &Trainer, seconds: f64) -> MetricsLine {
        let n = self.steps.max(1) as f64;
        let count = self.metrics.count.max(1) as f64;
        MetricsLine {
            split: "train",
            step: trainer.step,
            epoch: trainer.epoch(),
            elapsed_s: trainer.elapsed(),
            lr: Some(self.lr),
            lm_loss: Some(self.lm_loss / n),
            q_halt_loss: Some(self.q_halt_loss / n),
            q_continue_loss: self.q_continue_loss.map(|c| c / n),
            accuracy: self.metrics.accuracy / count,
            exact_accuracy: self.metrics.exact_accuracy / count,
            q_halt_accuracy: self.metrics.q_halt_accuracy / count,
            steps: self.metrics.steps / count,
            count: self.metrics.count,
            examples_per_s: Some(self.rows as f64 / seconds.max(1e-9)),
            solved_accuracy: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(split: &'static str) -> MetricsLine {
        MetricsLine {
            split,
            step: 40,
            epoch: 2.26,
            elapsed_s: 12.4,
            lr: Some(1e-3),
            lm_loss: Some(0.123456),
            q_halt_loss: Some(0.01),
            q_continue_loss: None,
            accuracy: 0.875,
            exact_accuracy: 0.5,
            q_halt_accuracy: 0.75,
            steps: 3.3,
            count: 64,
            examples_per_s: Some(321.4),
            solved_accuracy: None,
        }
    }

    #[test]
    fn events_say_what_happened() {
        let started = Event::Started {
            total_steps: 90,
            start_step: 0,
            num_params: 1234,
            train_examples: 800,
            test_examples: 100,
            dtype: "f32",
        };
        assert_eq!(
            started.message(),
            "1234 parameters, computing in f32; 800 training examples, 100 test examples; 90 steps"
        );
        let train = line("train");
        assert_eq!(
            Event::Step(&train).message(),
            "epoch 2.3 loss 0.1235 exact 0.500 steps 3.3 321 ex/s"
        );
        assert_eq!(Event::EvalProgress { done: 3, total: 7 }.message(), "evaluating 3/7");
        let eval = MetricsLine { solved_accuracy: Some(0.625), ..line("eval") };
        assert_eq!(
            Event::Eval(&eval).message(),
            "eval at step 40: exact accuracy 0.5000, solved (any shortest path) 0.6250, token accuracy 0.8750, q_halt accuracy 0.7500 over 64 examples (12s)"
        );
        let path = Path::new("runs/x/checkpoints/step_40.safetensors");
        assert_eq!(Event::Checkpoint(path).message(), format!("checkpoint {}", path.display()));
    }
}
