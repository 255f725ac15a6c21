//! A training run's configuration: the model (`[arch]`, official names), the procedure
//! (`[train]`, official names of `cfg_pretrain.yaml`) and the data (`[data]`).
//!
//! Presets carry the official hyper-parameters (design 3.8) and CPU-sized variants.
//! `--set key=value` overrides any field by its dotted path (`train.lr=3e-4`,
//! `arch.hidden_size=128`) or by its bare name when that is unambiguous (`lr=3e-4`).
//! Unknown keys and values out of range are rejected before any work starts.

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trm_model::config::ModelConfig;

use crate::path_labels::PathLabels;

/// A training run's whole configuration (model, procedure, data), as `RUN/config.toml` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The model (`[arch]`, official architecture names).
    pub arch: ModelConfig,
    /// The training procedure (`[train]`).
    pub train: TrainParams,
    /// Where the training and test data come from (`[data]`).
    pub data: DataSpec,
}

/// Hyper-parameters of the procedure (official names and defaults of `cfg_pretrain.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    /// Examples per optimizer step, summed over all ranks (the slots of the ACT carry).
    pub global_batch_size: usize,
    /// Passes over the training groups.
    pub epochs: usize,
    /// Epochs between evaluations (and checkpoints).
    pub eval_interval: usize,
    /// Evaluation starts after this many intervals.
    #[serde(default)]
    pub min_eval_interval: usize,
    /// Peak learning rate of Adam-atan2 for the dense weights, reached after the warm-up.
    pub lr: f64,
    /// Learning rate at the end of the cosine decay, as a fraction of the peak (1: constant
    /// after the warm-up, as official).
    pub lr_min_ratio: f64,
    /// Optimizer steps of the linear warm-up from 0 to the peak (for `lr` and `puzzle_emb_lr`).
    pub lr_warmup_steps: u64,
    /// Adam-atan2's decay rate of the first moment.
    pub beta1: f64,
    /// Adam-atan2's decay rate of the second moment.
    pub beta2: f64,
    /// Decoupled weight decay of the dense weights (Adam-atan2).
    pub weight_decay: f64,
    /// Peak learning rate of sign-SGD for the puzzle-embedding rows, on the schedule of `lr`.
    pub puzzle_emb_lr: f64,
    /// Decoupled weight decay of the puzzle-embedding rows (sign-SGD).
    pub puzzle_emb_weight_decay: f64,
    /// Keep an EMA of the weights: it is what evaluation uses and `model.safetensors` holds.
    pub ema: bool,
    /// Weight of the old average at every step:
    /// `shadow = (1 - ema_rate) * param + ema_rate * shadow`.
    pub ema_rate: f64,
    /// Seed of the weight initialisation, the batch order and the halting exploration.
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
    /// Which shortest path a maze row's loss asks for: `"dataset"` (its label, official) or
    /// `"nearest"` (the one the model's logits favour, re-chosen every step; mazes only).
    #[serde(default)]
    pub path_labels: PathLabels,
    /// With `path_labels = "nearest"`: how strongly the chosen path is pulled toward the
    /// dataset's own label, in nats per label cell, reached at the last step after a linear
    /// ramp from 0 (0: no pull). A large pull ends the run on the dataset's labels.
    #[serde(default)]
    pub path_pull: f64,
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
    /// The task to generate, one of [`GENERATE_TASKS`].
    pub task: String,
    /// Grid side in cells: 4 or 9 for Sudoku, at least 2 for mazes.
    pub size: usize,
    /// Training puzzles, before augmentation (with `online`, the fresh ones of every iteration).
    pub train: usize,
    /// Held-out test puzzles (the test split).
    pub test: usize,
    /// Augmented copies per training puzzle (Sudoku: shuffled copies; maze: 0 or 8).
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
    /// Sudoku only: most givens of the generated puzzles (see `min_givens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_givens: Option<usize>,
    /// New training puzzles for every iteration (`eval_interval` epochs) instead of one
    /// fixed set: `train` puzzles each time ([`crate::generated`]).
    #[serde(default)]
    pub online: bool,
    /// Seed of the generator: the same settings build the same dataset.
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
    /// A built-in configuration by name ([`PRESETS`]).
    pub fn preset(name: &str) -> Result<Self> {
        let (_, text) = PRESETS.iter().find(|(n, _)| *n == name).with_context(|| {
            format!("unknown preset {name:?}; the presets are: {}", preset_names())
        })?;
        Self::from_toml(text).with_context(|| format!("preset {name}"))
    }

    /// Parses a configuration from TOML text; unknown keys are errors.
    pub fn from_toml(text: &str) -> Result<Self> {
        Ok(toml::from_str(text)?)
    }

    /// Reads the configuration file at `path` (a run's `config.toml`, or `--config FILE`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("config {}", path.display()))
    }

    /// The configuration as TOML text, as written to a run's `config.toml`.
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
        ensure!(
            t.path_pull >= 0.0 && t.path_pull.is_finite(),
            "train.path_pull must be a finite number >= 0, got {}",
            t.path_pull
        );
        ensure!(
            t.path_pull == 0.0 || t.path_labels == PathLabels::Nearest,
            "train.path_pull pulls the nearest path toward the dataset's label; it needs path_labels = \"nearest\" (or set path_pull = 0)"
        );
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

