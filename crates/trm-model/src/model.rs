//! The TRM and HRM networks and the ACT wrapper (design 1, 2, 3.1, 3.2).
//!
//! Paper names (TRM, figure 3) against code names:
//! - x: the embedded question (`embed`), computed once per supervision step;
//! - y: the embedded answer, `z_H` in the code; z: the latent, `z_L`;
//! - n = `L_cycles` latent updates `z <- net(z, y + x)` then one answer update
//!   `y <- net(y, z)`, together a latent recursion;
//! - T = `H_cycles` recursions per supervision step, the first T-1 without gradient
//!   (deep recursion);
//! - N_sup = `halt_max_steps` supervision steps per example, one per call of
//!   [`Model::train_step`] / [`Model::eval_step`], the state carried in a [`Carry`].
//!
//! HRM differs only in the recursion: separate `L_level` / `H_level` stacks, and only the
//! last L and H updates carry gradient (design 2).

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, RngCore, SeedableRng};

use crate::carry::{Batch, Carry};
use crate::config::{Arch, ModelConfig, PosEncoding};
use crate::init::{swiglu_intermediate, trunc_normal};
use crate::layers::{level, linear, BlockContext, BlockWeights, Mixer};
use crate::ops::RopeTables;

/// 1/sqrt(2) as written in the official code (keeps the forward variance of token +
/// learned position); the literal, not `FRAC_1_SQRT_2`, to match it bit for bit.
#[allow(clippy::approx_constant)]
const LEARNED_POS_SCALE: f64 = 0.707106781;

/// Official state-dict names of the tensors outside the blocks.
pub mod names {
    /// Initial answer state z_H of a fresh slot, `[hidden_size]` (a fixed buffer).
    pub const H_INIT: &str = "H_init";
    /// Initial latent state z_L of a fresh slot, `[hidden_size]` (a fixed buffer).
    pub const L_INIT: &str = "L_init";
    /// Token embedding, `[vocab_size, hidden_size]`.
    pub const EMBED_TOKENS: &str = "embed_tokens.embedding_weight";
    /// Learned position table, `[S, hidden_size]` (only with `pos_encodings = "learned"`).
    pub const EMBED_POS: &str = "embed_pos.embedding_weight";
    /// Output projection from z_H to token logits, `[vocab_size, hidden_size]`.
    pub const LM_HEAD: &str = "lm_head.weight";
    /// Weight of the halting Q head, `[2, hidden_size]` (row 0 halt, row 1 continue).
    pub const Q_HEAD_WEIGHT: &str = "q_head.weight";
    /// Bias of the halting Q head, `[2]` (initialised to -5).
    pub const Q_HEAD_BIAS: &str = "q_head.bias";
    /// The puzzle-embedding table (a buffer, updated by sparse sign-SGD).
    pub const PUZZLE_EMB: &str = "puzzle_emb.weights";
    /// The rows of the table gathered for the batch in training mode (official
    /// `CastedSparseEmbedding.local_weights`, not saved).
    pub const PUZZLE_LOCAL: &str = "puzzle_emb.local_weights";
}

/// Whether a state-dict entry is trained by the dense optimizer or is a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Trained by the dense optimizer (Adam-atan2).
    Param,
    /// Not seen by the dense optimizer: `H_init`, `L_init`, the puzzle table (sparse sign-SGD).
    Buffer,
}

/// Official initialisation of one tensor (design 1.10).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// JAX-style truncated normal with this std (0 gives zeros).
    TruncNormal(f64),
    /// Every element set to this value.
    Fill(f32),
}

/// One entry of the official state dict: name, shape, role, initialisation.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    /// Official state-dict name, e.g. `lm_head.weight`.
    pub name: String,
    /// Dimensions, outermost first, e.g. `[vocab_size, hidden_size]`.
    pub shape: Vec<usize>,
    /// Dense parameter or buffer.
    pub role: Role,
    /// How [`Model::new`] fills it.
    pub init: Init,
}

fn lecun(fan_in: usize) -> Init {
    Init::TruncNormal(1.0 / (fan_in as f64).sqrt())
}

