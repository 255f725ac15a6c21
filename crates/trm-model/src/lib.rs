//! TRM and HRM on candle: the networks, their losses, weights I/O, equal to the official
//! implementation (SamsungSAILMontreal/TinyRecursiveModels `e7b6871`; design 1,
//! 2, 3.1-3.3, 5.2, 6). Parameters are f32; the network computes in f32, or in bf16 on a GPU
//! when `forward_dtype = "bfloat16"` (official autocast, [`default_compute_dtype`],
//! [`Model::set_compute_dtype`]); logits reach the loss as f32 (the stablemax loss in f64).
//!
//! "design N" in the comments is section N of docs/design.md (the paper and the official
//! code mapped onto this repository).
//!
//! # Modules
//! - [`config`]: [`ModelConfig`] with the official keys (`H_cycles`, `no_ACT_continue`, ...).
//! - [`model`]: [`Model`] (parameters, buffers, deep recursion, ACT wrapper), [`StepOutput`].
//! - [`carry`]: [`Batch`] (host-side i32 rows, labels -100 = ignored) and [`Carry`].
//! - [`loss`]: [`act_loss`] (official `ACTLossHead`) and [`Metrics`].
//! - [`weights`]: safetensors / PyTorch checkpoint loading, saving.
//! - [`ops`], [`init`]: fused kernels with gradients; initialisation helpers.
//! - [`mod@reference`]: the check against tensors produced by the official code.
//! - FLOP counts of the matrix products: [`ModelConfig::network_flops`] and friends.
//!
//! # Training API (one call = one supervision step = one optimizer step)
//! ```no_run
//! # use trm_model::*;
//! # fn demo(cfg: ModelConfig, batches: Vec<Batch>, global_batch: f64) -> anyhow::Result<()> {
//! use rand::SeedableRng;
//! let device = candle_core::Device::Cpu;
//! let model = Model::new(cfg, &device, 0)?;            // official init from a seed
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1); // halting exploration
//! let mut carry = model.initial_carry(batches[0].batch_size())?;
//! for batch in &batches {
//!     let out = model.train_step(&mut carry, batch, &mut rng)?; // halted slots take new rows
//!     let loss = act_loss(model.config().loss_type, &out, &carry)?;
//!     let grads = (&loss.total / global_batch)?.backward()?;   // official: sum / global batch
//!     for (name, var) in model.trainable() {                   // dense params, official names
//!         let _g = grads.get(var);                             // Adam-atan2 updates var in place (var.set)
//!     }
//!     if let Some(rows) = &out.puzzle_rows {                   // sparse sign-SGD input:
//!         let _g = grads.get(&rows.local);                     //   [B, ndim] grad of the local rows
//!         let _ids = &rows.ids;                                //   table row of each batch row
//!         let _table = model.puzzle_table();                   //   the table (a Var), update rows in place
//!     }
//!     let _m = &loss.metrics;                                  // sums over halted rows + count
//! }
//! # Ok(()) }
//! ```
//! - Parameters: [`Model::trainable`] gives `(official name, Var)` in official
//!   `named_parameters()` order; [`Model::param`] by name. Buffers apart: [`Model::h_init`],
//!   [`Model::l_init`] (fixed), [`Model::puzzle_table`] (a `Var` never recorded by autograd;
//!   the trainer updates its rows, e.g. `Tensor::scatter_set`).
//! - Deep recursion: the T-1 cycles without gradient run on detached handles of the weights,
//!   so autograd records only the last cycle (n+1 network applications; HRM: one L and one H).
//! - Halting in training: `steps >= halt_max_steps`, or q_halt > 0 (TRM) / q_halt > q_continue
//!   (HRM, or TRM with `no_ACT_continue = false`), then with probability
//!   `halt_exploration_prob` a minimum of Uniform{2..=halt_max_steps} steps, drawn from the
//!   caller's rng (two draws per row per call). Evaluation halts only at `halt_max_steps`.
//! - [`act_loss`] returns `total` (f64, NOT divided by the batch size), the three loss values,
//!   the metrics of design 5.2 as sums with `count`, and the predictions.
//!
//! # Evaluation
//! [`Model::eval_run`] runs a batch from a fresh carry until every slot halts and hands the
//! output of every step to a callback (answers after each supervision step);
//! [`Model::eval_all_steps`] collects them.
//!
//! # Weights
//! [`Model::from_file`] / [`Model::load_file`] read safetensors or official `torch.save`
//! checkpoints (keys with or without `_orig_mod.model.inner.` / `model.inner.`, any float
//! dtype); missing keys and wrong shapes are errors naming the key and both shapes, unknown
//! keys are listed in the [`LoadReport`]; a puzzle table with another row count is refused
//! unless [`PuzzleRowsPolicy::MeanReset`] (official fine-tuning). [`Model::save_safetensors`]
//! writes the same names.
//!
//! # Threads
//! A program calls [`settle_thread_counts`] first thing in `main` (the `trm` binary does);
//! [`threads::with_workers_awake`] keeps rayon's workers awake through a step.

#![warn(missing_docs)]

pub mod carry;
pub mod config;
mod flops;
mod fused;
pub mod init;
mod layers;
pub mod loss;
pub mod model;
pub mod ops;
pub mod reference;
pub mod simd;
pub mod threads;
pub mod weights;

pub use carry::{Batch, Carry, IGNORE_LABEL_ID};
pub use config::{Arch, LossType, ModelConfig, PosEncoding};
pub use loss::{act_loss, act_loss_on, LossOutput, Metrics};
pub use model::{
    default_compute_dtype, names, tensor_specs, Model, PuzzleRows, StepOutput, TensorSpec,
};
pub use threads::settle_thread_counts;
pub use weights::{read_state_file, LoadOptions, LoadReport, PuzzleRowsPolicy};