/// The optional settings, left out of a serialized configuration while unset, with their
/// section (a test checks that these are exactly the keys an unset configuration omits).
const OMITTED_WHEN_UNSET: &[(&str, &str)] = &[
    ("arch", "batch_size"),
    ("arch", "grid_width"),
    ("train", "grad_clip"),
    ("data.generate", "min_path"),
    ("data.generate", "min_givens"),
    ("data.generate", "max_givens"),
];

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
        [] if tree
            .get("data")
            .and_then(|d| d.get("generate"))
            .is_some_and(|g| g.get(key).is_some()) =>
        {
            Ok(vec!["data".into(), "generate".into(), key.into()])
        }
        [] => match OMITTED_WHEN_UNSET.iter().find(|(_, k)| *k == key) {
            // Optional settings are left out of the tree while unset.
            Some((section, _)) => {
                Ok(section.split('.').chain([key]).map(str::to_string).collect::<Vec<_>>())
            }
            None => {
                bail!("--set {key}: no such setting; see `trm train --print-config` for every key")
            }
        },
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

/// The built-in configurations, each a file of `crates/trm-train/presets/` (read its header
/// comment for what it is and how it was measured).
pub const PRESETS: &[(&str, &str)] = &[
    ("sudoku4", include_str!("../presets/sudoku4.toml")),
    ("sudoku9-cpu", include_str!("../presets/sudoku9-cpu.toml")),
    ("maze-cpu", include_str!("../presets/maze-cpu.toml")),
    ("arc-cpu", include_str!("../presets/arc-cpu.toml")),
    ("sudoku-mlp", include_str!("../presets/sudoku-mlp.toml")),
    ("sudoku-att", include_str!("../presets/sudoku-att.toml")),
    ("maze-att", include_str!("../presets/maze-att.toml")),
    ("arc1", include_str!("../presets/arc1.toml")),
    ("arc2", include_str!("../presets/arc2.toml")),
    ("hrm-sudoku", include_str!("../presets/hrm-sudoku.toml")),
    ("hrm-maze", include_str!("../presets/hrm-maze.toml")),
    ("hrm-arc1", include_str!("../presets/hrm-arc1.toml")),
];

/// The names of the built-in configurations, comma separated.
pub fn preset_names() -> String {
    PRESETS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

/// The configuration a command line names (`trm train`): a preset or a file, then a dataset
/// folder and `key=value` overrides on top.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfigChoice<'a> {
    /// A built-in configuration by name (`--preset`).
    pub preset: Option<&'a str>,
    /// A configuration file (`--config`), used when no preset is named.
    pub file: Option<&'a Path>,
    /// A dataset folder in the official layout (`--data`): it replaces the configuration's
    /// data, generated or not.
    pub data: Option<&'a Path>,
    /// `key=value` overrides (`--set`), applied before `data`.
    pub overrides: &'a [String],
    /// The run is resumed (`--resume`): words the error of overrides without a configuration.
    pub resuming: bool,
}