/// Every persistent tensor of the model in the official order: parameters in
/// `named_parameters()` order, then the buffers (`puzzle_emb.weights`, `H_init`, `L_init`).
pub fn tensor_specs(cfg: &ModelConfig) -> Vec<TensorSpec> {
    let d = cfg.hidden_size;
    let s = cfg.total_len();
    let mut out = Vec::new();
    let mut push = |name: String, shape: Vec<usize>, role: Role, init: Init| {
        out.push(TensorSpec { name, shape, role, init })
    };
    push(names::EMBED_TOKENS.into(), vec![cfg.vocab_size, d], Role::Param, lecun(d));
    push(names::LM_HEAD.into(), vec![cfg.vocab_size, d], Role::Param, lecun(d));
    push(names::Q_HEAD_WEIGHT.into(), vec![2, d], Role::Param, Init::Fill(0.0));
    push(names::Q_HEAD_BIAS.into(), vec![2], Role::Param, Init::Fill(-5.0));
    if cfg.pos_encodings == PosEncoding::Learned {
        push(names::EMBED_POS.into(), vec![s, d], Role::Param, lecun(d));
    }
    let levels: &[(&str, usize)] = match cfg.arch {
        Arch::Trm => &[("L_level", cfg.l_layers)],
        Arch::Hrm => &[("H_level", cfg.h_layers), ("L_level", cfg.l_layers)],
    };
    let inter = swiglu_intermediate(d, cfg.expansion);
    let inter_t = swiglu_intermediate(s, cfg.expansion);
    let (nh, hd) = (cfg.num_heads, cfg.head_dim());
    for &(level_name, layers) in levels {
        for i in 0..layers {
            let p = format!("{level_name}.layers.{i}.");
            if cfg.mlp_t {
                push(
                    format!("{p}mlp_t.gate_up_proj.weight"),
                    vec![2 * inter_t, s],
                    Role::Param,
                    lecun(s),
                );
                push(
                    format!("{p}mlp_t.down_proj.weight"),
                    vec![s, inter_t],
                    Role::Param,
                    lecun(inter_t),
                );
            } else {
                push(
                    format!("{p}self_attn.qkv_proj.weight"),
                    vec![3 * nh * hd, d],
                    Role::Param,
                    lecun(d),
                );
                push(
                    format!("{p}self_attn.o_proj.weight"),
                    vec![d, nh * hd],
                    Role::Param,
                    lecun(nh * hd),
                );
            }
            push(format!("{p}mlp.gate_up_proj.weight"), vec![2 * inter, d], Role::Param, lecun(d));
            push(format!("{p}mlp.down_proj.weight"), vec![d, inter], Role::Param, lecun(inter));
        }
    }
    if cfg.puzzle_emb_ndim > 0 {
        push(
            names::PUZZLE_EMB.into(),
            vec![cfg.num_puzzle_identifiers, cfg.puzzle_emb_ndim],
            Role::Buffer,
            Init::TruncNormal(0.0),
        );
    }
    push(names::H_INIT.into(), vec![d], Role::Buffer, Init::TruncNormal(1.0));
    push(names::L_INIT.into(), vec![d], Role::Buffer, Init::TruncNormal(1.0));
    out
}

/// The puzzle-embedding rows used by a training step (official `CastedSparseEmbedding` in
/// training mode): `local` is `[B, puzzle_emb_ndim]`, a fresh `Var` whose gradient the
/// trainer reads from the `GradStore`; `ids[b]` is the table row of batch row b.
#[derive(Debug, Clone)]
pub struct PuzzleRows {
    /// The gathered rows, `[B, puzzle_emb_ndim]`; their gradient feeds the sparse update.
    pub local: Var,
    /// Table row of each batch row, `[B]`.
    pub ids: Vec<u32>,
}

/// What one supervision step returns. In training mode `logits` and the Q logits are
/// recorded by autograd (back-propagate the loss of [`crate::loss::act_loss`]).
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// `[B, seq_len, vocab_size]` f32 (prefix slots dropped).
    pub logits: Tensor,
    /// `[B]` f32, index 0 of the Q head.
    pub q_halt_logits: Tensor,
    /// `[B]` f32, index 1 of the Q head.
    pub q_continue_logits: Tensor,
    /// `[B]` f32, detached: the bootstrapped Q-continue target (training with Q-continue only).
    pub target_q_continue: Option<Tensor>,
    /// Training mode with a puzzle embedding only.
    pub puzzle_rows: Option<PuzzleRows>,
}

