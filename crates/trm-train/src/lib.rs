//! Training: the procedure of reference section 3.
//!
//! - [`train`]: the loop ([`train::Trainer`]), run folders, exact resume.
//! - [`eval`]: evaluation on a test split, test-time recursion, per-step accuracy.
//! - [`optim`]: Adam-atan2 for dense weights, sparse sign-SGD for puzzle embeddings, the
//!   warm-up + cosine learning-rate schedule.
//! - [`ema`]: the moving average of the weights used for evaluation and saved as the model.
//! - [`sampler`]: training batches over groups of augmented puzzles, reproducible by seed.
//! - [`checkpoint`]: atomic checkpoint files.
//! - [`config`]: run configuration and presets.

pub mod checkpoint;
pub mod config;
pub mod ema;
pub mod eval;
pub mod optim;
pub mod sampler;
pub mod train;
