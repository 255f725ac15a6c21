//! A training run's configuration: the model (`[arch]`, official names), the procedure
//! (`[train]`, official names of `cfg_pretrain.yaml`) and the data (`[data]`).
//!
//! Presets carry the official hyper-parameters (reference 3.8) and CPU-sized variants.
//! `--set key=value` overrides any field by its dotted path (`train.lr=3e-4`,
//! `arch.hidden_size=128`) or by its bare name when that is unambiguous (`lr=3e-4`).
//! Unknown keys and values out of range are rejected before any work starts.

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trm_model::config::ModelConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub arch: ModelConfig,
    pub train: TrainParams,
    pub data: DataSpec,
}

/// Hyper-parameters of the procedure (official names and defaults of `cfg_pretrain.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    pub global_batch_size: usize,
    /// Passes over the training groups.
    pub epochs: usize,
    /// Epochs between evaluations (and checkpoints).
    pub eval_interval: usize,
    /// Evaluation starts after this many intervals.
    #[serde(default)]
    pub min_eval_interval: usize,
    pub lr: f64,
    pub lr_min_ratio: f64,
    pub lr_warmup_steps: u64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
    pub puzzle_emb_lr: f64,
    pub puzzle_emb_weight_decay: f64,
    pub ema: bool,
    pub ema_rate: f64,
    pub seed: u64,
    /// Clip the global gradient norm of the dense weights (the official code never clips).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_clip: Option<f64>,
    /// Optimizer steps between lines of metrics.jsonl.
    pub log_interval: u64,
    /// Also write a checkpoint every this many optimizer steps (0: only at evaluations, as
    /// official). Long runs lose at most this many steps when killed.
    #[serde(default)]
    pub checkpoint_interval: u64,
    /// Evaluate on at most this many test examples (0: all).
    #[serde(default)]
    pub eval_max_examples: usize,
    /// Batch size for evaluation (0: the training batch size).
    #[serde(default)]
    pub eval_batch_size: usize,
    /// Supervision steps of an evaluation, in the run and in `trm eval --model RUN` without
    /// `--max-steps` (0: the training `halt_max_steps`, as official). The recursion keeps
    /// improving answers past the steps it was trained with (docs/benchmarks.md, "Test-time
    /// recursion").
    #[serde(default)]
    pub eval_max_steps: usize,
}

impl TrainParams {
    /// The supervision steps of an evaluation when `eval_max_steps` sets them (None: the
    /// model's `halt_max_steps`).
    pub fn eval_steps(&self) -> Option<usize> {
        (self.eval_max_steps > 0).then_some(self.eval_max_steps)
    }
}

/// Where the training data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// A dataset in the official layout. Empty: generate (below) into `RUN/data`.
    #[serde(default)]
    pub path: PathBuf,
    /// Built-in generator used when `path` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<GenerateSpec>,
}

/// What `[data.generate]` can build: `task` takes one of these.
pub const GENERATE_TASKS: &[&str] = &["sudoku", "maze"];

/// A dataset built from nothing: train and held-out test examples of one task.
///
/// - `task = "sudoku"`: `size` 4 or 9, puzzles with unique solutions, `aug` shuffled copies
///   per training puzzle, `minimal` for minimal puzzles only.
/// - `task = "maze"`: `size x size` Maze-Hard mazes (`trm data maze`), `aug` 0 (none) or 8
///   (the 8 dihedral transforms of every training maze, official `--aug`), `min_path` the
///   least shortest-path length in cells (default: the size-scaled Maze-Hard filter,
///   [`trm_data::maze::generate::default_min_path`], e.g. 30 for 9x9, 111 for 30x30).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    pub task: String,
    pub size: usize,
    pub train: usize,
    pub test: usize,
    #[serde(default)]
    pub aug: usize,
    /// Sudoku only: only minimal puzzles (no given can be removed keeping the solution unique).
    #[serde(default)]
    pub minimal: bool,
    /// Maze only: least shortest-path length in cells, start and goal included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_path: Option<usize>,
    /// Sudoku only: fewest and most givens of the generated puzzles (train and test). With
    /// neither (and `minimal` off) the puzzles come out minimal anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_givens: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_givens: Option<usize>,
    /// New training puzzles for every iteration (`eval_interval` epochs) instead of one
    /// fixed set: `train` puzzles each time ([`crate::generated`]).
    #[serde(default)]
    pub online: bool,
    pub seed: u64,
}

