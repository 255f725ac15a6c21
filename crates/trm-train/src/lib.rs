//! Training: the procedure of reference section 3.
//!
//! - [`train`]: the loop ([`train::Trainer`]), run folders, exact resume.
//! - [`distributed`]: data-parallel training over ranks (threads, or GPUs with NCCL).
//! - [`eval`]: evaluation on a test split, test-time recursion, per-step accuracy.
//! - [`init`]: starting a run from trained weights (fine-tuning, `--init-from`).
//! - [`optim`]: Adam-atan2 for dense weights, sparse sign-SGD for puzzle embeddings, the
//!   warm-up + cosine learning-rate schedule.
//! - [`update`]: clipping, both optimizers and the EMA applied after one step's backward.
//! - [`ema`]: the moving average of the weights used for evaluation and saved as the model.
//! - [`sampler`]: training batches over groups of augmented puzzles, reproducible by seed.
//! - [`run_dir`]: an existing run folder opened for use (configuration, model, dataset).
//! - [`checkpoint`]: atomic checkpoint files.
//! - [`config`]: run configuration and presets.

pub mod checkpoint;
pub mod config;
pub mod distributed;
pub mod ema;
pub mod eval;
pub mod generated;
pub mod init;
pub mod optim;
pub mod run_dir;
pub mod sampler;
pub mod train;
pub mod update;