/// The weights as plain tensors: the trainable `Var`s themselves (autograd records every
/// op) or detached handles on the same storage (nothing recorded, no copy).
struct Net {
    embed_tokens: Tensor,
    embed_pos: Option<Tensor>,
    lm_head: Tensor,
    q_weight: Tensor,
    q_bias: Tensor,
    h_level: Vec<BlockWeights>,
    l_level: Vec<BlockWeights>,
}

/// The dtype a model computes in unless forced with [`Model::set_compute_dtype`]: bf16 when
/// `forward_dtype = "bfloat16"` on a CUDA GPU, f32 otherwise.
///
/// On a GPU this is the official autocast (design 1.9): parameters stay f32 and every
/// weight is cast to bf16 at use, activations and the carry are bf16, norms, softmax and
/// RoPE compute in f32 inside. On the CPU bf16 is refused by default because candle has no
/// fast CPU bf16 matrix product (many times slower than f32) and the fused CPU kernels of
/// [`crate::ops`] are f32; other `forward_dtype`s (float16, float64) compute in f32.
pub fn default_compute_dtype(config: &ModelConfig, device: &Device) -> DType {
    if config.forward_dtype == "bfloat16" && !device.is_cpu() {
        DType::BF16
    } else {
        DType::F32
    }
}

/// A TRM or HRM model: trainable parameters, buffers, rotary tables.
pub struct Model {
    config: ModelConfig,
    device: Device,
    /// Dtype of the weights at use, the activations and the carry (f32 or bf16).
    compute_dtype: DType,
    /// Trainable parameters in official `named_parameters()` order.
    params: Vec<(String, Var)>,
    index: HashMap<String, usize>,
    h_init: Tensor,
    l_init: Tensor,
    puzzle_emb: Option<Var>,
    rope: Option<RopeTables>,
}

impl Model {
    /// A freshly initialised model (design 1.10), reproducible from `seed`: f32 parameters
    /// on `device`, computing in [`default_compute_dtype`].
    pub fn new(config: ModelConfig, device: &Device, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let bf16_inits = config.forward_dtype == "bfloat16";
        let mut state = HashMap::new();
        for spec in tensor_specs(&config) {
            let n = spec.shape.iter().product();
            let data = match spec.init {
                Init::TruncNormal(std) => trunc_normal(&mut rng, n, std),
                Init::Fill(v) => vec![v; n],
            };
            let mut t = Tensor::from_vec(data, spec.shape.as_slice(), device)?;
            if bf16_inits && (spec.name == names::H_INIT || spec.name == names::L_INIT) {
                // The official buffers are bf16.
                t = t.to_dtype(DType::BF16)?.to_dtype(DType::F32)?;
            }
            state.insert(spec.name, t);
        }
        Self::assemble(config, device, state)
    }