impl GenerateSpec {
    /// The maze path filter: `min_path`, else the size-scaled Maze-Hard default.
    pub fn maze_min_path(&self) -> usize {
        self.min_path
            .unwrap_or_else(|| trm_data::maze::generate::default_min_path(self.size, self.size))
    }

    /// Checks the settings of the chosen task; errors name the key and the valid values.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.train > 0 && self.test > 0,
            "data.generate.train and .test must be at least 1"
        );
        match self.task.as_str() {
            "sudoku" => {
                ensure!(self.size == 4 || self.size == 9, "data.generate.size must be 4 or 9 for task \"sudoku\", got {}", self.size);
                ensure!(self.min_path.is_none(), "data.generate.min_path applies to task \"maze\" only; remove it");
                let cells = self.size * self.size;
                let (lo, hi) = (self.min_givens.unwrap_or(0), self.max_givens.unwrap_or(cells));
                ensure!(lo <= hi && hi <= cells, "data.generate.min_givens / max_givens: {lo}..={hi} is not a range of givens of a {0}x{0} grid (0 to {cells})", self.size);
                ensure!(!self.minimal || self.min_givens.is_none() && self.max_givens.is_none(), "data.generate.minimal blanks every cell it can, so it takes no min_givens / max_givens; remove one or the other");
            }
            "maze" => {
                ensure!(self.size >= 2, "data.generate.size is the maze side and must be at least 2, got {}", self.size);
                ensure!(self.aug == 0 || self.aug == 8, "data.generate.aug must be 0 (no augmentation) or 8 (the 8 dihedral transforms) for task \"maze\", got {}", self.aug);
                ensure!(!self.minimal, "data.generate.minimal applies to task \"sudoku\" only; set it to false");
                ensure!(self.min_givens.is_none() && self.max_givens.is_none(), "data.generate.min_givens / max_givens apply to task \"sudoku\" only; remove them");
                let generator = trm_data::maze::generate::GeneratorConfig::new(self.size, self.size);
                let cells = self.size * self.size;
                let max_free = cells - (generator.wall_fraction.0 * cells as f64).ceil() as usize;
                let min_path = self.maze_min_path();
                ensure!(
                    (2..=max_free).contains(&min_path),
                    "data.generate.min_path {min_path}: a {0}x{0} maze with at least {1:.0}% walls fits paths of 2 to {max_free} cells",
                    self.size,
                    generator.wall_fraction.0 * 100.0
                );
            }
            other => bail!("data.generate.task {other:?} cannot be generated; valid values: {} (build other datasets with `trm data` and pass --data)", quoted(GENERATE_TASKS)),
        }
        Ok(())
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}

impl RunConfig {
    pub fn preset(name: &str) -> Result<Self> {
        let text = match name {
            "sudoku4" => SUDOKU4,
            "sudoku9-cpu" => SUDOKU9_CPU,
            "maze-cpu" => MAZE_CPU,
            "sudoku-mlp" => SUDOKU_MLP,
            "sudoku-att" => SUDOKU_ATT,
            "maze-att" => MAZE_ATT,
            "arc1" => ARC1,
            "arc2" => ARC2,
            "arc-cpu" => ARC_CPU,
            "hrm-sudoku" => HRM_SUDOKU,
            "hrm-maze" => HRM_MAZE,
            "hrm-arc1" => HRM_ARC1,
            other => bail!("unknown preset {other:?}; the presets are: {}", PRESETS.join(", ")),
        };
        let mut cfg = Self::from_toml(text).with_context(|| format!("preset {name}"))?;
        if cfg.arch.arch == trm_model::Arch::Hrm {
            cfg.train.ema = false;
        }
        Ok(cfg)
    }

