//! Training: the procedure of design 3.
//!
//! "design N" in the comments is section N of docs/design.md (the paper and the official
//! code mapped onto this repository).
//!
//! - [`train`]: the loop ([`train::Trainer`]), run folders, exact resume.
//! - [`step`]: the training step, one supervision step and its update (forward, loss,
//!   backward, gradients summed over ranks, [`step::Optimizers`]).
//! - [`distributed`]: data-parallel training over ranks: batch split, weight broadcast,
//!   shared evaluation, carry gathering.
//! - [`collective`]: the communication between ranks (one, threads); [`nccl`]: one process
//!   per GPU, its rank from flags or the environment, NCCL between them (feature `nccl`).
//! - [`eval`]: evaluation on a test split, test-time recursion, per-step accuracy.
//! - [`solve`]: answering new puzzles (no labels): the [`solve::Task`] of Sudoku, mazes and
//!   ARC, batches, supervision steps, halting.
//! - [`init`]: starting a run from trained weights (fine-tuning, `--init-from`).
//! - [`optim`]: Adam-atan2 for dense weights, sparse sign-SGD for puzzle embeddings, the
//!   warm-up + cosine learning-rate schedule.
//! - [`ema`]: the moving average of the weights used for evaluation and saved as the model.
//! - [`sampler`]: training batches over groups of augmented puzzles, reproducible by seed.
//! - [`run_dir`]: an existing run folder opened for use (configuration, model, dataset).
//! - [`checkpoint`]: atomic checkpoint files.
//! - [`mod@bench`]: timing the training and evaluation steps of a configuration (`trm bench`).
//! - [`config`]: run configuration and presets.

#![warn(missing_docs)]

pub mod bench;
pub mod checkpoint;
pub mod collective;
pub mod config;
pub mod distributed;
pub mod ema;
pub mod eval;
pub mod generated;
pub mod init;
pub mod nccl;
pub mod optim;
pub mod path_labels;
pub mod run_dir;
pub mod sampler;
pub mod solve;
pub mod step;
pub mod train;