    /// Builds the model from a complete, checked state (official names, f32, right shapes).
    pub(crate) fn assemble(
        config: ModelConfig,
        device: &Device,
        mut state: HashMap<String, Tensor>,
    ) -> Result<Self> {
        let mut take = |name: &str| {
            state.remove(name).with_context(|| format!("internal: tensor {name} missing"))
        };
        let mut params = Vec::new();
        let mut puzzle_emb = None;
        let mut h_init = None;
        let mut l_init = None;
        for spec in tensor_specs(&config) {
            let t = take(&spec.name)?;
            match (spec.role, spec.name.as_str()) {
                (Role::Param, _) => params.push((spec.name.clone(), Var::from_tensor(&t)?)),
                (Role::Buffer, names::PUZZLE_EMB) => puzzle_emb = Some(Var::from_tensor(&t)?),
                (Role::Buffer, names::H_INIT) => h_init = Some(t),
                (Role::Buffer, _) => l_init = Some(t),
            }
        }
        let rope = match (config.mlp_t, config.pos_encodings) {
            (false, PosEncoding::Rope) => Some(RopeTables::new(
                config.head_dim(),
                config.total_len(),
                config.rope_theta,
                device,
            )?),
            (false, PosEncoding::Rope2d) => Some(RopeTables::new_2d(
                config.head_dim(),
                config.prefix_len(),
                config.grid_columns()?,
                config.total_len(),
                config.rope_theta,
                device,
            )?),
            _ => None,
        };
        let index = params.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
        Ok(Self {
            compute_dtype: default_compute_dtype(&config, device),
            config,
            device: device.clone(),
            params,
            index,
            h_init: h_init.context("internal: H_init")?,
            l_init: l_init.context("internal: L_init")?,
            puzzle_emb,
            rope,
        })
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The device holding the parameters, buffers and rotary tables.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The dtype the network computes in (see [`default_compute_dtype`]).
    pub fn compute_dtype(&self) -> DType {
        self.compute_dtype
    }

    /// Forces the compute dtype: `BF16` (official autocast, also on the CPU, slowly) or
    /// `F32`. Parameters stay f32 either way. A carry built before keeps working (its states
    /// are cast at the next step).
    pub fn set_compute_dtype(&mut self, dtype: DType) -> Result<()> {
        if !matches!(dtype, DType::F32 | DType::BF16) {
            bail!("compute dtype {dtype:?} is not supported; use f32 or bf16");
        }
        self.compute_dtype = dtype;
        Ok(())
    }

    /// Trainable parameters with their official names, in `named_parameters()` order.
    /// Update them in place (`Var::set`) to keep every handle valid.
    pub fn trainable(&self) -> &[(String, Var)] {
        &self.params
    }

    /// One trainable parameter by official name.
    pub fn param(&self, name: &str) -> Option<&Var> {
        self.index.get(name).map(|&i| &self.params[i].1)
    }

    /// Number of trainable scalars (the official `num_params`: without the puzzle table
    /// and the initial states).
    pub fn num_params(&self) -> usize {
        self.params.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// The puzzle-embedding table `[num_puzzle_identifiers, puzzle_emb_ndim]` (a buffer: never
    /// part of an autograd graph). Update rows in place, e.g. with `scatter_set` or `set`.
    pub fn puzzle_table(&self) -> Option<&Var> {
        self.puzzle_emb.as_ref()
    }

    /// The fixed initial answer state `H_init` `[hidden_size]` (never trained).
    pub fn h_init(&self) -> &Tensor {
        &self.h_init
    }

    /// The fixed initial latent state `L_init` `[hidden_size]` (never trained).
    pub fn l_init(&self) -> &Tensor {
        &self.l_init
    }

    /// Replaces the fixed initial states (a checkpoint of a run whose states were loaded
    /// from elsewhere, e.g. fine-tuning). Both must be `[hidden_size]`.
    pub fn set_buffers(&mut self, h_init: Tensor, l_init: Tensor) -> Result<()> {
        let d = self.config.hidden_size;
        if h_init.dims() != [d] || l_init.dims() != [d] {
            bail!("H_init / L_init are {:?} / {:?}, expected [{d}]", h_init.dims(), l_init.dims());
        }
        self.h_init = h_init.to_device(&self.device)?;
        self.l_init = l_init.to_device(&self.device)?;
        Ok(())
    }

    /// A carry of `batch_size` slots, all halted so that the first call loads the batch.
    /// Its states are in the compute dtype.
    pub fn initial_carry(&self, batch_size: usize) -> Result<Carry> {
        let shape = (batch_size, self.config.total_len(), self.config.hidden_size);
        Ok(Carry {
            z_h: Tensor::zeros(shape, self.compute_dtype, &self.device)?,
            z_l: Tensor::zeros(shape, self.compute_dtype, &self.device)?,
            steps: vec![0; batch_size],
            halted: vec![true; batch_size],
            current: Batch::empty(batch_size, self.config.seq_len),
        })
    }

    /// The weights in the compute dtype (official `CastedLinear` / `CastedEmbedding`: cast at
    /// use). The cast is recorded by autograd, so gradients reach the f32 `Var`s as f32.
    /// `share`: a net of the same step whose transposed weight copies this one reuses (the
    /// tracked net of a training step takes them from the detached one).
    fn net(&self, track: bool, share: Option<&Net>) -> Result<Net> {
        let t = |name: &str| -> Result<Tensor> {
            let v = &self.params[self.index[name]].1;
            let w = if track { v.as_tensor().clone() } else { v.as_detached_tensor() };
            Ok(w.to_dtype(self.compute_dtype)?)
        };
        let level_weights = |level_name: &str, layers: usize| -> Result<Vec<BlockWeights>> {
            let shared = |i: usize| {
                let level =
                    share.map(|n| if level_name == "H_level" { &n.h_level } else { &n.l_level });
                level.and_then(|l| l.get(i)).and_then(|w| w.transposed.clone())
            };
            (0..layers)
                .map(|i| {
                    let p = format!("{level_name}.layers.{i}.");
                    let mixer = if self.config.mlp_t {
                        Mixer::TokenMlp {
                            gate_up: t(&format!("{p}mlp_t.gate_up_proj.weight"))?,
                            down: t(&format!("{p}mlp_t.down_proj.weight"))?,
                        }
                    } else {
                        Mixer::Attention {
                            qkv: t(&format!("{p}self_attn.qkv_proj.weight"))?,
                            o: t(&format!("{p}self_attn.o_proj.weight"))?,
                        }
                    };
                    Ok(BlockWeights::new(
                        mixer,
                        t(&format!("{p}mlp.gate_up_proj.weight"))?,
                        t(&format!("{p}mlp.down_proj.weight"))?,
                        shared(i),
                    )?)
                })
                .collect::<Result<Vec<_>>>()
        };
        Ok(Net {
            embed_tokens: t(names::EMBED_TOKENS)?,
            embed_pos: match self.config.pos_encodings {
                PosEncoding::Learned => Some(t(names::EMBED_POS)?),
                _ => None,
            },
            lm_head: t(names::LM_HEAD)?,
            q_weight: t(names::Q_HEAD_WEIGHT)?,
            q_bias: t(names::Q_HEAD_BIAS)?,
            h_level: match self.config.arch {
                Arch::Hrm => level_weights("H_level", self.config.h_layers)?,
                Arch::Trm => Vec::new(),
            },
            l_level: level_weights("L_level", self.config.l_layers)?,
        })
    }

    fn block_context(&self) -> BlockContext<'_> {
        BlockContext {
            rope: self.rope.as_ref(),
            num_heads: self.config.num_heads,
            head_dim: self.config.head_dim(),
            eps: self.config.rms_norm_eps,
        }
    }

    /// x: token embedding, puzzle-embedding prefix (zero-padded to P slots), learned
    /// positions if any, times sqrt(D) (design 1.2). `[B, S, D]` in the compute dtype; the
    /// f32 puzzle rows are cast (official `CastedSparseEmbedding`).
    fn embed(&self, net: &Net, inputs: &Tensor, puzzle: Option<&Tensor>) -> Result<Tensor> {
        let cfg = &self.config;
        let (b, seq) = inputs.dims2()?;
        let d = cfg.hidden_size;
        let mut e =
            net.embed_tokens.index_select(&inputs.flatten_all()?, 0)?.reshape((b, seq, d))?;
        if let Some(rows) = puzzle {
            let p = cfg.prefix_len();
            let pad = p * d - cfg.puzzle_emb_ndim;
            let rows = rows.to_dtype(self.compute_dtype)?;
            let rows = if pad > 0 {
                let zeros = Tensor::zeros((b, pad), self.compute_dtype, &self.device)?;
                Tensor::cat(&[&rows, &zeros], 1)?
            } else {
                rows
            };
            e = Tensor::cat(&[&rows.reshape((b, p, d))?, &e], 1)?;
        }
        if let Some(pos) = &net.embed_pos {
            e = (e.broadcast_add(pos)? * LEARNED_POS_SCALE)?;
        }
        Ok((e * (d as f64).sqrt())?)
    }

    /// One TRM latent recursion: n updates `z_L <- net(z_L, z_H + x)`, then `z_H <- net(z_H, z_L)`.
    /// `z_H + x` is the same in all n updates and is added once (the official code adds it
    /// in each): the forward values are the same to the bit, and autograd keeps one node
    /// instead of n (its gradients then add up in another order, so trained weights differ
    /// from a per-update sum in the last bits).
    fn trm_recursion(
        &self,
        ctx: &BlockContext,
        net: &Net,
        x: &Tensor,
        z_h: Tensor,
        mut z_l: Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let injection = (&z_h + x)?;
        for _ in 0..self.config.l_cycles {
            z_l = level(ctx, &net.l_level, &z_l, &injection)?;
        }
        let z_h = level(ctx, &net.l_level, &z_h, &z_l)?;
        Ok((z_h, z_l))
    }

    /// Deep recursion (design 1.6, HRM 2). `grad` holds the weights of the step that
    /// carries gradient (recorded `Var`s in training, detached in evaluation); every earlier
    /// update runs on detached weights and a detached x, so autograd records nothing there.
    fn deep_recursion(
        &self,
        grad: &Net,
        nograd: &Net,
        x: &Tensor,
        z_h: Tensor,
        z_l: Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let ctx = self.block_context();
        let cfg = &self.config;
        let x0 = x.detach();
        let (mut z_h, mut z_l) = (z_h, z_l);
        match cfg.arch {
            Arch::Trm => {
                for _ in 1..cfg.h_cycles {
                    (z_h, z_l) = self.trm_recursion(&ctx, nograd, &x0, z_h, z_l)?;
                }
                self.trm_recursion(&ctx, grad, x, z_h, z_l)
            }
            Arch::Hrm => {
                // All but the last L update and the last H update without gradient.
                for c in 0..cfg.h_cycles {
                    let last_cycle = c + 1 == cfg.h_cycles;
                    // z_H + x, the same for the cycle's L updates (see trm_recursion).
                    let injection = (&z_h + &x0)?;
                    for k in 0..cfg.l_cycles {
                        if !(last_cycle && k + 1 == cfg.l_cycles) {
                            z_l = level(&ctx, &nograd.l_level, &z_l, &injection)?;
                        }
                    }
                    if !last_cycle {
                        z_h = level(&ctx, &nograd.h_level, &z_h, &z_l)?;
                    }
                }
                let z_l = level(&ctx, &grad.l_level, &z_l, &(&z_h + x)?)?;
                let z_h = level(&ctx, &grad.h_level, &z_h, &z_l)?;
                Ok((z_h, z_l))
            }
        }
    }

    /// `lm_head` on the grid positions of z_H, and the Q head on slot 0. Returns
    /// (`[B, seq_len, vocab]`, `[B, 2]`), both f32: official bf16 logits are upcast by the
    /// loss, and bf16 to f32 is exact.
    fn heads(&self, net: &Net, z_h: &Tensor) -> Result<(Tensor, Tensor)> {
        let p = self.config.prefix_len();
        let logits = linear(&z_h.narrow(1, p, self.config.seq_len)?, &net.lm_head)?;
        let q =
            linear(&z_h.narrow(1, 0, 1)?.squeeze(1)?, &net.q_weight)?.broadcast_add(&net.q_bias)?;
        Ok((logits.to_dtype(DType::F32)?, q.to_dtype(DType::F32)?))
    }

    /// Restarts the flagged slots from the broadcast H_init / L_init, in the compute dtype
    /// (a carry of another dtype, e.g. restored from an f32 checkpoint, is cast).
    fn reset_states(&self, carry: &Carry, reset: &[bool]) -> Result<(Tensor, Tensor)> {
        let (b, s, d) = (reset.len(), self.config.total_len(), self.config.hidden_size);
        if carry.z_h.dims() != [b, s, d] || carry.z_l.dims() != [b, s, d] {
            bail!(
                "carry states are {:?} / {:?}, expected [{b}, {s}, {d}]; build the carry with Model::initial_carry",
                carry.z_h.dims(),
                carry.z_l.dims()
            );
        }
        let dt = self.compute_dtype;
        let broadcast = |v: &Tensor| v.to_dtype(dt)?.reshape((1, 1, d))?.broadcast_as((b, s, d));
        let (h0, l0) = (broadcast(&self.h_init)?, broadcast(&self.l_init)?);
        if reset.iter().all(|&r| r) {
            return Ok((h0.contiguous()?, l0.contiguous()?));
        }
        let (z_h, z_l) = (carry.z_h.to_dtype(dt)?, carry.z_l.to_dtype(dt)?);
        if !reset.iter().any(|&r| r) {
            return Ok((z_h, z_l));
        }
        let mask: Vec<u8> = reset.iter().map(|&r| r as u8).collect();
        let mask = Tensor::from_vec(mask, (b, 1, 1), &self.device)?.broadcast_as((b, s, d))?;
        Ok((mask.where_cond(&h0, &z_h)?, mask.where_cond(&l0, &z_l)?))
    }

    /// One supervision step in training mode: halted slots take their row of `batch` and
    /// restart, every slot runs one deep recursion, then halting (design 3.2):
    /// `steps >= halt_max_steps`, or q_halt > 0 (TRM) / q_halt > q_continue (HRM), and with
    /// probability `halt_exploration_prob` a minimum of Uniform{2..halt_max_steps} steps.
    /// With Q-continue (HRM) the extra no-grad pass from the new carry gives the target.
    pub fn train_step<R: Rng>(
        &self,
        carry: &mut Carry,
        batch: &Batch,
        rng: &mut R,
    ) -> Result<StepOutput> {
        self.step(carry, batch, Some(rng as &mut dyn RngCore), None)
    }

    /// One supervision step in evaluation mode: nothing recorded by autograd; slots halt
    /// only at `halt_max_steps`.
    pub fn eval_step(&self, carry: &mut Carry, batch: &Batch) -> Result<StepOutput> {
        self.step(carry, batch, None, None)
    }

    /// `net`: the detached weights when the caller keeps them across steps (evaluation runs).
    fn step(
        &self,
        carry: &mut Carry,
        batch: &Batch,
        rng: Option<&mut dyn RngCore>,
        net: Option<&Net>,
    ) -> Result<StepOutput> {
        crate::threads::with_workers_awake(|| self.step_awake(carry, batch, rng, net))
    }

    fn step_awake(
        &self,
        carry: &mut Carry,
        batch: &Batch,
        rng: Option<&mut dyn RngCore>,
        net: Option<&Net>,
    ) -> Result<StepOutput> {
        let cfg = &self.config;
        let b = carry.batch_size();
        if batch.batch_size() != b {
            bail!("batch has {} rows but the carry has {b} slots", batch.batch_size());
        }
        // Identifiers index the puzzle table only when there is one.
        let ids = if cfg.puzzle_emb_ndim > 0 { cfg.num_puzzle_identifiers } else { 0 };
        batch.validate(cfg.seq_len, cfg.vocab_size, ids)?;
        let training = rng.is_some();

        // Halted slots take the new row and restart; running slots keep data and state.
        let reset = carry.halted.clone();
        for (i, &r) in reset.iter().enumerate() {
            if r {
                carry.current.copy_row_from(i, batch, i);
                carry.steps[i] = 0;
            }
        }
        let (z_h, z_l) = self.reset_states(carry, &reset)?;

        let inputs: Vec<u32> = carry.current.inputs.iter().map(|&v| v as u32).collect();
        let inputs = Tensor::from_vec(inputs, (b, cfg.seq_len), &self.device)?;
        let (puzzle, puzzle_rows) =
            self.gather_puzzle_rows(&carry.current.puzzle_identifiers, training)?;

        // Evaluation uses the detached weights for every update (one cast of each weight).
        let built = match net {
            Some(_) => None,
            None => Some(self.net(false, None)?),
        };
        let nograd_net = net.or(built.as_ref()).context("internal: no weights")?;
        let tracked = training.then(|| self.net(true, Some(nograd_net))).transpose()?;
        let grad_net = tracked.as_ref().unwrap_or(nograd_net);
        let x = self.embed(grad_net, &inputs, puzzle.as_ref())?;
        let (z_h, z_l) = self.deep_recursion(grad_net, nograd_net, &x, z_h, z_l)?;
        let (logits, q) = self.heads(grad_net, &z_h)?;
        carry.z_h = z_h.detach();
        carry.z_l = z_l.detach();
        let q_halt = q.narrow(1, 0, 1)?.squeeze(1)?;
        let q_continue = q.narrow(1, 1, 1)?.squeeze(1)?;

        let max_steps = cfg.halt_max_steps as u32;
        for s in carry.steps.iter_mut() {
            *s += 1;
        }
        let is_last: Vec<bool> = carry.steps.iter().map(|&s| s >= max_steps).collect();
        let mut halted = is_last.clone();
        let mut target_q_continue = None;
        if let Some(rng) = rng {
            if cfg.halt_max_steps > 1 {
                let qh: Vec<f32> = q_halt.to_vec1()?;
                let qc: Vec<f32> = q_continue.to_vec1()?;
                for i in 0..b {
                    halted[i] |= if cfg.uses_q_continue() { qh[i] > qc[i] } else { qh[i] > 0.0 };
                    let explore = rng.random::<f64>() < cfg.halt_exploration_prob;
                    let min_steps = rng.random_range(2..=max_steps);
                    let min_steps = if explore { min_steps } else { 0 };
                    halted[i] &= carry.steps[i] >= min_steps;
                }
                if cfg.uses_q_continue() {
                    // Extra no-grad pass from the new carry on the same data (no replay
                    // buffer, no target network).
                    let (z_h, _) = self.deep_recursion(
                        nograd_net,
                        nograd_net,
                        &x.detach(),
                        carry.z_h.clone(),
                        carry.z_l.clone(),
                    )?;
                    let (_, next_q) = self.heads(nograd_net, &z_h)?;
                    let next: Vec<f32> = next_q.flatten_all()?.to_vec1()?;
                    let target: Vec<f32> = (0..b)
                        .map(|i| {
                            let (h, c) = (next[2 * i], next[2 * i + 1]);
                            let v = if is_last[i] { h } else { h.max(c) };
                            1.0 / (1.0 + (-v).exp())
                        })
                        .collect();
                    target_q_continue = Some(Tensor::from_vec(target, b, &self.device)?);
                }
            }
        }
        carry.halted = halted;
        Ok(StepOutput {
            logits,
            q_halt_logits: q_halt,
            q_continue_logits: q_continue,
            target_q_continue,
            puzzle_rows,
        })
    }

    /// The batch's puzzle-embedding rows: detached in evaluation, a fresh local `Var` in
    /// training (official `CastedSparseEmbedding`).
    fn gather_puzzle_rows(
        &self,
        ids: &[i32],
        training: bool,
    ) -> Result<(Option<Tensor>, Option<PuzzleRows>)> {
        let Some(table) = &self.puzzle_emb else {
            return Ok((None, None));
        };
        let ids: Vec<u32> = ids.iter().map(|&v| v as u32).collect();
        let idx = Tensor::from_slice(&ids, ids.len(), &self.device)?;
        let rows = table.as_detached_tensor().index_select(&idx, 0)?;
        if training {
            let local = Var::from_tensor(&rows)?;
            Ok((Some(local.as_tensor().clone()), Some(PuzzleRows { local, ids })))
        } else {
            Ok((Some(rows), None))
        }
    }

    /// Evaluation of one batch from a fresh carry (design 5.1): calls [`Self::eval_step`]
    /// until every slot halts (exactly `halt_max_steps` calls) and hands each step's output
    /// and carry to `on_step(step, ..)` (step counts from 1). Returns the final carry.
    pub fn eval_run(
        &self,
        batch: &Batch,
        mut on_step: impl FnMut(usize, &StepOutput, &Carry) -> Result<()>,
    ) -> Result<Carry> {
        let mut carry = self.initial_carry(batch.batch_size())?;
        // The weights do not change during the run: prepare them once.
        let net = self.net(false, None)?;
        let mut step = 0;
        loop {
            step += 1;
            let out = self.step(&mut carry, batch, None, Some(&net))?;
            on_step(step, &out, &carry)?;
            if carry.all_halted() {
                return Ok(carry);
            }
        }
    }

    /// Every step's output of [`Self::eval_run`] (answers after each supervision step).
    pub fn eval_all_steps(&self, batch: &Batch) -> Result<Vec<StepOutput>> {
        let mut outs = Vec::new();
        self.eval_run(batch, |_, out, _| {
            outs.push(out.clone());
            Ok(())
        })?;
        Ok(outs)
    }
}