    pub fn from_toml(text: &str) -> Result<Self> {
        Ok(toml::from_str(text)?)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("config {}", path.display()))
    }

    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }

    /// Applies `key=value` overrides. The value is parsed as TOML (numbers, booleans,
    /// strings with or without quotes).
    pub fn apply_overrides(&self, overrides: &[String]) -> Result<Self> {
        let mut tree = toml::Value::try_from(self)?;
        for item in overrides {
            let (key, raw) = item
                .split_once('=')
                .with_context(|| format!("--set {item:?}: expected key=value"))?;
            let path = resolve_key(&tree, key.trim())?;
            let value = parse_value(raw.trim());
            let mut node = &mut tree;
            for part in &path[..path.len() - 1] {
                node = node.get_mut(part.as_str()).expect("resolved path exists");
            }
            let table = node.as_table_mut().expect("parent is a table");
            table.insert(path.last().unwrap().clone(), value);
        }
        let text = toml::to_string(&tree)?;
        let cfg: RunConfig = toml::from_str(&text)
            .with_context(|| format!("after --set {}", overrides.join(" ")))?;
        Ok(cfg)
    }

    /// Checks ranges that make no sense before any work starts.
    pub fn validate(&self) -> Result<()> {
        let t = &self.train;
        ensure!(t.global_batch_size > 0, "train.global_batch_size must be at least 1");
        ensure!(t.epochs > 0, "train.epochs must be at least 1");
        ensure!(
            t.eval_interval > 0 && t.eval_interval <= t.epochs,
            "train.eval_interval must be between 1 and train.epochs ({})",
            t.epochs
        );
        ensure!(t.epochs % t.eval_interval == 0, "train.epochs ({}) must be a multiple of train.eval_interval ({}) as in the official trainer", t.epochs, t.eval_interval);
        ensure!(t.lr > 0.0 && t.lr.is_finite(), "train.lr must be positive, got {}", t.lr);
        ensure!(
            (0.0..=1.0).contains(&t.lr_min_ratio),
            "train.lr_min_ratio must be in [0, 1], got {}",
            t.lr_min_ratio
        );
        ensure!(
            (0.0..1.0).contains(&t.beta1) && (0.0..1.0).contains(&t.beta2),
            "train.beta1 and train.beta2 must be in [0, 1)"
        );
        ensure!(
            t.weight_decay >= 0.0 && t.puzzle_emb_weight_decay >= 0.0,
            "weight decays must be >= 0"
        );
        ensure!(t.puzzle_emb_lr >= 0.0, "train.puzzle_emb_lr must be >= 0");
        ensure!(
            (0.0..1.0).contains(&t.ema_rate),
            "train.ema_rate must be in [0, 1), got {}",
            t.ema_rate
        );
        ensure!(t.log_interval > 0, "train.log_interval must be at least 1");
        if let Some(c) = t.grad_clip {
            ensure!(c > 0.0, "train.grad_clip must be positive when set");
        }
        ensure!(
            !self.data.path.as_os_str().is_empty() || self.data.generate.is_some(),
            "data: give --data DIR (or data.path), or a [data.generate] section"
        );
        if let Some(g) = &self.data.generate {
            g.validate()?;
        }
        Ok(())
    }
}