impl ConfigChoice<'_> {
    /// The configuration named, with the overrides and the dataset applied, validated;
    /// `None` when neither a preset nor a file is named (a resumed run keeps its own).
    /// Overrides or a dataset without a preset or a file are refused, and so is `data`
    /// beside overrides of `[data.generate]`, which it would replace.
    pub fn resolve(&self) -> Result<Option<RunConfig>> {
        let base = match (self.preset, self.file) {
            (Some(p), _) => RunConfig::preset(p)?,
            (None, Some(path)) => RunConfig::from_file(path)?,
            (None, None) => {
                if !self.overrides.is_empty() || self.data.is_some() {
                    if self.resuming {
                        bail!("with --resume, --set and --data need --preset or --config too (the full configuration to compare with the run's)");
                    }
                    bail!(
                        "--set and --data need --preset NAME or --config FILE; presets: {}",
                        preset_names()
                    );
                }
                return Ok(None);
            }
        };
        let mut cfg = base.apply_overrides(self.overrides)?;
        if let Some(d) = self.data {
            if cfg.data.generate != base.data.generate {
                bail!("--set changes [data.generate], which --data replaces ({} is used as it is); drop --data to generate the data, or drop the data.generate settings", d.display());
            }
            cfg.data.path = d.to_path_buf();
            cfg.data.generate = None;
        }
        cfg.validate()?;
        Ok(Some(cfg))
    }

    /// The name a new run folder takes after: the preset, else the file's stem, else `run`.
    pub fn name(&self) -> &str {
        self.preset.or(self.file.and_then(|p| p.file_stem()?.to_str())).unwrap_or("run")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_validates() {
        for (name, _) in PRESETS {
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
        // A [data.generate] key by its bare name.
        let c = cfg.apply_overrides(&["online=true".into(), "test=7".into()]).unwrap();
        let g = c.data.generate.unwrap();
        assert!(g.online && g.test == 7);
        let err = cfg.apply_overrides(&["learning_rate=1".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("no such setting"), "{err:#}");
        let err = cfg.apply_overrides(&["lr=fast".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("lr"), "{err:#}");
    }

    /// Every optional key is settable by its bare name, and the list holds exactly the keys
    /// that a configuration omits while they are unset.
    #[test]
    fn optional_keys_are_the_omitted_ones() {
        let base = RunConfig::preset("maze-cpu").unwrap();
        let sets: Vec<String> = OMITTED_WHEN_UNSET.iter().map(|(_, k)| format!("{k}=9")).collect();
        let full = base.apply_overrides(&sets).unwrap();
        let keys = |c: &RunConfig| {
            let tree = toml::Value::try_from(c).unwrap();
            let mut out = std::collections::BTreeSet::new();
            for (section, path) in [("arch", "arch"), ("train", "train"), ("data.generate", "data")]
            {
                let mut node = &tree[path];
                if section == "data.generate" {
                    node = &node["generate"];
                }
                for k in node.as_table().unwrap().keys() {
                    out.insert((section.to_string(), k.clone()));
                }
            }
            out
        };
        let omitted: Vec<(String, String)> =
            keys(&full).difference(&keys(&base)).cloned().collect();
        let listed: Vec<(String, String)> =
            OMITTED_WHEN_UNSET.iter().map(|(s, k)| (s.to_string(), k.to_string())).collect();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort();
        assert_eq!(omitted, listed_sorted);
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

    #[test]
    fn a_choice_resolves_preset_file_data_and_overrides() {
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(ConfigChoice::default().resolve().unwrap().is_none());
        assert_eq!(ConfigChoice::default().name(), "run");

        let overrides = set(&["epochs=4", "eval_interval=2"]);
        let choice =
            ConfigChoice { preset: Some("sudoku4"), overrides: &overrides, ..Default::default() };
        let cfg = choice.resolve().unwrap().unwrap();
        assert_eq!((cfg.train.epochs, cfg.train.eval_interval), (4, 2));
        assert!(cfg.data.generate.is_some());
        assert_eq!(choice.name(), "sudoku4");

        // --data replaces the generated data.
        let data = Path::new("data/s4");
        let cfg = ConfigChoice { data: Some(data), ..choice }.resolve().unwrap().unwrap();
        assert_eq!((cfg.data.path.as_path(), cfg.data.generate.is_none()), (data, true));

        // A file, named after its stem.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mine.toml");
        std::fs::write(&file, RunConfig::preset("sudoku4").unwrap().to_toml().unwrap()).unwrap();
        let choice = ConfigChoice { file: Some(&file), ..Default::default() };
        assert_eq!(choice.resolve().unwrap().unwrap(), RunConfig::preset("sudoku4").unwrap());
        assert_eq!(choice.name(), "mine");
    }

    #[test]
    fn a_choice_refuses_what_it_cannot_apply() {
        let err = |choice: ConfigChoice| format!("{:#}", choice.resolve().unwrap_err());
        let overrides = vec!["lr=1e-3".to_string()];
        let bare = ConfigChoice { overrides: &overrides, ..Default::default() };
        assert!(err(bare)
            .starts_with("--set and --data need --preset NAME or --config FILE; presets: sudoku4"));
        assert!(err(ConfigChoice { resuming: true, ..bare })
            .starts_with("with --resume, --set and --data need --preset or --config too"));
        let data = Path::new("data/s4");
        assert!(err(ConfigChoice { data: Some(data), ..Default::default() })
            .starts_with("--set and --data need"));

        let generate = vec!["data.generate.train=10".to_string()];
        let e = err(ConfigChoice {
            preset: Some("sudoku4"),
            data: Some(data),
            overrides: &generate,
            ..Default::default()
        });
        assert!(
            e.starts_with(
                "--set changes [data.generate], which --data replaces (data/s4 is used as it is)"
            ),
            "{e}"
        );
        let invalid = vec!["epochs=0".to_string()];
        let e = err(ConfigChoice {
            preset: Some("sudoku4"),
            overrides: &invalid,
            ..Default::default()
        });
        assert!(e.contains("train.epochs must be at least 1"), "{e}");
        assert!(err(ConfigChoice { preset: Some("nope"), ..Default::default() })
            .contains("unknown preset \"nope\""));
    }
}