/// Finds the dotted path of `key` in the config tree: `train.lr`, or `lr` if exactly one
/// section has it.
fn resolve_key(tree: &toml::Value, key: &str) -> Result<Vec<String>> {
    let parts: Vec<String> = key.split('.').map(str::to_string).collect();
    if parts.len() > 1 {
        let mut node = tree;
        for part in &parts[..parts.len() - 1] {
            node = node.get(part.as_str()).filter(|n| n.is_table()).with_context(|| {
                format!("--set {key}: no section {part:?}; sections are arch, train, data")
            })?;
        }
        return Ok(parts);
    }
    let sections: Vec<&str> = ["arch", "train", "data"]
        .into_iter()
        .filter(|s| tree.get(s).and_then(|t| t.get(key)).is_some())
        .collect();
    match sections.as_slice() {
        [one] => Ok(vec![one.to_string(), key.to_string()]),
        [] => {
            // Keys that are absent because they are optional still exist in one section.
            let known_arch = trm_model::config::CONFIG_KEYS.contains(&key);
            if known_arch {
                Ok(vec!["arch".into(), key.into()])
            } else if [
                "grad_clip",
                "min_eval_interval",
                "eval_max_examples",
                "eval_batch_size",
                "eval_max_steps",
                "checkpoint_interval",
            ]
            .contains(&key)
            {
                Ok(vec!["train".into(), key.into()])
            } else if tree.get("data").and_then(|d| d.get("generate")).is_some_and(|g| {
                g.get(key).is_some() || ["min_path", "min_givens", "max_givens"].contains(&key)
            }) {
                Ok(vec!["data".into(), "generate".into(), key.into()])
            } else {
                bail!("--set {key}: no such setting; see `trm train --print-config` for every key")
            }
        }
        many => bail!(
            "--set {key}: ambiguous, it exists in {}; write e.g. {}.{key}",
            many.join(" and "),
            many[0]
        ),
    }
}

fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.trim_matches('"').to_string()))
}

pub const PRESETS: &[&str] = &[
    "sudoku4",
    "sudoku9-cpu",
    "maze-cpu",
    "arc-cpu",
    "sudoku-mlp",
    "sudoku-att",
    "maze-att",
    "arc1",
    "arc2",
    "hrm-sudoku",
    "hrm-maze",
    "hrm-arc1",
];

/// Official training hyper-parameters for Sudoku and Maze (README commands of the TRM repo).
macro_rules! train_sudoku_maze {
    () => {
        r#"
[train]
global_batch_size = 768
epochs = 50000
eval_interval = 5000
lr = 1e-4
lr_min_ratio = 1.0
lr_warmup_steps = 2000
beta1 = 0.9
beta2 = 0.95
weight_decay = 1.0
puzzle_emb_lr = 1e-4
puzzle_emb_weight_decay = 1.0
ema = true
ema_rate = 0.999
seed = 0
log_interval = 50
"#
    };
}

macro_rules! train_arc {
    () => {
        r#"
[train]
global_batch_size = 768
epochs = 100000
eval_interval = 10000
lr = 1e-4
lr_min_ratio = 1.0
lr_warmup_steps = 2000
beta1 = 0.9
beta2 = 0.95
weight_decay = 0.1
puzzle_emb_lr = 1e-2
puzzle_emb_weight_decay = 0.1
ema = true
ema_rate = 0.999
seed = 0
log_interval = 50
"#
    };
}

macro_rules! trm_arch {
    ($mixer:literal, $l_cycles:literal) => {
        concat!(
            r#"
[arch]
arch = "trm"
hidden_size = 512
expansion = 4
num_heads = 8
H_cycles = 3
L_cycles = "#,
            $l_cycles,
            r#"
H_layers = 0
L_layers = 2
puzzle_emb_ndim = 512
puzzle_emb_len = 16
halt_max_steps = 16
halt_exploration_prob = 0.1
forward_dtype = "bfloat16"
no_ACT_continue = true
loss_type = "stablemax_cross_entropy"
"#,
            $mixer
        )
    };
}

macro_rules! hrm_arch {
    () => {
        r#"
[arch]
arch = "hrm"
hidden_size = 512
expansion = 4
num_heads = 8
H_cycles = 2
L_cycles = 2
H_layers = 4
L_layers = 4
puzzle_emb_ndim = 512
puzzle_emb_len = 0
pos_encodings = "rope"
halt_max_steps = 16
halt_exploration_prob = 0.1
forward_dtype = "bfloat16"
no_ACT_continue = false
loss_type = "stablemax_cross_entropy"
"#
    };
}

const SUDOKU_MLP: &str = concat!(
    trm_arch!("mlp_t = true\npos_encodings = \"none\"\n", "6"),
    train_sudoku_maze!(),
    "\n[data]\npath = \"data/sudoku-extreme-1k-aug-1000\"\n"
);
const SUDOKU_ATT: &str = concat!(
    trm_arch!("pos_encodings = \"rope\"\n", "6"),
    train_sudoku_maze!(),
    "\n[data]\npath = \"data/sudoku-extreme-1k-aug-1000\"\n"
);
const MAZE_ATT: &str = concat!(
    trm_arch!("pos_encodings = \"rope\"\n", "4"),
    train_sudoku_maze!(),
    "\n[data]\npath = \"data/maze-30x30-hard-1k\"\n"
);
const ARC1: &str = concat!(
    trm_arch!("pos_encodings = \"rope\"\n", "4"),
    train_arc!(),
    "\n[data]\npath = \"data/arc1concept-aug-1000\"\n"
);
const ARC2: &str = concat!(
    trm_arch!("pos_encodings = \"rope\"\n", "4"),
    train_arc!(),
    "\n[data]\npath = \"data/arc2concept-aug-1000\"\n"
);

/// ARC on the CPU: a few small tasks on a small canvas (`trm data arc --canvas 4 --max-grid 3`:
/// 16 tokens + 1 puzzle-embedding slot instead of the official 900), so that a model with
/// two attention layers sees each augmented puzzle thousands of times in about 20 minutes on
/// 2 cores (docs/benchmarks.md, "ARC on the CPU"). Builds no data: give `--data` a dataset of
/// `trm data arc`.
const ARC_CPU: &str = r#"
[arch]
arch = "trm"
hidden_size = 96
expansion = 4
num_heads = 2
H_cycles = 2
L_cycles = 2
H_layers = 0
L_layers = 2
puzzle_emb_ndim = 96
puzzle_emb_len = 1
pos_encodings = "rope"
halt_max_steps = 8
halt_exploration_prob = 0.1
forward_dtype = "float32"
no_ACT_continue = true
loss_type = "stablemax_cross_entropy"

[train]
global_batch_size = 32
epochs = 9000
eval_interval = 3000
lr = 1e-3
lr_min_ratio = 0.1
lr_warmup_steps = 500
beta1 = 0.9
beta2 = 0.95
weight_decay = 0.1
puzzle_emb_lr = 1e-2
puzzle_emb_weight_decay = 0.1
ema = true
ema_rate = 0.995
seed = 0
log_interval = 50
eval_max_examples = 0

[data]
path = "data/arc-cpu"
"#;
/// HRM's Sudoku and Maze recipe (no EMA in the HRM repository).
macro_rules! train_hrm_sudoku_maze {
    () => {
        r#"
[train]
global_batch_size = 768
epochs = 20000
eval_interval = 2000
lr = 1e-4
lr_min_ratio = 1.0
lr_warmup_steps = 2000
beta1 = 0.9
beta2 = 0.95
weight_decay = 1.0
puzzle_emb_lr = 1e-4
puzzle_emb_weight_decay = 1.0
ema = false
ema_rate = 0.999
seed = 0
log_interval = 50
"#
    };
}

const HRM_SUDOKU: &str = concat!(
    hrm_arch!(),
    train_hrm_sudoku_maze!(),
    "\n[data]\npath = \"data/sudoku-extreme-1k-aug-1000\"\n"
);
const HRM_MAZE: &str = concat!(
    hrm_arch!(),
    train_hrm_sudoku_maze!(),
    "\n[data]\npath = \"data/maze-30x30-hard-1k\"\n"
);
/// HRM's ARC recipe: TRM's ARC hyper-parameters without EMA (applied in `RunConfig::preset`).
const HRM_ARC1: &str =
    concat!(hrm_arch!(), train_arc!(), "\n[data]\npath = \"data/arc1concept-aug-1000\"\n");

/// 4x4 Sudoku on the CPU: generates its own data, reaches >= 99% exact accuracy on held-out
/// minimal puzzles in minutes on 2 cores. The token-mixing `mlp_t` network learns this fixed
/// grid several times faster per step than attention (measured: 0.99 exact after 250 steps
/// against 0.01 for attention at 320 steps, same learning rate).
const SUDOKU4: &str = r#"
[arch]
arch = "trm"
hidden_size = 64
expansion = 4
num_heads = 2
H_cycles = 2
L_cycles = 2
H_layers = 0
L_layers = 2
puzzle_emb_ndim = 64
puzzle_emb_len = 1
pos_encodings = "none"
mlp_t = true
halt_max_steps = 8
halt_exploration_prob = 0.1
forward_dtype = "float32"
no_ACT_continue = true
loss_type = "stablemax_cross_entropy"

[train]
global_batch_size = 128
epochs = 64
eval_interval = 16
lr = 3e-3
lr_min_ratio = 1.0
lr_warmup_steps = 100
beta1 = 0.9
beta2 = 0.95
weight_decay = 0.1
puzzle_emb_lr = 1e-2
puzzle_emb_weight_decay = 0.1
ema = true
ema_rate = 0.99
seed = 0
log_interval = 10

[data]
[data.generate]
task = "sudoku"
size = 4
train = 1000
test = 500
aug = 8
minimal = true
seed = 1
"#;

/// 9x9 Sudoku on the CPU, under 30 minutes on 2 cores (4400 steps of batch 64). Online data:
/// 12800 fresh puzzles with 24-40 givens every epoch (each seen once), so the model never
/// meets a puzzle twice; a fixed set of minimal puzzles (the old preset) stalled at 0.6%
/// exact. Cosine decay to 0.1 x lr; EMA rate 0.99 because 0.999 lags by ~700 steps.
/// Measured: docs/benchmarks.md, "sudoku9-cpu".
const SUDOKU9_CPU: &str = r#"
[arch]
arch = "trm"
hidden_size = 64
expansion = 4
num_heads = 2
H_cycles = 2
L_cycles = 2
H_layers = 0
L_layers = 2
puzzle_emb_ndim = 64
puzzle_emb_len = 1
pos_encodings = "none"
mlp_t = true
halt_max_steps = 8
halt_exploration_prob = 0.1
forward_dtype = "float32"
no_ACT_continue = true
loss_type = "stablemax_cross_entropy"

[train]
global_batch_size = 64
epochs = 22
eval_interval = 1
lr = 2e-3
lr_min_ratio = 0.1
lr_warmup_steps = 200
beta1 = 0.9
beta2 = 0.95
weight_decay = 0.1
puzzle_emb_lr = 1e-2
puzzle_emb_weight_decay = 0.1
ema = true
ema_rate = 0.99
seed = 0
log_interval = 20
eval_max_examples = 500

[data]
[data.generate]
task = "sudoku"
size = 9
train = 12800
test = 500
aug = 0
minimal = false
min_givens = 24
max_givens = 40
online = true
seed = 1
"#;

/// Mazes on the CPU: 9x9 Maze-Hard mazes (shortest path at least 30 cells, the size-scaled
/// filter), about 15 minutes on 2 cores (3000 steps of batch 64, 13.3 min measured). Online data: 2000 fresh
/// mazes every 8 epochs, each epoch one of the 8 dihedral copies of each. The token-mixing
/// MLP (`mlp_t`, no position encoding) learned faster per step than attention with RoPE
/// (held-out token accuracy 0.84 against 0.76 after about 400 steps), and a fixed set of 2000
/// mazes over-fitted (train token accuracy 0.94 against 0.89 held-out). Measured:
/// docs/benchmarks.md, "maze-cpu".
const MAZE_CPU: &str = r#"
[arch]
arch = "trm"
hidden_size = 64
expansion = 4
num_heads = 2
H_cycles = 2
L_cycles = 2
H_layers = 0
L_layers = 2
puzzle_emb_ndim = 64
puzzle_emb_len = 1
pos_encodings = "none"
mlp_t = true
halt_max_steps = 8
halt_exploration_prob = 0.1
forward_dtype = "float32"
no_ACT_continue = true
loss_type = "stablemax_cross_entropy"

[train]
global_batch_size = 64
epochs = 96
eval_interval = 8
lr = 2e-3
lr_min_ratio = 0.1
lr_warmup_steps = 100
beta1 = 0.9
beta2 = 0.95
weight_decay = 0.1
puzzle_emb_lr = 1e-2
puzzle_emb_weight_decay = 0.1
ema = true
ema_rate = 0.99
seed = 0
log_interval = 20

[data]
[data.generate]
task = "maze"
size = 9
train = 2000
test = 300
aug = 8
online = true
seed = 1
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_validates() {
        for name in PRESETS {
            let cfg = RunConfig::preset(name).unwrap();
            cfg.validate().unwrap_or_else(|e| panic!("{name}: {e:#}"));
            let again = RunConfig::from_toml(&cfg.to_toml().unwrap()).unwrap();
            assert_eq!(cfg, again, "{name} round-trips through TOML");
        }
    }

    #[test]
    fn official_presets_carry_the_official_numbers() {
        let mlp = RunConfig::preset("sudoku-mlp").unwrap();
        assert!(mlp.arch.mlp_t && mlp.arch.l_cycles == 6 && mlp.arch.h_cycles == 3);
        assert_eq!(
            (mlp.train.weight_decay, mlp.train.puzzle_emb_lr, mlp.train.epochs),
            (1.0, 1e-4, 50000)
        );
        let arc = RunConfig::preset("arc1").unwrap();
        assert_eq!(
            (arc.arch.l_cycles, arc.train.weight_decay, arc.train.puzzle_emb_lr),
            (4, 0.1, 1e-2)
        );
        assert!(
            !RunConfig::preset("hrm-sudoku").unwrap().train.ema
                && !RunConfig::preset("hrm-arc1").unwrap().train.ema
        );
    }

    #[test]
    fn overrides_by_bare_and_dotted_names() {
        let cfg = RunConfig::preset("sudoku4").unwrap();
        let c = cfg
            .apply_overrides(&[
                "lr=3e-4".into(),
                "arch.hidden_size=32".into(),
                "ema=false".into(),
                "grad_clip=1.0".into(),
            ])
            .unwrap();
        assert_eq!(
            (c.train.lr, c.arch.hidden_size, c.train.ema, c.train.grad_clip),
            (3e-4, 32, false, Some(1.0))
        );
        let err = cfg.apply_overrides(&["learning_rate=1".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("no such setting"), "{err:#}");
        let err = cfg.apply_overrides(&["lr=fast".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("lr"), "{err:#}");
    }

    #[test]
    fn nonsense_values_are_rejected() {
        let cfg = RunConfig::preset("sudoku4").unwrap();
        for bad in ["lr=-1", "ema_rate=1.5", "global_batch_size=0", "eval_interval=7"] {
            let c = cfg.apply_overrides(&[bad.into()]).unwrap();
            assert!(c.validate().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn generated_tasks_are_checked_by_key() {
        let err = |base: &str, set: &[&str]| {
            let c = RunConfig::preset(base)
                .unwrap()
                .apply_overrides(&set.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
            format!("{:#}", c.validate().unwrap_err())
        };
        let e = err("sudoku4", &["data.generate.task=arc"]);
        assert!(
            e.contains("data.generate.task \"arc\"") && e.contains("\"sudoku\", \"maze\""),
            "{e}"
        );
        assert!(err("maze-cpu", &["data.generate.aug=3"]).contains("data.generate.aug must be 0"));
        assert!(err("maze-cpu", &["data.generate.minimal=true"]).contains("data.generate.minimal"));
        assert!(
            err("maze-cpu", &["data.generate.min_path=70"]).contains("data.generate.min_path 70")
        );
        assert!(err("maze-cpu", &["data.generate.size=1"]).contains("data.generate.size"));
        assert!(err("sudoku4", &["data.generate.size=5"]).contains("4 or 9"));
        assert!(err("sudoku4", &["data.generate.min_path=5"]).contains("\"maze\" only"));

        let maze = RunConfig::preset("maze-cpu").unwrap();
        let g = maze.data.generate.as_ref().unwrap();
        assert_eq!((g.task.as_str(), g.min_path, g.maze_min_path()), ("maze", None, 30));
        let c = maze
            .apply_overrides(&["data.generate.min_path=12".into(), "data.generate.size=6".into()])
            .unwrap();
        c.validate().unwrap();
        assert_eq!(c.data.generate.unwrap().maze_min_path(), 12);
    }
}
